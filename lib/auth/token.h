// Auth token providers, as etcd 3.4 has them (auth/simple_token.go,
// auth/jwt.go, auth/options.go, auth/nop.go, and NewTokenProvider in
// auth/store.go): what Authenticate hands a client, and how a later request's
// token turns back into a user.
//
// --auth-token selects one:
//   - "simple" (etcd's default): an opaque "<16 random letters>.<raft index>"
//     kept in this member's memory with a TTL (--auth-token-ttl) that every use
//     renews. Every member assigns the same token when it applies the
//     Authenticate entry, because the API layer puts the random prefix in the
//     proposed request and the index is the entry's.
//   - "jwt,pub-key=PATH,priv-key=PATH,sign-method=RS256,ttl=5m": a signed JWT
//     with the claims {"username": string, "revision": number, "exp": unix
//     seconds} (etcd's jwt.go), signed and verified by libjwt. Nothing is
//     kept; any member (or etcd) holding the key verifies it, and it verifies
//     tokens etcd issued with the key. libjwt 1.10 (Debian 12) has no
//     RSASSA-PSS, so etcd's PS256/PS384/PS512 are refused at start.
//   - "" : no provider (etcd's tokenNop): every token is invalid and
//     Authenticate fails.
//
// Errors that reach clients carry etcd's gRPC status (rpctypes/error.go):
// an unknown, expired or forged token is Unauthenticated "etcdserver: invalid
// auth token".
//
// Thread-safety: every TokenProvider method may be called from any thread
// concurrently (Info from gRPC threads, Assign from the apply thread).
// Ownership: a provider owns its tokens and keys.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace etcdd::auth {

// The user a token stands for and the auth revision it was issued at.
struct TokenInfo {
  std::string user;
  uint64_t revision = 0;
};

// etcd's "etcdserver: invalid auth token" (gRPC UNAUTHENTICATED): what Info
// returns for any token it does not accept.
Status InvalidAuthTokenError();

class TokenProvider {
 public:
  virtual ~TokenProvider() = default;

  // Auth was enabled: a simple provider starts keeping the tokens it assigns
  // (before this, Assign returns a token but keeps nothing, as etcd's
  // tokenSimple without its TTL keeper). No-op for JWT. Idempotent.
  virtual void Enable() = 0;

  // Auth was disabled: a simple provider forgets every token and keeps none
  // until Enable. No-op for JWT (its tokens still verify; the store refuses
  // them because auth is off).
  virtual void Disable() = 0;

  // A fresh random prefix the API layer puts into the proposed Authenticate
  // request. Simple: 16 letters [a-zA-Z] from the OS CSPRNG (etcd's
  // genTokenPrefix); JWT and none: "".
  virtual std::string GenTokenPrefix() = 0;

  // The token for `user` at auth revision `revision`, called on the apply path
  // of every member after the password was checked. `prefix` and `index` are
  // the proposed prefix and the Authenticate entry's raft index.
  //   simple: prefix + "." + decimal index, kept (once enabled) with the TTL.
  //     Errors: Internal "failed to assign already-used simple token to a
  //     user" if that token exists (etcd panics; nothing is changed here).
  //   jwt: a JWT signed now, exp = now (wall clock) + ttl, in whole seconds.
  //     Errors: FailedPrecondition "auth: token signing attempted with
  //     verify-only key" when only pub-key was given (etcd's ErrVerifyOnly);
  //     InvalidArgument if `user` holds a NUL byte or is not valid UTF-8
  //     (libjwt's JSON cannot carry it); Internal if libjwt fails.
  //   none: InvalidArgument "etcdserver: authentication failed, invalid user
  //     ID or password" (etcd's tokenNop returns ErrAuthFailed).
  virtual Result<std::string> Assign(const std::string& user, uint64_t revision,
                                     const std::string& prefix, uint64_t index) = 0;

