#include "services/oversight/app/oversight_app.h"

#include <algorithm>
#include <atomic>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/auth/token.h"
#include "services/common/clock/proto_time.h"
#include "services/common/clock/time_key.h"
#include "services/common/domain/ids.h"
#include "services/common/eventstore/list_page.h"
#include "services/common/status/errors.h"
#include "services/common/status/status_macros.h"
#include "wangge/dispatch/v1/events.pb.h"
#include "wangge/supervision/v1/events.pb.h"
#include "wangge/supervision/v1/supervision.pb.h"

namespace wangge::oversight {
namespace {

namespace sv = supervision::v1;
namespace dv = dispatch::v1;

common::v1::Actor ServiceActor() {
  common::v1::Actor a;
  a.set_subject("oversight");
  a.set_role(common::v1::ROLE_SERVICE_OVERSIGHT);
  return a;
}

std::string After(const std::string& stream, const char* prefix) {
  return stream.substr(std::string(prefix).size());
}

}  // namespace

OversightApp::OversightApp(eventstore::EventStore* store,
                           registry::RegistryReplica* registry,
                           OversightRules rules, const Clock* clock)
    : store_(store),
      registry_(registry),
      rules_(std::move(rules)),
      clock_(clock),
      timers_([this](size_t max) { return FireDueTimers(max); }, 256,
              absl::Milliseconds(200)) {}

OversightApp::~OversightApp() { StopTimers(); }

template <typename T>
absl::StatusOr<T> OversightApp::Row(const char* projection,
                                    const std::string& key) const {
  T row;
  ASSIGN_OR_RETURN(auto bytes, store_->GetProjection(projection, key));
  if (bytes && !row.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat(projection, " row ", key));
  }
  return row;
}

absl::Status OversightApp::Load() {
  RedLine line;
  absl::Status inner;
  RETURN_IF_ERROR(store_->ScanProjection(
      kOrgsProjection, "", [&](const std::string&, const std::string& v) {
        v1::PartyOrganizationRegistered o;
        if (!o.ParseFromString(v)) {
          inner = absl::DataLossError("org row");
          return false;
        }
        line.organizations[o.organization_id()] = o;
        return true;
      }));
  RETURN_IF_ERROR(store_->ScanProjection(
      kMembersProjection, "", [&](const std::string& k, const std::string& v) {
        v1::MemberRecord m;
        if (!m.ParseFromString(v)) {
          inner = absl::DataLossError("member row");
          return false;
        }
        RestoreMember(line, k, std::move(m));
        return true;
      }));
  RETURN_IF_ERROR(inner);
  absl::MutexLock lock(&line_mu_);
  line_ = std::make_shared<RedLine>(std::move(line));
  return absl::OkStatus();
}

std::shared_ptr<const RedLine> OversightApp::Line() const {
  absl::MutexLock lock(&line_mu_);
  return line_;
}

