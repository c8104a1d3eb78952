#include "cli/progress.h"

#include <cstdio>

namespace etcdd::cli {

namespace {

constexpr int kBarWidth = 20;
constexpr auto kRedrawEvery = std::chrono::milliseconds(200);

std::string FormatSeconds(double s) {
  long long secs = static_cast<long long>(s + 0.5);
  char buf[32];
  if (secs >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", secs / 3600, secs / 60 % 60);
  } else if (secs >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", secs / 60, secs % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%llds", secs);
  }
  return buf;
}

}  // namespace

std::string FormatBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  }
  return buf;
}

std::string FormatProgress(uint64_t done, uint64_t total, std::chrono::nanoseconds elapsed) {
  const double secs = std::chrono::duration<double>(elapsed).count();
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  std::string line;
  if (total > 0) {
    const double frac =
        done >= total ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
    const int filled = static_cast<int>(frac * kBarWidth);
    line = "[" + std::string(filled, '=') + (filled < kBarWidth ? ">" : "") +
           std::string(kBarWidth - filled - (filled < kBarWidth ? 1 : 0), ' ') + "] ";
    char pct[8];
    std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(frac * 100));
    line += pct + std::string("  ") + FormatBytes(done) + " / " + FormatBytes(total);
  } else {
    line = FormatBytes(done);
  }
  line += "  " + FormatBytes(static_cast<uint64_t>(rate)) + "/s";
  if (total > done && rate > 0) {
    line += "  ETA " + FormatSeconds(static_cast<double>(total - done) / rate);
  }
  return line;
}

ProgressBar::ProgressBar(std::ostream& out, bool enabled)
    : out_(out), enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

void ProgressBar::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  bool complete = total > 0 && done >= total;
  if (drawn_ && !complete && now - last_draw_ < kRedrawEvery) return;
  std::string line = FormatProgress(done, total, now - start_);
  // Pad over what a longer previous line left on the terminal.
  size_t width = line.size();
  if (width < last_width_) line.append(last_width_ - width, ' ');
  out_ << "\r" << line << std::flush;
  last_width_ = width;
  last_draw_ = now;
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!enabled_ || !drawn_) return;
  out_ << "\n" << std::flush;
  drawn_ = false;
}

}  // namespace etcdd::cli
