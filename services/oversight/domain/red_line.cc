#include "services/oversight/domain/red_line.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/clock/proto_time.h"
#include "services/common/domain/evidence.h"
#include "services/common/domain/ids.h"
#include "services/common/status/errors.h"
#include "services/common/status/status_macros.h"

namespace wangge::oversight {
namespace {

using common::v1::Actor;
using status::InvalidField;
using status::PermissionDenied;

bool Active(const v1::OverseerAssigned& a, absl::Time t) {
  return FromProto(a.start_time()) <= t &&
         (!a.has_end_time() || t < FromProto(a.end_time()));
}

std::string NoticeStream(const std::string& id) {
  return absl::StrCat("notice/", id);
}

absl::Status Holder(const v1::NoticeRecord& n, const Actor& actor) {
  if (actor.role() != common::v1::ROLE_PARTY_MEMBER ||
      actor.subject() != n.overseer_id()) {
    return PermissionDenied("notice_holder_only",
                            absl::StrCat("notice ", n.raised().notice_id(),
                                         " is with '", n.overseer_id(), "'"));
  }
  return absl::OkStatus();
}

absl::Status Open(const v1::NoticeRecord& n, const char* action) {
  if (n.status() == v1::NOTICE_STATUS_RESOLVED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot ", action, " notice ", n.raised().notice_id(), ": resolved"));
  }
  return absl::OkStatus();
}

// The street (top-level) area enclosing `code`, or "".
std::string TopOf(const registry::RegistryState& registry,
                  const std::string& code, const OversightRules& rules) {
  std::string c = code;
  for (int guard = 0; !c.empty() && guard < 16; ++guard) {
    const registry::Area* a = registry.Find(c);
    if (a == nullptr) return "";
    if (a->level == rules.top_level) return c;
    c = a->parent_code;
  }
  return "";
}

}  // namespace

absl::Status Evolve(RedLine& line, const google::protobuf::Message& event) {
  const auto* d = event.GetDescriptor();
  if (d == v1::PartyOrganizationRegistered::descriptor()) {
    const auto& o = static_cast<const v1::PartyOrganizationRegistered&>(event);
    line.organizations[o.organization_id()] = o;
  } else if (d == v1::OverseerAssigned::descriptor()) {
    const auto& a = static_cast<const v1::OverseerAssigned&>(event);
    auto& m = line.members[a.member_id()];
    *m.add_assignments() = a;
    m.set_version(m.version() + 1);
    line.members_by_area[a.area_code()].insert(a.member_id());
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("the red line has no event ", d->full_name()));
  }
  return absl::OkStatus();
}

void RestoreMember(RedLine& line, const std::string& member_id,
                   v1::MemberRecord record) {
  for (const auto& a : record.assignments()) {
    line.members_by_area[a.area_code()].insert(member_id);
  }
  line.members[member_id] = std::move(record);
}

absl::StatusOr<Emitted> DecideRegisterOrganization(
    const RedLine& line, const registry::RegistryState& registry,
    const v1::RegisterPartyOrganizationRequest& r) {
  if (const std::string bad = domain::ClientIdProblem(r.organization_id());
      !bad.empty()) {
    return InvalidField("organization_id", bad);
  }
  if (r.name().empty()) return InvalidField("name", "required");
  if (r.kind() == v1::ORGANIZATION_KIND_UNSPECIFIED) {
    return InvalidField("kind", "required");
  }
  if (registry.Find(r.area_code()) == nullptr) {
    return InvalidField("area_code", "not an area of the registry");
  }
  if (line.organizations.contains(r.organization_id())) {
    return absl::AlreadyExistsError(
        absl::StrCat("organisation ", r.organization_id(), " exists"));
  }
  v1::PartyOrganizationRegistered e;
  e.set_organization_id(r.organization_id());
  e.set_name(r.name());
  e.set_kind(r.kind());
  e.set_area_code(r.area_code());
  *e.mutable_effective_time() = r.effective_time();
  std::string stream = absl::StrCat("org/", r.organization_id());
  return domain::Emit(std::move(stream), std::move(e));
}

