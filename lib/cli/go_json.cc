#include "cli/go_json.h"

#include "cli/go_format.h"

namespace etcdd::cli {

namespace {

void AppendJson(const nlohmann::ordered_json& v, std::string* out) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: {
      *out += '{';
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) *out += ',';
        first = false;
        *out += GoJsonString(key);
        *out += ':';
        AppendJson(item, out);
      }
      *out += '}';
      return;
    }
    case nlohmann::json::value_t::array: {
      *out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) *out += ',';
        AppendJson(v[i], out);
      }
      *out += ']';
      return;
    }
    case nlohmann::json::value_t::string:
      *out += GoJsonString(v.get_ref<const std::string&>());
      return;
    default:
      // Numbers, booleans and null print the same in both encoders.
      *out += v.dump();
      return;
  }
}

}  // namespace

std::string GoJson(const nlohmann::ordered_json& v) {
  std::string out;
  AppendJson(v, &out);
  return out;
}

}  // namespace etcdd::cli
