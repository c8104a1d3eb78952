// Go's duration and strconv parsing (base/go_text.h), checked against what
// Go's time and strconv packages print and accept.
#include "base/go_text.h"

#include <gtest/gtest.h>

namespace etcdd {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(GoDuration, MatchesDurationString) {
  EXPECT_EQ(GoDuration(nanoseconds(0)), "0s");
  EXPECT_EQ(GoDuration(nanoseconds(850)), "850ns");
  EXPECT_EQ(GoDuration(nanoseconds(1500)), "1.5\u00b5s");
  EXPECT_EQ(GoDuration(nanoseconds(1693109)), "1.693109ms");
  EXPECT_EQ(GoDuration(milliseconds(20)), "20ms");
  EXPECT_EQ(GoDuration(milliseconds(2500)), "2.5s");
  EXPECT_EQ(GoDuration(seconds(90)), "1m30s");
  EXPECT_EQ(GoDuration(seconds(3600)), "1h0m0s");
  EXPECT_EQ(GoDuration(nanoseconds(-1500)), "-1.5\u00b5s");
}

TEST(ParseGoDuration, AcceptsGoSyntax) {
  EXPECT_EQ(ParseGoDuration("2s").value(), seconds(2));
  EXPECT_EQ(ParseGoDuration("300ms").value(), milliseconds(300));
  EXPECT_EQ(ParseGoDuration("1.5s").value(), milliseconds(1500));
  EXPECT_EQ(ParseGoDuration("1h2m").value(), seconds(3720));
  EXPECT_EQ(ParseGoDuration("10us").value(), microseconds(10));
  EXPECT_EQ(ParseGoDuration("0").value(), nanoseconds(0));
  EXPECT_EQ(ParseGoDuration("-1s").value(), seconds(-1));
}

TEST(ParseGoDuration, ReportsGoErrors) {
  EXPECT_EQ(ParseGoDuration("abc").status().message(), "time: invalid duration \"abc\"");
  EXPECT_EQ(ParseGoDuration("").status().message(), "time: invalid duration \"\"");
  EXPECT_EQ(ParseGoDuration("5").status().message(), "time: missing unit in duration \"5\"");
  EXPECT_EQ(ParseGoDuration("5x").status().message(),
            "time: unknown unit \"x\" in duration \"5x\"");
}

TEST(ParseGoInt64, FollowsStrconv) {
  EXPECT_EQ(ParseGoInt64("42", 10).value(), 42);
  EXPECT_EQ(ParseGoInt64("-42", 0).value(), -42);
  EXPECT_EQ(ParseGoInt64("0x1f", 0).value(), 31);
  EXPECT_EQ(ParseGoInt64("017", 0).value(), 15);
  EXPECT_EQ(ParseGoInt64("1_000", 0).value(), 1000);
  EXPECT_EQ(ParseGoInt64("694d7b0c2d7a0f0a", 16).value(), 0x694d7b0c2d7a0f0a);
  EXPECT_EQ(ParseGoInt64("abc", 10).status().message(),
            "strconv.ParseInt: parsing \"abc\": invalid syntax");
  EXPECT_EQ(ParseGoInt64("", 10).status().message(),
            "strconv.ParseInt: parsing \"\": invalid syntax");
  EXPECT_EQ(ParseGoInt64("9223372036854775808", 10).status().message(),
            "strconv.ParseInt: parsing \"9223372036854775808\": value out of range");
  EXPECT_EQ(ParseGoInt64("-9223372036854775808", 10).value(), INT64_MIN);
  EXPECT_FALSE(ParseGoInt64("0x10", 16).ok());
  EXPECT_EQ(ParseGoUint64("ffffffffffffffff", 16).value(), UINT64_MAX);
}

TEST(ParseGoBool, AcceptsGoSpellings) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) EXPECT_TRUE(ParseGoBool(t).value());
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    EXPECT_FALSE(ParseGoBool(f).value());
  }
  EXPECT_EQ(ParseGoBool("yes").status().message(),
            "strconv.ParseBool: parsing \"yes\": invalid syntax");
}

TEST(GoQuote, EscapesLikeStrconvQuote) {
  EXPECT_EQ(GoQuote(""), "\"\"");
  EXPECT_EQ(GoQuote("foo"), "\"foo\"");
  EXPECT_EQ(GoQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(GoQuote("\a\b\f\n\r\t\v"), "\"\\a\\b\\f\\n\\r\\t\\v\"");
  EXPECT_EQ(GoQuote(std::string("\x00\x01\x7f", 3)), "\"\\x00\\x01\\x7f\"");
}

TEST(GoQuote, KeepsPrintableUnicodeAndEscapesTheRest) {
  EXPECT_EQ(GoQuote("h\u00e9llo \u2713"), "\"h\u00e9llo \u2713\"");
  EXPECT_EQ(GoQuote("\u00a0\u2028\ufeff"), "\"\\u00a0\\u2028\\ufeff\"");
  EXPECT_EQ(GoQuote("\xc2\x85"), "\"\\u0085\"");
  // Bytes that are not UTF-8 are escaped one by one.
  EXPECT_EQ(GoQuote("\xff\xc3"), "\"\\xff\\xc3\"");
}

TEST(DisplayWidth, CountsColumns) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("h\u00e9"), 2u);
  EXPECT_EQ(DisplayWidth("\u4e16\u754c"), 4u);
  EXPECT_EQ(DisplayWidth("\033[31mred\033[0m"), 3u);
}

TEST(IdToHex, PrintsLikeTypesId) {
  EXPECT_EQ(IdToHex(0x8e9e05c52164694d), "8e9e05c52164694d");
  EXPECT_EQ(IdToHex(0x1a), "1a");
  EXPECT_EQ(IdToHex(0), "0");
}

}  // namespace
}  // namespace etcdd
