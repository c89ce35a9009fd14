#include "services/oversight/app/oversight_app.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/status/errors.h"
#include "services/common/testing/test_support.h"
#include "services/registry/domain/test_registry.h"
#include "wangge/dispatch/v1/events.pb.h"
#include "wangge/supervision/v1/events.pb.h"
#include "wangge/supervision/v1/supervision.pb.h"

namespace wangge::oversight {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1704067200);  // 2024-01-01Z

common::v1::Actor Person(common::v1::Role role, const std::string& subject) {
  common::v1::Actor a;
  a.set_subject(subject);
  a.set_role(role);
  return a;
}

class OversightAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("oversight");
    eventstore::Options o;
    o.service = "oversight";
    o.path = dir_ + "/store";
    o.partitions = 4;
    o.clock = &clock_;
    store_ = *eventstore::EventStore::Open(o);
    replica_ = std::make_unique<registry::RegistryReplica>(store_.get());
    for (const auto& env : registry::testing::DemoEnvelopes(1, kT0)) {
      ASSERT_TRUE(store_->Append(*replica_->Effects(env)).ok());
      replica_->OnApplied(env);
    }
    replica_->Read([&](const registry::RegistryState& s) {
      for (const auto& [code, area] : s.areas) {
        if (area.level == "micro_grid" && absl::StartsWith(code, "5101")) {
          micros_.push_back(code);
        }
      }
      std::sort(micros_.begin(), micros_.end());
      general_ = s.Find(micros_[0])->parent_code;
      community_ = s.Find(general_)->parent_code;
      street_ = s.Find(community_)->parent_code;
      return 0;
    });
    app_ = std::make_unique<OversightApp>(store_.get(), replica_.get(),
                                          OversightRules(), &clock_);
    ASSERT_TRUE(app_->Load().ok());
    v1::RegisterPartyOrganizationRequest org;
    org.set_request_id("org");
    org.set_organization_id("org-street");
    org.set_name("街道党工委");
    org.set_kind(v1::ORGANIZATION_KIND_WORKING_COMMITTEE);
    org.set_area_code(street_);
    ASSERT_TRUE(app_->RegisterOrganization(admin_, org).ok());
    org.set_request_id("branch");
    org.set_organization_id("org-branch");
    org.set_name("社区党支部");
    org.set_kind(v1::ORGANIZATION_KIND_BRANCH);
    org.set_area_code(community_);
    ASSERT_TRUE(app_->RegisterOrganization(admin_, org).ok());
    Assign("m-micro", micros_[0], "org-branch");
    Assign("m-general", general_, "org-branch");
    Assign("m-community", community_);
    Assign("m-street", street_);
  }
  void Assign(const std::string& member, const std::string& area,
              const std::string& org = "org-street") {
    v1::AssignOverseerRequest r;
    r.set_member_id(member);
    r.set_organization_id(org);
    r.set_area_code(area);
    *r.mutable_start_time() = ToProto(kT0);
    auto done = app_->AssignOverseer(admin_, r);
    ASSERT_TRUE(done.ok()) << done.status();
  }
  template <typename T>
  void Deliver(const T& payload, const std::string& source,
               const std::string& stream) {
    common::v1::EventEnvelope env;
    env.set_event_id(absl::StrCat(source, ++sequence_[source]));
    env.set_event_type(payload.GetDescriptor()->full_name());
    env.set_source_service(source);
    env.set_stream_id(stream);
    env.set_partition(0);
    env.set_sequence(sequence_[source]);
    env.mutable_payload()->set_value(payload.SerializeAsString());
    auto effects = source == "supervision" ? app_->SupervisionEffects(env)
                                           : app_->DispatchEffects(env);
    ASSERT_TRUE(effects.ok()) << effects.status();
    effects->consumed.push_back({source, 0, env.sequence()});
    ASSERT_TRUE(store_->Append(*effects).ok());
  }
  void OpenAndOverdue(const std::string& case_id, const std::string& area) {
    supervision::v1::CaseOpened opened;
    opened.set_case_id(case_id);
    opened.set_area_code(area);
    Deliver(opened, "supervision", "case/" + case_id);
    dispatch::v1::TaskDispatched d;
    d.set_task_id("task/" + case_id + "/1");
    d.set_case_id(case_id);
    d.set_area_code(area);
    d.set_urgency("ordinary");
    Deliver(d, "dispatch", d.task_id());
    Overdue(case_id);
  }
  void Overdue(const std::string& case_id) {
    dispatch::v1::TaskOverdue overdue;
    overdue.set_task_id("task/" + case_id + "/1");
    overdue.set_case_id(case_id);
    Deliver(overdue, "dispatch", overdue.task_id());
  }
  uint64_t Events() const {
    uint64_t n = 0;
    for (uint64_t h : store_->Heads()) n += h;
    return n;
  }

  std::string dir_;
  FakeClock clock_{kT0 + absl::Hours(24 * 30)};
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<registry::RegistryReplica> replica_;
  std::unique_ptr<OversightApp> app_;
  std::map<std::string, uint64_t> sequence_;
  std::vector<std::string> micros_;
  std::string general_, community_, street_;
  const common::v1::Actor admin_ =
      Person(common::v1::ROLE_ADMINISTRATOR, "admin");
};

