#include "services/registry/domain/area_code.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace wangge::registry {

absl::StatusOr<std::string> NormalizeAreaCode(absl::string_view code,
                                              uint32_t expected_length) {
  if (code.empty()) return absl::InvalidArgumentError("area code is empty");
  for (char c : code) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("area code ", code, " has a non-digit"));
    }
  }
  if (code.size() == expected_length) return std::string(code);
  // The padded statistical form: 12 digits, zeros after the significant part.
  if (code.size() == 12 && expected_length < 12) {
    absl::string_view padding = code.substr(expected_length);
    if (padding.find_first_not_of('0') == absl::string_view::npos) {
      return std::string(code.substr(0, expected_length));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "area code ", code, " is 12 digits but not a padded form of a ",
        expected_length, "-digit code"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("area code ", code, " has ", code.size(),
                   " digits; this level has ", expected_length));
}

absl::Status CheckChildCode(absl::string_view child, absl::string_view parent) {
  if (child.size() <= parent.size() || !absl::StartsWith(child, parent)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "area code ", child, " does not extend its parent's code ", parent));
  }
  // "110101000" is the district's own padded form, not a street: a child's
  // part of the code is never all zeros.
  if (child.substr(parent.size()).find_first_not_of('0') ==
      absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("area code ", child, " adds only zeros to its parent's ",
                     parent, ": that is the parent's padded form"));
  }
  return absl::OkStatus();
}

}  // namespace wangge::registry
