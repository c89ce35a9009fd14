// The supervision service (监督中心): flags, wiring, signals; nothing else.
//
// Follows the registry (staff, policies, areas), intake (reports open case
// files), dispatch (the command centre's task events) and oversight (its
// notices and actions, for the case timeline).

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "services/common/files/files.h"
#include "services/common/server/service_main.h"
#include "services/registry/replica/follow.h"
#include "services/supervision/app/supervision_app.h"
#include "services/supervision/server/supervision_server.h"

ABSL_FLAG(int, verify_minutes, 60, "Time limit of a verification (核实)");
ABSL_FLAG(int, check_minutes, 60, "Time limit of a check (核查)");
ABSL_FLAG(int, file_minutes, 30, "Time limit of filing (立案) once ready");
ABSL_FLAG(int, file_minutes_emergency, 10,
          "Time limit of filing an emergency once ready");
ABSL_FLAG(std::string, evaluation_file, "",
          "JSON weights and step tables of the evaluation (综合评价); "
          "default: domain §4's");
ABSL_FLAG(bool, reopen_on_unsatisfied, true,
          "An unsatisfied, unsolved follow-up reopens the case");

int main(int argc, char** argv) {
  using namespace wangge;
  return server::ServiceMain(
      argc, argv, "supervision",
      [](server::ServiceContext& context) -> absl::Status {
        auto registry = registry::FollowRegistry(context);
        if (!registry.ok()) return registry.status();
        auto replica = registry->replica;
        absl::Status s;
        supervision::SupervisionPolicy policy;
        policy.verify_within =
            absl::Minutes(absl::GetFlag(FLAGS_verify_minutes));
        policy.check_within = absl::Minutes(absl::GetFlag(FLAGS_check_minutes));
        policy.file_within = absl::Minutes(absl::GetFlag(FLAGS_file_minutes));
        policy.file_within_emergency =
            absl::Minutes(absl::GetFlag(FLAGS_file_minutes_emergency));
        policy.reopen_on_unsatisfied =
            absl::GetFlag(FLAGS_reopen_on_unsatisfied);
        supervision::EvaluationWeights weights;
        if (!absl::GetFlag(FLAGS_evaluation_file).empty()) {
          auto text =
              files::ReadFileToString(absl::GetFlag(FLAGS_evaluation_file));
          if (!text.ok()) return text.status();
          auto parsed = supervision::ParseEvaluationWeights(*text);
          if (!parsed.ok()) {
            return absl::InvalidArgumentError(
                absl::StrCat("--evaluation_file: ", parsed.status().message()));
          }
          weights = *std::move(parsed);
        }
        auto app = std::make_shared<supervision::SupervisionApp>(
            context.store, replica.get(), policy, std::move(weights),
            context.clock);
        auto after = [app](const common::v1::EventEnvelope& env) {
          app->OnApplied(env);
        };
        s = server::FollowAll(context,
                              {{"intake",
                                [app](const common::v1::EventEnvelope& env) {
                                  return app->IntakeEffects(env);
                                },
                                after},
                               {"dispatch",
                                [app](const common::v1::EventEnvelope& env) {
                                  return app->DispatchEffects(env);
                                },
                                after},
                               {"oversight",
                                [app](const common::v1::EventEnvelope& env) {
                                  return app->OversightEffects(env);
                                }}},
                              {registry->follower});
        if (!s.ok()) return s;
        auto server = std::make_shared<supervision::SupervisionServer>(
            context.chassis, app.get(), context.store);
        s = context.chassis->Register<supervision::v1::SupervisionService>(
            server.get());
        for (const char* p :
             {supervision::kCasesProjection, supervision::kFactsProjection,
              supervision::kTimelineProjection,
              supervision::kCountedProjection}) {
          context.projections->push_back(p);
        }
        context.chassis->AddShutdownHook([app, server, replica] {});
        return s;
      });
}
