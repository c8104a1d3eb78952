// When a member is worth defragmenting: a boolean expression over its sizes,
// as ahrtr/etcd-defrag's --defrag-rule, evaluated with muparser.
//
// The variables are the member's sizes in bytes and two ratios:
//   dbSize        the backend file's size (Status dbSize)
//   dbSizeInUse   the bytes in use (Status dbSizeInUse)
//   dbSizeFree    dbSize - dbSizeInUse
//   dbQuota       the backend quota (kvdefrag --db-quota-bytes)
//   dbQuotaUsage  dbSize / dbQuota
// The operators are muparser's: + - * / ^, < > <= >= == !=, && ||, ?:, and
// its functions (min, max, abs, ...). An expression is true when it
// evaluates to anything but 0. "dbSizeFree/dbSize >= 0.5 || dbQuotaUsage >=
// 0.8" defragments members at least half free or above 80% of the quota.
//
// Thread-safety: a Rule may be used by one thread at a time (Evaluate sets
// the variables muparser reads); distinct Rules are independent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace etcdd::defrag {

// One member's sizes, the input of a rule.
struct MemberSizes {
  int64_t db_size = 0;         // bytes
  int64_t db_size_in_use = 0;  // bytes
  int64_t db_quota = 0;        // bytes
};

class Rule {
 public:
  // Parses `expression`. Errors: InvalidArgument `invalid rule "<expr>":
  // unknown variable "x"` for a name that is not one of the variables above,
  // `invalid rule "<expr>": <muparser's message>` for any other syntax error
  // (an empty expression included).
  static Result<Rule> Parse(const std::string& expression);

  // The rules that kvdefrag's --min-free-ratio and --min-quota-usage stand
  // for: "dbSizeFree/dbSize >= <ratio>" and "dbQuotaUsage >= <ratio>".
  static std::string MinFreeRatioExpression(double ratio);
  static std::string MinQuotaUsageExpression(double ratio);

  Rule(Rule&&) noexcept;
  Rule& operator=(Rule&&) noexcept;
  ~Rule();

  // Whether the rule holds for `sizes` (a member with dbSize 0 has a free
  // ratio of NaN, and every comparison with NaN is false).
  // Errors: Internal with muparser's message if evaluation fails.
  Result<bool> Evaluate(const MemberSizes& sizes);

  const std::string& expression() const { return expression_; }

 private:
  struct Impl;
  Rule(std::string expression, std::unique_ptr<Impl> impl);
  std::string expression_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace etcdd::defrag
