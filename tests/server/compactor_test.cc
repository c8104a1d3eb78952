// Auto-compaction decisions against the scenarios of etcd 3.4's
// v3compactor/periodic_test.go and revision_test.go: a fake clock, and a
// revision getter that answers one more than before at each call, as etcd's
// fakeRevGetter does. Then the flag parsing, and the thread with a fake
// compaction.
#include "server/compactor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace etcdd::server {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// etcd's periodic loop with a fake clock: each Step samples the next
// revision, advances the clock by the retry interval and ticks; what the
// plan decides is "compacted" at once with `succeed`.
struct PeriodicLoop {
  explicit PeriodicLoop(std::chrono::nanoseconds period)
      : now(Clock::time_point{}), plan(period, now) {}

  void Step(bool paused = false, bool succeed = true) {
    plan.Sample(++rev);
    now += plan.retry_interval();
    if (auto r = plan.Tick(now, paused)) {
      compacted.push_back(*r);
      plan.Done(now, succeed);
    }
  }
  void Steps(size_t n, bool paused = false) {
    for (size_t i = 0; i < n; ++i) Step(paused);
  }

  Clock::time_point now;
  PeriodicCompactionPlan plan;
  int64_t rev = 0;
  std::vector<int64_t> compacted;
};

TEST(PeriodicCompactionPlan, IntervalsAreTenthsOfThePeriodCappedAtOneHour) {
  PeriodicCompactionPlan five_seconds(seconds(5), Clock::now());
  EXPECT_EQ(five_seconds.retry_interval(), milliseconds(500));
  EXPECT_EQ(five_seconds.retentions(), 11u);
  PeriodicCompactionPlan two_hours(hours(2), Clock::now());
  EXPECT_EQ(two_hours.retry_interval(), minutes(6));
  EXPECT_EQ(two_hours.retentions(), 21u);
  PeriodicCompactionPlan day(hours(24), Clock::now());
  EXPECT_EQ(day.retry_interval(), minutes(6));
  EXPECT_EQ(day.retentions(), 241u);
}

// etcd's TestPeriodicHourly: retention 2 h; the first compaction after two
// hours, at the first revision; then hourly, at the revision of 2 h before.
TEST(PeriodicCompactionPlan, HourlyRetentionCompactsTheRevisionOfOnePeriodAgo) {
  PeriodicLoop loop(hours(2));
  loop.Steps(loop.plan.retentions() - 2);  // 19 ticks: 1 h 54 min
  EXPECT_TRUE(loop.compacted.empty());
  loop.Steps(2);
  EXPECT_EQ(loop.compacted, std::vector<int64_t>{1});
  for (int64_t i = 0; i < 3; ++i) {
    loop.Steps(10);  // one hour
    ASSERT_EQ(loop.compacted.size(), static_cast<size_t>(i + 2));
    EXPECT_EQ(loop.compacted.back(), (i + 1) * 10);
  }
}

// etcd's TestPeriodicMinutes: retention 5 min, compaction every 5 minutes.
TEST(PeriodicCompactionPlan, MinutesRetentionCompactsEveryPeriod) {
  PeriodicLoop loop(minutes(5));
  loop.Steps(loop.plan.retentions());
  EXPECT_EQ(loop.compacted, std::vector<int64_t>{1});
  for (int64_t i = 0; i < 5; ++i) {
    loop.Steps(10);
    ASSERT_EQ(loop.compacted.size(), static_cast<size_t>(i + 2));
    EXPECT_EQ(loop.compacted.back(), (i + 1) * 10);
  }
}

// etcd's TestPeriodicPause: paused for three hours, it keeps sampling but
// does not compact; resumed, the next tick compacts the revision of one
// hour before (hour 2:24 here, as each tick also samples).
TEST(PeriodicCompactionPlan, PausedSamplesButDoesNotCompact) {
  PeriodicLoop loop(hours(1));
  const size_t n = loop.plan.retentions();
  loop.Steps(n * 3, /*paused=*/true);
  EXPECT_TRUE(loop.compacted.empty());
  loop.Step();
  EXPECT_EQ(loop.compacted, std::vector<int64_t>{static_cast<int64_t>(1 + 2 * n + 1)});
}

