#include "kv_requests.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iterator>

#include "base/key_range.h"
#include "cli/go_format.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; });
  return s;
}

cli::ExitOr<etcdserverpb::RangeRequest::SortOrder> SortOrder(const std::string& order) {
  std::string o = Upper(order);
  if (o == "ASCEND") return etcdserverpb::RangeRequest::ASCEND;
  if (o == "DESCEND") return etcdserverpb::RangeRequest::DESCEND;
  if (o.empty()) return etcdserverpb::RangeRequest::NONE;
  return ExitStatus::BadFeature("bad sort order " + order);
}

cli::ExitOr<etcdserverpb::RangeRequest::SortTarget> SortTarget(const std::string& target) {
  std::string t = Upper(target);
  if (t == "CREATE") return etcdserverpb::RangeRequest::CREATE;
  if (t == "KEY" || t.empty()) return etcdserverpb::RangeRequest::KEY;
  if (t == "MODIFY") return etcdserverpb::RangeRequest::MOD;
  if (t == "VALUE") return etcdserverpb::RangeRequest::VALUE;
  if (t == "VERSION") return etcdserverpb::RangeRequest::VERSION;
  return ExitStatus::BadFeature("bad sort target " + target);
}

const char kPrefixAndFromKey[] =
    "`--prefix` and `--from-key` cannot be set at the same time, choose one";
const char kTooManyArgs[] =
    "too many arguments, only accept one argument when `--prefix` or `--from-key` is set";

// Applies --prefix / --from-key to key and range_end as etcdctl does: an
// empty key with either flag means "all keys" ("\0" to "\0").
template <typename Request>
void ApplyRangeFlags(bool prefix, bool from_key, Request* r) {
  if (prefix) ApplyPrefix(r->mutable_key(), r->mutable_range_end());
  if (from_key) {
    if (r->key().empty()) r->set_key(std::string(1, '\0'));
    r->set_range_end(std::string(1, '\0'));
  }
}

}  // namespace

cli::ExitOr<int64_t> IntFlag(const std::string& name, const std::string& value) {
  auto v = ParseGoInt64(value, 0);
  if (!v.ok()) {
    return ExitStatus::Error("invalid argument " + GoQuote(value) + " for \"--" + name +
                             "\" flag: " + v.status().message());
  }
  return v.value();
}

void ApplyPrefix(std::string* key, std::string* range_end) {
  if (key->empty()) {
    *key = std::string(1, '\0');
    *range_end = std::string(1, '\0');
  } else {
    *range_end = PrefixRangeEnd(*key);
  }
}

void AddGetFlags(CLI::App* cmd, GetFlags* f) {
  cmd->add_option("--consistency", f->consistency, "Linearizable(l) or Serializable(s)");
  cmd->add_option("--order", f->order, "Order of results; ASCEND or DESCEND (ASCEND by default)");
  cmd->add_option("--sort-by", f->sort_by, "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION");
  cmd->add_option("--limit", f->limit, "Maximum number of results");
  cmd->add_flag("--prefix", f->prefix, "Get keys with matching prefix");
  cmd->add_flag("--from-key", f->from_key,
                "Get keys that are greater than or equal to the given key using byte compare");
  cmd->add_option("--rev", f->rev, "Specify the kv revision");
  cmd->add_flag("--keys-only", f->keys_only, "Get only the keys");
  cmd->add_flag("--count-only", f->count_only, "Get only the count (with -w fields)");
  cmd->add_flag("--print-value-only", f->print_value_only,
                "Only write values when using the \"simple\" output format");
}

void AddPutFlags(CLI::App* cmd, PutFlags* f) {
  cmd->add_option("--lease", f->lease, "lease ID (in hexadecimal) to attach to the key");
  cmd->add_flag("--prev-kv", f->prev_kv, "return the previous key-value pair before modification");
  cmd->add_flag("--ignore-value", f->ignore_value, "updates the key using its current value");
  cmd->add_flag("--ignore-lease", f->ignore_lease, "updates the key using its current lease");
}

void AddDelFlags(CLI::App* cmd, DelFlags* f) {
  cmd->add_flag("--prefix", f->prefix, "delete keys with matching prefix");
  cmd->add_flag("--prev-kv", f->prev_kv, "return deleted key-value pairs");
  cmd->add_flag("--from-key", f->from_key,
                "delete keys that are greater than or equal to the given key using byte compare");
}

