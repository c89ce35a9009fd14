#include "services/cli/oversight_commands.h"

#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/cli/cli_support.h"
#include "services/common/clock/proto_time.h"
#include "wangge/oversight/v1/oversight.grpc.pb.h"
#include "wangge/registry/v1/registry.grpc.pb.h"

ABSL_FLAG(std::string, area, "", "redline: the area overseen");
ABSL_FLAG(std::string, org, "", "redline assign: the party organisation");
ABSL_FLAG(std::string, name, "", "redline org: its name");
ABSL_FLAG(std::string, kind, "branch",
          "redline org: working_committee, committee, branch, small_group; "
          "notice act: visit, coordination, mediation");
ABSL_FLAG(std::string, text, "", "notice act/resolve, wish: the text");
ABSL_FLAG(std::string, since, "", "participation: window start (RFC 3339)");

namespace wangge::cli {
namespace {

namespace ov = oversight::v1;

std::unique_ptr<ov::OversightService::Stub> Stub() {
  return ov::OversightService::NewStub(Channel("oversight"));
}

int Done(const grpc::Status& s, const ov::OversightCommandResponse& r,
         const std::string& what) {
  if (!s.ok()) return ReportError(s);
  if (JsonOutput()) {
    Print(r);
  } else {
    std::printf("%s %s\n", what.c_str(), r.id().c_str());
  }
  return 0;
}

void PrintNotice(const ov::Notice& n) {
  if (JsonOutput()) return Print(n);
  const std::string status =
      absl::AsciiStrToLower(ov::NoticeStatus_Name(n.status()).substr(14));
  std::printf("%-44s %-16s %-13s level %u  %-16s ack by %s%s\n",
              n.notice_id().c_str(), n.trigger().c_str(), status.c_str(),
              n.escalation_level(), n.overseer_id().c_str(),
              ShortTime(n.acknowledge_by()).c_str(),
              n.coverage_gap() ? "  [coverage gap]" : "");
}

}  // namespace

// Every area under `code` (depth first), from the registry.
absl::Status Walk(registry::v1::RegistryService::Stub* registry,
                  const std::string& code,
                  std::vector<registry::v1::Area>* out) {
  auto ctx = Context("administrator");
  if (!ctx.ok()) return ctx.status();
  registry::v1::ListAreasRequest r;
  r.set_parent_code(code);
  r.set_page_size(1000);
  registry::v1::ListAreasResponse resp;
  grpc::Status s = registry->ListAreas(ctx->get(), r, &resp);
  if (!s.ok()) return absl::UnavailableError(s.error_message());
  for (const auto& a : resp.areas()) {
    out->push_back(a);
    absl::Status inner = Walk(registry, a.code(), out);
    if (!inner.ok()) return inner;
  }
  return absl::OkStatus();
}

// The demo's red line for a district: a working committee per street and
// an overseer for every area on the line, except the first micro-grid of
// each street (a visible gap). Idempotent: request ids name the areas.
int RedLineDemo(const std::string& district) {
  auto registry = registry::v1::RegistryService::NewStub(Channel("registry"));
  std::vector<registry::v1::Area> areas;
  absl::Status walked = Walk(registry.get(), district, &areas);
  if (!walked.ok()) return Fail(std::string(walked.message()));
  auto stub = Stub();
  // Chengdu's line: per street a working committee (the street and, by the
  // cadres it sends down, the community general grids); per community
  // general grid a branch (its general, micro- and dedicated grids).
  auto register_org = [&](const std::string& id, const std::string& name,
                          ov::OrganizationKind kind,
                          const registry::v1::Area& a) -> bool {
    auto ctx = Context("administrator");
    if (!ctx.ok()) return false;
    ov::RegisterPartyOrganizationRequest r;
    r.set_request_id("demo-org-" + id);
    r.set_organization_id(id);
    r.set_name(name);
    r.set_kind(kind);
    r.set_area_code(a.code());
    *r.mutable_effective_time() = a.effective_time();
    ov::OversightCommandResponse resp;
    grpc::Status s = stub->RegisterPartyOrganization(ctx->get(), r, &resp);
    if (!s.ok()) ReportError(s);
    return s.ok();
  };
  std::map<std::string, std::string> committees, branches;  // area -> org
  std::set<std::string> gap_streets;
  int orgs = 0, members = 0;
  for (const auto& a : areas) {
    if (a.level() == "street") {
      if (!register_org("committee-" + a.code(), "街道党工委 " + a.name(),
                        ov::ORGANIZATION_KIND_WORKING_COMMITTEE, a)) {
        return 1;
      }
      committees[a.code()] = "committee-" + a.code();
      ++orgs;
    } else if (a.level() == "community_general_grid") {
      if (!register_org("branch-" + a.code(), "社区党支部 " + a.name(),
                        ov::ORGANIZATION_KIND_BRANCH, a)) {
        return 1;
      }
      branches[a.code()] = "branch-" + a.code();
      ++orgs;
    }
  }
  auto enclosing = [](const std::map<std::string, std::string>& by_area,
                      const std::string& code) {
    std::string found;
    for (const auto& [area, org] : by_area)
      if (absl::StartsWith(code, area)) found = org;
    return found;
  };
  for (const auto& a : areas) {
    const bool upper =
        a.level() == "street" || a.level() == "community_general_grid";
    const std::string org =
        upper ? enclosing(committees, a.code()) : enclosing(branches, a.code());
    if (org.empty()) continue;
    const std::string street = enclosing(committees, a.code());
    if (a.level() == "micro_grid" && gap_streets.insert(street).second) {
      continue;  // left uncovered on purpose
    }
    auto ctx = Context("administrator");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    ov::AssignOverseerRequest r;
    r.set_request_id("demo-member-" + a.code());
    r.set_member_id("party-" + a.code());
    r.set_organization_id(org);
    r.set_area_code(a.code());
    *r.mutable_start_time() = a.effective_time();
    ov::OversightCommandResponse resp;
    grpc::Status s = stub->AssignOverseer(ctx->get(), r, &resp);
    if (!s.ok()) return ReportError(s);
    ++members;
  }
  std::printf(
      "red line of %s: %d party organisations, %d overseers "
      "(party-<area code>); one micro-grid per street left "
      "uncovered\n",
      district.c_str(), orgs, members);
  return 0;
}

int RedLineCommand(const std::vector<char*>& args) {
  const char* kUsage =
      "redline org ID --area=CODE --name=... --kind=branch | "
      "redline assign MEMBER --org=ID --area=CODE | redline demo DISTRICT";
  if (args.size() != 4) return Fail(kUsage);
  const std::string verb = args[2];
  if (verb == "demo") return RedLineDemo(args[3]);
  auto ctx = Context("administrator");
  if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
  ov::OversightCommandResponse resp;
  grpc::Status s;
  if (verb == "org") {
    ov::RegisterPartyOrganizationRequest r;
    r.set_request_id(RequestId("org"));
    r.set_organization_id(args[3]);
    r.set_name(absl::GetFlag(FLAGS_name));
    r.set_area_code(absl::GetFlag(FLAGS_area));
    ov::OrganizationKind kind;
    if (!ov::OrganizationKind_Parse(
            "ORGANIZATION_KIND_" +
                absl::AsciiStrToUpper(absl::GetFlag(FLAGS_kind)),
            &kind)) {
      return Fail("--kind: working_committee, committee, branch, small_group");
    }
    r.set_kind(kind);
    *r.mutable_effective_time() = ToProto(absl::Now());
    s = Stub()->RegisterPartyOrganization(ctx->get(), r, &resp);
    return Done(s, resp, "organisation");
  }
  if (verb == "assign") {
    ov::AssignOverseerRequest r;
    r.set_request_id(RequestId("assign"));
    r.set_member_id(args[3]);
    r.set_organization_id(absl::GetFlag(FLAGS_org));
    r.set_area_code(absl::GetFlag(FLAGS_area));
    *r.mutable_start_time() = ToProto(absl::Now());
    s = Stub()->AssignOverseer(ctx->get(), r, &resp);
    return Done(s, resp, "overseer");
  }
  return Fail(kUsage);
}

int CoverageCommand(const std::vector<char*>& args) {
  if (args.size() != 3) return Fail("coverage AREA [--as_of=RFC3339]");
  auto ctx = Context("administrator");
  if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
  ov::GetCoverageRequest r;
  r.set_area_code(args[2]);
  if (!absl::GetFlag(FLAGS_as_of).empty()) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_as_of), &t,
                         &err)) {
      return Fail("--as_of: " + err);
    }
    *r.mutable_as_of() = ToProto(t);
  }
  ov::Coverage c;
  grpc::Status s = Stub()->GetCoverage(ctx->get(), r, &c);
  if (!s.ok()) return ReportError(s);
  if (JsonOutput()) return Print(c), 0;
  std::printf(
      "the line is %s: %d areas without an overseer, %d stale "
      "overseers\n",
      c.unbroken() ? "unbroken" : "broken", c.uncovered_area_codes_size(),
      c.stale_overseer_ids_size());
  for (const auto& a : c.uncovered_area_codes())
    std::printf("  uncovered %s\n", a.c_str());
  for (const auto& m : c.stale_overseer_ids())
    std::printf("  stale     %s\n", m.c_str());
  return 0;
}

