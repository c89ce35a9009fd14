#include "services/common/eventlog/eventlog_service.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/server/threaded_stream.h"
#include "services/common/status/errors.h"

namespace wangge::eventlog {
namespace {

using wangge::common::v1::ReadLogRequest;
using wangge::common::v1::ReadLogResponse;
using wangge::common::v1::Role;

constexpr char kService[] = "wangge.common.v1.EventLog.";
constexpr size_t kBatchEvents = 512;
constexpr size_t kBatchBytes = 1 << 20;

// Streams a partition: read a batch, write it; when caught up, either
// finish or (follow) wait for appends.
class ReadLogReactor final : public server::ThreadedStream<ReadLogResponse> {
 public:
  ReadLogReactor(eventstore::EventStore* store, ReadLogRequest request)
      : store_(store), request_(std::move(request)) {}

 private:
  grpc::Status Produce() override {
    uint64_t next = std::max<uint64_t>(request_.from_sequence(), 1);
    const uint64_t last = request_.to_sequence();
    while (!cancelled()) {
      if (last != 0 && next > last) break;
      auto events =
          store_->ReadPartition(request_.partition(), next, kBatchEvents);
      if (!events.ok()) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            std::string(events.status().message()));
      }
      if (events->empty()) {
        if (!request_.follow()) break;
        store_->WaitForAppend(request_.partition(), next - 1,
                              absl::Now() + absl::Milliseconds(200));
        continue;
      }
      ReadLogResponse response;
      size_t bytes = 0;
      for (auto& e : *events) {
        if (last != 0 && next > last) break;
        bytes += e.record().size();
        *response.add_events() = std::move(e);
        ++next;
        if (bytes > kBatchBytes) break;
      }
      if (!Send(response)) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
      }
    }
    return cancelled() ? grpc::Status::CANCELLED : grpc::Status::OK;
  }

  eventstore::EventStore* const store_;
  const ReadLogRequest request_;
};

// Who may read a whole log. A service reads the logs it follows, no other
// (a log holds every area's events: a registry that follows nobody has no
// business reading intake's reports). A person (auditor, administrator)
// needs the whole city in scope: a district's auditor would otherwise read
// every district's history.
absl::Status MayReadLog(const server::Caller& caller,
                        const std::string& log_service) {
  const Role role = caller.actor.role();
  if (role >= Role::ROLE_SERVICE_INTAKE &&
      role <= Role::ROLE_SERVICE_REGISTRY) {
    // ROLE_SERVICE_DISPATCH -> "dispatch"
    const std::string reader =
        absl::AsciiStrToLower(Role_Name(role).substr(strlen("ROLE_SERVICE_")));
    const auto& sources = config::SourcesOf(reader);
    if (std::find(sources.begin(), sources.end(), log_service) ==
        sources.end()) {
      return status::PermissionDenied(
          "log_follower_only",
          absl::StrCat(Role_Name(role), " does not follow ", log_service,
                       "'s log"));
    }
    return absl::OkStatus();
  }
  if (!caller.InScope("")) {
    return status::PermissionDenied(
        "area_scope", "a whole log needs the whole city (scope *)");
  }
  return absl::OkStatus();
}

}  // namespace

EventLogService::EventLogService(server::Chassis* chassis,
                                 eventstore::EventStore* store,
                                 std::vector<std::string> projections)
    : chassis_(chassis), store_(store), projections_(std::move(projections)) {}

absl::Status EventLogService::CheckPartition(uint32_t partition) const {
  if (partition >= static_cast<uint32_t>(store_->partitions())) {
    return status::InvalidField(
        "partition", absl::StrCat("must be below ", store_->partitions()));
  }
  return absl::OkStatus();
}

grpc::ServerWriteReactor<ReadLogResponse>* EventLogService::ReadLog(
    grpc::CallbackServerContext* context, const ReadLogRequest* request) {
  return chassis_->Stream<ReadLogResponse>(
      context, absl::StrCat(kService, "ReadLog"), *request,
      [=](const server::Caller& caller)
          -> grpc::ServerWriteReactor<ReadLogResponse>* {
        absl::Status s = MayReadLog(caller, store_->service());
        if (s.ok()) s = CheckPartition(request->partition());
        if (!s.ok()) {
          return new server::RejectedStream<ReadLogResponse>(
              status::ToGrpcStatus(s));
        }
        auto* reactor = new ReadLogReactor(store_, *request);
        reactor->Begin(caller.actor.subject());
        return reactor;
      });
}

