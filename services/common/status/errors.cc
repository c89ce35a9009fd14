#include "services/common/status/errors.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/error_details.pb.h"

namespace wangge::status {

absl::Status InvalidArgument(std::vector<FieldViolation> violations) {
  google::rpc::BadRequest bad;
  std::vector<std::string> parts;
  for (const auto& v : violations) {
    auto* fv = bad.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
    parts.push_back(absl::StrCat(v.field, ": ", v.description));
  }
  absl::Status s(absl::StatusCode::kInvalidArgument,
                 absl::StrJoin(parts, "; "));
  s.SetPayload(kBadRequestUrl, absl::Cord(bad.SerializeAsString()));
  return s;
}

absl::Status InvalidField(absl::string_view field,
                          absl::string_view description) {
  return InvalidArgument({{std::string(field), std::string(description)}});
}

absl::Status PermissionDenied(absl::string_view rule,
                              absl::string_view message) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(rule));
  info.set_domain("wangge");
  absl::Status s(absl::StatusCode::kPermissionDenied,
                 absl::StrCat(rule, ": ", message));
  s.SetPayload(kErrorInfoUrl, absl::Cord(info.SerializeAsString()));
  return s;
}

absl::Status ResourceExhausted(absl::string_view message,
                               absl::Duration retry_after) {
  google::rpc::RetryInfo retry;
  const int64_t nanos = absl::ToInt64Nanoseconds(retry_after);
  retry.mutable_retry_delay()->set_seconds(nanos / 1000000000);
  retry.mutable_retry_delay()->set_nanos(
      static_cast<int32_t>(nanos % 1000000000));
  absl::Status s(absl::StatusCode::kResourceExhausted,
                 absl::StrCat(message, " (retry after ",
                              absl::FormatDuration(retry_after), ")"));
  s.SetPayload(kRetryInfoUrl, absl::Cord(retry.SerializeAsString()));
  return s;
}

std::vector<FieldViolation> FieldViolations(const absl::Status& status) {
  std::vector<FieldViolation> out;
  auto payload = status.GetPayload(kBadRequestUrl);
  if (!payload) return out;
  google::rpc::BadRequest bad;
  if (!bad.ParseFromString(std::string(*payload))) return out;
  for (const auto& fv : bad.field_violations()) {
    out.push_back({fv.field(), fv.description()});
  }
  return out;
}

std::string ViolatedField(const absl::Status& status) {
  auto violations = FieldViolations(status);
  return violations.empty() ? "" : violations[0].field;
}

std::string DeniedRule(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorInfoUrl);
  if (!payload) return "";
  google::rpc::ErrorInfo info;
  if (!info.ParseFromString(std::string(*payload))) return "";
  return info.reason();
}

absl::Duration RetryAfter(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryInfoUrl);
  if (!payload) return absl::ZeroDuration();
  google::rpc::RetryInfo retry;
  if (!retry.ParseFromString(std::string(*payload)))
    return absl::ZeroDuration();
  return absl::Seconds(retry.retry_delay().seconds()) +
         absl::Nanoseconds(retry.retry_delay().nanos());
}

}  // namespace wangge::status
