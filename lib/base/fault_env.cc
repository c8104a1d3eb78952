#include "base/fault_env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <random>

#include "base/file.h"

namespace etcdd {

// One write or truncate not yet synced: enough to put the bytes back.
struct Undo {
  uint64_t offset = 0;    // where the write started (truncate: the new size)
  uint64_t len = 0;       // bytes written (truncate: 0)
  uint64_t old_size = 0;  // the file's size before
  std::string old_bytes;  // the bytes [offset, min(offset + len, old_size)) before
                          // (truncate: [offset, old_size))
};

struct FaultEnv::Node {
  std::string path;  // current name
  std::vector<Undo> undo;
};

struct FaultEnv::DirOp {
  enum Kind { kCreate, kRename, kRemove } kind;
  std::string dir;                      // the directory whose SyncDir makes it durable
  std::string path;                     // created or removed path; rename target
  std::string from;                     // rename source
  std::shared_ptr<Node> node;           // the file created / renamed / removed
  std::optional<std::string> content;   // removed or replaced file's bytes
  std::shared_ptr<Node> replaced_node;  // rename: the file `path` held before
};

namespace {

Result<std::string> ReadRange(const std::string& path, uint64_t offset, uint64_t len) {
  std::string out;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return out;  // removed behind our back: nothing to keep
    return Status::IOError("open " + path, errno);
  }
  out.resize(len);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd.get(), out.data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("read " + path, errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

}  // namespace

class FaultFile final : public File {
 public:
  FaultFile(FaultEnv* env, std::unique_ptr<File> base, std::shared_ptr<FaultEnv::Node> node)
      : env_(env), base_(std::move(base)), node_(std::move(node)) {}

  const std::string& path() const override { return base_->path(); }

  Status WriteAt(uint64_t offset, std::string_view data) override {
    std::lock_guard lock(env_->mu_);
    size_t short_bytes = 0;
    Status admit = env_->Admit(FaultEnv::Op::kWrite, node_->path, &short_bytes);
    if (!admit.ok() && short_bytes == 0) return admit;
    std::string_view part = admit.ok() ? data : data.substr(0, std::min(short_bytes, data.size()));
    RETURN_IF_ERROR(env_->RecordUndo(*node_, offset, part.size(), false));
    RETURN_IF_ERROR(base_->WriteAt(offset, part));
    return admit;
  }

  Status Truncate(uint64_t size) override {
    std::lock_guard lock(env_->mu_);
    RETURN_IF_ERROR(env_->Admit(FaultEnv::Op::kTruncate, node_->path, nullptr));
    RETURN_IF_ERROR(env_->RecordUndo(*node_, size, 0, true));
    return base_->Truncate(size);
  }

  Status Sync() override {
    std::lock_guard lock(env_->mu_);
    RETURN_IF_ERROR(env_->Admit(FaultEnv::Op::kSync, node_->path, nullptr));
    if (env_->real_syncs_) RETURN_IF_ERROR(base_->Sync());
    node_->undo.clear();
    return Status::Ok();
  }

  Result<uint64_t> Size() override { return base_->Size(); }
  Status Lock() override { return base_->Lock(); }