grpc::ServerUnaryReactor* EventLogService::GetLogHeads(
    grpc::CallbackServerContext* context,
    const wangge::common::v1::GetLogHeadsRequest* request,
    wangge::common::v1::GetLogHeadsResponse* response) {
  return chassis_->Unary(context, absl::StrCat(kService, "GetLogHeads"),
                         request, response, [=](const server::Caller&) {
                           response->set_service(store_->service());
                           for (uint64_t h : store_->Heads())
                             response->add_heads(h);
                           return absl::OkStatus();
                         });
}

grpc::ServerUnaryReactor* EventLogService::GetCheckpoint(
    grpc::CallbackServerContext* context,
    const wangge::common::v1::GetCheckpointRequest* request,
    wangge::common::v1::Checkpoint* response) {
  return chassis_->Unary(
      context, absl::StrCat(kService, "GetCheckpoint"), request, response,
      [=](const server::Caller&) -> absl::Status {
        absl::Status s = CheckPartition(request->partition());
        if (!s.ok()) return s;
        auto c =
            store_->GetCheckpoint(request->partition(), request->tree_size());
        if (!c.ok()) return c.status();
        *response = std::move(*c);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* EventLogService::GetInclusionProof(
    grpc::CallbackServerContext* context,
    const wangge::common::v1::GetInclusionProofRequest* request,
    wangge::common::v1::InclusionProof* response) {
  return chassis_->Unary(
      context, absl::StrCat(kService, "GetInclusionProof"), request, response,
      [=](const server::Caller&) -> absl::Status {
        absl::Status s = CheckPartition(request->partition());
        if (!s.ok()) return s;
        uint64_t size = request->tree_size();
        if (size == 0) {
          auto c = store_->GetCheckpoint(request->partition());
          if (!c.ok()) return c.status();
          size = c->tree_size();
        }
        auto proof = store_->InclusionProof(request->partition(),
                                            request->leaf_index(), size);
        if (!proof.ok()) return proof.status();
        auto leaf = store_->ReadPartition(request->partition(),
                                          request->leaf_index() + 1, 1);
        if (!leaf.ok()) return leaf.status();
        if (leaf->empty()) return absl::NotFoundError("no such leaf");
        response->set_partition(request->partition());
        response->set_leaf_index(request->leaf_index());
        response->set_tree_size(size);
        response->set_leaf_hash((*leaf)[0].leaf_hash());
        for (auto& h : *proof) response->add_hashes(std::move(h));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* EventLogService::GetConsistencyProof(
    grpc::CallbackServerContext* context,
    const wangge::common::v1::GetConsistencyProofRequest* request,
    wangge::common::v1::ConsistencyProof* response) {
  return chassis_->Unary(
      context, absl::StrCat(kService, "GetConsistencyProof"), request, response,
      [=](const server::Caller&) -> absl::Status {
        absl::Status s = CheckPartition(request->partition());
        if (!s.ok()) return s;
        auto proof = store_->ConsistencyProof(request->partition(),
                                              request->first_size(),
                                              request->second_size());
        if (!proof.ok()) return proof.status();
        response->set_partition(request->partition());
        response->set_first_size(request->first_size());
        response->set_second_size(request->second_size());
        for (auto& h : *proof) response->add_hashes(std::move(h));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* EventLogService::GetStateDigest(
    grpc::CallbackServerContext* context,
    const wangge::common::v1::GetStateDigestRequest* request,
    wangge::common::v1::StateDigest* response) {
  return chassis_->Unary(
      context, absl::StrCat(kService, "GetStateDigest"), request, response,
      [=](const server::Caller&) -> absl::Status {
        std::vector<std::string> names(request->projections().begin(),
                                       request->projections().end());
        if (names.empty()) names = projections_;
        response->set_service(store_->service());
        // Rows and heads of one moment (under load, read apart they would
        // match no replay).
        auto at = store_->ProjectionDigestsAt(
            names, server::MinPositionsDeadline(context));
        if (!at.ok()) return at.status();
        const auto& heads = at->heads;
        for (size_t i = 0; i < names.size(); ++i) {
          const auto& name = names[i];
          const auto& digest = at->digests[i];
          auto* d = response->add_projections();
          d->set_name(name);
          d->set_digest(digest.first);
          d->set_rows(digest.second);
          for (size_t p = 0; p < heads.size(); ++p) {
            auto* pos = d->add_applied();
            pos->set_service(store_->service());
            pos->set_partition(p);
            pos->set_sequence(heads[p]);
          }
        }
        return absl::OkStatus();
      });
}

}  // namespace wangge::eventlog
