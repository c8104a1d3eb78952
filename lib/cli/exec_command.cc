#include "cli/exec_command.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "cli/go_format.h"

namespace etcdd::cli {

namespace {

// Go's names of the Linux signals (syscall.Signal.String()).
constexpr std::array<const char*, 32> kSignalNames = {
    "",
    "hangup",
    "interrupt",
    "quit",
    "illegal instruction",
    "trace/breakpoint trap",
    "aborted",
    "bus error",
    "floating point exception",
    "killed",
    "user defined signal 1",
    "segmentation fault",
    "user defined signal 2",
    "broken pipe",
    "alarm clock",
    "terminated",
    "stack fault",
    "child exited",
    "continued",
    "stopped (signal)",
    "stopped",
    "stopped (tty input)",
    "stopped (tty output)",
    "urgent I/O condition",
    "CPU time limit exceeded",
    "file size limit exceeded",
    "virtual timer expired",
    "profiling timer expired",
    "window changed",
    "I/O possible",
    "power failure",
    "bad system call",
};

// Go's syscall.Errno strings are strerror's with a lower-case first letter.
std::string ErrnoText(int err) {
  std::string s = std::strerror(err);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

// exec.LookPath's findExecutable: a regular file with an execute bit.
int FindExecutable(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if ((st.st_mode & 0111) == 0) return EACCES;
  return 0;
}

// exec.Command's lookup of a bare name in $PATH. Errors with Go's text.
Result<std::string> LookPath(const std::string& file, const Environment& env) {
  auto error = [&file](const char* why) {
    return Status(Code::kNotFound, "exec: " + GoQuote(file) + ": " + why);
  };
  auto it = env.find("PATH");
  const std::string path = it == env.end() ? "" : it->second;
  if (path.empty()) return error("executable file not found in $PATH");
  size_t start = 0;
  while (true) {
    const size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + file;
    if (FindExecutable(candidate) == 0) {
      if (dir[0] != '/') return error("cannot run executable found relative to current directory");
      return candidate;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return error("executable file not found in $PATH");
}

// posix_spawn attributes: signals unblocked and at their defaults, stdin
// from /dev/null. Owns the attribute objects.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawnattr_init(&attr_);
    posix_spawn_file_actions_init(&actions_);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr_, &none);
    posix_spawnattr_setsigdefault(&attr_, &defaults);
    posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_addopen(&actions_, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  const posix_spawnattr_t* attr() const { return &attr_; }
  const posix_spawn_file_actions_t* actions() const { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

}  // namespace

std::string WaitStatusText(int wait_status) {
  if (WIFEXITED(wait_status)) {
    const int code = WEXITSTATUS(wait_status);
    return code == 0 ? "" : "exit status " + std::to_string(code);
  }
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    std::string name = sig > 0 && sig < static_cast<int>(kSignalNames.size())
                           ? kSignalNames[sig]
                           : "signal " + std::to_string(sig);
    std::string text = "signal: " + name;
    if (WCOREDUMP(wait_status)) text += " (core dumped)";
    return text;
  }
  return "unknown wait status " + std::to_string(wait_status);
}

Status RunCommand(const std::vector<std::string>& argv, const Environment& env) {
  if (argv.empty()) return Status::InvalidArgument("no command to run");
  std::string path = argv[0];
  if (path.find('/') == std::string::npos && !path.empty()) {
    ASSIGN_OR_RETURN(path, LookPath(path, env));
  }
  std::vector<std::string> env_lines;
  for (const auto& [name, value] : env) env_lines.push_back(name + "=" + value);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env_lines) envp.push_back(e.data());
  envp.push_back(nullptr);

  SpawnSetup setup;
  pid_t pid = 0;
  const int err =
      posix_spawn(&pid, path.c_str(), setup.actions(), setup.attr(), args.data(), envp.data());
  if (err != 0) {
    return Status(Code::kFailedPrecondition, "fork/exec " + path + ": " + ErrnoText(err));
  }
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) return Status(Code::kInternal, "wait: " + ErrnoText(errno));
  }
  const std::string text = WaitStatusText(wait_status);
  return text.empty() ? Status::Ok() : Status(Code::kUnknown, text);
}

}  // namespace etcdd::cli
