// Backend snapshots: Store::WriteSnapshot, InspectSnapshot and RestoreFrom.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "base/crc32c.h"
#include "base/file.h"
#include "mvcc/errors.h"
#include "mvcc/revision.h"
#include "snapshot_test_util.h"

namespace etcdd::mvcc {
namespace {

using testing::AllKeys;
using testing::AllMeta;
using testing::ApplyRandom;
using testing::ExpectSameLatestState;
using testing::ExpectSameState;
using testing::MakeTempDir;
using testing::RangeReq;
using testing::TempStore;
using testing::Values;

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override { files_ = MakeTempDir(); }
  void TearDown() override { std::filesystem::remove_all(files_); }

  std::string File(const std::string& name) const { return files_ + "/" + name; }

  std::string Snapshot(Store& s, const std::string& name) {
    const std::string path = File(name);
    Status st = s.WriteSnapshot(path);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return path;
  }

  static std::string Read(const std::string& path) {
    auto r = ReadFile(path);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : "";
  }
  void Write(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  // Appends a valid trailer to an LMDB file, as WriteSnapshot would.
  void AddTrailer(const std::string& path) {
    std::string data = Read(path);
    char trailer[20];
    std::memcpy(trailer, "etcddsnp", 8);
    PutBigEndian64(data.size(), trailer + 8);
    char crc[8];
    PutBigEndian64(Crc32c(0, data), crc);
    std::memcpy(trailer + 16, crc + 4, 4);
    Write(path, data + std::string(trailer, sizeof(trailer)));
  }

  // Copies the LMDB environment in `dir` to the single file `path`
  // (mdb_env_copyfd2), after `edit(txn, env)` changed it.
  template <typename F>
  static void RawCopy(const std::string& dir, const std::string& path, F&& edit) {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_set_maxdbs(env, 8), 0);
    ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    edit(txn);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(mdb_env_copyfd2(env, fd.get(), MDB_CP_COMPACT), 0);
    mdb_env_close(env);
  }

  std::string files_;
};

// A store with data, a compaction, server metadata and a consistent index.
void Populate(TempStore* s, unsigned seed, int n) {
  ApplyRandom(s, seed, n, /*batch=*/3, /*term=*/seed % 7 + 1);
  s->Write([](Store::WriteTxn& t) {
    ASSERT_TRUE(t.PutMeta("confstate", "voters: 1 2 3").ok());
    ASSERT_TRUE(t.PutMeta("members", "m1 m2 m3").ok());
  });
  const int64_t rev = std::max((*s)->CompactRevision() + 1, (*s)->CurrentRevision() - 3);
  if (rev <= (*s)->CurrentRevision()) s->Compact(rev);
}

TEST_F(SnapshotTest, RestoreReplacesTheWholeState) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  TempStore a;
  Populate(&a, seed, 120);
  TempStore b;
  Populate(&b, seed + 1, 200);  // more revisions than a: restore goes back
  b.Write([](Store::WriteTxn& t) { ASSERT_TRUE(t.PutMeta("only-in-b", "x").ok()); });
  ASSERT_GT(b->CurrentRevision(), a->CurrentRevision());

  const std::string path = Snapshot(*a, "snap");
  EXPECT_FALSE(PathExists(path + ".tmp"));
  Status st = b->RestoreFrom(path);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ExpectSameState(*a, *b);
  EXPECT_FALSE(b->GetMeta("only-in-b")->has_value());
  EXPECT_EQ(*b->GetMeta("members"), std::optional<std::string>("m1 m2 m3"));

  // Writes continue from the restored revision.
  const int64_t next = a->CurrentRevision() + 1;
  for (TempStore* s : {&a, &b}) {
    s->Put("after", "restore");
    EXPECT_EQ((*s)->CurrentRevision(), next);
  }
  ExpectSameState(*a, *b);

  // The restored state is what the backend holds.
  b.Reopen();
  ExpectSameState(*a, *b);
}

