#ifndef WANGGE_SERVICES_COMMON_STATUS_STATUS_MACROS_H_
#define WANGGE_SERVICES_COMMON_STATUS_STATUS_MACROS_H_

// Debian's Abseil (20220623) has no status macros; these are the usual two.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define WANGGE_STATUS_CONCAT_INNER_(a, b) a##b
#define WANGGE_STATUS_CONCAT_(a, b) WANGGE_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` yields a non-OK status.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    const ::absl::Status wangge_status_ = (expr);    \
    if (!wangge_status_.ok()) return wangge_status_; \
  } while (false)

// `lhs` = value of the StatusOr `rexpr`, or return its error.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  WANGGE_ASSIGN_OR_RETURN_IMPL_(     \
      WANGGE_STATUS_CONCAT_(wangge_statusor_, __LINE__), lhs, rexpr)

#define WANGGE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

#endif  // WANGGE_SERVICES_COMMON_STATUS_STATUS_MACROS_H_
