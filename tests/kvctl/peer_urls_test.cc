// --peer-urls checks report what etcdctl 3.4.23 reports (Go 1.19's net/url
// under etcd's types.NewURLs); every expected message was printed by etcdctl.
#include "cli/peer_urls.h"

#include <gtest/gtest.h>

namespace etcdd::cli {
namespace {

std::string Check(std::vector<std::string> urls) {
  Status st = ValidatePeerUrls(urls);
  return st.ok() ? "ok" : st.message();
}

TEST(ValidatePeerUrls, AcceptsSchemeHostPort) {
  EXPECT_EQ(Check({"http://127.0.0.1:2380"}), "ok");
  EXPECT_EQ(Check({"https://a:1", "unix://b:2", "unixs://c:3"}), "ok");
  EXPECT_EQ(Check({" http://a:1 "}), "ok") << "trimmed";
  EXPECT_EQ(Check({"HTTP://a:1"}), "ok") << "scheme case-insensitive";
  EXPECT_EQ(Check({"http://[::1]:2380"}), "ok");
  EXPECT_EQ(Check({"http://a:1?q/"}), "ok") << "a query is not a path";
  EXPECT_EQ(Check({"http://a:"}), "ok") << "an empty port splits";
}

TEST(ValidatePeerUrls, NewUrlsErrors) {
  EXPECT_EQ(Check({}), "no valid URLs given");
  EXPECT_EQ(Check({"foo"}), "URL scheme must be http, https, unix, or unixs: foo");
  EXPECT_EQ(Check({"http://a:1", ""}), "URL scheme must be http, https, unix, or unixs: ");
  EXPECT_EQ(Check({"http://foo"}), "URL address does not have the form \"host:port\": http://foo");
  EXPECT_EQ(Check({"unix://a"}), "URL address does not have the form \"host:port\": unix://a");
  EXPECT_EQ(Check({"http:a"}), "URL address does not have the form \"host:port\": http:a");
  EXPECT_EQ(Check({"http://a::1"}),
            "URL address does not have the form \"host:port\": http://a::1");
  EXPECT_EQ(Check({"http://foo:1/path"}), "URL must not contain a path: http://foo:1/path");
  EXPECT_EQ(Check({"HTTP://a:1/"}), "URL must not contain a path: HTTP://a:1/");
  EXPECT_EQ(Check({"*"}), "URL scheme must be http, https, unix, or unixs: *");
}

TEST(ValidatePeerUrls, GoUrlParseErrors) {
  EXPECT_EQ(Check({":::"}), "parse \":::\": missing protocol scheme");
  EXPECT_EQ(Check({"1http://a:1"}),
            "parse \"1http://a:1\": first path segment in URL cannot contain colon");
  EXPECT_EQ(Check({"a/b:c"}), "URL scheme must be http, https, unix, or unixs: a/b:c");
  EXPECT_EQ(Check({"http://[::1"}), "parse \"http://[::1\": missing ']' in host");
  EXPECT_EQ(Check({"http://a b:1"}),
            "parse \"http://a b:1\": invalid character \" \" in host name");
  EXPECT_EQ(Check({"http://a\x01:1"}),
            "parse \"http://a\\x01:1\": net/url: invalid control character in URL");
  EXPECT_EQ(Check({"http://%zz:1"}), "parse \"http://%zz:1\": invalid URL escape \"%zz\"");
  EXPECT_EQ(Check({"http://a%41:1"}), "parse \"http://a%41:1\": invalid URL escape \"%41\"");
  EXPECT_EQ(Check({"http://a:1/%zz"}), "parse \"http://a:1/%zz\": invalid URL escape \"%zz\"");
  EXPECT_EQ(Check({"http://a:x"}), "parse \"http://a:x\": invalid port \":x\" after host");
  EXPECT_EQ(Check({"http://[::1]x"}), "parse \"http://[::1]x\": invalid port \"x\" after host");
  EXPECT_EQ(Check({"http://u^@a:1"}), "parse \"http://u^@a:1\": net/url: invalid userinfo");
  EXPECT_EQ(Check({"http://a:1#%zz"}), "parse \"http://a:1#%zz\": invalid URL escape \"%zz\"");
  EXPECT_EQ(Check({"http://[fe80::1%25%00]:1"}),
            "parse \"http://[fe80::1%25%00]:1\": invalid URL escape \"%00\"");
}

}  // namespace
}  // namespace etcdd::cli
