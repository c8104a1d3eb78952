// Test helpers: etcd-shaped snapshot files built with lib/snap's
// BboltWriter (revision keys, mvccpb.KeyValue values, buckets, the SHA-256
// trailer), for the tests of lib/backup.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "backup/snapshot_digest.h"
#include "mvccpb/kv.pb.h"
#include "snap/bbolt_writer.h"

namespace etcdd::backup::testing {

using Entries = std::vector<std::pair<std::string, std::string>>;
using Db = std::map<std::string, Entries>;

inline std::string RevKey(int64_t main, int64_t sub, bool tombstone = false) {
  std::string k(17, '\0');
  for (int i = 0; i < 8; ++i) {
    k[i] = static_cast<char>(static_cast<uint64_t>(main) >> (56 - 8 * i));
    k[9 + i] = static_cast<char>(static_cast<uint64_t>(sub) >> (56 - 8 * i));
  }
  k[8] = '_';
  if (tombstone) k += 't';
  return k;
}

inline std::string Kv(const std::string& key, int64_t create, int64_t mod, int64_t version,
                      const std::string& value) {
  mvccpb::KeyValue kv;
  kv.set_key(key);
  kv.set_create_revision(create);
  kv.set_mod_revision(mod);
  kv.set_version(version);
  kv.set_value(value);
  return kv.SerializeAsString();
}

inline std::string Tombstone(const std::string& key) {
  mvccpb::KeyValue kv;
  kv.set_key(key);
  return kv.SerializeAsString();
}

inline std::string Big64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

// Writes `db` (bucket -> entries in key order) as an etcd snapshot at
// `path`: the bbolt file, then its SHA-256 unless `digest` is false.
inline std::string WriteSnapshot(const std::string& path, const Db& db, bool digest = true) {
  {
    auto writer = snap::BboltWriter::Create(path);
    EXPECT_TRUE(writer.ok());
    for (const auto& [bucket, entries] : db) {
      EXPECT_TRUE((*writer)->BeginBucket(bucket).ok());
      for (const auto& [k, v] : entries) EXPECT_TRUE((*writer)->Put(k, v).ok()) << bucket;
      EXPECT_TRUE((*writer)->EndBucket().ok());
    }
    EXPECT_TRUE((*writer)->Finish(5).ok());
  }
  if (digest) {
    std::ifstream in(path, std::ios::binary);
    std::string body(std::istreambuf_iterator<char>(in), {});
    Sha256 sha;
    sha.Update(body);
    auto d = sha.Final();
    std::ofstream(path, std::ios::binary | std::ios::app)
        .write(reinterpret_cast<const char*>(d.data()), d.size());
  }
  return path;
}

}  // namespace etcdd::backup::testing
