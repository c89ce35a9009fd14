#include "services/audit/evaluation_replay.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/audit/replay.h"
#include "services/common/clock/proto_time.h"
#include "services/common/domain/emitted.h"
#include "services/common/domain/ids.h"
#include "services/supervision/domain/case.h"

namespace wangge::audit {
namespace {

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void EvaluationReplay::Add(const common::v1::EventEnvelope& e) {
  if (FromProto(e.recorded_time()) > as_of_) return;
  const std::string& type = e.event_type();
  if (absl::StartsWith(type, "wangge.registry.v1.")) {
    registry_[e.partition()].push_back(e);
  } else if (absl::StartsWith(type, "wangge.supervision.v1.") &&
             absl::StartsWith(e.stream_id(), "case/")) {
    supervision_[e.partition()].push_back(e);
  } else if (absl::StartsWith(type, "wangge.dispatch.v1.") &&
             absl::StartsWith(e.stream_id(), "task/")) {
    dispatch_[e.partition()].push_back(e);
  }
}

absl::StatusOr<supervision::v1::Evaluation> EvaluationReplay::Evaluate(
    const supervision::EvaluationWeights& weights, const std::string& scope,
    absl::Time start, absl::Time end) const {
  auto registry = RegistryFromHistory(registry_);
  if (!registry.ok()) return registry.status();
  std::vector<supervision::v1::EvaluationFact> facts;
  auto keep = [&](std::vector<supervision::CountedFact> counted) {
    for (auto& f : counted) facts.push_back(std::move(f.fact));
  };
  // Supervision's own events, each on the case as it was before it.
  std::map<std::string, supervision::v1::CaseRecord> cases;
  for (const auto& [p, events] : supervision_) {
    for (const auto& env : events) {
      auto event = domain::Unpack(env);
      if (!event.ok()) return event.status();
      supervision::v1::CaseRecord& c = cases[env.stream_id().substr(5)];
      keep(supervision::FactsOf(c, **event, env.actor(),
                                FromProto(env.occurred_time())));
      auto applied = supervision::Evolve(c, env);
      if (!applied.ok()) return applied.status();
    }
  }
  // The command centre's events, as supervision counts them when it reads
  // dispatch's topic (only a case's opening matters to their facts).
  std::set<std::string> counted_once;
  for (const auto& [p, events] : dispatch_) {
    for (const auto& env : events) {
      auto event = domain::Unpack(env);
      if (!event.ok()) return event.status();
      auto it = cases.find(domain::CaseOfTask(env.stream_id()));
      if (it == cases.end() || it->second.version() == 0) continue;
      for (auto& f : supervision::FactsOf(it->second, **event, env.actor(),
                                          FromProto(env.occurred_time()))) {
        if (!f.stable_id.empty() && !counted_once.insert(f.stable_id).second)
          continue;
        facts.push_back(std::move(f.fact));
      }
    }
  }
  std::vector<supervision::v1::EvaluationFact> window;
  for (auto& f : facts) {
    const absl::Time t = FromProto(f.time());
    if (t >= start && t < end) window.push_back(std::move(f));
  }
  return supervision::Evaluate(window, *registry, weights, scope, start, end);
}

std::string EvaluationCsv(const supervision::v1::Evaluation& evaluation) {
  std::set<std::string> counters, rates;
  for (const auto& s : evaluation.scores()) {
    for (const auto& [k, v] : s.counters()) counters.insert(k);
    for (const auto& [k, v] : s.rates()) rates.insert(k);
  }
  std::vector<std::string> header = {"subject", "score", "grade"};
  header.insert(header.end(), counters.begin(), counters.end());
  header.insert(header.end(), rates.begin(), rates.end());
  std::string out = absl::StrJoin(header, ",") + "\n";
  for (const auto& s : evaluation.scores()) {
    std::vector<std::string> row = {
        CsvField(s.subject()), absl::StrFormat("%.2f", s.score()), s.grade()};
    for (const auto& k : counters) {
      auto it = s.counters().find(k);
      row.push_back(it == s.counters().end() ? "" : absl::StrCat(it->second));
    }
    for (const auto& k : rates) {
      auto it = s.rates().find(k);
      row.push_back(
          it == s.rates().end() ? "" : absl::StrFormat("%.4f", it->second));
    }
    out += absl::StrJoin(row, ",") + "\n";
  }
  return out;
}

}  // namespace wangge::audit
