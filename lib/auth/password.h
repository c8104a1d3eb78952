// Password hashing for etcd's auth users: bcrypt, as etcd 3.4 stores it in the
// auth user bucket (auth/store.go UserAdd/UserChangePassword hash with
// golang.org/x/crypto/bcrypt; Authenticate/CheckPassword compare with
// bcrypt.CompareHashAndPassword).
//
// The hashes are libxcrypt's bcrypt ("$2b$<cost>$<22-char salt><31-char
// hash>"). Go's bcrypt verifies "$2b$" hashes and we verify Go's "$2a$" ones
// (and "$2y$"): the three variants compute the same hash for every password.
//
// Long passwords: etcd 3.4 pins golang.org/x/crypto v0.0.0-20220411 (Debian:
// 0.4.0), whose bcrypt has no length check and uses only the first 72 bytes of
// a password (later x/crypto versions refuse longer ones with
// ErrPasswordTooLong). libxcrypt's "$2b$" also uses the first 72 bytes, so a
// long password hashes and verifies exactly as under etcd 3.4.
//
// NUL bytes: crypt_r(3) takes C strings, so a password containing a NUL byte
// cannot be hashed faithfully (Go would hash the bytes after it). HashPassword
// refuses such a password and CheckPassword never accepts one.
//
// Thread-safety: pure functions (crypt_r with per-call state); safe from any
// thread. Each call costs 2^cost Blowfish key setups (cost 10: ~60 ms).
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace etcdd::auth {

// Go's bcrypt.MinCost, MaxCost and DefaultCost (etcd's --bcrypt-cost default).
inline constexpr int kMinBcryptCost = 4;
inline constexpr int kMaxBcryptCost = 31;
inline constexpr int kDefaultBcryptCost = 10;

// Checks a --bcrypt-cost value: Ok for kMinBcryptCost..kMaxBcryptCost.
// Errors: InvalidArgument with Go's bcrypt text, "crypto/bcrypt: cost 3 is
// outside allowed range (4,31)".
//
// etcd 3.4 does not refuse an out-of-range --bcrypt-cost: auth/store.go
// NewAuthStore logs the warning "use default bcrypt cost instead of the
// invalid given cost" (fields min-cost, max-cost, default-cost, given-cost)
// and uses kDefaultBcryptCost. A caller that mirrors etcd does the same on an
// error from here. (The flag is a uint in etcd, so negative values already fail
// flag parsing.)
Status ValidateBcryptCost(int cost);

// Hashes `password` with bcrypt at `cost` (log2 of the rounds) and a fresh
// 16-byte salt from the OS CSPRNG. Returns "$2b$<cost, 2 digits>$..." (60
// characters). Only the first 72 bytes of `password` count (see above).
// Errors: InvalidArgument for a cost outside 4..31 (ValidateBcryptCost's
// text) or a password containing a NUL byte; Internal if libxcrypt fails.
// Mirrors bcrypt.GenerateFromPassword as etcd 3.4 calls it (auth/store.go),
// except that Go replaces a cost below 4 by 10 where we refuse it.
Result<std::string> HashPassword(std::string_view password, int cost);

// True if `password` matches the bcrypt `hash` ("$2a$", "$2b$" or "$2y$"),
// compared in constant time. False for a wrong password, a hash that is not
// bcrypt or is malformed, or a password containing a NUL byte. Mirrors
// bcrypt.CompareHashAndPassword(hash, password) == nil (etcd 3.4
// auth/store.go CheckPassword).
bool CheckPassword(std::string_view hash, std::string_view password);

}  // namespace etcdd::auth
