// A one-line progress bar for long transfers, drawn on a terminal only.
//
// Tools show progress the way restic does: when the stream is a terminal,
// one line redrawn in place ("\r") at most a few times a second; on a pipe
// or a file, nothing at all, so logs and scripts see only the result.
// Whether the stream is a terminal is the caller's to decide (isatty on its
// file descriptor); a ProgressBar made with `enabled` false never writes.
//
// Thread-safety: none; one bar per stream, updated from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace etcdd::cli {

// "12.3 MiB", "512 B": binary units, one decimal above bytes.
std::string FormatBytes(uint64_t bytes);

// The text of one progress line: bytes done of total (total 0: unknown),
// percentage, rate and time left, e.g.
// "[=========>          ]  48%  24.0 MiB / 50.0 MiB  8.0 MiB/s  ETA 3s".
// `elapsed` is the time since the transfer began.
std::string FormatProgress(uint64_t done, uint64_t total, std::chrono::nanoseconds elapsed);

class ProgressBar {
 public:
  ProgressBar(std::ostream& out, bool enabled);

  // Redraws the line with `done` of `total` bytes, at most every 200 ms
  // (the first and the completing update always draw).
  void Update(uint64_t done, uint64_t total);
  // Ends the line (a newline after the last drawing), if anything was drawn.
  void Finish();

 private:
  std::ostream& out_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
  size_t last_width_ = 0;
};

}  // namespace etcdd::cli
