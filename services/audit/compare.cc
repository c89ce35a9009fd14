#include "services/audit/compare.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace wangge::audit {

void SourceComparer::Add(std::map<Key, Seen>& side, const char* name,
                         const std::string& service, uint32_t partition,
                         const common::v1::StoredEvent& event) {
  common::v1::EventEnvelope env;
  // An unparsable record still takes a place: at the position after the
  // last one seen, so it is compared rather than dropped.
  uint64_t sequence = 0;
  if (env.ParseFromString(event.record())) {
    sequence = env.sequence();
  } else {
    auto it = side.lower_bound(Key(service, partition + 1, 0));
    sequence =
        (it != side.begin() && std::get<0>(std::prev(it)->first) == service &&
         std::get<1>(std::prev(it)->first) == partition)
            ? std::get<2>(std::prev(it)->first) + 1
            : 1;
  }
  Seen seen{hasher_.Hash(event.record()),
            event.leaf_hash() + event.chain_hash()};
  auto [it, first] = side.try_emplace(Key(service, partition, sequence), seen);
  // A redelivered copy is the same bytes; another event at the position is
  // a conflict (kept: the first copy, as a consumer applies it).
  if (!first && (it->second.record_digest != seen.record_digest ||
                 it->second.hashes != seen.hashes)) {
    conflicts_.push_back({service, partition, sequence,
                          absl::StrCat("conflicting copies in ", name)});
  }
}

void SourceComparer::AddLeft(const std::string& service, uint32_t partition,
                             const common::v1::StoredEvent& event) {
  Add(left_, "left", service, partition, event);
  ++left_events_;
}

void SourceComparer::AddRight(const std::string& service, uint32_t partition,
                              const common::v1::StoredEvent& event) {
  Add(right_, "right", service, partition, event);
  ++right_events_;
}

std::vector<SourceDifference> SourceComparer::Finish(bool right_may_be_older) {
  std::vector<SourceDifference> out;
  newer_left_ = 0;
  std::map<std::pair<std::string, uint32_t>, uint64_t> right_last;
  for (const auto& [k, seen] : right_) {
    uint64_t& last = right_last[{std::get<0>(k), std::get<1>(k)}];
    last = std::max(last, std::get<2>(k));
  }
  auto newer = [&](const Key& k) {
    if (!right_may_be_older) return false;
    auto it = right_last.find({std::get<0>(k), std::get<1>(k)});
    return std::get<2>(k) > (it == right_last.end() ? 0 : it->second);
  };
  auto report = [&](const Key& k, const char* what) {
    out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), what});
  };
  auto l = left_.begin();
  auto r = right_.begin();
  while (l != left_.end() || r != right_.end()) {
    if (r == right_.end() || (l != left_.end() && l->first < r->first)) {
      if (newer(l->first)) {
        ++newer_left_;
      } else {
        report(l->first, "only in left");
      }
      ++l;
    } else if (l == left_.end() || r->first < l->first) {
      report(r->first, "only in right");
      ++r;
    } else {
      if (l->second.record_digest != r->second.record_digest) {
        report(l->first, "record differs");
      } else if (l->second.hashes != r->second.hashes) {
        report(l->first, "hashes differ");
      }
      ++l;
      ++r;
    }
  }
  out.insert(out.end(), conflicts_.begin(), conflicts_.end());
  std::sort(out.begin(), out.end(),
            [](const SourceDifference& a, const SourceDifference& b) {
              return std::tie(a.service, a.partition, a.sequence) <
                     std::tie(b.service, b.partition, b.sequence);
            });
  return out;
}

}  // namespace wangge::audit
