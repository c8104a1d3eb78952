// Lessor behaviour, one etcd rule per test, with a fake clock: times are
// seconds after an arbitrary origin.
#include "lease/lessor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace etcdd::lease {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TimePoint At(double s) {
  return TimePoint{} +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

void ExpectOk(const Status& s) { EXPECT_TRUE(s.ok()) << s.ToString(); }

LessorOptions CheckpointOptions() {
  LessorOptions o;
  o.checkpointing_enabled = true;
  o.checkpoint_interval = seconds(60);
  return o;
}

int64_t Remaining(const Lessor& l, int64_t id, double now) {
  auto info = l.Lookup(id, At(now));
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  return info.ok() ? info->remaining_ttl : -1;
}

TEST(LessorMinLeaseTtl, MatchesEtcdFormula) {
  EXPECT_EQ(MinLeaseTtlSeconds(10, milliseconds(100)), 2);  // 1.5 s rounded up
  EXPECT_EQ(MinLeaseTtlSeconds(10, milliseconds(1000)), 15);
  EXPECT_EQ(MinLeaseTtlSeconds(5, milliseconds(100)), 1);  // (15/2)*100 ms = 0.7 s
}

TEST(LessorGrant, ErrorsCarryEtcdCodesAndMessages) {
  Lessor l;
  auto zero = l.Grant(kNoLease, 10, At(0));
  EXPECT_EQ(zero.status().code(), Code::kNotFound);
  EXPECT_EQ(zero.status().message(), "etcdserver: requested lease not found");

  auto big = l.Grant(1, kMaxLeaseTtlSeconds + 1, At(0));
  EXPECT_EQ(big.status().code(), Code::kOutOfRange);
  EXPECT_EQ(big.status().message(), "etcdserver: too large lease TTL");
  ExpectOk(l.Grant(1, kMaxLeaseTtlSeconds, At(0)).status());

  auto dup = l.Grant(1, 10, At(0));
  EXPECT_EQ(dup.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(dup.status().message(), "etcdserver: lease already exists");
  ExpectOk(l.CheckInvariants());
}

TEST(LessorGrant, RaisesTtlToMinimumAndReturnsRecordToPersist) {
  LessorOptions o;
  o.min_ttl_seconds = 5;
  Lessor l(o);
  auto r = l.Grant(7, 1, At(0));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (LeaseRecord{7, 5, 0}));
  auto negative = l.Grant(8, -3, At(0));
  ASSERT_TRUE(negative.ok());
  EXPECT_EQ(negative->ttl, 5);
  EXPECT_EQ(l.Grant(9, 30, At(0))->ttl, 30);
  EXPECT_THAT(l.Leases(),
              ElementsAre(LeaseRecord{7, 5, 0}, LeaseRecord{8, 5, 0}, LeaseRecord{9, 30, 0}));
}

TEST(LessorGrant, NonPrimaryLeaseNeverExpires) {
  Lessor l;
  ASSERT_TRUE(l.Grant(1, 10, At(0)).ok());
  EXPECT_EQ(Remaining(l, 1, 1e6), kForeverRemainingSeconds);
  EXPECT_THAT(l.ExpiredLeases(At(1e6), 100), IsEmpty());
  ExpectOk(l.CheckInvariants());
}

TEST(LessorExpiry, PrimaryReportsLeaseOnceItsTtlHasPassed) {
  Lessor l;
  l.Promote(Clock::duration::zero(), At(0));
  ASSERT_TRUE(l.Grant(1, 10, At(0)).ok());
  ASSERT_TRUE(l.Grant(2, 20, At(0)).ok());
  EXPECT_EQ(Remaining(l, 1, 3), 7);
  EXPECT_EQ(Remaining(l, 1, 3.5), 6);  // truncated, as etcd's TimeToLive
  EXPECT_THAT(l.ExpiredLeases(At(9.999), 100), IsEmpty());
  EXPECT_THAT(l.ExpiredLeases(At(10), 100), ElementsAre(1));
  // Reported again only after the retry interval (3 s), if not revoked.
  EXPECT_THAT(l.ExpiredLeases(At(11), 100), IsEmpty());
  EXPECT_THAT(l.ExpiredLeases(At(13), 100), ElementsAre(1));
  ASSERT_TRUE(l.Revoke(1).ok());
  EXPECT_THAT(l.ExpiredLeases(At(19), 100), IsEmpty());
  EXPECT_THAT(l.ExpiredLeases(At(20), 100), ElementsAre(2));
  ExpectOk(l.CheckInvariants());
}

