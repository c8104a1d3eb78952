// TableWriter draws what olekukonko/tablewriter v0.0.5 draws in etcdctl's
// configuration. The member-list golden was printed by etcdctl 3.4.
#include "cli/table_writer.h"

#include <gtest/gtest.h>

namespace etcdd::cli {
namespace {

TEST(TableWriter, MatchesEtcdctlMemberListTable) {
  TableWriter t;
  t.SetHeader({"ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"});
  t.Append({"2e1259d415f2a040", "started", "default", "http://127.0.0.1:23800",
            "http://127.0.0.1:23790", "false"});
  t.SetAlignment(TableWriter::Align::kRight);
  EXPECT_EQ(t.Render(),
            "+------------------+---------+---------+------------------------+----------------"
            "--------+------------+\n"
            "|        ID        | STATUS  |  NAME   |       PEER ADDRS       |      CLIENT ADDR"
            "S      | IS LEARNER |\n"
            "+------------------+---------+---------+------------------------+----------------"
            "--------+------------+\n"
            "| 2e1259d415f2a040 | started | default | http://127.0.0.1:23800 | http://127.0.0.1"
            ":23790 |      false |\n"
            "+------------------+---------+---------+------------------------+----------------"
            "--------+------------+\n");
}

TEST(TableWriter, EmptyCellsAndNoRows) {
  TableWriter t;
  t.SetHeader({"endpoint", "error"});
  EXPECT_EQ(t.Render(),
            "+----------+-------+\n"
            "| ENDPOINT | ERROR |\n"
            "+----------+-------+\n"
            "+----------+-------+\n");
  t.Append({"a", ""});
  t.SetAlignment(TableWriter::Align::kRight);
  EXPECT_EQ(t.Render(),
            "+----------+-------+\n"
            "| ENDPOINT | ERROR |\n"
            "+----------+-------+\n"
            "|        a |       |\n"
            "+----------+-------+\n");
}

TEST(TableWriter, WrapsCellsWiderThanThirtyColumns) {
  TableWriter t;
  t.SetHeader({"h"});
  t.Append({"aaaa bbbb cccc dddd eeee ffff gggg hhhh"});
  t.SetAlignment(TableWriter::Align::kRight);
  const std::string line = "+" + std::string(32, '-') + "+\n";
  EXPECT_EQ(t.Render(), line + "|" + std::string(15, ' ') + "H" + std::string(16, ' ') + "|\n" +
                            line + "|  aaaa bbbb cccc dddd eeee ffff |\n" + "|" +
                            std::string(22, ' ') + "gggg hhhh |\n" + line);
}

TEST(TableWriter, DefaultAlignmentPutsNumbersRight) {
  TableWriter t;
  t.SetHeader({"name", "count"});
  t.Append({"a", "1,234"});
  t.Append({"bbbbbb", "x"});
  EXPECT_EQ(t.Render(),
            "+--------+-------+\n"
            "|  NAME  | COUNT |\n"
            "+--------+-------+\n"
            "| a      | 1,234 |\n"
            "| bbbbbb | x     |\n"
            "+--------+-------+\n");
}

TEST(TableTitle, FormatsHeaders) {
  EXPECT_EQ(TableTitle("raft_index"), "RAFT INDEX");
  EXPECT_EQ(TableTitle("db size"), "DB SIZE");
  EXPECT_EQ(TableTitle("v1.2"), "V1.2");
  EXPECT_EQ(TableTitle("a.b"), "A B");
  EXPECT_EQ(TableTitle("_"), " ");
}

TEST(WrapString, BreaksOnSpacesOnly) {
  EXPECT_EQ(WrapString("aaaa bbbb cccc dddd eeee ffff gggg hhhh", 30),
            (std::vector<std::string>{"aaaa bbbb cccc dddd eeee ffff", "gggg hhhh"}));
  EXPECT_EQ(WrapString("http://a:1,http://b:2", 5),
            (std::vector<std::string>{"http://a:1,http://b:2"}));
  EXPECT_EQ(WrapString("", 30), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace etcdd::cli
