#include "services/supervision/domain/evaluation.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "services/common/clock/proto_time.h"
#include "services/common/clock/time_key.h"
#include "services/common/status/errors.h"
#include "wangge/dispatch/v1/events.pb.h"
#include "wangge/intake/v1/events.pb.h"

namespace wangge::supervision {
namespace {

using common::v1::Role;

// The public's own reports (another government system is not the public).
bool Public(int source) {
  return source == intake::v1::REPORT_SOURCE_HOTLINE_12345 ||
         source == intake::v1::REPORT_SOURCE_PUBLIC_APP ||
         source == intake::v1::REPORT_SOURCE_MAYOR_MAILBOX;
}

// Percent; a zero denominator means nothing failed.
double Rate(int64_t part, int64_t whole) {
  if (whole <= 0) return 100;
  return std::min(
      100.0, 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

double Round2(double v) { return std::round(v * 100) / 100; }

}  // namespace

double StepTable::Score(int64_t value) const {
  for (const auto& [bound, score] : steps)
    if (value >= bound) return score;
  return otherwise;
}

std::string Grade(double score) {
  if (score >= 90) return "A";
  if (score >= 75) return "B";
  if (score >= 60) return "C";
  if (score >= 40) return "D";
  return "E";
}

absl::StatusOr<EvaluationWeights> ParseEvaluationWeights(
    const std::string& text) {
  EvaluationWeights w;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return status::InvalidField("evaluation", "not a JSON object");
  }
  absl::Status error;
  auto number = [&](const nlohmann::json& o, const char* section,
                    const char* key, double* out) {
    if (!error.ok() || !o.contains(key)) return;
    const auto& v = o[key];
    if (!v.is_number() || v.get<double>() < 0) {
      error = status::InvalidField(absl::StrCat(section, ".", key),
                                   "a number, not negative");
      return;
    }
    *out = v.get<double>();
  };
  auto table = [&](const nlohmann::json& o, const char* section,
                   const char* key, StepTable* out) {
    if (!error.ok() || !o.contains(key)) return;
    const auto& t = o[key];
    const std::string field = absl::StrCat(section, ".", key);
    if (!t.is_object() || !t.contains("steps") || !t["steps"].is_array()) {
      error = status::InvalidField(field, "{\"steps\": [[bound, score]...]}");
      return;
    }
    StepTable parsed;
    for (size_t i = 0; i < t["steps"].size(); ++i) {
      const auto& step = t["steps"][i];
      if (!step.is_array() || step.size() != 2 || !step[0].is_number() ||
          !step[1].is_number()) {
        error = status::InvalidField(absl::StrCat(field, ".steps[", i, "]"),
                                     "[bound, score]");
        return;
      }
      const int64_t bound = step[0].get<int64_t>();
      if (!parsed.steps.empty() && bound >= parsed.steps.back().first) {
        error = status::InvalidField(absl::StrCat(field, ".steps[", i, "]"),
                                     "bounds must descend");
        return;
      }
      parsed.steps.emplace_back(bound, step[1].get<double>());
    }
    if (t.contains("otherwise")) {
      if (!t["otherwise"].is_number()) {
        error = status::InvalidField(field + ".otherwise", "a number");
        return;
      }
      parsed.otherwise = t["otherwise"].get<double>();
    }
    *out = std::move(parsed);
  };
  static const nlohmann::json kEmpty = nlohmann::json::object();
  auto section = [&](const char* name) -> const nlohmann::json& {
    return j.contains(name) && j[name].is_object() ? j[name] : kEmpty;
  };
  const auto& d = section("department");
  number(d, "department", "closure", &w.department_closure);
  number(d, "department", "on_time", &w.department_on_time);
  number(d, "department", "rework", &w.department_rework);
  table(d, "department", "volume", &w.volume);
  const auto& s = section("supervisor");
  number(s, "supervisor", "valid_report", &w.supervisor_valid);
  number(s, "supervisor", "missed", &w.supervisor_missed);
  number(s, "supervisor", "verify", &w.supervisor_verify);
  number(s, "supervisor", "check", &w.supervisor_check);
  table(s, "supervisor", "missed_score", &w.missed);
  const auto& a = section("area");
  number(a, "area", "handling", &w.area_handling);
  number(a, "area", "on_time", &w.area_on_time);
  number(a, "area", "rework", &w.area_rework);
  if (!error.ok()) return error;
  return w;
}

std::string FactKey(absl::Time time, const std::string& id) {
  return TimeKey(time, id);
}

std::vector<CountedFact> FactsOf(const v1::CaseRecord& before,
                                 const google::protobuf::Message& event,
                                 const common::v1::Actor& actor,
                                 absl::Time occurred) {
  std::vector<CountedFact> out;
  const auto* type = event.GetDescriptor();
  auto fact = [&](const char* kind, const std::string& department = "",
                  const std::string& subject = "",
                  Role role = common::v1::ROLE_UNSPECIFIED,
                  bool on_time = false) -> v1::EvaluationFact& {
    CountedFact f;
    f.fact.set_kind(kind);
    *f.fact.mutable_time() = ToProto(occurred);
    f.fact.set_case_id(before.opened().case_id());
    f.fact.set_task_id(before.task_id());
    f.fact.set_department(department);
    f.fact.set_area_code(before.opened().area_code());
    f.fact.set_subject(subject);
    f.fact.set_role(role);
    f.fact.set_on_time(on_time);
    out.push_back(std::move(f));
    return out.back().fact;
  };
  auto as = [&](auto* prototype) -> const auto& {
    return static_cast<const std::remove_pointer_t<decltype(prototype)>&>(
        event);
  };
  const std::string& department = before.department();
  if (type == v1::CaseOpened::descriptor()) {
    const auto& e = as((v1::CaseOpened*)nullptr);
    const bool by_supervisor =
        e.source() == intake::v1::REPORT_SOURCE_SUPERVISOR;
    auto& f = fact("reported", "", by_supervisor ? e.reporter_subject() : "",
                   by_supervisor ? common::v1::ROLE_SUPERVISOR
                                 : common::v1::ROLE_UNSPECIFIED);
    f.set_case_id(e.case_id());
    f.set_area_code(e.area_code());
  } else if (type == v1::VerificationAssigned::descriptor()) {
    fact("assigned", "", actor.subject(), common::v1::ROLE_RECEPTIONIST,
         as((v1::VerificationAssigned*)nullptr).on_time());
  } else if (type == v1::CaseVerified::descriptor()) {
    fact("verified", "", actor.subject(), common::v1::ROLE_SUPERVISOR,
         as((v1::CaseVerified*)nullptr).on_time());
  } else if (type == v1::CaseFiled::descriptor()) {
    fact("filed", "", actor.subject(), common::v1::ROLE_SHIFT_LEADER,
         as((v1::CaseFiled*)nullptr).on_time());
    if (before.opened().source() == intake::v1::REPORT_SOURCE_SUPERVISOR) {
      fact("valid_report", "", before.opened().reporter_subject(),
           common::v1::ROLE_SUPERVISOR);
    }
    // A real problem the public reported first (counted once it is filed:
    // a false report, a duplicate of a case already open or one outside
    // the jurisdiction is no miss): a miss for the grid's supervisors.
    if (Public(before.opened().source())) {
      for (const auto& s : before.opened().verification_assignees()) {
        fact("missed", "", s, common::v1::ROLE_SUPERVISOR);
        out.back().stable_id =
            absl::StrCat("missed/", before.opened().case_id(), "/", s);
      }
    }
  } else if (type == v1::CaseNotAccepted::descriptor()) {
    fact("not_accepted", "", actor.subject(), common::v1::ROLE_SHIFT_LEADER);
  } else if (type == v1::CaseVoided::descriptor()) {
    fact("voided", "", actor.subject(), common::v1::ROLE_SHIFT_LEADER);
  } else if (type == v1::CaseChecked::descriptor()) {
    fact("checked", department, actor.subject(), common::v1::ROLE_SUPERVISOR,
         as((v1::CaseChecked*)nullptr).on_time());
  } else if (type == v1::CaseReworkOrdered::descriptor()) {
    fact("reworked", as((v1::CaseReworkOrdered*)nullptr).department());
  } else if (type == v1::CaseClosed::descriptor()) {
    const auto& e = as((v1::CaseClosed*)nullptr);
    fact("closed", e.department(), actor.subject(),
         common::v1::ROLE_SHIFT_LEADER, !e.overdue());
  } else if (type == v1::FollowUpRecorded::descriptor()) {
    const auto& e = as((v1::FollowUpRecorded*)nullptr);
    fact("followed_up", department, actor.subject(),
         common::v1::ROLE_FOLLOW_UP_AGENT);
    if (e.satisfaction() == v1::SATISFACTION_SATISFIED ||
        e.satisfaction() == v1::SATISFACTION_BASICALLY_SATISFIED) {
      fact("satisfied", department);
    }
    if (e.solved()) fact("solved", department);
  } else if (type == v1::CaseReopened::descriptor()) {
    fact("reopened", department);
  } else if (type == dispatch::v1::TaskDispatched::descriptor()) {
    const auto& e = as((dispatch::v1::TaskDispatched*)nullptr);
    fact("dispatched", e.department()).set_task_id(e.task_id());
  } else if (type == dispatch::v1::TaskAccepted::descriptor()) {
    fact("responded", as((dispatch::v1::TaskAccepted*)nullptr).department());
  } else if (type == dispatch::v1::TaskHandled::descriptor() ||
             type == dispatch::v1::TaskOverdue::descriptor()) {
    // Counted for the task the event names (a later task of the case may
    // have been read first, from another partition).
    std::string task_id, task_department;
    google::protobuf::Timestamp due_time;
    bool handled_on_time = false;
    if (type == dispatch::v1::TaskHandled::descriptor()) {
      const auto& e = as((dispatch::v1::TaskHandled*)nullptr);
      task_id = e.task_id();
      task_department = e.department();
      due_time = e.due_time();
      handled_on_time = e.on_time();
      fact("handled", e.department(), "", common::v1::ROLE_UNSPECIFIED,
           e.on_time())
          .set_task_id(task_id);
    } else {
      const auto& e = as((dispatch::v1::TaskOverdue*)nullptr);
      task_id = e.task_id();
      task_department = e.department();
      due_time = e.due_time();
      fact("overdue", e.department()).set_task_id(task_id);
    }
    // Due for closing (应结案) once per task, at its deadline: handled, or
    // overdue and not handled; the first to come keeps it (the shell drops
    // a second row for the same task).
    // On time if handled by then (a task overdue first is not), counted on
    // this fact: in the window of the deadline, like "due" itself.
    auto& due = fact("due", task_department, "", common::v1::ROLE_UNSPECIFIED,
                     handled_on_time);
    due.set_task_id(task_id);
    *due.mutable_time() = due_time;
    out.back().stable_id = absl::StrCat("due/", task_id);
  } else if (type == dispatch::v1::SendBackDecided::descriptor()) {
    const auto& e = as((dispatch::v1::SendBackDecided*)nullptr);
    if (e.approved()) fact("returned", e.department());
    fact("ruled", "", actor.subject(), common::v1::ROLE_DISPATCHER,
         e.on_time());
  } else if (type == dispatch::v1::ExtensionDecided::descriptor()) {
    const auto& e = as((dispatch::v1::ExtensionDecided*)nullptr);
    if (e.approved()) fact("extended", e.department());
    fact("ruled", "", actor.subject(), common::v1::ROLE_DISPATCHER,
         e.on_time());
  } else if (type == dispatch::v1::ShelvingDecided::descriptor()) {
    const auto& e = as((dispatch::v1::ShelvingDecided*)nullptr);
    if (e.approved()) fact("shelved", e.department());
    fact("ruled", "", actor.subject(), common::v1::ROLE_DISPATCHER,
         e.on_time());
  }
  return out;
}

v1::Evaluation Evaluate(const std::vector<v1::EvaluationFact>& facts,
                        const registry::RegistryState& registry,
                        const EvaluationWeights& w, const std::string& scope,
                        absl::Time start, absl::Time end) {
  // subject -> counter -> value
  std::map<std::string, std::map<std::string, int64_t>> counters;
  auto count = [&](const std::string& subject, const std::string& counter) {
    counters[subject][counter]++;
  };
  for (const auto& f : facts) {
    if (!absl::StartsWith(f.area_code(), scope)) continue;
    const std::string& k = f.kind();
    if (!f.department().empty()) {
      const std::string d = absl::StrCat("department/", f.department());
      count(d, k);
      if (f.on_time() && (k == "handled" || k == "closed" || k == "due"))
        count(d, k + "_on_time");
    }
    // The case's area and every enclosing one within the scope.
    std::string code = f.area_code();
    for (int guard = 0; !code.empty() && guard < 16; ++guard) {
      if (!absl::StartsWith(code, scope)) break;
      const std::string a = absl::StrCat("area/", code);
      if (k == "reported" || k == "filed" || k == "closed" || k == "overdue" ||
          k == "reworked" || k == "voided" || k == "not_accepted" ||
          k == "reopened") {
        count(a, k);
        if (k == "closed" && f.on_time()) count(a, "closed_on_time");
      }
      const registry::Area* area = registry.Find(code);
      code = area == nullptr ? "" : area->parent_code;
    }
    if (!f.subject().empty() && f.role() != common::v1::ROLE_UNSPECIFIED) {
      std::string role = common::v1::Role_Name(static_cast<Role>(f.role()));
      role = absl::AsciiStrToLower(role.substr(5));  // drop "ROLE_"
      const std::string p = absl::StrCat("post/", role, "/", f.subject());
      count(p, k);
      if (f.on_time()) count(p, k + "_on_time");
    }
  }
  v1::Evaluation out;
  *out.mutable_start_time() = ToProto(start);
  *out.mutable_end_time() = ToProto(end);
  for (auto& [subject, c] : counters) {
    v1::Score* s = out.add_scores();
    s->set_subject(subject);
    for (const auto& [k, v] : c) (*s->mutable_counters())[k] = v;
    auto get = [&](const char* k) {
      auto it = c.find(k);
      return it == c.end() ? int64_t{0} : it->second;
    };
    auto rate = [&](const char* name, double value) {
      (*s->mutable_rates())[name] = Round2(value);
      return value;
    };
    double score = -1;
    if (absl::StartsWith(subject, "department/")) {
      const double closure = rate("closure", Rate(get("closed"), get("due")));
      // Over what fell due (handled, or overdue and never handled): a task
      // left overdue is not on time by not being handled.
      const double on_time =
          rate("on_time", Rate(get("due_on_time"), get("due")));
      // Rework counts against: with nothing due there was none.
      const double rework =
          get("due") == 0 ? 0 : Rate(get("reworked"), get("due"));
      rate("rework", rework);
      rate("response", Rate(get("responded"), get("dispatched")));
      rate("resolution", Rate(get("solved"), get("followed_up")));
      rate("satisfaction", Rate(get("satisfied"), get("followed_up")));
      score = closure * w.department_closure + on_time * w.department_on_time +
              (100 - rework) * w.department_rework +
              w.volume.Score(get("dispatched"));
    } else if (absl::StartsWith(subject, "area/")) {
      const double handling =
          rate("handling", Rate(get("closed"), get("filed")));
      const double on_time =
          rate("on_time", Rate(get("closed_on_time"), get("closed")));
      const double rework =
          get("filed") == 0 ? 0 : Rate(get("reworked"), get("filed"));
      rate("rework", rework);
      score = handling * w.area_handling + on_time * w.area_on_time +
              (100 - rework) * w.area_rework;
    } else if (absl::StartsWith(subject, "post/supervisor/")) {
      // Unlike the other rates, nothing reported earns nothing: reporting
      // is the patrol's work (docs/case-lifecycle.md, Evaluation).
      const double valid = get("reported") == 0
                               ? 0
                               : rate("valid_report", Rate(get("valid_report"),
                                                           get("reported")));
      (*s->mutable_rates())["valid_report"] = Round2(valid);
      const double verify = rate(
          "verified_on_time", Rate(get("verified_on_time"), get("verified")));
      const double check =
          rate("checked_on_time", Rate(get("checked_on_time"), get("checked")));
      const double missed = w.missed.Score(get("missed"));
      (*s->mutable_rates())["missed_score"] = missed;
      score = valid * w.supervisor_valid + missed * w.supervisor_missed +
              verify * w.supervisor_verify + check * w.supervisor_check;
    }
    if (absl::StartsWith(subject, "post/receptionist/")) {
      // Sending a supervisor to verify within the limit.
      score = rate("assigned_on_time",
                   Rate(get("assigned_on_time"), get("assigned")));
    }
    if (absl::StartsWith(subject, "post/dispatcher/")) {
      // Ruling on departments' requests within the limit.
      score = rate("ruled_on_time", Rate(get("ruled_on_time"), get("ruled")));
    }
    if (absl::StartsWith(subject, "post/shift_leader/")) {
      // Filing within its limit is the shift leader's own measure.
      score = rate("filed_on_time", Rate(get("filed_on_time"), get("filed")));
    }
    if (score >= 0) {
      s->set_score(Round2(score));
      s->set_grade(Grade(Round2(score)));
    }
  }
  return out;
}

}  // namespace wangge::supervision
