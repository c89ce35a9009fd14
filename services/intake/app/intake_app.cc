#include "services/intake/app/intake_app.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/hash/hash.h"
#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/clock/proto_time.h"
#include "services/common/domain/evidence.h"
#include "services/common/eventstore/key_codec.h"
#include "services/common/eventstore/list_page.h"
#include "services/common/status/errors.h"
#include "services/common/status/status_macros.h"
#include "services/intake/domain/report.h"
#include "services/registry/domain/policy.h"
#include "wangge/supervision/v1/events.pb.h"

namespace wangge::intake {

namespace {

// A "nearby" row's value: the report's WGS84 point, two doubles.
std::string NearbyValue(double lon, double lat) {
  std::string at(16, '\0');
  std::memcpy(at.data(), &lon, 8);
  std::memcpy(at.data() + 8, &lat, 8);
  return at;
}

// The case id of a supervision event (field `case_id` of each type read).
template <typename Event>
absl::StatusOr<std::string> CaseIdOf(const common::v1::EventEnvelope& env) {
  Event e;
  if (!e.ParseFromString(env.payload().value())) {
    return absl::InvalidArgumentError(
        absl::StrCat(env.event_type(), " does not parse"));
  }
  return e.case_id();
}

// Metres per degree of latitude (and of longitude at the equator).
constexpr double kMetresPerDegree = 111320.0;

// Newest first in key order: the time is stored inverted.
uint64_t InvertedMicros(absl::Time t) {
  return UINT64_MAX -
         static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMicros(t)));
}

std::string NearbyCellPrefix(const std::string& category, int64_t cx,
                             int64_t cy) {
  std::string key = category;
  key.push_back('\0');
  eventstore::PutU32(&key, static_cast<uint32_t>(cx + (int64_t{1} << 31)));
  eventstore::PutU32(&key, static_cast<uint32_t>(cy + (int64_t{1} << 31)));
  return key;
}

}  // namespace

IntakeApp::IntakeApp(eventstore::EventStore* store, KeyStore* keys,
                     IntakeOptions options, const Clock* clock)
    : store_(store),
      keys_(keys),
      suite_(options.suite),
      clock_(clock),
      channel_limiter_(options.channel_rate, clock),
      caller_limiter_(options.caller_rate, clock),
      reveal_limiter_(options.reveal_rate, clock),
      duplicate_radius_m_(options.duplicate_radius_m),
      duplicate_window_(options.duplicate_window),
      nearby_cell_deg_(2 * std::max(1.0, options.duplicate_radius_m) /
                       kMetresPerDegree),
      registry_(store) {}

double NearbyCellWidthDeg(double cell_deg, int64_t row) {
  // The poleward edge of the rows beside this one: a degree of longitude is
  // shortest there, so the cell is at least `cell_deg` of latitude wide in
  // metres for every point a query from those rows measures from.
  const double poleward =
      std::min(89.0, std::max(std::fabs((row - 1) * cell_deg),
                              std::fabs((row + 2) * cell_deg)));
  return cell_deg / std::cos(poleward * M_PI / 180.0);
}

std::string IntakeApp::NearbyKey(const std::string& category, LonLat at,
                                 absl::Time time,
                                 const std::string& case_id) const {
  const int64_t row = std::floor(at.lat / nearby_cell_deg_);
  std::string key = NearbyCellPrefix(
      category, std::floor(at.lon / NearbyCellWidthDeg(nearby_cell_deg_, row)),
      row);
  eventstore::PutU64(&key, InvertedMicros(time));
  key += case_id;
  return key;
}

