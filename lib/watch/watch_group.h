// Internal to the watch hub (watch_hub.h): the watcher record and the
// structures that hold watchers, as etcd's watcher_group.go.
//
// A Watcher lives in its stream's id map and is linked, through its prev/next
// pointers, into at most one of: a bucket of the synced WatcherGroup, the
// hub's unsynced list, or its stream's parked list. Memory per idle watcher is
// its map node, one allocation for its key bytes, and its group entry (a hash
// node per distinct key, a tree node per distinct range): measured ~200 bytes
// on distinct keys, ~140 on a shared key, ~240 on distinct ranges (etcd 3.4:
// ~1.1 KB, ~0.95 KB, ~1.5 KB of RSS; watch_hub_test's DISABLED_MemoryPerWatcher).
//
// WatcherGroup: single-key watchers in a hash map from key to a list of the
// watchers on that key; range watchers in an interval treap keyed by (start,
// end) and augmented with the subtree's largest end, each node holding the
// list of watchers on exactly that range. ForEachMatch(key) costs O(1) for
// keys plus O(log n + matching ranges) for ranges, plus one step per watcher
// called. Map keys and tree bounds are views of the bytes of the first
// watcher in their list, re-pointed when that watcher leaves.
//
// Thread-safety: none; the hub's mutex guards all of it.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>

namespace etcdd::watch {

class WatchStream;

namespace internal {

enum class WatcherState : uint8_t {
  kSynced,     // in the hub's synced group
  kUnsynced,   // in the hub's unsynced list
  kSyncing,    // taken by a history read in progress; in no list
  kParked,     // in its stream's parked list
  kCompacted,  // ended by compaction; its id stays taken until Cancel
};

struct Watcher {
  Watcher* prev = nullptr;
  Watcher* next = nullptr;
  WatchStream* stream = nullptr;
  int64_t id = 0;
  // The first revision whose events this watcher has not been given. For a
  // synced watcher a lower bound: Notify skips events below it.
  int64_t next_rev = 0;
  std::unique_ptr<char[]> bytes;  // the key, then the range end
  uint32_t key_len = 0;
  uint32_t end_len = 0;
  // 1 + the stream sequence number of the last event message queued for this
  // watcher (see WatchStream::EnqueueEvents); 0 when there is none it may add to.
  uint64_t queued_seq = 0;
  // While a Notify or a history read builds messages: 1 + the index of this
  // watcher's message; 0 otherwise.
  uint32_t scratch = 0;
  WatcherState state = WatcherState::kUnsynced;
  bool from_key : 1 = false;  // every key >= key (etcd's range_end "\0")
  bool no_put : 1 = false;
  bool no_delete : 1 = false;
  bool prev_kv : 1 = false;
  bool progress_notify : 1 = false;
  bool fragment : 1 = false;
  bool progress_idle : 1 = true;  // no events queued since the last progress tick
  bool orphaned : 1 = false;      // its stream let go of it while it was syncing

  std::string_view key() const { return {bytes.get(), key_len}; }
  // The exclusive range end; empty for a single key or a from-key watcher.
  std::string_view end() const { return {bytes.get() + key_len, end_len}; }
  bool single_key() const { return end_len == 0 && !from_key; }
  bool Contains(std::string_view k) const {
    if (single_key()) return k == key();
    return k >= key() && (from_key || k < end());
  }
  // Whether the filters let an event of this type through.
  bool Wants(bool is_put) const { return is_put ? !no_put : !no_delete; }
};

// A FIFO of watchers linked through prev/next.
class WatcherList {
 public:
  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  void PushBack(Watcher* w);
  void PushFront(Watcher* w);
  Watcher* PopFront();
  void Remove(Watcher* w);

 private:
  Watcher* head_ = nullptr;
  Watcher* tail_ = nullptr;
  size_t size_ = 0;
};

class WatcherGroup {
 public:
  WatcherGroup() = default;
  ~WatcherGroup();
  WatcherGroup(const WatcherGroup&) = delete;
  WatcherGroup& operator=(const WatcherGroup&) = delete;

  size_t size() const { return size_; }
  void Add(Watcher* w);
  void Remove(Watcher* w);

  // Calls f(Watcher*) for every watcher whose key or range holds `key`. f
  // must not change the group.
  template <typename F>
  void ForEachMatch(std::string_view key, F&& f) const {
    if (auto it = keys_.find(key); it != keys_.end()) {
      for (Watcher* w = it->second; w != nullptr; w = w->next) f(w);
    }
    Stab(root_, key, f);
  }

  // Removes every watcher, calling f(Watcher*) for each after it left.
  template <typename F>
  void Drain(F&& f) {
    auto keys = std::move(keys_);
    keys_.clear();
    RangeNode* root = root_;
    root_ = nullptr;
    size_ = 0;
    for (auto& [k, head] : keys) DrainList(head, f);
    DrainTree(root, f);
  }

 private:
  struct RangeNode {
    std::string_view start;
    std::string_view end;  // empty when from_key
    bool from_key = false;
    RangeNode* max_node = this;  // the node with the largest end in this subtree
    RangeNode* left = nullptr;
    RangeNode* right = nullptr;
    uint64_t priority = 0;
    Watcher* head = nullptr;  // the watchers on exactly [start, end)
  };

  // Whether a range of `n`'s end goes past `key` (holds it, if it starts at or below it).
  static bool EndsAfter(const RangeNode* n, std::string_view key) {
    return n->from_key || key < n->end;
  }
  template <typename F>
  static void Stab(const RangeNode* n, std::string_view key, F& f) {
    while (n != nullptr && EndsAfter(n->max_node, key)) {
      Stab(n->left, key, f);
      if (key < n->start) return;
      if (EndsAfter(n, key)) {
        for (Watcher* w = n->head; w != nullptr; w = w->next) f(w);
      }
      n = n->right;
    }
  }
  template <typename F>
  static void DrainList(Watcher* w, F& f) {
    while (w != nullptr) {
      Watcher* next = w->next;
      w->prev = w->next = nullptr;
      f(w);
      w = next;
    }
  }
  template <typename F>
  static void DrainTree(RangeNode* n, F& f) {
    if (n == nullptr) return;
    DrainTree(n->left, f);
    DrainTree(n->right, f);
    Watcher* head = n->head;
    delete n;
    DrainList(head, f);
  }

  static int Compare(const RangeNode* a, const RangeNode* b);
  static void Pull(RangeNode* n);
  RangeNode* Find(const RangeNode& probe) const;
  static void Split(RangeNode* t, const RangeNode* key, RangeNode** l, RangeNode** r);
  static RangeNode* Merge(RangeNode* a, RangeNode* b);
  static void Insert(RangeNode** t, RangeNode* n);
  static void Erase(RangeNode** t, const RangeNode* n);
  static void FreeTree(RangeNode* n);

  std::unordered_map<std::string_view, Watcher*> keys_;
  RangeNode* root_ = nullptr;
  size_t size_ = 0;
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;  // treap priorities (xorshift)
};

}  // namespace internal
}  // namespace etcdd::watch
