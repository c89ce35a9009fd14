// Command latency while a flood of timers fires (manual). N tasks are due
// at the same instant; the timer thread fires them (yellow + overdue) in
// bounded batches while client threads accept other tasks, one command at a
// time each. Reports command latency without and with the flood, and the
// timers' own rate. The store runs in `sync` mode (the default) on disk.
//
//   bazel run -c opt //services/dispatch:dispatch_bench -- [timers] [clients]

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/crypto/crypto.h"
#include "services/dispatch/app/dispatch_app.h"
#include "services/registry/domain/test_registry.h"
#include "wangge/supervision/v1/events.pb.h"

using namespace wangge;
namespace reg = registry::testing;

namespace {

common::v1::EventEnvelope Filed(const std::string& case_id, uint64_t seq) {
  supervision::v1::CaseFiled f;
  f.set_case_id(case_id);
  f.set_urgency("ordinary");
  f.set_category_code(reg::kRubbish);
  f.set_area_code(reg::kGrid);
  common::v1::EventEnvelope env;
  env.set_event_id(absl::StrCat("e", seq));
  env.set_event_type(f.GetDescriptor()->full_name());
  env.set_source_service("supervision");
  env.set_sequence(seq);
  env.mutable_payload()->set_value(f.SerializeAsString());
  return env;
}

// Dispatches `n` cases named <prefix><i> in appends of 1,000.
bool DispatchMany(dispatch::DispatchApp& app, eventstore::EventStore& store,
                  const std::string& prefix, int n, uint64_t* seq) {
  for (int i = 0; i < n; i += 1000) {
    eventstore::AppendRequest batch;
    for (int j = i; j < std::min(n, i + 1000); ++j) {
      auto effects =
          app.SupervisionEffects(Filed(prefix + std::to_string(j), ++*seq));
      if (!effects.ok()) return false;
      for (auto& s : effects->streams) batch.streams.push_back(std::move(s));
      for (auto& w : effects->projection_writes)
        batch.projection_writes.push_back(std::move(w));
    }
    if (!store.Append(std::move(batch)).ok()) return false;
  }
  return true;
}

struct Latencies {
  std::vector<double> ms;
  std::string Summary() {
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) {
      return ms.empty() ? 0.0
                        : ms[std::min(ms.size() - 1,
                                      static_cast<size_t>(q * ms.size()))];
    };
    return absl::StrCat("n=", ms.size(), " p50=", at(0.5), " ms p90=", at(0.9),
                        " ms p99=", at(0.99),
                        " ms max=", ms.empty() ? 0 : ms.back(), " ms");
  }
};

// `clients` threads accept tasks <prefix>0.. (one command at a time each)
// until `stop` or `per_client` commands each.
Latencies Accept(dispatch::DispatchApp& app, const std::string& prefix,
                 int offset, int clients, int per_client,
                 std::atomic<bool>* stop) {
  std::vector<std::vector<double>> per(clients);
  std::vector<std::thread> threads;
  common::v1::Actor handler;
  handler.set_subject("han-1");
  handler.set_role(common::v1::ROLE_DEPARTMENT_HANDLER);
  handler.set_department(reg::kSanitation);
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; i < per_client && !(stop && stop->load()); ++i) {
        dispatch::v1::TaskActionRequest r;
        r.set_task_id(dispatch::TaskId(
            prefix + std::to_string(offset + c * per_client + i), 1));
        const absl::Time t0 = absl::Now();
        auto result = app.Act(handler, dispatch::TaskAction::kAccept, r);
        per[c].push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
        if (!result.ok()) {
          std::fprintf(stderr, "accept: %s\n",
                       result.status().ToString().c_str());
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  Latencies out;
  for (auto& v : per) out.ms.insert(out.ms.end(), v.begin(), v.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int timers = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int clients = argc > 2 ? std::atoi(argv[2]) : 4;
  const int per_client = 250;
  const std::string dir = "/tmp/wangge-dispatch-bench";
  if (std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()) != 0)
    return 1;
  FakeClock clock(reg::Local(2024, 9, 23, 10, 0));
  eventstore::Options o;
  o.service = "dispatch";
  o.path = dir + "/store";
  o.partitions = 8;
  o.clock = &clock;
  o.signer =
      *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_ED25519, "b");
  auto store = *eventstore::EventStore::Open(o);
  registry::RegistryReplica replica(store.get());
  for (const auto& env : reg::TestRegistryEnvelopes()) {
    if (!store->Append(*replica.Effects(env)).ok()) return 1;
    replica.OnApplied(env);
  }
  dispatch::DispatchApp app(store.get(), &replica, dispatch::DispatchOptions(),
                            &clock);
  uint64_t seq = 0;
  const absl::Time setup = absl::Now();
  if (!DispatchMany(app, *store, "due-", timers, &seq)) return 1;
  // Command targets, dispatched later: not due when the flood fires.
  clock.Set(reg::Local(2024, 9, 23, 16, 0));
  const int targets = 2 * clients * per_client;
  if (!DispatchMany(app, *store, "cmd-", targets, &seq)) return 1;
  std::printf("setup: %d due tasks, %d command targets in %.1f s\n", timers,
              targets, absl::ToDoubleSeconds(absl::Now() - setup));

  Latencies quiet = Accept(app, "cmd-", 0, clients, per_client, nullptr);
  std::printf("accept, no timers firing:   %s\n", quiet.Summary().c_str());

  const absl::Time flood = absl::Now();
  app.StartTimers();
  while (app.timers_fired() == 0) absl::SleepFor(absl::Milliseconds(1));
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (app.timers_fired() < static_cast<uint64_t>(timers))
      absl::SleepFor(absl::Milliseconds(2));
    done = true;
  });
  // The second half of the targets, while the timers fire.
  Latencies loaded =
      Accept(app, "cmd-", targets / 2, clients, per_client, &done);
  const uint64_t fired_at_commands_end = app.timers_fired();
  watcher.join();
  const double flood_s = absl::ToDoubleSeconds(absl::Now() - flood);
  app.StopTimers();
  std::printf("accept, while timers fire:  %s\n", loaded.Summary().c_str());
  std::printf(
      "timers: %d tasks (yellow + overdue each) in %.2f s = %.0f "
      "tasks/s; %llu had fired when the commands finished\n",
      timers, flood_s, timers / flood_s,
      static_cast<unsigned long long>(fired_at_commands_end));
  std::printf("store: %llu group commits, %llu WAL syncs\n",
              static_cast<unsigned long long>(store->group_commits()),
              static_cast<unsigned long long>(store->wal_syncs()));
  return 0;
}
