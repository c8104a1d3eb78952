// A backup file written under a temporary name and renamed into place only
// once it is complete and durable, so that no reader, and no later `list` or
// `prune`, ever sees a file that looks like a backup but is not whole.
//
//   ASSIGN_OR_RETURN(auto out, OutputFile::Create(env, dir, "x.tar.zst"));
//   RETURN_IF_ERROR(out.Append(bytes));   // any number of times
//   ASSIGN_OR_RETURN(std::string path, out.Commit());
//
// The temporary file is dir/TempName(final_name, getpid()) (naming.h). Commit
// fsyncs it, renames it over dir/final_name and fsyncs the directory. An
// OutputFile destroyed without a successful Commit removes its temporary file;
// one whose process is killed leaves it behind, named so that
// RemoveStaleTempFiles (catalog.h) can tell it from a backup.
//
// Thread-safety: none. Ownership: the Env must outlive the OutputFile.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/env.h"
#include "base/status.h"

namespace etcdd::backup {

class OutputFile {
 public:
  // Creates the temporary file (it must not exist). Errors: IOError,
  // AlreadyExists.
  static Result<OutputFile> Create(Env* env, const std::string& dir, const std::string& final_name);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  ~OutputFile();

  // Appends `data`. Errors: IOError.
  Status Append(std::string_view data);
  // Bytes appended so far.
  uint64_t size() const { return size_; }
  const std::string& temp_path() const { return temp_path_; }
  const std::string& final_path() const { return final_path_; }

  // Makes the file durable under its final name, replacing any file there.
  // Returns the final path. Errors: IOError (the temporary file is removed).
  Result<std::string> Commit();

 private:
  OutputFile(Env* env, std::string dir, std::string temp_path, std::string final_path,
             std::unique_ptr<File> file);
  void Discard();

  Env* env_;
  std::string dir_;
  std::string temp_path_;
  std::string final_path_;
  std::unique_ptr<File> file_;  // null once committed or discarded
  uint64_t size_ = 0;
};

// "<dir>/<name>", or <name> alone for dir "".
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace etcdd::backup
