#ifndef WANGGE_SERVICES_DISPATCH_DOMAIN_TASK_H_
#define WANGGE_SERVICES_DISPATCH_DOMAIN_TASK_H_

// The command centre's domain (指挥中心): the dispatch task's state machine,
// its deadlines in business time, and the rulings on a department's
// requests. Pure: Decide*(state, command) -> events or error, and
// Evolve(state, event) -> state; the registry snapshot and the time are
// inputs. The audit tool replays with the same Evolve.
//
//   DISPATCHED --accept--> ACCEPTED --report handled--> HANDLED
//   DISPATCHED|ACCEPTED --request--> {SEND_BACK,EXTENSION,SHELVING}_REQUESTED
//   *_REQUESTED --refuse--> the state before the request
//   SEND_BACK_REQUESTED --approve--> SENT_BACK (+ the next task dispatched)
//   EXTENSION_REQUESTED --approve--> the state before, with a later due time
//   SHELVING_REQUESTED --approve--> SHELVED (clock stopped) --restore-->
//   ACCEPTED timers: yellow at 80% of the limit, TaskOverdue at due, once each,
//   while the task runs (not shelved, handled or sent back).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/domain/emitted.h"
#include "services/common/domain/ids.h"
#include "services/registry/domain/registry_state.h"
#include "wangge/common/v1/envelope.pb.h"
#include "wangge/dispatch/v1/dispatch.pb.h"
#include "wangge/dispatch/v1/events.pb.h"

namespace wangge::dispatch {

using domain::Emitted;

// "task/<case_id>/<attempt>": the task's id and its stream.
using domain::TaskId;

// A case to send to a department: filed, reworked, sent back or reopened.
struct CaseToDispatch {
  std::string case_id;
  std::string category_code;
  std::string area_code;
  std::string component_id;
  std::string urgency;  // "ordinary", "urgent", "emergency"
  uint32_t attempt = 1;
  uint32_t rework_count = 0;
  std::string reason;      // "filed", "rework", "send_back", "reopened"
  std::string department;  // empty: the registry's routing decides
};

// Routing (category × area or the component's owner, else the locality
// fallback) and the deadline of the class policy for the urgency: wall
// clock or working time of the deployment's calendar. The event's policy
// version is the registry's version in force.
absl::StatusOr<Emitted> DecideDispatch(const registry::RegistryState& registry,
                                       const CaseToDispatch& c, absl::Time now);

// 签收, by a handler of the task's department.
absl::StatusOr<std::vector<Emitted>> DecideAccept(
    const v1::TaskRecord& task, const common::v1::Actor& actor, absl::Time now);

enum class RequestKind { kSendBack, kExtension, kShelving };
// 回退 / 延期 / 挂账, by the department; a reason is required, an extension
// needs minutes and a class that allows it.
absl::StatusOr<std::vector<Emitted>> DecideRequest(
    const v1::TaskRecord& task, const common::v1::Actor& actor,
    RequestKind kind, const std::string& reason, uint32_t minutes,
    absl::Time now);

// 处理反馈: the result (required) and evidence.
absl::StatusOr<std::vector<Emitted>> DecideReportHandled(
    const v1::TaskRecord& task, const common::v1::Actor& actor,
    const std::string& result, const std::vector<std::string>& evidence,
    absl::Time now);

// The command centre rules on a department's request within this (domain
// §3: the command centre acts within 30 minutes); the ruling records it.
inline constexpr absl::Duration kRulingWithin = absl::Minutes(30);

// The dispatcher's ruling on the pending request. An approved send-back
// dispatches the case's next task (attempt + 1) to `redispatch_department`.
absl::StatusOr<std::vector<Emitted>> DecideRuling(
    const v1::TaskRecord& task, const common::v1::Actor& actor, bool approve,
    const std::string& reason, const std::string& redispatch_department,
    const registry::RegistryState& registry, absl::Time now);

// Restores a shelved task: the clock runs again with the time it had left.
absl::StatusOr<std::vector<Emitted>> DecideRestore(
    const v1::TaskRecord& task, const common::v1::Actor& actor,
    const registry::RegistryState& registry, absl::Time now);

// The timers due at `now`: TaskYellowWarning and TaskOverdue, each once per
// schedule, only while the task's clock runs. Empty when nothing is due.
std::vector<Emitted> DecideTimers(const v1::TaskRecord& task, absl::Time now);

// Folds one event into the task. Unknown types are refused.
absl::Status Evolve(v1::TaskRecord& task,
                    const google::protobuf::Message& event,
                    absl::Time occurred);
absl::Status Evolve(v1::TaskRecord& task,
                    const common::v1::EventEnvelope& envelope);

// Whether the task's clock runs (timers may fire).
bool ClockRuns(const v1::TaskRecord& task);
// The next moment a timer of this task is due, or InfiniteFuture.
absl::Time NextTimer(const v1::TaskRecord& task);

// What GetTask and the work queue answer, with the stage colour at `now`.
v1::Task TaskView(const v1::TaskRecord& task, absl::Time now);

}  // namespace wangge::dispatch

#endif  // WANGGE_SERVICES_DISPATCH_DOMAIN_TASK_H_
