#include "watch/watch_group.h"

#include <cassert>

namespace etcdd::watch::internal {

void WatcherList::PushBack(Watcher* w) {
  w->prev = tail_;
  w->next = nullptr;
  (tail_ != nullptr ? tail_->next : head_) = w;
  tail_ = w;
  ++size_;
}

void WatcherList::PushFront(Watcher* w) {
  w->prev = nullptr;
  w->next = head_;
  (head_ != nullptr ? head_->prev : tail_) = w;
  head_ = w;
  ++size_;
}

Watcher* WatcherList::PopFront() {
  Watcher* w = head_;
  if (w != nullptr) Remove(w);
  return w;
}

void WatcherList::Remove(Watcher* w) {
  (w->prev != nullptr ? w->prev->next : head_) = w->next;
  (w->next != nullptr ? w->next->prev : tail_) = w->prev;
  w->prev = w->next = nullptr;
  --size_;
}

WatcherGroup::~WatcherGroup() { FreeTree(root_); }

void WatcherGroup::FreeTree(RangeNode* n) {
  if (n == nullptr) return;
  FreeTree(n->left);
  FreeTree(n->right);
  delete n;
}

namespace {

// Inserts `w` right after `head` in a bucket list, so the head (whose bytes
// the bucket's key points into) stays.
void LinkAfter(Watcher* head, Watcher* w) {
  w->prev = head;
  w->next = head->next;
  if (head->next != nullptr) head->next->prev = w;
  head->next = w;
}

}  // namespace

void WatcherGroup::Add(Watcher* w) {
  ++size_;
  if (w->single_key()) {
    auto [it, inserted] = keys_.try_emplace(w->key(), w);
    if (inserted) {
      w->prev = w->next = nullptr;
    } else {
      LinkAfter(it->second, w);
    }
    return;
  }
  RangeNode probe;
  probe.start = w->key();
  probe.end = w->end();
  probe.from_key = w->from_key;
  if (RangeNode* n = Find(probe)) {
    LinkAfter(n->head, w);
    return;
  }
  auto* n = new RangeNode(probe);
  n->max_node = n;
  n->head = w;
  w->prev = w->next = nullptr;
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  n->priority = rng_;
  Insert(&root_, n);
}

void WatcherGroup::Remove(Watcher* w) {
  --size_;
  if (w->prev != nullptr) {  // not the head: the bucket's key stays valid
    w->prev->next = w->next;
    if (w->next != nullptr) w->next->prev = w->prev;
    w->prev = w->next = nullptr;
    return;
  }
  Watcher* next = w->next;
  w->next = nullptr;
  if (next != nullptr) next->prev = nullptr;
  if (w->single_key()) {
    auto it = keys_.find(w->key());
    assert(it != keys_.end() && it->second == w);
    if (next == nullptr) {
      keys_.erase(it);
      return;
    }
    auto node = keys_.extract(it);
    node.key() = next->key();  // same bytes, in a watcher that stays
    node.mapped() = next;
    keys_.insert(std::move(node));
    return;
  }
  RangeNode probe;
  probe.start = w->key();
  probe.end = w->end();
  probe.from_key = w->from_key;
  RangeNode* n = Find(probe);
  assert(n != nullptr && n->head == w);
  if (next != nullptr) {
    n->head = next;
    n->start = next->key();
    n->end = next->end();
    return;
  }
  Erase(&root_, n);
  delete n;
}

int WatcherGroup::Compare(const RangeNode* a, const RangeNode* b) {
  if (int c = a->start.compare(b->start); c != 0) return c;
  if (a->from_key != b->from_key) return a->from_key ? 1 : -1;
  return a->from_key ? 0 : a->end.compare(b->end);
}

void WatcherGroup::Pull(RangeNode* n) {
  n->max_node = n;
  for (RangeNode* c : {n->left, n->right}) {
    if (c == nullptr) continue;
    const RangeNode* m = n->max_node;
    const RangeNode* cm = c->max_node;
    if (!m->from_key && (cm->from_key || m->end < cm->end)) n->max_node = c->max_node;
  }
}

WatcherGroup::RangeNode* WatcherGroup::Find(const RangeNode& probe) const {
  RangeNode* n = root_;
  while (n != nullptr) {
    int c = Compare(&probe, n);
    if (c == 0) return n;
    n = c < 0 ? n->left : n->right;
  }
  return nullptr;
}

// Splits `t` into the nodes below `key` (*l) and the others (*r).
void WatcherGroup::Split(RangeNode* t, const RangeNode* key, RangeNode** l, RangeNode** r) {
  if (t == nullptr) {
    *l = *r = nullptr;
    return;
  }
  if (Compare(t, key) < 0) {
    Split(t->right, key, &t->right, r);
    *l = t;
  } else {
    Split(t->left, key, l, &t->left);
    *r = t;
  }
  Pull(t);
}

WatcherGroup::RangeNode* WatcherGroup::Merge(RangeNode* a, RangeNode* b) {
  if (a == nullptr) return b;
  if (b == nullptr) return a;
  if (a->priority > b->priority) {
    a->right = Merge(a->right, b);
    Pull(a);
    return a;
  }
  b->left = Merge(a, b->left);
  Pull(b);
  return b;
}

void WatcherGroup::Insert(RangeNode** t, RangeNode* n) {
  if (*t == nullptr) {
    *t = n;
    return;
  }
  if (n->priority > (*t)->priority) {
    Split(*t, n, &n->left, &n->right);
    Pull(n);
    *t = n;
    return;
  }
  Insert(Compare(n, *t) < 0 ? &(*t)->left : &(*t)->right, n);
  Pull(*t);
}

// Unlinks `n` (which must be in the tree); every ancestor is re-pulled, so no
// max_node points at it afterwards.
void WatcherGroup::Erase(RangeNode** t, const RangeNode* n) {
  if (*t == n) {
    *t = Merge(n->left, n->right);
    return;
  }
  Erase(Compare(n, *t) < 0 ? &(*t)->left : &(*t)->right, n);
  Pull(*t);
}

}  // namespace etcdd::watch::internal
