#include "services/registry/server/registry_server.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/clock/proto_time.h"
#include "services/common/files/gzip.h"
#include "services/common/server/threaded_stream.h"
#include "services/common/status/errors.h"
#include "services/common/status/grpc_status.h"
#include "services/common/status/status_macros.h"
#include "services/registry/app/deployment_json.h"
#include "services/registry/domain/policy.h"

namespace wangge::registry {
namespace {

constexpr char kService[] = "wangge.registry.v1.RegistryService.";

absl::Status NoApp() {
  return absl::UnavailableError("registry state is not loaded");
}

void ToProto(const Area& a, const AreaVersion* v, v1::Area* out) {
  out->set_code(a.code);
  out->set_parent_code(a.parent_code);
  out->set_level(a.level);
  out->set_name(a.name);
  out->set_dedicated(a.dedicated);
  out->set_households(a.households);
  out->set_population(a.population);
  if (v != nullptr) {
    out->set_boundary_geojson(v->boundary->ToGeoJson());
    *out->mutable_effective_time() = wangge::ToProto(v->from);
  }
  if (a.retired != absl::InfiniteFuture()) {
    *out->mutable_retired_time() = wangge::ToProto(a.retired);
  }
}

}  // namespace

absl::Time RegistryServer::AsOf(const google::protobuf::Timestamp& ts) const {
  const absl::Time t = FromProto(ts);
  return t == absl::InfinitePast() ? chassis_->clock()->Now() : t;
}

grpc::ServerUnaryReactor* RegistryServer::GetArea(
    grpc::CallbackServerContext* context, const v1::GetAreaRequest* request,
    v1::Area* response) {
  return chassis_->Unary(
      context, absl::StrCat(kService, "GetArea"), request, response,
      [=](const server::Caller&) -> absl::Status {
        if (app_ == nullptr) return NoApp();
        if (request->code().empty())
          return status::InvalidField("code", "required");
        auto snap = app_->snapshot();
        const Area* a = snap->state.Find(request->code());
        if (a == nullptr) {
          return absl::NotFoundError(absl::StrCat("no area ", request->code()));
        }
        ToProto(*a, a->VersionAt(AsOf(request->as_of())), response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RegistryServer::ListAreas(
    grpc::CallbackServerContext* context, const v1::ListAreasRequest* request,
    v1::ListAreasResponse* response) {
  return chassis_->Unary(
      context, absl::StrCat(kService, "ListAreas"), request, response,
      [=](const server::Caller& caller) -> absl::Status {
        if (app_ == nullptr) return NoApp();
        if (request->page_size() < 0) {
          return status::InvalidField("page_size", "must not be negative");
        }
        const int page = request->page_size() == 0
                             ? 100
                             : std::min(request->page_size(), 1000);
        const absl::Time t = AsOf(request->as_of());
        auto snap = app_->snapshot();
        std::vector<const Area*> matches;
        auto kids = snap->state.children.find(request->parent_code());
        if (kids != snap->state.children.end()) {
          for (const std::string& code : kids->second) {
            const Area& a = snap->state.areas.at(code);
            if (!a.ActiveAt(t)) continue;
            if (!request->level().empty() && a.level != request->level())
              continue;
            if (!caller.InScope(code)) continue;
            if (!request->page_token().empty() &&
                code <= request->page_token()) {
              continue;
            }
            matches.push_back(&a);
          }
        }
        std::sort(
            matches.begin(), matches.end(),
            [](const Area* x, const Area* y) { return x->code < y->code; });
        for (int i = 0; i < static_cast<int>(matches.size()) && i < page; ++i) {
          ToProto(*matches[i], matches[i]->VersionAt(t), response->add_areas());
        }
        if (static_cast<int>(matches.size()) > page) {
          response->set_next_page_token(matches[page - 1]->code);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RegistryServer::LocatePoint(
    grpc::CallbackServerContext* context, const v1::LocatePointRequest* request,
    v1::Area* response) {
  return chassis_->Unary(
      context, absl::StrCat(kService, "LocatePoint"), request, response,
      [=](const server::Caller&) -> absl::Status {
        if (app_ == nullptr) return NoApp();
        const auto& p = request->point();
        std::vector<status::FieldViolation> bad;
        if (!request->has_point()) bad.push_back({"point", "required"});
        if (p.longitude() < -180 || p.longitude() > 180) {
          bad.push_back({"point.longitude", "must be in [-180, 180]"});
        }
        if (p.latitude() < -90 || p.latitude() > 90) {
          bad.push_back({"point.latitude", "must be in [-90, 90]"});
        }
        using common::v1::CoordinateSystem;
        if (p.coordinate_system() != common::v1::COORDINATE_SYSTEM_WGS84 &&
            p.coordinate_system() != common::v1::COORDINATE_SYSTEM_CGCS2000 &&
            p.coordinate_system() !=
                common::v1::COORDINATE_SYSTEM_UNSPECIFIED) {
          bad.push_back({"point.coordinate_system",
                         "the registry takes WGS84/CGCS2000 (intake converts "
                         "GCJ-02 and BD-09)"});
        }
        if (!bad.empty()) return status::InvalidArgument(std::move(bad));
        const absl::Time t = AsOf(request->as_of());
        auto snap = app_->snapshot();
        auto located = snap->index->Locate(p.longitude(), p.latitude(), t);
        if (!located.ok()) return located.status();
        const Area* a = snap->state.Find(located->code);
        ToProto(*a, a->VersionAt(t), response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RegistryServer::ResolveDepartment(
    grpc::CallbackServerContext* context,
    const v1::ResolveDepartmentRequest* request,
    v1::ResolveDepartmentResponse* response) {
  return chassis_->Unary(
      context, absl::StrCat(kService, "ResolveDepartment"), request, response,
      [=](const server::Caller&) -> absl::Status {
        if (app_ == nullptr) return NoApp();
        const absl::Time t = AsOf(request->as_of());
        auto snap = app_->snapshot();
        std::string area_code, component_id;
        switch (request->target_case()) {
          case v1::ResolveDepartmentRequest::kPoint: {
            auto located = snap->index->Locate(request->point().longitude(),
                                               request->point().latitude(), t);
            if (!located.ok()) {
              return status::InvalidField("point",
                                          "outside every area at that time");
            }
            area_code = located->code;
            break;
          }
          case v1::ResolveDepartmentRequest::kAreaCode:
            area_code = request->area_code();
            if (snap->state.Find(area_code) == nullptr) {
              return status::InvalidField("area_code", "no such area");
            }
            break;
          case v1::ResolveDepartmentRequest::kComponentId:
            component_id = request->component_id();
            break;
          default:
            return status::InvalidField(
                "target", "a point, an area code or a component id");
        }
        auto resolved = registry::ResolveDepartment(
            snap->state, request->category_code(), area_code, component_id, t);
        if (!resolved.ok()) return resolved.status();
        response->set_department(resolved->department_id);
        response->set_locality_fallback(resolved->locality_fallback);
        response->set_policy_version(resolved->policy_version);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RegistryServer::ListStaff(
    grpc::CallbackServerContext* context, const v1::ListStaffRequest* request,
    v1::ListStaffResponse* response) {
  return chassis_->Unary(
      context, absl::StrCat(kService, "ListStaff"), request, response,
      [=](const server::Caller&) -> absl::Status {
        if (app_ == nullptr) return NoApp();
        if (request->area_code().empty())
          return status::InvalidField("area_code", "required");
        auto snap = app_->snapshot();
        for (const auto& a : StaffOf(snap->state, request->area_code(),
                                     request->role(), AsOf(request->as_of()))) {
          auto* m = response->add_staff();
          m->set_staff_id(a.staff_id());
          m->set_name(a.name());
          m->set_role(a.role());
          m->set_full_time(a.full_time());
          for (const auto& code : a.area_codes()) m->add_area_codes(code);
          *m->mutable_start_time() = a.start_time();
          if (a.has_end_time()) *m->mutable_end_time() = a.end_time();
          m->set_department(a.department());
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RegistryServer::ExportDeployment(
    grpc::CallbackServerContext* context,
    const v1::ExportDeploymentRequest* request,
    v1::ExportDeploymentResponse* response) {
  return chassis_->Unary(
      context, absl::StrCat(kService, "ExportDeployment"), request, response,
      [=](const server::Caller& caller) -> absl::Status {
        if (app_ == nullptr) return NoApp();
        // The whole deployment: staff and every district's data.
        RETURN_IF_ERROR(caller.RequireScope(""));
        auto snap = app_->snapshot();
        Deployment d =
            registry::ExportDeployment(snap->state, AsOf(request->as_of()));
        response->set_areas(static_cast<uint32_t>(d.areas.size()));
        if (request->gzip()) {
          ASSIGN_OR_RETURN(std::string packed,
                           files::Gzip(DeploymentToJson(d)));
          response->set_deployment_json_gzip(std::move(packed));
        } else {
          response->set_deployment_json(DeploymentToJson(d));
        }
        return absl::OkStatus();
      });
}

namespace {

// Follows every partition of the registry's log and sends each new event as
// a RegistryChange.
class WatchReactor final : public server::ThreadedStream<v1::RegistryChange> {
 public:
  // `staff_details`: whether the caller may read staff (ListStaff); if not,
  // a StaffAssigned change carries its type, stream and position only.
  WatchReactor(eventstore::EventStore* store, std::vector<uint64_t> after,
               bool staff_details)
      : store_(store), next_(std::move(after)), staff_details_(staff_details) {
    for (auto& n : next_) ++n;
  }

 private:
  grpc::Status Produce() override {
    google::protobuf::util::JsonPrintOptions json;
    json.preserve_proto_field_names = true;
    while (!cancelled()) {
      bool sent = false;
      for (uint32_t p = 0; p < next_.size() && !cancelled(); ++p) {
        auto events = store_->ReadPartition(p, next_[p], 256);
        if (!events.ok()) break;
        for (const auto& stored : *events) {
          ++next_[p];
          auto env = store_->Decode(stored);
          if (!env.ok() || env->event_type() == eventstore::kCheckpointType)
            continue;
          v1::RegistryChange change;
          change.mutable_position()->set_service(store_->service());
          change.mutable_position()->set_partition(p);
          change.mutable_position()->set_sequence(env->sequence());
          change.set_event_type(env->event_type());
          change.set_stream_id(env->stream_id());
          // The payload as JSON through its own descriptor.
          const auto* desc = google::protobuf::DescriptorPool::generated_pool()
                                 ->FindMessageTypeByName(env->event_type());
          const bool redacted =
              !staff_details_ &&
              env->event_type() == v1::StaffAssigned::descriptor()->full_name();
          if (desc != nullptr && !redacted) {
            std::unique_ptr<google::protobuf::Message> m(
                google::protobuf::MessageFactory::generated_factory()
                    ->GetPrototype(desc)
                    ->New());
            if (m->ParseFromString(env->payload().value())) {
              (void)google::protobuf::util::MessageToJsonString(
                  *m, change.mutable_event_json(), json);
            }
          }
          if (!Send(change)) return grpc::Status::CANCELLED;
          sent = true;
        }
      }
      if (!sent) {
        std::vector<uint64_t> seen;
        for (uint64_t n : next_) seen.push_back(n - 1);
        store_->WaitForAnyAppend(seen, absl::Now() + absl::Milliseconds(200));
      }
    }
    return grpc::Status::CANCELLED;
  }

  eventstore::EventStore* const store_;
  std::vector<uint64_t> next_;
  const bool staff_details_;
};

}  // namespace

grpc::ServerWriteReactor<v1::RegistryChange>* RegistryServer::WatchChanges(
    grpc::CallbackServerContext* context,
    const v1::WatchChangesRequest* request) {
  return chassis_->Stream<v1::RegistryChange>(
      context, absl::StrCat(kService, "WatchChanges"), *request,
      [=](const server::Caller& caller)
          -> grpc::ServerWriteReactor<v1::RegistryChange>* {
        if (store_ == nullptr) {
          return new server::RejectedStream<v1::RegistryChange>(
              grpc::Status(grpc::StatusCode::UNAVAILABLE, "no store"));
        }
        std::vector<uint64_t> after = store_->Heads();
        for (int i = 0; i < request->after_size(); ++i) {
          const auto& pos = request->after(i);
          if (pos.partition() >= after.size()) {
            return new server::RejectedStream<v1::RegistryChange>(
                status::ToGrpcStatus(status::InvalidField(
                    absl::StrCat("after[", i, "].partition"),
                    absl::StrCat("no partition ", pos.partition(), " (of ",
                                 after.size(), ")"))));
          }
          after[pos.partition()] = pos.sequence();
        }
        // Staff payloads (names, posts) only to roles that may list staff,
        // and with the whole city in scope: the watch is not filtered by
        // area.
        auto* reactor = new WatchReactor(
            store_, std::move(after),
            chassis_->RoleMayCall(absl::StrCat(kService, "ListStaff"),
                                  caller.actor.role()) &&
                caller.InScope(""));
        reactor->Begin(caller.actor.subject());
        return reactor;
      });
}

grpc::ServerUnaryReactor* RegistryServer::ImportDeployment(
    grpc::CallbackServerContext* context,
    const v1::ImportDeploymentRequest* request,
    v1::ImportDeploymentResponse* response) {
  return chassis_->Unary(
      context, absl::StrCat(kService, "ImportDeployment"), request, response,
      [=](const server::Caller& caller) -> absl::Status {
        if (app_ == nullptr) return NoApp();
        if (request->request_id().empty()) {
          return status::InvalidField("request_id",
                                      "required (idempotency key)");
        }
        // An import may redraw, retire and staff any area: the whole city.
        RETURN_IF_ERROR(caller.RequireScope(""));
        const bool plain = !request->deployment_json().empty();
        const bool packed = !request->deployment_json_gzip().empty();
        if (plain == packed) {
          return status::InvalidField(
              "deployment_json",
              "exactly one of deployment_json and deployment_json_gzip");
        }
        std::string inflated;
        if (packed) {
          auto json = files::Gunzip(request->deployment_json_gzip(),
                                    kMaxDeploymentJsonBytes);
          if (!json.ok()) {
            return status::InvalidField("deployment_json_gzip",
                                        json.status().message());
          }
          inflated = *std::move(json);
        }
        auto deployment =
            ParseDeploymentJson(packed ? inflated : request->deployment_json());
        if (!deployment.ok()) return deployment.status();
        auto result =
            app_->Import(request->request_id(), *deployment, caller.actor);
        if (!result.ok()) return result.status();
        response->set_areas(result->areas);
        response->set_policy_version(absl::StrCat(result->policy_version));
        for (const auto& p : result->positions) *response->add_positions() = p;
        return absl::OkStatus();
      });
}

}  // namespace wangge::registry
