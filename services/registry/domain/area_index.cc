#include "services/registry/domain/area_index.h"

#include <geos_c.h>

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace wangge::registry {
namespace {

// True when candidate `a` is a better answer than `b`. Depth is the code's
// length: codes are hierarchical, so among areas covering one point a longer
// code is a deeper area, whatever order a follower met the events in.
bool Better(bool a_dedicated, const std::string& a_code, bool b_dedicated,
            const std::string& b_code) {
  if (a_dedicated != b_dedicated) return a_dedicated;
  if (a_code.size() != b_code.size()) return a_code.size() > b_code.size();
  return a_code < b_code;
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
  if (entries_.empty()) return;
  // Entries in answer order, so that every cell's list comes out sorted.
  std::sort(entries_.begin(), entries_.end(),
            [](const Entry& a, const Entry& b) {
              if (a.dedicated != b.dedicated || a.code != b.code)
                return Better(a.dedicated, a.code, b.dedicated, b.code);
              return a.from < b.from;
            });
  Envelope all = entries_[0].boundary->envelope();
  for (const Entry& e : entries_) {
    const Envelope& b = e.boundary->envelope();
    all = {std::min(all.min_x, b.min_x), std::min(all.min_y, b.min_y),
           std::max(all.max_x, b.max_x), std::max(all.max_y, b.max_y)};
  }
  // About two cells per boundary (at most 4M): a cell then meets one or two
  // boundaries of the finest level.
  const double w = std::max(all.max_x - all.min_x, 1e-9);
  const double h = std::max(all.max_y - all.min_y, 1e-9);
  const double cells =
      std::min<double>(4 << 20, std::max<double>(1, 2.0 * entries_.size()));
  nx_ = std::max(1, static_cast<int>(std::sqrt(cells * w / h)));
  ny_ = std::max(1, static_cast<int>(cells / nx_));
  x0_ = all.min_x;
  y0_ = all.min_y;
  x1_ = all.max_x;
  y1_ = all.max_y;
  cell_w_ = w / nx_;
  cell_h_ = h / ny_;
  // Two passes: count per cell, then fill in entry order.
  cell_start_.assign(static_cast<size_t>(nx_) * ny_ + 1, 0);
  auto each_cell = [&](const Entry& e, auto&& visit) {
    const Envelope& b = e.boundary->envelope();
    for (int y = CellY(b.min_y); y <= CellY(b.max_y); ++y)
      for (int x = CellX(b.min_x); x <= CellX(b.max_x); ++x)
        visit(static_cast<size_t>(y) * nx_ + x);
  };
  for (const Entry& e : entries_)
    each_cell(e, [&](size_t c) { ++cell_start_[c + 1]; });
  for (size_t c = 1; c < cell_start_.size(); ++c)
    cell_start_[c] += cell_start_[c - 1];
  cell_items_.resize(cell_start_.back());
  std::vector<uint32_t> fill(cell_start_.begin(), cell_start_.end() - 1);
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    // The envelope widened to floats: a superset, checked exactly later.
    const Envelope& b = entries_[i].boundary->envelope();
    const Candidate item{std::nextafter(static_cast<float>(b.min_x), -INFINITY),
                         std::nextafter(static_cast<float>(b.min_y), -INFINITY),
                         std::nextafter(static_cast<float>(b.max_x), INFINITY),
                         std::nextafter(static_cast<float>(b.max_y), INFINITY),
                         i,
                         0};
    each_cell(entries_[i], [&](size_t c) { cell_items_[fill[c]++] = item; });
  }
  // Most lookups land in a cell that lies wholly inside its answer: mark, per
  // cell, the first candidate that covers the whole cell (edges included),
  // so that those lookups need no exact test. Candidates after it that are
  // only in force while it is can never be reached: they are dropped (the
  // coarse levels, listed in every cell they meet, mostly go).
  std::vector<uint32_t> kept_start(cell_start_.size(), 0);
  std::vector<Candidate> kept;
  kept.reserve(cell_items_.size());
  for (int cy = 0; cy < ny_; ++cy) {
    for (int cx = 0; cx < nx_; ++cx) {
      const size_t c = static_cast<size_t>(cy) * nx_ + cx;
      // Widened by far more than the rounding of CellX/CellY, so every point
      // placed in the cell lies in the tested rectangle.
      const double ex = 1e-6 * cell_w_, ey = 1e-6 * cell_h_;
      const Envelope cell{x0_ + cx * cell_w_ - ex, y0_ + cy * cell_h_ - ey,
                          x0_ + (cx + 1) * cell_w_ + ex,
                          y0_ + (cy + 1) * cell_h_ + ey};
      const Entry* cover = nullptr;
      for (uint32_t k = cell_start_[c]; k < cell_start_[c + 1]; ++k) {
        Candidate item = cell_items_[k];
        const Entry& e = entries_[item.entry];
        if (cover != nullptr && cover->from <= e.from && e.to <= cover->to)
          continue;  // shadowed whenever in force
        if (cover == nullptr && e.boundary->CoversRectangle(cell)) {
          item.covers_cell = 1;
          cover = &e;
        }
        kept.push_back(item);
      }
      kept_start[c + 1] = kept.size();
    }
  }
  kept.shrink_to_fit();
  cell_items_ = std::move(kept);
  cell_start_ = std::move(kept_start);
}

AreaIndex::~AreaIndex() = default;

// Clamped as a double first: a far-away coordinate must not overflow int.
int AreaIndex::CellX(double x) const {
  return static_cast<int>(
      std::clamp(std::floor((x - x0_) / cell_w_), 0.0, nx_ - 1.0));
}

int AreaIndex::CellY(double y) const {
  return static_cast<int>(
      std::clamp(std::floor((y - y0_) / cell_h_), 0.0, ny_ - 1.0));
}

absl::StatusOr<Located> AreaIndex::Locate(double lon, double lat,
                                          absl::Time as_of) const {
  // Outside every envelope (or NaN): no cell to look in. Inside, a point's
  // clamped cell is the one whose rectangle (give or take rounding) holds it.
  if (nx_ == 0 || !(lon >= x0_ && lat >= y0_ && lon <= x1_ && lat <= y1_))
    return NotFound(lon, lat);
  // The cell's candidates in answer order: the first in force whose
  // boundary covers the point is the answer.
  const size_t c = static_cast<size_t>(CellY(lat)) * nx_ + CellX(lon);
  GEOSGeometry* point = nullptr;
  const Entry* found = nullptr;
  const float x = lon, y = lat;
  for (uint32_t k = cell_start_[c]; k < cell_start_[c + 1]; ++k) {
    const Candidate& item = cell_items_[k];
    if (x < item.min_x || x > item.max_x || y < item.min_y || y > item.max_y)
      continue;  // most candidates end here, without touching their entry
    const Entry& e = entries_[item.entry];
    if (as_of < e.from || e.to <= as_of) continue;
    if (item.covers_cell) {
      found = &e;
      break;
    }
    // Most points are decided by a crossing test over the boundary's own
    // vertices; GEOS only for points on an edge and for large boundaries.
    const int quick = e.boundary->QuickCover(lon, lat);
    if (quick < 0) continue;
    if (quick == 0) {
      if (point == nullptr) point = MakePoint(lon, lat);
      if (!e.boundary->CoversPoint(point, lon, lat)) continue;
    }
    found = &e;
    break;
  }
  if (point != nullptr) DestroyGeometry(point);
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
    if (!found || Better(area.dedicated, code, best.dedicated, best.code)) {
      found = true;
      best = {code, area.level, area.dedicated, area.depth};
    }
  }
  if (!found) return NotFound(lon, lat);
  return best;
}

}  // namespace wangge::registry
