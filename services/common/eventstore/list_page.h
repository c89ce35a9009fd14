#ifndef WANGGE_SERVICES_COMMON_EVENTSTORE_LIST_PAGE_H_
#define WANGGE_SERVICES_COMMON_EVENTSTORE_LIST_PAGE_H_

// One page of a List call over a projection, as Google's API guide (AIP-158)
// pages: the rows after the page token, in key order. A filter that matches
// few rows (one community's overdue cases among a million) would otherwise
// read the whole projection in one call and hold a handler thread for
// seconds; here each call examines at most a budget of rows and then answers
// with what it found, possibly nothing, and a token to go on from.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/status/errors.h"

namespace wangge::eventstore {

// Rows one call may examine: ~10-20 ms of parsing here.
inline constexpr size_t kListScanBudget = 10000;

template <typename Row>
struct ListPage {
  std::vector<Row> rows;
  // Empty when the projection holds nothing more that could match.
  std::string next_page_token;
};

struct ListPageRequest {
  std::string projection;
  std::string prefix;  // only keys with this prefix
  int page_size = 0;   // 0: 100; at most 1000
  std::string page_token;
  size_t scan_budget = kListScanBudget;
};

// `select` turns a row into a result, or nullopt for a row the filter
// leaves out; an error ends the call with it. The token names a key, so a
// page ends where the next begins whatever is written in between. A full
// page carries a token only if another matching row follows (found within
// the budget), so a client is not sent for an empty last page.
// INVALID_ARGUMENT (page_size) for a negative page size.
template <typename Row>
absl::StatusOr<ListPage<Row>> ReadListPage(
    const EventStore& store, const ListPageRequest& request,
    const std::function<absl::StatusOr<std::optional<Row>>(
        const std::string& key, const std::string& value)>& select) {
  if (request.page_size < 0) {
    return status::InvalidField("page_size", "must not be negative");
  }
  const size_t limit =
      request.page_size == 0 ? 100 : std::min(request.page_size, 1000);
  ListPage<Row> page;
  absl::Status failed;
  size_t examined = 0;
  std::string last_taken;
  std::string last_examined;
  bool budget_spent = false;
  absl::Status scanned = store.ScanProjection(
      request.projection, request.prefix, request.page_token,
      [&](const std::string& key, const std::string& value) {
        if (examined == request.scan_budget) {
          budget_spent = true;
          return false;
        }
        ++examined;
        absl::StatusOr<std::optional<Row>> row = select(key, value);
        if (!row.ok()) {
          failed = row.status();
          return false;
        }
        last_examined = key;
        if (!row->has_value()) return true;
        if (page.rows.size() == limit) {
          page.next_page_token = last_taken;
          return false;
        }
        page.rows.push_back(std::move(**row));
        last_taken = key;
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (!failed.ok()) return failed;
  // Out of budget: go on after the last row looked at (taken or not).
  if (budget_spent && page.next_page_token.empty()) {
    page.next_page_token = last_examined;
  }
  return page;
}

}  // namespace wangge::eventstore

#endif  // WANGGE_SERVICES_COMMON_EVENTSTORE_LIST_PAGE_H_
