// The printer factory, the shared table rows, and the simple, protobuf and
// table formats (etcdctl's printer.go, printer_simple.go, printer_protobuf.go,
// printer_table.go).
#include "cli/printer.h"

#include <cstdio>

#include "cli/go_format.h"
#include "cli/printer_internal.h"
#include "cli/table_writer.h"

namespace etcdd::cli {

namespace internal {

namespace {

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& v, const char* sep) {
  std::string out;
  for (int i = 0; i < v.size(); ++i) out += (i > 0 ? sep : "") + v[i];
  return out;
}

std::string Bool(bool b) { return b ? "true" : "false"; }

// proto.CompactTextString of a header, which Go's %v prints for it: each
// non-zero field as "name:value " (trailing space included).
std::string CompactText(const etcdserverpb::ResponseHeader& h) {
  std::string s;
  auto field = [&s](const char* name, uint64_t v) {
    if (v != 0) s += std::string(name) + ":" + std::to_string(v) + " ";
  };
  field("cluster_id", h.cluster_id());
  field("member_id", h.member_id());
  if (h.revision() != 0) s += "revision:" + std::to_string(h.revision()) + " ";
  field("raft_term", h.raft_term());
  return s;
}

}  // namespace

Rows MemberListRows(const etcdserverpb::MemberListResponse& r) {
  Rows t{{"ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"}, {}};
  for (const auto& m : r.members()) {
    t.rows.push_back({IdToHex(m.id()), m.name().empty() ? "unstarted" : "started", m.name(),
                      Join(m.peerurls(), ","), Join(m.clienturls(), ","), Bool(m.islearner())});
  }
  return t;
}

Rows EndpointHealthRows(const std::vector<EndpointHealth>& list) {
  Rows t{{"endpoint", "health", "took", "error"}, {}};
  for (const auto& h : list) t.rows.push_back({h.endpoint, Bool(h.health), h.took, h.error});
  return t;
}

Rows EndpointStatusRows(const std::vector<EndpointStatus>& list) {
  Rows t{{"endpoint", "ID", "version", "db size", "is leader", "is learner", "raft term",
          "raft index", "raft applied index", "errors"},
         {}};
  for (const auto& e : list) {
    const auto& s = e.status;
    t.rows.push_back({e.endpoint, IdToHex(s.header().member_id()), s.version(),
                      HumanizeBytes(static_cast<uint64_t>(s.dbsize())),
                      Bool(s.leader() == s.header().member_id()), Bool(s.islearner()),
                      std::to_string(s.raftterm()), std::to_string(s.raftindex()),
                      std::to_string(s.raftappliedindex()), Join(s.errors(), ", ")});
  }
  return t;
}

Rows EndpointHashKVRows(const std::vector<EndpointHashKV>& list) {
  Rows t{{"endpoint", "hash"}, {}};
  for (const auto& h : list) t.rows.push_back({h.endpoint, std::to_string(h.hash.hash())});
  return t;
}

ExitStatus Unsupported(const std::string& format) {
  return ExitStatus::BadFeature(format + " not supported as output format");
}

namespace {

class SimplePrinter : public Printer {
 public:
  SimplePrinter(const PrinterOptions& o, std::ostream& out, std::ostream& err)
      : hex_(o.hex), value_only_(o.value_only), out_(out), err_(err) {}

