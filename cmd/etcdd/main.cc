// etcdd: one member of an etcd-compatible cluster. Parses etcd's flags,
// starts the member, serves clients until SIGTERM or SIGINT, then shuts down
// cleanly.
#include <absl/synchronization/mutex.h>
#include <grpc/support/log.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/go_text.h"
#include "base/log.h"
#include "cli/completion.h"
#include "flags.h"
#include "server/api/grpc_server.h"
#include "server/compactor.h"
#include "server/server.h"

namespace {

constexpr char kEtcddVersion[] = "0.1.0";

// gRPC's core logs through one process-wide function without user data, in
// its own plain-text format; etcdd's log is one JSON object per line, so the
// function forwards to the daemon's Logger. Set in main before gRPC starts
// and cleared before the Logger goes away.
std::atomic<etcdd::Logger*> grpc_log_target{nullptr};

void ForwardGrpcLog(gpr_log_func_args* args) {
  etcdd::Logger* log = grpc_log_target.load();
  if (log == nullptr) return;
  const std::string message = args->message;
  const std::string caller = std::string(args->file) + ":" + std::to_string(args->line);
  if (message.find("Handshake failed") != std::string::npos) {
    // A TLS handshake that failed: on a listener, a client or member with
    // a certificate this member does not trust (etcd logs these as
    // "rejected connection"), or, when dialling, a server this member does
    // not trust.
    log->Warn("TLS handshake failed; rejected connection",
              {{"error", message}, {"caller", caller}});
    return;
  }
  const etcdd::LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR  ? etcdd::LogLevel::kWarn
                                : args->severity == GPR_LOG_SEVERITY_INFO ? etcdd::LogLevel::kInfo
                                                                          : etcdd::LogLevel::kDebug;
  log->Log(level, "grpc", {{"message", message}, {"caller", caller}});
}

int Fail(etcdd::Logger& log, const char* what, const etcdd::Status& s) {
  log.Error(what, {{"error", s.message()}});
  return 1;
}

bool SignalSeen(std::mutex& mu, const int& sig) {
  std::lock_guard lock(mu);
  return sig != 0;
}

int Run(const etcdd::DaemonFlags& f, etcdd::Logger& log) {
  auto cfg = f.server;
  // A member that can no longer persist or apply exits with status 1, as
  // etcd's lg.Fatal does; the member has logged etcd's message ("failed to
  // save Raft hard state and entries", ...) at level fatal. Nothing that was
  // not persisted has been acknowledged, so there is nothing to flush.
  cfg.on_fatal = [](std::string_view, const etcdd::Status&) { _exit(1); };
  for (const auto& name : f.ignored) {
    log.Warn("flag accepted for compatibility but not acted on yet", {{"flag", "--" + name}});
  }
  // etcd logs the retention as a Go duration, a count of nanoseconds in
  // revision mode; Start refuses a value that does not parse.
  auto compaction =
      etcdd::server::ParseAutoCompaction(cfg.auto_compaction_mode, cfg.auto_compaction_retention);
  const std::string retention =
      compaction.ok() ? etcdd::GoDuration(compaction->retention) : cfg.auto_compaction_retention;
  log.Info("starting etcdd", {{"etcdd-version", kEtcddVersion},
                              {"etcd-api-version", etcdd::server::kEtcdApiVersion},
                              {"name", cfg.name},
                              {"data-dir", cfg.data_dir},
                              {"auto-compaction-mode", cfg.auto_compaction_mode},
                              {"auto-compaction-retention", retention},
                              {"auto-compaction-interval", retention}});
  // TLS files are checked before the data dir is created (auto TLS then
  // writes its certificates under it, as etcd does).
  if (auto s = etcdd::server::PrepareTls(cfg, log); !s.ok()) {
    return Fail(log, "failed to set up TLS", s);
  }
  // Bind-check before touching the data dir, as etcd opens its listeners
  // first: a port in use must not leave a half-created member behind.
  if (auto s = etcdd::server::CheckListenable(cfg.listen_peer_urls); !s.ok()) {
    return Fail(log, "failed to listen on peer URLs", s);
  }
  if (auto s = etcdd::server::CheckListenable(cfg.listen_client_urls); !s.ok()) {
    return Fail(log, "failed to listen on client URLs", s);
  }
  // A member removed from the cluster stops, as etcd's does.
  auto server = etcdd::server::EtcdServer::Start(cfg, log, [] { kill(getpid(), SIGTERM); });
  if (!server.ok()) return Fail(log, "failed to start member", server.status());

  // Stop signals are taken by one thread from now on, so that a member still
  // waiting for its cluster (no quorum yet) stops at once too.
  std::mutex mu;
  std::condition_variable cv;
  int sig = 0;  // guarded by mu
  std::thread signals([&] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int s = 0;
    sigwait(&set, &s);
    std::lock_guard lock(mu);
    sig = s;
    cv.notify_all();
  });
  auto wait_signal = [&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return sig != 0; });
    signals.join();
    return sig;
  };
  std::promise<etcdd::Status> ready_promise;
  auto ready_future = ready_promise.get_future();
  std::thread waiter([&] {
    // As etcd waits on ReadyNotify, however long the member takes to catch
    // up (receiving and installing a large backend can take minutes); a
    // signal or a fatal error ends the wait.
    etcdd::Status ready = (*server)->WaitReady(std::chrono::milliseconds(60000));
    while (!ready.ok() && (*server)->FatalError().ok() && !SignalSeen(mu, sig)) {
      log.Warn("member is not ready yet; still waiting", {{"error", ready.message()}});
      ready = (*server)->WaitReady(std::chrono::milliseconds(60000));
    }
    ready_promise.set_value(ready);
    std::lock_guard lock(mu);
    cv.notify_all();
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] {
      return sig != 0 ||
             ready_future.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    });
  }
  if (ready_future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    log.Info("received signal before the member was ready; shutting down",
             {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    (*server)->Stop();  // WaitReady returns "server stopped"
    waiter.join();
    signals.join();
    return 0;
  }
  waiter.join();
  auto ready = ready_future.get();
  if (!ready.ok()) {
    kill(getpid(), SIGTERM);  // release the signal thread
    signals.join();
    return Fail(log, "member did not become ready", ready);
  }
  auto grpc = etcdd::server::GrpcServer::Start(cfg.listen_client_urls, cfg.max_request_bytes,
                                               cfg.client_tls, **server, log);
  if (!grpc.ok()) {
    kill(getpid(), SIGTERM);
    signals.join();
    return Fail(log, "failed to serve clients", grpc.status());
  }
  log.Info("ready to serve client requests");

  sig = wait_signal();
  log.Info("received signal; shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // A leader hands over first, so the cluster does not wait out an election.
  (*server)->TransferLeadershipForStop();
  (*grpc)->Shutdown(2000);
  (*server)->Stop();
  log.Info("stopped serving");
  return 0;
}

// `etcdd __complete ...`, `etcdd __describe` and `etcdd completion SHELL`
// (cli/completion.h), or nullopt for a command line that starts the member.
std::optional<int> RunCompletion(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  if (auto code = etcdd::cli::RunHiddenEntryPoint(etcdd::DescribeDaemonFlags(), args, std::cout)) {
    return code;
  }
  if (args.size() < 2 || args[1] != etcdd::cli::kCompletionCommand) return std::nullopt;
  auto shell = etcdd::cli::ParseShell(args.size() == 3 ? args[2] : "");
  if (!shell.ok()) {
    std::cerr << "etcdd: " << shell.status().message()
              << " (usage: etcdd completion bash|zsh|fish)\n";
    return 2;
  }
  std::cout << etcdd::cli::CompletionScript(*shell, "etcdd");
  return 0;
}

}  // namespace

// jemalloc's options (WRITE_PATH.md): one arena, since a member has a few
// busy threads rather than many; per-thread caches for small sizes only; and
// unused pages returned after 1 s rather than 10 s. With them the RSS after
// compare.py's load is below glibc's (98 vs 102 MiB) while allocation stays
// cheaper.
extern "C" {
const char* malloc_conf = "narenas:1,tcache_max:4096,dirty_decay_ms:1000";
}

int main(int argc, char** argv) {
  if (auto code = RunCompletion(argc, argv)) return *code;
  // Block the stop signals before any thread starts, so every thread inherits
  // the mask and sigwait in Run receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto flags = etcdd::ParseDaemonFlags(argc, argv);
  if (!flags.ok()) {
    if (flags.status().code() == etcdd::Code::kCancelled) {
      std::cout << flags.status().message();
      return 0;
    }
    std::cerr << "etcdd: " << flags.status().message() << "\n";
    // Like etcd: 2 for a command line that does not parse, 1 for a bad
    // configuration file.
    return flags.status().code() == etcdd::Code::kInvalidArgument ? 2 : 1;
  }
  if (flags->print_version) {
    std::cout << "etcdd Version: " << kEtcddVersion << "\n"
              << "etcd API Version: " << etcdd::server::kEtcdApiVersion << "\n";
    return 0;
  }
  auto log = etcdd::Logger::Create(flags->log_outputs, flags->log_level);
  if (!log.ok()) {
    std::cerr << "etcdd: " << log.status().message() << "\n";
    return 2;
  }
  grpc_log_target.store(log->get());
  gpr_set_log_function(ForwardGrpcLog);
  // gRPC locks with absl::Mutex, and Debian builds Abseil in debug mode, whose
  // deadlock detection records every lock in a process-wide graph: about 3%
  // of a busy member's CPU (WRITE_PATH.md). etcdd's own locks are std::mutex.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const int code = Run(*flags, **log);
  grpc_log_target.store(nullptr);
  return code;
}
