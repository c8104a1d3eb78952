// Go's text formats that the daemon and the tools share, byte for byte:
// time.Duration and strconv's number and bool parsing with Go's error strings
// (etcd's flags and etcdctl's arguments are parsed by them), strconv.Quote
// and the UTF-8 and terminal-width rules under it, and member ids as etcd
// prints them (types.ID).
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace etcdd {

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

// Go's strconv.Quote (fmt's %q of a string): double-quoted, with \a \b \f \n
// \r \t \v \\ \" escapes, \xNN for bytes that are not valid UTF-8 and for
// ASCII control bytes, \uNNNN / \UNNNNNNNN for non-printable runes; printable
// Unicode is kept as is. Printability follows Go's unicode.IsPrint for the
// common categories (controls, format characters, separators other than
// U+0020, private use); unassigned code points are treated as printable.
std::string GoQuote(std::string_view s);

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

// Go's encoding/json encoding of one string, quotes included (HTML-safe:
// \u003c \u003e \u0026, \u2028 \u2029, invalid UTF-8 as \ufffd, control
// characters other than \n \r \t as \u00XX).
std::string GoJsonString(std::string_view s);

// Lower-case hex of every byte, as Go's hex.EncodeToString.
std::string HexBytes(std::string_view bytes);

// A member or cluster id as etcd prints it (types.ID.String()): lower-case
// hex without padding, "8e9e05c52164694d".
std::string IdToHex(uint64_t id);

// gogoproto's String() of an etcdserverpb.AlarmMember (Go's
// proto.CompactTextString): "memberID:<decimal> alarm:<type name> ", each
// field only when non-zero (`alarm_name` empty for NONE), each followed by
// a space. etcd's Status lists alarms this way; etcdctl prints them so.
std::string AlarmMemberText(uint64_t member_id, std::string_view alarm_name);

// Go's text for an errno (syscall.Errno.Error()): strerror's message with
// its first letter lowercased, as in "open /x: no such file or directory"
// and "bind: address already in use".
std::string GoErrnoText(int err);

// github.com/dustin/go-humanize Bytes(): SI units, "9 B", "20 kB", "1.5 MB"
// (etcdctl's sizes, etcd's "current-db-size" log fields).
std::string HumanizeBytes(uint64_t bytes);

}  // namespace etcdd
