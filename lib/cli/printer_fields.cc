// The fields format (etcdctl's printer_fields.go): one `"Name" : value` line
// per field; strings Go-quoted (%q), lists as Go prints a []string.
#include <string>

#include "cli/go_format.h"
#include "cli/printer_internal.h"

namespace etcdd::cli::internal {

namespace {

const char* Bool(bool b) { return b ? "true" : "false"; }

class FieldsPrinter : public Printer {
 public:
  explicit FieldsPrinter(std::ostream& out) : out_(out) {}

  ExitStatus Get(const etcdserverpb::RangeResponse& r) override {
    PrintHeader(r.header());
    for (const auto& kv : r.kvs()) PrintKv("", kv);
    out_ << "\"More\" : " << Bool(r.more()) << "\n";
    out_ << "\"Count\" : " << r.count() << "\n";
    return ExitStatus::Ok();
  }
  ExitStatus Put(const etcdserverpb::PutResponse& r) override {
    PrintHeader(r.header());
    if (r.has_prev_kv()) PrintKv("Prev", r.prev_kv());
    return ExitStatus::Ok();
  }
  ExitStatus Del(const etcdserverpb::DeleteRangeResponse& r) override {
    PrintHeader(r.header());
    out_ << "\"Deleted\" : " << r.deleted() << "\n";
    for (const auto& kv : r.prev_kvs()) PrintKv("Prev", kv);
    return ExitStatus::Ok();
  }
  ExitStatus Txn(const etcdserverpb::TxnResponse& r) override;
  ExitStatus MemberList(const etcdserverpb::MemberListResponse& r) override;
  ExitStatus Health(const std::vector<EndpointHealth>& list) override {
    for (const auto& h : list) {
      out_ << "\"Endpoint\" : " << GoQuote(h.endpoint) << "\n";
      out_ << "\"Health\" : " << Bool(h.health) << "\n";
      out_ << "\"Took\" : " << h.took << "\n";
      out_ << "\"Error\" : " << h.error << "\n\n";
    }
    return ExitStatus::Ok();
  }
  ExitStatus Status(const std::vector<EndpointStatus>& list) override;
  ExitStatus HashKV(const std::vector<EndpointHashKV>& list) override {
    for (const auto& h : list) {
      PrintHeader(h.hash.header());
      out_ << "\"Endpoint\" : " << GoQuote(h.endpoint) << "\n";
      out_ << "\"Hash\" : " << h.hash.hash() << "\n\n";
    }
    return ExitStatus::Ok();
  }
  ExitStatus Watch(const etcdserverpb::WatchResponse& r) override {
    PrintHeader(r.header());
    for (const auto& e : r.events()) {
      out_ << "\"Type\" : " << EventTypeName(e) << "\n";
      if (e.has_prev_kv()) PrintKv("Prev", e.prev_kv());
      PrintKv("", e.kv());
    }
    return ExitStatus::Ok();
  }
  ExitStatus Grant(const etcdserverpb::LeaseGrantResponse& r) override {
    PrintHeader(r.header());
    out_ << "\"ID\" : " << r.id() << "\n";
    out_ << "\"TTL\" : " << r.ttl() << "\n";
    return ExitStatus::Ok();
  }
  ExitStatus Revoke(int64_t, const etcdserverpb::LeaseRevokeResponse& r) override {
    PrintHeader(r.header());
    return ExitStatus::Ok();
  }
  ExitStatus KeepAlive(const etcdserverpb::LeaseKeepAliveResponse& r) override {
    PrintHeader(r.header());
    out_ << "\"ID\" : " << r.id() << "\n";
    out_ << "\"TTL\" : " << r.ttl() << "\n";
    return ExitStatus::Ok();
  }
  ExitStatus TimeToLive(const etcdserverpb::LeaseTimeToLiveResponse& r, bool) override {
    PrintHeader(r.header());
    out_ << "\"ID\" : " << r.id() << "\n";
    out_ << "\"TTL\" : " << r.ttl() << "\n";
    out_ << "\"GrantedTTL\" : " << r.grantedttl() << "\n";
    for (const auto& k : r.keys()) out_ << "\"Key\" : " << GoQuote(k) << "\n";
    return ExitStatus::Ok();
  }
  ExitStatus Leases(const etcdserverpb::LeaseLeasesResponse& r) override {
    PrintHeader(r.header());
    for (const auto& l : r.leases()) out_ << "\"ID\" : " << l.id() << "\n";
    return ExitStatus::Ok();
  }
  // etcdctl's fields printer has no form for membership changes and leader
  // moves.
  ExitStatus MemberAdd(const etcdserverpb::MemberAddResponse&) override {
    return Unsupported("fields");
  }
  ExitStatus MemberRemove(uint64_t, const etcdserverpb::MemberRemoveResponse&) override {
    return Unsupported("fields");
  }
  ExitStatus MemberUpdate(uint64_t, const etcdserverpb::MemberUpdateResponse&) override {
    return Unsupported("fields");
  }
  ExitStatus MemberPromote(uint64_t, const etcdserverpb::MemberPromoteResponse&) override {
    return Unsupported("fields");
  }
  ExitStatus MoveLeader(uint64_t, uint64_t, const etcdserverpb::MoveLeaderResponse&) override {
    return Unsupported("fields");
  }
  ExitStatus Alarm(const etcdserverpb::AlarmResponse& r) override {
    PrintHeader(r.header());
    for (const auto& a : r.alarms()) {
      out_ << "\"MemberID\" : " << a.memberid() << "\n";
      // Go prints the enum's name, or its number when it has none.
      const std::string& name = etcdserverpb::AlarmType_Name(a.alarm());
      out_ << "\"AlarmType\" : " << (name.empty() ? std::to_string(a.alarm()) : name) << "\n\n";
    }
    return ExitStatus::Ok();
  }

