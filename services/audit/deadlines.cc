#include "services/audit/deadlines.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/audit/replay.h"
#include "services/common/clock/proto_time.h"
#include "services/common/domain/emitted.h"
#include "services/dispatch/domain/task.h"
#include "services/registry/domain/policy.h"
#include "wangge/dispatch/v1/events.pb.h"

namespace wangge::audit {
namespace {

bool IsOverdue(const std::vector<domain::Emitted>& due) {
  for (const auto& e : due) {
    if (e.event->GetDescriptor() == dispatch::v1::TaskOverdue::descriptor())
      return true;
  }
  return false;
}

class Check {
 public:
  explicit Check(std::vector<Violation>* out) : out_(out) {}
  void Flag(const common::v1::EventEnvelope& e, const std::string& rule,
            const std::string& message) {
    out_->push_back(ViolationAt(e, absl::StrCat("deadline:", rule), message));
  }

 private:
  std::vector<Violation>* out_;
};

std::string Time(const google::protobuf::Timestamp& t) {
  return Rfc3339(FromProto(t));
}

}  // namespace

void DeadlineChecker::Add(const common::v1::EventEnvelope& e) {
  if (absl::StartsWith(e.event_type(), "wangge.registry.v1.")) {
    registry_[e.partition()].push_back(e);
  } else if (absl::StartsWith(e.event_type(), "wangge.dispatch.v1.") &&
             absl::StartsWith(e.stream_id(), "task/")) {
    dispatch_[e.partition()].push_back(e);
  }
}

std::vector<Violation> DeadlineChecker::Finish() {
  std::vector<Violation> out;
  Check check(&out);
  if (dispatch_.empty() || registry_.empty()) return out;
  auto registry = RegistryFromHistory(registry_);
  if (!registry.ok()) {
    Violation v;
    v.service = "registry";
    v.check = "deadline:registry";
    v.message = absl::StrCat("the registry's history does not replay: ",
                             registry.status().message());
    out.push_back(std::move(v));
    return out;
  }
  std::map<std::string, dispatch::v1::TaskRecord> tasks;
  std::map<std::string, const common::v1::EventEnvelope*> last_of_task;
  absl::Time newest = absl::InfinitePast();
  for (const auto& [p, events] : dispatch_) {
    for (const auto& env : events) {
      auto event = domain::Unpack(env);
      if (!event.ok()) continue;  // the separation check reports it
      const auto* d = (*event)->GetDescriptor();
      dispatch::v1::TaskRecord& task = tasks[env.stream_id()];
      const absl::Time occurred = FromProto(env.occurred_time());
      newest = std::max(newest, occurred);
      if (d == dispatch::v1::TaskDispatched::descriptor()) {
        const auto& t =
            static_cast<const dispatch::v1::TaskDispatched&>(**event);
        // Dispatch's own decision, re-taken on the registry as it was then.
        dispatch::CaseToDispatch c;
        c.case_id = t.case_id();
        c.category_code = t.category_code();
        c.area_code = t.area_code();
        c.component_id = t.component_id();
        c.urgency = t.urgency();
        c.attempt = t.attempt();
        c.rework_count = t.rework_count();
        c.reason = t.reason();
        // A first dispatch is routed by the registry; later ones name
        // their department.
        if (t.reason() != "filed") c.department = t.department();
        const absl::Time at = FromProto(t.dispatched_time());
        auto again = dispatch::DecideDispatch(*registry, c, at);
        if (!again.ok()) {
          check.Flag(env, "policy",
                     absl::StrCat("no dispatch was possible under the policy "
                                  "in force then: ",
                                  again.status().message()));
        } else {
          const auto& expected =
              static_cast<const dispatch::v1::TaskDispatched&>(*again->event);
          if (again->policy_version != env.policy_version()) {
            check.Flag(
                env, "policy_version",
                absl::StrCat("recorded policy version \"", env.policy_version(),
                             "\"; in force at ", Time(t.dispatched_time()),
                             " was \"", again->policy_version, "\""));
          }
          if (expected.limit_minutes() != t.limit_minutes() ||
              expected.working_time() != t.working_time()) {
            check.Flag(
                env, "time_limit",
                absl::StrCat("limit ", t.limit_minutes(), " min (",
                             t.working_time() ? "working" : "wall",
                             " time); the policy gives ",
                             expected.limit_minutes(), " min (",
                             expected.working_time() ? "working" : "wall",
                             " time)"));
          } else if (FromProto(expected.due_time()) !=
                         FromProto(t.due_time()) ||
                     FromProto(expected.yellow_time()) !=
                         FromProto(t.yellow_time())) {
            check.Flag(env, "due_time",
                       absl::StrCat("due ", Time(t.due_time()),
                                    "; the policy's calendar gives ",
                                    Time(expected.due_time())));
          }
          if (t.reason() == "filed" &&
              (expected.department() != t.department() ||
               expected.locality_fallback() != t.locality_fallback())) {
            check.Flag(env, "routing",
                       absl::StrCat("dispatched to ", t.department(),
                                    "; the registry's routing gives ",
                                    expected.department()));
          }
        }
      } else if (d == dispatch::v1::ExtensionDecided::descriptor()) {
        const auto& x =
            static_cast<const dispatch::v1::ExtensionDecided&>(**event);
        if (x.approved()) {
          const auto* policy = registry::PolicyAt(*registry, occurred);
          if (policy == nullptr || policy->version() != env.policy_version()) {
            check.Flag(env, "policy_version",
                       absl::StrCat("recorded policy version \"",
                                    env.policy_version(), "\"; in force was \"",
                                    policy ? policy->version() : "none", "\""));
          } else {
            auto due = registry::DeadlineAfter(
                policy->calendar(), FromProto(task.due_time()),
                absl::Minutes(task.requested_minutes()),
                task.dispatched().working_time());
            if (!due.ok() || *due != FromProto(x.due_time())) {
              check.Flag(env, "due_time",
                         absl::StrCat("extended to ", Time(x.due_time()), "; ",
                                      task.requested_minutes(), " min after ",
                                      Time(task.due_time()), " is ",
                                      due.ok() ? Time(ToProto(*due)) : "-"));
            }
          }
        }
      } else if (d == dispatch::v1::TaskOverdue::descriptor()) {
        if (!IsOverdue(dispatch::DecideTimers(task, occurred))) {
          check.Flag(env, "overdue_early",
                     absl::StrCat("overdue at ", Time(env.occurred_time()),
                                  "; due ", Time(task.due_time())));
        }
      }
      (void)dispatch::Evolve(task, env);
      last_of_task[env.stream_id()] = &env;
    }
  }
  // Timers that should have fired within the history and did not.
  for (const auto& [id, task] : tasks) {
    if (IsOverdue(dispatch::DecideTimers(task, newest - grace_))) {
      check.Flag(*last_of_task[id], "overdue_missing",
                 absl::StrCat(id, " was due ", Time(task.due_time()),
                              " and never went overdue (history to ",
                              Rfc3339(newest), ")"));
    }
  }
  return out;
}

}  // namespace wangge::audit
