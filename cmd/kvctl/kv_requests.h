// Requests for `kvctl get`, `put` and `del`, built from flags and arguments
// exactly as etcdctl builds them (get_command.go, put_command.go,
// del_command.go and clientv3's op options), including etcdctl's argument
// checks, error messages and exit codes. The same builders serve the
// top-level commands and the request lines of `kvctl txn`.
//
// Numeric flags are kept as text and parsed here with Go's rules, so a bad
// value reports what etcdctl reports (`invalid argument "x" for "--limit"
// flag: strconv.ParseInt: parsing "x": invalid syntax`, exit 1).
//
// Thread-safety: pure functions.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "cli/exit_status.h"
#include "etcdserverpb/rpc.pb.h"

namespace CLI {
class App;
}

namespace etcdd::kvctl {

struct GetFlags {
  std::string consistency = "l";  // l (linearizable) or s (serializable)
  std::string order;              // ASCEND or DESCEND, any case
  std::string sort_by;            // CREATE, KEY, MODIFY, VALUE or VERSION, any case
  std::string limit = "0";
  std::string rev = "0";
  bool prefix = false;
  bool from_key = false;
  bool keys_only = false;
  bool count_only = false;  // etcdctl 3.5's flag; needs -w fields, as there
  bool print_value_only = false;
};

struct PutFlags {
  std::string lease = "0";  // hexadecimal lease id
  bool prev_kv = false;
  bool ignore_value = false;
  bool ignore_lease = false;
};

struct DelFlags {
  bool prefix = false;
  bool prev_kv = false;
  bool from_key = false;
};

// The value of an int64 flag (kept as text), parsed as pflag parses it.
// Errors: kError `invalid argument "x" for "--<name>" flag: strconv.ParseInt:
// parsing "x": invalid syntax`.
cli::ExitOr<int64_t> IntFlag(const std::string& name, const std::string& value);

// clientv3.WithPrefix: sets `range_end` to cover every key starting with
// `key`; an empty key means every key ("\0" to "\0").
void ApplyPrefix(std::string* key, std::string* range_end);

// Adds the command's flags (etcdctl's names and help) to `cmd`.
void AddGetFlags(CLI::App* cmd, GetFlags* flags);
void AddPutFlags(CLI::App* cmd, PutFlags* flags);
void AddDelFlags(CLI::App* cmd, DelFlags* flags);

// Checks get's numeric flags (--limit, --rev) as pflag parses them. Errors:
// kError `invalid argument "x" for "--limit" flag: ...`.
cli::ExitStatus CheckGetFlagValues(const GetFlags& flags);

// get <key> [range_end]. Errors: kBadArgs for missing key, --prefix with
// --from-key, or range_end with either; kBadFeature for an unknown
// --consistency, --order or --sort-by value; kError for a malformed number.
cli::ExitOr<etcdserverpb::RangeRequest> BuildRangeRequest(const GetFlags& flags,
                                                          const std::vector<std::string>& args);

// put <key> [value]; without a value argument (and without --ignore-value)
// the value is all of `stdin`. Errors: kBadArgs for a missing key or value,
// a value with --ignore-value, or a lease id that is not hexadecimal.
cli::ExitOr<etcdserverpb::PutRequest> BuildPutRequest(const PutFlags& flags,
                                                      const std::vector<std::string>& args,
                                                      std::istream& stdin_stream);

// del <key> [range_end]. Errors: kBadArgs as for get.
cli::ExitOr<etcdserverpb::DeleteRangeRequest> BuildDeleteRequest(
    const DelFlags& flags, const std::vector<std::string>& args);

}  // namespace etcdd::kvctl