absl::StatusOr<eventstore::AppendRequest> OversightApp::Effects(
    const std::vector<Emitted>& emitted,
    std::map<std::string, v1::NoticeRecord> notices, const std::string& cause,
    absl::Time now, std::vector<v1::Notice>* changed,
    std::map<std::string, v1::SmallWishRecord> wishes) const {
  eventstore::AppendRequest r;
  const std::shared_ptr<const RedLine> line = Line();
  for (const auto& group : domain::GroupByStream(emitted)) {
    const std::string& stream = group.stream_id;
    const auto& events = group.events;
    int64_t expected = 0;
    std::string correlation;
    auto fact_rows = [&](const std::vector<ParticipationFact>& facts,
                         const std::string& area, uint64_t version) {
      for (size_t i = 0; i < facts.size(); ++i) {
        v1::ParticipationFactRow row;
        row.set_kind(facts[i].kind);
        row.set_subject(facts[i].subject);
        row.set_area_code(area);
        r.projection_writes.push_back(
            {kFactsProjection,
             TimeKey(now, absl::StrCat(stream, "/", version, "/", i)),
             row.SerializeAsString()});
      }
    };
    if (absl::StartsWith(stream, "notice/")) {
      const std::string id = After(stream, "notice/");
      const v1::NoticeRecord before = notices[id];
      v1::NoticeRecord after = before;
      for (const auto& e : events) {
        auto facts = registry_->Read([&](const registry::RegistryState& s) {
          return ParticipationOf(after, *e.event, s, rules_);
        });
        RETURN_IF_ERROR(Evolve(after, *e.event, now));
        fact_rows(facts, after.raised().case_area_code(), after.version());
      }
      expected = static_cast<int64_t>(before.version());
      correlation = after.raised().case_id();
      r.projection_writes.push_back(
          {kNoticesProjection, id, after.SerializeAsString()});
      eventstore::MoveTimer(
          kTimersProjection, id,
          before.version() ? EscalationDue(before) : absl::InfiniteFuture(),
          EscalationDue(after), &r.projection_writes);
      if (changed != nullptr) changed->push_back(NoticeView(after));
    } else if (absl::StartsWith(stream, "org/")) {
      for (const auto& e : events) {
        r.projection_writes.push_back({kOrgsProjection, After(stream, "org/"),
                                       e.event->SerializeAsString()});
      }
    } else if (absl::StartsWith(stream, "member/")) {
      const std::string id = After(stream, "member/");
      auto it = line->members.find(id);
      v1::MemberRecord m =
          it == line->members.end() ? v1::MemberRecord() : it->second;
      expected = static_cast<int64_t>(m.version());
      for (const auto& e : events) {
        *m.add_assignments() =
            static_cast<const v1::OverseerAssigned&>(*e.event);
        m.set_version(m.version() + 1);
      }
      r.projection_writes.push_back(
          {kMembersProjection, id, m.SerializeAsString()});
    } else if (absl::StartsWith(stream, "wish/")) {
      // The state the decision saw: its version guards the append.
      const std::string id = After(stream, "wish/");
      v1::SmallWishRecord w = wishes[id];
      expected = static_cast<int64_t>(w.version());
      for (const auto& e : events) {
        auto facts = registry_->Read([&](const registry::RegistryState& s) {
          return ParticipationOf(v1::NoticeRecord(), *e.event, s, rules_);
        });
        RETURN_IF_ERROR(Evolve(w, *e.event));
        fact_rows(facts, w.recorded().area_code(), w.version());
      }
      r.projection_writes.push_back(
          {kWishesProjection, id, w.SerializeAsString()});
    }
    r.streams.push_back(
        domain::ToStream(group, expected, correlation, cause, now));
  }
  return r;
}

absl::StatusOr<std::vector<Emitted>> OversightApp::Raise(const Trigger& trigger,
                                                         absl::Time now) const {
  ASSIGN_OR_RETURN(
      v1::NoticeRecord existing,
      Row<v1::NoticeRecord>(kNoticesProjection, NoticeId(trigger)));
  if (existing.version() > 0) return std::vector<Emitted>{};  // redelivery
  ASSIGN_OR_RETURN(v1::CaseFacts c,
                   Row<v1::CaseFacts>(kCaseFactsProjection, trigger.case_id));
  if (c.closed() && !ComesAfterClose(trigger.kind)) {
    return std::vector<Emitted>{};
  }
  const std::shared_ptr<const RedLine> line = Line();
  return registry_->Read([&](const registry::RegistryState& state)
                             -> absl::StatusOr<std::vector<Emitted>> {
    if (state.Find(trigger.case_area_code) == nullptr) {
      // Intake located the case in the registry: this copy is behind.
      return absl::UnavailableError(absl::StrCat(
          "area ", trigger.case_area_code, " is not in the registry copy yet"));
    }
    ASSIGN_OR_RETURN(Emitted e,
                     DecideRaise(*line, state, trigger, rules_, now));
    return std::vector<Emitted>{std::move(e)};
  });
}

