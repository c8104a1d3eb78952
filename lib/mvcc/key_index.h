// The in-memory key index: for every key, the revisions at which it changed,
// grouped into generations, after etcd's mvcc/key_index.go and index.go.
//
// A generation is one incarnation of a key: it starts with the put that
// created the key and, once closed, ends with the tombstone that deleted it.
// The last generation is open (possibly empty: the key is deleted). Example:
// put(1.0) put(2.0) del(3.0) put(4.0) del(5.0) gives
//     {1.0, 2.0, 3.0(t)} {4.0, 5.0(t)} {}
// Compaction at revision C drops every revision <= C except the one the key
// has at C (if the key is live at C); a key left with a single empty
// generation is removed from the index.
//
// Memory: one std::map node per key with the open generation stored inline;
// closed generations (keys deleted and re-created since the last compaction)
// live in a separately allocated vector. A revision costs 16 bytes.
//
// Thread-safety: none. The Store guards the index with its state lock; see
// store_state.h for the rules.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mvcc/revision.h"

namespace etcdd::mvcc {

struct Generation {
  int64_t ver = 0;             // version of the last revision in revs
  int64_t created = 0;         // main revision of the put that created this incarnation
  std::vector<Revision> revs;  // ascending; a closed generation ends with its tombstone
};

// What a key looks like at some revision.
struct KeyRevision {
  Revision mod;         // the revision holding the key's value
  int64_t created = 0;  // create_revision
  int64_t version = 0;  // version
};

class KeyIndex {
 public:
  // Appends a put at `rev`, which must be greater than every revision present.
  // Starts a new incarnation if the key is deleted or new.
  void Put(Revision rev);
  // Re-creates the first generation while restoring from disk, where earlier
  // revisions may have been compacted away: `created` and `version` come from
  // the stored KeyValue. The index must be empty.
  void Restore(int64_t created, Revision mod, int64_t version);
  // Appends a tombstone and closes the generation. Returns false (and changes
  // nothing) if the key is not live.
  bool Tombstone(Revision rev);
  // The key at `at_rev` (main revision): nullopt if it did not exist then.
  std::optional<KeyRevision> Get(int64_t at_rev) const;
  // Drops what compaction at `at_rev` removes (etcd keyIndex.compact).
  void Compact(int64_t at_rev);
  // Undoes every revision with main > `main` (rollback of uncommitted writes).
  void TruncateAfter(int64_t main);
  // True when only one empty generation is left: the key can be dropped.
  bool Empty() const { return !older_ && last_.revs.empty(); }

  size_t generation_count() const { return (older_ ? older_->size() : 0) + 1; }
  const Generation& generation(size_t i) const;

 private:
  Generation& mutable_generation(size_t i);
  void CloseGeneration();
  void ReopenGeneration();

  void UpdateModified();

  // The newest revision of any generation (etcd's keyIndex.modified), kept
  // here so the common read, the newest value of a live key, does not touch
  // the heap-allocated revision list.
  Revision modified_;
  Generation last_;  // the open generation
  std::unique_ptr<std::vector<Generation>>
      older_;  // closed generations, oldest first; null if none
};

// A key range as etcd's requests give it: range_end empty means the single key,
// range_end "\0" means every key >= key, otherwise [key, range_end).
struct KeyRange {
  enum class Kind { kSingle, kBounded, kFromKey };
  std::string_view key;
  std::string_view end;
  Kind kind = Kind::kSingle;

  static KeyRange Make(std::string_view key, std::string_view range_end);
};

// The ordered set of keys.
class TreeIndex {
 public:
  using Map = std::map<std::string, KeyIndex, std::less<>>;

  KeyIndex* Find(std::string_view key);
  const KeyIndex* Find(std::string_view key) const;
  KeyIndex& FindOrCreate(std::string_view key);
  // Removes `key` if its index is Empty().
  void EraseIfEmpty(std::string_view key);

  // Calls f(const std::string& key, const KeyIndex&) for every indexed key in
  // `range`, in key order.
  template <typename F>
  void Visit(const KeyRange& range, F&& f) const {
    VisitIn(map_, range, f);
  }
  // As Visit, with f(const std::string& key, KeyIndex&).
  template <typename F>
  void VisitMutable(const KeyRange& range, F&& f) {
    VisitIn(map_, range, f);
  }

  size_t size() const { return map_.size(); }
  Map& map() { return map_; }
  const Map& map() const { return map_; }

 private:
  template <typename MapT, typename F>
  static void VisitIn(MapT& map, const KeyRange& range, F&& f);

  Map map_;
};

template <typename MapT, typename F>
void TreeIndex::VisitIn(MapT& map, const KeyRange& range, F&& f) {
  if (range.kind == KeyRange::Kind::kSingle) {
    auto it = map.find(range.key);
    if (it != map.end()) f(it->first, it->second);
    return;
  }
  auto it = map.lower_bound(range.key);
  auto end = map.end();
  if (range.kind == KeyRange::Kind::kBounded) {
    if (range.key >= range.end) return;
    end = map.lower_bound(range.end);
  }
  for (; it != end; ++it) f(it->first, it->second);
}

}  // namespace etcdd::mvcc
