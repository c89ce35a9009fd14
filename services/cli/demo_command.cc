#include "services/cli/demo_command.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/cli/areas.h"
#include "services/cli/audit_command.h"
#include "services/cli/case_commands.h"
#include "services/cli/cli_support.h"
#include "services/common/files/files.h"
#include "wangge/dispatch/v1/dispatch.grpc.pb.h"
#include "wangge/intake/v1/intake.grpc.pb.h"
#include "wangge/oversight/v1/oversight.grpc.pb.h"
#include "wangge/registry/v1/registry.grpc.pb.h"
#include "wangge/supervision/v1/supervision.grpc.pb.h"

ABSL_FLAG(std::string, clock_file, "",
          "demo: the stack's --dev_clock_offset_file (time is moved through "
          "it to reach deadlines); default <stack_dir>/dev/clock.offset");
ABSL_FLAG(std::string, stack_dir, "var",
          "demo: the stack's data directory, run.sh's WANGGE_VAR (services' "
          "public signing keys under <dir>/<service>/signing-key.pub.pem)");
ABSL_FLAG(std::string, district, "510101",
          "demo: the district to report in (Chengdu-style, with its red "
          "line loaded)");

ABSL_DECLARE_FLAG(std::string, from);
ABSL_DECLARE_FLAG(std::string, to);

namespace wangge::cli {
namespace {

namespace sv = supervision::v1;
namespace dv = dispatch::v1;
namespace ov = oversight::v1;

class Demo {
 public:
  explicit Demo(const char* self) : self_(self) {}
  int Run();

