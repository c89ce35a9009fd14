// The dispatch service (指挥中心): flags, wiring, signals; nothing else.
//
// Follows the registry (routing, calendar, class policies), supervision
// (filed, reworked and reopened cases) and oversight (its open notices are
// shown in the department's queue); fires its timers on a thread of its own.

#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "services/common/server/service_main.h"
#include "services/dispatch/app/dispatch_app.h"
#include "services/dispatch/server/dispatch_server.h"
#include "services/registry/replica/follow.h"

int main(int argc, char** argv) {
  using namespace wangge;
  return server::ServiceMain(
      argc, argv, "dispatch",
      [](server::ServiceContext& context) -> absl::Status {
        auto registry = registry::FollowRegistry(context);
        if (!registry.ok()) return registry.status();
        auto replica = registry->replica;
        absl::Status s;
        auto app = std::make_shared<dispatch::DispatchApp>(
            context.store, replica.get(), dispatch::DispatchOptions(),
            context.clock);
        auto& lateness = prometheus::BuildHistogram()
                             .Name("wangge_timer_lateness_seconds")
                             .Help("How late dispatch timers fire")
                             .Register(context.chassis->metrics().registry())
                             .Add({}, prometheus::Histogram::BucketBoundaries{
                                          0.01, 0.1, 0.5, 1, 5, 30, 300});
        app->on_timer_lateness = [&lateness](double s) { lateness.Observe(s); };
        auto& overdue = prometheus::BuildCounter()
                            .Name("wangge_tasks_overdue_total")
                            .Help("Dispatch tasks that went overdue")
                            .Register(context.chassis->metrics().registry())
                            .Add({});
        app->on_overdue = [&overdue] { overdue.Increment(); };
        auto& backlog = prometheus::BuildGauge()
                            .Name("wangge_tasks_overdue_open")
                            .Help(
                                "Open dispatch tasks past their deadline "
                                "(the overdue backlog)")
                            .Register(context.chassis->metrics().registry())
                            .Add({});
        app->on_overdue_backlog = [&backlog](size_t n) {
          backlog.Set(static_cast<double>(n));
        };
        s = server::FollowAll(context,
                              {{"supervision",
                                [app](const common::v1::EventEnvelope& env) {
                                  return app->SupervisionEffects(env);
                                }},
                               {"oversight",
                                [app](const common::v1::EventEnvelope& env) {
                                  return app->OversightEffects(env);
                                },
                                [app](const common::v1::EventEnvelope& env) {
                                  app->OnOversightApplied(env);
                                }}},
                              {registry->follower});
        if (!s.ok()) return s;
        app->StartTimers();
        auto server = std::make_shared<dispatch::DispatchServer>(
            context.chassis, app.get(), context.store);
        s = context.chassis->Register<dispatch::v1::DispatchService>(
            server.get());
        for (const char* p :
             {dispatch::kTasksProjection, dispatch::kQueueProjection,
              dispatch::kCaseTasksProjection, dispatch::kTimersProjection,
              dispatch::kCaseNoticesProjection}) {
          context.projections->push_back(p);
        }
        context.chassis->AddShutdownHook(
            [app, server, replica] { app->StopTimers(); });
        return s;
      });
}
