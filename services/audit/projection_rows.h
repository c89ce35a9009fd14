#ifndef WANGGE_SERVICES_AUDIT_PROJECTION_ROWS_H_
#define WANGGE_SERVICES_AUDIT_PROJECTION_ROWS_H_

// The rows of one replayed projection. Keys and rows are packed back to back
// in large blocks rather than held as a pair of strings each: a replay of ten
// million reports then takes half the memory, and no heap object per row
// (freshly touched memory was the largest cost of replaying such a history:
// docs/benchmarks.md, audit).

#include <cstdint>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace wangge::audit {

// Memory for arrays of gigabytes: its own mapping, advised for huge pages
// (a page fault costs this VM ~20 us; a 2 MiB page takes one fault, not
// 512). Small arrays come from the heap.
void* MapHuge(size_t bytes);
void UnmapHuge(void* p, size_t bytes);

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kMapped = 2 << 20;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    return static_cast<T*>(bytes >= kMapped ? MapHuge(bytes)
                                            : ::operator new(bytes));
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes >= kMapped) {
      UnmapHuge(p, bytes);
    } else {
      ::operator delete(p);
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const HugePageAllocator<U>&) const {
    return false;
  }
};

class ProjectionRows {
 public:
  using Row = std::pair<absl::string_view, absl::string_view>;  // key, row

  ProjectionRows() = default;
  ProjectionRows(ProjectionRows&&) = default;
  ProjectionRows& operator=(ProjectionRows&&) = default;
  ProjectionRows(const ProjectionRows& other);
  ProjectionRows& operator=(const ProjectionRows& other);

  void Reserve(size_t rows) { entries_.reserve(rows); }
  void Append(absl::string_view key, absl::string_view row);
  // Appends `key` with room for a row of `row_size` bytes, which the caller
  // writes at the returned address (a message serialized in place).
  char* AppendForRow(absl::string_view key, size_t row_size);
  // Moves `other`'s rows after these (their bytes stay where they are).
  // When both are in key order the two are merged and stay in key order,
  // `other`'s row kept for a key both hold.
  void Absorb(ProjectionRows&& other);
  // Puts the rows in key order; of rows with equal keys the one appended
  // last stays, as a map assignment would keep it. On two threads, a large
  // input is sorted in halves and merged.
  void SortByKey(int threads = 2);
  bool sorted() const { return sorted_; }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  Row operator[](size_t i) const {
    const Entry& e = entries_[i];
    return {absl::string_view(e.data, e.key_size),
            absl::string_view(e.data + e.key_size, e.row_size)};
  }

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Row;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Row;
    const_iterator(const ProjectionRows* rows, size_t i) : rows_(rows), i_(i) {}
    Row operator*() const { return (*rows_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }

   private:
    const ProjectionRows* rows_;
    size_t i_;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, entries_.size()}; }

  friend bool operator==(const ProjectionRows& a, const ProjectionRows& b);
  friend bool operator!=(const ProjectionRows& a, const ProjectionRows& b) {
    return !(a == b);
  }

 private:
  // The key's first 16 bytes as two big-endian words: most comparisons end
  // there without touching the block.
  // `order` is the place before sorting, so that the last of equal keys can
  // be told without a stable sort's buffer.
  struct Entry {
    uint64_t head = 0, tail = 0;
    const char* data = nullptr;  // key, then row
    uint32_t key_size = 0, row_size = 0;
    uint64_t order = 0;
  };
  using Entries = std::vector<Entry, HugePageAllocator<Entry>>;
  // <0, 0, >0 as a's key sorts before, equal to or after b's.
  static int CompareKeys(const Entry& a, const Entry& b);
  // Of each run of equal keys in sorted entries, keeps the last.
  void KeepLastOfEachKey();
  // An anonymous mapping of its own.
  struct Block {
    static Block Map(size_t size);
    Block() = default;
    Block(Block&& o) noexcept;
    Block& operator=(Block&&) = delete;
    ~Block();
    char* data = nullptr;
    size_t size = 0;
  };
  char* Allocate(size_t size);

  std::vector<Block> blocks_;
  char* free_ = nullptr;
  size_t free_size_ = 0;
  Entries entries_;
  bool sorted_ = true;  // no rows yet
};

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_PROJECTION_ROWS_H_
