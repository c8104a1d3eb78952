#include "cli/go_json.h"

#include "cli/go_format.h"

namespace etcdd::cli {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendJson(const nlohmann::ordered_json& v, std::string* out) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: {
      *out += '{';
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) *out += ',';
        first = false;
        *out += GoJsonString(key);
        *out += ':';
        AppendJson(item, out);
      }
      *out += '}';
      return;
    }
    case nlohmann::json::value_t::array: {
      *out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) *out += ',';
        AppendJson(v[i], out);
      }
      *out += ']';
      return;
    }
    case nlohmann::json::value_t::string:
      *out += GoJsonString(v.get_ref<const std::string&>());
      return;
    default:
      // Numbers, booleans and null print the same in both encoders.
      *out += v.dump();
      return;
  }
}

}  // namespace

std::string GoJsonString(const std::string& s) {
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

std::string GoJson(const nlohmann::ordered_json& v) {
  std::string out;
  AppendJson(v, &out);
  return out;
}

}  // namespace etcdd::cli
