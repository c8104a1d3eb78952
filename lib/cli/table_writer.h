// ASCII tables as etcdctl's `-w table` draws them.
//
// etcdctl renders tables with github.com/olekukonko/tablewriter (v0.0.5) in
// its default configuration: borders of "+", "-" and "|", one space of
// padding, header cells upper-cased ("_" becomes " ") and centred, body cells
// aligned by SetAlignment (etcdctl uses right alignment everywhere), and cells
// wider than 30 columns word-wrapped onto several lines. TableWriter follows
// that library's rules, including its quirks (centring puts the odd space on
// the right; a cell's width counts terminal columns, not bytes), so output is
// byte-identical.
//
//   TableWriter t;
//   t.SetHeader({"endpoint", "health"});
//   t.Append({"127.0.0.1:2379", "true"});
//   t.SetAlignment(TableWriter::Align::kRight);
//   std::string text = t.Render();
//
// Thread-safety: none; one table per thread.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace etcdd::cli {

class TableWriter {
 public:
  // tablewriter's ALIGN_DEFAULT pads numbers on the left and text on the right.
  enum class Align { kDefault, kCenter, kRight, kLeft };

  // Sets the header cells; at most one call, before Append.
  void SetHeader(const std::vector<std::string>& header);
  // Appends one body row.
  void Append(const std::vector<std::string>& row);
  // Alignment of body cells; the header is always centred.
  void SetAlignment(Align align) { align_ = align; }
  // The whole table, every line ending in "\n".
  std::string Render() const;

 private:
  // A cell split into display lines; widens the column and heightens the row.
  std::vector<std::string> ParseCell(const std::string& text, int column, int row);
  void RenderLine(std::string* out) const;
  void RenderHeader(std::string* out) const;
  void RenderRow(std::vector<std::vector<std::string>> cells, int row, std::string* out) const;

  std::vector<std::vector<std::string>> header_;
  std::vector<std::vector<std::vector<std::string>>> rows_;
  std::map<int, size_t> column_width_;
  std::map<int, size_t> row_height_;  // header is row -1
  Align align_ = Align::kDefault;
};

// tablewriter's Title(): "_" to " ", some "." to " ", trimmed, upper-cased.
std::string TableTitle(const std::string& name);

// tablewriter's WrapString: splits `s` on spaces into lines of at most
// `limit` columns (longer single words stay whole), minimising raggedness.
std::vector<std::string> WrapString(const std::string& s, size_t limit);

}  // namespace etcdd::cli