 private:
  std::unique_ptr<grpc::ClientContext> As(const std::string& role,
                                          const std::string& subject,
                                          const std::string& department = "",
                                          const std::string& channel = "") {
    auto token = MintToken(role, subject, department, channel);
    return ContextWithToken(token.ok() ? *token : "");
  }
  bool Ok(const grpc::Status& s, const std::string& step) {
    if (s.ok()) return true;
    std::printf("  FAILED at %s:\n", step.c_str());
    ReportError(s);
    return false;
  }
  void Say(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
  // Polls `check` every 100 ms for up to 60 s.
  bool Until(const std::string& what, const std::function<bool()>& check) {
    for (int i = 0; i < 600; ++i) {
      if (check()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    std::printf("  FAILED waiting for %s\n", what.c_str());
    return false;
  }
  bool MoveClock(absl::Duration by) {
    const std::string file =
        absl::GetFlag(FLAGS_clock_file).empty()
            ? absl::GetFlag(FLAGS_stack_dir) + "/dev/clock.offset"
            : absl::GetFlag(FLAGS_clock_file);
    double seconds = 0;
    std::ifstream(file) >> seconds;
    seconds += absl::ToDoubleSeconds(by);
    if (!files::WriteFileAtomically(file, absl::StrCat(seconds, "\n")).ok()) {
      std::printf("  cannot write %s: is the stack started by run.sh?\n",
                  file.c_str());
      return false;
    }
    Say(absl::StrCat("  (the stack's clock moves on ", absl::FormatDuration(by),
                     ")"));
    return true;
  }
  bool CaseIs(sv::CaseStatus status) {
    auto ctx = As("shift_leader", "demo");
    sv::GetCaseRequest r;
    r.set_case_id(case_id_);
    sv::Case c;
    return sup_->GetCase(ctx.get(), r, &c).ok() && c.status() == status;
  }
  bool GetTask(const std::string& id, dv::Task* t) {
    auto ctx = As("dispatcher", "dispatcher-demo");
    dv::GetTaskRequest r;
    r.set_task_id(id);
    return disp_->GetTask(ctx.get(), r, t).ok();
  }
  bool Notice(ov::Notice* out) {
    auto ctx = As("administrator", "demo");
    ov::ListNoticesRequest r;
    ov::ListNoticesResponse resp;
    if (!over_->ListNotices(ctx.get(), r, &resp).ok()) return false;
    for (const auto& n : resp.notices()) {
      if (n.case_id() == case_id_) {
        *out = n;
        return true;
      }
    }
    return false;
  }
  bool TaskAction(const char* what, const std::string& task,
                  const std::string& department, const std::string& text) {
    auto ctx = As("department_handler", "handler-" + department, department);
    dv::TaskActionRequest r;
    r.set_request_id(absl::StrCat("demo-", what, "-", task));
    r.set_task_id(task);
    r.set_reason(text);
    r.set_note(text);
    dv::TaskCommandResponse resp;
    grpc::Status s;
    const std::string w = what;
    if (w == "accept") s = disp_->AcceptTask(ctx.get(), r, &resp);
    if (w == "send-back") s = disp_->RequestSendBack(ctx.get(), r, &resp);
    if (w == "handled") s = disp_->ReportHandled(ctx.get(), r, &resp);
    return Ok(s, absl::StrCat(what, " ", task));
  }
  bool Check(bool passed) {
    auto ctx = As("supervisor", supervisor_);
    sv::CheckCaseRequest r;
    r.set_request_id(absl::StrCat("demo-check-", case_id_, "-", checks_++));
    r.set_case_id(case_id_);
    r.set_passed(passed);
    r.set_note(passed ? "clean and safe" : "still broken");
    sv::CaseCommandResponse resp;
    return Ok(sup_->CheckCase(ctx.get(), r, &resp), "check");
  }

  std::unique_ptr<sv::SupervisionService::Stub> sup_ =
      sv::SupervisionService::NewStub(Channel("supervision"));
  std::unique_ptr<dv::DispatchService::Stub> disp_ =
      dv::DispatchService::NewStub(Channel("dispatch"));
  std::unique_ptr<ov::OversightService::Stub> over_ =
      ov::OversightService::NewStub(Channel("oversight"));
  const char* const self_;
  std::string case_id_, area_, supervisor_;
  int checks_ = 0;
};

int Demo::Run() {
  // 1. A point in a micro-grid whose red line is complete.
  auto registry = registry::v1::RegistryService::NewStub(Channel("registry"));
  std::vector<registry::v1::Area> streets;
  {
    auto ctx = As("administrator", "demo");
    registry::v1::ListAreasRequest r;
    r.set_parent_code(absl::GetFlag(FLAGS_district));
    r.set_page_size(1000);
    registry::v1::ListAreasResponse resp;
    if (!Ok(registry->ListAreas(ctx.get(), r, &resp), "list streets")) return 1;
    streets.assign(resp.areas().begin(), resp.areas().end());
  }
  if (streets.empty()) {
    Say("no streets in the district: is the demo deployment loaded?");
    return 1;
  }
  // The first micro-grid of a street is the demo line's deliberate gap.
  auto micro = LeafGrids(streets[0].code(), 2);
  if (!micro.ok() || micro->size() < 2) {
    Say("no micro-grids in the district: is the demo deployment loaded?");
    return 1;
  }
  const double lon = (*micro)[1].longitude, lat = (*micro)[1].latitude;

  Say("1. A resident reports through the public app (公众号):");
  {
    auto ctx = As("channel", "app-gateway", "", "app");
    intake::v1::ReportCaseRequest r;
    r.set_request_id(absl::StrCat("demo-", absl::ToUnixMillis(absl::Now())));
    r.set_category_code("component/01/0101");
    r.set_description("上水井盖缺失 a missing water-supply manhole cover");
    r.mutable_location()->mutable_point()->set_longitude(lon);
    r.mutable_location()->mutable_point()->set_latitude(lat);
    r.mutable_location()->mutable_point()->set_coordinate_system(
        common::v1::COORDINATE_SYSTEM_WGS84);
    r.mutable_reporter()->set_name("王女士");
    r.mutable_reporter()->set_phone("13900000000");
    intake::v1::ReportCaseResponse resp;
    auto stub = intake::v1::IntakeService::NewStub(Channel("intake"));
    if (!Ok(stub->ReportCase(ctx.get(), r, &resp), "report")) return 1;
    case_id_ = resp.case_id();
    area_ = resp.area_code();
    supervisor_ = "supervisor-" + area_.substr(0, 12);
    Say(absl::StrCat("   case ", case_id_, " in area ", area_));
  }
  if (!Until("the case file",
             [&] { return CaseIs(sv::CASE_STATUS_VERIFYING); }))
    return 1;

  Say(absl::StrCat("2. The receptionist (受理员) sends supervisor ",
                   supervisor_,
                   ", who verifies on site (核实); the shift leader files it "
                   "(立案):"));
  {
    auto rctx = As("receptionist", "receptionist-demo");
    sv::AssignVerificationRequest a;
    a.set_request_id("demo-assign-" + case_id_);
    a.set_case_id(case_id_);
    a.set_supervisor_id(supervisor_);
    sv::CaseCommandResponse assigned;
    if (!Ok(sup_->AssignVerification(rctx.get(), a, &assigned), "assign")) {
      return 1;
    }
    auto ctx = As("supervisor", supervisor_);
    sv::VerifyCaseRequest r;
    r.set_request_id("demo-verify-" + case_id_);
    r.set_case_id(case_id_);
    r.set_confirmed(true);
    sv::CaseCommandResponse resp;
    if (!Ok(sup_->VerifyCase(ctx.get(), r, &resp), "verify")) return 1;
    auto fctx = As("shift_leader", "shift_leader-demo");
    sv::FileCaseRequest f;
    f.set_request_id("demo-file-" + case_id_);
    f.set_case_id(case_id_);
    f.set_urgency(sv::URGENCY_ORDINARY);
    f.set_filing_criterion("confirmed on site");
    if (!Ok(sup_->FileCase(fctx.get(), f, &resp), "file")) return 1;
  }
  dv::Task task;
  if (!Until("the dispatch",
             [&] { return GetTask("task/" + case_id_ + "/1", &task); }))
    return 1;
  const std::string first_department = task.department();
  Say(absl::StrCat("3. The command centre dispatched it to ", first_department,
                   ", due ", ShortTime(task.due_time())));
  // 4. Sent back and re-dispatched.
  const std::string second_department =
      absl::StrCat("urban_management-", absl::GetFlag(FLAGS_district));
  Say(absl::StrCat("4. ", first_department, " sends it back (回退); the ",
                   "dispatcher re-dispatches to ", second_department, ":"));
  if (!TaskAction("send-back", task.task_id(), first_department,
                  "the cover belongs to another department"))
    return 1;
  {
    auto ctx = As("dispatcher", "dispatcher-demo");
    dv::DecideRequestRequest r;
    r.set_request_id("demo-approve-" + case_id_);
    r.set_task_id(task.task_id());
    r.set_decision(dv::DECISION_APPROVE);
    r.set_redispatch_department(second_department);
    dv::TaskCommandResponse resp;
    if (!Ok(disp_->DecideRequest(ctx.get(), r, &resp), "approve send-back"))
      return 1;
  }
  if (!Until("task 2",
             [&] { return GetTask("task/" + case_id_ + "/2", &task); }))
    return 1;
  Say("5. It accepts (签收) and reports it handled; the supervisor's check "
      "fails (核查 → 返工):");
  if (!TaskAction("accept", task.task_id(), second_department, "") ||
      !TaskAction("handled", task.task_id(), second_department,
                  "a temporary cover"))
    return 1;
  if (!Until("the result", [&] { return CaseIs(sv::CASE_STATUS_HANDLED); }) ||
      !Check(false))
    return 1;
  if (!Until("the rework",
             [&] { return GetTask("task/" + case_id_ + "/3", &task); }))
    return 1;
  Say(absl::StrCat("   rework: ", task.task_id(), " to ", task.department()));
  if (!TaskAction("accept", task.task_id(), second_department, "")) return 1;

  Say("6. Nobody finishes it in time. Ten days pass:");
  if (!MoveClock(absl::Hours(24 * 10))) return 1;
  if (!Until("the overdue timer",
             [&] { return GetTask(task.task_id(), &task) && task.overdue(); }))
    return 1;
  ov::Notice notice;
  if (!Until("the notice (督办)", [&] { return Notice(&notice); })) return 1;
  Say(absl::StrCat("   TaskOverdue; notice ", notice.notice_id(), " to ",
                   notice.overseer_id(), " (area ", notice.area_code(), ")"));
  Say("7. The overseer does not acknowledge; it climbs the red line "
      "(一根红线) twice:");
  for (uint32_t level = 1; level <= 2; ++level) {
    if (!MoveClock(absl::Minutes(121))) return 1;
    if (!Until("the escalation", [&] {
          return Notice(&notice) && notice.escalation_level() == level;
        }))
      return 1;
    Say(absl::StrCat("   level ", level, ": ", notice.overseer_id(), " (area ",
                     notice.area_code(), ")"));
  }
  Say("8. The department finishes; the check passes; the shift leader closes "
      "it as overdue (超时结案); the notice resolves itself:");
  if (!TaskAction("handled", task.task_id(), second_department,
                  "new cover fitted"))
    return 1;
  if (!Until("the result", [&] { return CaseIs(sv::CASE_STATUS_HANDLED); }) ||
      !Check(true))
    return 1;
  {
    auto ctx = As("shift_leader", "shift_leader-demo");
    sv::CloseCaseRequest r;
    r.set_request_id("demo-close-" + case_id_);
    r.set_case_id(case_id_);
    r.set_closing_type(sv::CLOSING_TYPE_OVERDUE);
    sv::CaseCommandResponse resp;
    if (!Ok(sup_->CloseCase(ctx.get(), r, &resp), "close")) return 1;
  }
  if (!Until("the notice's resolution", [&] {
        return Notice(&notice) && notice.status() == ov::NOTICE_STATUS_RESOLVED;
      }))
    return 1;
  Say("9. The follow-up agent calls the resident (回访) through intake's "
      "audited contact read:");
  {
    auto ctx = As("follow_up_agent", "follow_up_agent-demo");
    intake::v1::RevealReporterContactRequest r;
    r.set_case_id(case_id_);
    r.set_purpose("回访 follow-up call");
    intake::v1::ReporterContact contact;
    auto stub = intake::v1::IntakeService::NewStub(Channel("intake"));
    if (!Ok(stub->RevealReporterContact(ctx.get(), r, &contact), "reveal"))
      return 1;
    Say(absl::StrCat("   calls ", contact.name(), " at ", contact.phone()));
  }
  grpc::Status followed;
  if (!Until("the follow-up",
             [&] {
               auto ctx = As("follow_up_agent", "follow_up_agent-demo");
               sv::RecordFollowUpRequest r;
               r.set_request_id("demo-follow-up-" + case_id_);
               r.set_case_id(case_id_);
               r.set_satisfaction(sv::SATISFACTION_BASICALLY_SATISFIED);
               r.set_solved(true);
               r.set_note("fixed, but late");
               sv::CaseCommandResponse resp;
               followed = sup_->RecordFollowUp(ctx.get(), r, &resp);
               return followed.error_code() !=
                      grpc::StatusCode::FAILED_PRECONDITION;
             }) ||
      !Ok(followed, "follow-up"))
    return 1;
  Say("\n10. The case's timeline, from every service:");
  std::vector<std::string> timeline = {"wangge", "case", "timeline", case_id_};
  std::vector<char*> argv;
  for (auto& a : timeline) argv.push_back(a.data());
  if (CaseCommand(argv) != 0) return 1;
  Say(absl::StrCat("\n11. Evaluation of ", absl::GetFlag(FLAGS_district),
                   " (综合评价):"));
  std::vector<std::string> evaluation = {"wangge", "evaluation",
                                         absl::GetFlag(FLAGS_district)};
  argv.clear();
  for (auto& a : evaluation) argv.push_back(a.data());
  // From today to past the moved clock.
  absl::SetFlag(&FLAGS_from, absl::FormatTime(absl::RFC3339_full,
                                              absl::Now() - absl::Hours(24),
                                              absl::UTCTimeZone()));
  absl::SetFlag(&FLAGS_to, absl::FormatTime(absl::RFC3339_full,
                                            absl::Now() + absl::Hours(24 * 30),
                                            absl::UTCTimeZone()));
  if (EvaluationCommand(argv) != 0) return 1;
  Say("\n12. The auditor verifies every service's history (hashes, Merkle "
      "roots, signed checkpoints, the separation rules):");
  std::string addrs = "--addr=", keys = "--public_keys=";
  for (const char* service :
       {"intake", "supervision", "dispatch", "oversight", "registry"}) {
    absl::StrAppend(&addrs, service, "=", Address(service), ",");
    absl::StrAppend(&keys, service, "=", absl::GetFlag(FLAGS_stack_dir), "/",
                    service, "/signing-key.pub.pem,");
  }
  addrs.pop_back();
  keys.pop_back();
  Say(absl::StrCat("   wangge audit verify ", addrs, " ", keys,
                   " --key_file=", absl::GetFlag(FLAGS_key_file)));
  if (RunAudit(self_, {"verify", addrs, keys,
                       "--key_file=" + absl::GetFlag(FLAGS_key_file)}) != 0) {
    Say("  FAILED: the audit found violations (above)");
    return 1;
  }
  return 0;
}

}  // namespace

int DemoCommand(const std::vector<char*>& args) {
  if (args.size() != 2) return Fail("demo [--clock_file=...] [--district=...]");
  Demo demo(args[0]);
  return demo.Run();
}

}  // namespace wangge::cli
