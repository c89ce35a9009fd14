#ifndef WANGGE_SERVICES_REGISTRY_DOMAIN_AREA_CODE_H_
#define WANGGE_SERVICES_REGISTRY_DOMAIN_AREA_CODE_H_

// Area codes in their significant form (contracts: district 6 digits, street
// 9, community 12, unit grid 14 national or 15 Beijing; finer levels extend
// their parent's code). A child's code starts with its parent's, so "in
// scope" is a prefix test.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wangge::registry {

// The significant form of `code` for a level whose codes have
// `expected_length` digits. Accepts that form, or the padded 12-digit
// statistical form (a street as 110101001000) when the level is shorter and
// the padding is zeros. INVALID_ARGUMENT says what is wrong.
absl::StatusOr<std::string> NormalizeAreaCode(absl::string_view code,
                                              uint32_t expected_length);

// OK when `child` extends `parent` (prefix and longer).
absl::Status CheckChildCode(absl::string_view child, absl::string_view parent);

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_DOMAIN_AREA_CODE_H_
