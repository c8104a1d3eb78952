// Go's time.Duration and strconv number parsing and printing; see go_text.h.
#include "base/go_text.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace etcdd {

namespace {

enum class NumError { kNone, kSyntax, kRange };

struct UintParse {
  uint64_t value = 0;
  NumError error = NumError::kNone;
};

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int DigitValue(char c) {
  c = Lower(c);
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  return 99;
}

// strconv.ParseUint's core: prefixes for base 0, digits, overflow.
UintParse ParseUintCore(std::string_view s, int base) {
  if (s.empty()) return {0, NumError::kSyntax};
  bool base0 = base == 0;
  if (base0) {
    base = 10;
    if (s[0] == '0') {
      char p = s.size() >= 3 ? Lower(s[1]) : 0;
      base = p == 'b' ? 2 : p == 'o' ? 8 : p == 'x' ? 16 : 8;
      s.remove_prefix(p == 'b' || p == 'o' || p == 'x' ? 2 : 1);
    }
  }
  uint64_t n = 0;
  bool range_error = false;
  for (char c : s) {
    if (c == '_' && base0) continue;
    int d = DigitValue(c);
    if (d >= base) return {0, NumError::kSyntax};
    if (n > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      range_error = true;
      n = UINT64_MAX;
      continue;
    }
    n = n * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return {n, range_error ? NumError::kRange : NumError::kNone};
}

Status NumErrorStatus(std::string_view fn, std::string_view s, NumError e) {
  return Status::InvalidArgument(
      "strconv." + std::string(fn) + ": parsing " + GoQuote(s) + ": " +
      (e == NumError::kSyntax ? "invalid syntax" : "value out of range"));
}

Status InvalidDuration(std::string_view orig) {
  return Status::InvalidArgument("time: invalid duration " + GoQuote(orig));
}

int64_t UnitNanos(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xc2\xb5s" || u == "\xce\xbcs") return 1000;
  if (u == "ms") return 1000000;
  if (u == "s") return 1000000000;
  if (u == "m") return 60LL * 1000000000;
  if (u == "h") return 3600LL * 1000000000;
  return 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

constexpr uint64_t kMaxDuration = uint64_t{1} << 63;

// One "<number>[.<fraction>]<unit>" of a Go duration at the front of *s, in
// nanoseconds (time.ParseDuration's loop body); consumes it.
Result<uint64_t> ParseDurationComponent(std::string_view* s, std::string_view orig) {
  std::string_view& in = *s;
  if (!(in[0] == '.' || IsDigit(in[0]))) return InvalidDuration(orig);
  uint64_t v = 0;
  size_t i = 0;
  for (; i < in.size() && IsDigit(in[i]); ++i) {
    if (v > (kMaxDuration - static_cast<uint64_t>(in[i] - '0')) / 10) return InvalidDuration(orig);
    v = v * 10 + static_cast<uint64_t>(in[i] - '0');
  }
  const bool pre = i > 0;
  in.remove_prefix(i);
  uint64_t frac = 0;
  double scale = 1;
  bool post = false;
  if (!in.empty() && in[0] == '.') {
    in.remove_prefix(1);
    size_t j = 0;
    bool overflow = false;
    for (; j < in.size() && IsDigit(in[j]); ++j) {
      overflow = overflow || frac > (kMaxDuration - 1) / 10;
      if (overflow) continue;
      frac = frac * 10 + static_cast<uint64_t>(in[j] - '0');
      scale *= 10;
    }
    post = j > 0;
    in.remove_prefix(j);
  }
  if (!pre && !post) return InvalidDuration(orig);
  size_t u = 0;
  while (u < in.size() && in[u] != '.' && !IsDigit(in[u])) ++u;
  if (u == 0) return Status::InvalidArgument("time: missing unit in duration " + GoQuote(orig));
  const int64_t unit = UnitNanos(in.substr(0, u));
  if (unit == 0) {
    return Status::InvalidArgument("time: unknown unit " + GoQuote(in.substr(0, u)) +
                                   " in duration " + GoQuote(orig));
  }
  in.remove_prefix(u);
  const auto unit_u = static_cast<uint64_t>(unit);
  if (v > kMaxDuration / unit_u) return InvalidDuration(orig);
  v *= unit_u;
  if (frac > 0) {
    v += static_cast<uint64_t>(static_cast<double>(frac) * (static_cast<double>(unit) / scale));
    if (v > kMaxDuration) return InvalidDuration(orig);
  }
  return v;
}

// Appends the fraction v / 10^prec without trailing zeros (Go's fmtFrac) and
// returns v / 10^prec.
uint64_t PrependFraction(uint64_t v, int prec, std::string* out) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  if (print) out->insert(0, "." + digits);
  return v;
}

constexpr char kHex[] = "0123456789abcdef";

bool InRanges(char32_t r, std::initializer_list<std::pair<char32_t, char32_t>> ranges) {
  for (const auto& [lo, hi] : ranges) {
    if (r >= lo && r <= hi) return true;
  }
  return false;
}

// Go's unicode.IsPrint for the categories that matter in practice: C (controls
// and format characters), Z other than U+0020 (separators), Co (private use).
bool IsPrintRune(char32_t r) {
  if (r < 0x20 || (r >= 0x7f && r < 0xa0)) return false;
  return !InRanges(r,
                   {{0xa0, 0xa0},       {0xad, 0xad},       {0x600, 0x605},     {0x61c, 0x61c},
                    {0x6dd, 0x6dd},     {0x70f, 0x70f},     {0x1680, 0x1680},   {0x180e, 0x180e},
                    {0x2000, 0x200f},   {0x2028, 0x202f},   {0x205f, 0x2064},   {0x2066, 0x206f},
                    {0x3000, 0x3000},   {0xd800, 0xf8ff},   {0xfeff, 0xfeff},   {0xfff9, 0xfffb},
                    {0x110bd, 0x110bd}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe007f},
                    {0xf0000, 0x10ffff}});
}

bool IsWideRune(char32_t r) {
  return InRanges(r, {{0x1100, 0x115f},
                      {0x2e80, 0x303e},
                      {0x3041, 0x33ff},
                      {0x3400, 0x4dbf},
                      {0x4e00, 0x9fff},
                      {0xa000, 0xa4cf},
                      {0xac00, 0xd7a3},
                      {0xf900, 0xfaff},
                      {0xfe30, 0xfe4f},
                      {0xff00, 0xff60},
                      {0xffe0, 0xffe6},
                      {0x1f300, 0x1f64f},
                      {0x1f900, 0x1f9ff},
                      {0x20000, 0x3fffd}});
}

bool IsZeroWidthRune(char32_t r) {
  return r < 0x20 || (r >= 0x7f && r < 0xa0) ||
         InRanges(r, {{0x300, 0x36f}, {0x200b, 0x200f}, {0xfe00, 0xfe0f}, {0x20d0, 0x20ff}});
}

void AppendQuotedRune(char32_t r, std::string* out) {
  switch (r) {
    case '\a':
      *out += "\\a";
      return;
    case '\b':
      *out += "\\b";
      return;
    case '\f':
      *out += "\\f";
      return;
    case '\n':
      *out += "\\n";
      return;
    case '\r':
      *out += "\\r";
      return;
    case '\t':
      *out += "\\t";
      return;
    case '\v':
      *out += "\\v";
      return;
    default:
      break;
  }
  char buf[16];
  if (r < ' ' || r == 0x7f) {
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(r));
  } else if (r < 0x10000) {
    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(r));
  } else {
    std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(r));
  }
  *out += buf;
}

}  // namespace

