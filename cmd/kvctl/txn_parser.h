// The text form of a transaction that `kvctl txn` reads, as etcdctl's
// txn_command.go reads it:
//
//   <compare>*        one per line, then an empty line
//   <request>*        success requests, then an empty line
//   <request>*        failure requests, then an empty line
//
// A compare is `<target>("<key>") <op> "<value>"` with target ver|version,
// c|create, m|mod, val|value or lease, op one of = != < >, and key and value
// Go-quoted strings; numbers are decimal (lease ids hexadecimal). A request
// is a put, get or del command line with that command's flags (`put k v
// --prev-kv`, `get k --prefix`), split like a shell line: "double quoted"
// with Go escapes, 'single quoted' verbatim.
//
// Every line must end in a newline: input that ends before the last empty
// line fails with "EOF" (exit 3), as etcdctl's bufio reads do.
//
// Thread-safety: pure functions over the given streams.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "cli/exit_status.h"
#include "etcdserverpb/rpc.pb.h"

namespace etcdd::kvctl {

// Reads the three sections from `in`. When `prompts` is not null, etcdctl's
// interactive prompts ("compares:", "success requests (get, put, del):",
// "failure requests (get, put, del):") are written to it before each section.
// A request line whose flags do not parse gets etcdctl's (cobra's) usage text
// for its command on `diagnostics` before the error is returned.
// Errors: kInvalidInput for malformed lines or early end of input; kBadArgs
// from a request's own argument checks (e.g. `get` without a key).
cli::ExitOr<etcdserverpb::TxnRequest> ReadTxn(std::istream& in, std::ostream* prompts,
                                              std::ostream& diagnostics);

// One compare line (already trimmed). Errors: kInvalidInput with etcdctl's
// "malformed comparison: ..." or "invalid txn compare request: ..." message.
cli::ExitOr<etcdserverpb::Compare> ParseCompare(const std::string& line);

// One request line (already trimmed). A put without a value reads the value
// from the rest of `in`, as etcdctl does. Errors: kInvalidInput "invalid txn
// request: <line>" for an unknown command or flag (after writing the
// command's usage to `diagnostics` for a flag error); kBadArgs from the
// command's argument checks.
cli::ExitOr<etcdserverpb::RequestOp> ParseRequestOp(const std::string& line, std::istream& in,
                                                    std::ostream& diagnostics);

// etcdctl's argify: splits a line into words; "double quoted" words are
// unquoted with Go's rules, 'single quoted' words lose their quotes.
// Errors: kInvalidInput for a double-quoted word that does not unquote.
cli::ExitOr<std::vector<std::string>> Argify(const std::string& line);

}  // namespace etcdd::kvctl
