// Structured logging, one JSON object per line as etcd's zap logger writes
// them: {"level":"info","ts":"2026-11-21T07:20:00.123Z","msg":"...",...}.
//
// A Logger is created once by a main and passed down by reference; there is
// no global logger. Thread-safe: spdlog sinks serialize writes.
#pragma once

#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace spdlog {
class logger;
}

namespace etcdd {

enum class LogLevel { kDebug, kInfo, kWarn, kError, kFatal };

// One key/value field of a log line.
using LogField = std::pair<std::string_view, nlohmann::json>;

class Logger {
 public:
  // `outputs` are etcd's --log-outputs: "stderr", "stdout" or file paths.
  // `level` is etcd's --log-level: debug, info, warn, error, panic, fatal.
  // Errors: InvalidArgument for an unknown level, IOError for a file that
  // cannot be opened.
  static Result<std::unique_ptr<Logger>> Create(const std::vector<std::string>& outputs,
                                                std::string_view level);
  // A logger that drops everything below `level`, writing to stderr; for tests.
  static std::unique_ptr<Logger> Stderr(LogLevel level = LogLevel::kWarn);

  ~Logger();

  void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
  void Debug(std::string_view msg, std::initializer_list<LogField> f = {}) {
    Log(LogLevel::kDebug, msg, f);
  }
  void Info(std::string_view msg, std::initializer_list<LogField> f = {}) {
    Log(LogLevel::kInfo, msg, f);
  }
  void Warn(std::string_view msg, std::initializer_list<LogField> f = {}) {
    Log(LogLevel::kWarn, msg, f);
  }
  void Error(std::string_view msg, std::initializer_list<LogField> f = {}) {
    Log(LogLevel::kError, msg, f);
  }

 private:
  Logger(std::shared_ptr<spdlog::logger> impl, LogLevel level);
  std::shared_ptr<spdlog::logger> impl_;
  LogLevel level_;
};

}  // namespace etcdd
