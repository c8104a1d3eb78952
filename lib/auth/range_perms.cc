#include "auth/range_perms.h"

#include <algorithm>

namespace etcdd::auth {

namespace {

bool IsFromKey(std::string_view range_end) { return range_end.size() == 1 && range_end[0] == '\0'; }

}  // namespace

RangePerms RangePerms::Build(const std::vector<const authpb::Role*>& roles, bool write) {
  std::vector<Interval> all;
  for (const authpb::Role* role : roles) {
    for (const auto& p : role->keypermission()) {
      const bool granted =
          p.permtype() == authpb::Permission::READWRITE ||
          p.permtype() == (write ? authpb::Permission::WRITE : authpb::Permission::READ);
      if (!granted) continue;
      Interval iv{p.key(), p.range_end(), IsFromKey(p.range_end())};
      if (p.range_end().empty()) iv.end = p.key() + std::string(1, '\0');  // the one key
      if (!iv.unbounded && iv.end <= iv.begin) continue;                   // empty range
      all.push_back(std::move(iv));
    }
  }
  std::sort(all.begin(), all.end(),
            [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
  RangePerms perms;
  for (auto& iv : all) {
    if (!perms.merged_.empty()) {
      Interval& last = perms.merged_.back();
      if (last.unbounded || iv.begin <= last.end) {  // overlaps or touches
        if (iv.unbounded) {
          last.unbounded = true;
        } else if (!last.unbounded && iv.end > last.end) {
          last.end = std::move(iv.end);
        }
        continue;
      }
    }
    perms.merged_.push_back(std::move(iv));
  }
  return perms;
}

bool RangePerms::Covers(std::string_view key, std::string_view range_end) const {
  const bool unbounded = IsFromKey(range_end);
  std::string end = range_end.empty() ? std::string(key) + '\0' : std::string(range_end);
  if (!unbounded && end <= key) return false;  // etcd refuses empty ranges too
  // The merged intervals are disjoint and non-adjacent, so one must hold
  // the whole request: the last one starting at or before `key`.
  auto it = std::upper_bound(merged_.begin(), merged_.end(), key,
                             [](std::string_view k, const Interval& iv) { return k < iv.begin; });
  if (it == merged_.begin()) return false;
  const Interval& iv = *std::prev(it);
  if (iv.unbounded) return true;
  if (unbounded) return false;
  return end <= iv.end;
}

}  // namespace etcdd::auth