Result<int64_t> ParseGoInt64(std::string_view s, int base) {
  std::string_view digits = s;
  bool neg = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    neg = digits[0] == '-';
    digits.remove_prefix(1);
  }
  UintParse p = ParseUintCore(digits, base);
  if (p.error == NumError::kSyntax) return NumErrorStatus("ParseInt", s, p.error);
  constexpr uint64_t kCutoff = uint64_t{1} << 63;
  if (p.error == NumError::kRange || (!neg && p.value >= kCutoff) || (neg && p.value > kCutoff)) {
    return NumErrorStatus("ParseInt", s, NumError::kRange);
  }
  return neg ? static_cast<int64_t>(0 - p.value) : static_cast<int64_t>(p.value);
}

Result<uint64_t> ParseGoUint64(std::string_view s, int base) {
  UintParse p = ParseUintCore(s, base);
  if (p.error != NumError::kNone) return NumErrorStatus("ParseUint", s, p.error);
  return p.value;
}

Result<bool> ParseGoBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") {
    return false;
  }
  return Status::InvalidArgument("strconv.ParseBool: parsing " + GoQuote(s) + ": invalid syntax");
}

Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view orig) {
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return InvalidDuration(orig);
  uint64_t total = 0;
  while (!s.empty()) {
    ASSIGN_OR_RETURN(uint64_t v, ParseDurationComponent(&s, orig));
    total += v;
    if (total > kMaxDuration) return InvalidDuration(orig);
  }
  if (neg) return std::chrono::nanoseconds(static_cast<int64_t>(0 - total));
  if (total > kMaxDuration - 1) return InvalidDuration(orig);
  return std::chrono::nanoseconds(static_cast<int64_t>(total));
}

std::string GoDuration(std::chrono::nanoseconds d) {
  int64_t n = d.count();
  bool neg = n < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string out;
  if (u < 1000000000ULL) {
    if (u == 0) return "0s";
    int prec = 0;
    if (u < 1000) {
      out = "ns";
    } else if (u < 1000000) {
      prec = 3;
      out = "\xc2\xb5s";
    } else {
      prec = 6;
      out = "ms";
    }
    u = PrependFraction(u, prec, &out);
    out.insert(0, std::to_string(u));
  } else {
    out = "s";
    u = PrependFraction(u, 9, &out);
    out.insert(0, std::to_string(u % 60));
    u /= 60;
    if (u > 0) {
      out.insert(0, std::to_string(u % 60) + "m");
      u /= 60;
      if (u > 0) out.insert(0, std::to_string(u) + "h");
    }
  }
  if (neg) out.insert(0, "-");
  return out;
}

