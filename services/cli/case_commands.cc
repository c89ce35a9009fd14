#include "services/cli/case_commands.h"

#include <cstdio>
#include <map>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "services/cli/cli_support.h"
#include "services/common/clock/proto_time.h"
#include "wangge/dispatch/v1/dispatch.grpc.pb.h"
#include "wangge/supervision/v1/supervision.grpc.pb.h"

ABSL_FLAG(std::string, note, "", "case/task: a note, a result");
ABSL_FLAG(std::string, reason, "", "case/task: a reason");
ABSL_FLAG(bool, refute, false, "case verify: the report is false");
ABSL_FLAG(std::string, supervisor, "",
          "case assign: the supervisor sent to verify");
ABSL_FLAG(bool, fail, false, "case check: the result is not acceptable");
ABSL_FLAG(std::string, urgency, "ordinary",
          "case file: ordinary, urgent or emergency");
ABSL_FLAG(std::string, criterion, "confirmed on site",
          "case file: filing criterion (立案条件)");
ABSL_FLAG(std::string, duplicate_of, "", "case void: the surviving case");
ABSL_FLAG(std::string, closing_type, "normal",
          "case close: normal, overdue, in_error or special");
ABSL_FLAG(std::string, satisfaction, "satisfied",
          "case follow-up: satisfied, basically_satisfied or unsatisfied");
ABSL_FLAG(bool, solved, true, "case follow-up: the problem is solved");
ABSL_FLAG(std::string, status, "", "case list: a status (filed, closed, ...)");
ABSL_FLAG(bool, overdue, false, "case list: overdue cases only");
ABSL_FLAG(uint32_t, minutes, 0, "task extend: minutes asked for");
ABSL_FLAG(std::string, redispatch, "",
          "task approve (a send-back): the department to re-dispatch to");
ABSL_FLAG(std::string, from, "", "evaluation: window start (RFC 3339)");
ABSL_FLAG(std::string, to, "", "evaluation: window end (RFC 3339)");

namespace wangge::cli {
namespace {

namespace sv = supervision::v1;
namespace dv = dispatch::v1;

std::string Lower(std::string s) { return absl::AsciiStrToLower(s); }

std::string CaseStatusName(sv::CaseStatus s) {
  return Lower(sv::CaseStatus_Name(s).substr(12));  // "CASE_STATUS_"
}

std::string TaskStatusName(dv::TaskStatus s) {
  return Lower(dv::TaskStatus_Name(s).substr(12));  // "TASK_STATUS_"
}

void PrintCaseRow(const sv::Case& c) {
  if (JsonOutput()) return Print(c);
  std::printf("%-20s %-16s %-16s %-26s due %-16s%s%s  [%s]\n",
              c.case_id().c_str(), CaseStatusName(c.status()).c_str(),
              c.area_code().c_str(), c.department().c_str(),
              ShortTime(c.due_time()).c_str(), c.overdue() ? "  OVERDUE" : "",
              c.rework_count()
                  ? absl::StrCat("  rework ", c.rework_count()).c_str()
                  : "",
              c.fixmystreet_status().c_str());
}

void PrintTaskRow(const dv::Task& t) {
  if (JsonOutput()) return Print(t);
  const char* colour = t.colour() == dv::STAGE_COLOUR_RED      ? "red"
                       : t.colour() == dv::STAGE_COLOUR_YELLOW ? "yellow"
                                                               : "green";
  std::printf("%-32s %-22s %-26s due %-16s %-6s%s\n", t.task_id().c_str(),
              TaskStatusName(t.status()).c_str(), t.department().c_str(),
              ShortTime(t.due_time()).c_str(), colour,
              t.overdue() ? "  OVERDUE" : "");
}

int Done(const grpc::Status& s, const google::protobuf::Message& response,
         const std::string& text) {
  if (!s.ok()) return ReportError(s);
  if (JsonOutput()) {
    Print(response);
  } else {
    std::printf("%s\n", text.c_str());
  }
  return 0;
}

absl::StatusOr<absl::Time> TimeFlag(const std::string& value,
                                    absl::Time otherwise) {
  if (value.empty()) return otherwise;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, value, &t, &err)) {
    return absl::InvalidArgumentError(err);
  }
  return t;
}

}  // namespace

