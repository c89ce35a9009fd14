// wangge: the command line for Wangge (first commands; issue #8 adds every
// role's actions, queries, watch, demo and the audit commands).
//
//   wangge token --role=shift_leader --scope=110101 [--department=...]
//   wangge registry import var/demo.json
//   wangge registry export > deployment.json
//   wangge registry locate 104.07 30.66 [--as_of=2024-06-01T00:00:00Z]
//   wangge registry area 510101001
//   wangge registry list 510101
//   wangge registry resolve event/05/0505 110101001001002
//   wangge registry staff 110101001001 --role=supervisor
//   wangge report 104.06 30.66 --description="井盖缺失"
//   [--coordinate_system=gcj02] wangge report-get C20240719-ABCDEFGH wangge
//   heads intake
//   wangge case verify C... --subject=supervisor-110101001001
//   wangge case file C... --urgency=urgent
//   wangge case check C... [--fail --note=...] --subject=supervisor-...
//   wangge case close C... --closing_type=normal
//   wangge case list 110101 --status=filed | case timeline C... | case watch
//   wangge task queue sanitation-110101 | task accept task/C.../1
//       --department=sanitation-110101 | task handled ... --note=...
//   wangge task approve task/C.../1 --redispatch=urban_management-110101
//   wangge evaluation 110101 [--from=... --to=...]
//   wangge redline org street-510101001 --area=510101001 --name=...
//       --kind=working_committee | redline assign m-1 --org=... --area=...
//   wangge coverage 510101001 [--as_of=...]
//   wangge notice list|watch --subject=m-1 | notice ack|act|resolve ID
//   wangge load [--duration=60s --rate=500 --concurrency=64]
//   wangge audit verify|replay|timeline|... (the audit tool's commands)
//   wangge wish record AREA --text=... | wish claim|fulfil W... --subject=m-1
//   wangge participation 510101
//   wangge demo   (the whole loop on the live stack, moving its dev clock)
//
// Addresses default to the local stack (deploy/local/run.sh): intake 7101,
// supervision 7102, dispatch 7103, oversight 7104, registry 7105; --addr
// overrides. Without --token, a development token for the command's role is
// minted from --key_file (var/dev/jwt.key). --json prints JSON.

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "services/cli/audit_command.h"
#include "services/cli/case_commands.h"
#include "services/cli/cli_support.h"
#include "services/cli/demo_command.h"
#include "services/cli/load_command.h"
#include "services/cli/oversight_commands.h"
#include "services/common/auth/token.h"
#include "services/common/clock/proto_time.h"
#include "services/common/files/files.h"
#include "services/common/files/gzip.h"
#include "services/common/status/errors.h"
#include "services/common/status/grpc_status.h"
#include "services/registry/domain/registry_state.h"
#include "wangge/common/v1/eventlog.grpc.pb.h"
#include "wangge/intake/v1/intake.grpc.pb.h"
#include "wangge/registry/v1/registry.grpc.pb.h"

ABSL_FLAG(std::string, category, "event/05/0505", "report: catalogue class");
ABSL_FLAG(std::string, description, "", "report: what is wrong");
ABSL_FLAG(std::string, coordinate_system, "wgs84",
          "report: wgs84, cgcs2000, gcj02 or bd09");

