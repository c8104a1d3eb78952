#include "mvcc/key_index.h"

#include <algorithm>

namespace etcdd::mvcc {

const Generation& KeyIndex::generation(size_t i) const {
  if (older_ && i < older_->size()) return (*older_)[i];
  return last_;
}

Generation& KeyIndex::mutable_generation(size_t i) {
  if (older_ && i < older_->size()) return (*older_)[i];
  return last_;
}

void KeyIndex::CloseGeneration() {
  if (!older_) older_ = std::make_unique<std::vector<Generation>>();
  older_->push_back(std::move(last_));
  last_ = Generation{};
}

void KeyIndex::ReopenGeneration() {
  last_ = std::move(older_->back());
  older_->pop_back();
  if (older_->empty()) older_.reset();
}

void KeyIndex::UpdateModified() {
  if (!last_.revs.empty()) {
    modified_ = last_.revs.back();
  } else if (older_) {
    modified_ = older_->back().revs.back();
  } else {
    modified_ = Revision{};
  }
}

void KeyIndex::Put(Revision rev) {
  if (last_.revs.empty()) {
    last_.created = rev.main;
    last_.ver = 0;
  }
  last_.revs.push_back(rev);
  ++last_.ver;
  modified_ = rev;
}

void KeyIndex::Restore(int64_t created, Revision mod, int64_t version) {
  last_.created = created;
  last_.ver = version;
  last_.revs.assign(1, mod);
  modified_ = mod;
}

bool KeyIndex::Tombstone(Revision rev) {
  if (last_.revs.empty()) return false;
  Put(rev);
  CloseGeneration();
  return true;
}

std::optional<KeyRevision> KeyIndex::Get(int64_t at_rev) const {
  // Fast path, the common read: the newest revision of a live key.
  if (!last_.revs.empty() && modified_.main <= at_rev) {
    return KeyRevision{modified_, last_.created, last_.ver};
  }
  const size_t n = generation_count();
  for (size_t i = n; i-- > 0;) {
    const Generation& g = generation(i);
    if (g.revs.empty()) continue;
    // A closed generation whose tombstone is at or before at_rev: the key was
    // deleted at at_rev (etcd findGeneration).
    if (i != n - 1 && g.revs.back().main <= at_rev) return std::nullopt;
    if (g.revs.front().main > at_rev) continue;
    auto it = std::upper_bound(g.revs.begin(), g.revs.end(), at_rev,
                               [](int64_t r, const Revision& rev) { return r < rev.main; });
    const size_t pos = static_cast<size_t>(it - g.revs.begin()) - 1;
    const auto newer = static_cast<int64_t>(g.revs.size() - 1 - pos);
    return KeyRevision{g.revs[pos], g.created, g.ver - newer};
  }
  return std::nullopt;
}

void KeyIndex::Compact(int64_t at_rev) {
  const size_t n = generation_count();
  // First generation that still matters: the open one, or the first closed
  // one whose tombstone is after at_rev.
  size_t gi = 0;
  while (gi + 1 < n && generation(gi).revs.back().main <= at_rev) ++gi;
  Generation& g = mutable_generation(gi);
  if (!g.revs.empty()) {
    auto it = std::upper_bound(g.revs.begin(), g.revs.end(), at_rev,
                               [](int64_t r, const Revision& rev) { return r < rev.main; });
    if (it != g.revs.begin()) g.revs.erase(g.revs.begin(), it - 1);
    if (g.revs.capacity() > 4 * g.revs.size() + 4) g.revs.shrink_to_fit();
    // A closed generation reduced to its tombstone is gone too.
    if (g.revs.size() == 1 && gi + 1 != n) ++gi;
  }
  if (gi == 0) return;
  if (gi >= older_->size()) {
    older_.reset();
  } else {
    older_->erase(older_->begin(), older_->begin() + static_cast<ptrdiff_t>(gi));
  }
  UpdateModified();
}

void KeyIndex::TruncateAfter(int64_t main) {
  for (;;) {
    if (last_.revs.empty()) {
      if (!older_ || older_->back().revs.back().main <= main) break;
      ReopenGeneration();  // its tombstone is undone below
      continue;
    }
    if (last_.revs.back().main <= main) break;
    last_.revs.pop_back();
    --last_.ver;
  }
  UpdateModified();
}

KeyRange KeyRange::Make(std::string_view key, std::string_view range_end) {
  KeyRange r;
  r.key = key;
  r.end = range_end;
  if (range_end.empty()) {
    r.kind = Kind::kSingle;
  } else if (range_end.size() == 1 && range_end[0] == '\0') {
    r.kind = Kind::kFromKey;
  } else {
    r.kind = Kind::kBounded;
  }
  return r;
}

KeyIndex* TreeIndex::Find(std::string_view key) {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

const KeyIndex* TreeIndex::Find(std::string_view key) const {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

KeyIndex& TreeIndex::FindOrCreate(std::string_view key) {
  auto it = map_.lower_bound(key);
  if (it != map_.end() && it->first == key) return it->second;
  return map_.emplace_hint(it, std::string(key), KeyIndex{})->second;
}

void TreeIndex::EraseIfEmpty(std::string_view key) {
  auto it = map_.find(key);
  if (it != map_.end() && it->second.Empty()) map_.erase(it);
}

}  // namespace etcdd::mvcc