TEST(LessorExpiry, ReportsInExpiryOrderAtMostLimitPerCall) {
  Lessor l;
  l.Promote(Clock::duration::zero(), At(0));
  for (int64_t id = 1; id <= 5; ++id) ASSERT_TRUE(l.Grant(id, 20 - id, At(0)).ok());
  EXPECT_THAT(l.ExpiredLeases(At(30), 2), ElementsAre(5, 4));
  EXPECT_THAT(l.ExpiredLeases(At(30), 2), ElementsAre(3, 2));
  EXPECT_THAT(l.ExpiredLeases(At(30), 2), ElementsAre(1));
  EXPECT_THAT(l.ExpiredLeases(At(30), 2), IsEmpty());
}

TEST(LessorRevoke, ReturnsSortedKeysAndForgetsThem) {
  Lessor l;
  ASSERT_TRUE(l.Grant(1, 10, At(0)).ok());
  ExpectOk(l.Attach(1, "b"));
  ExpectOk(l.Attach(1, "a"));
  ExpectOk(l.Attach(1, "c"));
  auto keys = l.Revoke(1);
  ASSERT_TRUE(keys.ok());
  EXPECT_THAT(*keys, ElementsAre("a", "b", "c"));
  EXPECT_EQ(l.LeaseOf("a"), kNoLease);
  EXPECT_EQ(l.Revoke(1).status().code(), Code::kNotFound);
  EXPECT_EQ(l.Lookup(1, At(0)).status().message(), kErrLeaseNotFound);
  EXPECT_EQ(l.size(), 0u);
  ExpectOk(l.CheckInvariants());
}

TEST(LessorAttach, KeyBelongsToOneLeaseAtATime) {
  Lessor l;
  ASSERT_TRUE(l.Grant(1, 10, At(0)).ok());
  ASSERT_TRUE(l.Grant(2, 10, At(0)).ok());
  EXPECT_EQ(l.Attach(3, "k").code(), Code::kNotFound);
  ExpectOk(l.Attach(1, "k"));
  ExpectOk(l.Attach(1, "k"));
  EXPECT_EQ(l.LeaseOf("k"), 1);
  ExpectOk(l.Attach(2, "k"));  // a put with another lease moves the key
  EXPECT_EQ(l.LeaseOf("k"), 2);
  EXPECT_THAT(l.Lookup(1, At(0))->keys, IsEmpty());
  EXPECT_THAT(l.Lookup(2, At(0))->keys, ElementsAre("k"));
  ExpectOk(l.CheckInvariants());
}

TEST(LessorDetach, OnlyDetachesFromTheNamedLease) {
  Lessor l;
  ASSERT_TRUE(l.Grant(1, 10, At(0)).ok());
  ASSERT_TRUE(l.Grant(2, 10, At(0)).ok());
  ExpectOk(l.Attach(2, "k"));
  ExpectOk(l.Detach(1, "k"));  // not attached to 1: no-op
  EXPECT_EQ(l.LeaseOf("k"), 2);
  EXPECT_EQ(l.Detach(3, "k").code(), Code::kNotFound);
  ExpectOk(l.Detach(2, "k"));
  EXPECT_EQ(l.LeaseOf("k"), kNoLease);
  EXPECT_THAT(*l.Revoke(2), IsEmpty());
  ExpectOk(l.CheckInvariants());
}

TEST(LessorRenew, OnlyThePrimaryRenews) {
  Lessor l;
  ASSERT_TRUE(l.Grant(1, 10, At(0)).ok());
  auto r = l.Renew(1, At(1));
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(IsNotPrimary(r.status()));
  EXPECT_FALSE(IsNotPrimary(Status::FailedPrecondition(std::string(kErrLeaseExists))));
}

