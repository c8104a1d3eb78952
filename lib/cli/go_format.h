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

#include "base/go_text.h"
#include "base/status.h"

namespace etcdd::cli {

// Reads one Go-quoted string from `in` at `*pos` as fmt's %q verb scans it:
// leading spaces are skipped, then a "double-quoted" string with Go escapes
// or a `raw` string. On success advances *pos past the closing quote.
// Returns nullopt for a missing, unterminated or malformed string.
std::optional<std::string> ScanGoQuoted(std::string_view in, size_t* pos);

// Go's strconv.Unquote for a double-quoted string literal, including the
// quotes. Returns nullopt on a syntax error.
std::optional<std::string> GoUnquote(std::string_view quoted);

// Standard base64 with padding, as Go's encoding/json encodes []byte.
std::string Base64Encode(std::string_view bytes);

// etcdctl's --hex form of a byte string: every byte as "\xNN" (lower case).
std::string HexEscaped(std::string_view bytes);

// A lease id as etcdctl prints it, Go's "%016x" of an int64: zero-padded to
// 16 digits, a negative one as "-" and 15 digits ("-000000000000001").
std::string LeaseHex(int64_t id);

// fmt's %v of a []string: "[a b c]", "[]" when empty.
std::string GoStringSlice(const std::vector<std::string>& v);

}  // namespace etcdd::cli
