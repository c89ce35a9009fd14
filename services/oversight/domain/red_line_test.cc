#include "services/oversight/domain/red_line.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/status/errors.h"
#include "services/registry/generator/city_generator.h"

namespace wangge::oversight {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1704067200);  // 2024-01-01Z

class RedLineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto demo = registry::GenerateDemo(1, kT0);
    ASSERT_TRUE(demo.ok());
    auto events = registry::DecideImport(registry_, *demo);
    ASSERT_TRUE(events.ok());
    for (const auto& e : *events)
      ASSERT_TRUE(registry::Evolve(registry_, e).ok());
    // A Chengdu micro-grid and the line above it.
    for (const auto& [code, area] : registry_.areas) {
      if (area.level == "micro_grid" && absl::StartsWith(code, "5101") &&
          (micro_.empty() || code < micro_)) {
        micro_ = code;
      }
    }
    ASSERT_FALSE(micro_.empty());
    general_ = registry_.Find(micro_)->parent_code;
    community_ = registry_.Find(general_)->parent_code;
    street_ = registry_.Find(community_)->parent_code;
    ASSERT_EQ(registry_.Find(street_)->level, "street");
    for (const auto& [code, area] : registry_.areas) {
      if (area.level == "street" && code != street_) other_street_ = code;
    }
    ASSERT_FALSE(other_street_.empty());
    // Chengdu's line: the street working committee (and the cadres it sends
    // down to the community general grid), a community branch below.
    Register("org-street", v1::ORGANIZATION_KIND_WORKING_COMMITTEE, street_);
    Register("org-branch", v1::ORGANIZATION_KIND_BRANCH, community_);
    Assign("m-micro", "org-branch", micro_);
    Assign("m-general", "org-branch", general_);
    Assign("m-community", "org-street", community_);
    Assign("m-street", "org-street", street_);
  }
  void Register(const std::string& id, v1::OrganizationKind kind,
                const std::string& area) {
    v1::RegisterPartyOrganizationRequest r;
    r.set_organization_id(id);
    r.set_name(id);
    r.set_kind(kind);
    r.set_area_code(area);
    auto e = DecideRegisterOrganization(line_, registry_, r);
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_TRUE(Evolve(line_, *e->event).ok());
  }
  void Assign(const std::string& member, const std::string& org,
              const std::string& area) {
    v1::AssignOverseerRequest r;
    r.set_member_id(member);
    r.set_organization_id(org);
    r.set_area_code(area);
    *r.mutable_start_time() = ToProto(kT0);
    auto e = DecideAssignOverseer(line_, registry_, rules_, r);
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_TRUE(Evolve(line_, *e->event).ok());
  }
  Trigger Overdue() {
    return Trigger{"C1", "task/C1/1", "overdue", "overdue/task/C1/1", micro_};
  }
  void Apply(const std::vector<Emitted>& events, absl::Time at) {
    for (const auto& e : events)
      ASSERT_TRUE(Evolve(notice_, *e.event, at).ok());
  }
  common::v1::Actor Member(const std::string& id) {
    common::v1::Actor a;
    a.set_subject(id);
    a.set_role(common::v1::ROLE_PARTY_MEMBER);
    return a;
  }

  registry::RegistryState registry_;
  RedLine line_;
  OversightRules rules_;
  v1::NoticeRecord notice_;
  std::string micro_, general_, community_, street_, other_street_;
  const absl::Time t_ = kT0 + absl::Hours(24 * 30);
};