absl::StatusOr<eventstore::AppendRequest> OversightApp::SupervisionEffects(
    const common::v1::EventEnvelope& env) {
  const std::string& type = env.event_type();
  const absl::Time now = clock_->Now();
  const std::string case_id =
      env.stream_id().size() > 5 && absl::StartsWith(env.stream_id(), "case/")
          ? env.stream_id().substr(5)
          : "";
  eventstore::AppendRequest r;
  if (case_id.empty()) return r;
  ASSIGN_OR_RETURN(v1::CaseFacts facts,
                   Row<v1::CaseFacts>(kCaseFactsProjection, case_id));
  facts.set_case_id(case_id);
  std::vector<Emitted> emitted;
  std::map<std::string, v1::NoticeRecord> notices;
  if (type == sv::CaseOpened::descriptor()->full_name()) {
    sv::CaseOpened e;
    if (!e.ParseFromString(env.payload().value())) {
      return absl::DataLossError("CaseOpened");
    }
    facts.set_area_code(e.area_code());
  } else if (type == sv::CaseReworkOrdered::descriptor()->full_name()) {
    sv::CaseReworkOrdered e;
    if (!e.ParseFromString(env.payload().value())) {
      return absl::DataLossError("CaseReworkOrdered");
    }
    if (e.rework_count() >= rules_.rework_threshold) {  // each one after
      ASSIGN_OR_RETURN(
          emitted,
          Raise({case_id, "", "rework",
                 absl::StrCat("rework/", e.rework_count()), facts.area_code()},
                now));
    }
  } else if (type == sv::FollowUpRecorded::descriptor()->full_name()) {
    sv::FollowUpRecorded e;
    if (!e.ParseFromString(env.payload().value())) {
      return absl::DataLossError("FollowUpRecorded");
    }
    if (e.satisfaction() == sv::SATISFACTION_UNSATISFIED &&
        rules_.on_unsatisfied) {
      facts.set_unsatisfied(facts.unsatisfied() + 1);
      // On the closed case; if the follow-up reopens it, its next close
      // resolves the notice.
      ASSIGN_OR_RETURN(emitted,
                       Raise({case_id, "", "unsatisfied",
                              absl::StrCat("unsatisfied/", facts.unsatisfied()),
                              facts.area_code()},
                             now));
    }
  } else if (type == sv::CaseReopened::descriptor()->full_name()) {
    facts.set_closed(false);
  } else if (type == sv::CaseClosed::descriptor()->full_name() ||
             type == sv::CaseVoided::descriptor()->full_name() ||
             type == sv::CaseNotAccepted::descriptor()->full_name()) {
    facts.set_closed(true);
    // Every open notice of the case resolves itself.
    RETURN_IF_ERROR(
        ResolveCaseNotices(case_id, DecideCaseClosed, &emitted, &notices));
  } else {
    return r;
  }
  if (!emitted.empty()) {
    for (const auto& e : emitted) {
      const std::string id = After(e.stream_id, "notice/");
      if (!notices.count(id)) notices[id] = v1::NoticeRecord();
    }
    ASSIGN_OR_RETURN(r,
                     Effects(emitted, notices, env.event_id(), now, nullptr));
  }
  r.actor = ServiceActor();
  r.projection_writes.push_back(
      {kCaseFactsProjection, case_id, facts.SerializeAsString()});
  return r;
}

