// FileSource and FileSink: a file crosses in chunks, arrives whole under its
// final name or not at all.
#include "snap/file_stream.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <random>

namespace etcdd::snap {
namespace {

class FileStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "snap-XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Copies `from` to `to` through a source and a sink, `chunk` bytes at a time.
  Status Copy(const std::string& from, const std::string& to, size_t chunk) {
    ASSIGN_OR_RETURN(FileSource source, FileSource::Open(from));
    ASSIGN_OR_RETURN(FileSink sink, FileSink::Create(*Env::Default(), to, source.size()));
    std::string buf;
    for (;;) {
      RETURN_IF_ERROR(source.Next(chunk, &buf));
      if (buf.empty()) break;
      EXPECT_LE(buf.size(), chunk);
      RETURN_IF_ERROR(sink.Append(buf));
    }
    return sink.Commit();
  }

  std::string dir_;
};

TEST_F(FileStreamTest, CopiesAnyLengthInChunks) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (size_t len : {size_t{0}, size_t{1}, size_t{4096}, size_t{100000}}) {
    std::string data(len, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/in", data).ok());
    ASSERT_TRUE(Copy(dir_ + "/in", dir_ + "/out", 4096).ok());
    auto got = ReadFile(dir_ + "/out");
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(*got == data) << "length " << len;
    EXPECT_FALSE(PathExists(dir_ + "/out.part"));
  }
}

TEST_F(FileStreamTest, MissingSourceIsNotFound) {
  auto s = FileSource::Open(dir_ + "/none");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kNotFound);
}

TEST_F(FileStreamTest, ShortTransferLeavesNothing) {
  {
    auto sink = FileSink::Create(*Env::Default(), dir_ + "/out", 10);
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE(sink->Append("12345").ok());
    EXPECT_TRUE(PathExists(dir_ + "/out.part"));
    Status st = sink->Commit();
    EXPECT_EQ(st.code(), Code::kDataLoss);
    EXPECT_NE(st.message().find("5 bytes, expected 10"), std::string::npos) << st.message();
  }
  EXPECT_FALSE(PathExists(dir_ + "/out"));
  EXPECT_FALSE(PathExists(dir_ + "/out.part"));
}

TEST_F(FileStreamTest, LongTransferIsRefused) {
  {
    auto sink = FileSink::Create(*Env::Default(), dir_ + "/out", 4);
    ASSERT_TRUE(sink.ok());
    EXPECT_EQ(sink->Append("12345").code(), Code::kDataLoss);
    EXPECT_EQ(sink->written(), 0u);
  }
  EXPECT_FALSE(PathExists(dir_ + "/out"));
  EXPECT_FALSE(PathExists(dir_ + "/out.part"));
}

TEST_F(FileStreamTest, AbandonedSinkRemovesItsPart) {
  {
    auto sink = FileSink::Create(*Env::Default(), dir_ + "/out", 4);
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE(sink->Append("12").ok());
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

}  // namespace
}  // namespace etcdd::snap