  ExitStatus Get(const etcdserverpb::RangeResponse& r) override {
    for (const auto& kv : r.kvs()) PrintKv(kv);
    return ExitStatus::Ok();
  }
  ExitStatus Put(const etcdserverpb::PutResponse& r) override {
    out_ << "OK\n";
    if (r.has_prev_kv()) PrintKv(r.prev_kv());
    return ExitStatus::Ok();
  }
  ExitStatus Del(const etcdserverpb::DeleteRangeResponse& r) override {
    out_ << r.deleted() << "\n";
    for (const auto& kv : r.prev_kvs()) PrintKv(kv);
    return ExitStatus::Ok();
  }
  ExitStatus Txn(const etcdserverpb::TxnResponse& r) override {
    out_ << (r.succeeded() ? "SUCCESS\n" : "FAILURE\n");
    for (const auto& op : r.responses()) {
      out_ << "\n";
      if (op.has_response_delete_range()) {
        RETURN_IF_EXIT(Del(op.response_delete_range()));
      } else if (op.has_response_put()) {
        RETURN_IF_EXIT(Put(op.response_put()));
      } else if (op.has_response_range()) {
        RETURN_IF_EXIT(Get(op.response_range()));
      } else {
        out_ << "unexpected response " << op.ShortDebugString() << "\n";
      }
    }
    return ExitStatus::Ok();
  }
  ExitStatus MemberList(const etcdserverpb::MemberListResponse& r) override {
    PrintRows(MemberListRows(r));
    return ExitStatus::Ok();
  }
  ExitStatus Health(const std::vector<EndpointHealth>& list) override {
    for (const auto& h : list) {
      if (h.error.empty()) {
        err_ << h.endpoint << " is healthy: successfully committed proposal: took = " << h.took
             << "\n";
      } else {
        err_ << h.endpoint << " is unhealthy: failed to commit proposal: " << h.error << "\n";
      }
    }
    return ExitStatus::Ok();
  }
  ExitStatus Status(const std::vector<EndpointStatus>& list) override {
    PrintRows(EndpointStatusRows(list));
    return ExitStatus::Ok();
  }
  ExitStatus HashKV(const std::vector<EndpointHashKV>& list) override {
    PrintRows(EndpointHashKVRows(list));
    return ExitStatus::Ok();
  }
  ExitStatus MemberAdd(const etcdserverpb::MemberAddResponse& r) override {
    return Membership(r.member().id(), "added to", r.header());
  }
  ExitStatus MemberRemove(uint64_t id, const etcdserverpb::MemberRemoveResponse& r) override {
    return Membership(id, "removed from", r.header());
  }
  ExitStatus MemberUpdate(uint64_t id, const etcdserverpb::MemberUpdateResponse& r) override {
    return Membership(id, "updated in", r.header());
  }
  ExitStatus MemberPromote(uint64_t id, const etcdserverpb::MemberPromoteResponse& r) override {
    return Membership(id, "promoted in", r.header());
  }
  ExitStatus MoveLeader(uint64_t leader, uint64_t target,
                        const etcdserverpb::MoveLeaderResponse&) override {
    out_ << "Leadership transferred from " << IdToHex(leader) << " to " << IdToHex(target) << "\n";
    return ExitStatus::Ok();
  }
  ExitStatus Alarm(const etcdserverpb::AlarmResponse& r) override {
    for (const auto& a : r.alarms()) {
      const std::string name = a.alarm() == etcdserverpb::NONE ? "" : AlarmType_Name(a.alarm());
      out_ << AlarmMemberText(a.memberid(), name) << "\n";
    }
    return ExitStatus::Ok();
  }
  ExitStatus Watch(const etcdserverpb::WatchResponse& r) override {
    for (const auto& e : r.events()) {
      out_ << EventTypeName(e) << "\n";
      if (e.has_prev_kv()) PrintKv(e.prev_kv());
      PrintKv(e.kv());
    }
    return ExitStatus::Ok();
  }
  ExitStatus Grant(const etcdserverpb::LeaseGrantResponse& r) override {
    out_ << "lease " << LeaseHex(r.id()) << " granted with TTL(" << r.ttl() << "s)\n";
    return ExitStatus::Ok();
  }
  ExitStatus Revoke(int64_t id, const etcdserverpb::LeaseRevokeResponse&) override {
    out_ << "lease " << LeaseHex(id) << " revoked\n";
    return ExitStatus::Ok();
  }
  ExitStatus KeepAlive(const etcdserverpb::LeaseKeepAliveResponse& r) override {
    out_ << "lease " << LeaseHex(r.id()) << " keepalived with TTL(" << r.ttl() << ")\n";
    return ExitStatus::Ok();
  }
  ExitStatus TimeToLive(const etcdserverpb::LeaseTimeToLiveResponse& r, bool keys) override {
    if (r.grantedttl() == 0 && r.ttl() == -1) {
      out_ << "lease " << LeaseHex(r.id()) << " already expired\n";
      return ExitStatus::Ok();
    }
    out_ << "lease " << LeaseHex(r.id()) << " granted with TTL(" << r.grantedttl()
         << "s), remaining(" << r.ttl() << "s)";
    if (keys) {
      out_ << ", attached keys("
           << GoStringSlice(std::vector<std::string>(r.keys().begin(), r.keys().end())) << ")";
    }
    out_ << "\n";
    return ExitStatus::Ok();
  }
  ExitStatus Leases(const etcdserverpb::LeaseLeasesResponse& r) override {
    out_ << "found " << r.leases_size() << " leases\n";
    for (const auto& l : r.leases()) out_ << LeaseHex(l.id()) << "\n";
    return ExitStatus::Ok();
  }

