// Test harness for lib/transport: members on loopback with free ports, and
// helpers that wait for conditions with generous deadlines (never timed asserts).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/file.h"
#include "base/log.h"
#include "transport/transport.h"

namespace etcdd::transport::testing {

inline constexpr std::chrono::seconds kDeadline{30};

// Polls `pred` until it holds or kDeadline passes; returns its last value.
inline bool Eventually(const std::function<bool()>& pred) {
  const auto until = std::chrono::steady_clock::now() + kDeadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A loopback port nothing listens on (bound, then released).
inline int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline std::string PeerUrl(int port) { return "http://127.0.0.1:" + std::to_string(port); }

// A loopback port that listens but never accepts nor speaks: a connection
// attempt completes at the TCP level and then hangs, waiting for the HTTP/2
// handshake, until the dialer gives up (a black hole that stays on this
// machine).
class SilentListener {
 public:
  SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(fd_.get(), 16) != 0 ||
        ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(a.sin_port);
  }
  std::string url() const { return PeerUrl(port_); }

 private:
  UniqueFd fd_;
  int port_ = 0;
};

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object goes.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base ? base : "/tmp") + "/etcdd-transport-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline raftpb::Message Msg(uint64_t from, uint64_t to, uint64_t index,
                           raftpb::MessageType type = raftpb::MSG_APP) {
  raftpb::Message m;
  m.set_type(type);
  m.set_from(from);
  m.set_to(to);
  m.set_index(index);
  return m;
}

// One member: a Transport plus everything its handlers received.
class Member {
 public:
  // `port` 0 picks a free one. `snapshot_status` is what the SnapshotHandler returns.
  Member(Options options, Logger& logger, int port = 0, Status snapshot_status = Status::Ok())
      : snapshot_status_(std::move(snapshot_status)) {
    if (options.snapshot_dir.empty()) options.snapshot_dir = snap_dir_.path();
    auto t = Transport::Start(
        options, {Url{"http", "127.0.0.1", port}},
        [this](raftpb::Message m) {
          std::lock_guard lk(mu_);
          received_.push_back(std::move(m));
          cv_.notify_all();
        },
        [this](const raftpb::Message& m, const std::string& path) {
          auto data = ReadFile(path);
          std::filesystem::remove(path);
          std::lock_guard lk(mu_);
          snap_msgs_.push_back(m);
          snap_data_.push_back(data.ok() ? *data : "unreadable: " + data.status().ToString());
          cv_.notify_all();
          return snapshot_status_;
        },
        logger);
    if (!t.ok()) throw std::runtime_error(t.status().ToString());
    transport_ = std::move(t).value();
  }

  Transport& t() { return *transport_; }
  int port() const { return transport_->ListenPorts().at(0); }
  std::string url() const { return PeerUrl(port()); }

  // Waits until at least `n` messages arrived; returns a copy of all of them.
  std::vector<raftpb::Message> WaitReceived(size_t n) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, kDeadline, [&] { return received_.size() >= n; });
    return received_;
  }
  std::vector<raftpb::Message> Received() {
    std::lock_guard lk(mu_);
    return received_;
  }
  std::vector<std::string> SnapshotData() {
    std::lock_guard lk(mu_);
    return snap_data_;
  }
  std::vector<raftpb::Message> SnapshotMsgs() {
    std::lock_guard lk(mu_);
    return snap_msgs_;
  }
  // Where received snapshots are written (unless the options named one).
  const std::string& snapshot_dir() const { return snap_dir_.path(); }

 private:
  const Status snapshot_status_;
  TempDir snap_dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<raftpb::Message> received_;
  std::vector<raftpb::Message> snap_msgs_;
  std::vector<std::string> snap_data_;
  std::unique_ptr<Transport> transport_;
};

inline Options Opts(uint64_t id, uint64_t cluster = 0x1000) {
  Options o;
  o.member_id = id;
  o.cluster_id = cluster;
  o.min_backoff = std::chrono::milliseconds(20);
  o.max_backoff = std::chrono::milliseconds(200);
  return o;
}

// Received messages from `from`, as their index fields.
inline std::vector<uint64_t> IndexesFrom(const std::vector<raftpb::Message>& msgs, uint64_t from) {
  std::vector<uint64_t> out;
  for (const auto& m : msgs) {
    if (m.from() == from) out.push_back(m.index());
  }
  return out;
}

}  // namespace etcdd::transport::testing