// A failed attempt is retried at the next tick with the window moved on,
// and the next success starts a new period.
TEST(PeriodicCompactionPlan, FailureIsRetriedEveryRetryInterval) {
  PeriodicLoop loop(seconds(5));
  loop.Steps(9);
  loop.Step(false, /*succeed=*/false);  // t = 5 s: tries revision 1
  loop.Step(false, /*succeed=*/false);  // t = 5.5 s: still 1 (11 samples kept)
  loop.Step();                          // t = 6 s: revision 2 succeeds
  EXPECT_EQ(loop.compacted, (std::vector<int64_t>{1, 1, 2}));
  loop.Steps(9);
  EXPECT_EQ(loop.compacted.size(), 3u);
  loop.Step();  // t = 11 s
  EXPECT_EQ(loop.compacted, (std::vector<int64_t>{1, 1, 2, 12}));
}

// Beyond one hour, the first compaction waits the whole period, later ones
// run hourly (etcd's compactInterval).
TEST(PeriodicCompactionPlan, LongRetentionCompactsHourlyAfterTheFirstPeriod) {
  PeriodicLoop loop(hours(24));
  loop.Steps(239);
  EXPECT_TRUE(loop.compacted.empty());
  loop.Step();  // t = 24 h
  EXPECT_EQ(loop.compacted, std::vector<int64_t>{1});
  loop.Steps(10);  // t = 25 h: the oldest of the 241 samples kept
  EXPECT_EQ(loop.compacted, (std::vector<int64_t>{1, 10}));
}

// etcd's TestRevision: retention 10; nothing while the revision is small,
// then current - 10, the same revision only once.
TEST(RevisionCompactionPlan, CompactsToCurrentMinusRetentionOnce) {
  RevisionCompactionPlan plan(10);
  EXPECT_EQ(plan.Tick(1, false), std::nullopt);
  EXPECT_EQ(plan.Tick(10, false), std::nullopt);  // revision 0
  EXPECT_EQ(plan.Tick(100, false), 90);
  plan.Done(90, true);
  EXPECT_EQ(plan.Tick(100, false), std::nullopt);  // skip the same revision
  EXPECT_EQ(plan.Tick(200, false), 190);
}

// etcd's TestRevisionPause, and a failure retried at the next interval.
TEST(RevisionCompactionPlan, PausedDoesNothingAndFailuresAreRetried) {
  RevisionCompactionPlan plan(10);
  for (int i = 0; i < 36; ++i) EXPECT_EQ(plan.Tick(100, true), std::nullopt);
  EXPECT_EQ(plan.Tick(100, false), 90);
  plan.Done(90, false);
  EXPECT_EQ(plan.Tick(100, false), 90);
  plan.Done(90, true);
  EXPECT_EQ(plan.Tick(100, false), std::nullopt);
}

