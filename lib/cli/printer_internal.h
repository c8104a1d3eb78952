// Internal to lib/cli: the per-format printers and the rows that the simple
// and table formats share (etcdctl's make*Table helpers in printer.go).
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "cli/printer.h"

namespace etcdd::cli::internal {

struct Rows {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

Rows MemberListRows(const etcdserverpb::MemberListResponse& r);
Rows EndpointHealthRows(const std::vector<EndpointHealth>& list);
Rows EndpointStatusRows(const std::vector<EndpointStatus>& list);
Rows EndpointHashKVRows(const std::vector<EndpointHashKV>& list);

// "<format> not supported as output format", exit 4.
ExitStatus Unsupported(const std::string& format);

std::unique_ptr<Printer> NewSimplePrinter(const PrinterOptions& o, std::ostream& out,
                                          std::ostream& err);
std::unique_ptr<Printer> NewFieldsPrinter(std::ostream& out);
std::unique_ptr<Printer> NewJsonPrinter(std::ostream& out);
std::unique_ptr<Printer> NewProtobufPrinter(std::ostream& out);
std::unique_ptr<Printer> NewTablePrinter(std::ostream& out);

}  // namespace etcdd::cli::internal
