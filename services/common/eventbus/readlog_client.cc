#include "services/common/eventbus/readlog_client.h"

#include "services/common/status/grpc_status.h"
#include "wangge/common/v1/eventlog.grpc.pb.h"

namespace wangge::eventbus {

ReadLogFn MakeReadLogFn(std::shared_ptr<grpc::Channel> channel,
                        std::string token) {
  auto stub = std::shared_ptr<wangge::common::v1::EventLog::Stub>(
      wangge::common::v1::EventLog::NewStub(channel));
  return [stub, token](uint32_t partition, uint64_t from, uint64_t to)
             -> absl::StatusOr<std::vector<wangge::common::v1::StoredEvent>> {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(30));
    wangge::common::v1::ReadLogRequest request;
    request.set_partition(partition);
    request.set_from_sequence(from);
    request.set_to_sequence(to);
    auto reader = stub->ReadLog(&ctx, request);
    std::vector<wangge::common::v1::StoredEvent> out;
    wangge::common::v1::ReadLogResponse batch;
    while (reader->Read(&batch)) {
      for (auto& e : *batch.mutable_events()) out.push_back(std::move(e));
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) return status::FromGrpcStatus(s);
    return out;
  };
}

ReadHeadsFn MakeReadHeadsFn(std::shared_ptr<grpc::Channel> channel,
                            std::string token) {
  auto stub = std::shared_ptr<wangge::common::v1::EventLog::Stub>(
      wangge::common::v1::EventLog::NewStub(channel));
  return [stub, token]() -> absl::StatusOr<std::vector<uint64_t>> {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    wangge::common::v1::GetLogHeadsResponse response;
    grpc::Status s = stub->GetLogHeads(&ctx, {}, &response);
    if (!s.ok()) return status::FromGrpcStatus(s);
    return std::vector<uint64_t>(response.heads().begin(),
                                 response.heads().end());
  };
}

}  // namespace wangge::eventbus
