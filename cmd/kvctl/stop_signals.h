// SIGINT and SIGTERM as a stop request, for the commands that must let go of
// what they hold when interrupted: `lock` unlocks, `elect` resigns (etcdctl's
// signal.Notify in lock_command.go and elect_command.go). Other commands keep
// the default action: a signal ends them at once, as it ends etcdctl.
//
//   StopSignals signals;            // before the client starts any thread
//   mutex.Lock(signals.token());    // a signal cancels the wait
//
// The constructor blocks both signals in the calling thread, which every
// thread started later inherits, so it must run before the first gRPC
// thread exists (i.e. before connecting); a thread of its own then receives
// them. Every signal after the first is absorbed, as in etcdctl. Commands
// run with cli::RunCommand get the signals unblocked again.
//
// Thread-safety: token() may be called from any thread. One per process.
#pragma once

#include <stop_token>
#include <thread>

namespace etcdd::kvctl {

class StopSignals {
 public:
  StopSignals();
  // Stops the receiving thread; the signals stay blocked.
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  std::stop_token token() const { return source_.get_token(); }

 private:
  void Receive();

  std::stop_source source_;
  int signal_fd_ = -1;
  int wake_fd_ = -1;  // eventfd that ends Receive
  std::thread thread_;
};

}  // namespace etcdd::kvctl
