#ifndef WANGGE_SERVICES_COMMON_DOMAIN_IDS_H_
#define WANGGE_SERVICES_COMMON_DOMAIN_IDS_H_

// The ids every service reads in the others' events (contracts: "Ids").
// Dispatch writes tasks; supervision and oversight parse them, without
// linking dispatch's code.

#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wangge::domain {

// "task/<case id>/<n>": a dispatch task's id and stream.
inline std::string TaskId(const std::string& case_id, uint32_t attempt) {
  return absl::StrCat("task/", case_id, "/", attempt);
}

// The case of a task id; "" when it is not one.
inline std::string CaseOfTask(const std::string& task_id) {
  if (!absl::StartsWith(task_id, "task/")) return "";
  const size_t slash = task_id.rfind('/');
  return slash <= 5 ? "" : task_id.substr(5, slash - 5);
}

// n of a task id; 0 when it is not one.
inline uint32_t AttemptOfTask(const std::string& task_id) {
  const size_t slash = task_id.rfind('/');
  uint32_t n = 0;
  if (CaseOfTask(task_id).empty() ||
      !absl::SimpleAtoi(task_id.substr(slash + 1), &n)) {
    return 0;
  }
  return n;
}

// What is wrong with an id a client chose that becomes part of a stream id
// ("org/<id>", "member/<id>", "staff/<id>"); "" when nothing. Tighter than
// the store (which refuses control characters and ids over 512 bytes,
// without naming the request's field): no spaces, 128 bytes.
inline std::string ClientIdProblem(const std::string& id) {
  if (id.empty()) return "required";
  if (id.size() > 128) return "at most 128 bytes";
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f || c == ' ') {
      return "no spaces or control characters";
    }
  }
  return "";
}

}  // namespace wangge::domain

#endif  // WANGGE_SERVICES_COMMON_DOMAIN_IDS_H_