absl::StatusOr<eventstore::AppendRequest> OversightApp::DispatchEffects(
    const common::v1::EventEnvelope& env) {
  const std::string& type = env.event_type();
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(auto event, domain::Unpack(env));
  const auto* field = event->GetDescriptor()->FindFieldByName("task_id");
  eventstore::AppendRequest r;
  if (field == nullptr) return r;
  const std::string task_id = event->GetReflection()->GetString(*event, field);
  const std::string case_id = domain::CaseOfTask(task_id);
  if (case_id.empty()) return r;
  ASSIGN_OR_RETURN(v1::TaskFacts facts,
                   Row<v1::TaskFacts>(kTaskFactsProjection, case_id));
  facts.set_case_id(case_id);
  std::vector<Emitted> emitted;
  if (type == dv::TaskDispatched::descriptor()->full_name()) {
    const auto& d = static_cast<const dv::TaskDispatched&>(*event);
    facts.set_area_code(d.area_code());
    (*facts.mutable_urgency())[task_id] = d.urgency();
    if (d.reason() == "send_back") {
      facts.set_send_backs(facts.send_backs() + 1);
      if (facts.send_backs() >= rules_.send_back_threshold) {
        ASSIGN_OR_RETURN(emitted,
                         Raise({case_id, task_id, "send_back",
                                absl::StrCat("send_back/", facts.send_backs()),
                                facts.area_code()},
                               now));
      }
    }
  } else if (type == dv::TaskOverdue::descriptor()->full_name()) {
    if (rules_.on_overdue) {
      ASSIGN_OR_RETURN(
          emitted, Raise({case_id, task_id, "overdue",
                          absl::StrCat("overdue/", task_id), facts.area_code()},
                         now));
    }
  } else if (type == dv::TaskYellowWarning::descriptor()->full_name()) {
    auto it = facts.urgency().find(task_id);
    if (rules_.on_emergency_yellow && it != facts.urgency().end() &&
        it->second == "emergency") {
      ASSIGN_OR_RETURN(
          emitted,
          Raise({case_id, task_id, "emergency_yellow",
                 absl::StrCat("emergency_yellow/", task_id), facts.area_code()},
                now));
    }
  } else if (type != dv::TaskHandled::descriptor()->full_name()) {
    return r;
  }
  std::map<std::string, v1::NoticeRecord> notices;
  if (type == dv::TaskHandled::descriptor()->full_name()) {
    RETURN_IF_ERROR(ResolveCaseNotices(
        case_id,
        [&](const v1::NoticeRecord& n) {
          return DecideTaskHandled(n, task_id);
        },
        &emitted, &notices));
  }
  if (!emitted.empty()) {
    for (const auto& e : emitted) notices[After(e.stream_id, "notice/")];
    ASSIGN_OR_RETURN(r,
                     Effects(emitted, notices, env.event_id(), now, nullptr));
  }
  r.actor = ServiceActor();
  r.projection_writes.push_back(
      {kTaskFactsProjection, case_id, facts.SerializeAsString()});
  return r;
}

void OversightApp::OnApplied(const common::v1::EventEnvelope& env) {
  // Watchers hear of the case's notices as they stand now.
  std::string case_id = env.correlation_id();
  if (absl::StartsWith(env.stream_id(), "case/")) {
    case_id = env.stream_id().substr(5);
  } else if (absl::StartsWith(env.stream_id(), "task/")) {
    case_id = domain::CaseOfTask(env.stream_id());
  }
  if (case_id.empty()) return;
  std::vector<v1::Notice> changed;
  (void)store_->ScanProjection(
      kNoticesProjection, case_id + "/",
      [&](const std::string&, const std::string& value) {
        v1::NoticeRecord n;
        if (n.ParseFromString(value)) changed.push_back(NoticeView(n));
        return true;
      });
  Publish(changed);
}

absl::StatusOr<v1::OversightCommandResponse> OversightApp::Commit(
    const common::v1::Actor& actor, const std::string& command_id,
    const std::string& id, std::map<std::string, v1::NoticeRecord> notices,
    std::vector<Emitted> emitted,
    std::map<std::string, v1::SmallWishRecord> wishes) {
  v1::OversightCommandResponse response;
  response.set_id(id);
  const absl::Time now = clock_->Now();
  std::vector<v1::Notice> changed;
  ASSIGN_OR_RETURN(auto request,
                   Effects(emitted, std::move(notices), command_id, now,
                           &changed, std::move(wishes)));
  request.command_id = command_id;
  request.actor = actor;
  ASSIGN_OR_RETURN(auto result, store_->Append(std::move(request)));
  if (result.duplicate) {
    // A concurrent retry of the same command won: its answer, not ours.
    for (const auto& sv : result.stream_versions) {
      const std::string& stream = sv.stream_id();
      const size_t slash = stream.find('/');
      if (slash != std::string::npos) response.set_id(stream.substr(slash + 1));
    }
    for (const auto& p : result.positions) *response.add_positions() = p;
    return response;
  }
  bool changes_line = false;
  for (const auto& e : emitted) {
    const auto* d = e.event->GetDescriptor();
    changes_line |= d == v1::PartyOrganizationRegistered::descriptor() ||
                    d == v1::OverseerAssigned::descriptor();
  }
  if (changes_line) {
    // Copy on write: readers keep the snapshot they took. None holds this
    // one (its count cannot rise: copies are taken under line_mu_): change
    // it in place, since a copy of a city-wide line per assignment made
    // loading the line quadratic.
    absl::MutexLock lock(&line_mu_);
    if (line_.use_count() == 1) {
      // use_count() is a relaxed load: order the last reader's reads (its
      // release decrement) before these writes.
      std::atomic_thread_fence(std::memory_order_acquire);
      for (const auto& e : emitted) (void)Evolve(*line_, *e.event);
    } else {
      auto next = std::make_shared<RedLine>(*line_);
      for (const auto& e : emitted) (void)Evolve(*next, *e.event);
      line_ = std::move(next);
    }
  }
  Publish(changed);
  for (const auto& p : result.positions) *response.add_positions() = p;
  return response;
}