 private:
  FaultEnv* const env_;
  std::unique_ptr<File> base_;
  std::shared_ptr<FaultEnv::Node> node_;
};

FaultEnv::FaultEnv(Env* base, bool real_syncs)
    : base_(base != nullptr ? base : Env::Default()), real_syncs_(real_syncs) {}
FaultEnv::~FaultEnv() = default;

Status FaultEnv::Admit(Op op, const std::string& path, size_t* short_bytes) {
  ++ops_;
  if (!off_ && ops_until_off_ >= 0 && ops_until_off_-- == 0) off_ = true;
  if (off_) return Status::IOError("power cut: " + path, EIO);
  for (Fault& f : faults_) {
    if (f.op != op || f.count == 0) continue;
    if (!f.path_contains.empty() && path.find(f.path_contains) == std::string::npos) continue;
    if (f.skip > 0) {
      --f.skip;
      continue;
    }
    --f.count;
    ++faults_hit_;
    if (short_bytes != nullptr) *short_bytes = f.short_bytes;
    const char* what = op == Op::kWrite      ? "write "
                       : op == Op::kSync     ? "fdatasync "
                       : op == Op::kSyncDir  ? "fsync dir "
                       : op == Op::kTruncate ? "ftruncate "
                       : op == Op::kRename   ? "rename "
                       : op == Op::kRemove   ? "remove "
                                             : "create ";
    return Status::IOError(what + path, f.err);
  }
  return Status::Ok();
}

Status FaultEnv::RecordUndo(Node& node, uint64_t offset, uint64_t len, bool truncate) {
  Undo u;
  u.offset = offset;
  u.len = len;
  u.old_size = FileSize(node.path);
  const uint64_t end = truncate ? u.old_size : std::min(offset + len, u.old_size);
  if (end > offset) {
    ASSIGN_OR_RETURN(u.old_bytes, ReadRange(node.path, offset, end - offset));
  }
  node.undo.push_back(std::move(u));
  return Status::Ok();
}

std::shared_ptr<FaultEnv::Node> FaultEnv::NodeFor(const std::string& path) {
  auto& n = nodes_[path];
  if (!n) n = std::make_shared<Node>(Node{path, {}});
  return n;
}

Result<std::unique_ptr<File>> FaultEnv::OpenFile(const std::string& path, OpenMode mode) {
  std::lock_guard lock(mu_);
  const bool existed = PathExists(path);
  const bool changes = mode == OpenMode::kTruncate || (!existed && mode != OpenMode::kExisting);
  if (changes) RETURN_IF_ERROR(Admit(Op::kOpen, path, nullptr));
  std::shared_ptr<Node> node = NodeFor(path);
  if (existed && mode == OpenMode::kTruncate) RETURN_IF_ERROR(RecordUndo(*node, 0, 0, true));
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, base_->OpenFile(path, mode));
  if (!existed) {
    node->undo.clear();
    dir_ops_.push_back(DirOp{DirOp::kCreate, DirName(path), path, "", node, std::nullopt, nullptr});
  }
  return std::unique_ptr<File>(new FaultFile(this, std::move(file), node));
}

Status FaultEnv::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(Admit(Op::kRename, from, nullptr));
  DirOp op{DirOp::kRename, DirName(to), to, from, NodeFor(from), std::nullopt, nullptr};
  if (PathExists(to)) {
    ASSIGN_OR_RETURN(op.content, ReadFile(to));
    op.replaced_node = NodeFor(to);
  }
  RETURN_IF_ERROR(base_->RenameFile(from, to));
  nodes_.erase(from);
  op.node->path = to;
  nodes_[to] = op.node;
  dir_ops_.push_back(std::move(op));
  return Status::Ok();
}

Status FaultEnv::RemoveFile(const std::string& path) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(Admit(Op::kRemove, path, nullptr));
  DirOp op{DirOp::kRemove, DirName(path), path, "", NodeFor(path), std::nullopt, nullptr};
  auto content = ReadFile(path);
  if (content.ok()) op.content = std::move(*content);
  RETURN_IF_ERROR(base_->RemoveFile(path));
  nodes_.erase(path);
  dir_ops_.push_back(std::move(op));
  return Status::Ok();
}

Status FaultEnv::SyncDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(Admit(Op::kSyncDir, dir, nullptr));
  if (real_syncs_) RETURN_IF_ERROR(base_->SyncDir(dir));
  std::erase_if(dir_ops_, [&](const DirOp& op) { return op.dir == dir; });
  return Status::Ok();
}

void FaultEnv::NoteSyncedOutside(const std::string& path) {
  std::lock_guard lock(mu_);
  if (off_) return;
  auto content = ReadFile(path);
  if (content.ok()) outside_copies_[path] = std::move(*content);
}

void FaultEnv::InjectFault(const Fault& fault) {
  std::lock_guard lock(mu_);
  faults_.push_back(fault);
}

void FaultEnv::ClearFaults() {
  std::lock_guard lock(mu_);
  faults_.clear();
}

uint64_t FaultEnv::FaultsHit() const {
  std::lock_guard lock(mu_);
  return faults_hit_;
}

