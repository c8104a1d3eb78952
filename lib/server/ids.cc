#include "server/ids.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>

namespace etcdd::server {

namespace {
uint64_t FirstEightBytes(const std::string& data) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id = (id << 8) | digest[i];
  return id;
}
}  // namespace

uint64_t MemberId(std::vector<std::string> peer_urls, const std::string& cluster_token) {
  std::sort(peer_urls.begin(), peer_urls.end());
  std::string b;
  for (const auto& u : peer_urls) b += u;
  b += cluster_token;
  return FirstEightBytes(b);
}

uint64_t ClusterId(std::vector<uint64_t> member_ids) {
  std::sort(member_ids.begin(), member_ids.end());
  std::string b;
  for (uint64_t id : member_ids) {
    for (int shift = 56; shift >= 0; shift -= 8) b.push_back(static_cast<char>(id >> shift));
  }
  return FirstEightBytes(b);
}

serverpb::Members InitialClusterMembers(
    const std::map<std::string, std::vector<Url>>& initial_cluster, const std::string& token,
    uint64_t* cluster_id) {
  serverpb::Members members;
  std::vector<uint64_t> ids;
  for (const auto& [name, urls] : initial_cluster) {
    std::vector<std::string> peer_urls;
    for (const auto& u : urls) peer_urls.push_back(u.ToString());
    auto* m = members.add_members();
    m->set_id(MemberId(peer_urls, token));
    m->set_name(name);
    for (const auto& u : peer_urls) m->add_peer_urls(u);
    ids.push_back(m->id());
  }
  *cluster_id = ClusterId(ids);
  return members;
}

}  // namespace etcdd::server
