#include "base/url.h"

#include <charconv>

namespace etcdd {

std::string Url::HostPort() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Url::ToString() const { return scheme + "://" + HostPort(); }

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t i = s.find(sep);
    std::string_view piece = s.substr(0, i);
    if (!piece.empty()) out.emplace_back(piece);
    if (i == std::string_view::npos) break;
    s.remove_prefix(i + 1);
  }
  return out;
}

Result<Url> ParseUrl(std::string_view s) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("invalid URL \"" + std::string(s) + "\": " + why);
  };
  size_t sep = s.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad("missing scheme");
  Url u;
  u.scheme = std::string(s.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https" && u.scheme != "unix" && u.scheme != "unixs") {
    return bad("URL scheme must be http, https, unix, or unixs");
  }
  std::string_view rest = s.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return bad("URL must not contain a path");
  size_t colon;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    u.host = std::string(rest.substr(1, close - 1));
    colon = close + 1;
    if (colon >= rest.size() || rest[colon] != ':') return bad("missing port");
  } else {
    colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port");
    u.host = std::string(rest.substr(0, colon));
  }
  std::string_view port = rest.substr(colon + 1);
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), u.port);
  if (ec != std::errc() || p != port.data() + port.size() || u.port < 0 || u.port > 65535) {
    return bad("invalid port");
  }
  if (u.host.empty()) return bad("missing host");
  return u;
}

Result<std::vector<Url>> ParseUrls(std::string_view s) {
  std::vector<Url> out;
  for (const auto& piece : Split(s, ',')) {
    ASSIGN_OR_RETURN(Url u, ParseUrl(piece));
    out.push_back(std::move(u));
  }
  if (out.empty()) return Status::InvalidArgument("no URLs given");
  return out;
}

Result<std::map<std::string, std::vector<Url>>> ParseInitialCluster(std::string_view s) {
  std::map<std::string, std::vector<Url>> out;
  for (const auto& piece : Split(s, ',')) {
    size_t eq = piece.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("invalid --initial-cluster entry \"" + piece +
                                     "\": expected name=url");
    }
    ASSIGN_OR_RETURN(Url u, ParseUrl(piece.substr(eq + 1)));
    out[piece.substr(0, eq)].push_back(std::move(u));
  }
  if (out.empty()) return Status::InvalidArgument("--initial-cluster is empty");
  return out;
}

}  // namespace etcdd