TEST_F(RedLineTest, EscalatesUpTheWholeLineWithExactTimings) {
  auto raised = DecideRaise(line_, registry_, Overdue(), rules_, t_);
  ASSERT_TRUE(raised.ok()) << raised.status();
  EXPECT_EQ(raised->stream_id, "notice/C1/overdue/task/C1/1");
  Apply({*raised}, t_);
  EXPECT_EQ(notice_.overseer_id(), "m-micro");
  EXPECT_EQ(FromProto(notice_.acknowledge_by()), t_ + absl::Hours(2));
  // Not yet: one second before the window ends.
  EXPECT_TRUE(DecideEscalate(notice_, line_, registry_, rules_,
                             t_ + absl::Hours(2) - absl::Seconds(1))
                  .empty());
  const std::vector<std::pair<std::string, std::string>> chain = {
      {"m-general", general_},
      {"m-community", community_},
      {"m-street", street_}};
  absl::Time now = t_;
  for (size_t i = 0; i < chain.size(); ++i) {
    now += absl::Hours(2);
    auto up = DecideEscalate(notice_, line_, registry_, rules_, now);
    ASSERT_EQ(up.size(), 1u) << i;
    const auto& e = static_cast<const v1::NoticeEscalated&>(*up[0].event);
    EXPECT_EQ(e.overseer_id(), chain[i].first);
    EXPECT_EQ(e.area_code(), chain[i].second);
    EXPECT_EQ(e.escalation_level(), i + 1);
    EXPECT_FALSE(e.past_top());
    EXPECT_EQ(FromProto(e.acknowledge_by()), now + absl::Hours(2));
    Apply(up, now);
  }
  // Past the top: flagged, stays with the street committee, no more timer.
  now += absl::Hours(2);
  auto top = DecideEscalate(notice_, line_, registry_, rules_, now);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_TRUE(
      static_cast<const v1::NoticeEscalated&>(*top[0].event).past_top());
  Apply(top, now);
  EXPECT_EQ(notice_.overseer_id(), "m-street");
  EXPECT_EQ(EscalationDue(notice_), absl::InfiniteFuture());
  EXPECT_TRUE(
      DecideEscalate(notice_, line_, registry_, rules_, now + absl::Hours(100))
          .empty());
  // Acknowledged there, however late, it was not in time.
  auto ack =
      DecideAcknowledge(notice_, Member("m-street"), now + absl::Hours(72));
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_FALSE(
      static_cast<const v1::NoticeAcknowledged&>(*(*ack)[0].event).in_time());
}

TEST_F(RedLineTest, AcknowledgementStopsTheClimbOnlyByTheHolder) {
  Apply({*DecideRaise(line_, registry_, Overdue(), rules_, t_)}, t_);
  EXPECT_EQ(status::DeniedRule(
                DecideAcknowledge(notice_, Member("m-general"), t_).status()),
            "notice_holder_only");
  auto ack =
      DecideAcknowledge(notice_, Member("m-micro"), t_ + absl::Minutes(30));
  ASSERT_TRUE(ack.ok());
  EXPECT_TRUE(
      static_cast<const v1::NoticeAcknowledged&>(*(*ack)[0].event).in_time());
  Apply(*ack, t_ + absl::Minutes(30));
  EXPECT_TRUE(
      DecideEscalate(notice_, line_, registry_, rules_, t_ + absl::Hours(10))
          .empty());
  EXPECT_EQ(EscalationDue(notice_), absl::InfiniteFuture());
  // Action and resolution, with their rules.
  v1::NoticeActionRequest action;
  action.set_action_kind("dance");
  action.set_note("x");
  EXPECT_EQ(
      status::ViolatedField(
          DecideRecordAction(notice_, Member("m-micro"), action, t_).status()),
      "action_kind");
  action.set_action_kind("visit");
  action.add_evidence_sha256(std::string(64, 'Z'));  // not lower-case hex
  EXPECT_EQ(
      status::ViolatedField(
          DecideRecordAction(notice_, Member("m-micro"), action, t_).status()),
      "evidence_sha256[0]");
  action.clear_evidence_sha256();
  auto visited = DecideRecordAction(notice_, Member("m-micro"), action,
                                    t_ + absl::Hours(1));
  ASSERT_TRUE(visited.ok());
  Apply(*visited, t_ + absl::Hours(1));
  EXPECT_EQ(notice_.actions(), 1u);
  EXPECT_EQ(status::ViolatedField(
                DecideResolve(notice_, Member("m-micro"), "").status()),
            "note");
  Apply(*DecideResolve(notice_, Member("m-micro"), "department acted"), t_);
  EXPECT_EQ(notice_.status(), v1::NOTICE_STATUS_RESOLVED);
  EXPECT_TRUE(DecideCaseClosed(notice_).empty());
}

TEST_F(RedLineTest, CaseCloseResolvesTheNotice) {
  Apply({*DecideRaise(line_, registry_, Overdue(), rules_, t_)}, t_);
  auto closed = DecideCaseClosed(notice_);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_TRUE(
      static_cast<const v1::NoticeResolved&>(*closed[0].event).case_closed());
  Apply(closed, t_);
  EXPECT_EQ(notice_.status(), v1::NOTICE_STATUS_RESOLVED);
  EXPECT_TRUE(
      DecideEscalate(notice_, line_, registry_, rules_, t_ + absl::Hours(10))
          .empty());
}

