#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "services/common/status/errors.h"
#include "services/common/status/grpc_status.h"
#include "services/common/status/status_macros.h"

namespace wangge::status {
namespace {

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return InvalidField("n", "must be even");
  return n / 2;
}

absl::StatusOr<int> Quarter(int n) {
  ASSIGN_OR_RETURN(int half, Half(n));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int n) {
  RETURN_IF_ERROR(Half(n).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, PropagateFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(2).ok());
  EXPECT_EQ(CheckEven(3).code(), absl::StatusCode::kInvalidArgument);
}

TEST(GrpcStatusTest, FieldViolationsSurviveTheEdge) {
  absl::Status s = InvalidArgument(
      {{"location.point.latitude", "out of range"}, {"description", "empty"}});
  grpc::Status g = ToGrpcStatus(s);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(g.error_details().empty());
  absl::Status back = FromGrpcStatus(g);
  auto violations = FieldViolations(back);
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_EQ(violations[0].field, "location.point.latitude");
  EXPECT_EQ(violations[1].description, "empty");
}

TEST(GrpcStatusTest, DeniedRuleAndRetryHintSurvive) {
  absl::Status denied = PermissionDenied("checker_is_handler", "no");
  EXPECT_EQ(DeniedRule(FromGrpcStatus(ToGrpcStatus(denied))),
            "checker_is_handler");
  absl::Status limited =
      ResourceExhausted("slow down", absl::Milliseconds(1500));
  grpc::Status g = ToGrpcStatus(limited);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(RetryAfter(FromGrpcStatus(g)), absl::Milliseconds(1500));
}

TEST(GrpcStatusTest, CodesMapOneToOne) {
  for (int c = 0; c <= 16; ++c) {
    absl::Status s(static_cast<absl::StatusCode>(c), c == 0 ? "" : "x");
    EXPECT_EQ(static_cast<int>(ToGrpcStatus(s).error_code()), c);
  }
}

}  // namespace
}  // namespace wangge::status
