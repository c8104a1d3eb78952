// etcd's types.NewURLs over Go's net/url.Parse (Go 1.19, which Debian's
// etcdctl 3.4.23 is built with), reduced to what decides whether a URL is
// accepted and which error is reported.
#include "cli/peer_urls.h"

#include <algorithm>
#include <string_view>

#include "cli/go_format.h"

namespace etcdd::cli {

namespace {

// A Go error string, or none.
using Err = std::string;

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int Unhex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

bool IsAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// net/url's shouldEscape(c, encodeHost): what may appear unescaped in a host
// (RFC 3986 reg-name and sub-delims, plus ":[]<>\"" which Go admits).
bool HostShouldEscape(unsigned char c) {
  if (IsAlnum(c)) return false;
  return std::string_view("!$&'()*+,;=:[]<>\"-_.~").find(static_cast<char>(c)) ==
         std::string_view::npos;
}

enum class Mode { kHost, kZone, kOther };

// net/url's unescape, validation only.
Err CheckEscapes(std::string_view s, Mode mode) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size() || !IsHex(s[i + 1]) || !IsHex(s[i + 2])) {
        return "invalid URL escape " + GoQuote(s.substr(i, 3));
      }
      const std::string_view esc = s.substr(i, 3);
      if (mode == Mode::kHost && Unhex(s[i + 1]) < 8 && esc != "%25") {
        return "invalid URL escape " + GoQuote(esc);
      }
      if (mode == Mode::kZone) {
        const auto v = static_cast<unsigned char>(Unhex(s[i + 1]) << 4 | Unhex(s[i + 2]));
        if (esc != "%25" && v != ' ' && HostShouldEscape(v)) {
          return "invalid URL escape " + GoQuote(esc);
        }
      }
      i += 3;
      continue;
    }
    if (mode != Mode::kOther && c < 0x80 && HostShouldEscape(c)) {
      return "invalid character " + GoQuote(s.substr(i, 1)) + " in host name";
    }
    ++i;
  }
  return "";
}

// net/url's validOptionalPort: "" or ":" followed by digits.
bool ValidOptionalPort(std::string_view port) {
  if (port.empty()) return true;
  if (port[0] != ':') return false;
  for (char c : port.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// net/url's parseHost; on success *host is the unescaped host.
Err ParseHost(std::string_view in, std::string* host) {
  if (!in.empty() && in[0] == '[') {
    const size_t close = in.rfind(']');
    if (close == std::string_view::npos) return "missing ']' in host";
    const std::string_view port = in.substr(close + 1);
    if (!ValidOptionalPort(port)) return "invalid port " + GoQuote(port) + " after host";
    const size_t zone = in.substr(0, close).find("%25");
    if (zone != std::string_view::npos) {
      Err e = CheckEscapes(in.substr(0, zone), Mode::kHost);
      if (e.empty()) e = CheckEscapes(in.substr(zone, close - zone), Mode::kZone);
      if (e.empty()) e = CheckEscapes(in.substr(close), Mode::kHost);
      *host = std::string(in);  // only the port part matters to the caller
      return e;
    }
  } else if (const size_t colon = in.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = in.substr(colon);
    if (!ValidOptionalPort(port)) return "invalid port " + GoQuote(port) + " after host";
  }
  *host = std::string(in);
  return CheckEscapes(in, Mode::kHost);
}

// net/url's validUserinfo.
bool ValidUserinfo(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsAlnum(c)) continue;
    if (std::string_view("-._:~!$&'()*+,;=%@").find(ch) == std::string_view::npos) return false;
  }
  return true;
}

Err ParseAuthority(std::string_view authority, std::string* host) {
  const size_t at = authority.rfind('@');
  Err e = ParseHost(at == std::string_view::npos ? authority : authority.substr(at + 1), host);
  if (!e.empty() || at == std::string_view::npos) return e;
  const std::string_view userinfo = authority.substr(0, at);
  if (!ValidUserinfo(userinfo)) return "net/url: invalid userinfo";
  return CheckEscapes(userinfo, Mode::kOther);
}

struct ParsedUrl {
  std::string scheme;
  std::string host;
  bool has_path = false;
};

