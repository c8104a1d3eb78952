#include "cli/go_format.h"

#include <cstdio>

namespace etcdd::cli {

namespace {

constexpr char kHex[] = "0123456789abcdef";

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

}  // namespace etcdd::cli