std::string IdToHex(uint64_t id) { return fmt::format("{:x}", id); }

std::string AlarmMemberText(uint64_t member_id, std::string_view alarm_name) {
  std::string out;
  if (member_id != 0) out += fmt::format("memberID:{} ", member_id);
  if (!alarm_name.empty()) out += fmt::format("alarm:{} ", alarm_name);
  return out;
}

std::string HexBytes(std::string_view bytes) {
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string GoJsonString(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&') {
        out += static_cast<char>(b);
      } else if (b == '"' || b == '\\') {
        out += '\\';
        out += static_cast<char>(b);
      } else if (b == '\n') {
        out += "\\n";
      } else if (b == '\r') {
        out += "\\r";
      } else if (b == '\t') {
        out += "\\t";
      } else {
        out += "\\u00";
        out += kHex[b >> 4];
        out += kHex[b & 0xf];
      }
      ++i;
      continue;
    }
    DecodedRune d = DecodeUtf8(s, i);
    if (!d.valid) {
      out += "\\ufffd";
    } else if (d.rune == 0x2028 || d.rune == 0x2029) {
      out += "\\u202";
      out += kHex[d.rune & 0xf];
    } else {
      out.append(s, i, d.size);
    }
    i += d.size;
  }
  return out + "\"";
}

DecodedRune DecodeUtf8(std::string_view s, size_t pos) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[pos + k]); };
  const DecodedRune bad{0xfffd, 1, false};
  unsigned char c0 = b(0);
  if (c0 < 0x80) return {c0, 1, true};
  size_t n = c0 >= 0xf0 ? 4 : c0 >= 0xe0 ? 3 : c0 >= 0xc2 ? 2 : 0;
  if (n == 0 || c0 > 0xf4 || pos + n > s.size()) return bad;
  char32_t r = c0 & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return bad;
    r = (r << 6) | (b(k) & 0x3f);
  }
  bool overlong = (n == 3 && r < 0x800) || (n == 4 && r < 0x10000);
  if (overlong || r > 0x10ffff || (r >= 0xd800 && r < 0xe000)) return bad;
  return {r, n, true};
}

void AppendUtf8(char32_t r, std::string* out) {
  if (r < 0x80) {
    *out += static_cast<char>(r);
  } else if (r < 0x800) {
    *out += static_cast<char>(0xc0 | (r >> 6));
    *out += static_cast<char>(0x80 | (r & 0x3f));
  } else if (r < 0x10000) {
    *out += static_cast<char>(0xe0 | (r >> 12));
    *out += static_cast<char>(0x80 | ((r >> 6) & 0x3f));
    *out += static_cast<char>(0x80 | (r & 0x3f));
  } else {
    *out += static_cast<char>(0xf0 | (r >> 18));
    *out += static_cast<char>(0x80 | ((r >> 12) & 0x3f));
    *out += static_cast<char>(0x80 | ((r >> 6) & 0x3f));
    *out += static_cast<char>(0x80 | (r & 0x3f));
  }
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    DecodedRune d = DecodeUtf8(s, i);
    if (!d.valid) {
      out += "\\x";
      out += kHex[static_cast<unsigned char>(s[i]) >> 4];
      out += kHex[static_cast<unsigned char>(s[i]) & 0xf];
    } else if (d.rune == '"' || d.rune == '\\') {
      out += '\\';
      out += static_cast<char>(d.rune);
    } else if (IsPrintRune(d.rune)) {
      out.append(s.substr(i, d.size));
    } else {
      AppendQuotedRune(d.rune, &out);
    }
    i += d.size;
  }
  out += '"';
  return out;
}

size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\033' && i + 1 < s.size() && s[i + 1] == '[') {
      size_t j = i + 2;
      while (j < s.size() && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';')) ++j;
      if (j < s.size() && (s[j] == 'm' || s[j] == 'K')) {
        i = j + 1;
        continue;
      }
    }
    DecodedRune d = DecodeUtf8(s, i);
    if (!d.valid || !IsZeroWidthRune(d.rune)) width += d.valid && IsWideRune(d.rune) ? 2 : 1;
    i += d.size;
  }
  return width;
}

std::string GoErrnoText(int err) {
  std::string why = std::strerror(err);
  if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
  return why;
}

std::string HumanizeBytes(uint64_t bytes) {
  static const char* kSizes[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  char buf[64];
  if (bytes < 10) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    return buf;
  }
  int e = 0;
  for (uint64_t v = bytes; v >= 1000 && e < 6; v /= 1000) ++e;
  double val = std::floor(static_cast<double>(bytes) / std::pow(1000.0, e) * 10 + 0.5) / 10;
  std::snprintf(buf, sizeof buf, val < 10 ? "%.1f %s" : "%.0f %s", val, kSizes[e]);
  return buf;
}

}  // namespace etcdd
