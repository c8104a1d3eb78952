// etcd's backend schema: the bucket names, keys and value encodings that an
// etcd 3.4/3.5 bbolt backend (and so an `etcdctl snapshot save` file) holds,
// and their mapping to and from etcdd's own records. Used to export a
// snapshot in etcd's format (etcd_snapshot.h) and to import one.
//
// Each encoding mirrors one etcd source file (paths in etcd 3.4's tree unless
// said otherwise):
//
// | bucket            | key                        | value                             | etcd
// source | | ----------------- | -------------------------- | --------------------------------- |
// ----------- | | `key`             | 17/18-byte revision        | mvccpb.KeyValue (as lib/mvcc) |
// mvcc/kvstore.go, revision.go | | `meta`            | `consistent_index`, `term` | 8 bytes
// big-endian                | mvcc/kvstore.go; `term` since 3.5 (server/mvcc/buckets) | | `meta` |
// `scheduledCompactRev`, `finishedCompactRev` | 17-byte revision (main, sub 0) | mvcc/kvstore.go |
// | `meta`            | `confState`                | JSON of raftpb.ConfState          | 3.5
// server/etcdserver/api/membership/confstate.go | | `lease`           | lease id, 8 bytes
// big-endian | leasepb.Lease                   | lease/lessor.go, lease/leasepb/lease.proto | |
// `members`         | member id, lowercase hex, no padding (types.ID.String) | JSON of
// membership.Member | etcdserver/api/membership/store.go, member.go | | `members_removed` | member
// id, as above        | `removed`                         | etcdserver/api/membership/store.go | |
// `cluster`         | `clusterVersion`           | e.g. `3.4.0`                      |
// etcdserver/api/membership/store.go | | `alarm`           | marshaled AlarmMember      | empty |
// etcdserver/api/v3alarm/alarms.go | | `auth`            | `authEnabled`, `authRevision` |
// 0x01/0x00; 8 bytes big-endian  | auth/store.go | | `authUsers`, `authRoles` | name | authpb.User
// / authpb.Role         | auth/store.go |
//
// Thread-safety: pure functions and constants.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "raftpb/raft.pb.h"
#include "serverpb/internal.pb.h"

