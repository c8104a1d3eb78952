#include "raft/log.h"

#include <algorithm>
#include <string>

#include "raft/util.h"

namespace etcdd::raft {

RaftLog::RaftLog(const Storage* storage, uint64_t max_next_ents_size)
    : storage_(storage),
      unstable_(storage->LastIndex() + 1),
      committed_(storage->FirstIndex() - 1),
      applied_(storage->FirstIndex() - 1),
      max_next_ents_size_(max_next_ents_size) {}

uint64_t RaftLog::FirstIndex() const {
  if (std::optional<uint64_t> i = unstable_.MaybeFirstIndex()) return *i;
  return storage_->FirstIndex();
}

void RaftLog::Restore(const raftpb::Snapshot& snap) {
  committed_ = snap.metadata().index();
  unstable_.Restore(snap);
}

Result<raftpb::Snapshot> RaftLog::Snapshot() const {
  if (unstable_.snapshot()) return *unstable_.snapshot();
  return storage_->GetSnapshot();
}

uint64_t RaftLog::LastIndex() const {
  if (std::optional<uint64_t> i = unstable_.MaybeLastIndex()) return *i;
  return storage_->LastIndex();
}

uint64_t RaftLog::LastTerm() const {
  Result<uint64_t> t = Term(LastIndex());
  if (!t.ok()) Panic("unexpected error when getting the last term: " + t.status().ToString());
  return *t;
}

Result<uint64_t> RaftLog::Term(uint64_t index) const {
  // The valid range is [index of the dummy entry, last index].
  if (index + 1 < FirstIndex() || index > LastIndex()) return uint64_t{0};
  if (std::optional<uint64_t> t = unstable_.MaybeTerm(index)) return *t;
  Result<uint64_t> t = storage_->Term(index);
  if (t.ok() || IsCompacted(t.status()) || IsUnavailable(t.status())) return t;
  Panic("storage term of index " + std::to_string(index) + ": " + t.status().ToString());
}

uint64_t RaftLog::TermOrZero(uint64_t index) const {
  Result<uint64_t> t = Term(index);
  if (t.ok()) return *t;
  if (IsCompacted(t.status())) return 0;
  Panic("unexpected error getting term of index " + std::to_string(index) + ": " +
        t.status().ToString());
}

bool RaftLog::MatchTerm(uint64_t index, uint64_t term) const {
  Result<uint64_t> t = Term(index);
  return t.ok() && *t == term;
}

bool RaftLog::IsUpToDate(uint64_t last_index, uint64_t term) const {
  const uint64_t last_term = LastTerm();
  return term > last_term || (term == last_term && last_index >= LastIndex());
}

std::optional<uint64_t> RaftLog::MaybeAppend(uint64_t index, uint64_t log_term, uint64_t committed,
                                             const std::vector<raftpb::Entry>& ents) {
  if (!MatchTerm(index, log_term)) return std::nullopt;
  const uint64_t last_new = index + ents.size();
  const uint64_t conflict = FindConflict(ents);
  if (conflict != 0) {
    if (conflict <= committed_) {
      Panic("entry " + std::to_string(conflict) + " conflicts with committed entry [committed(" +
            std::to_string(committed_) + ")]");
    }
    Append(std::vector<raftpb::Entry>(ents.begin() + (conflict - (index + 1)), ents.end()));
  }
  CommitTo(std::min(committed, last_new));
  return last_new;
}

uint64_t RaftLog::Append(const std::vector<raftpb::Entry>& ents) {
  if (ents.empty()) return LastIndex();
  if (ents[0].index() - 1 < committed_) {
    Panic("append after " + std::to_string(ents[0].index() - 1) + " is below committed(" +
          std::to_string(committed_) + ")");
  }
  unstable_.TruncateAndAppend(ents);
  return LastIndex();
}

uint64_t RaftLog::FindConflict(const std::vector<raftpb::Entry>& ents) const {
  for (const raftpb::Entry& e : ents) {
    if (!MatchTerm(e.index(), e.term())) return e.index();
  }
  return 0;
}

uint64_t RaftLog::FindConflictByTerm(uint64_t index, uint64_t term) const {
  if (index > LastIndex()) return index;
  while (true) {
    Result<uint64_t> t = Term(index);
    if (!t.ok() || *t <= term) return index;
    --index;
  }
}

Result<std::vector<raftpb::Entry>> RaftLog::EntriesFrom(uint64_t index, uint64_t max_bytes) const {
  if (index > LastIndex()) return std::vector<raftpb::Entry>();
  return Slice(index, LastIndex() + 1, max_bytes);
}

Result<std::vector<raftpb::Entry>> RaftLog::Slice(uint64_t lo, uint64_t hi,
                                                  uint64_t max_bytes) const {
  if (lo > hi) Panic("invalid slice " + std::to_string(lo) + " > " + std::to_string(hi));
  if (lo < FirstIndex()) return ErrCompacted();
  if (hi > LastIndex() + 1) {
    Panic("slice[" + std::to_string(lo) + "," + std::to_string(hi) + ") out of bound [" +
          std::to_string(FirstIndex()) + "," + std::to_string(LastIndex()) + "]");
  }
  std::vector<raftpb::Entry> ents;
  if (lo == hi) return ents;
  const uint64_t offset = unstable_.offset();
  if (lo < offset) {
    const uint64_t stored_hi = std::min(hi, offset);
    Result<std::vector<raftpb::Entry>> stored = storage_->Entries(lo, stored_hi, max_bytes);
    if (!stored.ok()) {
      if (IsCompacted(stored.status())) return stored.status();
      Panic("entries[" + std::to_string(lo) + ":" + std::to_string(stored_hi) +
            ") unavailable from storage: " + stored.status().ToString());
    }
    ents = std::move(stored).value();
    // Storage stopped early because of the size limit: nothing more fits.
    if (ents.size() < stored_hi - lo) return ents;
  }
  if (hi > offset) {
    std::vector<raftpb::Entry> tail = unstable_.Slice(std::max(lo, offset), hi);
    ents.insert(ents.end(), std::make_move_iterator(tail.begin()),
                std::make_move_iterator(tail.end()));
  }
  LimitSize(&ents, max_bytes);
  return ents;
}

std::vector<raftpb::Entry> RaftLog::NextEntries() const {
  const uint64_t off = std::max(applied_ + 1, FirstIndex());
  if (committed_ + 1 <= off) return {};
  Result<std::vector<raftpb::Entry>> ents = Slice(off, committed_ + 1, max_next_ents_size_);
  if (!ents.ok()) Panic("unexpected error getting unapplied entries: " + ents.status().ToString());
  return std::move(ents).value();
}

bool RaftLog::HasNextEntries() const {
  return committed_ + 1 > std::max(applied_ + 1, FirstIndex());
}

void RaftLog::CommitTo(uint64_t index) {
  if (committed_ >= index) return;  // never decrease the commit index
  if (LastIndex() < index) {
    Panic("tocommit(" + std::to_string(index) + ") is out of range [lastIndex(" +
          std::to_string(LastIndex()) + ")]. Was the raft log corrupted, truncated, or lost?");
  }
  committed_ = index;
}

bool RaftLog::MaybeCommit(uint64_t max_index, uint64_t term) {
  if (max_index > committed_ && TermOrZero(max_index) == term) {
    CommitTo(max_index);
    return true;
  }
  return false;
}

void RaftLog::AppliedTo(uint64_t index) {
  if (index == 0) return;
  if (committed_ < index || index < applied_) {
    Panic("applied(" + std::to_string(index) + ") is out of range [prevApplied(" +
          std::to_string(applied_) + "), committed(" + std::to_string(committed_) + ")]");
  }
  applied_ = index;
}

Status RaftLog::CheckInvariants() const {
  const uint64_t first = FirstIndex();
  const uint64_t last = LastIndex();
  auto fail = [](const std::string& what) {
    return Status::Internal("raft log invariant: " + what);
  };
  const bool restoring = unstable_.snapshot().has_value();
  if (applied_ + 1 < first && !restoring) return fail("applied below the compaction point");
  if (applied_ > committed_) {
    return fail("applied " + std::to_string(applied_) + " > committed " +
                std::to_string(committed_));
  }
  if (committed_ > last) {
    return fail("committed " + std::to_string(committed_) + " > last " + std::to_string(last));
  }
  if (unstable_.offset() > storage_->LastIndex() + 1 && !restoring) {
    return fail("gap before unstable entries");
  }
  const auto& ents = unstable_.entries();
  uint64_t prev_term = TermOrZero(unstable_.offset() - 1);
  for (size_t i = 0; i < ents.size(); ++i) {
    if (ents[i].index() != unstable_.offset() + i) return fail("unstable index out of order");
    if (ents[i].term() < prev_term) return fail("term decreases along the log");
    prev_term = ents[i].term();
  }
  return Status::Ok();
}

}  // namespace etcdd::raft
