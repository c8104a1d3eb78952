// kvdefrag: compaction and defragmentation of an etcd or etcdd cluster, one
// member at a time (lib/defrag/rolling.h), with etcdctl's global flags and
// environment variables (cli/global_flags.h). Without a subcommand it
// defragments; `version` and `completion bash|zsh|fish` are the others.
//
// Exit status: 0 when everything asked for was done (a dry run included),
// 1 on any failure, bad input included, so scripts need test only for 0.
//
// Thread-safety: none; one run per process.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "cli/global_flags.h"
#include "defrag/offline.h"
#include "defrag/rolling.h"

namespace etcdd::kvdefrag {

struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  bool err_is_terminal = false;  // progress lines are drawn only then
};

// -w: the output formats kvdefrag prints.
enum class OutputFormat { kSimple, kJson, kTable };

// The plan of a dry run: one row per member (endpoint, member id, role,
// sizes, free ratio, action and reason). json is one document,
// {"dryRun":true,"members":[...]}, with the field names of PlanJson.
void PrintPlan(const std::vector<defrag::PlanEntry>& plan, OutputFormat format, std::ostream& out);

// The outcome of a run: simple prints a line per member as it finishes
// (see ProgressPrinter) and here only the summary; table prints a row per
// member and the summary; json one document {"compactedRevision":..,
// "members":[...],"freedBytes":..,"disarmed":..,"ok":..,"error":".."}.
void PrintReport(const defrag::Report& report, OutputFormat format, std::ostream& out);

// The outcome of `kvdefrag --data-dir`: simple "Finished defragmenting data
// dir[DIR]: 1.2 MB -> 300 kB in 12ms"; json {"dataDir":..,"dbSizeBefore":..,
// "dbSizeAfter":..,"tookSeconds":..}; table the same fields as a row.
void PrintOffline(const std::string& dir, const mvcc::DefragStats& stats, OutputFormat format,
                  std::ostream& out);

// The line printed for a member once it is done (simple format), e.g.
// "Finished defragmenting member[127.0.0.1:2379] (8e9e05c52164694d, follower):
// 25 MB -> 12 MB in 1.2s".
std::string OutcomeLine(const defrag::MemberOutcome& m);

// The whole program: parses `args` (argv, program name first), runs, prints
// "Error: ..." on failure, and returns the exit code (0 or 1).
int RunKvdefrag(std::vector<std::string> args, cli::Environment env, Io io);

}  // namespace etcdd::kvdefrag