absl::Status ParseRedLine(const std::string& text, OversightRules* rules) {
  std::map<std::string, std::set<int>> table;
  for (absl::string_view entry :
       absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    std::vector<std::string> kv = absl::StrSplit(entry, '=');
    if (kv.size() != 2 || kv[0].empty() || kv[1].empty()) {
      return InvalidField("red_line",
                          absl::StrCat("'", entry, "': level=kind|kind"));
    }
    for (absl::string_view kind : absl::StrSplit(kv[1], '|')) {
      v1::OrganizationKind k;
      if (!v1::OrganizationKind_Parse(
              absl::StrCat("ORGANIZATION_KIND_", absl::AsciiStrToUpper(kind)),
              &k) ||
          k == v1::ORGANIZATION_KIND_UNSPECIFIED) {
        return InvalidField(
            absl::StrCat("red_line.", kv[0]),
            absl::StrCat("'", kind,
                         "' is not working_committee, committee, "
                         "branch or small_group"));
      }
      table[kv[0]].insert(k);
    }
  }
  if (table.empty()) return InvalidField("red_line", "no level");
  rules->line = std::move(table);
  return absl::OkStatus();
}

absl::StatusOr<Emitted> DecideAssignOverseer(
    const RedLine& line, const registry::RegistryState& registry,
    const OversightRules& rules, const v1::AssignOverseerRequest& r) {
  if (const std::string bad = domain::ClientIdProblem(r.member_id());
      !bad.empty()) {
    return InvalidField("member_id", bad);
  }
  if (!line.organizations.contains(r.organization_id())) {
    return InvalidField("organization_id", "no such party organisation");
  }
  const registry::Area* area = registry.Find(r.area_code());
  if (area == nullptr) {
    return InvalidField("area_code", "not an area of the registry");
  }
  const auto& org = line.organizations.at(r.organization_id());
  auto level = rules.line.find(area->level);
  if (level == rules.line.end()) {
    return InvalidField("area_code", absl::StrCat("level ", area->level,
                                                  " is not on the red line"));
  }
  if (!level->second.count(org.kind())) {
    std::string kinds;
    for (int k : level->second) {
      absl::StrAppend(
          &kinds, kinds.empty() ? "" : " or ",
          absl::AsciiStrToLower(
              v1::OrganizationKind_Name(static_cast<v1::OrganizationKind>(k))
                  .substr(18)));
    }
    return InvalidField(
        "organization_id",
        absl::StrCat("a ", area->level, " is overseen by members of a ", kinds,
                     "; ", r.organization_id(), " is a ",
                     absl::AsciiStrToLower(
                         v1::OrganizationKind_Name(
                             static_cast<v1::OrganizationKind>(org.kind()))
                             .substr(18))));
  }
  if (!absl::StartsWith(r.area_code(), org.area_code())) {
    return InvalidField("area_code", "outside the organisation's area (" +
                                         org.area_code() + ")");
  }
  if (!r.has_start_time()) return InvalidField("start_time", "required");
  if (r.has_end_time() &&
      FromProto(r.end_time()) <= FromProto(r.start_time())) {
    return InvalidField("end_time", "must be after start_time");
  }
  v1::OverseerAssigned e;
  e.set_member_id(r.member_id());
  e.set_organization_id(r.organization_id());
  e.set_area_code(r.area_code());
  *e.mutable_start_time() = r.start_time();
  if (r.has_end_time()) *e.mutable_end_time() = r.end_time();
  std::string stream = absl::StrCat("member/", r.member_id());
  return domain::Emit(std::move(stream), std::move(e));
}

