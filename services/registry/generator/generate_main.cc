// registry_generate: writes a synthetic deployment as import JSON.
//
//   registry_generate --city=demo --seed=1 --out=var/demo.json
//
// Cities: demo (a Chengdu-style district with micro-grids and dedicated
// grids, and a Dongcheng-style district, in one deployment), dongcheng
// (~1,650 unit grids), yichang, chengdu (>= 100,000 micro-grids).

#include <cstdio>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/time.h"
#include "services/registry/app/deployment_json.h"
#include "services/registry/generator/city_generator.h"

ABSL_FLAG(std::string, city, "demo", "demo, dongcheng, yichang or chengdu");
ABSL_FLAG(uint64_t, seed, 1, "Random seed");
ABSL_FLAG(std::string, out, "", "Output file (default stdout)");
ABSL_FLAG(std::string, effective_time, "2024-01-01T00:00:00Z",
          "When the areas take effect");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace wangge::registry;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_effective_time),
                       &t, &err)) {
    std::fprintf(stderr, "--effective_time: %s\n", err.c_str());
    return 2;
  }
  const std::string city = absl::GetFlag(FLAGS_city);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  absl::StatusOr<Deployment> d;
  if (city == "demo") {
    d = GenerateDemo(seed, t);
  } else if (city == "dongcheng") {
    d = GenerateCity(DongchengSpec(), seed, t);
  } else if (city == "yichang") {
    d = GenerateCity(YichangSpec(), seed, t);
  } else if (city == "chengdu") {
    d = GenerateCity(ChengduSpec(), seed, t);
  } else {
    std::fprintf(stderr, "--city: unknown city %s\n", city.c_str());
    return 2;
  }
  if (!d.ok()) {
    std::fprintf(stderr, "%s\n", d.status().ToString().c_str());
    return 1;
  }
  // Every city gets the catalogue, departments, staff and components.
  if (!d->policy) AddDemoPolicy(&*d, seed, t);
  const std::string json = DeploymentToJson(*d);
  if (absl::GetFlag(FLAGS_out).empty()) {
    std::fwrite(json.data(), 1, json.size(), stdout);
  } else {
    std::ofstream(absl::GetFlag(FLAGS_out)) << json;
  }
  std::fprintf(stderr, "%zu areas\n", d->areas.size());
  return 0;
}
