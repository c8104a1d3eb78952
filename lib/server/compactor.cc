#include "server/compactor.h"

#include <algorithm>

#include "base/go_text.h"
#include "mvcc/errors.h"

namespace etcdd::server {

namespace {

using Clock = std::chrono::steady_clock;

// etcd's periodic compactor checks at most hourly, sampling ten times per
// check interval.
constexpr std::chrono::nanoseconds kMaxCompactInterval = std::chrono::hours(1);
constexpr int kRetryDivisor = 10;

// etcd treats ErrCompacted as success: the revision is compacted already.
bool Succeeded(const Status& s) {
  return s.ok() ||
         (s.code() == mvcc::ErrCompacted().code() && s.message() == mvcc::ErrCompacted().message());
}

// The error as etcd's compactor logs it: mvcc's own errors without the
// "etcdserver: " the gRPC layer puts before them.
std::string ErrorText(const Status& s) {
  constexpr std::string_view kGrpcPrefix = "etcdserver: ";
  std::string_view m = s.message();
  if (m.substr(0, kGrpcPrefix.size()) == kGrpcPrefix &&
      m.substr(kGrpcPrefix.size(), 6) == "mvcc: ") {
    m.remove_prefix(kGrpcPrefix.size());
  }
  return std::string(m);
}

// etcd's v3compactor.New refuses other modes (an empty one passes the flag
// check).
Status CheckSupportedMode(const AutoCompaction& ac) {
  if (ac.mode == kCompactionModePeriodic || ac.mode == kCompactionModeRevision) {
    return Status::Ok();
  }
  return Status::InvalidArgument("unsupported compaction mode " + ac.mode);
}

}  // namespace

Status ValidateAutoCompactionMode(std::string_view mode) {
  if (mode.empty() || mode == kCompactionModePeriodic || mode == kCompactionModeRevision) {
    return Status::Ok();
  }
  return Status::InvalidArgument("unknown auto-compaction-mode \"" + std::string(mode) + "\"");
}

Result<AutoCompaction> ParseAutoCompaction(std::string_view mode, std::string_view retention) {
  AutoCompaction out;
  out.mode = std::string(mode);
  if (retention.empty()) retention = "0";
  if (auto n = ParseGoInt64(retention, 10); n.ok() && *n >= 0) {
    if (mode == kCompactionModeRevision) {
      out.retention = std::chrono::nanoseconds(*n);
    } else if (mode == kCompactionModePeriodic) {
      out.retention = std::chrono::hours(*n);
    }
    return out;
  }
  auto d = ParseGoDuration(retention);
  if (!d.ok()) {
    return Status::InvalidArgument("error parsing CompactionRetention: " + d.status().message());
  }
  if (d->count() < 0) {
    return Status::InvalidArgument("error parsing CompactionRetention: negative retention \"" +
                                   std::string(retention) + "\"");
  }
  out.retention = *d;
  RETURN_IF_ERROR(CheckSupportedMode(out));
  return out;
}

PeriodicCompactionPlan::PeriodicCompactionPlan(std::chrono::nanoseconds period,
                                               Clock::time_point now)
    : period_(period),
      compact_interval_(std::min(period, kMaxCompactInterval)),
      retry_interval_(compact_interval_ / kRetryDivisor),
      retentions_(
          static_cast<size_t>(period / std::max(retry_interval_, std::chrono::nanoseconds(1))) + 1),
      base_interval_(period),
      last_success_(now) {}

void PeriodicCompactionPlan::Sample(int64_t rev) {
  revs_.push_back(rev);
  if (revs_.size() > retentions_) revs_.pop_front();
}

std::optional<int64_t> PeriodicCompactionPlan::Tick(Clock::time_point now, bool paused) {
  if (paused || revs_.empty() || now - last_success_ < base_interval_) return std::nullopt;
  // The first attempt waits a whole period; later ones at most an hour.
  base_interval_ = compact_interval_;
  return revs_.front();
}

void PeriodicCompactionPlan::Done(Clock::time_point now, bool succeeded) {
  if (succeeded) last_success_ = now;
}

std::optional<int64_t> RevisionCompactionPlan::Tick(int64_t current_rev, bool paused) {
  if (paused) return std::nullopt;
  const int64_t rev = current_rev - retention_;
  if (rev <= 0 || rev == prev_) return std::nullopt;
  return rev;
}

void RevisionCompactionPlan::Done(int64_t rev, bool succeeded) {
  if (succeeded) prev_ = rev;
}

Result<std::unique_ptr<Compactor>> Compactor::Start(const AutoCompaction& cfg, Logger& logger,
                                                    RevisionFn current_rev, CompactFn compact) {
  RETURN_IF_ERROR(CheckSupportedMode(cfg));
  std::unique_ptr<Compactor> c(
      new Compactor(cfg, logger, std::move(current_rev), std::move(compact)));
  Compactor* self = c.get();
  c->thread_ = std::thread([self] {
    if (self->cfg_.mode == kCompactionModePeriodic) {
      self->RunPeriodic();
    } else {
      self->RunRevision();
    }
  });
  return c;
}

Compactor::~Compactor() { Stop(); }

void Compactor::Pause() {
  std::lock_guard lock(state_->mu);
  state_->paused = true;
}

void Compactor::Resume() {
  std::lock_guard lock(state_->mu);
  state_->paused = false;
}

void Compactor::Stop() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Compactor::Wait(std::chrono::nanoseconds d, bool* paused) {
  std::unique_lock lock(state_->mu);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(d);
  if (state_->cv.wait_until(lock, deadline, [&] { return state_->stop; })) return false;
  *paused = state_->paused;
  return true;
}

std::optional<Status> Compactor::CompactAndWait(int64_t rev) {
  uint64_t attempt = 0;
  {
    std::lock_guard lock(state_->mu);
    attempt = ++state_->attempt;
    state_->result.reset();
  }
  compact_(rev, [state = state_, attempt](Status s) {
    {
      std::lock_guard lock(state->mu);
      if (state->attempt != attempt) return;
      state->result = std::move(s);
    }
    state->cv.notify_all();
  });
  // Bounded: the member answers every proposal within its request timeout.
  std::unique_lock lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->stop || state_->result.has_value(); });
  if (!state_->result.has_value()) return std::nullopt;
  return state_->result;
}