 private:
  // A response without a header prints zeros, as Go's nil-safe getters do.
  void PrintHeader(const etcdserverpb::ResponseHeader& h) {
    out_ << "\"ClusterID\" : " << h.cluster_id() << "\n";
    out_ << "\"MemberID\" : " << h.member_id() << "\n";
    out_ << "\"Revision\" : " << h.revision() << "\n";
    out_ << "\"RaftTerm\" : " << h.raft_term() << "\n";
  }
  void PrintKv(const std::string& prefix, const mvccpb::KeyValue& kv) {
    out_ << "\"" << prefix << "Key\" : " << GoQuote(kv.key()) << "\n";
    out_ << "\"" << prefix << "CreateRevision\" : " << kv.create_revision() << "\n";
    out_ << "\"" << prefix << "ModRevision\" : " << kv.mod_revision() << "\n";
    out_ << "\"" << prefix << "Version\" : " << kv.version() << "\n";
    out_ << "\"" << prefix << "Value\" : " << GoQuote(kv.value()) << "\n";
    out_ << "\"" << prefix << "Lease\" : " << kv.lease() << "\n";
  }

  std::ostream& out_;
};

ExitStatus FieldsPrinter::Txn(const etcdserverpb::TxnResponse& r) {
  PrintHeader(r.header());
  out_ << "\"Succeeded\" : " << Bool(r.succeeded()) << "\n";
  for (const auto& op : r.responses()) {
    if (op.has_response_delete_range()) {
      RETURN_IF_EXIT(Del(op.response_delete_range()));
    } else if (op.has_response_put()) {
      RETURN_IF_EXIT(Put(op.response_put()));
    } else if (op.has_response_range()) {
      RETURN_IF_EXIT(Get(op.response_range()));
    } else {
      out_ << "\"Unknown\" : " << GoQuote(op.ShortDebugString()) << "\n";
    }
  }
  return ExitStatus::Ok();
}

ExitStatus FieldsPrinter::MemberList(const etcdserverpb::MemberListResponse& r) {
  PrintHeader(r.header());
  for (const auto& m : r.members()) {
    out_ << "\"ID\" : " << m.id() << "\n";
    out_ << "\"Name\" : " << GoQuote(m.name()) << "\n";
    for (const auto& u : m.peerurls()) out_ << "\"PeerURL\" : " << GoQuote(u) << "\n";
    for (const auto& u : m.clienturls()) out_ << "\"ClientURL\" : " << GoQuote(u) << "\n";
    out_ << "\"IsLearner\" : " << Bool(m.islearner()) << "\n\n";
  }
  return ExitStatus::Ok();
}

ExitStatus FieldsPrinter::Status(const std::vector<EndpointStatus>& list) {
  for (const auto& e : list) {
    const auto& s = e.status;
    PrintHeader(s.header());
    out_ << "\"Version\" : " << GoQuote(s.version()) << "\n";
    out_ << "\"DBSize\" : " << s.dbsize() << "\n";
    out_ << "\"Leader\" : " << s.leader() << "\n";
    out_ << "\"IsLearner\" : " << Bool(s.islearner()) << "\n";
    out_ << "\"RaftIndex\" : " << s.raftindex() << "\n";
    out_ << "\"RaftTerm\" : " << s.raftterm() << "\n";
    out_ << "\"RaftAppliedIndex\" : " << s.raftappliedindex() << "\n";
    out_ << "\"Errors\" : "
         << GoStringSlice(std::vector<std::string>(s.errors().begin(), s.errors().end())) << "\n";
    out_ << "\"Endpoint\" : " << GoQuote(e.endpoint) << "\n\n";
  }
  return ExitStatus::Ok();
}

}  // namespace

std::unique_ptr<Printer> NewFieldsPrinter(std::ostream& out) {
  return std::make_unique<FieldsPrinter>(out);
}

}  // namespace etcdd::cli::internal