std::vector<std::string> IntakeApp::NearbyOpen(const std::string& category,
                                               LonLat at,
                                               absl::Time now) const {
  // Cells are at least twice the radius high and wide (in metres, for any
  // point of their row or the rows beside it), so the circle around a point
  // meets its own cell and at most the neighbours on the side of the half
  // it lies in: 2 x 2 cells, four seeks.
  const double cos_lat = std::max(0.01, std::cos(at.lat * M_PI / 180.0));
  const double fy = at.lat / nearby_cell_deg_;
  const int64_t y0 = std::floor(fy) - (fy - std::floor(fy) < 0.5 ? 1 : 0);
  std::string horizon;
  eventstore::PutU64(&horizon, InvertedMicros(now - duplicate_window_) + 1);
  std::vector<std::pair<std::string, std::string>> found;  // (key time, id)
  const double r2 = duplicate_radius_m_ * duplicate_radius_m_;
  std::vector<std::pair<std::string, std::string>> cells;  // [from, to)
  std::vector<size_t> prefix_size;
  for (int64_t y = y0; y <= y0 + 1; ++y) {
    const double fx = at.lon / NearbyCellWidthDeg(nearby_cell_deg_, y);
    const int64_t x0 = std::floor(fx) - (fx - std::floor(fx) < 0.5 ? 1 : 0);
    for (int64_t x = x0; x <= x0 + 1; ++x) {
      std::string prefix = NearbyCellPrefix(category, x, y);
      prefix_size.push_back(prefix.size());
      cells.emplace_back(prefix, prefix + horizon);
    }
  }
  // A hot spot can hold many rows: the newest 32 of a cell are looked at
  // (hints are a help to the verifier, not a search).
  // `found` keeps the five newest so far (inverted time: smallest first);
  // a cell's rows come newest first, so a cell ends at its first row older
  // than the fifth.
  constexpr size_t kHints = 5;
  std::vector<int> scanned(cells.size(), 0);
  absl::Status s = store_->ScanProjectionRanges(
      kNearbyProjection, cells,
      [&](size_t cell, const std::string& key, const std::string& value) {
        std::string when = key.substr(prefix_size[cell], 8);
        if (found.size() == kHints && when >= found.back().first) return false;
        double lon = 0, lat = 0;
        if (value.size() == 16) {
          std::memcpy(&lon, value.data(), 8);
          std::memcpy(&lat, value.data() + 8, 8);
          const double dx = (lon - at.lon) * kMetresPerDegree * cos_lat;
          const double dy = (lat - at.lat) * kMetresPerDegree;
          if (dx * dx + dy * dy <= r2) {
            std::pair<std::string, std::string> hit(
                std::move(when), key.substr(prefix_size[cell] + 8));
            found.insert(std::upper_bound(found.begin(), found.end(), hit),
                         std::move(hit));
            if (found.size() > kHints) found.pop_back();
          }
        }
        return ++scanned[cell] < 32;
      });
  if (!s.ok()) return {};  // hints only: a read error costs no report
  std::vector<std::string> out;
  for (auto& [when, id] : found) out.push_back(std::move(id));
  return out;
}

absl::Status IntakeApp::Load() {
  // Duplicate hints read the "nearby" projection on disk: nothing to load.
  return registry_.Load();
}

absl::StatusOr<eventstore::AppendRequest> IntakeApp::RegistryEffects(
    const common::v1::EventEnvelope& env) const {
  return registry_.Effects(env);
}

absl::StatusOr<eventstore::AppendRequest> IntakeApp::SupervisionEffects(
    const common::v1::EventEnvelope& env) const {
  eventstore::AppendRequest effects;
  const std::string& type = env.event_type();
  // "Open" means not closed or voided as far as intake knows (issue #4).
  absl::StatusOr<std::string> case_id = std::string();
  bool reopened = false;
  if (type == supervision::v1::CaseClosed::descriptor()->full_name()) {
    case_id = CaseIdOf<supervision::v1::CaseClosed>(env);
  } else if (type == supervision::v1::CaseVoided::descriptor()->full_name()) {
    case_id = CaseIdOf<supervision::v1::CaseVoided>(env);
  } else if (type ==
             supervision::v1::CaseNotAccepted::descriptor()->full_name()) {
    case_id = CaseIdOf<supervision::v1::CaseNotAccepted>(env);
  } else if (type == supervision::v1::CaseReopened::descriptor()->full_name()) {
    case_id = CaseIdOf<supervision::v1::CaseReopened>(env);
    reopened = true;
  }
  if (!case_id.ok()) return case_id.status();
  if (case_id->empty()) return effects;
  ASSIGN_OR_RETURN(auto row,
                   store_->GetProjection(kReportsProjection, *case_id));
  if (!row) return effects;  // not a report of this intake
  v1::Report report;
  if (!report.ParseFromString(*row)) {
    return absl::DataLossError(absl::StrCat("report row ", *case_id));
  }
  if (!report.has_point()) return effects;  // reported by grid or component
  const double lon = report.point().longitude();
  const double lat = report.point().latitude();
  eventstore::ProjectionWrite write;
  write.projection = kNearbyProjection;
  // The row's key as ReportCase wrote it: the report's time is its
  // received_time.
  write.key = NearbyKey(report.category_code(), {lon, lat},
                        FromProto(report.received_time()), report.case_id());
  if (reopened) write.value = NearbyValue(lon, lat);
  effects.projection_writes.push_back(std::move(write));
  return effects;
}

