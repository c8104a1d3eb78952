// `etcdctl snapshot status` output: etcd's snapshot.Status printed as
// etcdctl 3.4's printers print it (printer.go makeDBStatusTable and the
// DBStatus method of each printer), byte for byte:
//
//   simple    "<hash %x>, <revision>, <total keys>, <humanized size>"
//   table     HASH | REVISION | TOTAL KEYS | TOTAL SIZE, right-aligned
//   json      {"hash":<n>,"revision":<n>,"totalKey":<n>,"totalSize":<n>}
//   fields    "Hash" : <n>, "Revision" : <n>, "Keys" : <n>, "Size" : <n>
//   protobuf  not supported (kBadFeature "protobuf not supported as output
//             format")
//
// Shared by `kvctl snapshot status` and `kvbackup status`.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "cli/exit_status.h"

namespace etcdd::cli {

// etcd's snapshot.Status.
struct DbStatus {
  uint32_t hash = 0;
  int64_t revision = 0;
  int64_t total_key = 0;
  int64_t total_size = 0;  // bytes
};

// The table's one row as etcdctl builds it: hash in lower-case hex, the
// numbers in decimal, the size as go-humanize's Bytes ("25 kB").
std::vector<std::string> DbStatusRow(const DbStatus& s);

// The json object's text, without a newline, as Go's encoding/json writes
// the struct.
std::string DbStatusJson(const DbStatus& s);

// Prints `s` in `format` (simple, table, json, fields) to `out`. Errors:
// kBadFeature "<format> not supported as output format" for protobuf,
// "unsupported output format" for an unknown name; nothing is written then.
ExitStatus PrintDbStatus(const DbStatus& s, const std::string& format, std::ostream& out);

}  // namespace etcdd::cli
