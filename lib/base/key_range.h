// Key range helpers shared by the server and the client tools.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace etcdd {

// etcd's range_end for every key starting with `prefix`
// (clientv3.GetPrefixRangeEnd): the prefix with its last byte below 0xff
// incremented and what follows dropped; "\0" (every key >= the start) when
// all its bytes are 0xff or it is empty.
std::string PrefixRangeEnd(std::string_view prefix);

}  // namespace etcdd