namespace {

using namespace wangge;
using namespace wangge::cli;

void PrintArea(const registry::v1::Area& a) {
  if (absl::GetFlag(FLAGS_json)) return Print(a);
  std::printf("%-18s %-24s %-18s %s%s\n", a.code().c_str(), a.level().c_str(),
              a.parent_code().c_str(), a.name().c_str(),
              a.dedicated() ? "  (dedicated)" : "");
}

int Registry(const std::vector<char*>& args) {
  if (args.size() < 3) {
    return Fail("registry import|export|locate|area|list|resolve|staff ...");
  }
  auto token =
      Token(absl::GetFlag(FLAGS_token).empty() ? absl::GetFlag(FLAGS_role)
                                               : "administrator");
  if (!token.ok()) return Fail(std::string(token.status().message()));
  auto stub = registry::v1::RegistryService::NewStub(Channel("registry"));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + *token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  const std::string verb = args[2];
  absl::Time as_of = absl::InfinitePast();
  if (!absl::GetFlag(FLAGS_as_of).empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_as_of), &as_of,
                         &err)) {
      return Fail("--as_of: " + err);
    }
  }
  if (verb == "import" && args.size() == 4) {
    auto json = files::ReadFileToString(args[3]);
    if (!json.ok()) return Fail(std::string(json.status().message()));
    registry::v1::ImportDeploymentRequest r;
    r.set_request_id(absl::GetFlag(FLAGS_request_id).empty()
                         ? absl::StrCat("file:", args[3], ":", json->size())
                         : absl::GetFlag(FLAGS_request_id));
    // Gzipped: a city-sized deployment is larger than a request may be.
    auto packed = files::Gzip(*json);
    if (!packed.ok()) return Fail(std::string(packed.status().message()));
    r.set_deployment_json_gzip(*std::move(packed));
    registry::v1::ImportDeploymentResponse resp;
    grpc::Status s = stub->ImportDeployment(&ctx, r, &resp);
    if (!s.ok()) return ReportError(s);
    if (absl::GetFlag(FLAGS_json)) {
      Print(resp);
    } else {
      std::printf("imported %u areas (policy version %s)\n", resp.areas(),
                  resp.policy_version().c_str());
    }
    return 0;
  }
  if (verb == "locate" && args.size() == 5) {
    registry::v1::LocatePointRequest r;
    double lon, lat;
    if (!absl::SimpleAtod(args[3], &lon) || !absl::SimpleAtod(args[4], &lat)) {
      return Fail("locate LON LAT");
    }
    r.mutable_point()->set_longitude(lon);
    r.mutable_point()->set_latitude(lat);
    if (as_of != absl::InfinitePast()) *r.mutable_as_of() = ToProto(as_of);
    registry::v1::Area a;
    grpc::Status s = stub->LocatePoint(&ctx, r, &a);
    if (!s.ok()) return ReportError(s);
    PrintArea(a);
    return 0;
  }
  if (verb == "area" && args.size() == 4) {
    registry::v1::GetAreaRequest r;
    r.set_code(args[3]);
    if (as_of != absl::InfinitePast()) *r.mutable_as_of() = ToProto(as_of);
    registry::v1::Area a;
    grpc::Status s = stub->GetArea(&ctx, r, &a);
    if (!s.ok()) return ReportError(s);
    PrintArea(a);
    return 0;
  }
  if (verb == "list" && args.size() <= 4) {
    registry::v1::ListAreasRequest r;
    if (args.size() == 4) r.set_parent_code(args[3]);
    r.set_page_size(1000);
    if (as_of != absl::InfinitePast()) *r.mutable_as_of() = ToProto(as_of);
    registry::v1::ListAreasResponse resp;
    grpc::Status s = stub->ListAreas(&ctx, r, &resp);
    if (!s.ok()) return ReportError(s);
    if (absl::GetFlag(FLAGS_json)) {
      Print(resp);
    } else {
      for (const auto& a : resp.areas()) PrintArea(a);
    }
    return 0;
  }
  if (verb == "resolve" && args.size() == 5) {
    // resolve CATEGORY AREA_CODE|COMPONENT_ID
    registry::v1::ResolveDepartmentRequest r;
    r.set_category_code(args[3]);
    const std::string target = args[4];
    if (target.size() == 16) {
      r.set_component_id(target);
    } else {
      r.set_area_code(target);
    }
    if (as_of != absl::InfinitePast()) *r.mutable_as_of() = ToProto(as_of);
    registry::v1::ResolveDepartmentResponse resp;
    grpc::Status s = stub->ResolveDepartment(&ctx, r, &resp);
    if (!s.ok()) return ReportError(s);
    if (absl::GetFlag(FLAGS_json)) {
      Print(resp);
    } else {
      std::printf(
          "%s%s (policy %s)\n", resp.department().c_str(),
          resp.locality_fallback() ? "  [locality fallback 属地兜底]" : "",
          resp.policy_version().c_str());
    }
    return 0;
  }
  if (verb == "staff" && args.size() == 4) {
    registry::v1::ListStaffRequest r;
    r.set_area_code(args[3]);
    if (absl::GetFlag(FLAGS_role) != "administrator")
      r.set_role(absl::GetFlag(FLAGS_role));
    if (as_of != absl::InfinitePast()) *r.mutable_as_of() = ToProto(as_of);
    registry::v1::ListStaffResponse resp;
    grpc::Status s = stub->ListStaff(&ctx, r, &resp);
    if (!s.ok()) return ReportError(s);
    if (absl::GetFlag(FLAGS_json)) {
      Print(resp);
    } else {
      for (const auto& m : resp.staff()) {
        std::printf("%-40s %-20s %s\n", m.staff_id().c_str(), m.role().c_str(),
                    m.department().c_str());
      }
    }
    return 0;
  }
  if (verb == "export" && args.size() == 3) {
    // The import format, to standard output (gzipped on the wire).
    registry::v1::ExportDeploymentRequest r;
    if (as_of != absl::InfinitePast()) *r.mutable_as_of() = ToProto(as_of);
    r.set_gzip(true);
    registry::v1::ExportDeploymentResponse resp;
    grpc::Status s = stub->ExportDeployment(&ctx, r, &resp);
    if (!s.ok()) return ReportError(s);
    auto json = files::Gunzip(resp.deployment_json_gzip(),
                              registry::kMaxDeploymentJsonBytes);
    if (!json.ok()) return Fail(std::string(json.status().message()));
    std::fwrite(json->data(), 1, json->size(), stdout);
    return 0;
  }
  return Fail(
      "registry import FILE | export [--as_of=T] | locate LON LAT | area CODE "
      "| list [PARENT] | resolve CATEGORY AREA|COMPONENT | staff AREA "
      "[--role=...]");
}

