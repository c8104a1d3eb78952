// Printers for command results in etcdctl's output formats (`-w`).
//
// Each format prints exactly what etcdctl 3.4 prints for the same response
// (etcdctl/ctlv3/command/printer_*.go), byte for byte, so a script written
// against etcdctl reads kvctl's output unchanged:
//
//   simple    human-readable lines: "OK", key and value on separate lines,
//             comma-separated member and endpoint rows (member ids in hex).
//   json      one line of Go's encoding/json of the gogo response structs:
//             snake_case field names as in the .proto, zero fields omitted,
//             keys and values base64, ids as decimal numbers.
//   fields    one `"Name" : value` line per field, strings Go-quoted.
//   protobuf  the response's protobuf encoding, no newline.
//   table     bordered tables; only for member list and endpoint results.
//
// A format that cannot print a result fails with ExitCode::kBadFeature and
// "<format> not supported as output format", as etcdctl does; nothing has
// been written to the streams in that case.
//
// Thread-safety: a Printer writes to the streams it was given; use one per
// thread.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "cli/exit_status.h"
#include "etcdserverpb/rpc.pb.h"

namespace etcdd::cli {

// One row of `endpoint health` (etcdctl's epHealth).
struct EndpointHealth {
  std::string endpoint;
  bool health = false;
  std::string took;   // Go duration string, e.g. "1.693109ms"; empty if never tried
  std::string error;  // empty when healthy
};

// One row of `endpoint status` (etcdctl's epStatus).
struct EndpointStatus {
  std::string endpoint;
  etcdserverpb::StatusResponse status;
};

// One row of `endpoint hashkv` (etcdctl's epHashKV).
struct EndpointHashKV {
  std::string endpoint;
  etcdserverpb::HashKVResponse hash;
};

struct PrinterOptions {
  std::string format = "simple";  // simple, json, fields, protobuf, table
  bool hex = false;               // --hex: keys and values as "\xNN" in simple output
  bool value_only = false;        // get --print-value-only (simple only)
};

class Printer {
 public:
  virtual ~Printer() = default;

  virtual ExitStatus Get(const etcdserverpb::RangeResponse& r) = 0;
  virtual ExitStatus Put(const etcdserverpb::PutResponse& r) = 0;
  virtual ExitStatus Del(const etcdserverpb::DeleteRangeResponse& r) = 0;
  virtual ExitStatus Txn(const etcdserverpb::TxnResponse& r) = 0;
  virtual ExitStatus MemberList(const etcdserverpb::MemberListResponse& r) = 0;
  // The membership changes; `id` is the member the command named. The simple
  // format prints one line ("Member %16x added to cluster %16x"); the
  // ETCD_* lines that etcdctl prints after it are the command's. fields and
  // table do not support them (etcdctl's printers fail only after the change
  // was made, and so do the commands that use these).
  virtual ExitStatus MemberAdd(const etcdserverpb::MemberAddResponse& r) = 0;
  virtual ExitStatus MemberRemove(uint64_t id, const etcdserverpb::MemberRemoveResponse& r) = 0;
  virtual ExitStatus MemberUpdate(uint64_t id, const etcdserverpb::MemberUpdateResponse& r) = 0;
  virtual ExitStatus MemberPromote(uint64_t id, const etcdserverpb::MemberPromoteResponse& r) = 0;
  // The simple format writes health lines to the error stream, as etcdctl.
  virtual ExitStatus Health(const std::vector<EndpointHealth>& list) = 0;
  virtual ExitStatus Status(const std::vector<EndpointStatus>& list) = 0;
  // Not supported by protobuf, as in etcdctl.
  virtual ExitStatus HashKV(const std::vector<EndpointHashKV>& list) = 0;
  // "Leadership transferred from <leader> to <target>" (ids in hex) in the
  // simple format; json and protobuf print the response; fields and table do
  // not support it.
  virtual ExitStatus MoveLeader(uint64_t leader, uint64_t target,
                                const etcdserverpb::MoveLeaderResponse& r) = 0;
  // alarm list / disarm: simple prints each alarm as gogoproto's String()
  // ("memberID:<id> alarm:NOSPACE "); json {"alarms":[{"memberID":..,
  // "alarm":1}]} (no header: etcd sends none); fields the header (zeros,
  // where etcdctl 3.4 crashes on the missing header) then "MemberID" and
  // "AlarmType" per alarm; protobuf the response; table is not supported.
  virtual ExitStatus Alarm(const etcdserverpb::AlarmResponse& r) = 0;

  // One watch response as clientv3 hands it to etcdctl: header, events,
  // compact_revision, canceled and created (watch_id, cancel_reason and
  // fragment are not printed). simple: per event its type ("PUT",
  // "DELETE"), the previous key-value if the event has one, then the
  // key-value; json: Go's encoding of clientv3.WatchResponse
  // ({"Header":..,"Events":[..],"CompactRevision":..,"Canceled":..,
  // "Created":..}); a response without a header is the one a client makes up
  // when its stream fails (clientv3's closeErr response) and prints its nil
  // events as `"Events":null`. protobuf: the etcdserverpb.WatchResponse with
  // those fields. table: not supported.
  virtual ExitStatus Watch(const etcdserverpb::WatchResponse& r) = 0;

  // The lease commands. Lease ids print as "%016x" in the simple format and
  // as decimal numbers elsewhere. etcdctl's json and fields print clientv3's
  // lease structs, whose header fields are inlined ({"cluster_id":..,
  // "ID":..,"TTL":..,"Error":""}); its protobuf format marshals only their
  // embedded header, and cannot marshal a revoke response at all
  // (kBadFeature "marshal unsupported for type clientv3.LeaseRevokeResponse
  // (...)"). table supports none of them.
  //
  // "lease <id> granted with TTL(<ttl>s)".
  virtual ExitStatus Grant(const etcdserverpb::LeaseGrantResponse& r) = 0;
  // "lease <id> revoked"; `id` is the lease the command named.
  virtual ExitStatus Revoke(int64_t id, const etcdserverpb::LeaseRevokeResponse& r) = 0;
  // "lease <id> keepalived with TTL(<ttl>)".
  virtual ExitStatus KeepAlive(const etcdserverpb::LeaseKeepAliveResponse& r) = 0;
  // "lease <id> granted with TTL(<g>s), remaining(<ttl>s)" plus
  // ", attached keys([k1 k2])" when `keys` (timetolive --keys); "lease <id>
  // already expired" for an unknown lease (granted TTL 0, TTL -1).
  virtual ExitStatus TimeToLive(const etcdserverpb::LeaseTimeToLiveResponse& r, bool keys) = 0;
  // "found <n> leases", then one id per line.
  virtual ExitStatus Leases(const etcdserverpb::LeaseLeasesResponse& r) = 0;
};

// An event's type as Go prints mvccpb.Event_EventType: "PUT" or "DELETE".
const char* EventTypeName(const mvccpb::Event& e);

// A printer for `options.format` writing results to `out` (and, for the
// simple endpoint health lines, to `err`). Errors: kBadFeature "unsupported
// output format" for an unknown format name.
ExitOr<std::unique_ptr<Printer>> NewPrinter(const PrinterOptions& options, std::ostream& out,
                                            std::ostream& err);

}  // namespace etcdd::cli