TEST(LessorRenew, ResetsExpiryToFullTtl) {
  Lessor l;
  l.Promote(Clock::duration::zero(), At(0));
  ASSERT_TRUE(l.Grant(1, 10, At(0)).ok());
  auto r = l.Renew(1, At(8));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ttl, 10);
  EXPECT_FALSE(r->clear_checkpoint);
  EXPECT_THAT(l.ExpiredLeases(At(17.9), 10), IsEmpty());
  EXPECT_THAT(l.ExpiredLeases(At(18), 10), ElementsAre(1));
  ExpectOk(l.CheckInvariants());
}

TEST(LessorRenew, ExpiredOrMissingLeaseIsNotFound) {
  Lessor l;
  l.Promote(Clock::duration::zero(), At(0));
  ASSERT_TRUE(l.Grant(1, 10, At(0)).ok());
  EXPECT_EQ(l.Renew(1, At(10)).status().code(), Code::kNotFound);
  EXPECT_EQ(l.Renew(2, At(0)).status().message(), kErrLeaseNotFound);
}

TEST(LessorPromote, ExtendsRemainingTtlSoFailoverDoesNotExpireEarly) {
  // The old leader granted the lease at t=0 and renewed it at t=5; the
  // follower only saw the grant (renewals do not go through Raft).
  Lessor leader;
  Lessor follower;
  leader.Promote(Clock::duration::zero(), At(0));
  ASSERT_TRUE(leader.Grant(1, 10, At(0)).ok());
  ASSERT_TRUE(follower.Grant(1, 10, At(0)).ok());
  ASSERT_TRUE(leader.Renew(1, At(5)).ok());
  // The leader fails at t=8; the follower wins the election at t=9.
  leader.Demote();
  follower.Promote(seconds(1), At(9));
  EXPECT_EQ(Remaining(follower, 1, 9), 11);
  EXPECT_THAT(follower.ExpiredLeases(At(19.9), 10), IsEmpty());
  EXPECT_THAT(follower.ExpiredLeases(At(20), 10), ElementsAre(1));
  ExpectOk(follower.CheckInvariants());
}

TEST(LessorPromote, SpreadsBurstOfExpiriesOverSeconds) {
  LessorOptions o;
  o.revoke_rate = 8;  // at most 6 expiries per second after promotion
  Lessor l(o);
  for (int64_t id = 1; id <= 20; ++id) ASSERT_TRUE(l.Grant(id, 10, At(0)).ok());
  l.Promote(Clock::duration::zero(), At(0));
  EXPECT_THAT(l.ExpiredLeases(At(9.99), 100), IsEmpty());  // never earlier than the TTL
  // Each second, the expired leases are revoked (as the leader would).
  auto revoke_expired = [&l](double t) {
    const std::vector<int64_t> ids = l.ExpiredLeases(At(t), 100);
    for (int64_t id : ids) EXPECT_TRUE(l.Revoke(id).ok());
    return ids.size();
  };
  EXPECT_EQ(revoke_expired(10.99), 6u);
  size_t total = 6;
  for (double t = 11.99; t < 20 && total < 20; t += 1) {
    const size_t n = revoke_expired(t);
    EXPECT_LE(n, 6u) << "at " << t;
    total += n;
  }
  EXPECT_EQ(total, 20u);
  ExpectOk(l.CheckInvariants());
}

TEST(LessorPromote, NoSpreadBelowRevokeRate) {
  Lessor l;  // revoke_rate 1000
  for (int64_t id = 1; id <= 20; ++id) ASSERT_TRUE(l.Grant(id, 10, At(0)).ok());
  l.Promote(Clock::duration::zero(), At(0));
  EXPECT_EQ(l.ExpiredLeases(At(10), 100).size(), 20u);
}

