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
  void Absorb(ProjectionRows&& other);
  // Puts the rows in key order; of rows with equal keys the one appended
  // last stays, as a map assignment would keep it. Large inputs are sorted
  // in two halves on two threads.
  void SortByKey();

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
  struct Entry {
    uint64_t head = 0, tail = 0;
    const char* data = nullptr;  // key, then row
    uint32_t key_size = 0, row_size = 0;
  };
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
  std::vector<Entry> entries_;
};

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_PROJECTION_ROWS_H_
