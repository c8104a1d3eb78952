#include "base/grpc_status.h"

namespace etcdd {

grpc::Status ToGrpcStatus(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  const int code = static_cast<int>(s.code());
  const bool grpc_code = code >= 0 && code <= static_cast<int>(Code::kUnauthenticated);
  return grpc::Status(grpc_code ? static_cast<grpc::StatusCode>(code) : grpc::StatusCode::INTERNAL,
                      s.message());
}

Status FromGrpcStatus(const grpc::Status& s) {
  const auto code = static_cast<Code>(s.error_code());
  if (code == Code::kOk) return Status::Ok();
  if (code == Code::kDeadlineExceeded) return Status(code, "context deadline exceeded");
  if (code == Code::kCancelled) return Status(code, "context canceled");
  return Status(code, s.error_message());
}

}  // namespace etcdd