void FaultEnv::CutPowerAfter(uint64_t ops) {
  std::lock_guard lock(mu_);
  ops_until_off_ = static_cast<int64_t>(ops);
}

bool FaultEnv::PowerIsOff() const {
  std::lock_guard lock(mu_);
  return off_;
}

uint64_t FaultEnv::OpCount() const {
  std::lock_guard lock(mu_);
  return ops_;
}

namespace {

// Puts `content` back as the whole of `path`. (Nothing here is synced: the
// test process itself does not crash.)
Status Rewrite(Env& base, const std::string& path, std::string_view content) {
  ASSIGN_OR_RETURN(auto file, base.OpenFile(path, Env::OpenMode::kTruncate));
  return file->WriteAt(0, content);
}

// Takes back the part of write `u` after its first `keep` bytes (all of it
// for keep == 0), restoring the old bytes and size.
Status UndoOne(Env& base, const std::string& path, const Undo& u, uint64_t keep) {
  ASSIGN_OR_RETURN(auto file, base.OpenFile(path, Env::OpenMode::kExisting));
  if (keep < u.old_bytes.size()) {
    RETURN_IF_ERROR(file->WriteAt(u.offset + keep, std::string_view(u.old_bytes).substr(keep)));
  }
  return file->Truncate(keep == 0 ? u.old_size : std::max(u.old_size, u.offset + keep));
}

}  // namespace

Status FaultEnv::UndoDirOps() {
  for (auto it = dir_ops_.rbegin(); it != dir_ops_.rend(); ++it) {
    DirOp& op = *it;
    switch (op.kind) {
      case DirOp::kCreate:
        (void)base_->RemoveFile(op.path);
        nodes_.erase(op.path);
        break;
      case DirOp::kRename:
        RETURN_IF_ERROR(base_->RenameFile(op.path, op.from));
        nodes_.erase(op.path);
        op.node->path = op.from;
        nodes_[op.from] = op.node;
        if (op.content) {
          RETURN_IF_ERROR(Rewrite(*base_, op.path, *op.content));
          op.replaced_node->path = op.path;
          nodes_[op.path] = op.replaced_node;
        }
        break;
      case DirOp::kRemove:
        if (op.content) {
          RETURN_IF_ERROR(Rewrite(*base_, op.path, *op.content));
          op.node->path = op.path;
          nodes_[op.path] = op.node;
        }
        break;
    }
  }
  dir_ops_.clear();
  return Status::Ok();
}

Status FaultEnv::UndoWrites(Unsynced mode, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (auto& [path, node] : nodes_) {
    if (node->undo.empty()) continue;
    // kKeepRandomPrefix: the writes survive, in order, up to byte `budget`.
    uint64_t total = 0;
    for (const Undo& u : node->undo) total += u.len;
    uint64_t budget = mode == Unsynced::kDropAll ? 0 : rng() % (total + 1);
    std::vector<uint64_t> keep(node->undo.size(), 0);
    for (size_t i = 0; i < node->undo.size() && budget > 0; ++i) {
      keep[i] = std::min(budget, node->undo[i].len);
      budget -= keep[i];
      // A truncate is kept only when every write before it is.
      if (node->undo[i].len == 0) keep[i] = UINT64_MAX;
    }
    for (size_t i = node->undo.size(); i-- > 0;) {
      const Undo& u = node->undo[i];
      if (keep[i] == UINT64_MAX || (u.len > 0 && keep[i] == u.len)) continue;
      RETURN_IF_ERROR(UndoOne(*base_, path, u, keep[i]));
    }
    node->undo.clear();
  }
  return Status::Ok();
}

Status FaultEnv::PowerCut(Unsynced mode, uint64_t seed) {
  std::lock_guard lock(mu_);
  off_ = true;
  RETURN_IF_ERROR(UndoDirOps());
  RETURN_IF_ERROR(UndoWrites(mode, seed));
  for (const auto& [path, content] : outside_copies_) {
    RETURN_IF_ERROR(Rewrite(*base_, path, content));
  }
  outside_copies_.clear();
  nodes_.clear();
  return Status::Ok();
}

}  // namespace etcdd