int CaseCommand(const std::vector<char*>& args) {
  const char* kUsage =
      "case get|timeline|assign|verify|file|reject|void|check|close|follow-up "
      "ID | "
      "case list [AREA] [--status=...] [--overdue] | case watch [AREA]";
  if (args.size() < 3) return Fail(kUsage);
  const std::string verb = args[2];
  const std::string id = args.size() > 3 ? args[3] : "";
  auto stub = sv::SupervisionService::NewStub(Channel("supervision"));
  auto need_id = [&]() { return id.empty() ? Fail(kUsage) : 0; };
  sv::CaseCommandResponse done;
  auto summary = [&]() {
    return absl::StrCat("case ", done.case_id(), ": ",
                        CaseStatusName(done.status()));
  };
  if (verb == "get") {
    if (need_id()) return 2;
    auto ctx = Context("shift_leader");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    sv::GetCaseRequest r;
    r.set_case_id(id);
    sv::Case c;
    grpc::Status s = stub->GetCase(ctx->get(), r, &c);
    if (!s.ok()) return ReportError(s);
    if (JsonOutput()) {
      Print(c);
    } else {
      PrintCaseRow(c);
      std::printf(
          "  category %s, reported %s, updated %s; Open311 %s\n",
          c.category_code().c_str(), ShortTime(c.reported_time()).c_str(),
          ShortTime(c.updated_time()).c_str(), c.open311_status().c_str());
    }
    return 0;
  }
  if (verb == "list") {
    sv::ListCasesRequest r;
    r.set_area_code(id);
    if (!absl::GetFlag(FLAGS_status).empty()) {
      sv::CaseStatus status;
      if (!sv::CaseStatus_Parse(
              "CASE_STATUS_" +
                  absl::AsciiStrToUpper(absl::GetFlag(FLAGS_status)),
              &status)) {
        return Fail(
            "--status: reported, verifying, awaiting_filing, filed, "
            "handled, check_passed, closed, not_accepted, voided");
      }
      r.set_status(status);
    }
    r.set_overdue_only(absl::GetFlag(FLAGS_overdue));
    r.set_page_size(1000);
    sv::ListCasesResponse resp;
    grpc::Status s = ListPages(
        "shift_leader", r, 1000,
        [&](grpc::ClientContext* c, const sv::ListCasesRequest& q,
            sv::ListCasesResponse* page) {
          return stub->ListCases(c, q, page);
        },
        [](const sv::ListCasesResponse& all) { return all.cases_size(); },
        &resp);
    if (!s.ok()) return ReportError(s);
    if (JsonOutput()) return Print(resp), 0;
    for (const auto& c : resp.cases()) PrintCaseRow(c);
    std::printf("%d cases\n", resp.cases_size());
    return 0;
  }
  if (verb == "timeline") {
    if (need_id()) return 2;
    auto ctx = Context("shift_leader");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    sv::GetCaseTimelineRequest r;
    r.set_case_id(id);
    sv::CaseTimeline t;
    grpc::Status s = stub->GetCaseTimeline(ctx->get(), r, &t);
    if (!s.ok()) return ReportError(s);
    if (JsonOutput()) return Print(t), 0;
    for (const auto& e : t.entries()) {
      const std::string type =
          e.event_type().substr(e.event_type().rfind('.') + 1);
      std::printf("%s  %-12s %-24s %-28s %s/%u/%llu\n",
                  ShortTime(e.occurred_time()).c_str(),
                  e.position().service().c_str(), type.c_str(),
                  e.actor().subject().c_str(), e.position().service().c_str(),
                  e.position().partition(),
                  static_cast<unsigned long long>(e.position().sequence()));
    }
    return 0;
  }
  if (verb == "watch") {
    auto ctx = Context("shift_leader");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    (*ctx)->set_deadline(std::chrono::system_clock::time_point::max());
    sv::WatchCasesRequest r;
    r.set_area_code(id);
    auto reader = stub->WatchCases(ctx->get(), r);
    sv::Case c;
    while (reader->Read(&c)) {
      PrintCaseRow(c);
      std::fflush(stdout);
    }
    grpc::Status s = reader->Finish();
    return s.ok() ? 0 : ReportError(s);
  }
  if (need_id()) return 2;
  grpc::Status s;
  if (verb == "assign") {
    auto ctx = Context("receptionist");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    sv::AssignVerificationRequest r;
    r.set_request_id(RequestId("assign"));
    r.set_case_id(id);
    r.set_supervisor_id(absl::GetFlag(FLAGS_supervisor));
    s = stub->AssignVerification(ctx->get(), r, &done);
  } else if (verb == "verify") {
    auto ctx = Context("supervisor");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    sv::VerifyCaseRequest r;
    r.set_request_id(RequestId("verify"));
    r.set_case_id(id);
    r.set_confirmed(!absl::GetFlag(FLAGS_refute));
    r.set_note(absl::GetFlag(FLAGS_note));
    s = stub->VerifyCase(ctx->get(), r, &done);
  } else if (verb == "file") {
    auto ctx = Context("shift_leader");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    sv::FileCaseRequest r;
    r.set_request_id(RequestId("file"));
    r.set_case_id(id);
    sv::Urgency urgency;
    if (!sv::Urgency_Parse(
            "URGENCY_" + absl::AsciiStrToUpper(absl::GetFlag(FLAGS_urgency)),
            &urgency)) {
      return Fail("--urgency: ordinary, urgent or emergency");
    }
    r.set_urgency(urgency);
    r.set_filing_criterion(absl::GetFlag(FLAGS_criterion));
    s = stub->FileCase(ctx->get(), r, &done);
  } else if (verb == "reject") {
    auto ctx = Context("shift_leader");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    sv::RejectCaseRequest r;
    r.set_request_id(RequestId("reject"));
    r.set_case_id(id);
    r.set_reason_code(absl::GetFlag(FLAGS_reason));
    s = stub->RejectCase(ctx->get(), r, &done);
  } else if (verb == "void") {
    auto ctx = Context("shift_leader");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    sv::VoidCaseRequest r;
    r.set_request_id(RequestId("void"));
    r.set_case_id(id);
    r.set_duplicate_of(absl::GetFlag(FLAGS_duplicate_of));
    r.set_reason(absl::GetFlag(FLAGS_reason));
    s = stub->VoidCase(ctx->get(), r, &done);
  } else if (verb == "check") {
    auto ctx = Context("supervisor");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    sv::CheckCaseRequest r;
    r.set_request_id(RequestId("check"));
    r.set_case_id(id);
    r.set_passed(!absl::GetFlag(FLAGS_fail));
    r.set_note(absl::GetFlag(FLAGS_note));
    s = stub->CheckCase(ctx->get(), r, &done);
  } else if (verb == "close") {
    auto ctx = Context("shift_leader");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    sv::CloseCaseRequest r;
    r.set_request_id(RequestId("close"));
    r.set_case_id(id);
    sv::ClosingType type;
    if (!sv::ClosingType_Parse(
            "CLOSING_TYPE_" +
                absl::AsciiStrToUpper(absl::GetFlag(FLAGS_closing_type)),
            &type)) {
      return Fail("--closing_type: normal, overdue, in_error or special");
    }
    r.set_closing_type(type);
    s = stub->CloseCase(ctx->get(), r, &done);
  } else if (verb == "follow-up") {
    auto ctx = Context("follow_up_agent");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    sv::RecordFollowUpRequest r;
    r.set_request_id(RequestId("follow-up"));
    r.set_case_id(id);
    sv::Satisfaction satisfaction;
    if (!sv::Satisfaction_Parse(
            "SATISFACTION_" +
                absl::AsciiStrToUpper(absl::GetFlag(FLAGS_satisfaction)),
            &satisfaction)) {
      return Fail(
          "--satisfaction: satisfied, basically_satisfied or unsatisfied");
    }
    r.set_satisfaction(satisfaction);
    r.set_solved(absl::GetFlag(FLAGS_solved));
    r.set_note(absl::GetFlag(FLAGS_note));
    s = stub->RecordFollowUp(ctx->get(), r, &done);
  } else {
    return Fail(kUsage);
  }
  return Done(s, done, summary());
}

