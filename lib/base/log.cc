#include "base/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

namespace etcdd {

namespace {

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kFatal:
      return "fatal";
  }
  return "info";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

}  // namespace

Logger::Logger(std::shared_ptr<spdlog::logger> impl, LogLevel level)
    : impl_(std::move(impl)), level_(level) {
  impl_->set_pattern("%v");
  impl_->flush_on(spdlog::level::trace);
}

Logger::~Logger() = default;

Result<std::unique_ptr<Logger>> Logger::Create(const std::vector<std::string>& outputs,
                                               std::string_view level) {
  LogLevel lvl;
  if (level == "debug") {
    lvl = LogLevel::kDebug;
  } else if (level == "info") {
    lvl = LogLevel::kInfo;
  } else if (level == "warn") {
    lvl = LogLevel::kWarn;
  } else if (level == "error") {
    lvl = LogLevel::kError;
  } else if (level == "panic" || level == "fatal" || level == "dpanic") {
    lvl = LogLevel::kFatal;
  } else {
    return Status::InvalidArgument("unknown log level \"" + std::string(level) + "\"");
  }
  std::vector<spdlog::sink_ptr> sinks;
  for (const auto& out : outputs) {
    if (out == "stderr" || out == "default") {
      sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    } else if (out == "stdout") {
      sinks.push_back(std::make_shared<spdlog::sinks::stdout_sink_mt>());
    } else {
      try {
        sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(out));
      } catch (const spdlog::spdlog_ex& e) {
        return Status::Internal("cannot open log output " + out + ": " + e.what());
      }
    }
  }
  if (sinks.empty()) sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto impl = std::make_shared<spdlog::logger>("etcdd", sinks.begin(), sinks.end());
  return std::unique_ptr<Logger>(new Logger(std::move(impl), lvl));
}

std::unique_ptr<Logger> Logger::Stderr(LogLevel level) {
  auto impl =
      std::make_shared<spdlog::logger>("etcdd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  return std::unique_ptr<Logger>(new Logger(std::move(impl), level));
}

void Logger::Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (level < level_) return;
  nlohmann::ordered_json line;
  line["level"] = LevelName(level);
  line["ts"] = Timestamp();
  line["msg"] = msg;
  for (const auto& [k, v] : fields) line[std::string(k)] = v;
  impl_->info(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace etcdd
