#include "cli/table_writer.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <regex>

#include "cli/go_format.h"

namespace etcdd::cli {

namespace {

constexpr size_t kMaxCellWidth = 30;  // tablewriter's MAX_ROW_WIDTH

std::vector<std::string> SplitOn(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::string TrimSpace(const std::string& s) {
  const char* ws = " \t\n\v\f\r";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::string Spaces(size_t n) { return std::string(n, ' '); }

std::string PadCenter(const std::string& s, size_t width) {
  size_t w = DisplayWidth(s);
  if (w >= width) return s;
  size_t gap = width - w;
  return Spaces(gap / 2) + s + Spaces(gap - gap / 2);
}

std::string PadLeft(const std::string& s, size_t width) {
  size_t w = DisplayWidth(s);
  return w >= width ? s : Spaces(width - w) + s;
}

std::string PadRight(const std::string& s, size_t width) {
  size_t w = DisplayWidth(s);
  return w >= width ? s : s + Spaces(width - w);
}

bool LooksNumeric(const std::string& s) {
  static const std::regex kDecimal(R"(^-?(?:\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?$)");
  return std::regex_match(TrimSpace(s), kDecimal);
}

// tablewriter's WrapWords: minimum-raggedness line breaking.
std::vector<std::vector<std::string>> WrapWords(const std::vector<std::string>& words,
                                                int64_t limit) {
  constexpr int64_t kPenalty = 100000;
  const size_t n = words.size();
  std::vector<std::vector<int64_t>> length(n, std::vector<int64_t>(n, 0));
  for (size_t i = 0; i < n; ++i) {
    length[i][i] = static_cast<int64_t>(DisplayWidth(words[i]));
    for (size_t j = i + 1; j < n; ++j) {
      length[i][j] = length[i][j - 1] + 1 + static_cast<int64_t>(DisplayWidth(words[j]));
    }
  }
  std::vector<size_t> next_break(n, 0);
  std::vector<int64_t> cost(n, INT32_MAX);
  for (size_t k = n; k-- > 0;) {
    if (length[k][n - 1] <= limit) {
      cost[k] = 0;
      next_break[k] = n;
      continue;
    }
    for (size_t j = k + 1; j < n; ++j) {
      int64_t d = limit - length[k][j - 1];
      int64_t c = d * d + cost[j];
      if (length[k][j - 1] > limit) c += kPenalty;
      if (c < cost[k]) {
        cost[k] = c;
        next_break[k] = j;
      }
    }
  }
  std::vector<std::vector<std::string>> lines;
  for (size_t i = 0; i < n;) {
    size_t end = std::max(next_break[i], i + 1);
    lines.emplace_back(words.begin() + static_cast<std::ptrdiff_t>(i),
                       words.begin() + static_cast<std::ptrdiff_t>(end));
    i = end;
  }
  return lines;
}

}  // namespace

std::string TableTitle(const std::string& name) {
  std::string s = name;
  auto num_or_space = [](char c) { return (c >= '0' && c <= '9') || c == ' '; };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      s[i] = ' ';
    } else if (s[i] == '.') {
      bool prev = i != 0 && !num_or_space(s[i - 1]);
      bool next = i != s.size() - 1 && !num_or_space(s[i + 1]);
      if (prev || next) s[i] = ' ';
    }
  }
  s = TrimSpace(s);
  if (s.empty() && !name.empty()) s = " ";
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; });
  return s;
}

std::vector<std::string> WrapString(const std::string& s, size_t limit) {
  std::string flat = s;
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  std::vector<std::string> words = SplitOn(flat, ' ');
  for (const auto& w : words) limit = std::max(limit, DisplayWidth(w));
  std::vector<std::string> lines;
  for (const auto& line : WrapWords(words, static_cast<int64_t>(limit))) {
    std::string joined;
    for (size_t i = 0; i < line.size(); ++i) joined += (i > 0 ? " " : "") + line[i];
    lines.push_back(joined);
  }
  return lines;
}

std::vector<std::string> TableWriter::ParseCell(const std::string& text, int column, int row) {
  std::vector<std::string> raw = SplitOn(text, '\n');
  size_t max_width = 0;
  for (const auto& line : raw) max_width = std::max(max_width, DisplayWidth(line));
  max_width = std::min(max_width, kMaxCellWidth);
  // Reflow: the cell's lines are joined and wrapped again as one paragraph.
  std::string para;
  for (size_t i = 0; i < raw.size(); ++i) para += (i > 0 ? " " : "") + raw[i];
  std::vector<std::string> lines = WrapString(para, max_width);
  for (const auto& line : lines) max_width = std::max(max_width, DisplayWidth(line));

  auto cw = column_width_.find(column);
  if (cw == column_width_.end() || cw->second < max_width || cw->second == 0) {
    column_width_[column] = max_width;
  }
  auto rh = row_height_.find(row);
  if (rh == row_height_.end() || rh->second < lines.size() || rh->second == 0) {
    row_height_[row] = lines.size();
  }
  return lines;
}

void TableWriter::SetHeader(const std::vector<std::string>& header) {
  for (size_t i = 0; i < header.size(); ++i) {
    header_.push_back(ParseCell(header[i], static_cast<int>(i), -1));
  }
}

void TableWriter::Append(const std::vector<std::string>& row) {
  const int index = static_cast<int>(rows_.size());
  std::vector<std::vector<std::string>> cells;
  for (size_t i = 0; i < row.size(); ++i) {
    cells.push_back(ParseCell(row[i], static_cast<int>(i), index));
  }
  rows_.push_back(std::move(cells));
}

void TableWriter::RenderLine(std::string* out) const {
  *out += '+';
  for (size_t i = 0; i < column_width_.size(); ++i) {
    *out += std::string(column_width_.at(static_cast<int>(i)) + 2, '-') + "+";
  }
  *out += '\n';
}

void TableWriter::RenderHeader(std::string* out) const {
  if (header_.empty()) return;
  const size_t height = row_height_.at(-1);
  for (size_t x = 0; x < height; ++x) {
    *out += '|';
    for (size_t y = 0; y < column_width_.size(); ++y) {
      std::string h = y < header_.size() && x < header_[y].size() ? header_[y][x] : "";
      *out += " " + PadCenter(TableTitle(h), column_width_.at(static_cast<int>(y))) + " |";
    }
    *out += '\n';
  }
  RenderLine(out);
}

void TableWriter::RenderRow(std::vector<std::vector<std::string>> cells, int row,
                            std::string* out) const {
  const size_t height = row_height_.at(row);
  for (auto& cell : cells) cell.resize(std::max(cell.size(), height), "  ");
  for (size_t x = 0; x < height; ++x) {
    for (size_t y = 0; y < cells.size(); ++y) {
      const std::string& s = cells[y][x];
      size_t width = column_width_.at(static_cast<int>(y));
      std::string padded;
      switch (align_) {
        case Align::kCenter:
          padded = PadCenter(s, width);
          break;
        case Align::kRight:
          padded = PadLeft(s, width);
          break;
        case Align::kLeft:
          padded = PadRight(s, width);
          break;
        case Align::kDefault:
          padded = LooksNumeric(s) ? PadLeft(s, width) : PadRight(s, width);
          break;
      }
      *out += "| " + padded + " ";
    }
    *out += "|\n";
  }
}

std::string TableWriter::Render() const {
  std::string out;
  RenderLine(&out);
  RenderHeader(&out);
  for (size_t i = 0; i < rows_.size(); ++i) RenderRow(rows_[i], static_cast<int>(i), &out);
  RenderLine(&out);
  return out;
}

}  // namespace etcdd::cli
