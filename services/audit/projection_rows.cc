#include "services/audit/projection_rows.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

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

void* MapHuge(size_t bytes) {
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    std::fprintf(stderr, "audit: out of memory for %zu bytes of rows\n", bytes);
    std::abort();  // as a failed operator new would end
  }
  madvise(m, bytes, MADV_HUGEPAGE);
  return m;
}

void UnmapHuge(void* p, size_t bytes) { munmap(p, bytes); }

ProjectionRows::Block ProjectionRows::Block::Map(size_t size) {
  Block b;
  b.data = static_cast<char*>(MapHuge(size));
  b.size = size;
  return b;
}

ProjectionRows::Block::Block(Block&& o) noexcept : data(o.data), size(o.size) {
  o.data = nullptr;
  o.size = 0;
}

ProjectionRows::Block::~Block() {
  if (data != nullptr) UnmapHuge(data, size);
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
  sorted_ = other.sorted_;
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
  sorted_ = false;
  return at + key.size();
}

void ProjectionRows::Append(absl::string_view key, absl::string_view row) {
  std::memcpy(AppendForRow(key, row.size()), row.data(), row.size());
}

int ProjectionRows::CompareKeys(const Entry& a, const Entry& b) {
  if (a.head != b.head) return a.head < b.head ? -1 : 1;
  if (a.tail != b.tail) return a.tail < b.tail ? -1 : 1;
  return absl::string_view(a.data, a.key_size)
      .compare(absl::string_view(b.data, b.key_size));
}

void ProjectionRows::KeepLastOfEachKey() {
  size_t kept = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (i + 1 < entries_.size() &&
        CompareKeys(entries_[i], entries_[i + 1]) == 0)
      continue;  // a later row has the same key
    entries_[kept++] = entries_[i];
  }
  entries_.resize(kept);
}

void ProjectionRows::Absorb(ProjectionRows&& other) {
  const bool merge = sorted_ && other.sorted_ && !empty() && !other.empty();
  if (merge) {
    // Sorted runs with no key twice each: the merge keeps `other`'s row of
    // a key both hold (std::merge takes equal elements from the first
    // range first, so `other` goes second and wins below).
    Entries merged(entries_.size() + other.entries_.size());
    std::merge(
        entries_.begin(), entries_.end(), other.entries_.begin(),
        other.entries_.end(), merged.begin(),
        [](const Entry& a, const Entry& b) { return CompareKeys(a, b) < 0; });
    entries_.swap(merged);
    KeepLastOfEachKey();
  } else {
    entries_.insert(entries_.end(), other.entries_.begin(),
                    other.entries_.end());
    if (entries_.size() == other.entries_.size()) {
      sorted_ = other.sorted_;  // this held none
    } else if (!other.empty()) {
      sorted_ = false;
    }
  }
  for (auto& b : other.blocks_) blocks_.push_back(std::move(b));
  other.blocks_.clear();
  other.entries_.clear();
  other.free_ = nullptr;
  other.free_size_ = 0;
  other.sorted_ = true;
}

void ProjectionRows::SortByKey(int threads) {
  if (sorted_) return;
  auto less = [](const Entry& a, const Entry& b) {
    const int c = CompareKeys(a, b);
    return c != 0 ? c < 0 : a.order < b.order;
  };
  for (size_t i = 0; i < entries_.size(); ++i) entries_[i].order = i;
  if (threads > 1 && entries_.size() >= 100000) {
    const auto middle = entries_.begin() + entries_.size() / 2;
    std::thread half([&] { std::sort(entries_.begin(), middle, less); });
    std::sort(middle, entries_.end(), less);
    half.join();
    Entries merged(entries_.size());
    std::merge(entries_.begin(), middle, middle, entries_.end(), merged.begin(),
               less);
    entries_.swap(merged);
  } else {
    std::sort(entries_.begin(), entries_.end(), less);
  }
  KeepLastOfEachKey();
  sorted_ = true;
}

bool operator==(const ProjectionRows& a, const ProjectionRows& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace wangge::audit