std::optional<Overseer> OverseerOf(const RedLine& line,
                                   const std::string& area_code, absl::Time t) {
  std::optional<Overseer> best;
  auto posted = line.members_by_area.find(area_code);
  if (posted == line.members_by_area.end()) return best;
  for (const std::string& id : posted->second) {
    auto member = line.members.find(id);
    if (member == line.members.end()) continue;
    // The member's assignment in force at t (the latest that started).
    const v1::OverseerAssigned* current = nullptr;
    for (const auto& a : member->second.assignments())
      if (Active(a, t)) current = &a;
    if (current == nullptr || current->area_code() != area_code) continue;
    if (!best || id < best->member_id) {
      best = Overseer{id, current->organization_id()};
    }
  }
  return best;
}

LinePosition FindOnLine(const RedLine& line,
                        const registry::RegistryState& registry,
                        const std::string& area_code, bool start_above,
                        const OversightRules& rules, absl::Time t) {
  LinePosition pos;
  std::string code = area_code;
  if (start_above) {
    const registry::Area* a = registry.Find(code);
    code = a == nullptr ? "" : a->parent_code;
  }
  std::string last = area_code;
  for (int guard = 0; !code.empty() && guard < 16; ++guard) {
    const registry::Area* a = registry.Find(code);
    if (a == nullptr) break;
    last = code;
    if (auto o = OverseerOf(line, code, t)) {
      pos.area_code = code;
      pos.overseer = *o;
      return pos;
    }
    pos.skipped.push_back(code);
    if (a->level == rules.top_level) break;
    code = a->parent_code;
  }
  // Nobody up to the top: the notice stays at the top, flagged.
  pos.area_code = last;
  pos.past_top = true;
  return pos;
}

v1::Coverage CoverageOf(const RedLine& line,
                        const registry::RegistryState& registry,
                        const OversightRules& rules, const std::string& scope,
                        absl::Time t) {
  v1::Coverage out;
  std::vector<std::string> uncovered;
  for (const auto& [code, area] : registry.areas) {
    // Only the levels on the line have overseers.
    if (!absl::StartsWith(code, scope) || !area.ActiveAt(t) ||
        !rules.line.count(area.level)) {
      continue;
    }
    if (!OverseerOf(line, code, t)) uncovered.push_back(code);
  }
  std::sort(uncovered.begin(), uncovered.end());
  for (auto& c : uncovered) out.add_uncovered_area_codes(c);
  std::vector<std::string> stale;
  for (const auto& [id, m] : line.members) {
    for (const auto& a : m.assignments()) {
      if (!Active(a, t) || !absl::StartsWith(a.area_code(), scope)) continue;
      const registry::Area* area = registry.Find(a.area_code());
      const registry::AreaVersion* v =
          area == nullptr ? nullptr : area->VersionAt(t);
      if (area == nullptr || !area->ActiveAt(t) || v == nullptr ||
          v->from > FromProto(a.start_time())) {
        stale.push_back(id);
      }
    }
  }
  std::sort(stale.begin(), stale.end());
  for (auto& s : stale) out.add_stale_overseer_ids(s);
  out.set_unbroken(uncovered.empty() && stale.empty());
  return out;
}

std::string NoticeId(const Trigger& trigger) {
  return absl::StrCat(trigger.case_id, "/", trigger.key);
}

absl::StatusOr<Emitted> DecideRaise(const RedLine& line,
                                    const registry::RegistryState& registry,
                                    const Trigger& trigger,
                                    const OversightRules& rules,
                                    absl::Time now) {
  if (trigger.case_id.empty()) return InvalidField("case_id", "required");
  if (registry.Find(trigger.case_area_code) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("area ", trigger.case_area_code, " of case ",
                     trigger.case_id, " is not in the registry"));
  }
  LinePosition pos =
      FindOnLine(line, registry, trigger.case_area_code, false, rules, now);
  v1::NoticeRaised e;
  e.set_notice_id(NoticeId(trigger));
  e.set_case_id(trigger.case_id);
  e.set_task_id(trigger.task_id);
  e.set_trigger(trigger.kind);
  e.set_case_area_code(trigger.case_area_code);
  e.set_area_code(pos.area_code);
  e.set_overseer_id(pos.overseer.member_id);
  e.set_organization_id(pos.overseer.organization_id);
  for (const auto& s : pos.skipped) e.add_skipped_area_codes(s);
  e.set_coverage_gap(!pos.skipped.empty());
  if (!pos.past_top) {
    *e.mutable_acknowledge_by() = ToProto(now + rules.acknowledge_within);
  }
  std::string stream = NoticeStream(e.notice_id());
  return domain::Emit(std::move(stream), std::move(e));
}

