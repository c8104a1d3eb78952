// MemoryStorage: the Storage contract (etcd's storage_test.go cases).
#include <gtest/gtest.h>

#include "raft/memory_storage.h"
#include "test_util.h"

namespace etcdd::raft {
namespace {

using testing::EntriesWithTerms;
using testing::MakeEntry;

// A storage with a dummy at (3, 3) and entries 4@4, 5@5.
std::unique_ptr<MemoryStorage> Compacted() {
  auto s = std::make_unique<MemoryStorage>();
  raftpb::Snapshot snap;
  snap.mutable_metadata()->set_index(3);
  snap.mutable_metadata()->set_term(3);
  EXPECT_TRUE(s->ApplySnapshot(snap).ok());
  EXPECT_TRUE(s->Append({MakeEntry(4, 4), MakeEntry(5, 5)}).ok());
  return s;
}

TEST(MemoryStorage, NewStorageIsEmpty) {
  MemoryStorage s;
  EXPECT_EQ(s.FirstIndex(), 1u);
  EXPECT_EQ(s.LastIndex(), 0u);
  EXPECT_EQ(*s.Term(0), 0u);
  auto ents = s.Entries(1, 1, UINT64_MAX);
  EXPECT_TRUE(IsUnavailable(ents.status()));
  EXPECT_EQ(ents.status().message(), "requested entry at index is unavailable");
}

TEST(MemoryStorage, TermErrorsOutsideTheLog) {
  auto s = Compacted();
  EXPECT_TRUE(IsCompacted(s->Term(2).status()));
  EXPECT_EQ(s->Term(2).status().message(), "requested index is unavailable due to compaction");
  EXPECT_EQ(*s->Term(3), 3u);
  EXPECT_EQ(*s->Term(5), 5u);
  EXPECT_TRUE(IsUnavailable(s->Term(6).status()));
}

TEST(MemoryStorage, EntriesHonourRangeAndSizeLimit) {
  auto s = Compacted();
  EXPECT_TRUE(IsCompacted(s->Entries(3, 5, UINT64_MAX).status()));
  EXPECT_EQ(s->Entries(4, 6, UINT64_MAX)->size(), 2u);
  // A zero byte limit still returns one entry.
  EXPECT_EQ(s->Entries(4, 6, 0)->size(), 1u);
  const uint64_t one = MakeEntry(4, 4).ByteSizeLong();
  EXPECT_EQ(s->Entries(4, 6, one)->size(), 1u);
  EXPECT_EQ(s->Entries(4, 6, 2 * one)->size(), 2u);
  EXPECT_FALSE(s->Entries(4, 7, UINT64_MAX).ok());
}

TEST(MemoryStorage, AppendTruncatesConflictingSuffix) {
  auto s = Compacted();
  ASSERT_TRUE(s->Append({MakeEntry(6, 5), MakeEntry(6, 6)}).ok());
  EXPECT_EQ(s->LastIndex(), 6u);
  EXPECT_EQ(*s->Term(4), 4u);
  EXPECT_EQ(*s->Term(5), 6u);
  // Overlapping the compacted prefix: the compacted part is skipped.
  ASSERT_TRUE(s->Append(EntriesWithTerms(2, {3, 3, 7})).ok());
  EXPECT_EQ(s->LastIndex(), 4u);
  EXPECT_EQ(*s->Term(4), 7u);
  // Entirely compacted: nothing happens.
  ASSERT_TRUE(s->Append(EntriesWithTerms(1, {1, 2})).ok());
  EXPECT_EQ(s->LastIndex(), 4u);
}

TEST(MemoryStorage, AppendRejectsGapsAndUnorderedEntries) {
  auto s = Compacted();
  EXPECT_EQ(s->Append({MakeEntry(6, 7)}).code(), Code::kInvalidArgument);
  EXPECT_EQ(s->Append({MakeEntry(6, 6), MakeEntry(6, 8)}).code(), Code::kInvalidArgument);
  EXPECT_EQ(s->LastIndex(), 5u);
}

TEST(MemoryStorage, CompactKeepsTheDummyTerm) {
  auto s = Compacted();
  EXPECT_TRUE(IsCompacted(s->Compact(3)));
  ASSERT_TRUE(s->Compact(4).ok());
  EXPECT_EQ(s->FirstIndex(), 5u);
  EXPECT_EQ(*s->Term(4), 4u);
  EXPECT_EQ(s->Compact(9).code(), Code::kInvalidArgument);
}

TEST(MemoryStorage, CreateSnapshotAndApplySnapshot) {
  auto s = Compacted();
  raftpb::ConfState cs;
  cs.add_voters(1);
  auto snap = s->CreateSnapshot(4, &cs, "data");
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->metadata().index(), 4u);
  EXPECT_EQ(snap->metadata().term(), 4u);
  EXPECT_EQ(s->CreateSnapshot(4, nullptr, "").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(s->CreateSnapshot(9, nullptr, "").status().code(), Code::kInvalidArgument);
  auto initial = s->InitialState();
  ASSERT_TRUE(initial.ok());
  EXPECT_EQ(initial->second.voters_size(), 1);

  MemoryStorage other;
  ASSERT_TRUE(other.ApplySnapshot(*snap).ok());
  EXPECT_EQ(other.FirstIndex(), 5u);
  EXPECT_EQ(other.LastIndex(), 4u);
  EXPECT_EQ(other.ApplySnapshot(*snap).code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace etcdd::raft
