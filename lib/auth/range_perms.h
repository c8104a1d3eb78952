// Key-range permissions: whether the union of a user's granted ranges covers
// a requested key or range (etcd 3.4 auth/range_perm_cache.go, which merges
// the ranges of every role of the user into one interval set).
//
// Ranges use etcd's encoding: an empty range_end is the single key `key`;
// range_end "\0" is every key >= key (from-key); otherwise [key, range_end).
//
// Thread-safety: a RangePerms is immutable after Build; Covers is const.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "authpb/auth.pb.h"

namespace etcdd::auth {

class RangePerms {
 public:
  // The READ (`write` false) or WRITE (`write` true) ranges granted by
  // `roles`; READWRITE counts for both.
  static RangePerms Build(const std::vector<const authpb::Role*>& roles, bool write);

  // Whether every key of the request range (key, range_end), in etcd's
  // encoding above, lies in some granted range. Adjacent or overlapping
  // grants combine: [a, c) and [c, e) together cover [b, d).
  bool Covers(std::string_view key, std::string_view range_end) const;

 private:
  // Half-open [begin, end); `unbounded` means end is +infinity.
  struct Interval {
    std::string begin;
    std::string end;
    bool unbounded = false;
  };
  std::vector<Interval> merged_;  // sorted by begin, disjoint, non-adjacent
};

}  // namespace etcdd::auth