std::vector<Emitted> DecideEscalate(const v1::NoticeRecord& n,
                                    const RedLine& line,
                                    const registry::RegistryState& registry,
                                    const OversightRules& rules,
                                    absl::Time now) {
  std::vector<Emitted> out;
  if (n.status() != v1::NOTICE_STATUS_OPEN || n.past_top() ||
      !n.has_acknowledge_by() || now < FromProto(n.acknowledge_by())) {
    return out;
  }
  v1::NoticeEscalated e;
  e.set_notice_id(n.raised().notice_id());
  e.set_case_id(n.raised().case_id());
  e.set_from_area_code(n.area_code());
  e.set_from_overseer_id(n.overseer_id());
  e.set_escalation_level(n.escalation_level() + 1);
  const registry::Area* here = registry.Find(n.area_code());
  if (here == nullptr || here->level == rules.top_level) {
    // Nobody above the top: flagged, and it stays where it is.
    e.set_area_code(n.area_code());
    e.set_overseer_id(n.overseer_id());
    e.set_organization_id(n.organization_id());
    e.set_past_top(true);
  } else {
    LinePosition pos =
        FindOnLine(line, registry, n.area_code(), true, rules, now);
    if (pos.overseer.member_id.empty() && !n.overseer_id().empty()) {
      // Nobody above: the holder keeps it, flagged past the top.
      pos.area_code = n.area_code();
      pos.overseer = Overseer{n.overseer_id(), n.organization_id()};
    }
    e.set_area_code(pos.area_code);
    e.set_overseer_id(pos.overseer.member_id);
    e.set_organization_id(pos.overseer.organization_id);
    for (const auto& s : pos.skipped) e.add_skipped_area_codes(s);
    e.set_coverage_gap(!pos.skipped.empty());
    e.set_past_top(pos.past_top);
    if (!pos.past_top) {
      *e.mutable_acknowledge_by() = ToProto(now + rules.acknowledge_within);
    }
  }
  out.push_back(domain::Emit(NoticeStream(e.notice_id()), e));
  return out;
}

absl::StatusOr<std::vector<Emitted>> DecideAcknowledge(
    const v1::NoticeRecord& n, const Actor& actor, absl::Time now) {
  RETURN_IF_ERROR(Holder(n, actor));
  RETURN_IF_ERROR(Open(n, "acknowledge"));
  if (n.status() == v1::NOTICE_STATUS_ACKNOWLEDGED) {
    return absl::FailedPreconditionError("already acknowledged");
  }
  v1::NoticeAcknowledged e;
  e.set_notice_id(n.raised().notice_id());
  e.set_case_id(n.raised().case_id());
  // Past the top of the line there is no deadline left: it was missed.
  e.set_in_time(n.has_acknowledge_by() ? now <= FromProto(n.acknowledge_by())
                                       : !n.past_top());
  return std::vector<Emitted>{domain::Emit(NoticeStream(e.notice_id()), e)};
}