int TaskCommand(const std::vector<char*>& args) {
  const char* kUsage =
      "task get|accept|send-back|extend|shelve|handled|approve|refuse|restore "
      "TASK_ID | task queue DEPARTMENT | task watch DEPARTMENT";
  if (args.size() < 4) return Fail(kUsage);
  const std::string verb = args[2];
  const std::string id = args[3];
  auto stub = dv::DispatchService::NewStub(Channel("dispatch"));
  // A department's handler: the department comes from --department, or the
  // queue named on the command line.
  if (absl::GetFlag(FLAGS_department).empty() &&
      (verb == "queue" || verb == "watch")) {
    absl::SetFlag(&FLAGS_department, id);
  }
  const char* handler = "department_handler";
  if (verb == "get") {
    auto ctx = Context("dispatcher");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    dv::GetTaskRequest r;
    r.set_task_id(id);
    dv::Task t;
    grpc::Status s = stub->GetTask(ctx->get(), r, &t);
    if (!s.ok()) return ReportError(s);
    PrintTaskRow(t);
    return 0;
  }
  if (verb == "queue") {
    dv::ListWorkQueueRequest r;
    r.set_department(id);
    r.set_page_size(1000);
    dv::ListWorkQueueResponse resp;
    grpc::Status s = ListPages(
        handler, r, 1000,
        [&](grpc::ClientContext* c, const dv::ListWorkQueueRequest& q,
            dv::ListWorkQueueResponse* page) {
          return stub->ListWorkQueue(c, q, page);
        },
        [](const dv::ListWorkQueueResponse& all) { return all.tasks_size(); },
        &resp);
    if (!s.ok()) return ReportError(s);
    if (JsonOutput()) return Print(resp), 0;
    for (const auto& t : resp.tasks()) PrintTaskRow(t);
    std::printf("%d open tasks\n", resp.tasks_size());
    return 0;
  }
  if (verb == "watch") {
    auto ctx = Context(handler);
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    (*ctx)->set_deadline(std::chrono::system_clock::time_point::max());
    dv::ListWorkQueueRequest r;
    r.set_department(id);
    auto reader = stub->WatchWorkQueue(ctx->get(), r);
    dv::Task t;
    while (reader->Read(&t)) {
      PrintTaskRow(t);
      std::fflush(stdout);
    }
    grpc::Status s = reader->Finish();
    return s.ok() ? 0 : ReportError(s);
  }
  dv::TaskCommandResponse done;
  grpc::Status s;
  if (verb == "approve" || verb == "refuse") {
    auto ctx = Context("dispatcher");
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    dv::DecideRequestRequest r;
    r.set_request_id(RequestId(verb));
    r.set_task_id(id);
    r.set_decision(verb == "approve" ? dv::DECISION_APPROVE
                                     : dv::DECISION_REFUSE);
    r.set_reason(absl::GetFlag(FLAGS_reason));
    r.set_redispatch_department(absl::GetFlag(FLAGS_redispatch));
    s = stub->DecideRequest(ctx->get(), r, &done);
  } else {
    dv::TaskActionRequest r;
    r.set_request_id(RequestId(verb));
    r.set_task_id(id);
    r.set_reason(absl::GetFlag(FLAGS_reason));
    r.set_note(absl::GetFlag(FLAGS_note));
    r.set_extension_minutes(absl::GetFlag(FLAGS_minutes));
    auto ctx = Context(verb == "restore" ? "dispatcher" : handler);
    if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
    if (verb == "accept") {
      s = stub->AcceptTask(ctx->get(), r, &done);
    } else if (verb == "send-back") {
      s = stub->RequestSendBack(ctx->get(), r, &done);
    } else if (verb == "extend") {
      s = stub->RequestExtension(ctx->get(), r, &done);
    } else if (verb == "shelve") {
      s = stub->RequestShelving(ctx->get(), r, &done);
    } else if (verb == "handled") {
      s = stub->ReportHandled(ctx->get(), r, &done);
    } else if (verb == "restore") {
      s = stub->RestoreTask(ctx->get(), r, &done);
    } else {
      return Fail(kUsage);
    }
  }
  return Done(s, done,
              absl::StrCat("task ", done.task_id(), ": ",
                           TaskStatusName(done.status())));
}

