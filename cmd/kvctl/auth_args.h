// Argument rules of the user and role commands (etcdctl's user_command.go
// and role_command.go) that need no server: permission types, the key range
// of a permission, and the one-word password read of --interactive=false.
//
// Thread-safety: pure functions (ScanWord reads the stream it is given).
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "authpb/auth.pb.h"
#include "cli/exit_status.h"

namespace etcdd::kvctl {

// clientv3.StrToPermissionType: "read", "write" or "readwrite" in any case.
// Errors: kBadArgs "invalid permission type: <s>".
cli::ExitOr<authpb::Permission::Type> ParsePermissionType(const std::string& s);

// The key and range end a permission covers (etcdctl's permRange).
struct PermissionRange {
  std::string key;
  std::string range_end;  // empty: the key alone; "\0": every key from `key` on
};

// `args` is `key [endkey]` (at least the key; words after endkey are
// ignored, as etcdctl ignores them). An empty key means every key: it is
// sent as "\0", with range end "\0" under --prefix or --from-key (and an
// endkey is then ignored). Otherwise --prefix gives the prefix's range end
// and --from-key "\0". Errors (kBadArgs): "--from-key and --prefix flags
// are mutually exclusive", "unexpected endkey argument with --prefix flag",
// "unexpected endkey argument with --from-key flag".
cli::ExitOr<PermissionRange> PermissionRangeFromArgs(const std::vector<std::string>& args,
                                                     bool prefix, bool from_key);

// Go's fmt.Scanf("%s", &word) on stdin, as `user add`/`user passwd
// --interactive=false` read the password: white space other than a newline
// is skipped, then the word up to the next white space is read. A newline
// before any word, or the end of input, gives "" (Go's scan error, which
// etcdctl ignores). White space is ASCII's.
std::string ScanWord(std::istream& in);

}  // namespace etcdd::kvctl