absl::Status IntakeApp::WaitApplied(
    const google::protobuf::RepeatedPtrField<common::v1::Position>& positions,
    absl::Time deadline) const {
  return store_->WaitForPositions(positions, deadline);
}

void IntakeApp::OnRegistryApplied(const common::v1::EventEnvelope& env) {
  registry_.OnApplied(env);
}

size_t IntakeApp::known_areas() const {
  return registry_.Read(
      [](const registry::RegistryState& s) { return s.areas.size(); });
}

std::shared_ptr<const registry::AreaIndex> IntakeApp::Index() {
  absl::MutexLock lock(&index_mu_);
  const uint64_t generation = registry_.generation();
  if (!index_ || index_generation_ != generation) {
    // Rebuilt once per burst of registry changes, on first use.
    index_ = registry_.Read([](const registry::RegistryState& s) {
      return std::make_shared<registry::AreaIndex>(s);
    });
    index_generation_ = generation;
  }
  return index_;
}

std::string IntakeApp::MintCaseId(absl::Time now) const {
  // C + the day in China (UTC+8, no daylight saving) + 8 random base32
  // characters: readable, sortable by day, unique across restarts and
  // partitions (a collision is caught by the kNoStream append).
  static const absl::TimeZone kChina = absl::FixedTimeZone(8 * 3600);
  static constexpr char kAlphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  thread_local absl::BitGen rng;
  std::string suffix;
  for (int i = 0; i < 8; ++i)
    suffix.push_back(kAlphabet[absl::Uniform(rng, 0, 32)]);
  return absl::StrCat("C", absl::FormatTime("%Y%m%d", now, kChina), "-",
                      suffix);
}