TEST(LessorDemote, StopsExpiryAndRenewal) {
  Lessor l;
  l.Promote(Clock::duration::zero(), At(0));
  ASSERT_TRUE(l.Grant(1, 10, At(0)).ok());
  l.Demote();
  EXPECT_FALSE(l.is_primary());
  EXPECT_THAT(l.ExpiredLeases(At(1e6), 10), IsEmpty());
  EXPECT_EQ(Remaining(l, 1, 1e6), kForeverRemainingSeconds);
  EXPECT_TRUE(IsNotPrimary(l.Renew(1, At(1)).status()));
  ExpectOk(l.CheckInvariants());
  // Promoted again later, the lease gets its full TTL from then.
  l.Promote(Clock::duration::zero(), At(100));
  EXPECT_THAT(l.ExpiredLeases(At(109), 10), IsEmpty());
  EXPECT_THAT(l.ExpiredLeases(At(110), 10), ElementsAre(1));
}

TEST(LessorCheckpoint, PrimaryEmitsRemainingTtlEveryInterval) {
  Lessor l(CheckpointOptions());
  l.Promote(Clock::duration::zero(), At(0));
  ASSERT_TRUE(l.Grant(1, 300, At(0)).ok());
  ASSERT_TRUE(l.Grant(2, 60, At(0)).ok());  // not longer than the interval: never
  EXPECT_THAT(l.Checkpoints(At(59)), IsEmpty());
  EXPECT_THAT(l.Checkpoints(At(60)), ElementsAre(LeaseCheckpoint{1, 240}));
  // Not scheduled again until the checkpoint is applied.
  EXPECT_THAT(l.Checkpoints(At(200)), IsEmpty());
  auto rec = l.ApplyCheckpoint(1, 240, At(60.5));
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(*rec, (LeaseRecord{1, 300, 240}));
  EXPECT_THAT(l.Checkpoints(At(120.4)), IsEmpty());
  // Rounded up, as etcd's math.Ceil.
  EXPECT_THAT(l.Checkpoints(At(120.5)), ElementsAre(LeaseCheckpoint{1, 180}));
  ExpectOk(l.CheckInvariants());
}

TEST(LessorCheckpoint, FollowerPromotedAfterCheckpointKeepsOnlyRemainingTtl) {
  Lessor leader(CheckpointOptions());
  Lessor follower(CheckpointOptions());
  leader.Promote(Clock::duration::zero(), At(0));
  ASSERT_TRUE(leader.Grant(1, 300, At(0)).ok());
  ASSERT_TRUE(follower.Grant(1, 300, At(0)).ok());
  auto cps = leader.Checkpoints(At(60));
  ASSERT_THAT(cps, ElementsAre(LeaseCheckpoint{1, 240}));
  // Committed through Raft and applied on both members.
  ASSERT_TRUE(leader.ApplyCheckpoint(1, 240, At(60)).has_value());
  ASSERT_TRUE(follower.ApplyCheckpoint(1, 240, At(60)).has_value());
  EXPECT_THAT(follower.Checkpoints(At(1000)), IsEmpty());  // non-primary
  leader.Demote();
  follower.Promote(Clock::duration::zero(), At(70));
  // The new primary schedules the next checkpoint one interval later.
  EXPECT_THAT(follower.Checkpoints(At(130)), ElementsAre(LeaseCheckpoint{1, 180}));
  // 240 s from the promotion, not the full 300.
  EXPECT_THAT(follower.ExpiredLeases(At(309.9), 10), IsEmpty());
  EXPECT_THAT(follower.ExpiredLeases(At(310), 10), ElementsAre(1));
}

