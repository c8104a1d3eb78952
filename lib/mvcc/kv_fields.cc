#include "mvcc/kv_fields.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace etcdd::mvcc::internal {

namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// mvccpb.KeyValue's field numbers (lib/proto/mvccpb/kv.proto).
constexpr int kKeyField = 1;
constexpr int kCreateRevisionField = 2;
constexpr int kVersionField = 4;

}  // namespace

bool ParseIndexFields(std::string_view bytes, IndexFields* out) {
  *out = IndexFields{};
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  while (uint32_t tag = in.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const auto type = WireFormatLite::GetTagWireType(tag);
    if (field == kKeyField && type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t len = 0;
      if (!in.ReadVarint32(&len)) return false;
      const int at = in.CurrentPosition();
      if (!in.Skip(static_cast<int>(len))) return false;
      out->key = bytes.substr(static_cast<size_t>(at), len);
    } else if ((field == kCreateRevisionField || field == kVersionField) &&
               type == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t v = 0;
      if (!in.ReadVarint64(&v)) return false;
      (field == kVersionField ? out->version : out->create_revision) = static_cast<int64_t>(v);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  // ReadTag returns 0 at the end of the bytes and on a malformed tag.
  return in.ConsumedEntireMessage();
}

}  // namespace etcdd::mvcc::internal