absl::StatusOr<v1::ReportCaseResponse> IntakeApp::ReportCase(
    const common::v1::Actor& actor, const v1::ReportCaseRequest& request) {
  const std::string command_id =
      absl::StrCat("report/", actor.subject(), "/", request.request_id());
  v1::ReportCaseResponse response;
  // A retry with the same request id: the same case, nothing written.
  if (!request.request_id().empty()) {
    ASSIGN_OR_RETURN(auto first, store_->CommandResult(command_id));
    if (first && response.ParseFromString(first->command_response) &&
        !response.case_id().empty()) {
      for (const auto& p : first->positions) *response.add_positions() = p;
      return response;
    }
    if (first) {
      // Recorded before answers were kept: rebuilt from the report.
      response.Clear();
      for (const auto& sv : first->stream_versions) {
        if (absl::StartsWith(sv.stream_id(), "case/")) {
          response.set_case_id(sv.stream_id().substr(5));
        }
      }
      ASSIGN_OR_RETURN(v1::Report report, GetReport(response.case_id()));
      response.set_area_code(report.area_code());
      for (const auto& p : first->positions) *response.add_positions() = p;
      return response;
    }
  }
  // Limits count new reports only; a retry above was answered for free.
  if (actor.role() == common::v1::ROLE_CHANNEL) {
    RETURN_IF_ERROR(
        channel_limiter_.Admit(absl::StrCat("channel:", actor.channel())));
  }
  RETURN_IF_ERROR(
      caller_limiter_.Admit(absl::StrCat("caller:", actor.subject())));
  auto index = Index();
  const absl::Time now = clock_->Now();
  for (int attempt = 0; attempt < 3; ++attempt) {
    ReportInput input;
    input.request = &request;
    input.actor = actor;
    input.now = now;
    input.case_id = MintCaseId(now);
    if (request.location().has_point()) {
      // An invalid point gets its error from DecideReport below.
      auto at = PointInWgs84(request.location().point());
      if (at.ok())
        input.possible_duplicates =
            NearbyOpen(request.category_code(), *at, now);
    }
    input.index = index.get();
    std::string policy_version;
    absl::StatusOr<v1::ReportReceived> event =
        registry_.Read([&](const registry::RegistryState& state) {
          input.registry = &state;
          auto decided = DecideReport(input);
          // The decision event records the catalogue it was checked
          // against (in force when observed).
          if (decided.ok()) {
            const auto* policy =
                registry::PolicyAt(state, FromProto(decided->observed_time()));
            if (policy != nullptr) policy_version = policy->version();
          }
          return decided;
        });
    if (!event.ok()) return event.status();
    if (request.has_reporter() && (!request.reporter().name().empty() ||
                                   !request.reporter().phone().empty())) {
      // The key is stored (fsync'd) before the event that needs it.
      const std::string key = NewContactKey(suite_);
      ASSIGN_OR_RETURN(
          std::string ciphertext,
          EncryptContact(suite_, key, request.reporter().SerializeAsString(),
                         event->case_id()));
      absl::Status stored = keys_->Put(event->case_id(), key);
      if (stored.code() == absl::StatusCode::kAlreadyExists) {
        continue;  // the minted id is taken (its key exists): mint another
      }
      RETURN_IF_ERROR(stored);
      event->set_reporter_contact_ciphertext(std::move(ciphertext));
    }
    eventstore::AppendRequest append;
    append.command_id = command_id;
    append.actor = actor;
    eventstore::StreamAppend sa;
    sa.stream_id = absl::StrCat("case/", event->case_id());
    sa.expected_version = eventstore::kNoStream;
    eventstore::NewEvent ne = eventstore::MakeEvent(*event);
    ne.occurred_time = FromProto(event->observed_time());
    ne.correlation_id = event->case_id();
    ne.policy_version = policy_version;
    sa.events.push_back(std::move(ne));
    append.streams.push_back(std::move(sa));
    append.projection_writes.push_back(
        {kReportsProjection, event->case_id(),
         ReportView(*event).SerializeAsString()});
    if (event->has_point()) {
      const double lon = event->point().longitude();
      const double lat = event->point().latitude();
      append.projection_writes.push_back(
          {kNearbyProjection,
           NearbyKey(event->category_code(), {lon, lat}, now, event->case_id()),
           NearbyValue(lon, lat)});
    }
    response.set_case_id(event->case_id());
    response.set_area_code(event->area_code());
    for (const auto& d : event->possible_duplicates())
      response.add_possible_duplicates(d);
    if (!request.request_id().empty()) {
      append.command_response = response.SerializeAsString();
    }
    auto result = store_->Append(std::move(append));
    if (!result.ok() && result.status().code() == absl::StatusCode::kAborted) {
      response.Clear();
      continue;  // the minted id exists: mint another
    }
    if (!result.ok()) return result.status();
    if (result->duplicate) return ReportCase(actor, request);  // raced a retry
    for (const auto& p : result->positions) *response.add_positions() = p;
    return response;
  }
  return absl::InternalError("could not mint a unique case id");
}

absl::StatusOr<v1::ReportReceived> IntakeApp::ReceivedEvent(
    const std::string& case_id) const {
  ASSIGN_OR_RETURN(auto events,
                   store_->ReadStream(absl::StrCat("case/", case_id), 1, 1));
  if (events.empty())
    return absl::NotFoundError(absl::StrCat("no report ", case_id));
  ASSIGN_OR_RETURN(auto env, store_->Decode(events[0]));
  v1::ReportReceived received;
  if (!received.ParseFromString(env.payload().value())) {
    return absl::DataLossError("ReportReceived does not parse");
  }
  return received;
}

std::string IntakeApp::ForgetCommand(const std::string& case_id) {
  return absl::StrCat("forget/", case_id);
}

absl::Mutex& IntakeApp::ContactLock(const std::string& case_id) {
  return contact_locks_[absl::Hash<std::string>()(case_id) % kContactLocks];
}