int EvaluationCommand(const std::vector<char*>& args) {
  if (args.size() != 3) {
    return Fail(
        "evaluation AREA [--from=RFC3339] [--to=RFC3339] "
        "(default: the last 30 days)");
  }
  auto to = TimeFlag(absl::GetFlag(FLAGS_to), absl::Now());
  if (!to.ok()) return Fail("--to: " + std::string(to.status().message()));
  auto from = TimeFlag(absl::GetFlag(FLAGS_from), *to - absl::Hours(24 * 30));
  if (!from.ok()) {
    return Fail("--from: " + std::string(from.status().message()));
  }
  auto ctx = Context("shift_leader");
  if (!ctx.ok()) return Fail(std::string(ctx.status().message()));
  auto stub = sv::SupervisionService::NewStub(Channel("supervision"));
  sv::GetEvaluationRequest r;
  r.set_area_code(args[2]);
  *r.mutable_start_time() = ToProto(*from);
  *r.mutable_end_time() = ToProto(*to);
  sv::Evaluation e;
  grpc::Status s = stub->GetEvaluation(ctx->get(), r, &e);
  if (!s.ok()) return ReportError(s);
  if (JsonOutput()) return Print(e), 0;
  for (const auto& score : e.scores()) {
    std::printf("%-52s %6s %s\n", score.subject().c_str(),
                score.grade().empty()
                    ? ""
                    : absl::StrFormat("%.1f", score.score()).c_str(),
                score.grade().c_str());
    std::string counters = "   ";
    for (const auto& [k, v] : std::map<std::string, int64_t>(
             score.counters().begin(), score.counters().end()))
      absl::StrAppend(&counters, " ", k, "=", v);
    std::printf("%s\n", counters.c_str());
    if (!score.rates().empty()) {
      std::string rates = "   ";
      for (const auto& [k, v] : std::map<std::string, double>(
               score.rates().begin(), score.rates().end()))
        absl::StrAppend(&rates, " ", k, "=", absl::StrFormat("%.1f%%", v));
      std::printf("%s\n", rates.c_str());
    }
  }
  return 0;
}

}  // namespace wangge::cli