namespace {
std::string CommandId(const std::string& what, const common::v1::Actor& a,
                      const std::string& request_id) {
  return request_id.empty() ? ""
                            : absl::StrCat("oversight/", what, "/", a.subject(),
                                           "/", request_id);
}
}  // namespace

absl::StatusOr<v1::OversightCommandResponse> OversightApp::RegisterOrganization(
    const common::v1::Actor& actor,
    const v1::RegisterPartyOrganizationRequest& r) {
  const std::string command = CommandId("org", actor, r.request_id());
  if (!command.empty()) {
    ASSIGN_OR_RETURN(auto first, store_->CommandResult(command));
    if (first) {
      v1::OversightCommandResponse response;
      response.set_id(r.organization_id());
      for (const auto& p : first->positions) *response.add_positions() = p;
      return response;
    }
  }
  // The snapshot is let go before Commit, so that Commit can change the
  // line in place.
  ASSIGN_OR_RETURN(Emitted e,
                   registry_->Read([&](const registry::RegistryState& s) {
                     return DecideRegisterOrganization(*Line(), s, r);
                   }));
  return Commit(actor, command, r.organization_id(), {}, {std::move(e)});
}

absl::StatusOr<v1::OversightCommandResponse> OversightApp::AssignOverseer(
    const common::v1::Actor& actor, const v1::AssignOverseerRequest& r) {
  const std::string command = CommandId("assign", actor, r.request_id());
  if (!command.empty()) {
    ASSIGN_OR_RETURN(auto first, store_->CommandResult(command));
    if (first) {
      v1::OversightCommandResponse response;
      response.set_id(r.member_id());
      for (const auto& p : first->positions) *response.add_positions() = p;
      return response;
    }
  }
  // (As above: no snapshot held into Commit.)
  ASSIGN_OR_RETURN(Emitted e,
                   registry_->Read([&](const registry::RegistryState& s) {
                     return DecideAssignOverseer(*Line(), s, rules_, r);
                   }));
  return Commit(actor, command, r.member_id(), {}, {std::move(e)});
}

absl::StatusOr<v1::OversightCommandResponse> OversightApp::OnNotice(
    const common::v1::Actor& actor, const std::string& what,
    const v1::NoticeActionRequest& r,
    const std::function<absl::StatusOr<std::vector<Emitted>>(
        const v1::NoticeRecord&)>& decide) {
  if (r.notice_id().empty())
    return status::InvalidField("notice_id", "required");
  // The notice is part of the command's identity: a request id reused on
  // another notice is another command, not a retry.
  const std::string command =
      CommandId(what, actor,
                r.request_id().empty()
                    ? ""
                    : absl::StrCat(r.notice_id(), "/", r.request_id()));
  if (!command.empty()) {
    ASSIGN_OR_RETURN(auto first, store_->CommandResult(command));
    if (first) {
      v1::OversightCommandResponse response;
      response.set_id(r.notice_id());
      for (const auto& p : first->positions) *response.add_positions() = p;
      return response;
    }
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSIGN_OR_RETURN(v1::NoticeRecord n,
                     Row<v1::NoticeRecord>(kNoticesProjection, r.notice_id()));
    if (n.version() == 0) {
      return absl::NotFoundError(absl::StrCat("no notice ", r.notice_id()));
    }
    ASSIGN_OR_RETURN(auto emitted, decide(n));
    auto result = Commit(actor, command, r.notice_id(), {{r.notice_id(), n}},
                         std::move(emitted));
    if (result.status().code() == absl::StatusCode::kAborted) continue;
    return result;
  }
  return absl::AbortedError("the notice kept changing; try again");
}

