// Retention: restic's --keep-* rules, as a table of backups x policies ->
// the backups that survive.
#include "backup/retention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace etcdd::backup {
namespace {

// "2024-01-15T10:30:00Z" -> time.
Seconds T(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

struct Case {
  const char* name;
  std::vector<const char*> backups;  // times; a backup's name is its time
  RetentionPolicy policy;
  std::set<std::string> survivors;
};

std::set<std::string> Survivors(const Case& c) {
  std::vector<BackupRef> refs;
  for (const char* t : c.backups) refs.push_back({t, T(t)});
  std::set<std::string> kept;
  for (const auto& d : ApplyRetention(refs, c.policy)) {
    if (d.keep) kept.insert(d.backup.name);
  }
  return kept;
}

const std::vector<const char*> kHourlyRun = {
    "2024-03-10T08:00:00Z", "2024-03-10T08:30:00Z", "2024-03-10T09:10:00Z",
    "2024-03-10T09:50:00Z", "2024-03-10T11:05:00Z",  // no backup at 10:xx
};

const std::vector<const char*> kDailyRun = {
    "2024-02-27T01:00:00Z", "2024-02-28T01:00:00Z", "2024-02-28T23:00:00Z",
    "2024-02-29T01:00:00Z", "2024-03-01T01:00:00Z", "2024-03-01T13:00:00Z",
};

// ISO weeks: 2020-12-28 (Mon) .. 2021-01-03 (Sun) is 2020-W53.
const std::vector<const char*> kWeeklyRun = {
    "2020-12-20T00:00:00Z",  // 2020-W51 (Sunday)
    "2020-12-21T00:00:00Z",  // 2020-W52 (Monday)
    "2020-12-27T12:00:00Z",  // 2020-W52 (Sunday)
    "2020-12-28T00:00:00Z",  // 2020-W53
    "2021-01-03T23:59:59Z",  // 2020-W53 (Sunday)
    "2021-01-04T00:00:00Z",  // 2021-W01
};

const std::vector<Case> kCases = {
    {"last keeps the N newest",
     kHourlyRun,
     {.last = 2},
     {"2024-03-10T11:05:00Z", "2024-03-10T09:50:00Z"}},
    {"last larger than the set keeps all",
     kHourlyRun,
     {.last = 10},
     {kHourlyRun.begin(), kHourlyRun.end()}},
    {"hourly keeps the newest of each hour with backups",
     kHourlyRun,
     {.hourly = 3},
     {"2024-03-10T11:05:00Z", "2024-03-10T09:50:00Z", "2024-03-10T08:30:00Z"}},
    {"hourly skips hours without backups",
     kHourlyRun,
     {.hourly = 2},
     {"2024-03-10T11:05:00Z", "2024-03-10T09:50:00Z"}},
    {"daily across a leap day",
     kDailyRun,
     {.daily = 3},
     {"2024-03-01T13:00:00Z", "2024-02-29T01:00:00Z", "2024-02-28T23:00:00Z"}},
    {"monthly", kDailyRun, {.monthly = 2}, {"2024-03-01T13:00:00Z", "2024-02-29T01:00:00Z"}},
    {"weekly uses ISO weeks across the year end",
     kWeeklyRun,
     {.weekly = 3},
     {"2021-01-04T00:00:00Z", "2021-01-03T23:59:59Z", "2020-12-27T12:00:00Z"}},
    {"policies are a union",
     kDailyRun,
     {.last = 1, .daily = 2, .monthly = 2},
     {"2024-03-01T13:00:00Z", "2024-02-29T01:00:00Z"}},
    {"union adds what only one policy keeps",
     kDailyRun,
     {.last = 2, .monthly = 2},
     {"2024-03-01T13:00:00Z", "2024-03-01T01:00:00Z", "2024-02-29T01:00:00Z"}},
    {"empty policy still keeps the newest", kDailyRun, {}, {"2024-03-01T13:00:00Z"}},
    {"negative counts are zero", kDailyRun, {.last = -3}, {"2024-03-01T13:00:00Z"}},
    {"no backups", {}, {.last = 3}, {}},
    {"one backup", {"2024-01-01T00:00:00Z"}, {.weekly = 1}, {"2024-01-01T00:00:00Z"}},
};

TEST(Retention, Table) {
  for (const Case& c : kCases) {
    EXPECT_EQ(Survivors(c), c.survivors) << c.name;
  }
}

TEST(Retention, DecisionsAreNewestFirstWithReasons) {
  std::vector<BackupRef> refs = {{"a", T("2024-01-01T00:00:00Z")},
                                 {"c", T("2024-01-03T00:00:00Z")},
                                 {"b", T("2024-01-02T00:00:00Z")}};
  auto d = ApplyRetention(refs, {.last = 1, .daily = 2});
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].backup.name, "c");
  EXPECT_EQ(d[0].reasons, (std::vector<std::string>{"newest", "last", "daily"}));
  EXPECT_EQ(d[1].backup.name, "b");
  EXPECT_EQ(d[1].reasons, (std::vector<std::string>{"daily"}));
  EXPECT_FALSE(d[2].keep);
  EXPECT_TRUE(d[2].reasons.empty());
}

TEST(Retention, IsoWeeks) {
  EXPECT_EQ(IsoWeekKey(T("2021-01-01T00:00:00Z")), 202053);
  EXPECT_EQ(IsoWeekKey(T("2021-01-04T00:00:00Z")), 202101);
  EXPECT_EQ(IsoWeekKey(T("2019-12-30T00:00:00Z")), 202001);
  EXPECT_EQ(IsoWeekKey(T("2024-12-29T23:00:00Z")), 202452);
  EXPECT_EQ(IsoWeekKey(T("2024-12-30T00:00:00Z")), 202501);
}

}  // namespace
}  // namespace etcdd::backup
