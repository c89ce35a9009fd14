#include "services/supervision/app/supervision_app.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/clock/proto_time.h"
#include "services/common/domain/ids.h"
#include "services/common/eventstore/list_page.h"
#include "services/common/status/errors.h"
#include "services/common/status/status_macros.h"
#include "wangge/dispatch/v1/events.pb.h"
#include "wangge/intake/v1/events.pb.h"
#include "wangge/oversight/v1/events.pb.h"

namespace wangge::supervision {
namespace {

common::v1::Actor ServiceActor() {
  common::v1::Actor a;
  a.set_subject("supervision");
  a.set_role(common::v1::ROLE_SERVICE_SUPERVISION);
  return a;
}

std::string CaseIdOfAny(const google::protobuf::Message& event) {
  std::string id = CaseIdOf(event);
  if (!id.empty()) return id;
  const auto* field = event.GetDescriptor()->FindFieldByName("task_id");
  if (field == nullptr) return "";
  return domain::CaseOfTask(event.GetReflection()->GetString(event, field));
}

std::string TimelineKey(const std::string& case_id, absl::Time occurred,
                        const common::v1::EventEnvelope& env) {
  return absl::StrFormat("%s/%020d/%s/%04d/%020d", case_id,
                         absl::ToUnixMicros(occurred), env.source_service(),
                         env.partition(), env.sequence());
}

v1::TimelineEntry Entry(const common::v1::EventEnvelope& env,
                        const google::protobuf::Message& event) {
  v1::TimelineEntry e;
  *e.mutable_occurred_time() = env.occurred_time();
  e.set_event_type(env.event_type());
  *e.mutable_actor() = env.actor();
  auto* p = e.mutable_position();
  p->set_service(env.source_service());
  p->set_partition(env.partition());
  p->set_sequence(env.sequence());
  std::string summary = event.ShortDebugString();
  if (summary.size() > 240) summary = summary.substr(0, 237) + "...";
  e.set_summary(summary);
  return e;
}

// Another service's event about a case, for the case's timeline.
eventstore::ProjectionWrite TimelineRow(
    const std::string& case_id, const common::v1::EventEnvelope& env,
    const google::protobuf::Message& event) {
  return {kTimelineProjection,
          TimelineKey(case_id, FromProto(env.occurred_time()), env),
          Entry(env, event).SerializeAsString()};
}

// Evaluation facts as "facts" rows: TimeKey(fact time, stable id, else
// `prefix`/i).
void AddFacts(const std::vector<CountedFact>& facts, const std::string& prefix,
              eventstore::AppendRequest* r) {
  for (size_t i = 0; i < facts.size(); ++i) {
    const std::string id = facts[i].stable_id.empty()
                               ? absl::StrCat(prefix, "/", i)
                               : facts[i].stable_id;
    r->projection_writes.push_back(
        {kFactsProjection, FactKey(FromProto(facts[i].fact.time()), id),
         facts[i].fact.SerializeAsString()});
  }
}

}  // namespace

SupervisionApp::SupervisionApp(eventstore::EventStore* store,
                               registry::RegistryReplica* registry,
                               SupervisionPolicy policy,
                               EvaluationWeights weights, const Clock* clock)
    : store_(store),
      registry_(registry),
      policy_(policy),
      weights_(std::move(weights)),
      clock_(clock) {}

absl::StatusOr<v1::CaseRecord> SupervisionApp::Load(
    const std::string& case_id) const {
  v1::CaseRecord record;
  ASSIGN_OR_RETURN(auto row, store_->GetProjection(kCasesProjection, case_id));
  if (row && !record.ParseFromString(*row)) {
    return absl::DataLossError(absl::StrCat("case row ", case_id));
  }
  return record;
}

absl::StatusOr<eventstore::AppendRequest> SupervisionApp::Effects(
    const std::vector<Emitted>& emitted,
    std::map<std::string, v1::CaseRecord> cases, const common::v1::Actor& actor,
    const std::string& cause, absl::Time now,
    std::vector<v1::Case>* changed) const {
  eventstore::AppendRequest r;
  for (const auto& group : domain::GroupByStream(emitted)) {
    const std::string& stream = group.stream_id;
    const std::string case_id = stream.substr(5);  // "case/"
    const v1::CaseRecord before = cases[case_id];
    v1::CaseRecord after = before;
    for (const auto& e : group.events) {
      std::vector<CountedFact> facts = FactsOf(after, *e.event, actor, now);
      ASSIGN_OR_RETURN(bool applied, Evolve(after, *e.event, now));
      if (!applied) {
        return absl::InternalError(absl::StrCat(
            "a case has no event ", e.event->GetDescriptor()->full_name()));
      }
      AddFacts(facts, absl::StrCat(stream, "/", after.version()), &r);
    }
    r.streams.push_back(domain::ToStream(
        group, static_cast<int64_t>(before.version()), case_id, cause, now));
    r.projection_writes.push_back(
        {kCasesProjection, case_id, after.SerializeAsString()});
    if (changed != nullptr) changed->push_back(CaseView(after));
  }
  return r;
}

absl::StatusOr<eventstore::AppendRequest> SupervisionApp::IntakeEffects(
    const common::v1::EventEnvelope& env) {
  ASSIGN_OR_RETURN(auto event, domain::Unpack(env));
  const std::string case_id = CaseIdOf(*event);
  if (case_id.empty()) return eventstore::AppendRequest{};
  ASSIGN_OR_RETURN(v1::CaseRecord c, Load(case_id));
  const absl::Time now = clock_->Now();
  std::vector<Emitted> emitted;
  if (event->GetDescriptor() == intake::v1::ReportReceived::descriptor()) {
    if (c.version() == 0) {
      ASSIGN_OR_RETURN(
          Emitted opened,
          registry_->Read([&](const registry::RegistryState& state)
                              -> absl::StatusOr<Emitted> {
            if (state.policies.empty() || state.staff.empty()) {
              // Staff decide who verifies: wait for the registry copy.
              return absl::UnavailableError("the registry copy is loading");
            }
            return DecideOpen(
                state, policy_,
                static_cast<const intake::v1::ReportReceived&>(*event), now);
          }));
      emitted.push_back(std::move(opened));
    }
  } else if (c.version() > 0) {
    ASSIGN_OR_RETURN(emitted, DecideNote(c, *event, env.actor()));
  }
  ASSIGN_OR_RETURN(auto r, Effects(emitted, {{case_id, c}}, ServiceActor(),
                                   env.event_id(), now, nullptr));
  r.actor = ServiceActor();
  r.projection_writes.push_back(TimelineRow(case_id, env, *event));
  return r;
}

absl::StatusOr<eventstore::AppendRequest> SupervisionApp::DispatchEffects(
    const common::v1::EventEnvelope& env) {
  ASSIGN_OR_RETURN(auto event, domain::Unpack(env));
  const std::string case_id = CaseIdOfAny(*event);
  if (case_id.empty()) return eventstore::AppendRequest{};
  ASSIGN_OR_RETURN(v1::CaseRecord c, Load(case_id));
  const absl::Time now = clock_->Now();
  eventstore::AppendRequest r;
  if (c.version() > 0) {
    std::vector<Emitted> emitted;
    if (event->GetDescriptor() == dispatch::v1::TaskHandled::descriptor()) {
      ASSIGN_OR_RETURN(
          emitted, registry_->Read([&](const registry::RegistryState& state) {
            return DecideHandlingReported(
                c, static_cast<const dispatch::v1::TaskHandled&>(*event), state,
                policy_, now);
          }));
    } else {
      ASSIGN_OR_RETURN(emitted, DecideNote(c, *event, env.actor()));
    }
    ASSIGN_OR_RETURN(r, Effects(emitted, {{case_id, c}}, ServiceActor(),
                                env.event_id(), now, nullptr));
    // The command centre's events counted for evaluation, at their time;
    // a fact that counts once is written the first time only.
    auto facts =
        FactsOf(c, *event, env.actor(), FromProto(env.occurred_time()));
    std::vector<CountedFact> fresh;
    for (auto& f : facts) {
      if (!f.stable_id.empty()) {
        ASSIGN_OR_RETURN(
            auto seen, store_->GetProjection(kCountedProjection, f.stable_id));
        if (seen) continue;
        r.projection_writes.push_back({kCountedProjection, f.stable_id, ""});
      }
      fresh.push_back(std::move(f));
    }
    facts = std::move(fresh);
    AddFacts(facts,
             absl::StrCat("dispatch/", env.partition(), "/", env.sequence()),
             &r);
  }
  r.actor = ServiceActor();
  r.projection_writes.push_back(TimelineRow(case_id, env, *event));
  return r;
}

absl::StatusOr<eventstore::AppendRequest> SupervisionApp::OversightEffects(
    const common::v1::EventEnvelope& env) {
  // Naming one of oversight's types links its generated code into this
  // binary, so that Unpack knows all of them.
  (void)oversight::v1::NoticeRaised::descriptor();
  ASSIGN_OR_RETURN(auto event, domain::Unpack(env));
  const std::string case_id = CaseIdOf(*event);
  eventstore::AppendRequest r;
  if (case_id.empty()) return r;
  r.projection_writes.push_back(TimelineRow(case_id, env, *event));
  return r;
}

void SupervisionApp::OnApplied(const common::v1::EventEnvelope& env) {
  auto event = domain::Unpack(env);
  if (!event.ok()) return;
  const std::string case_id = CaseIdOfAny(**event);
  if (case_id.empty()) return;
  auto c = GetCase(case_id);
  if (c.ok()) Publish({*c});
}

absl::StatusOr<v1::CaseCommandResponse> SupervisionApp::FirstAnswer(
    const eventstore::AppendResult& first, const std::string& case_id) const {
  v1::CaseCommandResponse response;
  if (!response.ParseFromString(first.command_response) ||
      first.command_response.empty()) {
    // Recorded before answers were kept: the case's status now.
    response.Clear();
    response.set_case_id(case_id);
    ASSIGN_OR_RETURN(v1::CaseRecord c, Load(case_id));
    response.set_status(static_cast<v1::CaseStatus>(c.status()));
  }
  for (const auto& p : first.positions) *response.add_positions() = p;
  return response;
}

absl::StatusOr<v1::CaseCommandResponse> SupervisionApp::Commit(
    const common::v1::Actor& actor, const std::string& method,
    const std::string& request_id, const std::string& case_id,
    const std::vector<std::string>& other_cases, const Decider& decide) {
  if (case_id.empty()) return status::InvalidField("case_id", "required");
  const std::string command_id =
      request_id.empty() ? ""
                         : absl::StrCat("case/", case_id, "/", method, "/",
                                        actor.subject(), "/", request_id);
  v1::CaseCommandResponse response;
  response.set_case_id(case_id);
  if (!command_id.empty()) {
    ASSIGN_OR_RETURN(auto first, store_->CommandResult(command_id));
    if (first) return FirstAnswer(*first, case_id);
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSIGN_OR_RETURN(v1::CaseRecord c, Load(case_id));
    if (c.version() == 0) {
      return absl::NotFoundError(absl::StrCat("no case ", case_id));
    }
    std::map<std::string, v1::CaseRecord> others;
    for (const auto& id : other_cases) {
      ASSIGN_OR_RETURN(v1::CaseRecord o, Load(id));
      if (o.version() > 0) others[id] = std::move(o);
    }
    const absl::Time now = clock_->Now();
    auto decided = registry_->Read([&](const registry::RegistryState& state) {
      return decide(c, state, others);
    });
    if (!decided.ok()) return decided.status();
    std::map<std::string, v1::CaseRecord> cases = others;
    cases[case_id] = c;
    std::vector<v1::Case> changed;
    ASSIGN_OR_RETURN(auto request, Effects(*decided, cases, actor, command_id,
                                           now, &changed));
    for (const auto& v : changed)
      if (v.case_id() == case_id) response.set_status(v.status());
    request.command_id = command_id;
    if (!command_id.empty()) {
      request.command_response = response.SerializeAsString();
    }
    request.actor = actor;
    auto result = store_->Append(std::move(request));
    if (!result.ok() && result.status().code() == absl::StatusCode::kAborted) {
      continue;  // a follower or another command wrote the case meanwhile
    }
    if (!result.ok()) return result.status();
    if (result->duplicate) return FirstAnswer(*result, case_id);
    Publish(changed);
    for (const auto& p : result->positions) *response.add_positions() = p;
    return response;
  }
  return absl::AbortedError(
      absl::StrCat("case ", case_id, " kept changing; try again"));
}

namespace {
std::vector<std::string> Evidence(
    const google::protobuf::RepeatedPtrField<std::string>& list) {
  return {list.begin(), list.end()};
}
}  // namespace

absl::StatusOr<v1::CaseCommandResponse> SupervisionApp::AssignVerification(
    const common::v1::Actor& actor, const v1::AssignVerificationRequest& r) {
  const absl::Time now = clock_->Now();
  return Commit(actor, "assign", r.request_id(), r.case_id(), {},
                [&](const v1::CaseRecord& c,
                    const registry::RegistryState& state, auto&) {
                  return DecideAssignVerification(c, actor, r.supervisor_id(),
                                                  state, policy_, now);
                });
}

absl::StatusOr<v1::CaseCommandResponse> SupervisionApp::Verify(
    const common::v1::Actor& actor, const v1::VerifyCaseRequest& r) {
  const absl::Time now = clock_->Now();
  return Commit(
      actor, "verify", r.request_id(), r.case_id(), {},
      [&](const v1::CaseRecord& c, const registry::RegistryState&, auto&) {
        return DecideVerify(c, actor, r.confirmed(),
                            Evidence(r.evidence_sha256()), r.note(), now);
      });
}

absl::StatusOr<v1::CaseCommandResponse> SupervisionApp::File(
    const common::v1::Actor& actor, const v1::FileCaseRequest& r) {
  const absl::Time now = clock_->Now();
  return Commit(actor, "file", r.request_id(), r.case_id(), {},
                [&](const v1::CaseRecord& c,
                    const registry::RegistryState& state, auto&) {
                  return DecideFile(c, actor, r.urgency(), r.filing_criterion(),
                                    state, policy_, now);
                });
}

absl::StatusOr<v1::CaseCommandResponse> SupervisionApp::Reject(
    const common::v1::Actor& actor, const v1::RejectCaseRequest& r) {
  return Commit(actor, "reject", r.request_id(), r.case_id(), {},
                [&](const v1::CaseRecord& c, const registry::RegistryState&,
                    auto&) { return DecideReject(c, actor, r.reason_code()); });
}

absl::StatusOr<v1::CaseCommandResponse> SupervisionApp::Void(
    const common::v1::Actor& actor, const v1::VoidCaseRequest& r) {
  std::vector<std::string> others;
  if (!r.duplicate_of().empty() && r.duplicate_of() != r.case_id())
    others.push_back(r.duplicate_of());
  return Commit(actor, "void", r.request_id(), r.case_id(), others,
                [&](const v1::CaseRecord& c, const registry::RegistryState&,
                    std::map<std::string, v1::CaseRecord>& loaded) {
                  auto it = loaded.find(r.duplicate_of());
                  return DecideVoid(c, actor, r.reason(), r.duplicate_of(),
                                    it == loaded.end() ? nullptr : &it->second);
                });
}

absl::StatusOr<v1::CaseCommandResponse> SupervisionApp::Check(
    const common::v1::Actor& actor, const v1::CheckCaseRequest& r) {
  const absl::Time now = clock_->Now();
  return Commit(actor, "check", r.request_id(), r.case_id(), {},
                [&](const v1::CaseRecord& c,
                    const registry::RegistryState& state, auto&) {
                  return DecideCheck(c, actor, r.passed(),
                                     Evidence(r.evidence_sha256()), r.note(),
                                     state, now);
                });
}

absl::StatusOr<v1::CaseCommandResponse> SupervisionApp::Close(
    const common::v1::Actor& actor, const v1::CloseCaseRequest& r) {
  return Commit(actor, "close", r.request_id(), r.case_id(), {},
                [&](const v1::CaseRecord& c, const registry::RegistryState&,
                    auto&) { return DecideClose(c, actor, r.closing_type()); });
}

absl::StatusOr<v1::CaseCommandResponse> SupervisionApp::FollowUp(
    const common::v1::Actor& actor, const v1::RecordFollowUpRequest& r) {
  return Commit(
      actor, "follow-up", r.request_id(), r.case_id(), {},
      [&](const v1::CaseRecord& c, const registry::RegistryState&, auto&) {
        return DecideFollowUp(c, actor, r.satisfaction(), r.solved(), r.note(),
                              policy_);
      });
}

absl::StatusOr<v1::CaseRecord> SupervisionApp::GetCaseRecord(
    const std::string& case_id) const {
  ASSIGN_OR_RETURN(v1::CaseRecord c, Load(case_id));
  if (c.version() == 0) {
    return absl::NotFoundError(absl::StrCat("no case ", case_id));
  }
  return c;
}

absl::StatusOr<v1::Case> SupervisionApp::GetCase(
    const std::string& case_id) const {
  ASSIGN_OR_RETURN(v1::CaseRecord c, GetCaseRecord(case_id));
  return CaseView(c);
}

absl::StatusOr<v1::ListCasesResponse> SupervisionApp::ListCases(
    const v1::ListCasesRequest& q) const {
  const absl::Time start =
      q.has_start_time() ? FromProto(q.start_time()) : absl::InfinitePast();
  const absl::Time end =
      q.has_end_time() ? FromProto(q.end_time()) : absl::InfiniteFuture();
  if (end <= start) {
    return status::InvalidField("end_time", "must be after start_time");
  }
  eventstore::ListPageRequest request;
  request.projection = kCasesProjection;
  request.page_size = q.page_size();
  request.page_token = q.page_token();
  ASSIGN_OR_RETURN(
      auto page,
      eventstore::ReadListPage<v1::Case>(
          *store_, request,
          [&](const std::string& key, const std::string& value)
              -> absl::StatusOr<std::optional<v1::Case>> {
            v1::CaseRecord c;
            if (!c.ParseFromString(value)) {
              return absl::DataLossError(absl::StrCat("case row ", key));
            }
            const auto& o = c.opened();
            const absl::Time reported = FromProto(o.reported_time());
            if (!absl::StartsWith(o.area_code(), q.area_code()) ||
                (q.status() != v1::CASE_STATUS_UNSPECIFIED &&
                 c.status() != q.status()) ||
                (!q.category_code().empty() &&
                 !absl::StartsWith(o.category_code(), q.category_code())) ||
                (!q.department().empty() &&
                 std::find(c.departments().begin(), c.departments().end(),
                           q.department()) == c.departments().end()) ||
                reported < start || reported >= end ||
                (q.overdue_only() && !c.overdue())) {
              return std::nullopt;
            }
            return CaseView(c);
          }));
  v1::ListCasesResponse out;
  for (auto& c : page.rows) *out.add_cases() = std::move(c);
  out.set_next_page_token(page.next_page_token);
  return out;
}

absl::StatusOr<v1::CaseTimeline> SupervisionApp::GetCaseTimeline(
    const std::string& case_id) const {
  RETURN_IF_ERROR(GetCaseRecord(case_id).status());  // NOT_FOUND
  std::vector<v1::TimelineEntry> entries;
  ASSIGN_OR_RETURN(auto own, store_->ReadStream(CaseStream(case_id)));
  for (const auto& stored : own) {
    ASSIGN_OR_RETURN(auto env, store_->Decode(stored));
    ASSIGN_OR_RETURN(auto event, domain::Unpack(env));
    entries.push_back(Entry(env, *event));
  }
  absl::Status inner;
  RETURN_IF_ERROR(
      store_->ScanProjection(kTimelineProjection, case_id + "/",
                             [&](const std::string&, const std::string& value) {
                               v1::TimelineEntry e;
                               if (!e.ParseFromString(value)) {
                                 inner = absl::DataLossError("timeline row");
                                 return false;
                               }
                               entries.push_back(std::move(e));
                               return true;
                             }));
  RETURN_IF_ERROR(inner);
  // By occurrence, then by source position.
  std::stable_sort(
      entries.begin(), entries.end(),
      [](const v1::TimelineEntry& a, const v1::TimelineEntry& b) {
        const absl::Time ta = FromProto(a.occurred_time());
        const absl::Time tb = FromProto(b.occurred_time());
        if (ta != tb) return ta < tb;
        const auto& pa = a.position();
        const auto& pb = b.position();
        return std::make_tuple(pa.service(), pa.partition(), pa.sequence()) <
               std::make_tuple(pb.service(), pb.partition(), pb.sequence());
      });
  v1::CaseTimeline out;
  out.set_case_id(case_id);
  for (auto& e : entries) *out.add_entries() = std::move(e);
  return out;
}

absl::StatusOr<v1::Evaluation> SupervisionApp::GetEvaluation(
    const v1::GetEvaluationRequest& request) const {
  if (!request.has_start_time()) {
    return status::InvalidField("start_time", "required");
  }
  if (!request.has_end_time()) {
    return status::InvalidField("end_time", "required");
  }
  const absl::Time start = FromProto(request.start_time());
  const absl::Time end = FromProto(request.end_time());
  if (end <= start) {
    return status::InvalidField("end_time", "must be after start_time");
  }
  std::vector<v1::EvaluationFact> facts;
  absl::Status inner;
  RETURN_IF_ERROR(store_->ScanProjectionRange(
      kFactsProjection, FactKey(start, ""), FactKey(end, ""),
      [&](const std::string&, const std::string& value) {
        v1::EvaluationFact f;
        if (!f.ParseFromString(value)) {
          inner = absl::DataLossError("fact row");
          return false;
        }
        facts.push_back(std::move(f));
        return true;
      }));
  RETURN_IF_ERROR(inner);
  return registry_->Read([&](const registry::RegistryState& state) {
    return Evaluate(facts, state, weights_, request.area_code(), start, end);
  });
}

void SupervisionApp::Publish(const std::vector<v1::Case>& changed) {
  listeners_.Publish(changed);
}

}  // namespace wangge::supervision