absl::StatusOr<v1::ReporterContact> IntakeApp::RevealReporterContact(
    const common::v1::Actor& actor, const std::string& case_id,
    const std::string& purpose) {
  if (purpose.empty())
    return status::InvalidField("purpose", "required (PIPL access log)");
  RETURN_IF_ERROR(domain::ValidText("purpose", purpose));
  ASSIGN_OR_RETURN(v1::ReportReceived received, ReceivedEvent(case_id));
  if (received.reporter_contact_ciphertext().empty()) {
    return absl::NotFoundError(
        absl::StrCat("report ", case_id, " has no contact"));
  }
  // Not while the same case's reporter is being forgotten (its erasure is
  // recorded before its key is destroyed: in between, a reveal would still
  // find the key).
  absl::MutexLock serialised(&ContactLock(case_id));
  // An erasure recorded whose key a crash kept: finished here.
  ASSIGN_OR_RETURN(auto erased, store_->CommandResult(ForgetCommand(case_id)));
  if (erased) RETURN_IF_ERROR(keys_->Destroy(case_id));
  ASSIGN_OR_RETURN(auto key, keys_->Get(case_id));
  if (!key) {
    // A state of the report, not a lack of permission: nobody may read it.
    return absl::FailedPreconditionError(
        "reporter_forgotten: the reporter's data was erased");
  }
  // Charged only for a contact that is there to read.
  RETURN_IF_ERROR(
      reveal_limiter_.Admit(absl::StrCat("reveal:", actor.subject())));
  ASSIGN_OR_RETURN(
      std::string plaintext,
      DecryptContact(suite_, *key, received.reporter_contact_ciphertext(),
                     case_id));
  // Logged before anything is returned: no read without its record.
  v1::ReporterContactRevealed access;
  access.set_case_id(case_id);
  access.set_purpose(purpose);
  eventstore::AppendRequest append;
  append.actor = actor;
  eventstore::StreamAppend sa;
  sa.stream_id = absl::StrCat("case/", case_id);
  sa.events.push_back(eventstore::MakeEvent(access));
  sa.events.back().correlation_id = case_id;
  append.streams.push_back(std::move(sa));
  ASSIGN_OR_RETURN(eventstore::AppendResult logged,
                   store_->Append(std::move(append)));
  v1::ReporterContact contact;
  if (!contact.ParseFromString(plaintext))
    return absl::DataLossError("contact");
  contact.clear_positions();  // never part of what was encrypted
  for (const auto& p : logged.positions) *contact.add_positions() = p;
  return contact;
}

absl::StatusOr<std::vector<common::v1::Position>> IntakeApp::ForgetReporter(
    const common::v1::Actor& actor, const std::string& case_id,
    const std::string& reason) {
  if (reason.empty()) return status::InvalidField("reason", "required");
  RETURN_IF_ERROR(domain::ValidText("reason", reason));
  ASSIGN_OR_RETURN(v1::ReportReceived received, ReceivedEvent(case_id));
  (void)received;
  absl::MutexLock serialised(&ContactLock(case_id));
  v1::ReporterForgotten forgotten;
  forgotten.set_case_id(case_id);
  forgotten.set_reason(reason);
  eventstore::AppendRequest append;
  append.command_id = ForgetCommand(case_id);
  append.actor = actor;
  eventstore::StreamAppend sa;
  sa.stream_id = absl::StrCat("case/", case_id);
  sa.events.push_back(eventstore::MakeEvent(forgotten));
  append.streams.push_back(std::move(sa));
  ASSIGN_OR_RETURN(eventstore::AppendResult result,
                   store_->Append(std::move(append)));
  // After the record: a crash in between leaves the key, and a retry
  // (same command id, nothing written) destroys it.
  RETURN_IF_ERROR(keys_->Destroy(case_id));
  return result.positions;
}

absl::StatusOr<v1::ListReportsResponse> IntakeApp::ListReports(
    const std::string& area_code, int page_size, const std::string& page_token,
    const std::string& only_reporter) const {
  eventstore::ListPageRequest request;
  request.projection = kReportsProjection;
  request.page_size = page_size;
  request.page_token = page_token;
  ASSIGN_OR_RETURN(
      auto page,
      eventstore::ReadListPage<v1::Report>(
          *store_, request,
          [&](const std::string& key, const std::string& value)
              -> absl::StatusOr<std::optional<v1::Report>> {
            v1::Report report;
            if (!report.ParseFromString(value)) {
              return absl::DataLossError(absl::StrCat("report row ", key));
            }
            if (!absl::StartsWith(report.area_code(), area_code) ||
                (!only_reporter.empty() &&
                 report.reporter_subject() != only_reporter)) {
              return std::nullopt;
            }
            return report;
          }));
  v1::ListReportsResponse out;
  for (auto& report : page.rows) *out.add_reports() = std::move(report);
  out.set_next_page_token(page.next_page_token);
  return out;
}

absl::StatusOr<v1::Report> IntakeApp::GetReport(
    const std::string& case_id) const {
  ASSIGN_OR_RETURN(auto row,
                   store_->GetProjection(kReportsProjection, case_id));
  if (!row) return absl::NotFoundError(absl::StrCat("no report ", case_id));
  v1::Report report;
  if (!report.ParseFromString(*row)) return absl::DataLossError("report row");
  return report;
}

}  // namespace wangge::intake