absl::StatusOr<v1::OversightCommandResponse> OversightApp::Acknowledge(
    const common::v1::Actor& actor, const v1::NoticeActionRequest& r) {
  const absl::Time now = clock_->Now();
  return OnNotice(actor, "ack", r, [&](const v1::NoticeRecord& n) {
    return DecideAcknowledge(n, actor, now);
  });
}

absl::StatusOr<v1::OversightCommandResponse> OversightApp::RecordAction(
    const common::v1::Actor& actor, const v1::NoticeActionRequest& r) {
  const absl::Time now = clock_->Now();
  return OnNotice(actor, "action", r, [&](const v1::NoticeRecord& n) {
    return DecideRecordAction(n, actor, r, now);
  });
}

absl::StatusOr<v1::OversightCommandResponse> OversightApp::Resolve(
    const common::v1::Actor& actor, const v1::NoticeActionRequest& r) {
  return OnNotice(actor, "resolve", r, [&](const v1::NoticeRecord& n) {
    return DecideResolve(n, actor, r.note());
  });
}

absl::StatusOr<v1::OversightCommandResponse> OversightApp::RecordWish(
    const common::v1::Actor& actor, const v1::RecordSmallWishRequest& r) {
  const std::string command = CommandId("wish", actor, r.request_id());
  if (!command.empty()) {
    ASSIGN_OR_RETURN(auto first, store_->CommandResult(command));
    if (first) {
      v1::OversightCommandResponse response;
      for (const auto& sv : first->stream_versions)
        response.set_id(After(sv.stream_id(), "wish/"));
      for (const auto& p : first->positions) *response.add_positions() = p;
      return response;
    }
  }
  thread_local absl::BitGen rng;
  const std::string id =
      absl::StrCat("W", absl::ToUnixMicros(clock_->Now()), "-",
                   absl::Uniform<uint32_t>(rng, 0, 1u << 30));
  ASSIGN_OR_RETURN(Emitted e, DecideRecordWish(id, r));
  return Commit(actor, command, id, {}, {std::move(e)});
}

absl::Status OversightApp::ResolveCaseNotices(
    const std::string& case_id,
    const std::function<std::vector<Emitted>(const v1::NoticeRecord&)>& decide,
    std::vector<Emitted>* emitted,
    std::map<std::string, v1::NoticeRecord>* notices) const {
  absl::Status inner;
  RETURN_IF_ERROR(store_->ScanProjection(
      kNoticesProjection, case_id + "/",
      [&](const std::string& key, const std::string& value) {
        v1::NoticeRecord n;
        if (!n.ParseFromString(value)) {
          inner = absl::DataLossError("notice row");
          return false;
        }
        std::vector<Emitted> resolved = decide(n);
        if (resolved.empty()) return true;
        for (auto& e : resolved) emitted->push_back(std::move(e));
        (*notices)[key] = std::move(n);
        return true;
      }));
  return inner;
}

absl::StatusOr<std::string> OversightApp::WishArea(
    const std::string& wish_id) const {
  ASSIGN_OR_RETURN(v1::SmallWishRecord w,
                   Row<v1::SmallWishRecord>(kWishesProjection, wish_id));
  if (w.version() == 0) {
    return absl::NotFoundError(absl::StrCat("no wish ", wish_id));
  }
  return w.recorded().area_code();
}

