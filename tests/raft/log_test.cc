// RaftLog and its unstable tail (etcd's log_test.go / log_unstable_test.go).
#include "raft/log.h"

#include <gtest/gtest.h>

#include "raft/memory_storage.h"
#include "raft/util.h"
#include "test_util.h"

namespace etcdd::raft {
namespace {

using testing::EntriesWithTerms;
using testing::MakeEntry;

std::vector<uint64_t> Terms(const std::vector<raftpb::Entry>& ents) {
  std::vector<uint64_t> out;
  for (const auto& e : ents) out.push_back(e.term());
  return out;
}

TEST(Unstable, TruncateAndAppend) {
  Unstable u(5);
  u.TruncateAndAppend({MakeEntry(1, 5)});
  u.TruncateAndAppend(EntriesWithTerms(6, {1, 1}));  // directly after
  EXPECT_EQ(Terms(u.entries()), (std::vector<uint64_t>{1, 1, 1}));
  u.TruncateAndAppend(EntriesWithTerms(6, {2, 2}));  // inside: truncate then append
  EXPECT_EQ(Terms(u.entries()), (std::vector<uint64_t>{1, 2, 2}));
  u.TruncateAndAppend(EntriesWithTerms(4, {3}));  // before offset: replace all
  EXPECT_EQ(u.offset(), 4u);
  EXPECT_EQ(Terms(u.entries()), (std::vector<uint64_t>{3}));
}

TEST(Unstable, StableToIgnoresReplacedEntries) {
  Unstable u(5);
  u.TruncateAndAppend(EntriesWithTerms(5, {1, 1, 1}));
  u.StableTo(6, 2);  // term mismatch: entry 6 was replaced since
  EXPECT_EQ(u.entries().size(), 3u);
  u.StableTo(6, 1);
  EXPECT_EQ(u.offset(), 7u);
  EXPECT_EQ(u.entries().size(), 1u);
  u.StableTo(4, 1);  // already stable
  EXPECT_EQ(u.offset(), 7u);
}

class RaftLogTest : public ::testing::Test {
 protected:
  // Stored: 1@1 2@2 3@3; unstable appended by tests.
  void SetUp() override { ASSERT_TRUE(storage_.Append(EntriesWithTerms(1, {1, 2, 3})).ok()); }
  MemoryStorage storage_;
};

TEST_F(RaftLogTest, StartsCommittedAtCompactionPoint) {
  RaftLog log(&storage_, kNoLimit);
  EXPECT_EQ(log.committed(), 0u);
  EXPECT_EQ(log.applied(), 0u);
  EXPECT_EQ(log.LastIndex(), 3u);
  EXPECT_EQ(log.unstable().offset(), 4u);
  EXPECT_TRUE(log.CheckInvariants().ok());
}

TEST_F(RaftLogTest, FindConflict) {
  RaftLog log(&storage_, kNoLimit);
  EXPECT_EQ(log.FindConflict({}), 0u);
  EXPECT_EQ(log.FindConflict(EntriesWithTerms(1, {1, 2, 3})), 0u);  // all present
  EXPECT_EQ(log.FindConflict(EntriesWithTerms(2, {2, 3, 4})), 4u);  // new entry
  EXPECT_EQ(log.FindConflict(EntriesWithTerms(2, {2, 4, 4})), 3u);  // conflict
}

TEST_F(RaftLogTest, FindConflictByTermSkipsHigherTerms) {
  ASSERT_TRUE(storage_.Append(EntriesWithTerms(4, {3, 5, 5, 5})).ok());
  RaftLog log(&storage_, kNoLimit);             // terms: 1 2 3 3 5 5 5
  EXPECT_EQ(log.FindConflictByTerm(7, 4), 4u);  // last index with term <= 4
  EXPECT_EQ(log.FindConflictByTerm(7, 5), 7u);
  EXPECT_EQ(log.FindConflictByTerm(7, 0), 0u);
  EXPECT_EQ(log.FindConflictByTerm(10, 1), 10u);  // past the log: unchanged
}

TEST_F(RaftLogTest, MaybeAppendRejectsMismatchedPrevious) {
  RaftLog log(&storage_, kNoLimit);
  EXPECT_FALSE(log.MaybeAppend(3, 2, 3, EntriesWithTerms(4, {4})).has_value());
  EXPECT_FALSE(log.MaybeAppend(4, 3, 3, EntriesWithTerms(5, {4})).has_value());  // gap
  EXPECT_EQ(log.committed(), 0u);
}

TEST_F(RaftLogTest, MaybeAppendTruncatesConflictsAndCommits) {
  RaftLog log(&storage_, kNoLimit);
  auto last = log.MaybeAppend(1, 1, 2, EntriesWithTerms(2, {4, 4}));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 3u);
  EXPECT_EQ(log.committed(), 2u);
  EXPECT_EQ(log.unstable().offset(), 2u);  // storage's 2 and 3 will be overwritten
  EXPECT_EQ(log.TermOrZero(3), 4u);
  // Commit is capped by the last new entry of the message, never past it.
  log.MaybeAppend(3, 4, 10, {});
  EXPECT_EQ(log.committed(), 3u);
  EXPECT_TRUE(log.CheckInvariants().ok());
}

// A follower may hold stale entries past what a message covers; the leader's
// commit index only applies up to the message's last entry, which is known to
// match the leader's log.
TEST_F(RaftLogTest, CommitIsCappedAtTheLastNewEntry) {
  RaftLog log(&storage_, kNoLimit);
  auto last = log.MaybeAppend(1, 1, 3, EntriesWithTerms(2, {2}));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 2u);
  EXPECT_EQ(log.committed(), 2u);  // not 3: entry 3 may be stale
}

