#include "server/membership.h"

#include <algorithm>
#include <set>
#include <string>

namespace etcdd::server {

Status ErrMemberNotFound() { return Status::NotFound("etcdserver: member not found"); }
Status ErrMemberExists() {
  return Status::FailedPrecondition("etcdserver: member ID already exist");
}
Status ErrPeerUrlExists() {
  return Status::FailedPrecondition("etcdserver: Peer URLs already exists");
}
Status ErrTooManyLearners() {
  return Status::FailedPrecondition("etcdserver: too many learner members in cluster");
}
Status ErrMemberNotLearner() {
  return Status::FailedPrecondition("etcdserver: can only promote a learner member");
}
Status ErrLearnerNotReady() {
  return Status::FailedPrecondition(
      "etcdserver: can only promote a learner member which is in sync with leader");
}
Status ErrNotEnoughStarted() {
  return Status::FailedPrecondition(
      "etcdserver: re-configuration failed due to not enough started members");
}

const serverpb::Member* FindMember(const serverpb::Members& members, uint64_t id) {
  for (const auto& m : members.members()) {
    if (m.id() == id) return &m;
  }
  return nullptr;
}

namespace {
// True if a member other than `except` uses one of `m`'s peer URLs.
bool PeerUrlsTaken(const serverpb::Members& members, const serverpb::Member& m, uint64_t except) {
  std::set<std::string> used;
  for (const auto& other : members.members()) {
    if (other.id() != except) used.insert(other.peer_urls().begin(), other.peer_urls().end());
  }
  return std::any_of(m.peer_urls().begin(), m.peer_urls().end(),
                     [&](const std::string& u) { return used.count(u) > 0; });
}
}  // namespace

Status ValidateConfChange(const serverpb::Members& members, const raftpb::ConfChange& cc,
                          const serverpb::ConfChangeContext& ctx, int max_learners) {
  const uint64_t id = cc.node_id();
  const auto& removed = members.removed();
  if (std::find(removed.begin(), removed.end(), id) != removed.end()) return ErrMemberNotFound();
  const serverpb::Member* existing = FindMember(members, id);
  switch (cc.type()) {
    case raftpb::CONF_CHANGE_ADD_NODE:
    case raftpb::CONF_CHANGE_ADD_LEARNER_NODE: {
      if (ctx.is_promote()) {
        if (existing == nullptr) return ErrMemberNotFound();
        if (!existing->is_learner()) return ErrMemberNotLearner();
        return Status::Ok();
      }
      if (existing != nullptr) return ErrMemberExists();
      if (PeerUrlsTaken(members, ctx.member(), 0)) return ErrPeerUrlExists();
      if (ctx.member().is_learner()) {
        int learners = static_cast<int>(
            std::count_if(members.members().begin(), members.members().end(),
                          [](const serverpb::Member& m) { return m.is_learner(); }));
        if (learners + 1 > max_learners) return ErrTooManyLearners();
      }
      return Status::Ok();
    }
    case raftpb::CONF_CHANGE_REMOVE_NODE:
      return existing == nullptr ? ErrMemberNotFound() : Status::Ok();
    case raftpb::CONF_CHANGE_UPDATE_NODE:
      if (existing == nullptr) return ErrMemberNotFound();
      return PeerUrlsTaken(members, ctx.member(), id) ? ErrPeerUrlExists() : Status::Ok();
    default:
      return Status::InvalidArgument("unknown conf change type " +
                                     std::to_string(static_cast<int>(cc.type())));
  }
}

void ApplyToMembers(serverpb::Members& members, const raftpb::ConfChange& cc,
                    const serverpb::ConfChangeContext& ctx) {
  auto* list = members.mutable_members();
  auto it = std::find_if(list->begin(), list->end(),
                         [&](const serverpb::Member& m) { return m.id() == cc.node_id(); });
  switch (cc.type()) {
    case raftpb::CONF_CHANGE_ADD_NODE:
    case raftpb::CONF_CHANGE_ADD_LEARNER_NODE:
      if (it != list->end()) {
        it->set_is_learner(false);  // a promotion
      } else {
        serverpb::Member* m = members.add_members();
        *m = ctx.member();
        m->set_id(cc.node_id());
        m->set_is_learner(cc.type() == raftpb::CONF_CHANGE_ADD_LEARNER_NODE);
      }
      break;
    case raftpb::CONF_CHANGE_REMOVE_NODE:
      if (it != list->end()) list->erase(it);
      members.add_removed(cc.node_id());
      break;
    case raftpb::CONF_CHANGE_UPDATE_NODE:
      if (it != list->end()) *it->mutable_peer_urls() = ctx.member().peer_urls();
      break;
    default:
      break;
  }
}

VoterCounts CountVoters(const serverpb::Members& members) {
  VoterCounts c;
  for (const auto& m : members.members()) {
    if (m.is_learner()) continue;
    ++c.voters;
    if (m.client_urls_size() > 0) ++c.started;
  }
  return c;
}

}  // namespace etcdd::server