TEST_F(RedLineTest, OneNoticeIdPerTrigger) {
  auto a = DecideRaise(line_, registry_, Overdue(), rules_, t_);
  auto b =
      DecideRaise(line_, registry_, Overdue(), rules_, t_ + absl::Hours(1));
  EXPECT_EQ(a->stream_id, b->stream_id);  // the shell appends at most once
  Trigger rework{"C1", "", "rework", "rework/2", micro_};
  EXPECT_NE(DecideRaise(line_, registry_, rework, rules_, t_)->stream_id,
            a->stream_id);
}

TEST_F(RedLineTest, AGapSendsTheNoticeUpFlagged) {
  RedLine gap;  // the same line without the micro-grid's overseer
  gap.organizations = line_.organizations;
  for (const auto& [id, m] : line_.members)
    if (id != "m-micro") RestoreMember(gap, id, m);
  auto raised = DecideRaise(gap, registry_, Overdue(), rules_, t_);
  ASSERT_TRUE(raised.ok());
  const auto& e = static_cast<const v1::NoticeRaised&>(*raised->event);
  EXPECT_EQ(e.overseer_id(), "m-general");
  EXPECT_EQ(e.area_code(), general_);
  EXPECT_TRUE(e.coverage_gap());
  ASSERT_EQ(e.skipped_area_codes_size(), 1);
  EXPECT_EQ(e.skipped_area_codes(0), micro_);
  // Coverage reports the micro-grid (and every other area without one).
  auto coverage = CoverageOf(gap, registry_, rules_, general_, t_);
  EXPECT_FALSE(coverage.unbroken());
  EXPECT_NE(std::find(coverage.uncovered_area_codes().begin(),
                      coverage.uncovered_area_codes().end(), micro_),
            coverage.uncovered_area_codes().end());
  EXPECT_EQ(std::find(coverage.uncovered_area_codes().begin(),
                      coverage.uncovered_area_codes().end(), general_),
            coverage.uncovered_area_codes().end());
  // With nobody at all: at the top, flagged past it, no timer.
  RedLine empty;
  auto alone = DecideRaise(empty, registry_, Overdue(), rules_, t_);
  const auto& n = static_cast<const v1::NoticeRaised&>(*alone->event);
  EXPECT_EQ(n.area_code(), street_);
  EXPECT_TRUE(n.overseer_id().empty());
  EXPECT_FALSE(n.has_acknowledge_by());
}

TEST_F(RedLineTest, CoverageOfAFullyCoveredBranchAndStaleOverseers) {
  // Only the four areas of the chain under the micro-grid's own scope.
  EXPECT_TRUE(CoverageOf(line_, registry_, rules_, micro_, t_).unbroken());
  // The micro-grid's overseer left: the line breaks there from then on.
  RedLine left = line_;
  *left.members["m-micro"].mutable_assignments(0)->mutable_end_time() =
      ToProto(t_);
  EXPECT_TRUE(CoverageOf(left, registry_, rules_, micro_, t_ - absl::Hours(1))
                  .unbroken());
  auto broken = CoverageOf(left, registry_, rules_, micro_, t_);
  EXPECT_FALSE(broken.unbroken());
  ASSERT_EQ(broken.uncovered_area_codes_size(), 1);
  EXPECT_EQ(broken.uncovered_area_codes(0), micro_);
  // An overseer of an area the registry no longer has is stale.
  RedLine stale = line_;
  v1::OverseerAssigned ghost;
  ghost.set_member_id("m-ghost");
  ghost.set_area_code(micro_ + "99");
  *ghost.mutable_start_time() = ToProto(kT0);
  ASSERT_TRUE(Evolve(stale, ghost).ok());
  auto c = CoverageOf(stale, registry_, rules_, micro_, t_);
  ASSERT_EQ(c.stale_overseer_ids_size(), 1);
  EXPECT_EQ(c.stale_overseer_ids(0), "m-ghost");
  EXPECT_FALSE(c.unbroken());
}

