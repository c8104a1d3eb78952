#include "cli/go_format.h"

#include <cmath>
#include <cstdio>

namespace etcdd::cli {

namespace {

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

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One escape sequence after a backslash at body[*i]; appends its bytes.
bool UnquoteEscape(std::string_view body, size_t* i, std::string* out) {
  if (*i >= body.size()) return false;
  char c = body[(*i)++];
  switch (c) {
    case 'a':
      *out += '\a';
      return true;
    case 'b':
      *out += '\b';
      return true;
    case 'f':
      *out += '\f';
      return true;
    case 'n':
      *out += '\n';
      return true;
    case 'r':
      *out += '\r';
      return true;
    case 't':
      *out += '\t';
      return true;
    case 'v':
      *out += '\v';
      return true;
    case '\\':
      *out += '\\';
      return true;
    case '"':
      *out += '"';
      return true;
    default:
      break;
  }
  if (c >= '0' && c <= '7') {
    if (*i + 2 > body.size()) return false;
    int v = c - '0';
    for (int k = 0; k < 2; ++k) {
      char d = body[(*i)++];
      if (d < '0' || d > '7') return false;
      v = v * 8 + (d - '0');
    }
    if (v > 255) return false;
    *out += static_cast<char>(v);
    return true;
  }
  size_t n = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
  if (n == 0 || *i + n > body.size()) return false;
  uint32_t v = 0;
  for (size_t k = 0; k < n; ++k) {
    int h = HexValue(body[(*i)++]);
    if (h < 0) return false;
    v = v * 16 + static_cast<uint32_t>(h);
  }
  if (c == 'x') {
    *out += static_cast<char>(v);
    return true;
  }
  if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) return false;
  AppendUtf8(v, out);
  return true;
}

}  // namespace

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

std::optional<std::string> GoUnquote(std::string_view q) {
  if (q.size() < 2 || q.front() != '"' || q.back() != '"') return std::nullopt;
  std::string_view body = q.substr(1, q.size() - 2);
  std::string out;
  for (size_t i = 0; i < body.size();) {
    char c = body[i];
    if (c == '"' || c == '\n') return std::nullopt;
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    ++i;
    if (!UnquoteEscape(body, &i, &out)) return std::nullopt;
  }
  return out;
}

std::optional<std::string> ScanGoQuoted(std::string_view in, size_t* pos) {
  size_t i = *pos;
  while (i < in.size() && (in[i] == ' ' || in[i] == '\t' || in[i] == '\r')) ++i;
  if (i >= in.size()) return std::nullopt;
  if (in[i] == '`') {
    size_t end = in.find('`', i + 1);
    if (end == std::string_view::npos) return std::nullopt;
    *pos = end + 1;
    return std::string(in.substr(i + 1, end - i - 1));
  }
  if (in[i] != '"') return std::nullopt;
  // Only the character right after a backslash can be a quote or backslash.
  size_t j = i + 1;
  while (j < in.size() && in[j] != '"') j += in[j] == '\\' ? 2 : 1;
  if (j >= in.size()) return std::nullopt;
  auto out = GoUnquote(in.substr(i, j - i + 1));
  if (out) *pos = j + 1;
  return out;
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

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 0x3f];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += kAlphabet[(v >> 18) & 0x3f];
    out += kAlphabet[(v >> 12) & 0x3f];
    out += rest == 2 ? kAlphabet[(v >> 6) & 0x3f] : '=';
    out += '=';
  }
  return out;
}

std::string HexEscaped(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 4);
  for (unsigned char c : bytes) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

std::string LeaseHex(int64_t id) {
  char buf[32];
  if (id < 0) {
    // Go pads after the sign.
    std::snprintf(buf, sizeof buf, "-%015llx", static_cast<unsigned long long>(-(id + 1)) + 1);
  } else {
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  }
  return buf;
}

std::string GoStringSlice(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ' ';
    out += v[i];
  }
  return out + "]";
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

}  // namespace etcdd::cli
