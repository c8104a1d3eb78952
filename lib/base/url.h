// URLs as etcd's flags take them ("http://127.0.0.1:2379", comma-separated
// lists, and --initial-cluster "name=url,name=url").
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace etcdd {

struct Url {
  std::string scheme;  // "http", "https", "unix", "unixs"
  std::string host;    // host name or IP; IPv6 without brackets
  int port = 0;

  // "http://127.0.0.1:2379"; IPv6 hosts in brackets.
  std::string ToString() const;
  // "127.0.0.1:2379", the form gRPC listens on and dials.
  std::string HostPort() const;
};

// Parses one URL with an explicit scheme, host and port. Errors:
// InvalidArgument naming the bad URL, as etcd's flag parsing does.
Result<Url> ParseUrl(std::string_view s);

// Parses a comma-separated URL list (etcd's --listen-client-urls and friends).
// Errors: InvalidArgument for an empty list or a bad element.
Result<std::vector<Url>> ParseUrls(std::string_view s);

// Parses etcd's --initial-cluster "a=http://h:2380,b=http://h2:2380"; a name
// may appear more than once to give a member several peer URLs. Errors:
// InvalidArgument for a missing "=", an empty name or a bad URL.
Result<std::map<std::string, std::vector<Url>>> ParseInitialCluster(std::string_view s);

// Splits on `sep`, dropping empty pieces.
std::vector<std::string> Split(std::string_view s, char sep);

}  // namespace etcdd
