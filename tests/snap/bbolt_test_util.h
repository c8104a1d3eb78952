// Helpers for the bbolt writer/reader tests: a temporary directory, a whole
// database held in memory (bucket -> ordered entries), written with
// BboltWriter and read back with BboltReader.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/file.h"
#include "snap/bbolt_reader.h"
#include "snap/bbolt_writer.h"

namespace etcdd::snap::testing {

using Entries = std::vector<std::pair<std::string, std::string>>;
using Db = std::map<std::string, Entries>;

// An etcd revision key: main and sub as 8-byte big-endian, joined by '_'
// (17 bytes), with a trailing 't' for a tombstone (18 bytes).
inline std::string RevKey(uint64_t main, uint64_t sub, bool tombstone = false) {
  std::string k(17, '\0');
  for (int i = 0; i < 8; ++i) {
    k[i] = static_cast<char>(main >> (56 - 8 * i));
    k[9 + i] = static_cast<char>(sub >> (56 - 8 * i));
  }
  k[8] = '_';
  if (tombstone) k += 't';
  return k;
}

// Writes `db` to `path`, buckets in `order` (all of db's names; empty means
// db's order). Returns the file size.
inline Result<uint64_t> WriteDb(const std::string& path, const Db& db, uint64_t txid,
                                std::vector<std::string> order = {}) {
  if (order.empty()) {
    for (const auto& [name, entries] : db) order.push_back(name);
  }
  ASSIGN_OR_RETURN(auto writer, BboltWriter::Create(path));
  for (const auto& name : order) {
    RETURN_IF_ERROR(writer->BeginBucket(name));
    for (const auto& [k, v] : db.at(name)) RETURN_IF_ERROR(writer->Put(k, v));
    RETURN_IF_ERROR(writer->EndBucket());
  }
  return writer->Finish(txid);
}

// Reads every bucket of an open reader back into a Db.
inline Result<Db> ReadDb(const BboltReader& reader) {
  ASSIGN_OR_RETURN(auto names, reader.Buckets());
  Db db;
  for (const auto& name : names) {
    Entries& entries = db[name];
    RETURN_IF_ERROR(reader.ForEach(name, [&](std::string_view k, std::string_view v) {
      entries.emplace_back(k, v);
      return Status::Ok();
    }));
  }
  return db;
}

class BboltTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "bbolt-XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

}  // namespace etcdd::snap::testing
