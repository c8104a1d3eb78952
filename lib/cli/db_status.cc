#include "cli/db_status.h"

#include <cstdio>

#include "cli/go_format.h"
#include "cli/table_writer.h"

namespace etcdd::cli {

std::vector<std::string> DbStatusRow(const DbStatus& s) {
  char hash[16];
  std::snprintf(hash, sizeof hash, "%x", s.hash);
  return {hash, std::to_string(s.revision), std::to_string(s.total_key),
          HumanizeBytes(static_cast<uint64_t>(s.total_size))};
}

std::string DbStatusJson(const DbStatus& s) {
  return "{\"hash\":" + std::to_string(s.hash) + ",\"revision\":" + std::to_string(s.revision) +
         ",\"totalKey\":" + std::to_string(s.total_key) +
         ",\"totalSize\":" + std::to_string(s.total_size) + "}";
}

ExitStatus PrintDbStatus(const DbStatus& s, const std::string& format, std::ostream& out) {
  if (format == "simple") {
    std::string line;
    for (const auto& cell : DbStatusRow(s)) line += (line.empty() ? "" : ", ") + cell;
    out << line << "\n";
  } else if (format == "table") {
    TableWriter t;
    t.SetHeader({"hash", "revision", "total keys", "total size"});
    t.Append(DbStatusRow(s));
    t.SetAlignment(TableWriter::Align::kRight);
    out << t.Render();
  } else if (format == "json") {
    out << DbStatusJson(s) << "\n";
  } else if (format == "fields") {
    out << "\"Hash\" : " << s.hash << "\n\"Revision\" : " << s.revision
        << "\n\"Keys\" : " << s.total_key << "\n\"Size\" : " << s.total_size << "\n";
  } else if (format == "protobuf") {
    return ExitStatus::BadFeature("protobuf not supported as output format");
  } else {
    return ExitStatus::BadFeature("unsupported output format");
  }
  return ExitStatus::Ok();
}

}  // namespace etcdd::cli