 private:
  // "Member %16x <what> cluster %16x": ids space-padded to 16 hex digits.
  ExitStatus Membership(uint64_t id, const char* what, const etcdserverpb::ResponseHeader& h) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "Member %16llx %s cluster %16llx\n",
                  static_cast<unsigned long long>(id), what,
                  static_cast<unsigned long long>(h.cluster_id()));
    out_ << buf;
    return ExitStatus::Ok();
  }
  void PrintKv(const mvccpb::KeyValue& kv) {
    if (!value_only_) out_ << (hex_ ? HexEscaped(kv.key()) : kv.key()) << "\n";
    out_ << (hex_ ? HexEscaped(kv.value()) : kv.value()) << "\n";
  }
  void PrintRows(const Rows& t) {
    for (const auto& row : t.rows) {
      for (size_t i = 0; i < row.size(); ++i) out_ << (i > 0 ? ", " : "") << row[i];
      out_ << "\n";
    }
  }

  bool hex_;
  bool value_only_;
  std::ostream& out_;
  std::ostream& err_;
};

class ProtobufPrinter : public Printer {
 public:
  explicit ProtobufPrinter(std::ostream& out) : out_(out) {}
  ExitStatus Get(const etcdserverpb::RangeResponse& r) override { return Write(r); }
  ExitStatus Put(const etcdserverpb::PutResponse& r) override { return Write(r); }
  ExitStatus Del(const etcdserverpb::DeleteRangeResponse& r) override { return Write(r); }
  ExitStatus Txn(const etcdserverpb::TxnResponse& r) override { return Write(r); }
  ExitStatus MemberList(const etcdserverpb::MemberListResponse& r) override { return Write(r); }
  ExitStatus MemberAdd(const etcdserverpb::MemberAddResponse& r) override { return Write(r); }
  ExitStatus MemberRemove(uint64_t, const etcdserverpb::MemberRemoveResponse& r) override {
    return Write(r);
  }
  ExitStatus MemberUpdate(uint64_t, const etcdserverpb::MemberUpdateResponse& r) override {
    return Write(r);
  }
  ExitStatus MemberPromote(uint64_t, const etcdserverpb::MemberPromoteResponse& r) override {
    return Write(r);
  }
  ExitStatus Health(const std::vector<EndpointHealth>&) override { return Unsupported("protobuf"); }
  ExitStatus Status(const std::vector<EndpointStatus>&) override { return Unsupported("protobuf"); }
  ExitStatus HashKV(const std::vector<EndpointHashKV>&) override { return Unsupported("protobuf"); }
  ExitStatus MoveLeader(uint64_t, uint64_t, const etcdserverpb::MoveLeaderResponse& r) override {
    return Write(r);
  }
  ExitStatus Alarm(const etcdserverpb::AlarmResponse& r) override { return Write(r); }
  ExitStatus Watch(const etcdserverpb::WatchResponse& r) override {
    etcdserverpb::WatchResponse w;
    *w.mutable_header() = r.header();  // always present, as etcdctl points at it
    *w.mutable_events() = r.events();
    w.set_compact_revision(r.compact_revision());
    w.set_canceled(r.canceled());
    w.set_created(r.created());
    return Write(w);
  }
  // clientv3's lease structs marshal through their embedded header only.
  ExitStatus Grant(const etcdserverpb::LeaseGrantResponse& r) override { return Write(r.header()); }
  ExitStatus Revoke(int64_t, const etcdserverpb::LeaseRevokeResponse& r) override {
    const std::string header = r.has_header() ? CompactText(r.header()) : "<nil>";
    return ExitStatus::BadFeature("marshal unsupported for type clientv3.LeaseRevokeResponse ({" +
                                  header + "})");
  }
  ExitStatus KeepAlive(const etcdserverpb::LeaseKeepAliveResponse& r) override {
    return Write(r.header());
  }
  ExitStatus TimeToLive(const etcdserverpb::LeaseTimeToLiveResponse& r, bool) override {
    return Write(r.header());
  }
  ExitStatus Leases(const etcdserverpb::LeaseLeasesResponse& r) override {
    return Write(r.header());
  }

 private:
  ExitStatus Write(const google::protobuf::Message& m) {
    out_ << m.SerializeAsString();
    return ExitStatus::Ok();
  }
  std::ostream& out_;
};

