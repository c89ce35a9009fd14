#include "services/common/eventbus/kafka_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/files/files.h"

namespace wangge::eventbus {

absl::StatusOr<std::string> KafkaEndpoint::Resolve() const {
  if (!bootstrap.empty()) return bootstrap;
  if (bootstrap_file.empty()) {
    return absl::FailedPreconditionError("no Kafka bootstrap configured");
  }
  auto content = files::ReadFileToString(bootstrap_file);
  if (!content.ok()) return content.status();
  std::string trimmed(absl::StripAsciiWhitespace(*content));
  if (trimmed.empty()) {
    return absl::UnavailableError(absl::StrCat(bootstrap_file, " is empty"));
  }
  return trimmed;
}

std::string TopicOf(const std::string& service) {
  return absl::StrCat("wangge.", service, ".events");
}

}  // namespace wangge::eventbus