// Who oversees an area is found through the index of members by area; the
// answer must be the one a walk over every member gives, for every area and
// at moments around a move (a member posted to the micro-grid, then to the
// general grid) and a post that ended.
TEST_F(RedLineTest, OverseerOfAnswersAsAWalkOfEveryMember) {
  v1::AssignOverseerRequest r;
  r.set_member_id("m-a-moved");  // sorts before m-micro and m-general
  r.set_organization_id("org-branch");
  r.set_area_code(micro_);
  *r.mutable_start_time() = ToProto(kT0 + absl::Hours(1));
  auto e = DecideAssignOverseer(line_, registry_, rules_, r);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_TRUE(Evolve(line_, *e->event).ok());
  r.set_area_code(general_);
  *r.mutable_start_time() = ToProto(kT0 + absl::Hours(48));
  e = DecideAssignOverseer(line_, registry_, rules_, r);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_TRUE(Evolve(line_, *e->event).ok());
  r.set_member_id("m-a-left");
  r.set_area_code(community_);
  r.set_organization_id("org-street");
  *r.mutable_start_time() = ToProto(kT0);
  *r.mutable_end_time() = ToProto(kT0 + absl::Hours(24));
  e = DecideAssignOverseer(line_, registry_, rules_, r);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_TRUE(Evolve(line_, *e->event).ok());

  const auto walk = [&](const std::string& area, absl::Time t) {
    std::optional<Overseer> best;
    for (const auto& [id, m] : line_.members) {
      const v1::OverseerAssigned* current = nullptr;
      for (const auto& a : m.assignments()) {
        const absl::Time end =
            a.has_end_time() ? FromProto(a.end_time()) : absl::InfiniteFuture();
        if (FromProto(a.start_time()) <= t && t < end) current = &a;
      }
      if (current == nullptr || current->area_code() != area) continue;
      if (!best || id < best->member_id)
        best = Overseer{id, current->organization_id()};
    }
    return best;
  };
  size_t found = 0, moments = 0;
  for (const absl::Time t : {kT0 + absl::Minutes(30), kT0 + absl::Hours(2),
                             kT0 + absl::Hours(30), kT0 + absl::Hours(72)}) {
    for (const auto& [code, area] : registry_.areas) {
      const auto got = OverseerOf(line_, code, t);
      const auto want = walk(code, t);
      ASSERT_EQ(got.has_value(), want.has_value()) << code << " " << t;
      if (!got) continue;
      EXPECT_EQ(got->member_id, want->member_id) << code << " " << t;
      EXPECT_EQ(got->organization_id, want->organization_id);
      ++found;
    }
    ++moments;
  }
  EXPECT_GE(found, 4 * moments);  // the four posts of the fixture at least
  // The move shows: the micro-grid's first, then the general grid's.
  EXPECT_EQ(OverseerOf(line_, micro_, kT0 + absl::Hours(2))->member_id,
            "m-a-moved");
  EXPECT_EQ(OverseerOf(line_, micro_, kT0 + absl::Hours(72))->member_id,
            "m-micro");
  EXPECT_EQ(OverseerOf(line_, general_, kT0 + absl::Hours(72))->member_id,
            "m-a-moved");
  EXPECT_EQ(OverseerOf(line_, community_, kT0 + absl::Hours(2))->member_id,
            "m-a-left");
  EXPECT_EQ(OverseerOf(line_, community_, kT0 + absl::Hours(30))->member_id,
            "m-community");
}

TEST_F(RedLineTest, RegistrationIsValidated) {
  v1::AssignOverseerRequest r;
  r.set_member_id("m-x");
  r.set_organization_id("org-none");
  r.set_area_code(micro_);
  *r.mutable_start_time() = ToProto(kT0);
  EXPECT_EQ(status::ViolatedField(
                DecideAssignOverseer(line_, registry_, rules_, r).status()),
            "organization_id");
  r.set_organization_id("org-street");
  r.set_area_code("999");
  EXPECT_EQ(status::ViolatedField(
                DecideAssignOverseer(line_, registry_, rules_, r).status()),
            "area_code");
  v1::RegisterPartyOrganizationRequest o;
  o.set_organization_id("org-street");
  o.set_name("again");
  o.set_kind(v1::ORGANIZATION_KIND_BRANCH);
  o.set_area_code(street_);
  EXPECT_EQ(DecideRegisterOrganization(line_, registry_, o).status().code(),
            absl::StatusCode::kAlreadyExists);
  // Ids that become stream names: named as the field, not the stream.
  o.set_organization_id(std::string(600, 'o'));
  EXPECT_EQ(status::ViolatedField(
                DecideRegisterOrganization(line_, registry_, o).status()),
            "organization_id");
  o.set_organization_id(
      "org\x01"
      "bad");
  EXPECT_EQ(status::ViolatedField(
                DecideRegisterOrganization(line_, registry_, o).status()),
            "organization_id");
  r.set_member_id("m x");
  EXPECT_EQ(status::ViolatedField(
                DecideAssignOverseer(line_, registry_, rules_, r).status()),
            "member_id");
}

