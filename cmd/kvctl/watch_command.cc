// kvctl watch (etcdctl's watch_command.go): watches a key or range and prints
// every response in the -w format; with "-- COMMAND" runs the command once
// per event with ETCD_WATCH_REVISION, ETCD_WATCH_EVENT_TYPE, ETCD_WATCH_KEY
// and ETCD_WATCH_VALUE set (Go-quoted, as etcdctl sets them); with -i reads
// "watch ..." and "progress" commands from stdin.
//
// As etcdctl: a watch the server cancels (a compacted start revision) prints
// "watch was canceled (<reason>)" on stderr and exits 5 "watch is canceled by
// the server"; a failing command prints `command ["cmd" "arg"] error (exit
// status 1)` and exits 1; interactive mode exits 3 when stdin ends. SIGINT
// and SIGTERM end kvctl at once, as they end etcdctl.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "cli/exec_command.h"
#include "cli/go_format.h"
#include "client/watch.h"
#include "context.h"
#include "kv_requests.h"
#include "txn_parser.h"
#include "watch_args.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitCode;
using cli::ExitStatus;
using Args = std::vector<std::string>;

// The environment's WATCH_KEY and WATCH_RANGE_END, KVCTL_ before ETCDCTL_.
struct WatchEnv {
  std::string key, key_name;
  std::string range_end, range_end_name;
};

WatchEnv ReadWatchEnv(const cli::Environment& env) {
  WatchEnv w;
  for (const char* prefix : {"ETCDCTL_", "KVCTL_"}) {
    auto key = env.find(std::string(prefix) + "WATCH_KEY");
    if (key != env.end() && !key->second.empty()) w.key = key->second;
    auto end = env.find(std::string(prefix) + "WATCH_RANGE_END");
    if (end != env.end() && !end->second.empty()) {
      w.range_end = end->second;
      w.range_end_name = end->first;
    }
  }
  return w;
}

// Prints watch responses and runs the per-event command; shared by the
// watches of interactive mode, hence the lock.
class WatchPrinter {
 public:
  WatchPrinter(Context& ctx, cli::Printer& printer) : ctx_(ctx), printer_(printer) {}

  // etcdctl's printWatchCh: prints every response of watch `handle` until
  // it ends. Returns what ends the program early (an unsupported format, a
  // failing command); Ok when the watch ended.
  ExitStatus Follow(client::Watcher& watcher, int handle, const Args& exec) {
    client::WatchResponse r;
    while (watcher.Next(handle, &r)) {
      RETURN_IF_EXIT(Print(r));
      for (const auto& ev : r.response.events()) RETURN_IF_EXIT(Exec(exec, r, ev));
    }
    return ExitStatus::Ok();
  }

 private:
  ExitStatus Print(const client::WatchResponse& r) {
    std::lock_guard lock(mu_);
    Io& io = ctx_.io();
    if (r.response.canceled()) io.err << "watch was canceled (" << r.err.message() << ")\n";
    if (r.IsProgressNotify()) {
      io.out << "progress notify: " << r.response.header().revision() << "\n";
    }
    ExitStatus st = printer_.Watch(r.response);
    io.out.flush();
    io.err.flush();
    return st;
  }

  ExitStatus Exec(const Args& exec, const client::WatchResponse& r, const mvccpb::Event& ev) {
    if (exec.empty()) return ExitStatus::Ok();
    cli::Environment env = ctx_.env();
    env["ETCD_WATCH_REVISION"] = std::to_string(r.response.header().revision());
    env["ETCD_WATCH_EVENT_TYPE"] = GoQuote(cli::EventTypeName(ev));
    env["ETCD_WATCH_KEY"] = GoQuote(ev.kv().key());
    env["ETCD_WATCH_VALUE"] = GoQuote(ev.kv().value());
    Status st = cli::RunCommand(exec, env);
    if (st.ok()) return ExitStatus::Ok();
    std::string quoted;
    for (const auto& a : exec) quoted += (quoted.empty() ? "" : " ") + GoQuote(a);
    std::lock_guard lock(mu_);
    ctx_.io().err << "command [" << quoted << "] error (" << st.message() << ")\n";
    return ExitStatus(ExitCode::kError, "").Silenced();
  }

  Context& ctx_;
  cli::Printer& printer_;
  std::mutex mu_;
};

ExitStatus RunInteractive(Context& ctx, Session& s, const WatchEnv& wenv);

