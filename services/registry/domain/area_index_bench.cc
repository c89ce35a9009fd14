// Registry benchmark (manual): generation and import (decide + evolve, with
// every validation; areas, the demo policy and staff for every post) time
// and memory, then who serves an area (StaffOf) and locate lookups per
// second on one core, for a Dongcheng-sized and a Chengdu-sized city.
//
//   bazel run -c opt //services/registry/domain:area_index_bench --
//   [dongcheng|chengdu]

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>

#include "absl/time/clock.h"
#include "services/registry/domain/area_index.h"
#include "services/registry/domain/policy.h"
#include "services/registry/generator/city_generator.h"

using namespace wangge::registry;

namespace {

long RssMiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  }
  return -1;
}

void Run(const char* name, const CitySpec& spec) {
  const absl::Time t0 = absl::FromUnixSeconds(1704067200);
  absl::Time start = absl::Now();
  auto d = GenerateCity(spec, 1, t0);
  if (!d.ok()) std::abort();
  // With the policy, departments and staff for every post (a worker per
  // grid and micro-grid, a supervisor per community), as a deployment has.
  AddDemoPolicy(&*d, 1, t0);
  const double gen = absl::ToDoubleSeconds(absl::Now() - start);
  const long rss_before = RssMiB();
  start = absl::Now();
  RegistryState state;
  auto events = DecideImport(state, *d);
  if (!events.ok()) {
    std::fprintf(stderr, "%s\n", events.status().ToString().c_str());
    std::abort();
  }
  for (const auto& e : *events) {
    if (!Evolve(state, e).ok()) std::abort();
  }
  const double import = absl::ToDoubleSeconds(absl::Now() - start);
  start = absl::Now();
  AreaIndex index(state);
  const double build = absl::ToDoubleSeconds(absl::Now() - start);
  size_t leaves = 0;
  for (const auto& [code, area] : state.areas) {
    leaves += state.children.count(code) == 0;
  }
  std::printf(
      "| %s | %zu areas (%zu leaves) | generate %.1f s | import %.1f s | index "
      "%.2f s | RSS %ld MiB (state+index ~%ld MiB) |\n",
      name, state.areas.size(), leaves, gen, import, build, RssMiB(),
      RssMiB() - rss_before);
  // The copies services keep, replayed from the events: with boundaries
  // (intake's) and without (supervision's, dispatch's, oversight's).
  std::vector<std::unique_ptr<RegistryState>> copies;  // kept to the end
  for (const bool keep : {false, true}) {
    const long before = RssMiB();
    start = absl::Now();
    auto& copy = copies.emplace_back(std::make_unique<RegistryState>());
    copy->keep_boundaries = keep;
    for (const auto& e : *events) {
      if (!Evolve(*copy, e).ok()) std::abort();
    }
    std::printf(
        "| %s | a service's copy %s boundaries | replay %.1f s | ~%ld "
        "MiB |\n",
        name, keep ? "with" : "without",
        absl::ToDoubleSeconds(absl::Now() - start), RssMiB() - before);
  }
  // Who serves an area (StaffOf): supervision asks for the supervisors of
  // the case's area at every report and every handled task.
  {
    std::vector<std::string> finest;
    for (const auto& [code, area] : state.areas) {
      if (state.children.count(code) == 0) finest.push_back(code);
    }
    std::shuffle(finest.begin(), finest.end(), std::mt19937_64(3));
    if (finest.size() > 20000) finest.resize(20000);
    size_t found = 0;
    start = absl::Now();
    for (const auto& code : finest) {
      found += StaffOf(state, code, "supervisor", t0 + absl::Hours(1)).size();
    }
    const double s = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf(
        "| %s | supervisors of an area (StaffOf), %zu staff, %zu finest "
        "areas | %.0f lookups/s | %zu found |\n",
        name, state.staff.size(), finest.size(), finest.size() / s, found);
  }
  // Random points over the city's envelope (some fall outside: misses).
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> ux(spec.center_lon - spec.radius_deg,
                                            spec.center_lon + spec.radius_deg);
  std::uniform_real_distribution<double> uy(spec.center_lat - spec.radius_deg,
                                            spec.center_lat + spec.radius_deg);
  std::vector<std::pair<double, double>> points(1000000);
  for (auto& p : points) p = {ux(rng), uy(rng)};
  int hits = 0;
  start = absl::Now();
  for (const auto& [x, y] : points) hits += index.Locate(x, y, t0).ok();
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf(
      "| %s | locate, 1 thread, %zu random points | %.0f lookups/s | %d hits "
      "|\n",
      name, points.size(), points.size() / secs, hits);
  // The same points split: inside an area (what reports are) and outside.
  std::vector<std::pair<double, double>> inside, outside;
  for (const auto& p : points)
    (index.Locate(p.first, p.second, t0).ok() ? inside : outside).push_back(p);
  for (const auto* set : {&inside, &outside}) {
    int found = 0;
    start = absl::Now();
    for (const auto& [x, y] : *set) found += index.Locate(x, y, t0).ok();
    const double s = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf(
        "| %s | locate, 1 thread, %zu points %s the city | %.0f "
        "lookups/s | %d hits |\n",
        name, set->size(), set == &inside ? "inside" : "outside",
        set->size() / s, found);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";
  if (only.empty() || only == "dongcheng") Run("dongcheng", DongchengSpec());
  if (only.empty() || only == "chengdu") Run("chengdu", ChengduSpec());
  return 0;
}