absl::StatusOr<std::vector<Emitted>> DecideRecordAction(
    const v1::NoticeRecord& n, const Actor& actor,
    const v1::NoticeActionRequest& r, absl::Time now) {
  RETURN_IF_ERROR(Holder(n, actor));
  RETURN_IF_ERROR(Open(n, "act on"));
  const std::string& kind = r.action_kind();
  if (kind != "visit" && kind != "coordination" && kind != "mediation") {
    return InvalidField("action_kind", "visit, coordination or mediation");
  }
  if (r.note().empty()) return InvalidField("note", "what was done");
  RETURN_IF_ERROR(domain::ValidText("note", r.note()));
  RETURN_IF_ERROR(domain::ValidEvidence(r.evidence_sha256()));
  v1::OversightActionRecorded e;
  e.set_notice_id(n.raised().notice_id());
  e.set_case_id(n.raised().case_id());
  e.set_kind(kind);
  e.set_note(r.note());
  *e.mutable_evidence_sha256() = r.evidence_sha256();
  *e.mutable_action_time() =
      r.has_action_time() ? r.action_time() : ToProto(now);
  if (FromProto(e.action_time()) > now) {
    return InvalidField("action_time", "in the future");
  }
  return std::vector<Emitted>{domain::Emit(NoticeStream(e.notice_id()), e)};
}

absl::StatusOr<std::vector<Emitted>> DecideResolve(const v1::NoticeRecord& n,
                                                   const Actor& actor,
                                                   const std::string& note) {
  RETURN_IF_ERROR(Holder(n, actor));
  RETURN_IF_ERROR(Open(n, "resolve"));
  if (note.empty()) return InvalidField("note", "how it was resolved");
  RETURN_IF_ERROR(domain::ValidText("note", note));
  v1::NoticeResolved e;
  e.set_notice_id(n.raised().notice_id());
  e.set_case_id(n.raised().case_id());
  e.set_note(note);
  return std::vector<Emitted>{domain::Emit(NoticeStream(e.notice_id()), e)};
}

std::vector<Emitted> DecideCaseClosed(const v1::NoticeRecord& n) {
  std::vector<Emitted> out;
  if (n.status() == v1::NOTICE_STATUS_RESOLVED) return out;
  v1::NoticeResolved e;
  e.set_notice_id(n.raised().notice_id());
  e.set_case_id(n.raised().case_id());
  e.set_case_closed(true);
  e.set_note("the case closed");
  out.push_back(domain::Emit(NoticeStream(e.notice_id()), e));
  return out;
}

std::vector<Emitted> DecideTaskHandled(const v1::NoticeRecord& n,
                                       const std::string& task_id) {
  std::vector<Emitted> out;
  const std::string& trigger = n.raised().trigger();
  if (n.status() == v1::NOTICE_STATUS_RESOLVED || task_id.empty() ||
      n.raised().task_id() != task_id ||
      (trigger != "overdue" && trigger != "emergency_yellow")) {
    return out;
  }
  v1::NoticeResolved e;
  e.set_notice_id(n.raised().notice_id());
  e.set_case_id(n.raised().case_id());
  e.set_note("the department reported the task handled");
  out.push_back(domain::Emit(NoticeStream(e.notice_id()), e));
  return out;
}