absl::StatusOr<v1::OversightCommandResponse> OversightApp::OnWish(
    const common::v1::Actor& actor, const std::string& what,
    const v1::SmallWishActionRequest& r,
    const std::function<absl::StatusOr<std::vector<Emitted>>(
        const v1::SmallWishRecord&)>& decide) {
  if (r.wish_id().empty()) return status::InvalidField("wish_id", "required");
  const std::string command = CommandId(
      what, actor,
      r.request_id().empty() ? ""
                             : absl::StrCat(r.wish_id(), "/", r.request_id()));
  if (!command.empty()) {
    ASSIGN_OR_RETURN(auto first, store_->CommandResult(command));
    if (first) {
      v1::OversightCommandResponse response;
      response.set_id(r.wish_id());
      for (const auto& p : first->positions) *response.add_positions() = p;
      return response;
    }
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSIGN_OR_RETURN(v1::SmallWishRecord w,
                     Row<v1::SmallWishRecord>(kWishesProjection, r.wish_id()));
    if (w.version() == 0) {
      return absl::NotFoundError(absl::StrCat("no wish ", r.wish_id()));
    }
    ASSIGN_OR_RETURN(auto emitted, decide(w));
    auto result = Commit(actor, command, r.wish_id(), {}, std::move(emitted),
                         {{r.wish_id(), w}});
    if (result.status().code() == absl::StatusCode::kAborted) continue;
    return result;
  }
  return absl::AbortedError("the wish kept changing; try again");
}

absl::StatusOr<v1::OversightCommandResponse> OversightApp::ClaimWish(
    const common::v1::Actor& actor, const v1::SmallWishActionRequest& r) {
  const absl::Time now = clock_->Now();
  return OnWish(actor, "claim", r, [&](const v1::SmallWishRecord& w) {
    return DecideClaimWish(w, *Line(), actor, now);
  });
}

absl::StatusOr<v1::OversightCommandResponse> OversightApp::FulfilWish(
    const common::v1::Actor& actor, const v1::SmallWishActionRequest& r) {
  return OnWish(actor, "fulfil", r, [&](const v1::SmallWishRecord& w) {
    return DecideFulfilWish(w, actor, r.note());
  });
}

absl::StatusOr<v1::Coverage> OversightApp::GetCoverage(
    const v1::GetCoverageRequest& r) const {
  const absl::Time t = r.has_as_of() ? FromProto(r.as_of()) : clock_->Now();
  const std::shared_ptr<const RedLine> line = Line();
  return registry_->Read([&](const registry::RegistryState& s) {
    return CoverageOf(*line, s, rules_, r.area_code(), t);
  });
}

absl::StatusOr<v1::NoticeRecord> OversightApp::GetNotice(
    const std::string& id) const {
  ASSIGN_OR_RETURN(auto n, Row<v1::NoticeRecord>(kNoticesProjection, id));
  if (n.version() == 0)
    return absl::NotFoundError(absl::StrCat("no notice ", id));
  return n;
}

bool NoticeWanted(const v1::ListNoticesRequest& r,
                  const std::vector<std::string>& scopes, const v1::Notice& n) {
  return (r.overseer_id().empty() || n.overseer_id() == r.overseer_id()) &&
         (r.status() == v1::NOTICE_STATUS_UNSPECIFIED ||
          n.status() == r.status()) &&
         auth::InScope(scopes, n.area_code());
}

absl::Status OversightApp::WaitApplied(
    const google::protobuf::RepeatedPtrField<common::v1::Position>& positions,
    absl::Time deadline) const {
  return store_->WaitForPositions(positions, deadline);
}

