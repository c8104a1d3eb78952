// Internal to lib/auth: the JWT token provider behind NewTokenProvider
// (token.h), etcd 3.4's auth/jwt.go and auth/options.go.
//
// Tokens are signed and verified by libjwt (Debian 12's libjwt-dev, 1.10),
// as the project's rules ask of JWT. What libjwt 1.10 does not do is done
// around it:
//   - it has no PS256/384/512, so those methods are refused at start;
//   - it checks no claims (exp, nbf, iat, types) and takes any "alg" the
//     token names, so Info checks the alg and the claims after decoding;
//   - it takes PEM bytes on every call and cannot read a certificate, derive
//     the public half of a private key or say why a key does not fit, so the
//     key files are read and checked once at start (OpenSSL, keys only) and
//     libjwt gets PEM it can use.
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
