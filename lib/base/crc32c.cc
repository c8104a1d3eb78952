#include "base/crc32c.h"

#include <boost/crc.hpp>

namespace etcdd {

namespace {
uint32_t ReverseBits(uint32_t x) {
  uint32_t r = 0;
  for (int i = 0; i < 32; ++i, x >>= 1) r = (r << 1) | (x & 1);
  return r;
}
}  // namespace

uint32_t Crc32c(uint32_t crc, std::string_view data) {
  // Boost takes the initial remainder unreflected and before the final XOR;
  // undoing both on the previous checksum continues it.
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> c(
      ReverseBits(crc ^ 0xFFFFFFFFu));
  c.process_bytes(data.data(), data.size());
  return c.checksum();
}

}  // namespace etcdd