TEST_F(RedLineTest, TheLineNamesWhoOverseesEachLevel) {
  v1::AssignOverseerRequest r;
  r.set_member_id("m-x");
  r.set_organization_id("org-street");  // a working committee
  r.set_area_code(micro_);
  *r.mutable_start_time() = ToProto(kT0);
  auto wrong = DecideAssignOverseer(line_, registry_, rules_, r);
  EXPECT_EQ(status::ViolatedField(wrong.status()), "organization_id");
  EXPECT_NE(wrong.status().message().find("micro_grid"), std::string::npos);
  // The district is above the line.
  r.set_area_code(street_.substr(0, 6));
  EXPECT_EQ(status::ViolatedField(
                DecideAssignOverseer(line_, registry_, rules_, r).status()),
            "area_code");
  // Zhoushan's line: a small group in every grid, nothing else.
  OversightRules zhoushan;
  ASSERT_TRUE(
      ParseRedLine("grid=small_group; street=working_committee", &zhoushan)
          .ok());
  EXPECT_EQ(zhoushan.line.size(), 2u);
  EXPECT_EQ(zhoushan.line["grid"],
            std::set<int>{v1::ORGANIZATION_KIND_SMALL_GROUP});
  EXPECT_EQ(status::ViolatedField(ParseRedLine("grid=choir", &zhoushan)),
            "red_line.grid");
  EXPECT_EQ(status::ViolatedField(ParseRedLine("grid", &zhoushan)), "red_line");
}

TEST_F(RedLineTest, SmallWishesAreClaimedAndFulfilledByMembers) {
  v1::RecordSmallWishRequest r;
  r.set_area_code(micro_);
  r.set_description(std::string(6001, 'x'));  // kept for ever: bounded
  EXPECT_EQ(status::ViolatedField(DecideRecordWish("W1", r).status()),
            "description");
  r.set_description("a wheelchair ramp");
  auto recorded = DecideRecordWish("W1", r);
  ASSERT_TRUE(recorded.ok());
  v1::SmallWishRecord wish;
  ASSERT_TRUE(Evolve(wish, *recorded->event).ok());
  common::v1::Actor stranger = Member("nobody");
  EXPECT_EQ(
      status::DeniedRule(DecideClaimWish(wish, line_, stranger, t_).status()),
      "party_member_on_the_line");
  // A member in post on another branch of the line (another street's
  // working committee) may not take it.
  Register("org-elsewhere", v1::ORGANIZATION_KIND_WORKING_COMMITTEE,
           other_street_);
  Assign("m-elsewhere", "org-elsewhere", other_street_);
  EXPECT_EQ(
      status::DeniedRule(
          DecideClaimWish(wish, line_, Member("m-elsewhere"), t_).status()),
      "wish_on_members_line");
  auto claimed = DecideClaimWish(wish, line_, Member("m-micro"), t_);
  ASSERT_TRUE(claimed.ok());
  ASSERT_TRUE(Evolve(wish, *(*claimed)[0].event).ok());
  EXPECT_EQ(wish.organization_id(), "org-branch");
  EXPECT_EQ(status::DeniedRule(
                DecideFulfilWish(wish, Member("m-general"), "").status()),
            "claimer_only");
  auto done = DecideFulfilWish(wish, Member("m-micro"), "built");
  ASSERT_TRUE(done.ok());
  auto facts = ParticipationOf(notice_, *(*done)[0].event, registry_, rules_);
  ASSERT_EQ(facts.size(), 2u);
  EXPECT_EQ(facts[1].subject, "org-branch");
}

// A wish of the community is on the line of a member of one of its grids,
// and of the street's working committee above it.
TEST_F(RedLineTest, AWishAboveAMembersGridIsOnTheirLine) {
  v1::RecordSmallWishRequest r;
  r.set_area_code(community_);
  r.set_description("books for the reading room");
  auto recorded = DecideRecordWish("W2", r);
  ASSERT_TRUE(recorded.ok());
  v1::SmallWishRecord wish;
  ASSERT_TRUE(Evolve(wish, *recorded->event).ok());
  EXPECT_TRUE(DecideClaimWish(wish, line_, Member("m-micro"), t_).ok());
  EXPECT_TRUE(DecideClaimWish(wish, line_, Member("m-street"), t_).ok());
}

}  // namespace
}  // namespace wangge::oversight
