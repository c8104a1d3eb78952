#include "backup/retention.h"

#include <algorithm>
#include <array>
#include <chrono>

namespace etcdd::backup {

namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::sys_days;
using std::chrono::year_month_day;

int64_t HourKey(Seconds t) { return floor<std::chrono::hours>(t).time_since_epoch().count(); }

int64_t DayKey(Seconds t) { return floor<days>(t).time_since_epoch().count(); }

int64_t MonthKey(Seconds t) {
  year_month_day ymd{floor<days>(t)};
  return static_cast<int>(ymd.year()) * 100 + static_cast<int>(static_cast<unsigned>(ymd.month()));
}

// One calendar policy: how many periods it may still keep, and the period of
// the backup it kept last.
struct Bucket {
  const char* reason;
  int64_t (*key)(Seconds);
  int remaining;
  bool has_last = false;
  int64_t last = 0;
};

int64_t WeekKey(Seconds t) { return IsoWeekKey(t); }

}  // namespace

int IsoWeekKey(Seconds t) {
  sys_days day = floor<days>(t);
  // ISO weekday: Monday 1 .. Sunday 7. The Thursday of the same week decides
  // the week's year.
  unsigned wd = std::chrono::weekday(day).iso_encoding();
  sys_days thursday = day + days(4 - static_cast<int>(wd));
  std::chrono::year y = year_month_day(thursday).year();
  sys_days jan1 = sys_days(y / std::chrono::January / 1);
  int week = static_cast<int>((thursday - jan1).count() / 7) + 1;
  return static_cast<int>(y) * 100 + week;
}

std::vector<RetentionDecision> ApplyRetention(std::vector<BackupRef> backups,
                                              const RetentionPolicy& policy) {
  std::sort(backups.begin(), backups.end(), [](const BackupRef& a, const BackupRef& b) {
    if (a.time != b.time) return a.time > b.time;
    return a.name > b.name;
  });
  std::array<Bucket, 4> buckets = {{
      {"hourly", HourKey, std::max(policy.hourly, 0)},
      {"daily", DayKey, std::max(policy.daily, 0)},
      {"weekly", WeekKey, std::max(policy.weekly, 0)},
      {"monthly", MonthKey, std::max(policy.monthly, 0)},
  }};
  int last = std::max(policy.last, 0);
  std::vector<RetentionDecision> out;
  out.reserve(backups.size());
  for (size_t i = 0; i < backups.size(); ++i) {
    RetentionDecision d{backups[i], false, {}};
    if (i == 0) d.reasons.push_back("newest");
    if (last > 0) {
      d.reasons.push_back("last");
      --last;
    }
    for (Bucket& b : buckets) {
      int64_t k = b.key(backups[i].time);
      if (b.remaining == 0 || (b.has_last && b.last == k)) continue;
      d.reasons.push_back(b.reason);
      b.has_last = true;
      b.last = k;
      --b.remaining;
    }
    d.keep = !d.reasons.empty();
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace etcdd::backup
