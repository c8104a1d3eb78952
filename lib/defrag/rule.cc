#include "defrag/rule.h"

#include <muParser.h>

#include <cctype>
#include <sstream>

namespace etcdd::defrag {

namespace {

constexpr char kVariables[] = "dbSize, dbSizeInUse, dbSizeFree, dbQuota, dbQuotaUsage";

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

bool IsIdentifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (unsigned char c : s) {
    if (!std::isalnum(c) && c != '_') return false;
  }
  return true;
}

std::string Ratio(double r) {
  std::ostringstream out;
  out << r;
  return out.str();
}

}  // namespace

// muparser reads the variables through the pointers DefineVar was given, so
// they live beside the parser on the heap and move with it.
struct Rule::Impl {
  mu::Parser parser;
  double db_size = 0, db_size_in_use = 0, db_size_free = 0, db_quota = 0, db_quota_usage = 0;
};

Rule::Rule(std::string expression, std::unique_ptr<Impl> impl)
    : expression_(std::move(expression)), impl_(std::move(impl)) {}
Rule::Rule(Rule&&) noexcept = default;
Rule& Rule::operator=(Rule&&) noexcept = default;
Rule::~Rule() = default;

Result<Rule> Rule::Parse(const std::string& expression) {
  auto impl = std::make_unique<Impl>();
  const std::string prefix = "invalid rule " + Quote(expression) + ": ";
  try {
    impl->parser.DefineVar("dbSize", &impl->db_size);
    impl->parser.DefineVar("dbSizeInUse", &impl->db_size_in_use);
    impl->parser.DefineVar("dbSizeFree", &impl->db_size_free);
    impl->parser.DefineVar("dbQuota", &impl->db_quota);
    impl->parser.DefineVar("dbQuotaUsage", &impl->db_quota_usage);
    impl->parser.SetExpr(expression);
    // GetUsedVar parses the whole expression, failing on a syntax error, and
    // lists every name it takes for a variable, defined or not.
    for (const auto& [name, ptr] : impl->parser.GetUsedVar()) {
      if (impl->parser.GetVar().count(name) == 0) {
        return Status::InvalidArgument(prefix + "unknown variable " + Quote(name) +
                                       " (known: " + kVariables + ")");
      }
    }
  } catch (const mu::Parser::exception_type& e) {
    if (e.GetCode() == mu::ecUNASSIGNABLE_TOKEN && IsIdentifier(e.GetToken())) {
      return Status::InvalidArgument(prefix + "unknown variable " + Quote(e.GetToken()) +
                                     " (known: " + kVariables + ")");
    }
    return Status::InvalidArgument(prefix + e.GetMsg());
  }
  return Rule(expression, std::move(impl));
}

std::string Rule::MinFreeRatioExpression(double ratio) {
  return "dbSizeFree/dbSize >= " + Ratio(ratio);
}

std::string Rule::MinQuotaUsageExpression(double ratio) {
  return "dbQuotaUsage >= " + Ratio(ratio);
}

Result<bool> Rule::Evaluate(const MemberSizes& s) {
  impl_->db_size = static_cast<double>(s.db_size);
  impl_->db_size_in_use = static_cast<double>(s.db_size_in_use);
  impl_->db_size_free = static_cast<double>(s.db_size - s.db_size_in_use);
  impl_->db_quota = static_cast<double>(s.db_quota);
  impl_->db_quota_usage = impl_->db_size / impl_->db_quota;
  try {
    return impl_->parser.Eval() != 0;
  } catch (const mu::Parser::exception_type& e) {
    return Status::Internal("rule " + Quote(expression_) + ": " + e.GetMsg());
  }
}

}  // namespace etcdd::defrag