int NoticeCommand(const std::vector<char*>& args) {
  const char* kUsage =
      "notice list | notice watch | notice ack|act|resolve NOTICE_ID "
      "[--kind=visit --text=...]  (as --subject=<member id>)";
  if (args.size() < 3) return Fail(kUsage);
  const std::string verb = args[2];
  if (verb == "list" || verb == "watch") {
    auto ctx = Context("party_member");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    ov::ListNoticesRequest r;
    r.set_page_size(1000);
    if (verb == "list") {
      ov::ListNoticesResponse resp;
      grpc::Status s = ListPages(
          "party_member", r, 1000,
          [](grpc::ClientContext* c, const ov::ListNoticesRequest& q,
             ov::ListNoticesResponse* page) {
            return Stub()->ListNotices(c, q, page);
          },
          [](const ov::ListNoticesResponse& all) { return all.notices_size(); },
          &resp);
      if (!s.ok()) return ReportError(s);
      if (JsonOutput()) return Print(resp), 0;
      for (const auto& n : resp.notices()) PrintNotice(n);
      return 0;
    }
    (*ctx)->set_deadline(std::chrono::system_clock::time_point::max());
    auto reader = Stub()->WatchNotices(ctx->get(), r);
    ov::Notice n;
    while (reader->Read(&n)) {
      PrintNotice(n);
      std::fflush(stdout);
    }
    grpc::Status s = reader->Finish();
    return s.ok() ? 0 : ReportError(s);
  }
  if (args.size() != 4) return Fail(kUsage);
  auto ctx = Context("party_member");
  if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
  ov::NoticeActionRequest r;
  r.set_request_id(RequestId(verb));
  r.set_notice_id(args[3]);
  r.set_action_kind(absl::GetFlag(FLAGS_kind));
  r.set_note(absl::GetFlag(FLAGS_text));
  ov::OversightCommandResponse resp;
  grpc::Status s;
  if (verb == "ack") {
    s = Stub()->AcknowledgeNotice(ctx->get(), r, &resp);
  } else if (verb == "act") {
    s = Stub()->RecordOversightAction(ctx->get(), r, &resp);
  } else if (verb == "resolve") {
    s = Stub()->ResolveNotice(ctx->get(), r, &resp);
  } else {
    return Fail(kUsage);
  }
  return Done(s, resp, "notice");
}

