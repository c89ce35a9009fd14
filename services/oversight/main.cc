// The oversight service (一根红线): flags, wiring, signals; nothing else.
//
// Follows the registry (areas, for the line), supervision and dispatch (the
// workflow's events that raise and resolve notices); escalates on a timer
// thread of its own.

#include <atomic>
#include <thread>

#include "absl/flags/flag.h"
#include "prometheus/gauge.h"
#include "services/common/server/service_main.h"
#include "services/oversight/app/oversight_app.h"
#include "services/oversight/server/oversight_server.h"
#include "services/registry/replica/follow.h"

ABSL_FLAG(int, acknowledge_minutes, 120,
          "A notice (督办) not acknowledged within this climbs the line");
ABSL_FLAG(int, rework_threshold, 2, "Notice when reworked this many times");
ABSL_FLAG(int, send_back_threshold, 2, "Notice when sent back this many times");
ABSL_FLAG(std::string, red_line_top_level, "street",
          "The level at the top of the red line");
ABSL_FLAG(std::string, red_line, "",
          "The deployment's red line, level=kind|kind;... (kinds: "
          "working_committee, committee, branch, small_group); default: "
          "Chengdu's, with Dongcheng's and Zhoushan's levels");

int main(int argc, char** argv) {
  using namespace wangge;
  return server::ServiceMain(
      argc, argv, "oversight",
      [](server::ServiceContext& context) -> absl::Status {
        auto registry = registry::FollowRegistry(context);
        if (!registry.ok()) return registry.status();
        auto replica = registry->replica;
        absl::Status s;
        oversight::OversightRules rules;
        rules.acknowledge_within =
            absl::Minutes(absl::GetFlag(FLAGS_acknowledge_minutes));
        rules.rework_threshold = absl::GetFlag(FLAGS_rework_threshold);
        rules.send_back_threshold = absl::GetFlag(FLAGS_send_back_threshold);
        rules.top_level = absl::GetFlag(FLAGS_red_line_top_level);
        if (!absl::GetFlag(FLAGS_red_line).empty()) {
          s = oversight::ParseRedLine(absl::GetFlag(FLAGS_red_line), &rules);
          if (!s.ok()) return s;
        }
        auto app = std::make_shared<oversight::OversightApp>(
            context.store, replica.get(), rules, context.clock);
        s = app->Load();
        if (!s.ok()) return s;
        auto after = [app](const common::v1::EventEnvelope& env) {
          app->OnApplied(env);
        };
        s = server::FollowAll(context,
                              {{"supervision",
                                [app](const common::v1::EventEnvelope& env) {
                                  return app->SupervisionEffects(env);
                                },
                                after},
                               {"dispatch",
                                [app](const common::v1::EventEnvelope& env) {
                                  return app->DispatchEffects(env);
                                },
                                after}},
                              {registry->follower});
        if (!s.ok()) return s;
        app->StartTimers();
        // Breaks in the line as a metric, refreshed every 30 s.
        auto& uncovered = prometheus::BuildGauge()
                              .Name("wangge_red_line_uncovered_areas")
                              .Help("Areas on the red line without an overseer")
                              .Register(context.chassis->metrics().registry())
                              .Add({});
        auto& stale = prometheus::BuildGauge()
                          .Name("wangge_red_line_stale_overseers")
                          .Help("Overseers of retired or redrawn areas")
                          .Register(context.chassis->metrics().registry())
                          .Add({});
        auto running = std::make_shared<std::atomic<bool>>(true);
        auto coverage_thread =
            std::make_shared<std::thread>([app, running, &uncovered, &stale] {
              while (running->load()) {
                auto c = app->GetCoverage(oversight::v1::GetCoverageRequest());
                if (c.ok()) {
                  uncovered.Set(c->uncovered_area_codes_size());
                  stale.Set(c->stale_overseer_ids_size());
                }
                for (int i = 0; i < 300 && running->load(); ++i)
                  absl::SleepFor(absl::Milliseconds(100));
              }
            });
        auto server = std::make_shared<oversight::OversightServer>(
            context.chassis, app.get());
        s = context.chassis->Register<oversight::v1::OversightService>(
            server.get());
        for (const char* p :
             {oversight::kNoticesProjection, oversight::kOrgsProjection,
              oversight::kMembersProjection, oversight::kWishesProjection,
              oversight::kFactsProjection, oversight::kCaseFactsProjection,
              oversight::kTaskFactsProjection, oversight::kTimersProjection}) {
          context.projections->push_back(p);
        }
        context.chassis->AddShutdownHook(
            [app, server, replica, running, coverage_thread] {
              running->store(false);
              coverage_thread->join();
              app->StopTimers();
            });
        return s;
      });
}