namespace etcdd::server::etcd_schema {

// Bucket names.
inline constexpr std::string_view kKeyBucket = "key";
inline constexpr std::string_view kMetaBucket = "meta";
inline constexpr std::string_view kLeaseBucket = "lease";
inline constexpr std::string_view kMembersBucket = "members";
inline constexpr std::string_view kMembersRemovedBucket = "members_removed";
inline constexpr std::string_view kClusterBucket = "cluster";
inline constexpr std::string_view kAlarmBucket = "alarm";
inline constexpr std::string_view kAuthBucket = "auth";
inline constexpr std::string_view kAuthUsersBucket = "authUsers";
inline constexpr std::string_view kAuthRolesBucket = "authRoles";

// Every bucket an etcd 3.4 server creates, in bbolt's order (bytewise by
// name), which is the order Backend.Hash and `snapshot status` visit them.
inline constexpr std::array<std::string_view, 10> kAllBuckets = {
    kAlarmBucket, kAuthBucket,  kAuthRolesBucket, kAuthUsersBucket,      kClusterBucket,
    kKeyBucket,   kLeaseBucket, kMembersBucket,   kMembersRemovedBucket, kMetaBucket};

// Keys of the `meta` bucket.
inline constexpr std::string_view kConsistentIndexKey = "consistent_index";
inline constexpr std::string_view kTermKey = "term";  // etcd 3.5
inline constexpr std::string_view kScheduledCompactKey = "scheduledCompactRev";
inline constexpr std::string_view kFinishedCompactKey = "finishedCompactRev";
inline constexpr std::string_view kConfStateKey = "confState";  // etcd 3.5
// Key of the `cluster` bucket.
inline constexpr std::string_view kClusterVersionKey = "clusterVersion";
// The cluster version etcd 3.4 records (semver String() of major.minor.0).
inline constexpr std::string_view kClusterVersion34 = "3.4.0";
// Keys of the `auth` bucket.
inline constexpr std::string_view kAuthEnabledKey = "authEnabled";
inline constexpr std::string_view kAuthRevisionKey = "authRevision";
// The value of every `members_removed` entry.
inline constexpr std::string_view kRemovedValue = "removed";

// Whether Maintenance.Hash leaves (bucket, key) out (etcd's DefaultIgnores).
// etcd 3.4 ignores meta/consistent_index; 3.5 also meta/term, a key 3.4 does
// not have. Both are ignored here, so the hash of our representation equals
// 3.4's hash of the same state written without `term` and 3.5's hash of it
// with, and two members at the same revision agree even when they applied a
// different number of entries that change no data.
bool HashIgnores(std::string_view bucket, std::string_view key);

// 8-byte big-endian unsigned integer: meta `consistent_index` and `term`,
// auth `authRevision`. Decode errors: InvalidArgument unless 8 bytes.
std::string EncodeUint64(uint64_t v);
Result<uint64_t> DecodeUint64(std::string_view b);

// A compaction mark (meta `scheduledCompactRev`/`finishedCompactRev`): the
// 17-byte revision (main, 0). Decode errors: InvalidArgument unless a
// 17-byte revision; the sub revision is ignored.
std::string EncodeCompactRevision(int64_t main);
Result<int64_t> DecodeCompactRevision(std::string_view b);

// `auth`/`authEnabled`: one byte, 1 enabled, 0 disabled (auth/store.go).
// Decode: true only for exactly "\x01", as etcd's bytes.Equal check.
std::string EncodeAuthEnabled(bool enabled);
bool DecodeAuthEnabled(std::string_view b);

// A `members`/`members_removed` key: the id as lowercase hex without leading
// zeros (types.ID.String, strconv.FormatUint(id, 16)). Decode accepts 1..16
// hex digits of either case (types.IDFromString). Errors: InvalidArgument.
std::string MemberKey(uint64_t id);
Result<uint64_t> DecodeMemberKey(std::string_view key);

// A `members` value: json.Marshal of membership.Member, fields in Go's order
// with its omitempty rules and Go's string escaping:
//   {"id":<uint64>,"peerURLs":[...],"isLearner":true,"name":"..","clientURLs":[...]}
// peerURLs is always present (null when empty, a nil Go slice); isLearner
// only when true, name and clientURLs only when non-empty (an unpublished
// member has neither). Decode accepts any field order, absent optional fields
// and unknown fields (encoding/json ignores them). Errors: InvalidArgument for
// text that is not such a JSON object (bad JSON, a field of the wrong type, a
// missing or non-integer id).
std::string EncodeMember(const serverpb::Member& m);
Result<serverpb::Member> DecodeMember(std::string_view json);

// A `lease` key: the lease id as 8 bytes big-endian (lessor.go int64ToBytes).
// Decode errors: InvalidArgument unless 8 bytes.
std::string LeaseKey(int64_t id);
Result<int64_t> DecodeLeaseKey(std::string_view key);

// A `lease` value: leasepb.Lease {ID = 1, TTL = 2, RemainingTTL = 3, all
// int64}. serverpb::LeaseRecord has the same field numbers and types, so its
// serialization is leasepb's bytes (proto3: zero fields omitted, fields in
// number order, as gogoproto's Marshal). Decode errors: InvalidArgument for
// bytes that do not parse.
std::string EncodeLease(const serverpb::LeaseRecord& lease);
Result<serverpb::LeaseRecord> DecodeLease(std::string_view b);

// meta `confState` (etcd 3.5): json.Marshal of raftpb.ConfState, e.g.
// {"voters":[1,2],"learners":[3],"auto_leave":false}: voters, learners,
// voters_outgoing, learners_next omitted when empty, auto_leave always
// written. Decode errors: InvalidArgument for bad JSON or types, and for a
// joint configuration (voters_outgoing, learners_next or auto_leave set),
// which etcdd's ConfState cannot hold.
std::string EncodeConfState(const raftpb::ConfState& cs);
Result<raftpb::ConfState> DecodeConfState(std::string_view json);

}  // namespace etcdd::server::etcd_schema