TEST_F(OversightAppTest, OverdueRaisesOnceEscalatesUntilAcknowledged) {
  OpenAndOverdue("C1", micros_[0]);
  const std::string id = "C1/overdue/task/C1/1";
  auto notice = app_->GetNotice(id);
  ASSERT_TRUE(notice.ok()) << notice.status();
  EXPECT_EQ(notice->overseer_id(), "m-micro");
  // Redelivered (another delivery of the same trigger): nothing new.
  const uint64_t before = Events();
  Overdue("C1");
  EXPECT_EQ(Events(), before);
  // Two hours on: to the general grid; two more: the community.
  clock_.Advance(absl::Hours(2) - absl::Seconds(1));
  EXPECT_EQ(*app_->FireDueTimers(100), 0u);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*app_->FireDueTimers(100), 1u);
  EXPECT_EQ(app_->GetNotice(id)->overseer_id(), "m-general");
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(*app_->FireDueTimers(100), 1u);
  EXPECT_EQ(app_->GetNotice(id)->overseer_id(), "m-community");
  // Only the holder acknowledges; that stops the climb.
  v1::NoticeActionRequest ack;
  ack.set_notice_id(id);
  EXPECT_EQ(status::DeniedRule(
                app_->Acknowledge(
                        Person(common::v1::ROLE_PARTY_MEMBER, "m-micro"), ack)
                    .status()),
            "notice_holder_only");
  ASSERT_TRUE(app_->Acknowledge(
                      Person(common::v1::ROLE_PARTY_MEMBER, "m-community"), ack)
                  .ok());
  clock_.Advance(absl::Hours(10));
  EXPECT_EQ(*app_->FireDueTimers(100), 0u);
  EXPECT_EQ(app_->GetNotice(id)->status(), v1::NOTICE_STATUS_ACKNOWLEDGED);
  // The case closes: the notice resolves itself.
  supervision::v1::CaseClosed closed;
  closed.set_case_id("C1");
  Deliver(closed, "supervision", "case/C1");
  EXPECT_EQ(app_->GetNotice(id)->status(), v1::NOTICE_STATUS_RESOLVED);
  // Participation: the micro-grid and general grid members received it and
  // were escalated past; the community member received and acknowledged in
  // time; the street needed oversight once.
  v1::GetParticipationRequest q;
  *q.mutable_start_time() = ToProto(kT0);
  *q.mutable_end_time() = ToProto(clock_.Now() + absl::Hours(1));
  auto p = app_->GetParticipation(q);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->notices_received().at("m-micro"), 1);
  EXPECT_EQ(p->notices_received().at("m-community"), 1);
  EXPECT_EQ(p->escalated_past().at("m-general"), 1);
  EXPECT_EQ(p->acknowledged_in_time().at("m-community"), 1);
  EXPECT_EQ(p->notices_received().at("org-branch"), 2);
  EXPECT_EQ(p->notices_received().at("org-street"), 1);
  EXPECT_EQ(p->cases_needing_oversight().at(street_), 1);
}