cli::ExitStatus CheckGetFlagValues(const GetFlags& f) {
  RETURN_IF_EXIT(IntFlag("limit", f.limit).status());
  return IntFlag("rev", f.rev).status();
}

cli::ExitOr<etcdserverpb::RangeRequest> BuildRangeRequest(const GetFlags& f,
                                                          const std::vector<std::string>& args) {
  ASSIGN_OR_EXIT(int64_t limit, IntFlag("limit", f.limit));
  ASSIGN_OR_EXIT(int64_t rev, IntFlag("rev", f.rev));
  if (args.empty()) {
    return ExitStatus::BadArgs(
        "get command needs one argument as key and an optional argument as range_end");
  }
  if (f.prefix && f.from_key) return ExitStatus::BadArgs(kPrefixAndFromKey);
  if (f.keys_only && f.count_only) {
    return ExitStatus::BadArgs(
        "`--keys-only` and `--count-only` cannot be set at the same time, choose one");
  }
  etcdserverpb::RangeRequest r;
  if (f.consistency == "s") {
    r.set_serializable(true);
  } else if (f.consistency != "l") {
    return ExitStatus::BadFeature("unknown consistency flag " + GoQuote(f.consistency));
  }
  r.set_key(args[0]);
  if (args.size() > 1) {
    if (f.prefix || f.from_key) return ExitStatus::BadArgs(kTooManyArgs);
    r.set_range_end(args[1]);
  }
  r.set_limit(limit);
  if (rev > 0) r.set_revision(rev);
  ASSIGN_OR_EXIT(auto order, SortOrder(f.order));
  ASSIGN_OR_EXIT(auto target, SortTarget(f.sort_by));
  // clientv3.WithSort: the server already returns keys in ascending order.
  if (target == etcdserverpb::RangeRequest::KEY && order == etcdserverpb::RangeRequest::ASCEND) {
    order = etcdserverpb::RangeRequest::NONE;
  }
  r.set_sort_order(order);
  r.set_sort_target(target);
  ApplyRangeFlags(f.prefix, f.from_key, &r);
  r.set_keys_only(f.keys_only);
  r.set_count_only(f.count_only);
  return r;
}

cli::ExitOr<etcdserverpb::PutRequest> BuildPutRequest(const PutFlags& f,
                                                      const std::vector<std::string>& args,
                                                      std::istream& stdin_stream) {
  const char kNeedsArgs[] = "put command needs 1 argument and input from stdin or 2 arguments";
  if (args.empty()) return ExitStatus::BadArgs(kNeedsArgs);
  if (f.ignore_value && args.size() > 1) {
    return ExitStatus::BadArgs("put command needs only 1 argument when 'ignore-value' is set");
  }
  etcdserverpb::PutRequest r;
  r.set_key(args[0]);
  if (!f.ignore_value) {
    if (args.size() > 1) {
      r.set_value(args[1]);
    } else {
      std::string value(std::istreambuf_iterator<char>(stdin_stream), {});
      if (value.empty()) return ExitStatus::BadArgs(kNeedsArgs);
      r.set_value(value);
    }
  }
  auto lease = ParseGoInt64(f.lease, 16);
  if (!lease.ok()) {
    return ExitStatus::BadArgs("bad lease ID (" + lease.status().message() +
                               "), expecting ID in Hex");
  }
  r.set_lease(lease.value());
  r.set_prev_kv(f.prev_kv);
  r.set_ignore_value(f.ignore_value);
  r.set_ignore_lease(f.ignore_lease);
  return r;
}

cli::ExitOr<etcdserverpb::DeleteRangeRequest> BuildDeleteRequest(
    const DelFlags& f, const std::vector<std::string>& args) {
  if (args.empty() || args.size() > 2) {
    return ExitStatus::BadArgs(
        "del command needs one argument as key and an optional argument as range_end");
  }
  if (f.prefix && f.from_key) return ExitStatus::BadArgs(kPrefixAndFromKey);
  etcdserverpb::DeleteRangeRequest r;
  r.set_key(args[0]);
  if (args.size() > 1) {
    if (f.prefix || f.from_key) return ExitStatus::BadArgs(kTooManyArgs);
    r.set_range_end(args[1]);
  }
  ApplyRangeFlags(f.prefix, f.from_key, &r);
  r.set_prev_kv(f.prev_kv);
  return r;
}

}  // namespace etcdd::kvctl