TEST(LessorCheckpoint, RenewClearsCheckpointedRemainingTtl) {
  Lessor l(CheckpointOptions());
  ASSERT_TRUE(l.Grant(1, 300, At(0)).ok());
  ASSERT_TRUE(l.ApplyCheckpoint(1, 100, At(0)).has_value());
  l.Promote(Clock::duration::zero(), At(0));
  EXPECT_EQ(Remaining(l, 1, 0), 100);
  auto r = l.Renew(1, At(10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ttl, 300);
  EXPECT_TRUE(r->clear_checkpoint);
  EXPECT_EQ(Remaining(l, 1, 10), 300);
  EXPECT_THAT(l.Leases(), ElementsAre(LeaseRecord{1, 300, 0}));
  EXPECT_FALSE(l.Renew(1, At(11))->clear_checkpoint);
}

TEST(LessorCheckpoint, DisabledOrUnknownLease) {
  Lessor l;  // checkpointing off, as etcd's default
  l.Promote(Clock::duration::zero(), At(0));
  ASSERT_TRUE(l.Grant(1, 3000, At(0)).ok());
  EXPECT_THAT(l.Checkpoints(At(1000)), IsEmpty());
  EXPECT_FALSE(l.ApplyCheckpoint(2, 10, At(0)).has_value());
}

TEST(LessorCheckpoint, BatchLimit) {
  Lessor l(CheckpointOptions());
  l.Promote(Clock::duration::zero(), At(0));
  for (int64_t id = 1; id <= 3; ++id) ASSERT_TRUE(l.Grant(id, 600, At(0)).ok());
  EXPECT_EQ(l.Checkpoints(At(60), 2).size(), 2u);
  EXPECT_THAT(l.Checkpoints(At(60), 2), ElementsAre(LeaseCheckpoint{3, 540}));
}

TEST(LessorRecover, RestoresLeasesKeysAndCheckpoints) {
  LessorOptions o;
  o.min_ttl_seconds = 5;
  Lessor l(o);
  ASSERT_TRUE(l.Grant(99, 10, At(0)).ok());
  std::vector<RecoveredLease> state = {
      {{1, 100, 40}, {"a", "b"}},
      {{2, 1, 0}, {}},
  };
  ExpectOk(l.Recover(state, At(0)));
  EXPECT_THAT(l.Leases(), ElementsAre(LeaseRecord{1, 100, 40}, LeaseRecord{2, 5, 0}));
  EXPECT_EQ(l.LeaseOf("b"), 1);
  EXPECT_EQ(Remaining(l, 1, 0), kForeverRemainingSeconds);
  l.Promote(Clock::duration::zero(), At(50));
  EXPECT_EQ(Remaining(l, 1, 50), 40);
  EXPECT_EQ(Remaining(l, 2, 50), 5);
  ExpectOk(l.CheckInvariants());
}

TEST(LessorRecover, OnPrimaryLeasesKeepExpiring) {
  Lessor l;
  l.Promote(Clock::duration::zero(), At(0));
  ExpectOk(l.Recover({{{1, 10, 0}, {}}}, At(100)));
  EXPECT_THAT(l.ExpiredLeases(At(110), 10), ElementsAre(1));
  ExpectOk(l.CheckInvariants());
}

TEST(LessorRecover, RejectsInconsistentStateAndKeepsOldOne) {
  Lessor l;
  ASSERT_TRUE(l.Grant(5, 10, At(0)).ok());
  EXPECT_EQ(l.Recover({{{0, 10, 0}, {}}}, At(0)).code(), Code::kInvalidArgument);
  EXPECT_EQ(l.Recover({{{1, 10, 0}, {}}, {{1, 20, 0}, {}}}, At(0)).code(), Code::kInvalidArgument);
  EXPECT_EQ(l.Recover({{{1, 10, 0}, {"k"}}, {{2, 20, 0}, {"k"}}}, At(0)).code(),
            Code::kInvalidArgument);
  EXPECT_THAT(l.Leases(), ElementsAre(LeaseRecord{5, 10, 0}));
  ExpectOk(l.CheckInvariants());
}

TEST(LessorIdsByExpiry, SoonestFirstOnPrimaryByIdElsewhere) {
  Lessor l;
  ExpectOk(l.Grant(3, 30, At(0)).status());
  ExpectOk(l.Grant(1, 60, At(0)).status());
  ExpectOk(l.Grant(2, 10, At(0)).status());
  EXPECT_THAT(l.IdsByExpiry(), ElementsAre(1, 2, 3));  // none expires: by id
  l.Promote(seconds(0), At(0));
  EXPECT_THAT(l.IdsByExpiry(), ElementsAre(2, 3, 1));
  ExpectOk(l.Grant(4, 5, At(1)).status());  // expires at 6
  EXPECT_THAT(l.IdsByExpiry(), ElementsAre(4, 2, 3, 1));
}

}  // namespace
}  // namespace etcdd::lease
