#include "auth_args.h"

#include <cctype>

#include "base/key_range.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;

bool IsSpace(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

constexpr char kOpenEnded[] = {'\0'};

// etcdctl's rangeEndFromPermFlags for a non-empty key.
cli::ExitOr<std::string> RangeEnd(const std::vector<std::string>& args, bool prefix,
                                  bool from_key) {
  if (args.size() == 1) {
    if (prefix) {
      if (from_key) {
        return ExitStatus::BadArgs("--from-key and --prefix flags are mutually exclusive");
      }
      return PrefixRangeEnd(args[0]);
    }
    if (from_key) return std::string(kOpenEnded, 1);
    return std::string();
  }
  if (prefix) return ExitStatus::BadArgs("unexpected endkey argument with --prefix flag");
  if (from_key) return ExitStatus::BadArgs("unexpected endkey argument with --from-key flag");
  return args[1];
}

}  // namespace

cli::ExitOr<authpb::Permission::Type> ParsePermissionType(const std::string& s) {
  std::string upper = s;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  authpb::Permission::Type type;
  if (!authpb::Permission::Type_Parse(upper, &type)) {
    return ExitStatus::BadArgs("invalid permission type: " + s);
  }
  return type;
}

cli::ExitOr<PermissionRange> PermissionRangeFromArgs(const std::vector<std::string>& args,
                                                     bool prefix, bool from_key) {
  PermissionRange r;
  if (!args[0].empty()) {
    r.key = args[0];
    ASSIGN_OR_EXIT(r.range_end, RangeEnd(args, prefix, from_key));
    return r;
  }
  if (prefix && from_key) {
    return ExitStatus::BadArgs("--from-key and --prefix flags are mutually exclusive");
  }
  // etcd keeps permissions as intervals of bytes: the empty key is "\0", and
  // "\0" as the range end means open ended.
  r.key.assign(kOpenEnded, 1);
  if (prefix || from_key) r.range_end.assign(kOpenEnded, 1);
  return r;
}

std::string ScanWord(std::istream& in) {
  int c = in.get();
  while (c != EOF && IsSpace(c)) {
    if (c == '\n') return "";  // "unexpected newline"
    c = in.get();
  }
  std::string word;
  while (c != EOF && !IsSpace(c)) {
    word.push_back(static_cast<char>(c));
    c = in.get();
  }
  if (c != EOF) in.unget();
  return word;
}

}  // namespace etcdd::kvctl
