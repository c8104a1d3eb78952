// JSON text as Go's encoding/json writes it, for etcdctl's `-w json`.
//
// etcdctl marshals the gogo-generated response structs with json.Marshal:
// one line, fields in struct order, zero values omitted (`omitempty`), []byte
// as base64, 64-bit integers as plain JSON numbers. The printers build an
// nlohmann::ordered_json tree in that order; GoJson serializes it with Go's
// string escaping (HTML-safe \u003c \u003e \u0026, \u2028 \u2029, invalid
// UTF-8 as \ufffd, control characters other than \n \r \t as \u00XX).
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/go_text.h"  // GoJsonString

namespace etcdd::cli {

// Serializes `v` on one line without a trailing newline.
std::string GoJson(const nlohmann::ordered_json& v);

}  // namespace etcdd::cli