TEST_F(RaftLogTest, MaybeAppendOfKnownEntriesKeepsTheLog) {
  RaftLog log(&storage_, kNoLimit);
  log.MaybeAppend(0, 0, 0, EntriesWithTerms(1, {1}));  // a stale, shorter append
  EXPECT_EQ(log.LastIndex(), 3u);
  EXPECT_TRUE(log.unstable().entries().empty());
}

TEST_F(RaftLogTest, TruncatingCommittedEntryAborts) {
  RaftLog log(&storage_, kNoLimit);
  log.CommitTo(3);
  EXPECT_DEATH(log.MaybeAppend(1, 1, 3, EntriesWithTerms(2, {5})), "conflicts with committed");
}

TEST_F(RaftLogTest, CommitNeverDecreasesAndNeverPassesLastIndex) {
  RaftLog log(&storage_, kNoLimit);
  log.CommitTo(2);
  log.CommitTo(1);
  EXPECT_EQ(log.committed(), 2u);
  EXPECT_DEATH(log.CommitTo(4), "out of range");
}

TEST_F(RaftLogTest, MaybeCommitOnlyForTheGivenTerm) {
  RaftLog log(&storage_, kNoLimit);
  EXPECT_FALSE(log.MaybeCommit(2, 3));  // entry 2 has term 2
  EXPECT_TRUE(log.MaybeCommit(3, 3));
  EXPECT_EQ(log.committed(), 3u);
}

TEST_F(RaftLogTest, IsUpToDate) {
  RaftLog log(&storage_, kNoLimit);    // last: 3@3
  EXPECT_TRUE(log.IsUpToDate(1, 4));   // higher last term wins
  EXPECT_FALSE(log.IsUpToDate(9, 2));  // lower last term loses, however long
  EXPECT_TRUE(log.IsUpToDate(3, 3));
  EXPECT_FALSE(log.IsUpToDate(2, 3));
}

TEST_F(RaftLogTest, SliceSpansStorageAndUnstable) {
  RaftLog log(&storage_, kNoLimit);
  log.Append(EntriesWithTerms(4, {4, 4}));
  auto ents = log.Slice(2, 6, kNoLimit);
  ASSERT_TRUE(ents.ok());
  EXPECT_EQ(Terms(*ents), (std::vector<uint64_t>{2, 3, 4, 4}));
  const uint64_t one = MakeEntry(1, 1).ByteSizeLong();
  EXPECT_EQ(log.Slice(2, 6, 3 * one)->size(), 3u);
  EXPECT_EQ(log.Slice(2, 6, 0)->size(), 1u);
  EXPECT_EQ(log.EntriesFrom(6, kNoLimit)->size(), 0u);
}

TEST_F(RaftLogTest, SliceBelowCompactionIsCompacted) {
  ASSERT_TRUE(storage_.Compact(2).ok());
  RaftLog log(&storage_, kNoLimit);
  EXPECT_TRUE(IsCompacted(log.Slice(2, 3, kNoLimit).status()));
  EXPECT_EQ(log.TermOrZero(1), 0u);
  EXPECT_EQ(log.TermOrZero(2), 2u);  // the dummy keeps its term
}

TEST_F(RaftLogTest, NextEntriesAreCommittedButUnapplied) {
  RaftLog log(&storage_, kNoLimit);
  log.Append(EntriesWithTerms(4, {4}));
  EXPECT_FALSE(log.HasNextEntries());
  log.CommitTo(4);  // includes the unstable entry
  EXPECT_EQ(log.NextEntries().size(), 4u);
  log.AppliedTo(2);
  EXPECT_EQ(Terms(log.NextEntries()), (std::vector<uint64_t>{3, 4}));
  EXPECT_DEATH(log.AppliedTo(5), "out of range");
}

TEST_F(RaftLogTest, NextEntriesRespectTheSizeLimit) {
  const uint64_t one = MakeEntry(1, 1).ByteSizeLong();
  RaftLog log(&storage_, 2 * one);
  log.CommitTo(3);
  EXPECT_EQ(log.NextEntries().size(), 2u);
}

}  // namespace
}  // namespace etcdd::raft