// A snapshot larger than one install transaction (16 MiB) arrives whole.
TEST_F(SnapshotTest, LargeRestoreCommitsInBatchesAndArrivesWhole) {
  TempStore a;
  const std::string value(64 << 10, 'v');
  for (int i = 0; i < 8; ++i) {
    a.Write([&](Store::WriteTxn& t) {
      for (int j = 0; j < 100; ++j) {  // 50 MiB in all
        ASSERT_TRUE(t.Put(testing::PutReq("k" + std::to_string(i * 100 + j), value)).ok());
      }
    });
  }
  a.Write([](Store::WriteTxn& t) { ASSERT_TRUE(t.PutMeta("members", "m1").ok()); });
  TempStore b;
  Populate(&b, 3, 50);
  Status st = b->RestoreFrom(Snapshot(*a, "big"));
  ASSERT_TRUE(st.ok()) << st.ToString();
  ExpectSameLatestState(*a, *b);
  b.Reopen();
  ExpectSameLatestState(*a, *b);
}

// kill -9 of a process in the middle of a restore: the backend it leaves is
// the old state, the new one, or an interrupted install at consistent index
// 0 holding none of the old keys (which the server installs the snapshot
// file into again); never old and new mixed.
TEST_F(SnapshotTest, KilledRestoreLeavesOldNewOrRestartableNeverAMix) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  TempStore a;
  const std::string value(32 << 10, 'n');
  for (int i = 0; i < 4; ++i) {
    a.Write([&](Store::WriteTxn& t) {
      for (int j = 0; j < 300; ++j) {  // ~37 MiB: a few install transactions
        ASSERT_TRUE(t.Put(testing::PutReq("n" + std::to_string(i * 300 + j), value)).ok());
      }
      t.SetConsistentIndex(1000 + i, 9);  // above any that Populate sets
    });
  }
  const std::string path = Snapshot(*a, "snap");
  for (int round = 0; round < 4; ++round) {
    TempStore b;
    Populate(&b, seed + round, 40);
    const uint64_t old_index = b->ConsistentIndex();
    const int64_t old_rev = b->CurrentRevision();
    const std::string dir = b.dir();
    b.Close();
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto s = Store::Open(dir, Options{});
      if (s.ok()) (void)(*s)->RestoreFrom(path);
      ::_exit(0);
    }
    // A kill point chosen by the seed: before, during or after the restore
    // (~100-300 ms here); not a wait for an event.
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    b.Reopen();
    const uint64_t index = b->ConsistentIndex();
    SCOPED_TRACE("round " + std::to_string(round) + ", consistent index " + std::to_string(index));
    if (index == a->ConsistentIndex() && index != old_index) {
      ExpectSameLatestState(*a, *b);
    } else if (index == old_index) {
      EXPECT_EQ(b->CurrentRevision(), old_rev);
    } else {
      // Interrupted: the old contents are gone and part of the snapshot's
      // may be there, at consistent index 0.
      EXPECT_EQ(index, 0u);
      auto all = b->Range(testing::AllKeys());
      ASSERT_TRUE(all.ok());
      for (const auto& kv : all->kvs()) ASSERT_EQ(kv.key()[0], 'n') << "an old key survived";
      // Restoring again completes the install.
      Status st = b->RestoreFrom(path);
      ASSERT_TRUE(st.ok()) << st.ToString();
      ExpectSameLatestState(*a, *b);
    }
  }
}

TEST_F(SnapshotTest, InspectReportsTheStateWithoutTouchingTheFile) {
  TempStore s;
  s.Put("a", "1");  // 2
  s.Put("a", "2");  // 3
  s.Del("a");       // 4
  s.Compact(3);
  s.Write([](Store::WriteTxn& t) {
    ASSERT_TRUE(t.PutMeta("confstate", "cs").ok());
    ASSERT_TRUE(t.PutMeta("members", "ms").ok());
    t.SetConsistentIndex(42, 7);
  });
  const std::string path = Snapshot(*s, "snap");
  const std::string before = Read(path);
  auto info = Store::InspectSnapshot(path);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->consistent_index, 42u);
  EXPECT_EQ(info->consistent_term, 7u);
  EXPECT_EQ(info->revision, 4);
  EXPECT_EQ(info->compact_revision, 3);
  EXPECT_EQ(info->meta,
            (std::map<std::string, std::string>{{"confstate", "cs"}, {"members", "ms"}}));
  EXPECT_EQ(Read(path), before);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(files_), {}), 1);  // no lock file
}

