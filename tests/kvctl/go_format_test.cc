// Go's text formats as etcdctl prints and parses them (lib/cli/go_format.h,
// go_json.h). Expected strings are what Go 1.19 produces for the same input.
#include "cli/go_format.h"

#include <gtest/gtest.h>

#include "cli/go_json.h"

namespace etcdd::cli {
namespace {

TEST(GoUnquote, HandlesGoEscapes) {
  EXPECT_EQ(GoUnquote("\"a\\x41\\u00e9\\101\\n\\\"\""), "aA\u00e9A\n\"");
  EXPECT_EQ(GoUnquote("\"\\xff\""), std::string("\xff"));
  EXPECT_FALSE(GoUnquote("\"a"));
  EXPECT_FALSE(GoUnquote("\"\\q\""));
  EXPECT_FALSE(GoUnquote("\"a\"b\""));
  EXPECT_FALSE(GoUnquote("\"\\ud800\""));
}

TEST(ScanGoQuoted, SkipsSpacesAndAcceptsRawStrings) {
  size_t pos = 0;
  EXPECT_EQ(ScanGoQuoted("  \"k\\\"ey\") = ", &pos), "k\"ey");
  EXPECT_EQ(pos, 9u);
  pos = 0;
  EXPECT_EQ(ScanGoQuoted("`raw\\n`", &pos), "raw\\n");
  pos = 0;
  EXPECT_FALSE(ScanGoQuoted("key", &pos));
  EXPECT_FALSE(ScanGoQuoted("\"open", &pos));
}

TEST(HumanizeBytes, UsesSiUnits) {
  EXPECT_EQ(HumanizeBytes(0), "0 B");
  EXPECT_EQ(HumanizeBytes(9), "9 B");
  EXPECT_EQ(HumanizeBytes(10), "10 B");
  EXPECT_EQ(HumanizeBytes(999), "999 B");
  EXPECT_EQ(HumanizeBytes(1000), "1.0 kB");
  EXPECT_EQ(HumanizeBytes(20480), "20 kB");
  EXPECT_EQ(HumanizeBytes(1500000), "1.5 MB");
  EXPECT_EQ(HumanizeBytes(2147483648ULL), "2.1 GB");
}

TEST(Bytes, Base64AndHex) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foo2"), "Zm9vMg==");
  EXPECT_EQ(Base64Encode("b<a>r&"), "YjxhPnIm");
  EXPECT_EQ(HexEscaped("fo\xff"), "\\x66\\x6f\\xff");
  EXPECT_EQ(GoStringSlice({}), "[]");
  EXPECT_EQ(GoStringSlice({"a", "b c"}), "[a b c]");
}

TEST(GoJson, EscapesStringsLikeEncodingJson) {
  EXPECT_EQ(GoJsonString("a<b>&c"), "\"a\\u003cb\\u003e\\u0026c\"");
  EXPECT_EQ(GoJsonString("\n\r\t\b\x01\""), "\"\\n\\r\\t\\u0008\\u0001\\\"\"");
  EXPECT_EQ(GoJsonString("\u2028\u00e9"), "\"\\u2028\u00e9\"");
  EXPECT_EQ(GoJsonString("\xff"), "\"\\ufffd\"");
}

TEST(GoJson, KeepsFieldOrderAndLargeNumbers) {
  nlohmann::ordered_json j;
  j["z"] = UINT64_C(18446744073709551615);
  j["a"] = nlohmann::ordered_json::array({true, -1, "x"});
  j["m"] = nlohmann::ordered_json::object();
  EXPECT_EQ(GoJson(j), "{\"z\":18446744073709551615,\"a\":[true,-1,\"x\"],\"m\":{}}");
}

}  // namespace
}  // namespace etcdd::cli