// net/url's getScheme: the scheme and the rest, or an error.
Err GetScheme(std::string_view raw, std::string* scheme, std::string_view* rest) {
  *rest = raw;
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) continue;
    if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
      if (i == 0) return "";
      continue;
    }
    if (c == ':') {
      if (i == 0) return "missing protocol scheme";
      for (char s : raw.substr(0, i)) scheme->push_back(s >= 'A' && s <= 'Z' ? s + 32 : s);
      *rest = raw.substr(i + 1);
    }
    return "";
  }
  return "";
}

// net/url's parse (not via a request), without the fragment.
Err ParseNoFragment(std::string_view raw, ParsedUrl* u) {
  for (char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return "net/url: invalid control character in URL";
  }
  if (raw == "*") {
    u->has_path = true;
    return "";
  }
  std::string_view rest;
  if (Err e = GetScheme(raw, &u->scheme, &rest); !e.empty()) return e;
  if (!rest.empty() && rest.back() == '?' && rest.find('?') == rest.size() - 1) {
    rest.remove_suffix(1);
  } else {
    rest = rest.substr(0, rest.find('?'));
  }
  if (rest.empty() || rest[0] != '/') {
    if (!u->scheme.empty()) return "";  // opaque: no host, no path
    if (rest.substr(0, rest.find('/')).find(':') != std::string_view::npos) {
      return "first path segment in URL cannot contain colon";
    }
  }
  if ((!u->scheme.empty() || rest.substr(0, 3) != "///") && rest.substr(0, 2) == "//") {
    std::string_view authority = rest.substr(2);
    const size_t slash = authority.find('/');
    rest = slash == std::string_view::npos ? std::string_view() : authority.substr(slash);
    if (Err e = ParseAuthority(authority.substr(0, slash), &u->host); !e.empty()) return e;
  }
  u->has_path = !rest.empty();
  return CheckEscapes(rest, Mode::kOther);
}

// net.SplitHostPort, success or failure only.
bool SplitsHostPort(std::string_view hp) {
  const size_t last = hp.rfind(':');
  if (last == std::string_view::npos) return false;
  size_t j = 0, k = 0;
  if (hp[0] == '[') {
    const size_t end = hp.find(']');
    if (end == std::string_view::npos || end + 1 != last) return false;
    j = 1;
    k = end + 1;
  } else if (hp.substr(0, last).find(':') != std::string_view::npos) {
    return false;
  }
  return hp.substr(j).find('[') == std::string_view::npos &&
         hp.substr(k).find(']') == std::string_view::npos;
}

bool IsSpaceRune(char32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

// Go's strings.TrimSpace: leading and trailing Unicode white space.
std::string_view TrimSpace(std::string_view s) {
  size_t begin = s.size(), end = 0;
  for (size_t i = 0; i < s.size();) {
    const DecodedRune r = DecodeUtf8(s, i);
    if (!r.valid || !IsSpaceRune(r.rune)) {
      begin = std::min(begin, i);
      end = i + r.size;
    }
    i += r.size;
  }
  return begin < end ? s.substr(begin, end - begin) : std::string_view();
}

Status CheckPeerUrl(std::string_view raw) {
  const std::string_view in = TrimSpace(raw);
  const size_t hash = in.find('#');
  const std::string_view base = in.substr(0, hash);
  ParsedUrl u;
  if (Err e = ParseNoFragment(base, &u); !e.empty()) {
    return Status::InvalidArgument("parse " + GoQuote(base) + ": " + e);
  }
  if (hash != std::string_view::npos) {
    if (Err e = CheckEscapes(in.substr(hash + 1), Mode::kOther); !e.empty()) {
      return Status::InvalidArgument("parse " + GoQuote(in) + ": " + e);
    }
  }
  const std::string text(in);
  if (u.scheme != "http" && u.scheme != "https" && u.scheme != "unix" && u.scheme != "unixs") {
    return Status::InvalidArgument("URL scheme must be http, https, unix, or unixs: " + text);
  }
  if (!SplitsHostPort(u.host)) {
    return Status::InvalidArgument("URL address does not have the form \"host:port\": " + text);
  }
  if (u.has_path) return Status::InvalidArgument("URL must not contain a path: " + text);
  return Status::Ok();
}

}  // namespace

Status ValidatePeerUrls(const std::vector<std::string>& urls) {
  if (urls.empty()) return Status::InvalidArgument("no valid URLs given");
  for (const auto& url : urls) RETURN_IF_ERROR(CheckPeerUrl(url));
  return Status::Ok();
}

}  // namespace etcdd::cli
