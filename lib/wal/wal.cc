#include "wal/wal.h"

#include <algorithm>
#include <optional>

#include "wal/record.h"
#include "wal/replay.h"
#include "wal/scan.h"
#include "wal/segment.h"

namespace etcdd::wal {

using internal::AppendMessageRecord;
using internal::AppendRecord;
using internal::RecordType;
using internal::SegmentName;

namespace {

// A batch buffer that grew past this is released after use.
constexpr size_t kMaxIdleBufferBytes = 16 << 20;

bool IsEmptyHardState(const raftpb::HardState& s) {
  return s.term() == 0 && s.vote() == 0 && s.commit() == 0;
}

// The records every segment starts with: the segment header (whose prev_crc
// carries the running CRC across segments), the metadata and, if any, the
// last HardState. Returns them and sets `*crc` to the CRC of the last one.
std::string Prologue(uint64_t seq, uint64_t first_index, uint32_t prev_crc,
                     std::string_view metadata, const raftpb::HardState& state, uint32_t* crc) {
  std::string buf;
  uint32_t c = AppendRecord(&buf, RecordType::kSegmentHeader,
                            internal::EncodeSegmentHeader(seq, first_index), prev_crc);
  c = AppendRecord(&buf, RecordType::kMetadata, metadata, c);
  if (!IsEmptyHardState(state)) c = AppendMessageRecord(&buf, RecordType::kHardState, state, c);
  *crc = c;
  return buf;
}

Env& EnvOf(const Options& options) {
  return options.env != nullptr ? *options.env : *Env::Default();
}

std::string ParentDir(const std::string& dir) {
  auto end = dir.find_last_not_of('/');
  auto slash = end == std::string::npos ? std::string::npos : dir.rfind('/', end);
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : dir.substr(0, slash);
}

// Cuts off a torn tail of the last segment: keeps a copy of the whole file
// aside, zeroes the bytes after the last good record, restores the
// preallocated size and syncs.
Status RepairTail(Env& env, File& file, std::string_view data, const internal::SegmentScan& scan,
                  uint64_t segment_bytes, Logger& logger) {
  const std::string& path = file.path();
  ASSIGN_OR_RETURN(std::string aside, internal::KeepAside(env, path, data));
  RETURN_IF_ERROR(internal::ZeroRange(file, scan.end, scan.dirty_end));
  RETURN_IF_ERROR(internal::Preallocate(file, segment_bytes));
  RETURN_IF_ERROR(file.Sync());
  logger.Warn("wal: repaired torn tail of last segment",
              {{"path", path},
               {"offset", scan.end},
               {"discarded-bytes", scan.dirty_end - scan.end},
               {"problem", internal::DecodeProblemMessage(scan.problem)},
               {"original-kept-as", aside}});
  return Status::Ok();
}

}  // namespace

Wal::Wal(std::string dir, Logger& logger, const Options& options, std::string metadata)
    : dir_(std::move(dir)),
      logger_(logger),
      options_(options),
      env_(EnvOf(options)),
      metadata_(std::move(metadata)),
      pipeline_(env_, dir_, options_.segment_bytes) {}

Wal::~Wal() {
  if (!unsynced_ || !error_.ok() || !file_) return;
  Status s = file_->Sync();
  if (!s.ok()) {
    logger_.Warn("wal: failed to sync on close", {{"path", path_}, {"error", s.message()}});
  }
}

bool Wal::Exists(const std::string& dir) {
  auto segments = internal::ListSegments(dir);
  return segments.ok() && !segments->empty();
}

Result<std::unique_ptr<Wal>> Wal::Create(const std::string& dir, std::string_view metadata,
                                         Logger& logger, const Options& options) {
  if (options.segment_bytes == 0) return Status::InvalidArgument("wal: segment size must be > 0");
  RETURN_IF_ERROR(CreateDirs(dir));
  ASSIGN_OR_RETURN(bool has_wal_files, internal::HasWalFiles(dir));
  if (has_wal_files) return Status::AlreadyExists("wal: " + dir + " already holds .wal files");
  // Before the Wal exists: its pipeline starts preparing a spare at once.
  RETURN_IF_ERROR(internal::RemoveStaleTemps(EnvOf(options), dir));
  std::unique_ptr<Wal> w(new Wal(dir, logger, options, std::string(metadata)));
  const SegmentName name{0, 1, internal::SegmentFileName(0, 1)};
  std::string records = Prologue(name.seq, name.first_index, 0, metadata, {}, &w->crc_);
  ASSIGN_OR_RETURN(auto seg,
                   internal::CreateSegmentFile(w->env_, dir, name, records, options.segment_bytes));
  RETURN_IF_ERROR(w->env_.SyncDir(ParentDir(dir)));
  w->file_ = std::move(seg.file);
  w->path_ = std::move(seg.path);
  w->offset_ = seg.offset;
  w->retained_.push_back(name);
  return w;
}

Result<std::pair<std::unique_ptr<Wal>, Contents>> Wal::Open(const std::string& dir,
                                                            const SnapshotMarker& from,
                                                            Logger& logger,
                                                            const Options& options) {
  if (options.segment_bytes == 0) return Status::InvalidArgument("wal: segment size must be > 0");
  ASSIGN_OR_RETURN(const std::vector<SegmentName> segments, internal::ListExistingSegments(dir));
  RETURN_IF_ERROR(internal::CheckSequence(segments, dir));
  auto start = internal::StartSegment(segments, from.index);
  if (!start) {
    return Status::NotFound("wal: file not found: first segment " + segments[0].file +
                            " starts after snapshot index " + std::to_string(from.index));
  }
  // Lock the tail before reading it (and before removing temp segments) so
  // no other process appends or cuts meanwhile.
  Env& env = EnvOf(options);
  const std::string tail_path = dir + "/" + segments.back().file;
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, env.OpenFile(tail_path, Env::OpenMode::kExisting));
  RETURN_IF_ERROR(internal::LockSegment(*file));
  RETURN_IF_ERROR(internal::RemoveStaleTemps(env, dir));