class TablePrinter : public Printer {
 public:
  explicit TablePrinter(std::ostream& out) : out_(out) {}
  ExitStatus Get(const etcdserverpb::RangeResponse&) override { return Unsupported("table"); }
  ExitStatus Put(const etcdserverpb::PutResponse&) override { return Unsupported("table"); }
  ExitStatus Del(const etcdserverpb::DeleteRangeResponse&) override { return Unsupported("table"); }
  ExitStatus Txn(const etcdserverpb::TxnResponse&) override { return Unsupported("table"); }
  ExitStatus MemberList(const etcdserverpb::MemberListResponse& r) override {
    return Draw(MemberListRows(r));
  }
  ExitStatus Health(const std::vector<EndpointHealth>& list) override {
    return Draw(EndpointHealthRows(list));
  }
  ExitStatus Status(const std::vector<EndpointStatus>& list) override {
    return Draw(EndpointStatusRows(list));
  }
  ExitStatus HashKV(const std::vector<EndpointHashKV>& list) override {
    return Draw(EndpointHashKVRows(list));
  }
  ExitStatus MemberAdd(const etcdserverpb::MemberAddResponse&) override {
    return Unsupported("table");
  }
  ExitStatus MemberRemove(uint64_t, const etcdserverpb::MemberRemoveResponse&) override {
    return Unsupported("table");
  }
  ExitStatus MemberUpdate(uint64_t, const etcdserverpb::MemberUpdateResponse&) override {
    return Unsupported("table");
  }
  ExitStatus MemberPromote(uint64_t, const etcdserverpb::MemberPromoteResponse&) override {
    return Unsupported("table");
  }
  ExitStatus MoveLeader(uint64_t, uint64_t, const etcdserverpb::MoveLeaderResponse&) override {
    return Unsupported("table");
  }
  ExitStatus Alarm(const etcdserverpb::AlarmResponse&) override { return Unsupported("table"); }
  ExitStatus Watch(const etcdserverpb::WatchResponse&) override { return Unsupported("table"); }
  ExitStatus Grant(const etcdserverpb::LeaseGrantResponse&) override {
    return Unsupported("table");
  }
  ExitStatus Revoke(int64_t, const etcdserverpb::LeaseRevokeResponse&) override {
    return Unsupported("table");
  }
  ExitStatus KeepAlive(const etcdserverpb::LeaseKeepAliveResponse&) override {
    return Unsupported("table");
  }
  ExitStatus TimeToLive(const etcdserverpb::LeaseTimeToLiveResponse&, bool) override {
    return Unsupported("table");
  }
  ExitStatus Leases(const etcdserverpb::LeaseLeasesResponse&) override {
    return Unsupported("table");
  }

 private:
  ExitStatus Draw(const Rows& t) {
    TableWriter table;
    table.SetHeader(t.header);
    for (const auto& row : t.rows) table.Append(row);
    table.SetAlignment(TableWriter::Align::kRight);
    out_ << table.Render();
    return ExitStatus::Ok();
  }
  std::ostream& out_;
};

}  // namespace

std::unique_ptr<Printer> NewSimplePrinter(const PrinterOptions& o, std::ostream& out,
                                          std::ostream& err) {
  return std::make_unique<SimplePrinter>(o, out, err);
}

std::unique_ptr<Printer> NewProtobufPrinter(std::ostream& out) {
  return std::make_unique<ProtobufPrinter>(out);
}

std::unique_ptr<Printer> NewTablePrinter(std::ostream& out) {
  return std::make_unique<TablePrinter>(out);
}

}  // namespace internal

const char* EventTypeName(const mvccpb::Event& e) {
  return e.type() == mvccpb::Event::DELETE ? "DELETE" : "PUT";
}

ExitOr<std::unique_ptr<Printer>> NewPrinter(const PrinterOptions& options, std::ostream& out,
                                            std::ostream& err) {
  const std::string& f = options.format;
  if (f == "simple") return internal::NewSimplePrinter(options, out, err);
  if (f == "json") return internal::NewJsonPrinter(out);
  if (f == "fields") return internal::NewFieldsPrinter(out);
  if (f == "protobuf") return internal::NewProtobufPrinter(out);
  if (f == "table") return internal::NewTablePrinter(out);
  return ExitStatus::BadFeature("unsupported output format");
}

}  // namespace etcdd::cli