// embed/etcd.go parseCompactionRetention and embed/config.go Validate.
TEST(ParseAutoCompaction, FollowsEtcd) {
  auto hours_only = ParseAutoCompaction("periodic", "1");
  ASSERT_TRUE(hours_only.ok());
  EXPECT_EQ(hours_only->retention, hours(1));
  auto duration = ParseAutoCompaction("periodic", "30m");
  ASSERT_TRUE(duration.ok());
  EXPECT_EQ(duration->retention, minutes(30));
  auto count = ParseAutoCompaction("revision", "1000");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->retention.count(), 1000);
  auto off = ParseAutoCompaction("periodic", "0");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->enabled());
  auto empty = ParseAutoCompaction("revision", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->enabled());
  // etcd keeps a duration in revision mode too: its nanoseconds.
  auto odd = ParseAutoCompaction("revision", "5s");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->retention.count(), 5000000000);

  EXPECT_EQ(ParseAutoCompaction("periodic", "abc").status().message(),
            "error parsing CompactionRetention: time: invalid duration \"abc\"");
  EXPECT_EQ(ParseAutoCompaction("periodic", "-1").status().message(),
            "error parsing CompactionRetention: time: missing unit in duration \"-1\"");
  EXPECT_EQ(ParseAutoCompaction("periodic", "1.5").status().message(),
            "error parsing CompactionRetention: time: missing unit in duration \"1.5\"");
  EXPECT_FALSE(ParseAutoCompaction("periodic", "-5m").ok());
  EXPECT_EQ(ParseAutoCompaction("", "5m").status().message(), "unsupported compaction mode ");
  EXPECT_FALSE(ParseAutoCompaction("", "5")->enabled());

  EXPECT_TRUE(ValidateAutoCompactionMode("periodic").ok());
  EXPECT_TRUE(ValidateAutoCompactionMode("revision").ok());
  EXPECT_TRUE(ValidateAutoCompactionMode("").ok());
  EXPECT_EQ(ValidateAutoCompactionMode("foo").message(), "unknown auto-compaction-mode \"foo\"");
}

// The thread: compactions proposed through the callback, with the revision
// the plan picked, and only while resumed.
class FakeMember {
 public:
  Compactor::CompactFn CompactFn(bool answer) {
    return [this, answer](int64_t rev, std::function<void(Status)> done) {
      {
        std::lock_guard lock(mu_);
        compacted_.push_back(rev);
      }
      cv_.notify_all();
      if (answer) done(Status::Ok());
    };
  }
  // Waits (bounded) until `n` compactions were asked for.
  std::vector<int64_t> WaitCompactions(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, seconds(30), [&] { return compacted_.size() >= n; });
    return compacted_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int64_t> compacted_;
};

TEST(Compactor, ResumedPeriodicCompactorProposesCompactions) {
  auto logger = Logger::Stderr();
  FakeMember member;
  std::atomic<int64_t> rev{0};
  AutoCompaction ac{"periodic", milliseconds(200)};
  auto c = Compactor::Start(
      ac, *logger, [&] { return ++rev; }, member.CompactFn(true));
  ASSERT_TRUE(c.ok());
  (*c)->Resume();
  auto got = member.WaitCompactions(2);
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got[0], 1);  // the first sample
  EXPECT_GT(got[1], 1);  // a later one
  (*c)->Stop();
}

TEST(Compactor, RevisionCompactorCompactsToCurrentMinusRetention) {
  auto logger = Logger::Stderr();
  FakeMember member;
  std::atomic<int64_t> rev{100};
  AutoCompaction ac{"revision", std::chrono::nanoseconds(10), milliseconds(20)};
  auto c = Compactor::Start(
      ac, *logger, [&] { return rev.load(); }, member.CompactFn(true));
  ASSERT_TRUE(c.ok());
  (*c)->Resume();
  EXPECT_EQ(member.WaitCompactions(1), std::vector<int64_t>{90});
  rev = 200;  // the same revision is not compacted twice; the next one is
  EXPECT_EQ(member.WaitCompactions(2), (std::vector<int64_t>{90, 190}));
  (*c)->Stop();
}

TEST(Compactor, StopDoesNotWaitForACompactionInFlight) {
  auto logger = Logger::Stderr();
  FakeMember member;
  AutoCompaction ac{"periodic", milliseconds(100)};
  auto c = Compactor::Start(
      ac, *logger, [] { return int64_t{5}; }, member.CompactFn(false));
  ASSERT_TRUE(c.ok());
  (*c)->Resume();
  ASSERT_EQ(member.WaitCompactions(1).size(), 1u);
  (*c)->Stop();  // returns although the compaction is never answered
}

TEST(Compactor, RefusesAnEmptyMode) {
  auto logger = Logger::Stderr();
  FakeMember member;
  AutoCompaction ac{"", hours(1)};
  auto c = Compactor::Start(
      ac, *logger, [] { return int64_t{1}; }, member.CompactFn(true));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "unsupported compaction mode ");
}

}  // namespace
}  // namespace etcdd::server