void Compactor::RunPeriodic() {
  PeriodicCompactionPlan plan(cfg_.retention, Clock::now());
  const std::string period = GoDuration(plan.period());
  bool paused = true;
  for (plan.Sample(current_rev_()); Wait(plan.retry_interval(), &paused);
       plan.Sample(current_rev_())) {
    const std::optional<int64_t> rev = plan.Tick(Clock::now(), paused);
    if (!rev) continue;
    logger_.Info("starting auto periodic compaction",
                 {{"revision", *rev}, {"compact-period", period}});
    const std::optional<Status> s = CompactAndWait(*rev);
    if (!s) return;
    const auto now = Clock::now();
    if (Succeeded(*s)) {
      // etcd reports the time since the previous success as "took".
      logger_.Info("completed auto periodic compaction",
                   {{"revision", *rev},
                    {"compact-period", period},
                    {"took", GoDuration(now - plan.last_success())}});
    } else {
      logger_.Warn("failed auto periodic compaction",
                   {{"revision", *rev},
                    {"compact-period", period},
                    {"retry-interval", GoDuration(plan.retry_interval())},
                    {"error", ErrorText(*s)}});
    }
    plan.Done(now, Succeeded(*s));
  }
}

void Compactor::RunRevision() {
  RevisionCompactionPlan plan(cfg_.retention.count());
  bool paused = true;
  while (Wait(cfg_.revision_interval, &paused)) {
    const std::optional<int64_t> rev = plan.Tick(current_rev_(), paused);
    if (!rev) continue;
    const auto start = Clock::now();
    logger_.Info("starting auto revision compaction",
                 {{"revision", *rev}, {"revision-compaction-retention", plan.retention()}});
    const std::optional<Status> s = CompactAndWait(*rev);
    if (!s) return;
    if (Succeeded(*s)) {
      logger_.Info("completed auto revision compaction",
                   {{"revision", *rev},
                    {"revision-compaction-retention", plan.retention()},
                    {"took", GoDuration(Clock::now() - start)}});
    } else {
      logger_.Warn("failed auto revision compaction",
                   {{"revision", *rev},
                    {"revision-compaction-retention", plan.retention()},
                    {"retry-interval", GoDuration(cfg_.revision_interval)},
                    {"error", ErrorText(*s)}});
    }
    plan.Done(*rev, Succeeded(*s));
  }
}

}  // namespace etcdd::server
