#include "backup/snapshot_digest.h"

#include <cstring>

namespace etcdd::backup {

void TrailerCheck::Update(std::string_view data) {
  whole_.Update(data);
  bytes_ += data.size();
  // Everything that falls out of the 32-byte window belongs to the body.
  if (data.size() >= kSha256Size) {
    body_.Update(tail_);
    body_.Update(data.substr(0, data.size() - kSha256Size));
    tail_.assign(data.substr(data.size() - kSha256Size));
    return;
  }
  tail_.append(data);
  if (tail_.size() > kSha256Size) {
    size_t spill = tail_.size() - kSha256Size;
    body_.Update(std::string_view(tail_).substr(0, spill));
    tail_.erase(0, spill);
  }
}

Status TrailerCheck::Finish() {
  if (bytes_ <= kSha256Size) {
    return Status(Code::kDataLoss, "snapshot stream too short for a sha256 trailer (" +
                                       std::to_string(bytes_) + " bytes)");
  }
  auto body = body_.Final();
  whole_hex_ = HexDigest(whole_.Final());
  if (std::memcmp(body.data(), tail_.data(), kSha256Size) != 0) {
    return Status(Code::kDataLoss, "sha256 mismatch: the snapshot is corrupt or incomplete");
  }
  return Status::Ok();
}

}  // namespace etcdd::backup
