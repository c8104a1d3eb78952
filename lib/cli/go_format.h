// Go's text formats, byte for byte, for tools that must print what etcdctl
// prints and parse what etcdctl parses.
//
// etcdctl is written in Go, and its output is whatever Go's fmt, strconv,
// time and encoding packages make of a value: %q quoting, Duration.String()
// ("1.693109ms"), humanize.Bytes ("20 kB"), strconv.ParseInt's error strings.
// Scripts parse those strings, so kvctl reproduces them here instead of
// approximating them at each call site.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace etcdd::cli {

// Go's strconv.Quote (fmt's %q of a string): double-quoted, with \a \b \f \n
// \r \t \v \\ \" escapes, \xNN for bytes that are not valid UTF-8 and for
// ASCII control bytes, \uNNNN / \UNNNNNNNN for non-printable runes; printable
// Unicode is kept as is. Printability follows Go's unicode.IsPrint for the
// common categories (controls, format characters, separators other than
// U+0020, private use); unassigned code points are treated as printable.
std::string GoQuote(std::string_view s);

// Reads one Go-quoted string from `in` at `*pos` as fmt's %q verb scans it:
// leading spaces are skipped, then a "double-quoted" string with Go escapes
// or a `raw` string. On success advances *pos past the closing quote.
// Returns nullopt for a missing, unterminated or malformed string.
std::optional<std::string> ScanGoQuoted(std::string_view in, size_t* pos);

// Go's strconv.Unquote for a double-quoted string literal, including the
// quotes. Returns nullopt on a syntax error.
std::optional<std::string> GoUnquote(std::string_view quoted);

// Go's time.Duration.String(): "0s", "850ns", "1.5µs", "1.693109ms",
// "2.5s", "1m30s", "1h0m0s".
std::string GoDuration(std::chrono::nanoseconds d);

// Go's time.ParseDuration ("300ms", "1.5s", "1h2m", "0"). Errors:
// InvalidArgument carrying Go's message, e.g. `time: invalid duration "abc"`,
// `time: missing unit in duration "5"`.
Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view s);

// Go's strconv.ParseInt(s, base, 64); base 0 accepts 0x/0o/0b/0 prefixes and
// underscores as Go does. Errors: InvalidArgument carrying Go's message,
// `strconv.ParseInt: parsing "abc": invalid syntax` or `...: value out of
// range`.
Result<int64_t> ParseGoInt64(std::string_view s, int base);

// Go's strconv.ParseUint(s, base, 64), same conventions as ParseGoInt64.
Result<uint64_t> ParseGoUint64(std::string_view s, int base);

// Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False.
// Errors: InvalidArgument `strconv.ParseBool: parsing "x": invalid syntax`.
Result<bool> ParseGoBool(std::string_view s);

// github.com/dustin/go-humanize Bytes(): SI units, "9 B", "20 kB", "1.5 MB".
std::string HumanizeBytes(uint64_t bytes);

// Standard base64 with padding, as Go's encoding/json encodes []byte.
std::string Base64Encode(std::string_view bytes);

// etcdctl's --hex form of a byte string: every byte as "\xNN" (lower case).
std::string HexEscaped(std::string_view bytes);

// A lease id as etcdctl prints it, Go's "%016x" of an int64: zero-padded to
// 16 digits, a negative one as "-" and 15 digits ("-000000000000001").
std::string LeaseHex(int64_t id);

// fmt's %v of a []string: "[a b c]", "[]" when empty.
std::string GoStringSlice(const std::vector<std::string>& v);

// One decoded UTF-8 sequence, with Go's utf8.DecodeRuneInString semantics:
// an invalid or truncated sequence decodes as U+FFFD with size 1.
struct DecodedRune {
  char32_t rune;
  size_t size;
  bool valid;
};
DecodedRune DecodeUtf8(std::string_view s, size_t pos);

// Appends the UTF-8 encoding of `r` to `out`.
void AppendUtf8(char32_t r, std::string* out);

// The number of terminal columns `s` occupies, as go-runewidth counts them:
// 0 for control and combining characters, 2 for East Asian wide ones, 1
// otherwise; ANSI colour sequences count 0.
size_t DisplayWidth(std::string_view s);

}  // namespace etcdd::cli
