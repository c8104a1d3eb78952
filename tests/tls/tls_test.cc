// lib/tls without a network: the start-up checks of TLS files (etcd's
// wording), auto TLS certificates (made once, then reused), cipher suite
// names. Handshakes are covered by the real-process tests beside this file.
#include "tls/tls.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "base/file.h"
#include "base/log.h"

namespace etcdd::tls {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/etcdd-tls-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Logger> log_ = Logger::Stderr(LogLevel::kError);
  std::string dir_;
};

TEST_F(TlsTest, SelfCertIsMadeOnceThenReused) {
  auto first = SelfCert(dir_ + "/fixtures/client", {"127.0.0.1:2379", "localhost:2379"}, 1, *log_);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->self_cert);
  EXPECT_EQ(first->cert_file, dir_ + "/fixtures/client/cert.pem");
  EXPECT_EQ(first->key_file, dir_ + "/fixtures/client/key.pem");
  EXPECT_TRUE(CheckFiles(*first).ok());
  struct stat st;
  ASSERT_EQ(stat(first->key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto pem = ReadFile(first->cert_file);
  ASSERT_TRUE(pem.ok());
  auto again = SelfCert(dir_ + "/fixtures/client", {"127.0.0.1:2379"}, 1, *log_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*ReadFile(again->cert_file), *pem);
}

TEST_F(TlsTest, CheckFilesNamesTheProblem) {
  auto a = SelfCert(dir_ + "/a", {"127.0.0.1"}, 1, *log_);
  auto b = SelfCert(dir_ + "/b", {"127.0.0.1"}, 1, *log_);
  ASSERT_TRUE(a.ok() && b.ok());
  TlsInfo missing;
  missing.cert_file = dir_ + "/none.pem";
  missing.key_file = a->key_file;
  EXPECT_EQ(CheckFiles(missing).message(), "open " + dir_ + "/none.pem: no such file or directory");
  TlsInfo mismatched;
  mismatched.cert_file = a->cert_file;
  mismatched.key_file = b->key_file;
  EXPECT_EQ(CheckFiles(mismatched).message(), "tls: private key does not match public key (cert " +
                                                  a->cert_file + ", key " + b->key_file + ")");
  TlsInfo half;
  half.cert_file = a->cert_file;
  EXPECT_EQ(CheckFiles(half).message(),
            "KeyFile and CertFile must both be present[key: , cert: " + a->cert_file + "]");
  TlsInfo not_pem;
  not_pem.cert_file = a->key_file;
  not_pem.key_file = a->key_file;
  EXPECT_EQ(CheckFiles(not_pem).code(), Code::kInvalidArgument);
  TlsInfo both = *a;
  both.allowed_cn = "x";
  both.allowed_hostname = "y";
  EXPECT_EQ(CheckFiles(both).message(),
            "AllowedCN and AllowedHostname are mutually exclusive (cn=\"x\", hostname=\"y\")");
}

TEST_F(TlsTest, CredentialsAreBuiltForGoodFiles) {
  auto a = SelfCert(dir_ + "/a", {"127.0.0.1"}, 1, *log_);
  ASSERT_TRUE(a.ok());
  TlsInfo server = *a;
  server.trusted_ca_file = a->cert_file;
  server.client_cert_auth = true;
  EXPECT_TRUE(ServerCredentials(server, "client", *log_).ok());
  EXPECT_TRUE(ChannelCredentials(*a).ok());
  EXPECT_FALSE(ServerCredentials(TlsInfo{}, "client", *log_).ok());
}

TEST(CipherSuitesTest, GoNamesOnly) {
  EXPECT_TRUE(CheckCipherSuites({"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                 "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"})
                  .ok());
  EXPECT_EQ(CheckCipherSuites({"ECDHE-RSA-AES128-GCM-SHA256"}).message(),
            "unexpected TLS cipher suite \"ECDHE-RSA-AES128-GCM-SHA256\"");
}

}  // namespace
}  // namespace etcdd::tls
