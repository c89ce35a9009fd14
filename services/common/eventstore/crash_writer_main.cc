// The child of the crash test: appends under load and prints "ack <n>" after
// each acknowledged append. Each append writes two streams in different
// partitions, so a partial batch would show as half a pair.
//
// Usage: crash_writer <store dir> <key.pem> <first n> <threads> <durability>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/eventstore/event_store.h"

using namespace wangge::eventstore;

int main(int argc, char** argv) {
  if (argc != 6) return 2;
  std::ifstream key_in(argv[2]);
  std::stringstream pem;
  pem << key_in.rdbuf();
  Options o;
  o.service = "crash";
  o.path = argv[1];
  o.partitions = 4;
  o.checkpoint_every_events = 50;
  o.durability =
      std::string(argv[5]) == "async" ? Durability::kAsync : Durability::kSync;
  o.signer = *wangge::crypto::Signer::FromPem(pem.str(), "crash-key");
  auto store = EventStore::Open(o);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  std::atomic<uint64_t> next{std::strtoull(argv[3], nullptr, 10)};
  std::mutex out_mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < std::atoi(argv[4]); ++t) {
    threads.emplace_back([&] {
      while (true) {
        const uint64_t n = next++;
        AppendRequest r;
        r.command_id = absl::StrCat("cmd-", n);
        for (const char* side : {"a", "b"}) {
          StreamAppend sa;
          sa.stream_id = absl::StrCat("pair/", n, "/", side);
          sa.expected_version = kNoStream;
          wangge::common::v1::Position payload;
          payload.set_sequence(n);
          sa.events.push_back(MakeEvent(payload));
          r.streams.push_back(std::move(sa));
        }
        auto result = (*store)->Append(std::move(r));
        if (!result.ok()) {
          std::fprintf(stderr, "append: %s\n",
                       result.status().ToString().c_str());
          std::_Exit(1);
        }
        std::lock_guard<std::mutex> lock(out_mu);
        std::printf("ack %llu\n", static_cast<unsigned long long>(n));
        std::fflush(stdout);
      }
    });
  }
  for (auto& t : threads) t.join();
  return 0;
}