absl::StatusOr<v1::ListNoticesResponse> OversightApp::ListNotices(
    const v1::ListNoticesRequest& q,
    const std::vector<std::string>& scopes) const {
  eventstore::ListPageRequest request;
  request.projection = kNoticesProjection;
  request.page_size = q.page_size();
  request.page_token = q.page_token();
  ASSIGN_OR_RETURN(
      auto page,
      eventstore::ReadListPage<v1::Notice>(
          *store_, request,
          [&](const std::string& key, const std::string& value)
              -> absl::StatusOr<std::optional<v1::Notice>> {
            v1::NoticeRecord n;
            if (!n.ParseFromString(value)) {
              return absl::DataLossError(absl::StrCat("notice ", key));
            }
            v1::Notice view = NoticeView(n);
            if (!NoticeWanted(q, scopes, view)) return std::nullopt;
            return view;
          }));
  v1::ListNoticesResponse out;
  for (auto& n : page.rows) *out.add_notices() = std::move(n);
  out.set_next_page_token(page.next_page_token);
  return out;
}

absl::StatusOr<v1::Participation> OversightApp::GetParticipation(
    const v1::GetParticipationRequest& r) const {
  if (!r.has_start_time() || !r.has_end_time() ||
      FromProto(r.end_time()) <= FromProto(r.start_time())) {
    return status::InvalidField("end_time",
                                "a window: start_time before end_time");
  }
  v1::Participation out;
  absl::Status inner;
  RETURN_IF_ERROR(store_->ScanProjectionRange(
      kFactsProjection, TimeKey(FromProto(r.start_time()), ""),
      TimeKey(FromProto(r.end_time()), ""),
      [&](const std::string&, const std::string& value) {
        v1::ParticipationFactRow f;
        if (!f.ParseFromString(value)) {
          inner = absl::DataLossError("fact row");
          return false;
        }
        if (!absl::StartsWith(f.area_code(), r.area_code())) return true;
        google::protobuf::Map<std::string, int64_t>* counter = nullptr;
        if (f.kind() == "received") counter = out.mutable_notices_received();
        if (f.kind() == "acknowledged_in_time")
          counter = out.mutable_acknowledged_in_time();
        if (f.kind() == "escalated_past")
          counter = out.mutable_escalated_past();
        if (f.kind() == "action") counter = out.mutable_actions_recorded();
        if (f.kind() == "wish_fulfilled")
          counter = out.mutable_small_wishes_fulfilled();
        if (f.kind() == "case_needing_oversight")
          counter = out.mutable_cases_needing_oversight();
        if (counter != nullptr) (*counter)[f.subject()]++;
        return true;
      }));
  RETURN_IF_ERROR(inner);
  return out;
}

absl::StatusOr<size_t> OversightApp::FireDueTimers(size_t max) {
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(auto due,
                   eventstore::DueTimers(*store_, kTimersProjection, now, max));
  size_t fired = 0;
  for (const auto& [key, id] : due) {
    ASSIGN_OR_RETURN(v1::NoticeRecord n,
                     Row<v1::NoticeRecord>(kNoticesProjection, id));
    ASSIGN_OR_RETURN(v1::CaseFacts c, Row<v1::CaseFacts>(kCaseFactsProjection,
                                                         n.raised().case_id()));
    const std::shared_ptr<const RedLine> line = Line();
    // A notice raised as its case closed (the two followers race) resolves
    // here instead of climbing.
    auto emitted = c.closed() && !ComesAfterClose(n.raised().trigger())
                       ? DecideCaseClosed(n)
                       : registry_->Read([&](const registry::RegistryState& s) {
                           return DecideEscalate(n, *line, s, rules_, now);
                         });
    eventstore::AppendRequest request;
    std::vector<v1::Notice> changed;
    if (emitted.empty()) {
      // A stale row (the notice moved on): drop it.
      request.projection_writes.push_back(
          {kTimersProjection, key, std::nullopt});
    } else {
      ASSIGN_OR_RETURN(
          request, Effects(emitted, {{id, n}}, "escalation", now, &changed));
    }
    request.actor = ServiceActor();
    auto result = store_->Append(std::move(request));
    if (!result.ok() && result.status().code() == absl::StatusCode::kAborted) {
      continue;  // acknowledged meanwhile: the next scan decides again
    }
    if (!result.ok()) return result.status();
    if (!emitted.empty()) ++fired;
    Publish(changed);
  }
  return fired;
}

void OversightApp::Publish(const std::vector<v1::Notice>& changed) {
  listeners_.Publish(changed);
}

}  // namespace wangge::oversight
