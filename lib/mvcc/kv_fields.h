// Internal: the fields of a stored mvccpb.KeyValue that the key index needs,
// read without copying the value. Store::Open reads every stored value to
// rebuild the index; parsing each into a KeyValue would copy every value
// once (a 1 GiB backend, 1 GiB of copies).
#pragma once

#include <cstdint>
#include <string_view>

namespace etcdd::mvcc::internal {

struct IndexFields {
  std::string_view key;  // points into the parsed bytes
  int64_t create_revision = 0;
  int64_t version = 0;
};

// Parses `bytes` as protobuf wire format for mvccpb.KeyValue: every field is
// read and checked (tags, varints, lengths within the bytes), unknown fields
// skipped, as ParseFromArray would, but only key, create_revision and version
// are kept. Returns false when the bytes do not parse.
bool ParseIndexFields(std::string_view bytes, IndexFields* out);

}  // namespace etcdd::mvcc::internal