// "Reworked ≥ 2 times": the second rework raises a notice and so does each
// one after it (one notice per count).
TEST_F(OversightAppTest, EveryReworkFromTheThresholdOnRaisesANotice) {
  supervision::v1::CaseOpened opened;
  opened.set_case_id("C5");
  opened.set_area_code(micros_[0]);
  Deliver(opened, "supervision", "case/C5");
  for (int n = 1; n <= 3; ++n) {
    supervision::v1::CaseReworkOrdered rework;
    rework.set_case_id("C5");
    rework.set_rework_count(n);
    Deliver(rework, "supervision", "case/C5");
  }
  EXPECT_EQ(app_->GetNotice("C5/rework/1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(app_->GetNotice("C5/rework/2").ok());
  EXPECT_TRUE(app_->GetNotice("C5/rework/3").ok());
}

// An emergency's yellow stage raises a notice; once the department reports
// the task handled it resolves itself and climbs no further. A notice of
// another task of the case stays.
TEST_F(OversightAppTest, ATaskHandledResolvesItsOwnNotices) {
  supervision::v1::CaseOpened opened;
  opened.set_case_id("C6");
  opened.set_area_code(micros_[0]);
  Deliver(opened, "supervision", "case/C6");
  dispatch::v1::TaskDispatched d;
  d.set_task_id("task/C6/1");
  d.set_case_id("C6");
  d.set_area_code(micros_[0]);
  d.set_urgency("emergency");
  Deliver(d, "dispatch", d.task_id());
  dispatch::v1::TaskYellowWarning yellow;
  yellow.set_task_id("task/C6/1");
  yellow.set_case_id("C6");
  Deliver(yellow, "dispatch", yellow.task_id());
  const std::string id = "C6/emergency_yellow/task/C6/1";
  ASSERT_TRUE(app_->GetNotice(id).ok());
  // Another task's handling changes nothing.
  dispatch::v1::TaskHandled other;
  other.set_task_id("task/C6/2");
  other.set_case_id("C6");
  Deliver(other, "dispatch", other.task_id());
  EXPECT_EQ(app_->GetNotice(id)->status(), v1::NOTICE_STATUS_OPEN);
  dispatch::v1::TaskHandled handled;
  handled.set_task_id("task/C6/1");
  handled.set_case_id("C6");
  handled.set_on_time(true);
  Deliver(handled, "dispatch", handled.task_id());
  EXPECT_EQ(app_->GetNotice(id)->status(), v1::NOTICE_STATUS_RESOLVED);
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(*app_->FireDueTimers(100), 0u);
  EXPECT_EQ(app_->GetNotice(id)->overseer_id(), "m-micro");
  // A notice of the case (sent back twice) stays when its task is handled.
  for (int attempt : {2, 3}) {
    dispatch::v1::TaskDispatched again;
    again.set_task_id(absl::StrCat("task/C6/", attempt));
    again.set_case_id("C6");
    again.set_area_code(micros_[0]);
    again.set_urgency("ordinary");
    again.set_reason("send_back");
    Deliver(again, "dispatch", again.task_id());
  }
  const std::string sent_back = "C6/send_back/2";
  ASSERT_TRUE(app_->GetNotice(sent_back).ok());
  dispatch::v1::TaskHandled third;
  third.set_task_id("task/C6/3");
  third.set_case_id("C6");
  Deliver(third, "dispatch", third.task_id());
  EXPECT_EQ(app_->GetNotice(sent_back)->status(), v1::NOTICE_STATUS_OPEN);
}

TEST_F(OversightAppTest, AClosedCaseRaisesNothingAndAGapIsFlagged) {
  // A micro-grid without an overseer: the notice goes one level up.
  OpenAndOverdue("C2", micros_[1]);
  auto n = app_->GetNotice("C2/overdue/task/C2/1");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_TRUE(n->coverage_gap());
  EXPECT_EQ(n->overseer_id(),
            replica_->Read([&](const registry::RegistryState& s) {
              return s.Find(micros_[1])->parent_code == general_
                         ? std::string("m-general")
                         : std::string("m-community");
            }));
  // Coverage reports the gap.
  v1::GetCoverageRequest c;
  c.set_area_code(micros_[1]);
  EXPECT_FALSE(app_->GetCoverage(c)->unbroken());
  c.set_area_code(micros_[0]);
  EXPECT_TRUE(app_->GetCoverage(c)->unbroken());
  // After the close, a late overdue raises nothing.
  supervision::v1::CaseOpened opened;
  opened.set_case_id("C3");
  opened.set_area_code(micros_[0]);
  Deliver(opened, "supervision", "case/C3");
  supervision::v1::CaseClosed closed;
  closed.set_case_id("C3");
  Deliver(closed, "supervision", "case/C3");
  Overdue("C3");
  EXPECT_EQ(app_->GetNotice("C3/overdue/task/C3/1").status().code(),
            absl::StatusCode::kNotFound);
  // A member lists their own notices.
  v1::ListNoticesRequest mine;
  mine.set_overseer_id("m-micro");
  EXPECT_EQ(app_->ListNotices(mine)->notices_size(), 0);
  // A follow-up comes only after the close: an unsatisfied one raises a
  // notice on the closed case all the same (不满意 → 督办), once.
  supervision::v1::FollowUpRecorded unhappy;
  unhappy.set_case_id("C3");
  unhappy.set_satisfaction(supervision::v1::SATISFACTION_UNSATISFIED);
  Deliver(unhappy, "supervision", "case/C3");
  auto listed = app_->ListNotices(mine);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->notices_size(), 1);
  EXPECT_EQ(listed->notices(0).case_id(), "C3");
  EXPECT_EQ(listed->notices(0).trigger(), "unsatisfied");
  // Out of the member's scope, the list leaves it out.
  EXPECT_EQ(app_->ListNotices(mine, {"9999"})->notices_size(), 0);
  EXPECT_EQ(app_->ListNotices(mine, {micros_[0]})->notices_size(), 1);
  // Unacknowledged, it climbs the line like any other: the close that came
  // before it does not resolve it.
  clock_.Advance(absl::Hours(24 * 7));
  ASSERT_TRUE(app_->FireDueTimers(100).ok());
  v1::ListNoticesRequest all;
  listed = app_->ListNotices(all);
  ASSERT_TRUE(listed.ok()) << listed.status();
  int unsatisfied = 0;
  for (const auto& n : listed->notices()) {
    if (n.trigger() != "unsatisfied") continue;
    ++unsatisfied;
    EXPECT_NE(n.status(), v1::NOTICE_STATUS_RESOLVED);
    EXPECT_GT(n.escalation_level(), 0);
  }
  EXPECT_EQ(unsatisfied, 1);
}

// A request id names one command on one notice: reused on another notice it
// is another command; repeated on the same notice it is a retry.
TEST_F(OversightAppTest, ARequestIdIsPerNotice) {
  OpenAndOverdue("C5", micros_[0]);
  OpenAndOverdue("C6", micros_[0]);
  const auto member = Person(common::v1::ROLE_PARTY_MEMBER, "m-micro");
  v1::NoticeActionRequest ack;
  ack.set_request_id("ack-1");
  ack.set_notice_id("C5/overdue/task/C5/1");
  auto first = app_->Acknowledge(member, ack);
  ASSERT_TRUE(first.ok()) << first.status();
  const uint64_t after_first = Events();
  auto retried = app_->Acknowledge(member, ack);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(Events(), after_first);
  ASSERT_EQ(retried->positions_size(), first->positions_size());
  EXPECT_EQ(retried->positions(0).sequence(), first->positions(0).sequence());
  ack.set_notice_id("C6/overdue/task/C6/1");
  ASSERT_TRUE(app_->Acknowledge(member, ack).ok());
  EXPECT_GT(Events(), after_first);
  EXPECT_EQ(app_->GetNotice("C5/overdue/task/C5/1")->status(),
            v1::NOTICE_STATUS_ACKNOWLEDGED);
  EXPECT_EQ(app_->GetNotice("C6/overdue/task/C6/1")->status(),
            v1::NOTICE_STATUS_ACKNOWLEDGED);
}

TEST_F(OversightAppTest, TheLineSurvivesARestart) {
  // A real restart: store, registry copy and app closed and opened again
  // from the files on disk.
  app_.reset();
  replica_.reset();
  store_.reset();
  eventstore::Options o;
  o.service = "oversight";
  o.path = dir_ + "/store";
  o.partitions = 4;
  o.clock = &clock_;
  auto reopened = eventstore::EventStore::Open(o);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  store_ = *std::move(reopened);
  replica_ = std::make_unique<registry::RegistryReplica>(store_.get());
  ASSERT_TRUE(replica_->Load().ok());
  app_ = std::make_unique<OversightApp>(store_.get(), replica_.get(),
                                        OversightRules(), &clock_);
  ASSERT_TRUE(app_->Load().ok());
  OpenAndOverdue("C4", micros_[0]);
  EXPECT_EQ(app_->GetNotice("C4/overdue/task/C4/1")->overseer_id(), "m-micro");
}

}  // namespace
}  // namespace wangge::oversight