TEST_F(SnapshotTest, EmptyStoreRoundTrips) {
  TempStore empty;
  const std::string path = Snapshot(*empty, "snap");
  auto info = Store::InspectSnapshot(path);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->revision, 1);
  EXPECT_EQ(info->consistent_index, 0u);
  EXPECT_TRUE(info->meta.empty());

  TempStore s;
  Populate(&s, 7, 50);
  ASSERT_TRUE(s->RestoreFrom(path).ok());
  ExpectSameState(*empty, *s);
  s.Put("k", "v");
  EXPECT_EQ(s->CurrentRevision(), 2);
}

TEST_F(SnapshotTest, WriteReplacesAnExistingFileAndNamesThePathOnError) {
  TempStore s;
  s.Put("a", "1");
  const std::string path = Snapshot(*s, "snap");
  s.Put("a", "2");
  ASSERT_TRUE(s->WriteSnapshot(path).ok());
  EXPECT_EQ(Store::InspectSnapshot(path)->revision, 3);

  const std::string bad = File("no/such/dir/snap");
  Status st = s->WriteSnapshot(bad);
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_NE(st.message().find(bad), std::string::npos) << st.ToString();
}

// A store left intact by a failed restore: same state, still writable.
void ExpectIntact(TempStore* s, TempStore* reference) {
  ExpectSameState(**s, **reference);
  s->Put("still", "writable");
  reference->Put("still", "writable");
  ExpectSameState(**s, **reference);
}

TEST_F(SnapshotTest, BadFilesAreRefusedAndLeaveTheStoreIntact) {
  TempStore src;
  Populate(&src, 3, 80);
  const std::string good = Read(Snapshot(*src, "good"));
  TempStore s;
  TempStore reference;
  Populate(&s, 4, 40);
  Populate(&reference, 4, 40);

  std::mt19937 rng(11);
  std::string random(good.size(), '\0');
  for (char& c : random) c = static_cast<char>(rng());
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x10;
  const std::pair<std::string, std::string> cases[] = {
      {"empty", ""},
      {"random", random},
      {"short random", random.substr(0, 100)},
      {"half", good.substr(0, good.size() / 2)},
      {"one byte short", good.substr(0, good.size() - 1)},
      {"lmdb part only", good.substr(0, good.size() - 20)},
      {"one page", good.substr(0, 4096)},
      {"bit flip", flipped},
      {"trailing byte", good + "x"},
  };
  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    const std::string path = File(name);
    Write(path, bytes);
    auto info = Store::InspectSnapshot(path);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), Code::kDataLoss) << info.status().ToString();
    EXPECT_NE(info.status().message().find(path), std::string::npos);
    Status st = s->RestoreFrom(path);
    EXPECT_EQ(st.code(), Code::kDataLoss) << st.ToString();
    EXPECT_EQ(Read(path), bytes);
  }
  EXPECT_EQ(Store::InspectSnapshot(File("missing")).status().code(), Code::kNotFound);
  EXPECT_EQ(s->RestoreFrom(File("missing")).code(), Code::kNotFound);
  ExpectIntact(&s, &reference);
}

