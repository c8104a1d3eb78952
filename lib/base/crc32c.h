// CRC-32C (Castagnoli), the checksum of WAL records and snapshot files.
#pragma once

#include <cstdint>
#include <string_view>

namespace etcdd {

// Extends `crc` (the CRC-32C of earlier bytes, 0 for none) over `data` and
// returns the CRC-32C of the concatenation. Crc32c(Crc32c(0, a), b) ==
// Crc32c(0, a + b).
uint32_t Crc32c(uint32_t crc, std::string_view data);

}  // namespace etcdd
