// Exit statuses of the operator tools, as etcdctl defines them.
//
// A command either succeeds or fails with an exit code and a message; the
// main prints "Error: <message>" on stderr and exits with the code, exactly as
// etcdctl's ExitWithError does (etcdctl/ctlv3/command/error.go). The codes
// follow etcdctl's so scripts that branch on them keep working: 1 for errors
// in general (including every error the server returns), 128 for bad
// arguments, 4 for a valid flag with an unsupported value.
//
// ExitStatus is to a command what etcdd::Status is to a library call; it is a
// separate type because exit codes are not gRPC codes (a server's
// InvalidArgument is exit 1, a malformed argument is exit 128).
//
// Thread-safety: values; copy them freely.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "base/status.h"

namespace etcdd::cli {

// etcdctl's exit codes (error.go), same numbers.
enum class ExitCode : int {
  kSuccess = 0,
  kError = 1,
  kBadConnection = 2,
  kInvalidInput = 3,  // txn and watch input
  kBadFeature = 4,    // a valid flag with an unsupported value
  kInterrupted = 5,
  kIO = 6,
  kBadArgs = 128,
};

class [[nodiscard]] ExitStatus {
 public:
  ExitStatus() = default;
  ExitStatus(ExitCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static ExitStatus Ok() { return ExitStatus(); }
  static ExitStatus Error(std::string m) { return {ExitCode::kError, std::move(m)}; }
  static ExitStatus BadArgs(std::string m) { return {ExitCode::kBadArgs, std::move(m)}; }
  static ExitStatus BadFeature(std::string m) { return {ExitCode::kBadFeature, std::move(m)}; }
  static ExitStatus InvalidInput(std::string m) { return {ExitCode::kInvalidInput, std::move(m)}; }
  // A failed library or RPC call: exit 1 with the message unchanged, as
  // etcdctl prints err.Error() of a server error ("etcdserver: ...").
  static ExitStatus FromStatus(const Status& s) {
    return s.ok() ? Ok() : ExitStatus(ExitCode::kError, s.message());
  }

  bool ok() const { return code_ == ExitCode::kSuccess; }
  ExitCode code() const { return code_; }
  int exit_code() const { return static_cast<int>(code_); }
  const std::string& message() const { return message_; }
  // When true, the main exits with the code without printing "Error: ..."
  // (etcdctl's `endpoint status` exits 1 after its own per-endpoint lines).
  bool silent() const { return silent_; }
  ExitStatus Silenced() const {
    ExitStatus s = *this;
    s.silent_ = true;
    return s;
  }

 private:
  ExitCode code_ = ExitCode::kSuccess;
  std::string message_;
  bool silent_ = false;
};

// A value or the ExitStatus that explains why there is none.
template <typename T>
class [[nodiscard]] ExitOr {
 public:
  ExitOr(T value) : v_(std::move(value)) {}             // NOLINT: implicit by design
  ExitOr(ExitStatus status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  ExitStatus status() const { return ok() ? ExitStatus::Ok() : std::get<ExitStatus>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, ExitStatus> v_;
};

}  // namespace etcdd::cli

// Returns the ExitStatus from the enclosing function if `expr` is not ok.
#define RETURN_IF_EXIT(expr)               \
  do {                                     \
    ::etcdd::cli::ExitStatus _es = (expr); \
    if (!_es.ok()) return _es;             \
  } while (0)

// `ASSIGN_OR_EXIT(auto x, FnReturningExitOr())`.
#define ASSIGN_OR_EXIT(lhs, expr)                                                           \
  auto ETCDD_CONCAT(_eres_, __LINE__) = (expr);                                             \
  if (!ETCDD_CONCAT(_eres_, __LINE__).ok()) return ETCDD_CONCAT(_eres_, __LINE__).status(); \
  lhs = std::move(ETCDD_CONCAT(_eres_, __LINE__)).value()