TEST_F(SnapshotTest, LmdbFilesOfAnotherLayoutAreRefused) {
  TempStore s;
  s.Put("a", "1");
  TempStore target;
  Populate(&target, 5, 30);
  TempStore reference;
  Populate(&reference, 5, 30);

  // An LMDB environment without etcdd's databases.
  const std::string plain_dir = MakeTempDir();
  const std::string plain = File("plain");
  RawCopy(plain_dir, plain, [](MDB_txn* txn) {
    MDB_dbi dbi;
    ASSERT_EQ(mdb_dbi_open(txn, "bucket", MDB_CREATE, &dbi), 0);
  });
  std::filesystem::remove_all(plain_dir);
  AddTrailer(plain);
  auto info = Store::InspectSnapshot(plain);
  EXPECT_EQ(info.status().code(), Code::kDataLoss) << info.status().ToString();
  EXPECT_EQ(target->RestoreFrom(plain).code(), Code::kDataLoss);

  // An etcdd backend of another layout version.
  const std::string snap = Snapshot(*s, "v1");
  const std::string copy_dir = MakeTempDir();
  std::filesystem::copy_file(snap, copy_dir + "/data.mdb");
  const std::string v2 = File("v2");
  RawCopy(copy_dir, v2, [](MDB_txn* txn) {
    MDB_dbi meta;
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    MDB_val k{20, const_cast<char*>("etcdd_layout_version")};
    MDB_val v{1, const_cast<char*>("2")};
    ASSERT_EQ(mdb_put(txn, meta, &k, &v, 0), 0);
  });
  std::filesystem::remove_all(copy_dir);
  AddTrailer(v2);
  info = Store::InspectSnapshot(v2);
  EXPECT_EQ(info.status().code(), Code::kFailedPrecondition) << info.status().ToString();
  EXPECT_EQ(target->RestoreFrom(v2).code(), Code::kFailedPrecondition);
  ExpectIntact(&target, &reference);
}

TEST_F(SnapshotTest, RestoreThatDoesNotFitTheMapLeavesTheStoreIntact) {
  TempStore big;
  const std::string value(8 << 10, 'v');
  for (int i = 0; i < 40; ++i) {
    big.Write([&](Store::WriteTxn& t) {
      for (int j = 0; j < 10; ++j) {
        ASSERT_TRUE(t.Put(testing::PutReq("k" + std::to_string(i * 10 + j), value)).ok());
      }
    });
  }
  const std::string path = Snapshot(*big, "big");  // ~3.3 MB of values

  Options small;
  small.map_size_bytes = 2 << 20;
  TempStore s(small);
  TempStore reference(small);
  Populate(&s, 9, 40);
  Populate(&reference, 9, 40);
  Status st = s->RestoreFrom(path);
  EXPECT_EQ(st.code(), Code::kResourceExhausted) << st.ToString();
  ExpectIntact(&s, &reference);
}

TEST_F(SnapshotTest, RestoreRefusedWhileAWriteIsOpen) {
  TempStore src;
  src.Put("a", "1");
  const std::string path = Snapshot(*src, "snap");
  TempStore s;
  auto txn = s->BeginWrite();
  ASSERT_TRUE(txn.ok());
  EXPECT_EQ(s->RestoreFrom(path).code(), Code::kFailedPrecondition);
  ASSERT_TRUE((*txn)->Commit().ok());
  txn->reset();
  ASSERT_TRUE(s->RestoreFrom(path).ok());
  EXPECT_EQ(Values(s->Range(RangeReq("a")).value()), std::vector<std::string>{"1"});
}

// State "A": keys k/00..k/99 and x, all "A". State "B": k/00..k/49 and x,
// all "B", at other revisions (and compacted). A reader that mixed an index
// of one with the LMDB snapshot of the other would find revisions missing.
void BuildState(TempStore* s, const std::string& v, int keys, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    s->Write([&](Store::WriteTxn& t) {
      for (int i = 0; i < keys; ++i) {
        char key[16];
        std::snprintf(key, sizeof(key), "k/%02d", i);
        ASSERT_TRUE(t.Put(testing::PutReq(key, v)).ok());
      }
      ASSERT_TRUE(t.Put(testing::PutReq("x", v)).ok());
      t.SetConsistentIndex(static_cast<uint64_t>(r + 1), 1);
    });
  }
}

