// The cluster's alarms (etcd's etcdserver/api/v3alarm/alarms.go): which member
// raised which alarm (NOSPACE, CORRUPT). Alarms are raised and cleared through
// Raft (serverpb::InternalRequest.alarm), applied on every member, and kept in
// the backend's server metadata, one record per alarm:
//
//   "alarm/<16 hex digits member id>/<alarm type number>" -> a serialized
//   etcdserverpb.AlarmMember (which is also the key of etcd's `alarm` bucket)
//
// so they survive restarts and travel in snapshots.
//
// While an alarm is active the applier refuses requests as etcd's
// applierV3Capped (NOSPACE) and applierV3Corrupt (CORRUPT) do (applier.cc).
//
// Thread-safety: every method may be called from any thread; the writers
// (Activate, Deactivate, Reload) run on the apply thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "base/status.h"
#include "etcdserverpb/rpc.pb.h"
#include "mvcc/store.h"

namespace etcdd::server {

// Prefix of the alarm records in the backend's server metadata.
inline constexpr char kAlarmMetaPrefix[] = "alarm/";

// The server metadata key of `member`'s alarm of type `type`.
std::string AlarmMetaKey(uint64_t member, etcdserverpb::AlarmType type);

// etcd's ErrGRPCNoSpace: ResourceExhausted "etcdserver: mvcc: database space
// exceeded" (a request past --quota-backend-bytes, or refused while NOSPACE
// is raised).
Status ErrNoSpace();
// Whether `s` is ErrNoSpace (also what the backend returns when its map is
// full).
bool IsNoSpace(const Status& s);
// etcd's ErrGRPCCorrupt: DataLoss "etcdserver: corrupt cluster" (a write
// refused while CORRUPT is raised).
Status ErrCorrupt();

class AlarmStore {
 public:
  // Replaces the alarms in memory by those recorded in `store` (at start,
  // and after a snapshot install). Errors: Corruption naming the record;
  // IOError. On error the alarms in memory are unchanged.
  Status Reload(const mvcc::Store& store);

  // etcd's AlarmStore.Activate: records `member`'s alarm `type` in `txn`
  // unless already active, and returns it. `*first` is set when it is the
  // first active alarm of its type (etcd logs "alarm raised" and switches
  // the applier then). Errors: the backend's (ErrNoSpace, IOError); nothing
  // changes.
  Result<etcdserverpb::AlarmMember> Activate(mvcc::Store::WriteTxn& txn, uint64_t member,
                                             etcdserverpb::AlarmType type, bool* first);
  // etcd's AlarmStore.Deactivate: removes `member`'s alarm `type`; returns it,
  // or nullopt when it was not active. `*last` is set when no alarm of that
  // type remains. Errors: as Activate.
  Result<std::optional<etcdserverpb::AlarmMember>> Deactivate(mvcc::Store::WriteTxn& txn,
                                                              uint64_t member,
                                                              etcdserverpb::AlarmType type,
                                                              bool* last);
  // etcd's AlarmStore.Get: the active alarms of `type`, or all of them for
  // NONE, ordered by type then member id (etcd's order is a Go map's).
  std::vector<etcdserverpb::AlarmMember> Get(etcdserverpb::AlarmType type) const;
  // Whether an alarm of `type` is active (any member's).
  bool Active(etcdserverpb::AlarmType type) const;
  // Whether `member`'s alarm of `type` is active.
  bool Has(uint64_t member, etcdserverpb::AlarmType type) const;

 private:
  bool ActiveLocked(etcdserverpb::AlarmType type) const;  // mu_ held

  mutable std::mutex mu_;
  std::set<std::pair<int, uint64_t>> active_;  // (type, member); guarded by mu_
};

}  // namespace etcdd::server
