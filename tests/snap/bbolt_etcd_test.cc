// Interop with real etcd 3.4 (/usr/bin/etcd, /usr/bin/etcdctl):
//   - a snapshot file our writer made (bbolt + SHA-256) passes `etcdctl
//     snapshot status` (which runs bbolt's tx.Check()) with the key count,
//     revision and hash we expect, restores with `etcdctl snapshot restore`,
//     and a real etcd started on the restored data dir serves its keys;
//   - a snapshot real etcd saved is read whole by our reader, which finds the
//     same key count, revision and hash as etcdctl.
// Skipped when the binaries are missing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/crc32c.h"
#include "bbolt_test_util.h"

namespace etcdd::snap::testing {
namespace {

constexpr const char* kEtcd = "/usr/bin/etcd";
constexpr const char* kEtcdctl = "/usr/bin/etcdctl";

// Runs `cmd` in sh; returns its exit code and stdout (stderr goes to ours).
std::pair<int, std::string> Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, out};
  char buf[4096];
  size_t n;
  while ((n = ::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

std::string Etcdctl(const std::string& endpoint) {
  return std::string("ETCDCTL_API=3 ") + kEtcdctl + " --endpoints=" + endpoint + " ";
}

// A free loopback TCP port (free when asked; fine for a test).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// One real etcd member on loopback, killed when destroyed.
class Etcd {
 public:
  // Starts etcd named "t" on `data_dir` (created or restored beforehand).
  Etcd(const std::string& data_dir, int client_port, int peer_port, const std::string& log)
      : endpoint_("http://127.0.0.1:" + std::to_string(client_port)) {
    std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* f = ::freopen(log.c_str(), "w", stderr);
      (void)f;
      ::execl(kEtcd, kEtcd, "--name", "t", "--data-dir", data_dir.c_str(), "--listen-client-urls",
              endpoint_.c_str(), "--advertise-client-urls", endpoint_.c_str(), "--listen-peer-urls",
              peer.c_str(), "--initial-advertise-peer-urls", peer.c_str(), "--initial-cluster",
              ("t=" + peer).c_str(), nullptr);
      ::_exit(127);
    }
  }
  ~Etcd() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  const std::string& endpoint() const { return endpoint_; }

  // Waits up to 20 s for the member to answer.
  bool WaitHealthy() const {
    for (int i = 0; i < 100; ++i) {
      if (Shell(Etcdctl(endpoint_) + "endpoint health >/dev/null 2>&1").first == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

 private:
  std::string endpoint_;
  pid_t pid_ = -1;
};

int64_t BigEndian64(std::string_view b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<unsigned char>(b[i]);
  return static_cast<int64_t>(v);
}

// What `etcdctl snapshot status` reports, computed from our reader the way
// etcd's v3Manager.Status does.
struct Summary {
  uint32_t hash = 0;
  int64_t revision = 0;
  int64_t total_keys = 0;
};

Summary Summarize(const BboltReader& reader) {
  Summary s;
  auto names = reader.Buckets();
  EXPECT_TRUE(names.ok()) << names.status().ToString();
  for (const auto& name : names.ok() ? *names : std::vector<std::string>{}) {
    s.hash = Crc32c(s.hash, name);
    Status st = reader.ForEach(name, [&](std::string_view k, std::string_view v) {
      s.hash = Crc32c(Crc32c(s.hash, k), v);
      if (name == "key" && k.size() >= 8) {
        s.revision = BigEndian64(k);
      }
      ++s.total_keys;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  return s;
}

Summary EtcdctlStatus(const std::string& file) {
  auto [rc, out] =
      Shell(std::string("ETCDCTL_API=3 ") + kEtcdctl + " snapshot status " + file + " -w json");
  EXPECT_EQ(rc, 0) << out;
  Summary s;
  auto j = nlohmann::json::parse(out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << out;
  if (j.is_discarded()) return s;
  s.hash = j.value("hash", 0u);
  s.revision = j.value("revision", int64_t{0});
  s.total_keys = j.value("totalKey", int64_t{0});
  return s;
}

std::string Sha256(const std::string& data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  ::SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}

std::string Varint(uint64_t v) {
  std::string out;
  do {
    out += static_cast<char>((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v != 0);
  return out;
}

// An mvccpb.KeyValue as etcd stores it in its "key" bucket.
std::string KeyValuePb(const std::string& key, const std::string& value, uint64_t create_rev,
                       uint64_t mod_rev, uint64_t version) {
  std::string pb = "\x0a" + Varint(key.size()) + key;
  pb += "\x10" + Varint(create_rev) + "\x18" + Varint(mod_rev) + "\x20" + Varint(version);
  return pb + "\x2a" + Varint(value.size()) + value;
}

class BboltEtcdTest : public BboltTest {
 protected:
  void SetUp() override {
    if (::access(kEtcd, X_OK) != 0 || ::access(kEtcdctl, X_OK) != 0) {
      GTEST_SKIP() << "etcd or etcdctl not installed";
    }
    BboltTest::SetUp();
  }
};

// The Summary etcdctl should report for `db`.
Summary Expected(const Db& db) {
  Summary s;
  for (const auto& [name, entries] : db) {
    s.hash = Crc32c(s.hash, name);
    for (const auto& [k, v] : entries) {
      s.hash = Crc32c(Crc32c(s.hash, k), v);
      if (name == "key") s.revision = BigEndian64(k);
      ++s.total_keys;
    }
  }
  return s;
}

void ExpectSame(const Summary& got, const Summary& want) {
  EXPECT_EQ(got.hash, want.hash);
  EXPECT_EQ(got.revision, want.revision);
  EXPECT_EQ(got.total_keys, want.total_keys);
}

std::string Be64(uint64_t v) {
  std::string b(8, '\0');
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (56 - 8 * i));
  return b;
}

// An etcd-shaped key space: 300 keys at revisions 2..301, some values large
// enough for overflow pages, and etcd's other buckets.
Db EtcdShapedDb() {
  Db db;
  for (uint64_t i = 0; i < 300; ++i) {
    std::string key = "key-" + std::to_string(1000 + i);
    std::string value = i % 50 == 0 ? std::string(6000, 'x') : "value-" + std::to_string(i);
    db["key"].emplace_back(RevKey(i + 2, 0), KeyValuePb(key, value, i + 2, i + 2, 1));
  }
  db["meta"] = {{"consistent_index", Be64(400)}};
  db["cluster"] = {{"clusterVersion", "3.4.0"}};
  for (const char* name :
       {"lease", "members", "members_removed", "alarm", "auth", "authUsers", "authRoles"}) {
    db[name] = {};
  }
  return db;
}

TEST_F(BboltEtcdTest, OurSnapshotPassesEtcdctlAndRestoresIntoEtcd) {
  const Db db = EtcdShapedDb();
  auto size = WriteDb(Path("snap.db"), db, 5);
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  auto bytes = ReadFile(Path("snap.db"));
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(WriteFileAtomic(Path("snap.db"), *bytes + Sha256(*bytes)).ok());

  ExpectSame(EtcdctlStatus(Path("snap.db")), Expected(db));
  auto reader = BboltReader::Open(Path("snap.db"), *size);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ExpectSame(Summarize(*reader), Expected(db));

  const int client = FreePort(), peer = FreePort();
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer);
  auto [rc, out] =
      Shell(std::string("ETCDCTL_API=3 ") + kEtcdctl + " snapshot restore " + Path("snap.db") +
            " --name t --data-dir " + Path("restored") + " --initial-cluster t=" + peer_url +
            " --initial-advertise-peer-urls " + peer_url + " 2>&1");
  ASSERT_EQ(rc, 0) << out;

  Etcd etcd(Path("restored"), client, peer, Path("etcd.log"));
  ASSERT_TRUE(etcd.WaitHealthy()) << "see " << Path("etcd.log");
  auto got = Shell(Etcdctl(etcd.endpoint()) + "get key-1007 --print-value-only");
  EXPECT_EQ(got.second, "value-7\n");
  got = Shell(Etcdctl(etcd.endpoint()) + "get key-1050 --print-value-only");
  EXPECT_EQ(got.second, std::string(6000, 'x') + "\n");
  got = Shell(Etcdctl(etcd.endpoint()) + "get key- --prefix --keys-only | grep -c .");
  EXPECT_EQ(got.second, "300\n");
}

TEST_F(BboltEtcdTest, DeepTreesAndOverflowPagesPassBboltsCheck) {
  Db db;
  for (uint64_t i = 1; i <= 200000; ++i) db["key"].emplace_back(RevKey(i, 0, i % 997 == 0), "v");
  // Keys of bbolt's maximum size: branch pages overflow too.
  for (int i = 0; i < 40; ++i) {
    db["huge"].emplace_back(std::string(32760, 'k') + std::to_string(10000000 + i),
                            std::string(i * 1000, 'v'));
  }
  db["small"] = {{"a", ""}};
  auto size = WriteDb(Path("snap.db"), db, 9);
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  ExpectSame(EtcdctlStatus(Path("snap.db")), Expected(db));
}

TEST_F(BboltEtcdTest, OurReaderReadsASnapshotEtcdSaved) {
  const int client = FreePort(), peer = FreePort();
  Etcd etcd(Path("data"), client, peer, Path("etcd.log"));
  ASSERT_TRUE(etcd.WaitHealthy()) << "see " << Path("etcd.log");
  const std::string ctl = Etcdctl(etcd.endpoint());
  // 4000 keys in 40 transactions (a three-level "key" tree), then deletes
  // and a physical compaction, so bbolt has split and rebalanced its pages.
  const std::string value(80, 'v');
  auto [rc, out] = Shell(
      "for t in $(seq 1 40); do (echo; for i in $(seq 1 100); do echo put k-$t-$i " + value +
      "; done; echo; echo) | " + ctl + "txn >/dev/null || exit 1; done; " + ctl +
      "put big $(head -c 9000 /dev/zero | tr '\\0' x) >/dev/null && " + ctl +
      "del k-1 --prefix >/dev/null && " + ctl + "compact 43 --physical >/dev/null && " + ctl +
      "lease grant 600 >/dev/null && " + ctl + "user add root:pw >/dev/null && " + ctl +
      "role add r >/dev/null && " + ctl + "snapshot save " + Path("etcd.db") + " >/dev/null 2>&1");
  ASSERT_EQ(rc, 0) << out;

  const uint64_t file_size = std::filesystem::file_size(Path("etcd.db"));
  ASSERT_EQ(file_size % 512, 32u);
  auto bytes = ReadFile(Path("etcd.db"));
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(Sha256(bytes->substr(0, file_size - 32)), bytes->substr(file_size - 32));

  auto reader = BboltReader::Open(Path("etcd.db"), file_size - 32);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  Status check = reader->Check();
  EXPECT_TRUE(check.ok()) << check.ToString();
  auto names = reader->Buckets();
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  for (const char* want : {"alarm", "auth", "authRoles", "authUsers", "cluster", "key", "lease",
                           "members", "members_removed", "meta"}) {
    EXPECT_NE(std::find(names->begin(), names->end(), want), names->end()) << want;
  }
  Summary ours = Summarize(*reader);
  ExpectSame(ours, EtcdctlStatus(Path("etcd.db")));
  EXPECT_GE(ours.revision, 42);
  EXPECT_GT(ours.total_keys, 2000);
}

}  // namespace
}  // namespace etcdd::snap::testing