absl::Status Evolve(v1::NoticeRecord& n, const google::protobuf::Message& event,
                    absl::Time occurred) {
  const auto* d = event.GetDescriptor();
  if (d == v1::NoticeRaised::descriptor()) {
    const auto& e = static_cast<const v1::NoticeRaised&>(event);
    n.Clear();
    *n.mutable_raised() = e;
    n.set_status(v1::NOTICE_STATUS_OPEN);
    n.set_area_code(e.area_code());
    n.set_overseer_id(e.overseer_id());
    n.set_organization_id(e.organization_id());
    n.set_coverage_gap(e.coverage_gap());
    n.set_past_top(!e.has_acknowledge_by());
    *n.mutable_raised_time() = ToProto(occurred);
    if (e.has_acknowledge_by())
      *n.mutable_acknowledge_by() = e.acknowledge_by();
  } else if (d == v1::NoticeEscalated::descriptor()) {
    const auto& e = static_cast<const v1::NoticeEscalated&>(event);
    n.set_area_code(e.area_code());
    n.set_overseer_id(e.overseer_id());
    n.set_organization_id(e.organization_id());
    n.set_escalation_level(e.escalation_level());
    n.set_coverage_gap(n.coverage_gap() || e.coverage_gap());
    n.set_past_top(e.past_top());
    if (e.has_acknowledge_by()) {
      *n.mutable_acknowledge_by() = e.acknowledge_by();
    } else {
      n.clear_acknowledge_by();
    }
  } else if (d == v1::NoticeAcknowledged::descriptor()) {
    n.set_status(v1::NOTICE_STATUS_ACKNOWLEDGED);
  } else if (d == v1::OversightActionRecorded::descriptor()) {
    n.set_actions(n.actions() + 1);
  } else if (d == v1::NoticeResolved::descriptor()) {
    n.set_status(v1::NOTICE_STATUS_RESOLVED);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("a notice has no event ", d->full_name()));
  }
  n.set_version(n.version() + 1);
  *n.mutable_updated_time() = ToProto(occurred);
  return absl::OkStatus();
}

absl::Time EscalationDue(const v1::NoticeRecord& n) {
  if (n.status() != v1::NOTICE_STATUS_OPEN || n.past_top() ||
      !n.has_acknowledge_by()) {
    return absl::InfiniteFuture();
  }
  return FromProto(n.acknowledge_by());
}

v1::Notice NoticeView(const v1::NoticeRecord& n) {
  v1::Notice v;
  v.set_notice_id(n.raised().notice_id());
  v.set_case_id(n.raised().case_id());
  v.set_trigger(n.raised().trigger());
  v.set_area_code(n.area_code());
  v.set_overseer_id(n.overseer_id());
  v.set_status(static_cast<v1::NoticeStatus>(n.status()));
  v.set_escalation_level(n.escalation_level());
  v.set_coverage_gap(n.coverage_gap());
  *v.mutable_raised_time() = n.raised_time();
  if (n.has_acknowledge_by()) *v.mutable_acknowledge_by() = n.acknowledge_by();
  return v;
}

absl::StatusOr<Emitted> DecideRecordWish(const std::string& wish_id,
                                         const v1::RecordSmallWishRequest& r) {
  if (r.area_code().empty()) return InvalidField("area_code", "required");
  if (r.description().empty()) {
    return InvalidField("description", "what is wished for");
  }
  RETURN_IF_ERROR(domain::ValidText("description", r.description()));
  v1::SmallWishRecorded e;
  e.set_wish_id(wish_id);
  e.set_area_code(r.area_code());
  e.set_description(r.description());
  return domain::Emit(absl::StrCat("wish/", wish_id), e);
}

absl::StatusOr<std::vector<Emitted>> DecideClaimWish(
    const v1::SmallWishRecord& wish, const RedLine& line, const Actor& actor,
    absl::Time now) {
  if (wish.fulfilled() || !wish.claimed_by().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("wish ", wish.recorded().wish_id(), " is taken"));
  }
  auto m = line.members.find(actor.subject());
  bool in_post = false;
  const v1::OverseerAssigned* current = nullptr;
  const std::string& area = wish.recorded().area_code();
  if (m != line.members.end()) {
    for (const auto& a : m->second.assignments()) {
      if (!Active(a, now)) continue;
      in_post = true;
      // The wish is on the member's line: in an area the member oversees,
      // or above it (a community's wish, for a member of one of its grids).
      if (absl::StartsWith(area, a.area_code()) ||
          absl::StartsWith(a.area_code(), area)) {
        current = &a;
      }
    }
  }
  if (!in_post) {
    return PermissionDenied("party_member_on_the_line",
                            "only a party member in post claims a wish");
  }
  if (current == nullptr) {
    return PermissionDenied(
        "wish_on_members_line",
        absl::StrCat("wish ", wish.recorded().wish_id(), " in ", area,
                     " is not on the line of an area ", actor.subject(),
                     " oversees"));
  }
  v1::SmallWishClaimed e;
  e.set_wish_id(wish.recorded().wish_id());
  e.set_member_id(actor.subject());
  e.set_organization_id(current->organization_id());
  return std::vector<Emitted>{
      domain::Emit(absl::StrCat("wish/", e.wish_id()), e)};
}

