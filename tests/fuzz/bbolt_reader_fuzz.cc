// libFuzzer target for BboltReader: whatever the bytes, Open, Buckets,
// ForEach over every bucket and Check return a Status; they never crash,
// hang or read out of bounds (built with ASan and UBSan by tests/fuzz/run.sh).
//
// Inputs of odd length get both meta pages' checksums rewritten first, so the
// fuzzer can also explore meta fields (root, freelist, high water mark, page
// size) that a checksum would otherwise guard.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "snap/bbolt_format.h"
#include "snap/bbolt_reader.h"

namespace {

using etcdd::Status;
using etcdd::snap::BboltReader;
namespace bbolt = etcdd::snap::bbolt;

void ResealMetas(std::string& data) {
  if (data.size() < bbolt::kMetaEnd) return;
  uint64_t page_size = bbolt::Load32(data.data() + bbolt::kMetaPageSizeAt);
  for (uint64_t at : {uint64_t{0}, page_size}) {
    if (at > data.size() || data.size() - at < bbolt::kMetaEnd) continue;
    bbolt::Store64(data.data() + at + bbolt::kMetaChecksumAt,
                   bbolt::MetaChecksum(data.data() + at));
  }
}

void ReadEverything(const std::string& path) {
  auto reader = BboltReader::Open(path);
  if (!reader.ok()) return;
  auto names = reader->Buckets();
  if (names.ok()) {
    uint64_t bytes = 0;
    for (const auto& name : *names) {
      Status s = reader->ForEach(name, [&](std::string_view k, std::string_view v) {
        bytes += k.size() + v.size();
        return Status::Ok();
      });
      (void)s;
    }
  }
  Status s = reader->Check();
  (void)s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One scratch file per fuzzing process, removed at exit.
  struct Scratch {
    std::string path = "/tmp/bbolt-fuzz-XXXXXX";
    Scratch() {
      int fd = ::mkstemp(path.data());
      if (fd >= 0) ::close(fd);
    }
    ~Scratch() { ::unlink(path.c_str()); }
  };
  static const Scratch scratch;
  const std::string& path = scratch.path;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size % 2 == 1) ResealMetas(bytes);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ReadEverything(path);
  return 0;
}
