// Status and Result: errors as values.
//
// Every fallible function in lib/ returns a Status or a Result<T>; exceptions
// never cross a library boundary. Status codes are gRPC's canonical codes, so
// the server maps a Status onto the wire without a translation table, and
// messages that reach clients carry etcd's exact strings
// ("etcdserver: key is not provided", ...).
//
// Thread-safety: values; copy them freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace etcdd {

// gRPC canonical status codes, same numbers, plus codes of our own above
// gRPC's range (the server maps those onto a gRPC code before replying).
enum class Code : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
  // A system call failed (LevelDB's IOError); Status::sys_errno() keeps the
  // errno. Not a gRPC code: the server replies INTERNAL for it, as it did
  // before this code existed.
  kIOError = 100,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }
  static Status OutOfRange(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Unimplemented(std::string m) { return {Code::kUnimplemented, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
  // On-disk or on-wire data failed a check. `where` names the file (and the
  // byte offset) so an operator can find it: "wal/0000...wal at offset 4096".
  // Code kDataLoss; message "<what> (<where>)". file() returns `where`.
  static Status Corruption(const std::string& what, const std::string& where) {
    Status s(Code::kDataLoss, what + " (" + where + ")");
    s.file_ = where;
    return s;
  }
  // As above, with the file and the byte offset as separate fields (file(),
  // offset()); the message reads "<what> (<file> at offset <offset>)".
  static Status Corruption(const std::string& what, const std::string& file, uint64_t offset);
  // A system call failed; `err` is errno, kept as sys_errno(). Code kIOError;
  // the message reads "<context>: <strerror(err)>".
  static Status IOError(const std::string& context, int err);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The errno of an IOError; 0 for any other status.
  int sys_errno() const { return errno_; }
  // The file a Corruption names ("" if none or another code).
  const std::string& file() const { return file_; }
  // The byte offset in file() of a Corruption made with one, else nullopt.
  std::optional<uint64_t> offset() const { return offset_; }
  // True for Code::kIOError carrying errno `err`.
  bool IsIOError(int err) const { return code_ == Code::kIOError && errno_ == err; }
  // "OK" or "<CODE_NAME>: <message>", for logs.
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context + ": "`; the code,
  // errno, file and offset are kept.
  Status Annotate(const std::string& context) const {
    if (ok()) return *this;
    Status s = *this;
    s.message_ = context + ": " + message_;
    return s;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
  int errno_ = 0;
  std::string file_;
  std::optional<uint64_t> offset_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace etcdd

#define ETCDD_CONCAT_INNER(a, b) a##b
#define ETCDD_CONCAT(a, b) ETCDD_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not ok.
#define RETURN_IF_ERROR(expr)     \
  do {                            \
    ::etcdd::Status _st = (expr); \
    if (!_st.ok()) return _st;    \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, FnReturningResult())`.
#define ASSIGN_OR_RETURN(lhs, expr)                                                       \
  auto ETCDD_CONCAT(_res_, __LINE__) = (expr);                                            \
  if (!ETCDD_CONCAT(_res_, __LINE__).ok()) return ETCDD_CONCAT(_res_, __LINE__).status(); \
  lhs = std::move(ETCDD_CONCAT(_res_, __LINE__)).value()
