#include "backup/output_file.h"

#include <unistd.h>

#include "backup/naming.h"

namespace etcdd::backup {

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

OutputFile::OutputFile(Env* env, std::string dir, std::string temp_path, std::string final_path,
                       std::unique_ptr<File> file)
    : env_(env),
      dir_(std::move(dir)),
      temp_path_(std::move(temp_path)),
      final_path_(std::move(final_path)),
      file_(std::move(file)) {}

OutputFile::OutputFile(OutputFile&& o) noexcept
    : env_(o.env_),
      dir_(std::move(o.dir_)),
      temp_path_(std::move(o.temp_path_)),
      final_path_(std::move(o.final_path_)),
      file_(std::move(o.file_)),
      size_(o.size_) {}

OutputFile::~OutputFile() { Discard(); }

void OutputFile::Discard() {
  if (!file_) return;
  file_.reset();
  (void)env_->RemoveFile(temp_path_);
}

Result<OutputFile> OutputFile::Create(Env* env, const std::string& dir,
                                      const std::string& final_name) {
  std::string temp = JoinPath(dir, TempName(final_name, getpid()));
  ASSIGN_OR_RETURN(auto file, env->OpenFile(temp, Env::OpenMode::kExclusive));
  return OutputFile(env, dir, temp, JoinPath(dir, final_name), std::move(file));
}

Status OutputFile::Append(std::string_view data) {
  if (!file_) return Status::FailedPrecondition(temp_path_ + ": already closed");
  RETURN_IF_ERROR(file_->WriteAt(size_, data));
  size_ += data.size();
  return Status::Ok();
}

Result<std::string> OutputFile::Commit() {
  if (!file_) return Status::FailedPrecondition(temp_path_ + ": already closed");
  Status st = file_->Sync();
  if (st.ok()) st = env_->RenameFile(temp_path_, final_path_);
  if (!st.ok()) {
    Discard();
    return st;
  }
  file_.reset();
  RETURN_IF_ERROR(env_->SyncDir(dir_.empty() ? "." : dir_));
  return final_path_;
}

}  // namespace etcdd::backup
