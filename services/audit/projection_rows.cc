#include "services/audit/projection_rows.h"

#include <algorithm>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <sys/mman.h>

namespace wangge::audit {
namespace {

constexpr size_t kBlockSize = 4 << 20;

uint64_t BigEndianWord(absl::string_view key, size_t at) {
  uint64_t w = 0;
  for (size_t i = at; i < at + 8; ++i)
    w = (w << 8) | (i < key.size() ? static_cast<unsigned char>(key[i]) : 0);
  return w;
}

}  // namespace

ProjectionRows::Block ProjectionRows::Block::Map(size_t size) {
  void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    std::fprintf(stderr, "audit: out of memory for %zu bytes of rows\n", size);
    std::abort();  // as a failed operator new would end
  }
  // Huge pages: a replay writes gigabytes of fresh rows, and a fault per
  // 4 KiB page cost more than writing them (docs/benchmarks.md, audit).
  madvise(m, size, MADV_HUGEPAGE);
  Block b;
  b.data = static_cast<char*>(m);
  b.size = size;
  return b;
}

ProjectionRows::Block::Block(Block&& o) noexcept : data(o.data), size(o.size) {
  o.data = nullptr;
  o.size = 0;
}

ProjectionRows::Block::~Block() {
  if (data != nullptr) munmap(data, size);
}

ProjectionRows::ProjectionRows(const ProjectionRows& other) { *this = other; }

ProjectionRows& ProjectionRows::operator=(const ProjectionRows& other) {
  if (this == &other) return *this;
  blocks_.clear();
  free_ = nullptr;
  free_size_ = 0;
  entries_.clear();
  entries_.reserve(other.size());
  for (const auto& [key, row] : other) Append(key, row);
  return *this;
}

char* ProjectionRows::Allocate(size_t size) {
  if (size > free_size_) {
    // A row larger than a block gets a block of its own.
    const size_t block = std::max(size, kBlockSize);
    blocks_.push_back(Block::Map(block));
    free_ = blocks_.back().data;
    free_size_ = block;
  }
  char* at = free_;
  free_ += size;
  free_size_ -= size;
  return at;
}

char* ProjectionRows::AppendForRow(absl::string_view key, size_t row_size) {
  char* at = Allocate(key.size() + row_size);
  std::memcpy(at, key.data(), key.size());
  Entry e;
  e.head = BigEndianWord(key, 0);
  e.tail = BigEndianWord(key, 8);
  e.data = at;
  e.key_size = static_cast<uint32_t>(key.size());
  e.row_size = static_cast<uint32_t>(row_size);
  entries_.push_back(e);
  return at + key.size();
}

void ProjectionRows::Append(absl::string_view key, absl::string_view row) {
  std::memcpy(AppendForRow(key, row.size()), row.data(), row.size());
}

void ProjectionRows::Absorb(ProjectionRows&& other) {
  entries_.insert(entries_.end(), other.entries_.begin(), other.entries_.end());
  for (auto& b : other.blocks_) blocks_.push_back(std::move(b));
  other.blocks_.clear();
  other.entries_.clear();
  other.free_ = nullptr;
  other.free_size_ = 0;
}

void ProjectionRows::SortByKey() {
  auto less = [](const Entry& a, const Entry& b) {
    if (a.head != b.head) return a.head < b.head;
    if (a.tail != b.tail) return a.tail < b.tail;
    return absl::string_view(a.data, a.key_size) <
           absl::string_view(b.data, b.key_size);
  };
  // Stable: of equal keys, arrival order survives for the pass below.
  const auto middle = entries_.begin() + entries_.size() / 2;
  if (entries_.size() >= 100000) {
    std::thread half([&] { std::stable_sort(entries_.begin(), middle, less); });
    std::stable_sort(middle, entries_.end(), less);
    half.join();
    std::inplace_merge(entries_.begin(), middle, entries_.end(), less);
  } else {
    std::stable_sort(entries_.begin(), entries_.end(), less);
  }
  size_t kept = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (i + 1 < entries_.size() && !less(entries_[i], entries_[i + 1]))
      continue;  // a later row has the same key
    entries_[kept++] = entries_[i];
  }
  entries_.resize(kept);
}

bool operator==(const ProjectionRows& a, const ProjectionRows& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace wangge::audit
