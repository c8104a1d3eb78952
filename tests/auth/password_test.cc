// bcrypt password hashes as etcd 3.4 stores and checks them (auth/store.go,
// golang.org/x/crypto/bcrypt).
#include "auth/password.h"

#include <gtest/gtest.h>

#include <string>

namespace etcdd::auth {
namespace {

// Go's bcrypt test vectors (x/crypto/bcrypt/bcrypt_test.go), "$2a$" as
// etcd writes them.
constexpr const char* kGoHashAllmine =
    "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga";
constexpr const char* kGoHashLong57 =
    "$2a$10$XajjQvNhvvRt5GSeFk1xFe5l47dONXg781AmZtd869sO8zfsHuw7C";
constexpr const char* kGoHashPassw0rd =
    "$2a$10$LK9XRuhNxHHCvjX3tdkRKei1QiCDUKrJRhZv7WWZPuQGRUM92rOUa";

TEST(HashPassword, ProducesA2bHashThatChecks) {
  auto hash = HashPassword("pw", 4);
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(hash->substr(0, 7), "$2b$04$");
  EXPECT_EQ(hash->size(), 60u);
  EXPECT_TRUE(CheckPassword(*hash, "pw"));
  EXPECT_FALSE(CheckPassword(*hash, "pW"));
  EXPECT_FALSE(CheckPassword(*hash, ""));
}

TEST(HashPassword, SaltIsFreshEachTime) {
  auto a = HashPassword("same", 4);
  auto b = HashPassword("same", 4);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(CheckPassword(*a, "same"));
  EXPECT_TRUE(CheckPassword(*b, "same"));
}

TEST(HashPassword, CostIsInTheHash) {
  auto hash = HashPassword("pw", 10);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->substr(0, 7), "$2b$10$");
  EXPECT_TRUE(CheckPassword(*hash, "pw"));
}

TEST(HashPassword, EmptyPasswordHashes) {
  auto hash = HashPassword("", 4);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(CheckPassword(*hash, ""));
  EXPECT_FALSE(CheckPassword(*hash, "x"));
}

TEST(HashPassword, RefusesCostOutsideGoRange) {
  for (int cost : {-1, 0, 3, 32, 100}) {
    auto hash = HashPassword("pw", cost);
    ASSERT_FALSE(hash.ok()) << cost;
    EXPECT_EQ(hash.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(hash.status().message(),
              "crypto/bcrypt: cost " + std::to_string(cost) + " is outside allowed range (4,31)");
  }
}

TEST(HashPassword, RefusesNulByte) {
  auto hash = HashPassword(std::string("a\0b", 3), 4);
  ASSERT_FALSE(hash.ok());
  EXPECT_EQ(hash.status().code(), Code::kInvalidArgument);
}

// etcd 3.4's x/crypto bcrypt uses only the first 72 bytes of a password (no
// ErrPasswordTooLong yet); so does libxcrypt.
TEST(HashPassword, OnlyTheFirst72BytesCount) {
  const std::string first72(72, 'p');
  auto hash = HashPassword(first72 + "tail that does not count", 4);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(CheckPassword(*hash, first72));
  EXPECT_TRUE(CheckPassword(*hash, first72 + "anything"));
  EXPECT_FALSE(CheckPassword(*hash, std::string(71, 'p')));
}

TEST(CheckPassword, AcceptsGoBcryptVectors) {
  EXPECT_TRUE(CheckPassword(kGoHashAllmine, "allmine"));
  EXPECT_FALSE(CheckPassword(kGoHashAllmine, "allmine2"));
  EXPECT_TRUE(
      CheckPassword(kGoHashLong57, "012345678901234567890123456789012345678901234567890123456"));
  EXPECT_TRUE(CheckPassword(kGoHashPassw0rd, "passw0rd"));
  EXPECT_FALSE(CheckPassword(kGoHashPassw0rd, "passw0rd123456"));
}

TEST(CheckPassword, AcceptsThe2bAnd2yFormsOfAGoHash) {
  std::string hash = kGoHashAllmine;
  hash[2] = 'b';
  EXPECT_TRUE(CheckPassword(hash, "allmine"));
  hash[2] = 'y';
  EXPECT_TRUE(CheckPassword(hash, "allmine"));
}

TEST(CheckPassword, RefusesMalformedAndNonBcryptHashes) {
  EXPECT_FALSE(CheckPassword("", ""));
  EXPECT_FALSE(CheckPassword("$2a$10$fooo", "allmine"));
  EXPECT_FALSE(CheckPassword("$2a", "allmine"));
  EXPECT_FALSE(CheckPassword("$2a$32$sssssssssssssssssssssshhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh", "x"));
  // Another crypt(3) scheme or DES must not be accepted in place of bcrypt.
  EXPECT_FALSE(CheckPassword("$1$abcdefgh$Z8Bt8lgMq5/ICbHZmmZPH.", "pw"));
  EXPECT_FALSE(CheckPassword("abJnggxhB/yWI", "pw"));
  std::string truncated = kGoHashAllmine;
  truncated.pop_back();
  EXPECT_FALSE(CheckPassword(truncated, "allmine"));
}

TEST(CheckPassword, RefusesAPasswordWithANulByte) {
  auto hash = HashPassword("a", 4);
  ASSERT_TRUE(hash.ok());
  EXPECT_FALSE(CheckPassword(*hash, std::string("a\0b", 3)));
}

TEST(ValidateBcryptCost, GoRange) {
  EXPECT_TRUE(ValidateBcryptCost(kMinBcryptCost).ok());
  EXPECT_TRUE(ValidateBcryptCost(kDefaultBcryptCost).ok());
  EXPECT_TRUE(ValidateBcryptCost(kMaxBcryptCost).ok());
  Status s = ValidateBcryptCost(3);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "crypto/bcrypt: cost 3 is outside allowed range (4,31)");
  EXPECT_EQ(ValidateBcryptCost(32).message(),
            "crypto/bcrypt: cost 32 is outside allowed range (4,31)");
  EXPECT_EQ(kDefaultBcryptCost, 10);
}

}  // namespace
}  // namespace etcdd::auth