// A client context with a bearer token; reports default to a development
// token of the 12345 hotline channel.
absl::StatusOr<std::unique_ptr<grpc::ClientContext>> ChannelContext() {
  if (absl::GetFlag(FLAGS_role) == "administrator")
    absl::SetFlag(&FLAGS_role, "channel");
  if (absl::GetFlag(FLAGS_channel).empty())
    absl::SetFlag(&FLAGS_channel, "12345");
  auto token = Token(absl::GetFlag(FLAGS_role));
  if (!token.ok()) return token.status();
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer " + *token);
  return ctx;
}

int Report(const std::vector<char*>& args) {
  double lon, lat;
  if (args.size() != 4 || !absl::SimpleAtod(args[2], &lon) ||
      !absl::SimpleAtod(args[3], &lat)) {
    return Fail("report LON LAT --description=... [--category=event/05/0505]");
  }
  // Reports come from channels (or supervisors, grid workers).
  auto ctx = ChannelContext();
  if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
  intake::v1::ReportCaseRequest r;
  r.set_request_id(absl::GetFlag(FLAGS_request_id).empty()
                       ? absl::StrCat("cli-", absl::ToUnixNanos(absl::Now()))
                       : absl::GetFlag(FLAGS_request_id));
  r.set_category_code(absl::GetFlag(FLAGS_category));
  r.set_description(absl::GetFlag(FLAGS_description));
  auto* p = r.mutable_location()->mutable_point();
  p->set_longitude(lon);
  p->set_latitude(lat);
  const std::string cs = absl::GetFlag(FLAGS_coordinate_system);
  p->set_coordinate_system(cs == "gcj02"  ? common::v1::COORDINATE_SYSTEM_GCJ02
                           : cs == "bd09" ? common::v1::COORDINATE_SYSTEM_BD09
                           : cs == "cgcs2000"
                               ? common::v1::COORDINATE_SYSTEM_CGCS2000
                               : common::v1::COORDINATE_SYSTEM_WGS84);
  auto stub = intake::v1::IntakeService::NewStub(Channel("intake"));
  intake::v1::ReportCaseResponse resp;
  grpc::Status s = stub->ReportCase(ctx->get(), r, &resp);
  if (!s.ok()) return ReportError(s);
  if (absl::GetFlag(FLAGS_json)) {
    Print(resp);
  } else {
    std::printf("case %s in area %s\n", resp.case_id().c_str(),
                resp.area_code().c_str());
  }
  return 0;
}

