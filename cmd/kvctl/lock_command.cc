// kvctl lock (etcdctl's lock_command.go): acquires a named lock with a
// session lease of --ttl seconds (default 10) kept alive, then
//   - without a command: prints the lock's key and value (-w format) and
//     holds the lock until SIGINT or SIGTERM, then unlocks and exits 0; if
//     the session ends first (lease lost) it fails with "session expired";
//   - with a command: runs it while holding the lock, with ETCD_LOCK_KEY
//     and ETCD_LOCK_REV in its environment (variables already in kvctl's
//     environment win, as in etcdctl), unlocks, and fails with the
//     command's error ("Error: exit status 3", exit 1) if it failed.
// The lock is clientv3/concurrency's Mutex (client/concurrency.h), so kvctl
// and etcdctl processes exclude each other.
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/exec_command.h"
#include "client/concurrency.h"
#include "context.h"
#include "kv_requests.h"
#include "stop_signals.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;
using Args = std::vector<std::string>;

struct LockFlags {
  std::string ttl = "10";  // seconds, kept as text and parsed as pflag does
};

ExitStatus Fail(const Status& st) { return ExitStatus::FromStatus(st); }

// Runs `command` while the lock is held, then unlocks.
ExitStatus RunLocked(Context& ctx, client::Mutex& mutex, const Args& command) {
  cli::Environment env = ctx.env();
  env.emplace("ETCD_LOCK_KEY", mutex.key());
  env.emplace("ETCD_LOCK_REV", std::to_string(mutex.header().revision()));
  ctx.io().out.flush();
  const Status ran = cli::RunCommand(command, env);
  const Status unlocked = mutex.Unlock();
  if (!ran.ok()) return Fail(ran);
  return Fail(unlocked);
}

ExitStatus RunLock(Context& ctx, const LockFlags& flags, const Args& args) {
  ASSIGN_OR_EXIT(int64_t ttl, IntFlag("ttl", flags.ttl));
  if (args.empty()) {
    return ExitStatus::BadArgs(
        "lock takes a lock name argument and an optional command to execute");
  }
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  StopSignals signals;
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  auto session = client::Session::Create(*client, static_cast<int>(ttl));
  if (!session.ok()) return Fail(session.status());
  client::Mutex mutex(**session, args[0]);
  if (Status st = mutex.Lock(signals.token()); !st.ok()) return Fail(st);
  if (args.size() > 1) return RunLocked(ctx, mutex, Args(args.begin() + 1, args.end()));

  etcdserverpb::RangeRequest get;
  get.set_key(mutex.key());
  auto held = client->Range(get);
  if (!held.ok()) return Fail(held.status());
  if (held->kvs().empty()) return ExitStatus::Error("lock lost on init");
  RETURN_IF_EXIT(s.printer->Get(held.value()));
  ctx.io().out.flush();
  if (!(*session)->WaitDone(signals.token())) return Fail(mutex.Unlock());
  return ExitStatus::Error("session expired");
}

}  // namespace

void AddLockCommand(CLI::App* app, Context* ctx) {
  auto* cmd = app->add_subcommand("lock", "Acquires a named lock");
  auto flags = std::make_shared<LockFlags>();
  auto args = std::make_shared<Args>();
  cmd->add_option("--ttl", flags->ttl, "timeout for session");
  AddArgs(cmd, args.get(), "<lockname> [exec-command arg1 arg2 ...]");
  cmd->callback([ctx, flags, args] {
    ctx->SetAction([ctx, flags, args] { return RunLock(*ctx, *flags, *args); });
  });
}

}  // namespace etcdd::kvctl