ExitStatus RunWatch(Context& ctx, const WatchFlags& flags, const Args& args) {
  RETURN_IF_EXIT(IntFlag("rev", flags.rev).status());
  const WatchEnv wenv = ReadWatchEnv(ctx.env());
  if (wenv.key.empty() && !wenv.range_end.empty()) {
    const std::string key_name =
        wenv.range_end_name.substr(0, wenv.range_end_name.find('_')) + "_WATCH_KEY";
    return ExitStatus::BadArgs(key_name + " is empty but got " + wenv.range_end_name + "=" +
                               GoQuote(wenv.range_end));
  }
  if (flags.interactive) {
    ASSIGN_OR_EXIT(Session s, ctx.Prepare());
    return RunInteractive(ctx, s, wenv);
  }
  ASSIGN_OR_EXIT(WatchArgs wargs, ParseWatchArgs(ctx.ArgsAfter("watch"), args, wenv.key,
                                                 wenv.range_end, false, nullptr));
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto request, BuildWatchRequest(flags, wargs.watch));
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  client::Watcher watcher(*client, /*require_leader=*/true);
  WatchPrinter printer(ctx, *s.printer);
  RETURN_IF_EXIT(printer.Follow(watcher, watcher.Watch(request), wargs.exec));
  return ExitStatus(ExitCode::kInterrupted, "watch is canceled by the server");
}

// Ends the process from a watch thread, as etcdctl's os.Exit / ExitWithError
// do from a goroutine.
[[noreturn]] void ExitNow(Context& ctx, const ExitStatus& st) {
  if (!st.silent()) ctx.io().err << "Error: " << st.message() << "\n";
  ctx.io().out.flush();
  ctx.io().err.flush();
  std::_Exit(st.exit_code());
}

// etcdctl's watchInteractiveFunc: one line at a time until stdin ends.
ExitStatus ReadCommands(Context& ctx, client::Watcher& watcher, WatchPrinter& printer,
                        const WatchEnv& wenv, std::vector<std::jthread>* followers);

ExitStatus RunInteractive(Context& ctx, Session& s, const WatchEnv& wenv) {
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  client::Watcher watcher(*client, /*require_leader=*/true);
  WatchPrinter printer(ctx, *s.printer);
  std::vector<std::jthread> followers;
  ExitStatus st = ReadCommands(ctx, watcher, printer, wenv, &followers);
  watcher.Close();  // ends the followers' watches before they are joined
  followers.clear();
  return st;
}

ExitStatus ReadCommands(Context& ctx, client::Watcher& watcher, WatchPrinter& printer,
                        const WatchEnv& wenv, std::vector<std::jthread>* followers) {
  Io& io = ctx.io();
  std::string line;
  while (true) {
    // bufio's ReadString('\n'): a last line without a newline is an error.
    if (!std::getline(io.in, line) || io.in.eof()) {
      return ExitStatus::InvalidInput("Error reading watch request line: EOF");
    }
    ASSIGN_OR_EXIT(Args args, Argify(line));
    if (args.empty()) {
      io.err << "Invalid command: " << line << " (watch and progress supported)\n" << std::flush;
      continue;
    }
    if (args[0] == "progress") {
      if (Status st = watcher.RequestProgress(); !st.ok()) return ExitStatus::FromStatus(st);
      continue;
    }
    if (args[0] != "watch") {
      io.err << "Invalid command " << line << " (only support watch)\n" << std::flush;
      continue;
    }
    if (args.size() < 2 && wenv.key.empty()) {
      io.err << "Invalid command " << line << " (command type or key is not provided)\n"
             << std::flush;
      continue;
    }
    WatchFlags flags;
    ASSIGN_OR_EXIT(WatchArgs wargs,
                   ParseWatchArgs({}, args, wenv.key, wenv.range_end, true, &flags));
    auto request = BuildWatchRequest(flags, wargs.watch);
    if (!request.ok()) {
      io.err << "Invalid command " << line << " (" << request.status().message() << ")\n"
             << std::flush;
      continue;
    }
    const int handle = watcher.Watch(request.value());
    followers->emplace_back([&ctx, &printer, &watcher, handle, exec = wargs.exec] {
      ExitStatus st = printer.Follow(watcher, handle, exec);
      if (!st.ok()) ExitNow(ctx, st);
    });
  }
}

}  // namespace

void AddWatchCommand(CLI::App* app, Context* ctx) {
  auto* cmd = app->add_subcommand("watch", "Watches events stream on keys or prefixes");
  auto flags = std::make_shared<WatchFlags>();
  auto args = std::make_shared<Args>();
  AddWatchFlags(cmd, flags.get());
  AddArgs(cmd, args.get(), "[key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]");
  cmd->callback([ctx, flags, args] {
    ctx->flags().RecognizeEnvironment("watch-key");
    ctx->flags().RecognizeEnvironment("watch-range-end");
    ctx->SetAction([ctx, flags, args] { return RunWatch(*ctx, *flags, *args); });
  });
}

}  // namespace etcdd::kvctl
