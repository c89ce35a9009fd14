// Red line benchmark (manual): a Chengdu-sized line (an overseer for every
// street, community general grid, general grid, micro-grid and dedicated
// grid: ~114,000 posts), then where notices land (FindOnLine from random
// micro-grids, as DecideRaise does for every notice) and the coverage of
// one street (CoverageOf, the red line's gap report).
//
//   bazel run -c opt //services/oversight/domain:red_line_bench

#include <algorithm>
#include <cstdio>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/clock/proto_time.h"
#include "services/oversight/domain/red_line.h"
#include "services/registry/generator/city_generator.h"

using namespace wangge;
using namespace wangge::oversight;

int main() {
  const absl::Time t0 = absl::FromUnixSeconds(1704067200);
  auto city = registry::GenerateCity(registry::ChengduSpec(), 1, t0);
  if (!city.ok()) std::abort();
  registry::RegistryState reg;
  auto events = registry::DecideImport(reg, *city);
  if (!events.ok()) std::abort();
  for (const auto& e : *events) {
    if (!registry::Evolve(reg, e).ok()) std::abort();
  }
  const OversightRules rules;
  RedLine line;
  std::vector<std::string> codes;
  for (const auto& [code, area] : reg.areas) codes.push_back(code);
  std::sort(codes.begin(), codes.end());
  // A working committee and a branch per district: every post's
  // organisation covers it and is of a kind its level takes.
  for (const auto& code : codes) {
    if (reg.Find(code)->level != "district") continue;
    for (const auto& [id, kind] :
         {std::pair{"wc-", v1::ORGANIZATION_KIND_WORKING_COMMITTEE},
          std::pair{"br-", v1::ORGANIZATION_KIND_BRANCH}}) {
      v1::RegisterPartyOrganizationRequest r;
      r.set_organization_id(absl::StrCat(id, code));
      r.set_name(r.organization_id());
      r.set_kind(kind);
      r.set_area_code(code);
      auto e = DecideRegisterOrganization(line, reg, r);
      if (!e.ok() || !Evolve(line, *e->event).ok()) std::abort();
    }
  }
  std::vector<std::string> micro;
  absl::Time start = absl::Now();
  size_t posts = 0;
  for (const auto& code : codes) {
    const std::string& level = reg.Find(code)->level;
    if (!rules.line.count(level)) continue;
    if (level == "micro_grid") micro.push_back(code);
    v1::AssignOverseerRequest r;
    r.set_member_id(absl::StrCat("m-", code));
    r.set_organization_id(absl::StrCat(
        level == "street" || level == "community_general_grid" ? "wc-" : "br-",
        code.substr(0, 6)));
    r.set_area_code(code);
    *r.mutable_start_time() = ToProto(t0);
    auto e = DecideAssignOverseer(line, reg, rules, r);
    if (!e.ok()) {
      std::fprintf(stderr, "%s\n", e.status().ToString().c_str());
      std::abort();
    }
    if (!Evolve(line, *e->event).ok()) std::abort();
    ++posts;
  }
  std::printf("| assign the line | %zu posts | %.1f s |\n", posts,
              absl::ToDoubleSeconds(absl::Now() - start));
  // What the app paid per assignment while it copied the line on every
  // change (it now changes it in place when no reader holds it).
  start = absl::Now();
  const RedLine copy = line;
  std::printf("| one copy of the whole line | %zu members | %.1f ms |\n",
              copy.members.size(),
              absl::ToDoubleMilliseconds(absl::Now() - start));

  std::shuffle(micro.begin(), micro.end(), std::mt19937_64(5));
  micro.resize(std::min<size_t>(micro.size(), 2000));
  size_t found = 0;
  start = absl::Now();
  for (const auto& code : micro) {
    found += !FindOnLine(line, reg, code, false, rules, t0 + absl::Hours(1))
                  .overseer.member_id.empty();
  }
  double s = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf(
      "| FindOnLine from a random micro-grid | %zu lookups | %.0f /s | %zu "
      "found |\n",
      micro.size(), micro.size() / s, found);

  std::string street;
  for (const auto& code : codes) {
    if (reg.Find(code)->level == "street") {
      street = code;
      break;
    }
  }
  start = absl::Now();
  const v1::Coverage c =
      CoverageOf(line, reg, rules, street, t0 + absl::Hours(1));
  std::printf(
      "| CoverageOf one street (%s) | %d uncovered, %d stale | %.3f s |\n",
      street.c_str(), c.uncovered_area_codes_size(),
      c.stale_overseer_ids_size(), absl::ToDoubleSeconds(absl::Now() - start));
  return 0;
}