int WishCommand(const std::vector<char*>& args) {
  const char* kUsage =
      "wish record AREA --text=... | wish claim|fulfil WISH_ID "
      "(as --subject=<member id>)";
  if (args.size() != 4) return Fail(kUsage);
  const std::string verb = args[2];
  ov::OversightCommandResponse resp;
  grpc::Status s;
  if (verb == "record") {
    auto ctx = Context("grid_worker");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    ov::RecordSmallWishRequest r;
    r.set_request_id(RequestId("wish"));
    r.set_area_code(args[3]);
    r.set_description(absl::GetFlag(FLAGS_text));
    s = Stub()->RecordSmallWish(ctx->get(), r, &resp);
    return Done(s, resp, "wish");
  }
  auto ctx = Context("party_member");
  if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
  ov::SmallWishActionRequest r;
  r.set_request_id(RequestId(verb));
  r.set_wish_id(args[3]);
  r.set_note(absl::GetFlag(FLAGS_text));
  if (verb == "claim") {
    s = Stub()->ClaimSmallWish(ctx->get(), r, &resp);
  } else if (verb == "fulfil") {
    s = Stub()->FulfilSmallWish(ctx->get(), r, &resp);
  } else {
    return Fail(kUsage);
  }
  return Done(s, resp, "wish");
}

int ParticipationCommand(const std::vector<char*>& args) {
  if (args.size() != 3) return Fail("participation AREA [--since=RFC3339]");
  auto ctx = Context("administrator");
  if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
  absl::Time since = absl::Now() - absl::Hours(24 * 30);
  if (!absl::GetFlag(FLAGS_since).empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_since), &since,
                         &err)) {
      return Fail("--since: " + err);
    }
  }
  ov::GetParticipationRequest r;
  r.set_area_code(args[2]);
  *r.mutable_start_time() = ToProto(since);
  *r.mutable_end_time() = ToProto(absl::Now() + absl::Hours(24 * 365));
  ov::Participation p;
  grpc::Status s = Stub()->GetParticipation(ctx->get(), r, &p);
  if (!s.ok()) return ReportError(s);
  if (JsonOutput()) return Print(p), 0;
  auto table = [](const char* title,
                  const google::protobuf::Map<std::string, int64_t>& m) {
    for (const auto& [k, v] :
         std::map<std::string, int64_t>(m.begin(), m.end())) {
      std::printf("%-22s %-40s %lld\n", title, k.c_str(),
                  static_cast<long long>(v));
    }
  };
  table("received", p.notices_received());
  table("acknowledged_in_time", p.acknowledged_in_time());
  table("escalated_past", p.escalated_past());
  table("actions", p.actions_recorded());
  table("wishes_fulfilled", p.small_wishes_fulfilled());
  table("needed_oversight", p.cases_needing_oversight());
  return 0;
}

}  // namespace wangge::cli
