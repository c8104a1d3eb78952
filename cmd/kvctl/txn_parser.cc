#include "txn_parser.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>

#include "cli/go_format.h"
#include "kv_requests.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

std::string TrimSpace(const std::string& s) {
  auto ws = [](char c) { return IsSpace(c) || c == '\v'; };
  size_t b = 0, e = s.size();
  while (b < e && ws(s[b])) ++b;
  while (e > b && ws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// bufio.Reader.ReadString('\n'): a line without its terminator must not be
// the end of the input.
cli::ExitOr<std::string> ReadLine(std::istream& in) {
  std::string line;
  if (!std::getline(in, line) || in.eof()) return ExitStatus::InvalidInput("EOF");
  return line;
}

// The end of a token that starts at `i` (etcdctl's argify regular expression
// `"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?`), or npos if none starts there.
size_t TokenEnd(const std::string& s, size_t i) {
  if (s[i] == '"') {
    for (size_t j = i + 1; j < s.size(); j += s[j] == '\\' ? 2 : 1) {
      if (s[j] == '"') return j + 1;
    }
    return std::string::npos;
  }
  if (s[i] == '\'') {
    size_t j = s.find('\'', i + 1);
    return j == std::string::npos ? j : j + 1;
  }
  if (IsSpace(s[i])) return std::string::npos;
  size_t j = i;
  while (j < s.size() && !IsSpace(s[j])) ++j;
  return j;
}

cli::ExitOr<etcdserverpb::Compare::CompareResult> CompareResult(const std::string& op,
                                                                const std::string& line) {
  if (op == "=") return etcdserverpb::Compare::EQUAL;
  if (op == "!=") return etcdserverpb::Compare::NOT_EQUAL;
  if (op == ">") return etcdserverpb::Compare::GREATER;
  if (op == "<") return etcdserverpb::Compare::LESS;
  return ExitStatus::InvalidInput("malformed comparison: " + line + " (unknown result op " +
                                  GoQuote(op) + ")");
}

// fmt.Sscanf(rest, "%q) %s %q", &key, &op, &val); returns how many were read.
int ScanCompareOperands(const std::string& rest, std::string* key, std::string* op,
                        std::string* val) {
  size_t p = 0;
  auto k = cli::ScanGoQuoted(rest, &p);
  if (!k) return 0;
  *key = *k;
  // ")" must follow at once; a space in the format needs at least one space
  // in the input (or its end).
  if (p >= rest.size() || rest[p] != ')') return 1;
  ++p;
  if (p < rest.size() && !IsSpace(rest[p])) return 1;
  while (p < rest.size() && IsSpace(rest[p])) ++p;
  size_t start = p;
  while (p < rest.size() && !IsSpace(rest[p])) ++p;
  if (p == start) return 1;
  *op = rest.substr(start, p - start);
  auto v = cli::ScanGoQuoted(rest, &p);
  if (!v) return 2;
  *val = *v;
  return 3;
}

// "put", "get" or "del", or a unique prefix of one (cobra's prefix matching).
std::string MatchRequestCommand(const std::string& word) {
  static const std::array<const char*, 3> kCommands = {"put", "get", "del"};
  std::string match;
  for (const char* c : kCommands) {
    std::string name = c;
    if (name == word) return name;
    if (!word.empty() && name.rfind(word, 0) == 0) {
      if (!match.empty()) return "";
      match = name;
    }
  }
  return match;
}

// cobra's usage text for etcdctl's get, put and del, which etcdctl prints
// (followed by an empty line) when a txn request line has a bad flag.
const char* UsageOf(const std::string& command) {
  if (command == "get") {
    return "Usage:\n"
           "   get [options] <key> [range_end] [flags]\n\n"
           "Flags:\n"
           "      --consistency string   Linearizable(l) or Serializable(s) (default \"l\")\n"
           "      --from-key             Get keys that are greater than or equal to the given "
           "key using byte compare\n"
           "  -h, --help                 help for get\n"
           "      --keys-only            Get only the keys\n"
           "      --limit int            Maximum number of results\n"
           "      --order string         Order of results; ASCEND or DESCEND (ASCEND by "
           "default)\n"
           "      --prefix               Get keys with matching prefix\n"
           "      --print-value-only     Only write values when using the \"simple\" output "
           "format\n"
           "      --rev int              Specify the kv revision\n"
           "      --sort-by string       Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION\n";
  }
  if (command == "put") {
    return "Usage:\n"
           "   put [options] <key> <value> (<value> can also be given from stdin) [flags]\n\n"
           "Flags:\n"
           "  -h, --help           help for put\n"
           "      --ignore-lease   updates the key using its current lease\n"
           "      --ignore-value   updates the key using its current value\n"
           "      --lease string   lease ID (in hexadecimal) to attach to the key (default "
           "\"0\")\n"
           "      --prev-kv        return the previous key-value pair before modification\n";
  }
  return "Usage:\n"
         "   del [options] <key> [range_end] [flags]\n\n"
         "Flags:\n"
         "      --from-key   delete keys that are greater than or equal to the given key using "
         "byte compare\n"
         "  -h, --help       help for del\n"
         "      --prefix     delete keys with matching prefix\n"
         "      --prev-kv    return deleted key-value pairs\n";
}

}  // namespace

cli::ExitOr<std::vector<std::string>> Argify(const std::string& line) {
  std::vector<std::string> args;
  for (size_t i = 0; i < line.size();) {
    size_t end = TokenEnd(line, i);
    if (end == std::string::npos) {
      ++i;
      continue;
    }
    std::string word = line.substr(i, end - i);
    i = end;
    if (word[0] == '\'') {
      word = word.substr(1, word.size() - 2);
    } else if (word[0] == '"') {
      auto unquoted = cli::GoUnquote(word);
      if (!unquoted) return ExitStatus::InvalidInput("invalid syntax");
      word = *unquoted;
    }
    args.push_back(word);
  }
  return args;
}

cli::ExitOr<etcdserverpb::Compare> ParseCompare(const std::string& line) {
  size_t paren = line.find('(');
  if (paren == std::string::npos) return ExitStatus::InvalidInput("malformed comparison: " + line);
  std::string target = line.substr(0, paren);
  std::string key, op, val;
  if (ScanCompareOperands(line.substr(paren + 1), &key, &op, &val) != 3) {
    return ExitStatus::InvalidInput("malformed comparison: " + line + "; got " + target + "(" +
                                    GoQuote(key) + ") " + op + " " + GoQuote(val));
  }
  etcdserverpb::Compare cmp;
  cmp.set_key(key);
  const bool numeric = target != "val" && target != "value";
  auto number = ParseGoInt64(val, target == "lease" ? 16 : 10);
  if (numeric && !number.ok()) {
    bool known = target == "ver" || target == "version" || target == "c" || target == "create" ||
                 target == "m" || target == "mod" || target == "lease";
    if (known) return ExitStatus::InvalidInput("invalid txn compare request: " + line);
  }
  if (target == "ver" || target == "version") {
    cmp.set_target(etcdserverpb::Compare::VERSION);
    cmp.set_version(number.value());
  } else if (target == "c" || target == "create") {
    cmp.set_target(etcdserverpb::Compare::CREATE);
    cmp.set_create_revision(number.value());
  } else if (target == "m" || target == "mod") {
    cmp.set_target(etcdserverpb::Compare::MOD);
    cmp.set_mod_revision(number.value());
  } else if (target == "val" || target == "value") {
    cmp.set_target(etcdserverpb::Compare::VALUE);
    cmp.set_value(val);
  } else if (target == "lease") {
    cmp.set_target(etcdserverpb::Compare::LEASE);
    cmp.set_lease(number.value());
  } else {
    return ExitStatus::InvalidInput("malformed comparison: " + line + " (unknown target " + target +
                                    ")");
  }
  ASSIGN_OR_EXIT(auto result, CompareResult(op, line));
  cmp.set_result(result);
  return cmp;
}

cli::ExitOr<etcdserverpb::RequestOp> ParseRequestOp(const std::string& line, std::istream& in,
                                                    std::ostream& diagnostics) {
  ASSIGN_OR_EXIT(std::vector<std::string> args, Argify(line));
  if (args.size() < 2) return ExitStatus::InvalidInput("invalid txn compare request: " + line);
  const ExitStatus invalid = ExitStatus::InvalidInput("invalid txn request: " + line);
  std::string command = MatchRequestCommand(args[0]);
  if (command.empty()) return invalid;

  CLI::App app;
  app.set_help_flag();
  std::vector<std::string> positional;
  app.add_option("args", positional);
  GetFlags get;
  PutFlags put;
  DelFlags del;
  if (command == "get") AddGetFlags(&app, &get);
  if (command == "put") AddPutFlags(&app, &put);
  if (command == "del") AddDelFlags(&app, &del);
  std::vector<std::string> rest(args.rbegin(), args.rend() - 1);  // CLI11 wants them reversed
  bool flags_ok = true;
  try {
    app.parse(rest);
  } catch (const CLI::ParseError&) {
    flags_ok = false;
  }
  if (!flags_ok || (command == "get" && !CheckGetFlagValues(get).ok())) {
    diagnostics << UsageOf(command) << "\n";
    return invalid;
  }

  etcdserverpb::RequestOp op;
  if (command == "get") {
    ASSIGN_OR_EXIT(*op.mutable_request_range(), BuildRangeRequest(get, positional));
  } else if (command == "put") {
    ASSIGN_OR_EXIT(*op.mutable_request_put(), BuildPutRequest(put, positional, in));
  } else {
    ASSIGN_OR_EXIT(*op.mutable_request_delete_range(), BuildDeleteRequest(del, positional));
  }
  return op;
}

cli::ExitOr<etcdserverpb::TxnRequest> ReadTxn(std::istream& in, std::ostream* prompts,
                                              std::ostream& diagnostics) {
  etcdserverpb::TxnRequest txn;
  if (prompts != nullptr) *prompts << "compares:\n" << std::flush;
  while (true) {
    ASSIGN_OR_EXIT(std::string line, ReadLine(in));
    line = TrimSpace(line);
    if (line.empty()) break;
    ASSIGN_OR_EXIT(*txn.add_compare(), ParseCompare(line));
  }
  const char* kSections[] = {"success requests (get, put, del):",
                             "failure requests (get, put, del):"};
  for (const char* section : kSections) {
    if (prompts != nullptr) *prompts << section << "\n" << std::flush;
    auto* ops = section == kSections[0] ? txn.mutable_success() : txn.mutable_failure();
    while (true) {
      ASSIGN_OR_EXIT(std::string line, ReadLine(in));
      line = TrimSpace(line);
      if (line.empty()) break;
      ASSIGN_OR_EXIT(*ops->Add(), ParseRequestOp(line, in, diagnostics));
    }
  }
  return txn;
}

}  // namespace etcdd::kvctl