int ReportGet(const std::vector<char*>& args) {
  if (args.size() != 3) return Fail("report-get CASE_ID");
  auto ctx = ChannelContext();
  if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
  auto stub = intake::v1::IntakeService::NewStub(Channel("intake"));
  intake::v1::GetReportRequest r;
  r.set_case_id(args[2]);
  intake::v1::Report report;
  grpc::Status s = stub->GetReport(ctx->get(), r, &report);
  if (!s.ok()) return ReportError(s);
  Print(report);
  return 0;
}

int Heads(const std::vector<char*>& args) {
  if (args.size() != 3 || !kPorts.count(args[2])) {
    return Fail("heads intake|supervision|dispatch|oversight|registry");
  }
  auto token = Token("auditor");
  if (!token.ok()) return Fail(std::string(token.status().message()));
  auto stub = common::v1::EventLog::NewStub(Channel(args[2]));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + *token);
  common::v1::GetLogHeadsResponse resp;
  grpc::Status s = stub->GetLogHeads(&ctx, {}, &resp);
  if (!s.ok()) return ReportError(s);
  if (absl::GetFlag(FLAGS_json)) {
    Print(resp);
    return 0;
  }
  uint64_t total = 0;
  for (int p = 0; p < resp.heads_size(); ++p) {
    std::printf("%s partition %d: %llu events\n", resp.service().c_str(), p,
                static_cast<unsigned long long>(resp.heads(p)));
    total += resp.heads(p);
  }
  std::printf("%s total: %llu events\n", resp.service().c_str(),
              static_cast<unsigned long long>(total));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The audit tool's own flags pass through untouched, with the ones given
  // before the command (`wangge --key_file=... audit verify ...`, as the
  // README's alias has it).
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    if (std::string(argv[i]) != "audit") break;
    std::vector<char*> rest(argv + 1, argv + i);
    rest.insert(rest.end(), argv + i + 1, argv + argc);
    return wangge::cli::ExecAudit(argv[0], static_cast<int>(rest.size()),
                                  rest.data());
  }
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) {
    return Fail(
        "commands: token, registry, report, report-get, case, task, "
        "evaluation, redline, coverage, notice, wish, participation, demo, "
        "heads, load, audit "
        "(see --help)");
  }
  const std::string command = args[1];
  if (command == "token") {
    auto token = Token(absl::GetFlag(FLAGS_role));
    if (!token.ok()) return Fail(std::string(token.status().message()));
    std::printf("%s\n", token->c_str());
    return 0;
  }
  if (command == "registry") return Registry(args);
  if (command == "heads") return Heads(args);
  if (command == "report") return Report(args);
  if (command == "report-get") return ReportGet(args);
  if (command == "case") return CaseCommand(args);
  if (command == "task") return TaskCommand(args);
  if (command == "evaluation") return EvaluationCommand(args);
  if (command == "demo") return DemoCommand(args);
  if (command == "load") return LoadCommand(args);
  if (command == "redline") return RedLineCommand(args);
  if (command == "coverage") return CoverageCommand(args);
  if (command == "notice") return NoticeCommand(args);
  if (command == "wish") return WishCommand(args);
  if (command == "participation") return ParticipationCommand(args);
  return Fail("unknown command " + command);
}
