#include "auth/token.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "auth/token_jwt.h"

namespace etcdd::auth {
namespace {

using Clock = std::function<std::chrono::steady_clock::time_point()>;

constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr size_t kSimpleTokenLength = 16;
constexpr std::chrono::seconds kDefaultSimpleTokenTtl{300};
// How often Assign sweeps out expired tokens (etcd's simpleTokenTTLResolution).
constexpr std::chrono::seconds kPurgeInterval{1};

// etcd's tokenSimple (auth/simple_token.go) without its ticker goroutine:
// expiry is checked when a token is looked up, and Assign sweeps expired
// tokens at most once per kPurgeInterval so unused ones do not pile up.
class SimpleTokenProvider : public TokenProvider {
 public:
  SimpleTokenProvider(std::chrono::seconds ttl, Clock now) : ttl_(ttl), now_(std::move(now)) {}

  void Enable() override {
    std::lock_guard lock(mu_);
    enabled_ = true;
  }

  void Disable() override {
    std::lock_guard lock(mu_);
    enabled_ = false;
    tokens_.clear();
  }

  std::string GenTokenPrefix() override {
    std::string prefix;
    while (prefix.size() < kSimpleTokenLength) {
      unsigned char buf[32];
      // A CSPRNG that fails leaves no safe token to hand out.
      if (RAND_bytes(buf, sizeof(buf)) != 1) std::abort();
      for (unsigned char b : buf) {
        // Rejection sampling keeps the 52 letters equally likely (etcd draws
        // with crypto/rand.Int).
        if (b < 4 * kLetters.size() && prefix.size() < kSimpleTokenLength) {
          prefix.push_back(kLetters[b % kLetters.size()]);
        }
      }
    }
    return prefix;
  }

  Result<std::string> Assign(const std::string& user, uint64_t revision, const std::string& prefix,
                             uint64_t index) override {
    std::string token = prefix + "." + std::to_string(index);
    std::lock_guard lock(mu_);
    if (!enabled_) return token;  // etcd keeps nothing without its TTL keeper
    const auto now = now_();
    if (now - last_purge_ >= kPurgeInterval) {
      std::erase_if(tokens_, [&](const auto& kv) { return now > kv.second.deadline; });
      last_purge_ = now;
    }
    if (tokens_.contains(token)) {
      return Status::Internal("failed to assign already-used simple token to a user");
    }
    tokens_.emplace(token, Entry{user, revision, now + ttl_});
    return token;
  }

  Result<TokenInfo> Info(std::string_view token) override {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(std::string(token));
    if (it == tokens_.end()) return InvalidAuthTokenError();
    const auto now = now_();
    if (now > it->second.deadline) {
      tokens_.erase(it);
      return InvalidAuthTokenError();
    }
    it->second.deadline = now + ttl_;
    return TokenInfo{it->second.user, it->second.revision};
  }

  void InvalidateUser(const std::string& user) override {
    std::lock_guard lock(mu_);
    std::erase_if(tokens_, [&](const auto& kv) { return kv.second.user == user; });
  }

  bool IsSimple() const override { return true; }

 private:
  struct Entry {
    std::string user;
    uint64_t revision;
    std::chrono::steady_clock::time_point deadline;  // expired once now is past it
  };

  const std::chrono::seconds ttl_;
  const Clock now_;
  std::mutex mu_;
  bool enabled_ = false;                                   // GUARDED_BY(mu_)
  std::unordered_map<std::string, Entry> tokens_;          // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_purge_ = {};  // GUARDED_BY(mu_)
};

// etcd's tokenNop (auth/nop.go), for --auth-token="".
class NopTokenProvider : public TokenProvider {
 public:
  void Enable() override {}
  void Disable() override {}
  std::string GenTokenPrefix() override { return ""; }
  Result<std::string> Assign(const std::string&, uint64_t, const std::string&, uint64_t) override {
    return Status::InvalidArgument(
        "etcdserver: authentication failed, invalid user ID or password");
  }
  Result<TokenInfo> Info(std::string_view) override { return InvalidAuthTokenError(); }
  void InvalidateUser(const std::string&) override {}
};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const size_t pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return out;
    s.remove_prefix(pos + 1);
  }
}

}  // namespace

Status InvalidAuthTokenError() {
  return Status(Code::kUnauthenticated, "etcdserver: invalid auth token");
}

std::optional<uint64_t> SimpleTokenIndex(std::string_view token) {
  const auto parts = Split(token, '.');
  if (parts.size() != 2 || parts[1].empty() || parts[1].size() > 20) return std::nullopt;
  uint64_t index = 0;
  for (char c : parts[1]) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (index > (UINT64_MAX - digit) / 10) return std::nullopt;
    index = index * 10 + digit;
  }
  return index;
}

Result<std::unique_ptr<TokenProvider>> NewTokenProvider(std::string_view auth_token_flag,
                                                        std::chrono::seconds simple_ttl,
                                                        Clock now) {
  // etcd's decomposeOpts (auth/store.go): "<type>,<key>=<value>,...", each key
  // once, exactly one '=' per option.
  const auto parts = Split(auth_token_flag, ',');
  std::map<std::string, std::string> options;
  for (size_t i = 1; i < parts.size(); ++i) {
    const auto pair = Split(parts[i], '=');
    if (pair.size() != 2 || !options.emplace(pair[0], pair[1]).second) {
      return Status::InvalidArgument("auth: invalid auth options");
    }
  }
  const std::string_view type = parts[0];
  if (type == "simple") {
    if (simple_ttl <= std::chrono::seconds::zero()) simple_ttl = kDefaultSimpleTokenTtl;
    if (!now) now = [] { return std::chrono::steady_clock::now(); };
    return std::unique_ptr<TokenProvider>(new SimpleTokenProvider(simple_ttl, std::move(now)));
  }
  if (type == "jwt") return NewJwtTokenProvider(options);
  if (type.empty()) return std::unique_ptr<TokenProvider>(new NopTokenProvider());
  return Status::InvalidArgument("auth: invalid auth options");
}

}  // namespace etcdd::auth
