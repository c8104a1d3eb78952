// kvdefrag's output: the dry-run plan and the report of a run, in the
// simple, table and json formats.
#include <nlohmann/json.hpp>

#include "base/go_text.h"
#include "cli/table_writer.h"
#include "kvdefrag.h"

namespace etcdd::kvdefrag {

namespace {

using defrag::MemberOutcome;
using defrag::PlanEntry;
using Json = nlohmann::ordered_json;

std::string Hex(uint64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lx", static_cast<unsigned long>(id));
  return buf;
}

std::string Role(const PlanEntry& e) { return e.member.is_leader() ? "leader" : "follower"; }

std::string Action(const PlanEntry& e) { return e.defrag ? "defrag" : "skip"; }

std::string Ratio(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", r);
  return buf;
}

std::string Size(int64_t bytes) { return HumanizeBytes(static_cast<uint64_t>(bytes)); }

std::string Seconds(std::chrono::nanoseconds d) {
  return GoDuration(std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

// The fields every member row has, plan or report.
Json PlanJson(const PlanEntry& e) {
  return Json{{"endpoint", e.member.endpoint},
              {"memberId", Hex(e.member.member_id)},
              {"role", Role(e)},
              {"dbSize", e.member.db_size},
              {"dbSizeInUse", e.member.db_size_in_use},
              {"freeRatio", defrag::FreeRatio(e.member)},
              {"action", Action(e)},
              {"reason", e.reason}};
}

std::vector<std::string> PlanRow(const PlanEntry& e) {
  return {e.member.endpoint,
          Hex(e.member.member_id),
          Role(e),
          Size(e.member.db_size),
          Size(e.member.db_size_in_use),
          Ratio(defrag::FreeRatio(e.member)),
          Action(e),
          e.reason};
}

const std::vector<std::string> kPlanHeader = {"endpoint",       "member id",  "role",   "db size",
                                              "db size in use", "free ratio", "action", "reason"};

std::string Summary(const defrag::Report& r) {
  int done = 0, skipped = 0, failed = 0;
  for (const auto& m : r.members) {
    done += m.state == MemberOutcome::State::kDone;
    skipped += m.state == MemberOutcome::State::kSkipped;
    failed += m.state == MemberOutcome::State::kFailed;
  }
  std::string s = "Defragmented " + std::to_string(done) + " of " +
                  std::to_string(r.members.size()) + " members (" + std::to_string(skipped) +
                  " skipped, " + std::to_string(failed) + " failed), freed " +
                  Size(std::max<int64_t>(r.freed_bytes(), 0)) + "\n";
  if (r.disarmed > 0) s += "Disarmed " + std::to_string(r.disarmed) + " NOSPACE alarm(s)\n";
  return s;
}

}  // namespace

void PrintPlan(const std::vector<PlanEntry>& plan, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    Json members = Json::array();
    for (const auto& e : plan) members.push_back(PlanJson(e));
    out << Json{{"dryRun", true}, {"members", members}}.dump() << "\n";
    return;
  }
  if (format == OutputFormat::kTable) {
    cli::TableWriter t;
    t.SetHeader(kPlanHeader);
    for (const auto& e : plan) t.Append(PlanRow(e));
    t.SetAlignment(cli::TableWriter::Align::kRight);
    out << t.Render();
    return;
  }
  for (const auto& e : plan) {
    out << e.member.endpoint << ", " << Hex(e.member.member_id) << ", " << Role(e) << ", "
        << Size(e.member.db_size) << ", " << Size(e.member.db_size_in_use) << ", "
        << Ratio(defrag::FreeRatio(e.member)) << ", " << Action(e) << " (" << e.reason << ")\n";
  }
}

void PrintOffline(const std::string& dir, const mvcc::DefragStats& stats, OutputFormat format,
                  std::ostream& out) {
  const auto before = static_cast<int64_t>(stats.db_size_before);
  const auto after = static_cast<int64_t>(stats.db_size_after);
  if (format == OutputFormat::kJson) {
    out << Json{{"dataDir", dir},
                {"dbSizeBefore", before},
                {"dbSizeAfter", after},
                {"tookSeconds", std::chrono::duration<double>(stats.took).count()}}
               .dump()
        << "\n";
  } else if (format == OutputFormat::kTable) {
    cli::TableWriter t;
    t.SetHeader({"data dir", "db size before", "db size after", "took"});
    t.Append({dir, Size(before), Size(after), Seconds(stats.took)});
    t.SetAlignment(cli::TableWriter::Align::kRight);
    out << t.Render();
  } else {
    out << "Finished defragmenting data dir[" << dir << "]: " << Size(before) << " -> "
        << Size(after) << " in " << Seconds(stats.took) << "\n";
  }
}

std::string OutcomeLine(const MemberOutcome& m) {
  const PlanEntry& e = m.entry;
  const std::string who =
      "member[" + e.member.endpoint + "] (" + Hex(e.member.member_id) + ", " + Role(e) + ")";
  switch (m.state) {
    case MemberOutcome::State::kDone:
      return "Finished defragmenting " + who + ": " + Size(e.member.db_size) + " -> " +
             Size(m.db_size_after) + " in " + Seconds(m.took) +
             (m.moved_leader ? " (leadership moved first)" : "");
    case MemberOutcome::State::kSkipped:
      return "Skipped " + who + ": " + e.reason;
    case MemberOutcome::State::kFailed:
      return "Failed to defragment " + who + " (" + m.error + ")";
    case MemberOutcome::State::kNotReached:
      return "Not reached " + who;
  }
  return "";
}

void PrintReport(const defrag::Report& r, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    Json members = Json::array();
    for (const auto& m : r.members) {
      Json j = PlanJson(m.entry);
      j["state"] = defrag::StateName(m.state);
      j["movedLeader"] = m.moved_leader;
      j["dbSizeAfter"] = m.db_size_after;
      j["dbSizeInUseAfter"] = m.db_size_in_use_after;
      j["tookSeconds"] = std::chrono::duration<double>(m.took).count();
      j["error"] = m.error;
      members.push_back(j);
    }
    out << Json{{"compactedRevision", r.compacted_revision},
                {"members", members},
                {"freedBytes", r.freed_bytes()},
                {"disarmed", r.disarmed},
                {"ok", r.ok()},
                {"error", r.error}}
               .dump()
        << "\n";
    return;
  }
  if (r.compacted_revision > 0) {
    out << "Compacted to revision " << r.compacted_revision << "\n";
  }
  if (format == OutputFormat::kTable) {
    cli::TableWriter t;
    t.SetHeader({"endpoint", "member id", "role", "state", "db size before", "db size after",
                 "took", "error"});
    for (const auto& m : r.members) {
      const bool done = m.state == MemberOutcome::State::kDone;
      t.Append({m.entry.member.endpoint, Hex(m.entry.member.member_id), Role(m.entry),
                defrag::StateName(m.state), Size(m.entry.member.db_size),
                done ? Size(m.db_size_after) : "", done ? Seconds(m.took) : "", m.error});
    }
    t.SetAlignment(cli::TableWriter::Align::kRight);
    out << t.Render();
  }
  out << Summary(r);
}

}  // namespace etcdd::kvdefrag
