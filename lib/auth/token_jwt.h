// Internal to lib/auth: the JWT token provider behind NewTokenProvider
// (token.h), etcd 3.4's auth/jwt.go and auth/options.go.
//
// JWS (RFC 7515) is done with OpenSSL 3 directly rather than libjwt: Debian
// 12's libjwt (1.10) has no PS256/384/512, which etcd accepts, checks no
// claims, and re-parses the PEM key on every token, while Info runs on every
// request. Keys are parsed once here.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "auth/token.h"

namespace etcdd::auth {

// Builds the JWT provider from the options after "jwt," in --auth-token
// (already split into key -> value, each key once). Errors: see
// NewTokenProvider in token.h.
Result<std::unique_ptr<TokenProvider>> NewJwtTokenProvider(
    const std::map<std::string, std::string>& options);

}  // namespace etcdd::auth
