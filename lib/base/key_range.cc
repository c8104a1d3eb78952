#include "base/key_range.h"

namespace etcdd {

std::string PrefixRangeEnd(std::string_view prefix) {
  std::string end(prefix);
  for (size_t i = end.size(); i-- > 0;) {
    if (static_cast<unsigned char>(end[i]) < 0xff) {
      end[i] = static_cast<char>(static_cast<unsigned char>(end[i]) + 1);
      end.resize(i + 1);
      return end;
    }
  }
  // Every byte is 0xff: there is no upper bound, so range to the end.
  return std::string(1, '\0');
}

}  // namespace etcdd