  internal::Replayer replayer(from);
  ASSIGN_OR_RETURN(internal::SegmentsRead r,
                   internal::ReadSegments(dir, segments, *start, replayer));
  RETURN_IF_ERROR(replayer.Finish());
  Contents contents = std::move(replayer.contents());

  const internal::SegmentScan& tail = r.tail;
  if (tail.dirty_end > tail.end) {
    RETURN_IF_ERROR(RepairTail(env, *file, r.tail_data, tail, options.segment_bytes, logger));
  } else {
    RETURN_IF_ERROR(internal::Preallocate(*file, options.segment_bytes));
  }

  std::unique_ptr<Wal> w(new Wal(dir, logger, options, contents.metadata));
  w->file_ = std::move(file);
  w->path_ = tail_path;
  w->seq_ = segments.back().seq;
  w->offset_ = tail.end;
  w->crc_ = r.crc;
  w->last_index_ = replayer.last_index();
  w->state_ = contents.hard_state;
  w->retained_.assign(segments.begin() + static_cast<std::ptrdiff_t>(*start), segments.end());
  return std::make_pair(std::move(w), std::move(contents));
}

Status Wal::Save(const raftpb::HardState& hard_state, const std::vector<raftpb::Entry>& entries) {
  std::lock_guard lock(mu_);
  if (!error_.ok()) return error_;
  const bool empty_state = IsEmptyHardState(hard_state);
  if (empty_state && entries.empty()) return Status::Ok();
  const bool must_sync =
      !entries.empty() || hard_state.term() != state_.term() || hard_state.vote() != state_.vote();
  buf_.clear();
  for (const auto& e : entries) crc_ = AppendMessageRecord(&buf_, RecordType::kEntry, e, crc_);
  if (!entries.empty()) last_index_ = entries.back().index();
  if (!empty_state) {
    crc_ = AppendMessageRecord(&buf_, RecordType::kHardState, hard_state, crc_);
    state_ = hard_state;
  }
  return AppendLocked(must_sync);
}

Status Wal::SaveSnapshot(const SnapshotMarker& marker) {
  std::lock_guard lock(mu_);
  if (!error_.ok()) return error_;
  std::string payload;
  internal::PutU64(&payload, marker.index);
  internal::PutU64(&payload, marker.term);
  buf_.clear();
  crc_ = AppendRecord(&buf_, RecordType::kSnapshot, payload, crc_);
  last_index_ = std::max(last_index_, marker.index);
  return AppendLocked(true);
}

Status Wal::Sticky(Status s) {
  if (!s.ok() && error_.ok()) error_ = s;
  return s;
}

Status Wal::AppendLocked(bool sync) {
  RETURN_IF_ERROR(Sticky(file_->WriteAt(offset_, buf_)));
  offset_ += buf_.size();
  if (buf_.capacity() > kMaxIdleBufferBytes) std::string().swap(buf_);
  const bool cut = offset_ >= options_.segment_bytes;
  if (cut) RETURN_IF_ERROR(Sticky(file_->Truncate(offset_)));
  if (sync || cut) {
    RETURN_IF_ERROR(Sticky(file_->Sync()));
    unsynced_ = false;
  } else {
    unsynced_ = true;
  }
  return cut ? Sticky(CutLocked()) : Status::Ok();
}

Status Wal::CutLocked() {
  const uint64_t seq = seq_ + 1;
  const SegmentName name{seq, last_index_ + 1, internal::SegmentFileName(seq, last_index_ + 1)};
  uint32_t crc = 0;
  std::string records = Prologue(seq, name.first_index, crc_, metadata_, state_, &crc);
  auto spare = pipeline_.Take();
  if (!spare.ok()) {
    // The background attempt failed (say, the disk was full then); try once
    // more now rather than fail the cut on an old error.
    logger_.Warn("wal: preparing the next segment failed; retrying",
                 {{"error", spare.status().message()}});
    std::string tmp = dir_ + "/cut.wal.tmp";
    ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                     internal::CreateSpareFile(env_, tmp, options_.segment_bytes));
    spare = internal::FilePipeline::Spare{std::move(file), tmp};
  }
  ASSIGN_OR_RETURN(auto seg, internal::InstallSegmentFile(env_, std::move(spare->file), spare->path,
                                                          dir_, name, records));
  file_ = std::move(seg.file);
  path_ = std::move(seg.path);
  offset_ = seg.offset;
  seq_ = seq;
  crc_ = crc;
  retained_.push_back(name);
  logger_.Info("created a new WAL segment", {{"path", path_}});
  return Status::Ok();
}

}  // namespace etcdd::wal
