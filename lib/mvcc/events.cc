// Store::ReadEvents: the history of a key range for watchers catching up,
// read by revision from the key database (LAYOUT.md, "Watch history").
#include <algorithm>
#include <iterator>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "mvcc/errors.h"
#include "mvcc/read_view.h"
#include "mvcc/store_state.h"

namespace etcdd::mvcc {

using mvccpb::Event;
using mvccpb::KeyValue;

namespace {

// The key of a stored KeyValue without parsing the rest: our writer
// serializes fields in number order, so a value starts with field 1 (key,
// tag 0x0A) and its length. Returns false when the value does not start that
// way; the caller then parses it.
bool PeekKey(std::string_view value, std::string_view* key) {
  if (value.empty() || value[0] != 0x0A) return false;
  uint64_t len = 0;
  size_t i = 1;
  for (int shift = 0;; shift += 7) {
    if (i >= value.size() || shift > 63) return false;
    const auto b = static_cast<uint8_t>(value[i++]);
    len |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) break;
  }
  if (i > value.size() || len > value.size() - i) return false;
  *key = value.substr(i, len);
  return true;
}

bool InRange(const KeyRange& r, std::string_view key) {
  switch (r.kind) {
    case KeyRange::Kind::kSingle:
      return key == r.key;
    case KeyRange::Kind::kFromKey:
      return key >= r.key;
    case KeyRange::Kind::kBounded:
      return key >= r.key && key < r.end;
  }
  return false;
}

// One LMDB snapshot and the revisions published with it.
struct Snapshot {
  internal::ReadView view;
  lmdb::PooledReadTxn rtxn;
};

Status Corrupt(std::string_view what, std::string_view rev_key, const std::string& where) {
  std::string hex;
  static constexpr char kDigits[] = "0123456789abcdef";
  for (char c : rev_key) {
    hex += kDigits[static_cast<uint8_t>(c) >> 4];
    hex += kDigits[static_cast<uint8_t>(c) & 0xF];
  }
  return Status::Corruption(std::string(what) + " in key database at key " + hex, where);
}

// One entry of the key database.
struct Entry {
  std::string_view rev_key;  // LAYOUT.md encoding
  Revision rev;
  bool tombstone = false;
  std::string_view value;          // serialized KeyValue
  std::string_view key;            // the KeyValue's key
  std::optional<KeyValue> parsed;  // set if decoding the key needed a full parse
};

Status DecodeEntry(const MDB_val& k, const MDB_val& v, const std::string& where, Entry* e) {
  e->rev_key = lmdb::View(k);
  if (!DecodeRevKey(e->rev_key, &e->rev, &e->tombstone)) {
    return Corrupt("undecodable revision", e->rev_key, where);
  }
  e->value = lmdb::View(v);
  if (PeekKey(e->value, &e->key)) return Status::Ok();
  if (!e->parsed.emplace().ParseFromArray(e->value.data(), static_cast<int>(e->value.size()))) {
    return Corrupt("unparsable KeyValue", e->rev_key, where);
  }
  e->key = e->parsed->key();
  return Status::Ok();
}

// The event WriteTxn::Events() reported for `e` (prev_kv aside).
Status ToEvent(Entry* e, const std::string& where, Event* ev) {
  if (e->tombstone) {
    ev->set_type(Event::DELETE);
    ev->mutable_kv()->set_key(std::string(e->key));
    ev->mutable_kv()->set_mod_revision(e->rev.main);
    return Status::Ok();
  }
  ev->set_type(Event::PUT);
  if (e->parsed) {
    *ev->mutable_kv() = std::move(*e->parsed);
  } else if (!ev->mutable_kv()->ParseFromArray(e->value.data(),
                                               static_cast<int>(e->value.size()))) {
    return Corrupt("unparsable KeyValue", e->rev_key, where);
  }
  return Status::Ok();
}

// Appends to batch->events the changes of keys in `range` stored with main
// revisions in [from, to], whole revisions only: it stops before the first
// revision that would take the batch past `limit` events (limit 0: none),
// unless the batch is still empty. Sets batch->next_revision.
Status ScanEvents(const Snapshot& snap, const KeyRange& range, int64_t from, int64_t to,
                  size_t limit, Store::EventBatch* batch) {
  const internal::StoreState& s = *snap.view.s;
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(snap.rtxn.get(), s.key_dbi, &raw);
  if (rc != MDB_SUCCESS) return s.Rc(rc, "mdb_cursor_open(key)");
  lmdb::CursorPtr cursor(raw);
  RevKey start(Revision{from, 0}, false);
  MDB_val k = lmdb::Val(start.view());
  MDB_val v;
  batch->next_revision = to + 1;
  // The matching events of revision pending_main, not yet in the batch.
  std::vector<Event> pending;
  int64_t pending_main = 0;
  // Moves `pending` into the batch; false if it does not fit the limit.
  auto flush = [&]() {
    std::vector<Event>& out = batch->events;
    if (limit != 0 && !out.empty() && out.size() + pending.size() > limit) {
      batch->next_revision = pending_main;
      return false;
    }
    std::move(pending.begin(), pending.end(), std::back_inserter(out));
    pending.clear();
    return true;
  };
  for (rc = mdb_cursor_get(raw, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(raw, &k, &v, MDB_NEXT)) {
    Entry e;
    RETURN_IF_ERROR(DecodeEntry(k, v, s.data_path, &e));
    if (e.rev.main > to) break;
    if (!InRange(range, e.key)) continue;
    if (e.rev.main != pending_main) {
      if (!flush()) return Status::Ok();
      if (limit != 0 && batch->events.size() >= limit) {
        batch->next_revision = e.rev.main;
        return Status::Ok();
      }
      pending_main = e.rev.main;
    }
    RETURN_IF_ERROR(ToEvent(&e, s.data_path, &pending.emplace_back()));
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return s.Rc(rc, "mdb_cursor_get(key)");
  flush();
  return Status::Ok();
}

// Fills prev_kv as etcd's watch server does: for every event but a creation,
// the key at mod_revision - 1, unless that revision is compacted.
Status FillPrevKvs(const Snapshot& snap, std::vector<Event>* events) {
  const internal::ReadView& view = snap.view;
  std::vector<size_t> wanted;
  int64_t lowest = view.rev;
  for (size_t i = 0; i < events->size(); ++i) {
    const KeyValue& kv = (*events)[i].kv();
    const bool create =
        (*events)[i].type() == Event::PUT && kv.create_revision() == kv.mod_revision();
    if (create || kv.mod_revision() - 1 < view.compact_rev) continue;
    wanted.push_back(i);
    lowest = std::min(lowest, kv.mod_revision() - 1);
  }
  if (wanted.empty()) return Status::Ok();
  std::vector<std::optional<Revision>> found(wanted.size());
  RETURN_IF_ERROR(view.WithIndex(lowest, [&](const TreeIndex& index) {
    for (size_t j = 0; j < wanted.size(); ++j) {
      const KeyValue& kv = (*events)[wanted[j]].kv();
      if (const KeyIndex* ki = index.Find(kv.key())) {
        if (auto kr = ki->Get(kv.mod_revision() - 1)) found[j] = kr->mod;
      }
    }
  }));
  for (size_t j = 0; j < wanted.size(); ++j) {
    if (found[j]) RETURN_IF_ERROR(view.Fetch(*found[j], (*events)[wanted[j]].mutable_prev_kv()));
  }
  return Status::Ok();
}

}  // namespace

Result<Store::EventBatch> Store::ReadEvents(std::string_view key, std::string_view range_end,
                                            int64_t from_revision, int64_t to_revision,
                                            size_t limit, bool with_prev_kv) const {
  const internal::StoreState& s = *s_;
  const KeyRange range = KeyRange::Make(key, range_end);
  for (;;) {
    Snapshot snap{internal::ReadView{&s, nullptr, 0, -1, /*shared=*/true}, {}};
    {
      // As Range: the snapshot is taken with the revisions it is checked
      // against, so no compaction commit slips in between.
      std::shared_lock lock(s.mu);
      snap.view.rev = s.current_rev.load(std::memory_order_acquire);
      snap.view.compact_rev = s.compact_rev.load(std::memory_order_acquire);
      snap.view.restores = s.restores.load(std::memory_order_acquire);
      if (from_revision < snap.view.compact_rev) return ErrCompacted();
      ASSIGN_OR_RETURN(snap.rtxn, s.Pool()->Acquire());
    }
    snap.view.txn = snap.rtxn.get();
    EventBatch batch;
    batch.current_revision = snap.view.rev;
    batch.compact_revision = std::max<int64_t>(snap.view.compact_rev, 0);
    const int64_t from = std::max<int64_t>(from_revision, 1);
    const int64_t to =
        to_revision <= 0 || to_revision > snap.view.rev ? snap.view.rev : to_revision;
    if (from > to) {
      batch.next_revision = from;
      return batch;
    }
    RETURN_IF_ERROR(ScanEvents(snap, range, from, to, limit, &batch));
    if (!with_prev_kv) return batch;
    Status st = FillPrevKvs(snap, &batch.events);
    if (st.ok()) return batch;
    // A compaction or restore committed after the snapshot: the index no
    // longer describes it. Read again on a newer one (which may now be
    // compacted past from_revision, giving etcd's answer).
    const bool raced = st.code() == ErrCompacted().code() &&
                       st.message() == ErrCompacted().message() &&
                       (s.compact_rev.load(std::memory_order_acquire) != snap.view.compact_rev ||
                        s.restores.load(std::memory_order_acquire) != snap.view.restores);
    if (!raced) return st;
  }
}

}  // namespace etcdd::mvcc
