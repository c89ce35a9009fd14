// The intake service: flags, wiring, signals; nothing else.
//
// Follows the registry's topic (and its ReadLog for gaps) to keep its own
// copy of the areas; reports are located against that copy. Follows
// supervision's topic, when given its address, to keep closed and voided
// cases out of the duplicate hints.

#include "absl/flags/flag.h"
#include "services/common/ratelimit/rate_limiter.h"
#include "services/common/server/service_main.h"
#include "services/intake/app/intake_app.h"
#include "services/intake/server/intake_server.h"

ABSL_FLAG(std::string, report_rate_per_channel, "2000/s:4000",
          "Reports per channel (N/s or N/m, :burst; 0 = unlimited)");
ABSL_FLAG(std::string, report_rate_per_caller, "50/s:100",
          "Reports per caller (token subject)");
ABSL_FLAG(std::string, reveal_rate_per_agent, "1/m:20",
          "Contact reveals per follow-up agent (token subject)");

int main(int argc, char** argv) {
  using namespace wangge;
  return server::ServiceMain(
      argc, argv, "intake",
      [](server::ServiceContext& context) -> absl::Status {
        const auto& config = context.chassis->config();
        // Reporter keys live apart from the events (privacy/key_store.h).
        auto keys = intake::KeyStore::Open(config.data_dir + "/reporter-keys");
        if (!keys.ok()) return keys.status();
        std::shared_ptr<intake::KeyStore> key_store = std::move(*keys);
        intake::IntakeOptions options;
        options.suite = config.crypto_suite == "guomi"
                            ? intake::CipherSuite::kGuomi
                            : intake::CipherSuite::kStandard;
        auto channel_rate =
            ratelimit::ParseRate(absl::GetFlag(FLAGS_report_rate_per_channel));
        if (!channel_rate.ok()) return channel_rate.status();
        auto caller_rate =
            ratelimit::ParseRate(absl::GetFlag(FLAGS_report_rate_per_caller));
        if (!caller_rate.ok()) return caller_rate.status();
        auto reveal_rate =
            ratelimit::ParseRate(absl::GetFlag(FLAGS_reveal_rate_per_agent));
        if (!reveal_rate.ok()) return reveal_rate.status();
        options.channel_rate = *channel_rate;
        options.caller_rate = *caller_rate;
        options.reveal_rate = *reveal_rate;
        auto app = std::make_shared<intake::IntakeApp>(
            context.store, key_store.get(), options, context.clock);
        absl::Status s = app->Load();
        if (!s.ok()) return s;
        auto registry_follower = server::FollowSource(
            context, "registry",
            [app](const common::v1::EventEnvelope& env) {
              return app->RegistryEffects(env);
            },
            [app](const common::v1::EventEnvelope& env) {
              app->OnRegistryApplied(env);
            });
        if (!registry_follower.ok()) return registry_follower.status();
        // Supervision's topic (with --supervision_addr): closed and voided
        // cases leave the duplicate hints. Not needed for readiness: stale
        // hints cost no report.
        auto supervision_follower =
            server::FollowSource(context, "supervision",
                                 [app](const common::v1::EventEnvelope& env) {
                                   return app->SupervisionEffects(env);
                                 });
        if (!supervision_follower.ok()) {
          return supervision_follower.status();
        }
        if (auto follower = *registry_follower) {
          // Ready once the registry copy has caught up with the registry.
          context.ready_when = [follower] { return follower->caught_up(); };
        }
        auto server =
            std::make_shared<intake::IntakeServer>(context.chassis, app.get());
        s = context.chassis->Register<intake::v1::IntakeService>(server.get());
        context.projections->push_back(intake::kReportsProjection);
        context.projections->push_back(intake::kRegistryProjection);
        context.chassis->AddShutdownHook([app, server, key_store] {});
        return s;
      });
}
