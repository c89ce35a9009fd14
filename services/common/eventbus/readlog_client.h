#ifndef WANGGE_SERVICES_COMMON_EVENTBUS_READLOG_CLIENT_H_
#define WANGGE_SERVICES_COMMON_EVENTBUS_READLOG_CLIENT_H_

// A peer's EventLog over gRPC, as the consumer's repair functions.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "services/common/eventbus/consumer.h"

namespace wangge::eventbus {

// `token`: this service's bearer token (a service role the peer admits).
ReadLogFn MakeReadLogFn(std::shared_ptr<grpc::Channel> channel,
                        std::string token);
ReadHeadsFn MakeReadHeadsFn(std::shared_ptr<grpc::Channel> channel,
                            std::string token);

}  // namespace wangge::eventbus

#endif  // WANGGE_SERVICES_COMMON_EVENTBUS_READLOG_CLIENT_H_