// Checks one read of the invariant; returns a description of a violation.
std::string CheckInvariant(Store& s, uint32_t hash_a, uint32_t hash_b) {
  etcdserverpb::TxnRequest req;
  *req.add_success()->mutable_request_range() = RangeReq("k/", "k0");
  *req.add_success()->mutable_request_range() = RangeReq("x");
  auto txn = s.ReadTxn(req);
  if (!txn.ok()) return "ReadTxn: " + txn.status().ToString();
  const auto& keys = txn->responses(0).response_range();
  const auto& x = txn->responses(1).response_range();
  if (x.kvs_size() != 1) return "x missing";
  const std::string v = x.kvs(0).value();
  const int want = v == "A" ? 100 : 50;
  if (keys.count() != want || keys.kvs_size() != want) return "ReadTxn: count mismatch for " + v;
  for (const auto& kv : keys.kvs()) {
    if (kv.value() != v) return "ReadTxn: mixed values";
  }
  auto range = s.Range(RangeReq("k/", "k0"));
  if (!range.ok()) return "Range: " + range.status().ToString();
  const std::string rv = range->kvs(0).value();
  if (range->count() != (rv == "A" ? 100 : 50)) return "Range: count mismatch for " + rv;
  for (const auto& kv : range->kvs()) {
    if (kv.value() != rv) return "Range: mixed values";
  }
  auto hash = s.HashKV(0);
  if (!hash.ok()) return "HashKV: " + hash.status().ToString();
  if (hash->first != hash_a && hash->first != hash_b) return "HashKV of neither state";
  return "";
}

TEST_F(SnapshotTest, ConcurrentReadersSeeTheOldStateOrTheNewNeverAMix) {
  TempStore a;
  BuildState(&a, "A", 100, 2);
  TempStore b;
  BuildState(&b, "B", 50, 5);
  b.Compact(b->CurrentRevision() - 60);
  const std::string snap_a = Snapshot(*a, "a");
  const std::string snap_b = Snapshot(*b, "b");
  const uint32_t hash_a = a->HashKV(0)->first;
  const uint32_t hash_b = b->HashKV(0)->first;
  ASSERT_NE(hash_a, hash_b);

  TempStore s;
  ASSERT_TRUE(s->RestoreFrom(snap_a).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::mutex mu;
  std::string failure;  // guarded by mu
  auto reader = [&] {
    while (!stop.load()) {
      std::string err = CheckInvariant(*s, hash_a, hash_b);
      if (!err.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        if (failure.empty()) failure = err;
        return;
      }
      reads.fetch_add(1);
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) readers.emplace_back(reader);
  while (reads.load() < 3) std::this_thread::yield();
  for (int i = 0; i < 60; ++i) {
    Status st = s->RestoreFrom(i % 2 == 0 ? snap_b : snap_a);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  const int after = reads.load();
  while (reads.load() < after + 3 && failure.empty()) std::this_thread::yield();
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(failure, "");
  ExpectSameState(*a, *s);
}

TEST_F(SnapshotTest, SnapshotTakenWhileWritingIsConsistent) {
  TempStore w;
  std::atomic<bool> done{false};
  constexpr int kBatches = 200;
  std::thread writer([&] {
    for (int i = 1; i <= kBatches; ++i) {
      w.Write([&](Store::WriteTxn& t) {
        ASSERT_TRUE(t.Put(testing::PutReq("k", std::to_string(i))).ok());
        ASSERT_TRUE(t.Put(testing::PutReq("k2", std::to_string(i))).ok());
        t.SetConsistentIndex(static_cast<uint64_t>(i), 3);
      });
    }
    done.store(true);
  });
  TempStore r;
  int snapshots = 0;
  do {
    const std::string path = Snapshot(*w, "snap");
    auto info = Store::InspectSnapshot(path);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    // Each batch takes two revisions after the initial 1.
    EXPECT_EQ(info->revision, 1 + 2 * static_cast<int64_t>(info->consistent_index));
    ASSERT_TRUE(r->RestoreFrom(path).ok());
    EXPECT_EQ(r->ConsistentIndex(), info->consistent_index);
    const std::string want =
        info->consistent_index == 0 ? "" : std::to_string(info->consistent_index);
    for (const char* key : {"k", "k2"}) {
      auto got = r->Range(RangeReq(key));
      ASSERT_TRUE(got.ok());
      EXPECT_EQ(got->kvs_size() == 0 ? "" : got->kvs(0).value(), want) << key;
    }
    ++snapshots;
  } while (!done.load());
  writer.join();
  EXPECT_GE(snapshots, 1);
  ASSERT_TRUE(r->RestoreFrom(Snapshot(*w, "final")).ok());
  ExpectSameState(*w, *r);
}

}  // namespace
}  // namespace etcdd::mvcc
