// Waiters keyed by request id: a proposer registers a callback before
// proposing, and the apply loop calls it with the result once the entry is
// applied (etcd: pkg/wait). A waiter whose deadline passes is called with a
// timeout instead. Every callback is called exactly once, outside the
// registry's lock, on the thread that triggers or expires it.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace etcdd::server {

template <typename T>
class WaitRegistry {
 public:
  using Callback = std::function<void(T)>;
  using Clock = std::chrono::steady_clock;

  // Registers `done` for `id` (unique among live waiters) until `deadline`.
  void Register(uint64_t id, Clock::time_point deadline, Callback done) {
    std::lock_guard lock(mu_);
    waiters_[id] = Waiter{deadline, std::move(done)};
  }

  // Calls the waiter for `id` with `value`, if there is one (entries
  // replayed after a restart have none). Returns whether there was.
  bool Trigger(uint64_t id, T value) {
    Callback done;
    {
      std::lock_guard lock(mu_);
      auto it = waiters_.find(id);
      if (it == waiters_.end()) return false;
      done = std::move(it->second.done);
      waiters_.erase(it);
    }
    done(std::move(value));
    return true;
  }

  // Calls every waiter whose deadline is at or before `now` with `value`.
  void Expire(Clock::time_point now, const T& value) {
    std::vector<Callback> expired;
    {
      std::lock_guard lock(mu_);
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->second.deadline > now) {
          ++it;
          continue;
        }
        expired.push_back(std::move(it->second.done));
        it = waiters_.erase(it);
      }
    }
    for (auto& done : expired) done(value);
  }

  // Calls every waiter with `value` (e.g. "server stopped").
  void TriggerAll(const T& value) { Expire(Clock::time_point::max(), value); }

 private:
  struct Waiter {
    Clock::time_point deadline;
    Callback done;
  };
  std::mutex mu_;
  std::unordered_map<uint64_t, Waiter> waiters_;  // guarded by mu_
};

}  // namespace etcdd::server