absl::StatusOr<std::vector<Emitted>> DecideFulfilWish(
    const v1::SmallWishRecord& wish, const Actor& actor,
    const std::string& note) {
  if (wish.claimed_by() != actor.subject()) {
    return PermissionDenied("claimer_only",
                            "only the member who claimed it fulfils it");
  }
  RETURN_IF_ERROR(domain::ValidText("note", note));
  if (wish.fulfilled()) {
    return absl::FailedPreconditionError("already fulfilled");
  }
  v1::SmallWishFulfilled e;
  e.set_wish_id(wish.recorded().wish_id());
  e.set_member_id(actor.subject());
  e.set_organization_id(wish.organization_id());
  e.set_note(note);
  return std::vector<Emitted>{
      domain::Emit(absl::StrCat("wish/", e.wish_id()), e)};
}

absl::Status Evolve(v1::SmallWishRecord& wish,
                    const google::protobuf::Message& event) {
  const auto* d = event.GetDescriptor();
  if (d == v1::SmallWishRecorded::descriptor()) {
    wish.Clear();
    *wish.mutable_recorded() = static_cast<const v1::SmallWishRecorded&>(event);
  } else if (d == v1::SmallWishClaimed::descriptor()) {
    const auto& e = static_cast<const v1::SmallWishClaimed&>(event);
    wish.set_claimed_by(e.member_id());
    wish.set_organization_id(e.organization_id());
  } else if (d == v1::SmallWishFulfilled::descriptor()) {
    wish.set_fulfilled(true);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("a wish has no event ", d->full_name()));
  }
  wish.set_version(wish.version() + 1);
  return absl::OkStatus();
}

std::vector<ParticipationFact> ParticipationOf(
    const v1::NoticeRecord& before, const google::protobuf::Message& event,
    const registry::RegistryState& registry, const OversightRules& rules) {
  std::vector<ParticipationFact> out;
  auto both = [&](const char* kind, const std::string& member,
                  const std::string& org) {
    if (!member.empty()) out.push_back({kind, member});
    if (!org.empty()) out.push_back({kind, org});
  };
  const auto* d = event.GetDescriptor();
  if (d == v1::NoticeRaised::descriptor()) {
    const auto& e = static_cast<const v1::NoticeRaised&>(event);
    both("received", e.overseer_id(), e.organization_id());
    const std::string street = TopOf(registry, e.case_area_code(), rules);
    if (!street.empty()) out.push_back({"case_needing_oversight", street});
  } else if (d == v1::NoticeEscalated::descriptor()) {
    const auto& e = static_cast<const v1::NoticeEscalated&>(event);
    if (e.overseer_id() != e.from_overseer_id()) {
      both("escalated_past", e.from_overseer_id(), before.organization_id());
      both("received", e.overseer_id(), e.organization_id());
    }
  } else if (d == v1::NoticeAcknowledged::descriptor()) {
    if (static_cast<const v1::NoticeAcknowledged&>(event).in_time()) {
      both("acknowledged_in_time", before.overseer_id(),
           before.organization_id());
    }
  } else if (d == v1::OversightActionRecorded::descriptor()) {
    both("action", before.overseer_id(), before.organization_id());
  } else if (d == v1::SmallWishFulfilled::descriptor()) {
    const auto& e = static_cast<const v1::SmallWishFulfilled&>(event);
    both("wish_fulfilled", e.member_id(), e.organization_id());
  }
  return out;
}

}  // namespace wangge::oversight
