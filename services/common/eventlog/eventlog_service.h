#ifndef WANGGE_SERVICES_COMMON_EVENTLOG_EVENTLOG_SERVICE_H_
#define WANGGE_SERVICES_COMMON_EVENTLOG_EVENTLOG_SERVICE_H_

// wangge.common.v1.EventLog over a service's event store: the complete
// history (ReadLog, with a live tail), heads, checkpoints, inclusion and
// consistency proofs, and projection digests. Every service registers it.
//
// Threading: ReadLog streams run on a thread of their own each (they may
// wait for appends); the other methods answer on the gRPC thread.

#include <string>
#include <vector>

#include "services/common/eventstore/event_store.h"
#include "services/common/server/chassis.h"
#include "wangge/common/v1/eventlog.grpc.pb.h"

namespace wangge::eventlog {

class EventLogService final
    : public wangge::common::v1::EventLog::CallbackService {
 public:
  // `projections`: the names GetStateDigest reports when none are asked for.
  EventLogService(server::Chassis* chassis, eventstore::EventStore* store,
                  std::vector<std::string> projections);

  grpc::ServerWriteReactor<wangge::common::v1::ReadLogResponse>* ReadLog(
      grpc::CallbackServerContext* context,
      const wangge::common::v1::ReadLogRequest* request) override;
  grpc::ServerUnaryReactor* GetLogHeads(
      grpc::CallbackServerContext* context,
      const wangge::common::v1::GetLogHeadsRequest* request,
      wangge::common::v1::GetLogHeadsResponse* response) override;
  grpc::ServerUnaryReactor* GetCheckpoint(
      grpc::CallbackServerContext* context,
      const wangge::common::v1::GetCheckpointRequest* request,
      wangge::common::v1::Checkpoint* response) override;
  grpc::ServerUnaryReactor* GetInclusionProof(
      grpc::CallbackServerContext* context,
      const wangge::common::v1::GetInclusionProofRequest* request,
      wangge::common::v1::InclusionProof* response) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(
      grpc::CallbackServerContext* context,
      const wangge::common::v1::GetConsistencyProofRequest* request,
      wangge::common::v1::ConsistencyProof* response) override;
  grpc::ServerUnaryReactor* GetStateDigest(
      grpc::CallbackServerContext* context,
      const wangge::common::v1::GetStateDigestRequest* request,
      wangge::common::v1::StateDigest* response) override;

 private:
  absl::Status CheckPartition(uint32_t partition) const;

  server::Chassis* const chassis_;
  eventstore::EventStore* const store_;
  const std::vector<std::string> projections_;
};

}  // namespace wangge::eventlog

#endif  // WANGGE_SERVICES_COMMON_EVENTLOG_EVENTLOG_SERVICE_H_
