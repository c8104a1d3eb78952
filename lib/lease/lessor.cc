#include "lease/lessor.h"

#include <algorithm>
#include <limits>

namespace etcdd::lease {
namespace {

Status LeaseNotFound() { return Status::NotFound(std::string(kErrLeaseNotFound)); }

// TTLs come from requests, the Raft log and the backend; clamping keeps the
// conversion to nanoseconds from overflowing.
Clock::duration Seconds(int64_t s) {
  return std::chrono::seconds(std::clamp<int64_t>(s, -kMaxLeaseTtlSeconds, kMaxLeaseTtlSeconds));
}

// t + d, saturating at the ends of the clock's range.
TimePoint AddClamped(TimePoint t, Clock::duration d) {
  using Rep = Clock::rep;
  const Rep base = t.time_since_epoch().count();
  const Rep delta = d.count();
  if (delta > 0 && base > std::numeric_limits<Rep>::max() - delta) return TimePoint::max();
  if (delta < 0 && base < std::numeric_limits<Rep>::min() - delta) return TimePoint::min();
  return t + d;
}

}  // namespace

bool IsNotPrimary(const Status& s) {
  return s.code() == Code::kFailedPrecondition && s.message() == kErrNotPrimary;
}

int64_t MinLeaseTtlSeconds(int64_t election_ticks, std::chrono::milliseconds heartbeat) {
  const int64_t ms = ((3 * election_ticks) / 2) * heartbeat.count();
  return (ms + 999) / 1000;
}

Lessor::Lessor(LessorOptions options) : options_(options) {}

Lessor::Lease* Lessor::Find(int64_t id) {
  auto it = leases_.find(id);
  return it == leases_.end() ? nullptr : &it->second;
}

void Lessor::QueueExpiry(Lease& l, TimePoint at) {
  if (l.expiry_check) expiry_queue_.erase({*l.expiry_check, l.record.id});
  l.expiry_check = at;
  expiry_queue_.insert({at, l.record.id});
}

void Lessor::Refresh(Lease& l, Clock::duration extend, TimePoint now) {
  l.expiry = AddClamped(AddClamped(now, extend), Seconds(l.RemainingTtlSeconds()));
  QueueExpiry(l, *l.expiry);
}

// etcd's scheduleCheckpointIfNeeded: only leases that would outlive one
// interval need a checkpoint. One pending checkpoint per lease.
void Lessor::ScheduleCheckpoint(Lease& l, TimePoint now) {
  if (!options_.checkpointing_enabled) return;
  const int64_t interval_s =
      std::chrono::duration_cast<std::chrono::seconds>(options_.checkpoint_interval).count();
  if (l.RemainingTtlSeconds() <= interval_s) return;
  if (l.checkpoint_at) checkpoint_queue_.erase({*l.checkpoint_at, l.record.id});
  l.checkpoint_at = AddClamped(now, options_.checkpoint_interval);
  checkpoint_queue_.insert({*l.checkpoint_at, l.record.id});
}

void Lessor::Unqueue(Lease& l) {
  if (l.expiry_check) expiry_queue_.erase({*l.expiry_check, l.record.id});
  if (l.checkpoint_at) checkpoint_queue_.erase({*l.checkpoint_at, l.record.id});
  l.expiry_check.reset();
  l.checkpoint_at.reset();
}

Result<LeaseRecord> Lessor::Grant(int64_t id, int64_t ttl_seconds, TimePoint now) {
  if (id == kNoLease) return LeaseNotFound();
  if (ttl_seconds > kMaxLeaseTtlSeconds) {
    return Status::OutOfRange(std::string(kErrLeaseTtlTooLarge));
  }
  if (leases_.contains(id)) return Status::FailedPrecondition(std::string(kErrLeaseExists));
  Lease& l = leases_[id];
  l.record = LeaseRecord{id, std::max(ttl_seconds, options_.min_ttl_seconds), 0};
  if (primary_) {
    Refresh(l, Clock::duration::zero(), now);
    ScheduleCheckpoint(l, now);
  }
  return l.record;
}

Result<std::vector<std::string>> Lessor::Revoke(int64_t id) {
  Lease* l = Find(id);
  if (l == nullptr) return LeaseNotFound();
  Unqueue(*l);
  std::vector<std::string> keys(l->keys.begin(), l->keys.end());
  for (const std::string& key : keys) key_to_lease_.erase(key);
  leases_.erase(id);
  return keys;
}

Result<RenewResult> Lessor::Renew(int64_t id, TimePoint now) {
  if (!primary_) return Status::FailedPrecondition(std::string(kErrNotPrimary));
  Lease* l = Find(id);
  if (l == nullptr || (l->expiry && *l->expiry <= now)) return LeaseNotFound();
  RenewResult result{l->record.ttl, l->record.remaining_ttl > 0};
  l->record.remaining_ttl = 0;
  Refresh(*l, Clock::duration::zero(), now);
  return result;
}

Status Lessor::Attach(int64_t id, std::string_view key) {
  Lease* l = Find(id);
  if (l == nullptr) return LeaseNotFound();
  auto it = key_to_lease_.find(key);
  if (it != key_to_lease_.end()) {
    if (it->second == id) return Status::Ok();
    Lease* previous = Find(it->second);
    if (previous != nullptr) previous->keys.erase(previous->keys.find(key));
    it->second = id;
  } else {
    key_to_lease_.emplace(std::string(key), id);
  }
  l->keys.emplace(key);
  return Status::Ok();
}

Status Lessor::Detach(int64_t id, std::string_view key) {
  Lease* l = Find(id);
  if (l == nullptr) return LeaseNotFound();
  auto it = key_to_lease_.find(key);
  if (it == key_to_lease_.end() || it->second != id) return Status::Ok();
  key_to_lease_.erase(it);
  l->keys.erase(l->keys.find(key));
  return Status::Ok();
}

int64_t Lessor::LeaseOf(std::string_view key) const {
  auto it = key_to_lease_.find(key);
  return it == key_to_lease_.end() ? kNoLease : it->second;
}

Result<LeaseInfo> Lessor::Lookup(int64_t id, TimePoint now) const {
  auto it = leases_.find(id);
  if (it == leases_.end()) return LeaseNotFound();
  const Lease& l = it->second;
  LeaseInfo info;
  info.id = id;
  info.granted_ttl = l.record.ttl;
  info.remaining_ttl =
      l.expiry ? std::chrono::duration_cast<std::chrono::seconds>(*l.expiry - now).count()
               : kForeverRemainingSeconds;
  info.keys.assign(l.keys.begin(), l.keys.end());
  return info;
}

std::vector<LeaseRecord> Lessor::Leases() const {
  std::vector<LeaseRecord> out;
  out.reserve(leases_.size());
  for (const auto& [id, l] : leases_) out.push_back(l.record);
  return out;
}

std::vector<int64_t> Lessor::IdsByExpiry() const {
  std::vector<std::pair<TimePoint, int64_t>> order;
  order.reserve(leases_.size());
  for (const auto& [id, l] : leases_) order.emplace_back(l.expiry.value_or(TimePoint::max()), id);
  std::sort(order.begin(), order.end());
  std::vector<int64_t> ids;
  ids.reserve(order.size());
  for (const auto& [at, id] : order) ids.push_back(id);
  return ids;
}

void Lessor::Promote(Clock::duration extend, TimePoint now) {
  primary_ = true;
  for (auto& [id, l] : leases_) {
    Refresh(l, extend, now);
    ScheduleCheckpoint(l, now);
  }
  if (static_cast<int64_t>(leases_.size()) >= options_.revoke_rate) SpreadExpiries(extend, now);
}

// etcd's Promote, second half: walk the leases in expiry order in one-second
// windows; once a window holds more than 3/4 of the revoke rate, push the
// extra leases later in proportion to the overflow, so that a new leader does
// not have to revoke a burst of leases (all renewed by the same old leader)
// at once.
void Lessor::SpreadExpiries(Clock::duration extend, TimePoint now) {
  const int64_t target = (3 * options_.revoke_rate) / 4;
  if (target <= 0 || leases_.empty()) return;
  std::vector<std::pair<Clock::duration, int64_t>> by_remaining;
  by_remaining.reserve(leases_.size());
  for (const auto& [id, l] : leases_) by_remaining.emplace_back(*l.expiry - now, id);
  std::sort(by_remaining.begin(), by_remaining.end());

  const Clock::duration second = std::chrono::seconds(1);
  Clock::duration base_window = by_remaining.front().first;
  Clock::duration next_window = base_window + second;
  int64_t expires = 0;
  for (const auto& [remaining, id] : by_remaining) {
    if (remaining > next_window) {
      base_window = remaining;
      next_window = base_window + second;
      expires = 1;
      continue;
    }
    ++expires;
    if (expires <= target) continue;
    const double rate_delay = static_cast<double>(second.count()) *
                                  (static_cast<double>(expires) / static_cast<double>(target)) -
                              static_cast<double>((remaining - base_window).count());
    const Clock::duration delay(static_cast<Clock::rep>(rate_delay));
    next_window = base_window + delay;
    Lease& l = leases_.at(id);
    Refresh(l, delay + extend, now);
    ScheduleCheckpoint(l, now);
  }
}

void Lessor::Demote() {
  primary_ = false;
  for (auto& [id, l] : leases_) {
    l.expiry.reset();
    l.expiry_check.reset();
    l.checkpoint_at.reset();
  }
  expiry_queue_.clear();
  checkpoint_queue_.clear();
}

std::vector<int64_t> Lessor::ExpiredLeases(TimePoint now, size_t limit) {
  std::vector<int64_t> expired;
  if (!primary_) return expired;
  while (!expiry_queue_.empty() && expired.size() < limit) {
    const auto [at, id] = *expiry_queue_.begin();
    if (at > now) break;
    Lease& l = leases_.at(id);  // Revoke unqueues, so the lease exists.
    if (*l.expiry <= now) {
      expired.push_back(id);
      // At least 1 ns later, so that one call reports each lease once.
      QueueExpiry(l,
                  AddClamped(now, std::max(options_.expired_retry_interval, Clock::duration(1))));
    } else {
      QueueExpiry(l, *l.expiry);
    }
  }
  return expired;
}

std::vector<LeaseCheckpoint> Lessor::Checkpoints(TimePoint now, size_t limit) {
  std::vector<LeaseCheckpoint> due;
  if (!primary_ || !options_.checkpointing_enabled) return due;
  while (!checkpoint_queue_.empty() && due.size() < limit) {
    const auto [at, id] = *checkpoint_queue_.begin();
    if (at > now) break;
    checkpoint_queue_.erase(checkpoint_queue_.begin());
    Lease& l = leases_.at(id);
    l.checkpoint_at.reset();
    if (now >= *l.expiry) continue;
    const int64_t remaining = std::chrono::ceil<std::chrono::seconds>(*l.expiry - now).count();
    if (remaining >= l.record.ttl) continue;
    due.push_back({id, remaining});
  }
  return due;
}

std::optional<LeaseRecord> Lessor::ApplyCheckpoint(int64_t id, int64_t remaining_ttl,
                                                   TimePoint now) {
  Lease* l = Find(id);
  if (l == nullptr) return std::nullopt;
  l->record.remaining_ttl = remaining_ttl;
  if (primary_) ScheduleCheckpoint(*l, now);
  return l->record;
}

Status Lessor::Recover(const std::vector<RecoveredLease>& leases, TimePoint now) {
  std::map<int64_t, Lease> recovered;
  std::map<std::string, int64_t, std::less<>> key_to_lease;
  for (const RecoveredLease& in : leases) {
    const int64_t id = in.record.id;
    if (id == kNoLease) return Status::InvalidArgument("recovered lease has id 0");
    auto [it, inserted] = recovered.try_emplace(id);
    if (!inserted) {
      return Status::InvalidArgument("recovered lease " + std::to_string(id) + " appears twice");
    }
    Lease& l = it->second;
    l.record = in.record;
    l.record.ttl = std::max(l.record.ttl, options_.min_ttl_seconds);
    for (const std::string& key : in.keys) {
      if (!key_to_lease.emplace(key, id).second) {
        return Status::InvalidArgument("recovered key is attached to two leases: " + key);
      }
      l.keys.insert(key);
    }
  }
  leases_ = std::move(recovered);
  key_to_lease_ = std::move(key_to_lease);
  expiry_queue_.clear();
  checkpoint_queue_.clear();
  if (primary_) {
    for (auto& [id, l] : leases_) {
      Refresh(l, Clock::duration::zero(), now);
      ScheduleCheckpoint(l, now);
    }
  }
  return Status::Ok();
}

Status Lessor::CheckInvariants() const {
  auto fail = [](int64_t id, const std::string& what) {
    return Status::Internal("lease " + std::to_string(id) + ": " + what);
  };
  size_t keys = 0;
  size_t expiry_checks = 0;
  size_t checkpoints = 0;
  for (const auto& [id, l] : leases_) {
    if (id == kNoLease || l.record.id != id) return fail(id, "id mismatch");
    if (l.record.ttl < options_.min_ttl_seconds) return fail(id, "ttl below minimum");
    for (const std::string& key : l.keys) {
      auto it = key_to_lease_.find(key);
      if (it == key_to_lease_.end() || it->second != id) return fail(id, "key not indexed: " + key);
    }
    keys += l.keys.size();
    if (primary_ != l.expiry.has_value()) return fail(id, "expiry does not match primary state");
    if (primary_ != l.expiry_check.has_value()) return fail(id, "expiry check not queued");
    if (l.expiry_check && !expiry_queue_.contains({*l.expiry_check, id})) {
      return fail(id, "expiry check missing from queue");
    }
    if (l.checkpoint_at && !checkpoint_queue_.contains({*l.checkpoint_at, id})) {
      return fail(id, "checkpoint missing from queue");
    }
    if (l.checkpoint_at && !primary_) return fail(id, "checkpoint scheduled on non-primary");
    expiry_checks += l.expiry_check ? 1 : 0;
    checkpoints += l.checkpoint_at ? 1 : 0;
  }
  if (keys != key_to_lease_.size()) return Status::Internal("key index has stale keys");
  if (expiry_checks != expiry_queue_.size()) return Status::Internal("stale expiry queue entry");
  if (checkpoints != checkpoint_queue_.size()) return Status::Internal("stale checkpoint entry");
  return Status::Ok();
}

}  // namespace etcdd::lease
