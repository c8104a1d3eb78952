#include "server/alarms.h"

#include <cstdio>

namespace etcdd::server {

namespace pb = etcdserverpb;

std::string AlarmMetaKey(uint64_t member, pb::AlarmType type) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%016llx/%d", kAlarmMetaPrefix,
                static_cast<unsigned long long>(member), static_cast<int>(type));
  return buf;
}

Status ErrNoSpace() {
  return Status(Code::kResourceExhausted, "etcdserver: mvcc: database space exceeded");
}

bool IsNoSpace(const Status& s) {
  return s.code() == Code::kResourceExhausted && s.message() == ErrNoSpace().message();
}

Status ErrCorrupt() { return Status(Code::kDataLoss, "etcdserver: corrupt cluster"); }

Status AlarmStore::Reload(const mvcc::Store& store) {
  ASSIGN_OR_RETURN(auto records, store.ListMeta(kAlarmMetaPrefix));
  std::set<std::pair<int, uint64_t>> active;
  for (const auto& [key, value] : records) {
    pb::AlarmMember m;
    if (!m.ParseFromString(value) || AlarmMetaKey(m.memberid(), m.alarm()) != key) {
      return Status::Corruption("undecodable alarm record", "server database key " + key);
    }
    active.emplace(m.alarm(), m.memberid());
  }
  std::lock_guard lock(mu_);
  active_ = std::move(active);
  return Status::Ok();
}

Result<pb::AlarmMember> AlarmStore::Activate(mvcc::Store::WriteTxn& txn, uint64_t member,
                                             pb::AlarmType type, bool* first) {
  pb::AlarmMember m;
  m.set_memberid(member);
  m.set_alarm(type);
  *first = false;
  if (Has(member, type)) return m;
  RETURN_IF_ERROR(txn.PutMeta(AlarmMetaKey(member, type), m.SerializeAsString()));
  std::lock_guard lock(mu_);
  *first = !ActiveLocked(type);
  active_.emplace(type, member);
  return m;
}

Result<std::optional<pb::AlarmMember>> AlarmStore::Deactivate(mvcc::Store::WriteTxn& txn,
                                                              uint64_t member, pb::AlarmType type,
                                                              bool* last) {
  *last = false;
  if (!Has(member, type)) return std::optional<pb::AlarmMember>();
  RETURN_IF_ERROR(txn.DeleteMeta(AlarmMetaKey(member, type)));
  pb::AlarmMember m;
  m.set_memberid(member);
  m.set_alarm(type);
  std::lock_guard lock(mu_);
  active_.erase({type, member});
  *last = !ActiveLocked(type);
  return std::optional<pb::AlarmMember>(std::move(m));
}

std::vector<pb::AlarmMember> AlarmStore::Get(pb::AlarmType type) const {
  std::vector<pb::AlarmMember> out;
  std::lock_guard lock(mu_);
  for (const auto& [t, member] : active_) {
    if (type != pb::NONE && t != type) continue;
    auto& m = out.emplace_back();
    m.set_memberid(member);
    m.set_alarm(static_cast<pb::AlarmType>(t));
  }
  return out;
}

bool AlarmStore::Active(pb::AlarmType type) const {
  std::lock_guard lock(mu_);
  return ActiveLocked(type);
}

bool AlarmStore::ActiveLocked(pb::AlarmType type) const {
  auto it = active_.lower_bound({type, 0});
  return it != active_.end() && it->first == type;
}

bool AlarmStore::Has(uint64_t member, pb::AlarmType type) const {
  std::lock_guard lock(mu_);
  return active_.count({type, member}) != 0;
}

}  // namespace etcdd::server
