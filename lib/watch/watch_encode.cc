// Wire encoding of watch responses: events serialized once and spliced into
// each WatchResponse as field 11 (events) after the other fields, which is
// the byte sequence protobuf itself writes (fields in number order).
#include <google/protobuf/io/coded_stream.h>

#include "watch/watch_hub.h"

namespace etcdd::watch {

namespace {

using google::protobuf::io::CodedOutputStream;

constexpr uint8_t kEventsTag = (11 << 3) | 2;  // WatchResponse.events, length-delimited

size_t EventLength(const WatchEvent& e, bool prev_kv) {
  return prev_kv ? e.bytes.size() : e.size_without_prev_kv;
}

size_t EventFieldSize(const WatchEvent& e, bool prev_kv) {
  const size_t n = EventLength(e, prev_kv);
  return 1 + CodedOutputStream::VarintSize64(n) + n;
}

void AppendEvent(const WatchEvent& e, bool prev_kv, std::string* out) {
  const size_t n = EventLength(e, prev_kv);
  uint8_t buf[1 + 10];
  buf[0] = kEventsTag;
  uint8_t* end = CodedOutputStream::WriteVarint64ToArray(n, buf + 1);
  out->append(reinterpret_cast<const char*>(buf), static_cast<size_t>(end - buf));
  out->append(e.bytes.data(), n);
}

// The response's fields before its events.
std::string Prefix(const WatchMessage& m, const etcdserverpb::ResponseHeader& header,
                   bool fragment) {
  etcdserverpb::WatchResponse r;
  *r.mutable_header() = header;
  r.mutable_header()->set_revision(m.revision);
  r.set_watch_id(m.watch_id);
  r.set_created(m.created);
  r.set_canceled(m.canceled);
  r.set_compact_revision(m.compact_revision);
  r.set_cancel_reason(m.cancel_reason);
  r.set_fragment(fragment);
  return r.SerializeAsString();
}

std::string Build(std::string prefix, const WatchMessage& m, size_t from, size_t to) {
  std::string out = std::move(prefix);
  size_t size = out.size();
  for (size_t i = from; i < to; ++i) size += EventFieldSize(*m.events[i], m.prev_kv);
  out.reserve(size);
  for (size_t i = from; i < to; ++i) AppendEvent(*m.events[i], m.prev_kv, &out);
  return out;
}

}  // namespace

std::shared_ptr<const WatchEvent> WatchEvent::Make(const mvccpb::Event& ev) {
  auto e = std::make_shared<WatchEvent>();
  e->bytes = ev.SerializeAsString();
  size_t without = e->bytes.size();
  if (ev.has_prev_kv()) {
    const size_t prev = ev.prev_kv().GetCachedSize();  // computed by the serialization above
    without -= 1 + CodedOutputStream::VarintSize64(prev) + prev;
  }
  e->size_without_prev_kv = static_cast<uint32_t>(without);
  e->revision = ev.kv().mod_revision();
  e->is_put = ev.type() == mvccpb::Event::PUT;
  return e;
}

std::vector<std::string> EncodeWatchResponse(const WatchMessage& m,
                                             const etcdserverpb::ResponseHeader& header,
                                             size_t fragment_limit_bytes) {
  const size_t n = m.events.size();
  std::string whole_prefix = Prefix(m, header, false);
  if (!m.fragment || n < 2) return {Build(std::move(whole_prefix), m, 0, n)};
  size_t total = whole_prefix.size();
  for (const auto& e : m.events) total += EventFieldSize(*e, m.prev_kv);
  if (total < fragment_limit_bytes) return {Build(std::move(whole_prefix), m, 0, n)};

  // etcd's sendFragments: sizes are measured with fragment = true set.
  const std::string fragment_prefix = Prefix(m, header, true);
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < n) {
    const size_t first = i;
    size_t size = fragment_prefix.size();
    while (i < n) {
      const size_t add = EventFieldSize(*m.events[i], m.prev_kv);
      if (i > first && size + add >= fragment_limit_bytes) break;
      size += add;
      ++i;
    }
    parts.push_back(Build(i == n ? whole_prefix : fragment_prefix, m, first, i));
  }
  return parts;
}

}  // namespace etcdd::watch