  // The user and revision of `token`.
  //   simple: the user and the revision given to Assign. An unknown token or
  //     one unused for the TTL is refused; a use renews the TTL (etcd's
  //     simpleTokenTTLKeeper.resetSimpleToken). NOTE: etcd 3.4's
  //     tokenSimple.info reports the auth store's *current* revision instead of
  //     the issuing one, so in etcd a simple token never fails the
  //     "revision of auth store is old" check; a store that mirrors etcd uses
  //     its current revision for simple tokens (IsSimple()).
  //     etcd first waits until the index in the token is applied on this
  //     member (isValidSimpleToken); the caller does that with
  //     SimpleTokenIndex() before calling Info.
  //   jwt: the signature (with the configured method only), exp, nbf and iat
  //     (wall clock, seconds) are checked, and the claims must hold a string
  //     "username" and a non-negative number "revision". The token must be
  //     three base64url segments (at most 64 KiB).
  // Errors: InvalidAuthTokenError() for any token not accepted.
  virtual Result<TokenInfo> Info(std::string_view token) = 0;

  // Forgets the simple tokens of `user` (etcd invalidates them when the user
  // is deleted or its password changes). No-op for JWT.
  virtual void InvalidateUser(const std::string& user) = 0;

  // True for the simple provider (see Info on revisions).
  virtual bool IsSimple() const { return false; }
};

// The raft index of a simple token "<prefix>.<index>", the entry a member must
// have applied before the token can be known there (etcd's
// isValidSimpleToken). nullopt if `token` does not have that shape (exactly
// one '.', decimal digits after it), which makes it invalid.
std::optional<uint64_t> SimpleTokenIndex(std::string_view token);

// Parses --auth-token and builds the provider it names.
//   auth_token_flag: "simple", "jwt,<opt>=<value>,...", or "" (none). JWT
//     options (etcd's auth/options.go): sign-method (RS256/384/512,
//     ES256/384/512, HS256/384/512; required; etcd's PS256/384/512 are
//     refused, see below), priv-key and pub-key (PEM files, read once here:
//     RS: PKCS#1 or PKCS#8 private key, PKIX public key or certificate; ES:
//     SEC1 or PKCS#8 private key on the method's curve (P-256/P-384/P-521),
//     PKIX public key or certificate; HS: priv-key is the raw secret, pub-key
//     unused; encrypted private keys are refused, never prompted for), ttl (a
//     Go duration, default 5m). With only pub-key the provider verifies but
//     cannot assign; with only priv-key it verifies with the key's public
//     half, as etcd. Unknown JWT options are ignored (etcd logs a warning).
//   simple_ttl: --auth-token-ttl; <= 0 means etcd's default, 300 s.
//   now: the clock of simple-token expiry; empty means steady_clock::now.
// Errors, InvalidArgument, with etcd's text first and the cause after it:
//   "auth: invalid auth options" for an unknown type, an option that is not
//     one "key=value" or is repeated; with ": <cause>" after it (etcd only
//     logs the cause) for a bad ttl ("time: invalid duration \"x\""), an
//     unreadable key file ("/k.pem: no such file", or "open /k.pem: <errno
//     text>"), a missing or unknown sign-method ("auth: invalid auth signature
//     method");
//   "auth: invalid auth signature method: PS256 is not supported by this build
//     (libjwt 1.10); use RS256, RS384 or RS512" (likewise PS384, PS512), where
//     etcd would accept the method: libjwt 1.10 cannot sign or verify it;
//   "unsupported signing method: *jwt.signingMethodNone" for sign-method=none,
//     "...: *jwt.SigningMethodEd25519" for EdDSA (etcd's texts);
//   "auth: missing key data" when the method's key is not given;
//   golang-jwt's "invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key",
//     "key is not a valid RSA private key" (public, ECDSA ...) for a key that
//     does not parse or is of the wrong type (etcd prints the x509 parser's
//     text for some of these), "key is invalid" for an ECDSA key on another
//     curve than the method's (etcd accepts it and then fails every sign),
//     each followed by the option and file: " (priv-key=/k.pem)";
//   "auth: public and private keys don't match" when both are given and a
//     token signed with priv-key does not verify with pub-key (etcd's check
//     for it is ineffective; a mismatched pair would issue tokens that members
//     holding only the public key refuse).
Result<std::unique_ptr<TokenProvider>> NewTokenProvider(
    std::string_view auth_token_flag, std::chrono::seconds simple_ttl,
    std::function<std::chrono::steady_clock::time_point()> now = {});

}  // namespace etcdd::auth
