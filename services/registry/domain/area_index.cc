#include "services/registry/domain/area_index.h"

#include <geos_c.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace wangge::registry {
namespace {

GEOSContextHandle_t IndexCtx() { return GeosContext(); }

// True when candidate `a` is a better answer than `b`. Depth is the code's
// length: codes are hierarchical, so among areas covering one point a longer
// code is a deeper area, whatever order a follower met the events in.
bool Better(bool a_dedicated, const std::string& a_code, const Located& b) {
  if (a_dedicated != b.dedicated) return a_dedicated;
  if (a_code.size() != b.code.size()) return a_code.size() > b.code.size();
  return a_code < b.code;
}

absl::Status NotFound(double lon, double lat) {
  return absl::NotFoundError(
      absl::StrCat("no area covers (", lon, ", ", lat, ") at that time"));
}

}  // namespace

AreaIndex::AreaIndex(const RegistryState& state) {
  // Depth from the level table: followers may have met areas before the
  // deployment event (different partitions), so Area::depth can be stale.
  absl::flat_hash_map<std::string, int> depth;
  if (state.deployment) {
    for (int i = 0; i < state.deployment->levels_size(); ++i) {
      depth[state.deployment->levels(i).name()] = i;
    }
  }
  for (const auto& [code, area] : state.areas) {
    auto d = depth.find(area.level);
    const int area_depth = d == depth.end() ? area.depth : d->second;
    for (const AreaVersion& v : area.versions) {
      entries_.push_back({code, area.level, area.dedicated, area_depth, v.from,
                          v.to, v.boundary});
    }
  }
  tree_ = GEOSSTRtree_create_r(IndexCtx(), 10);
  for (size_t i = 0; i < entries_.size(); ++i) {
    GEOSSTRtree_insert_r(
        IndexCtx(), tree_,
        const_cast<GEOSGeometry*>(entries_[i].boundary->geos()),
        reinterpret_cast<void*>(i));
  }
  // The tree builds itself on the first query; do it now, on this thread,
  // so that concurrent lookups only read.
  GEOSGeometry* p = MakePoint(0, 0);
  GEOSSTRtree_query_r(
      IndexCtx(), tree_, p, [](void*, void*) {}, nullptr);
  DestroyGeometry(p);
}

AreaIndex::~AreaIndex() {
  if (tree_ != nullptr) GEOSSTRtree_destroy_r(IndexCtx(), tree_);
}

absl::StatusOr<Located> AreaIndex::Locate(double lon, double lat,
                                          absl::Time as_of) const {
  // Candidates whose envelope holds the point and that are in force, then
  // the exact test best-first: the first that covers the point is the answer.
  struct Query {
    const AreaIndex* index;
    absl::Time as_of;
    double lon, lat;
    std::vector<const Entry*> candidates;
  };
  thread_local Query q;
  q.index = this;
  q.as_of = as_of;
  q.lon = lon;
  q.lat = lat;
  q.candidates.clear();
  GEOSGeometry* point = MakePoint(lon, lat);
  GEOSSTRtree_query_r(
      IndexCtx(), tree_, point,
      [](void* item, void* data) {
        auto* q = static_cast<Query*>(data);
        const Entry& e = q->index->entries_[reinterpret_cast<size_t>(item)];
        if (e.from <= q->as_of && q->as_of < e.to &&
            e.boundary->envelope().Contains(q->lon, q->lat)) {
          q->candidates.push_back(&e);
        }
      },
      &q);
  std::sort(q.candidates.begin(), q.candidates.end(),
            [](const Entry* a, const Entry* b) {
              if (a->dedicated != b->dedicated) return a->dedicated;
              if (a->code.size() != b->code.size()) {
                return a->code.size() > b->code.size();
              }
              return a->code < b->code;
            });
  const Entry* found = nullptr;
  for (const Entry* e : q.candidates) {
    if (e->boundary->CoversPoint(point, lon, lat)) {
      found = e;
      break;
    }
  }
  DestroyGeometry(point);
  if (found == nullptr) return NotFound(lon, lat);
  return Located{found->code, found->level, found->dedicated, found->depth};
}

absl::StatusOr<Located> LocateByScan(const RegistryState& state, double lon,
                                     double lat, absl::Time as_of) {
  bool found = false;
  Located best;
  for (const auto& [code, area] : state.areas) {
    const AreaVersion* v = area.VersionAt(as_of);
    if (v == nullptr || !v->boundary->Covers(lon, lat)) continue;
    if (!found || Better(area.dedicated, code, best)) {
      found = true;
      best = {code, area.level, area.dedicated, area.depth};
    }
  }
  if (!found) return NotFound(lon, lat);
  return best;
}

}  // namespace wangge::registry
