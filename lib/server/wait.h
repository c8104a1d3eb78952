// Waiters keyed by request id: a proposer registers before proposing and the
// apply loop triggers it with the result once the entry is applied (etcd:
// pkg/wait). Thread-safe.
#pragma once

#include <cstdint>
#include <future>
#include <mutex>
#include <unordered_map>

namespace etcdd::server {

template <typename T>
class WaitRegistry {
 public:
  // Returns the future for `id`; ids must be unique among live waiters.
  std::future<T> Register(uint64_t id) {
    std::lock_guard lock(mu_);
    return waiters_[id].get_future();
  }

  // Fulfils the waiter for `id`, if any (entries replayed after a restart
  // have none). Returns whether a waiter was found.
  bool Trigger(uint64_t id, T value) {
    std::promise<T> p;
    {
      std::lock_guard lock(mu_);
      auto it = waiters_.find(id);
      if (it == waiters_.end()) return false;
      p = std::move(it->second);
      waiters_.erase(it);
    }
    p.set_value(std::move(value));
    return true;
  }

  // Fulfils every waiter with `value` (e.g. "server stopped").
  void TriggerAll(const T& value) {
    std::unordered_map<uint64_t, std::promise<T>> all;
    {
      std::lock_guard lock(mu_);
      all.swap(waiters_);
    }
    for (auto& [id, p] : all) p.set_value(value);
  }

  // Drops the waiter for `id` (the caller gave up, e.g. on a timeout).
  void Cancel(uint64_t id) {
    std::lock_guard lock(mu_);
    waiters_.erase(id);
  }

 private:
  std::mutex mu_;
  std::unordered_map<uint64_t, std::promise<T>> waiters_;
};

}  // namespace etcdd::server