namespace wangge::oversight {
namespace {

TEST_F(OversightAppTest, AWishIsClaimedOnceAndRetriesAnswerTheFirst) {
  common::v1::Actor worker = Person(common::v1::ROLE_GRID_WORKER, "gw-1");
  v1::RecordSmallWishRequest r;
  r.set_request_id("w1");
  r.set_area_code(micros_[0]);
  r.set_description("a bench by the gate");
  auto recorded = app_->RecordWish(worker, r);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  auto again = app_->RecordWish(worker, r);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id(), recorded->id());
  v1::SmallWishActionRequest claim;
  claim.set_request_id("c1");
  claim.set_wish_id(recorded->id());
  auto first =
      app_->ClaimWish(Person(common::v1::ROLE_PARTY_MEMBER, "m-micro"), claim);
  ASSERT_TRUE(first.ok()) << first.status();
  // Its retry answers the first result; another member is refused.
  const uint64_t before = Events();
  auto retry =
      app_->ClaimWish(Person(common::v1::ROLE_PARTY_MEMBER, "m-micro"), claim);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(Events(), before);
  claim.set_request_id("c2");
  EXPECT_EQ(
      app_->ClaimWish(Person(common::v1::ROLE_PARTY_MEMBER, "m-general"), claim)
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  v1::SmallWishActionRequest fulfil = claim;
  fulfil.set_request_id("f1");
  fulfil.set_note("built");
  ASSERT_TRUE(
      app_->FulfilWish(Person(common::v1::ROLE_PARTY_MEMBER, "m-micro"), fulfil)
          .ok());
  v1::GetParticipationRequest q;
  *q.mutable_start_time() = ToProto(kT0);
  *q.mutable_end_time() = ToProto(clock_.Now() + absl::Hours(1));
  EXPECT_EQ(
      app_->GetParticipation(q)->small_wishes_fulfilled().at("org-branch"), 1);
}

}  // namespace
}  // namespace wangge::oversight
