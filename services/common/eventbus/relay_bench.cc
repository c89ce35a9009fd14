// Relay throughput to the dev broker (manual), beside kcat producing the
// same number of messages of the same size to the same broker: the mock
// broker is measured as much as the relay.
//
//   bazel run -c opt //services/common/eventbus:relay_bench -- [events]

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/eventbus/relay.h"
#include "services/common/eventstore/event_store.h"
#include "services/devbroker/dev_broker.h"

using namespace wangge;

int main(int argc, char** argv) {
  const int events = argc > 1 ? std::atoi(argv[1]) : 200000;
  const std::string dir = "/tmp/wangge-relay-bench";
  if (std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()) != 0)
    return 1;
  auto broker = *devbroker::DevBroker::Start({"wangge.bench.events"}, 8);
  eventstore::Options o;
  o.service = "bench";
  o.path = dir + "/store";
  o.partitions = 8;
  o.durability = eventstore::Durability::kAsync;
  auto store = *eventstore::EventStore::Open(o);
  size_t record_bytes = 0;
  for (int i = 0; i < events / 100; ++i) {
    eventstore::AppendRequest r;
    eventstore::StreamAppend sa;
    sa.stream_id = absl::StrCat("case/", i);
    common::v1::Position p;
    p.set_service(std::string(200, 'x'));
    sa.events.assign(100, eventstore::MakeEvent(p));
    r.streams.push_back(std::move(sa));
    if (!store->Append(std::move(r)).ok()) return 1;
  }
  record_bytes = (*store->ReadPartition(store->PartitionOf("case/0"), 1, 1))[0]
                     .ByteSizeLong();

  eventbus::RelayOptions ro;
  ro.kafka.bootstrap = broker->bootstrap();
  eventbus::Relay relay(store.get(), ro);
  const absl::Time t0 = absl::Now();
  if (!relay.Start().ok()) return 1;
  while (relay.Delivered() != store->Heads())
    absl::SleepFor(absl::Milliseconds(5));
  const double relay_secs = absl::ToDoubleSeconds(absl::Now() - t0);
  relay.Stop();

  // kcat: the same count of messages of the same size, one partition each
  // of 8 runs in parallel is not possible with one kcat; use one process.
  {
    std::ofstream f(dir + "/msgs");
    const std::string line(record_bytes, 'm');
    for (int i = 0; i < events; ++i) f << line << '\n';
  }
  const absl::Time k0 = absl::Now();
  const std::string cmd = absl::StrCat(
      "kcat -P -b ", broker->bootstrap(), " -t wangge.bench.events -p 0 ",
      "-X linger.ms=1 -X enable.idempotence=true -X acks=all -l ", dir,
      "/msgs");
  if (std::system(cmd.c_str()) != 0) return 1;
  const double kcat_secs = absl::ToDoubleSeconds(absl::Now() - k0);
  std::printf(
      "| relay (idempotent, acks=all, linger 1 ms), %d events of %zu bytes, 8 "
      "partitions | %.0f events/s |\n",
      events, record_bytes, events / relay_secs);
  std::printf(
      "| kcat -P, same count and size, 1 partition, same settings | %.0f "
      "msgs/s |\n",
      events / kcat_secs);
  if (std::system(("rm -rf " + dir).c_str()) != 0) return 1;
  return 0;
}
