// Which backups a retention policy keeps: restic's `forget --keep-*` rules
// (restic's internal/restic/snapshot_policy.go), as a pure function.
//
// Backups are taken newest first. `last` keeps the `last` newest. Each
// calendar policy keeps, for each of the most recent N hours / days / ISO
// weeks / months that have at least one backup, the newest backup of that
// period; periods without backups do not count against N. A backup is kept
// when any policy keeps it (the union); the others are removed.
//
// Periods are calendar periods in UTC (backup names carry UTC times), so a
// policy gives the same answer on every machine. Weeks are ISO 8601 weeks
// (Monday to Sunday, numbered within their ISO week-based year).
//
// Whatever the policy, the newest backup is always kept ("never prune the
// newest good backup"); with every count zero the policy is empty and callers
// must refuse to apply it (restic: "no policy was specified").
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "backup/naming.h"

namespace etcdd::backup {

struct RetentionPolicy {
  int last = 0;     // the N newest backups
  int hourly = 0;   // the newest of each of the last N hours with backups
  int daily = 0;    // ... days
  int weekly = 0;   // ... ISO weeks
  int monthly = 0;  // ... months

  // True when every count is zero (nothing would be kept by the policy).
  bool empty() const {
    return last <= 0 && hourly <= 0 && daily <= 0 && weekly <= 0 && monthly <= 0;
  }
};

struct BackupRef {
  std::string name;  // identifies the backup (a file name); ties on time sort by it
  Seconds time{};    // UTC
};

struct RetentionDecision {
  BackupRef backup;
  bool keep = false;
  // Why it is kept: "last", "hourly", "daily", "weekly", "monthly", "newest".
  // Empty when it is removed.
  std::vector<std::string> reasons;
};

// Applies `policy` to `backups` (any order). Returns one decision per backup,
// newest first (time descending, then name descending). Negative counts are
// treated as zero. Never fails.
std::vector<RetentionDecision> ApplyRetention(std::vector<BackupRef> backups,
                                              const RetentionPolicy& policy);

// The ISO 8601 week of `t` (UTC) as year * 100 + week, e.g. 202053 for
// 2021-01-01 (ISO week 53 of 2020).
int IsoWeekKey(Seconds t);

}  // namespace etcdd::backup
