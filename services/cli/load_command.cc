#include "services/cli/load_command.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/cli/areas.h"
#include "services/cli/cli_support.h"
#include "services/common/domain/ids.h"
#include "wangge/dispatch/v1/dispatch.grpc.pb.h"
#include "wangge/intake/v1/intake.grpc.pb.h"
#include "wangge/supervision/v1/supervision.grpc.pb.h"

ABSL_FLAG(absl::Duration, duration, absl::Seconds(60),
          "load: how long to start new lifecycles");
ABSL_FLAG(double, rate, 0,
          "load: lifecycles started per second (0: as many as --concurrency "
          "keeps in flight)");
ABSL_FLAG(int, concurrency, 64, "load: lifecycles in flight at most");
ABSL_FLAG(std::string, areas, "510101,110101",
          "load: the areas (districts) to report in");
ABSL_FLAG(int, grids_per_area, 200, "load: grids used in each area");
ABSL_FLAG(bool, reports_only, false,
          "load: citizen reports only (each opens a case file in supervision): "
          "fills the stack with cases to measure its memory");

namespace wangge::cli {
namespace {

namespace sv = supervision::v1;
namespace dv = dispatch::v1;

constexpr absl::Duration kStepTimeout = absl::Seconds(60);
// A worker claims its case within milliseconds of ReportCase's answer; one
// it claims later than this waits on GetCase instead (Await's fallback).
constexpr absl::Duration kUnclaimedKept = absl::Seconds(10);

// The latest view of every case in flight, fed by one WatchCases stream
// (and by GetCase when a wait drags on, so a broken stream only slows the
// run down); each case has its own condition variable.
class CaseBoard {
 public:
  void Seen(const sv::Case& c) {
    absl::MutexLock lock(&mu_);
    auto it = cases_.find(c.case_id());
    if (it == cases_.end()) {
      // Kept for a worker that has not asked yet (the watch can be ahead of
      // ReportCase's answer); swept if none ever does (a case already done
      // and forgotten, or another client's).
      it = cases_.emplace(c.case_id(), std::make_unique<Entry>()).first;
      it->second->created = absl::Now();
      if (++created_ % 4096 == 0) SweepUnclaimed();
    }
    Entry& e = *it->second;
    if (!c.task_id().empty() && e.first_dispatch == absl::InfinitePast()) {
      e.first_dispatch = absl::Now();
    }
    e.view = c;
    e.changed.SignalAll();
  }

  // Waits until `done` holds for the case; its view, or nullopt.
  template <typename Done>
  std::optional<sv::Case> Await(const std::string& case_id, Done done,
                                sv::SupervisionService::Stub* fallback,
                                const std::string& token) {
    const absl::Time deadline = absl::Now() + kStepTimeout;
    while (absl::Now() < deadline) {
      {
        absl::MutexLock lock(&mu_);
        auto it = cases_.find(case_id);
        if (it == cases_.end()) {
          it = cases_.emplace(case_id, std::make_unique<Entry>()).first;
        }
        Entry& e = *it->second;
        e.claimed = true;  // never swept: erased by Forget
        const absl::Time slice =
            std::min(deadline, absl::Now() + absl::Seconds(1));
        while (!done(e.view) && absl::Now() < slice) {
          e.changed.WaitWithDeadline(&mu_, slice);
        }
        if (done(e.view)) return e.view;
      }
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + token);
      sv::GetCaseRequest r;
      r.set_case_id(case_id);
      sv::Case c;
      if (fallback->GetCase(&ctx, r, &c).ok()) Seen(c);
    }
    return std::nullopt;
  }

  absl::Time FirstDispatch(const std::string& case_id) {
    absl::MutexLock lock(&mu_);
    auto it = cases_.find(case_id);
    return it == cases_.end() ? absl::InfinitePast()
                              : it->second->first_dispatch;
  }

  void Forget(const std::string& case_id) {
    absl::MutexLock lock(&mu_);
    cases_.erase(case_id);
  }

  size_t size() {
    absl::MutexLock lock(&mu_);
    return cases_.size();
  }

 private:
  struct Entry {
    sv::Case view;
    absl::Time first_dispatch = absl::InfinitePast();
    absl::CondVar changed;
    absl::Time created;
    bool claimed = false;  // a worker waits on it or will forget it
  };
  // Entries only the watch made, older than any worker could still claim.
  void SweepUnclaimed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const absl::Time horizon = absl::Now() - kUnclaimedKept;
    for (auto it = cases_.begin(); it != cases_.end();) {
      if (!it->second->claimed && it->second->created < horizon) {
        it = cases_.erase(it);
      } else {
        ++it;
      }
    }
  }
  absl::Mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Entry>> cases_
      ABSL_GUARDED_BY(mu_);
  uint64_t created_ ABSL_GUARDED_BY(mu_) = 0;
};

class Samples {
 public:
  void Add(const std::string& what, absl::Duration d) {
    absl::MutexLock lock(&mu_);
    ms_[what].push_back(absl::ToDoubleMilliseconds(d));
  }
  void Count(const std::string& what) {
    absl::MutexLock lock(&mu_);
    ++counts_[what];
  }
  int64_t Counted(const std::string& what) {
    absl::MutexLock lock(&mu_);
    return counts_[what];
  }
  // p50/p99/max of a series, in ms.
  std::string Percentiles(const std::string& what) {
    absl::MutexLock lock(&mu_);
    auto& v = ms_[what];
    if (v.empty()) return "-";
    std::sort(v.begin(), v.end());
    auto at = [&](double q) {
      return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
    };
    return absl::StrFormat("p50 %.1f ms  p99 %.1f ms  max %.1f ms  (n=%zu)",
                           at(0.5), at(0.99), v.back(), v.size());
  }
  std::map<std::string, int64_t> counts() {
    absl::MutexLock lock(&mu_);
    return counts_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::vector<double>> ms_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> counts_ ABSL_GUARDED_BY(mu_);
};

// Development tokens, minted once per identity.
class Tokens {
 public:
  const std::string& For(const std::string& role, const std::string& subject,
                         const std::string& department = "",
                         const std::string& channel = "") {
    const std::string key =
        absl::StrCat(role, "|", subject, "|", department, "|", channel);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      auto t = MintToken(role, subject, department, channel);
      it = cache_.emplace(key, t.ok() ? *t : "").first;
    }
    return it->second;
  }

 private:
  std::unordered_map<std::string, std::string> cache_;
};

const char* const kChannels[] = {"app", "12345", "mayor_mailbox"};
const char* const kCategories[] = {"event/01/0102", "event/02/0201",
                                   "component/03/0305", "event/03/0306",
                                   "component/01/0118"};

class Load {
 public:
  explicit Load(std::vector<ReportableGrid> grids) : grids_(std::move(grids)) {
    for (int i = 0; i < 4; ++i) {
      intake_.push_back(Channel("intake"));
      supervision_.push_back(Channel("supervision"));
      dispatch_.push_back(Channel("dispatch"));
    }
  }

  int Run();

 private:
  class Worker;
  void Watch();

  const std::vector<ReportableGrid> grids_;
  std::vector<std::shared_ptr<grpc::Channel>> intake_, supervision_, dispatch_;
  CaseBoard board_;
  Samples samples_;
  std::atomic<int64_t> next_{0};
  std::atomic<bool> stop_watch_{false};
  absl::Time start_, stop_starting_;
  std::string run_id_;
  grpc::ClientContext* watch_context_ = nullptr;
  absl::Mutex watch_mu_;
};

// One lifecycle at a time, every role with its own token.
class Load::Worker {
 public:
  Worker(Load* load, int index)
      : load_(load),
        index_(index),
        intake_(intake::v1::IntakeService::NewStub(
            load->intake_[index % load->intake_.size()])),
        sup_(sv::SupervisionService::NewStub(
            load->supervision_[index % load->supervision_.size()])),
        disp_(dv::DispatchService::NewStub(
            load->dispatch_[index % load->dispatch_.size()])) {}

  void Run() {
    const double rate = absl::GetFlag(FLAGS_rate);
    while (true) {
      const int64_t n = load_->next_.fetch_add(1);
      absl::Time at = absl::Now();
      if (rate > 0) {
        at = load_->start_ + absl::Seconds(n / rate);
        if (at > absl::Now()) absl::SleepFor(at - absl::Now());
      }
      if (absl::Now() >= load_->stop_starting_) return;
      const std::string failed = Lifecycle(n);
      if (!failed.empty()) load_->samples_.Count("failed at " + failed);
    }
  }

 private:
  // One call, retried with the same request while the service is away (a
  // restart): commands carry request ids, so a retry never applies twice.
  template <typename Method>
  grpc::Status Call(const std::string& token, Method method) {
    const absl::Time until = absl::Now() + kStepTimeout;
    while (true) {
      auto ctx = ContextWithToken(token);
      grpc::Status s = method(ctx.get());
      const auto code = s.error_code();
      if ((code != grpc::StatusCode::UNAVAILABLE &&
           code != grpc::StatusCode::DEADLINE_EXCEEDED) ||
          absl::Now() > until) {
        return s;
      }
      load_->samples_.Count("retried while a service was away");
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  std::optional<sv::Case> Await(
      const std::string& case_id,
      const std::function<bool(const sv::Case&)>& done) {
    return load_->board_.Await(case_id, done, sup_.get(),
                               tokens_.For("shift_leader", "load-watch"));
  }
  // A department action; the task may not be in dispatch's store yet when
  // supervision has noted it (it is: dispatch committed first), so NOT_FOUND
  // is retried briefly all the same.
  grpc::Status TaskAction(const std::string& what, const std::string& task,
                          const std::string& department) {
    const std::string& token =
        tokens_.For("department_handler", "handler-" + department, department);
    dv::TaskActionRequest r;
    r.set_request_id(absl::StrCat(load_->run_id_, "-", what, "-", task));
    r.set_task_id(task);
    r.set_reason("load: " + what);
    r.set_note("load: " + what);
    dv::TaskCommandResponse resp;
    grpc::Status s;
    for (int attempt = 0; attempt < 100; ++attempt) {
      s = Call(token, [&](grpc::ClientContext* c) {
        if (what == "accept") return disp_->AcceptTask(c, r, &resp);
        if (what == "send-back") return disp_->RequestSendBack(c, r, &resp);
        return disp_->ReportHandled(c, r, &resp);
      });
      if (s.error_code() != grpc::StatusCode::NOT_FOUND) break;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return s;
  }

  // The lifecycle of case n; the step that failed, or "".
  std::string Lifecycle(int64_t n) {
    const ReportableGrid& grid = load_->grids_[n % load_->grids_.size()];
    const std::string district = grid.code.substr(0, 6);
    const std::string supervisor = "supervisor-" + grid.code.substr(0, 12);
    const std::string leader = "shift_leader-" + district;
    const absl::Time begun = absl::Now();
    std::string case_id;
    {
      const char* channel = kChannels[n % 3];
      intake::v1::ReportCaseRequest r;
      r.set_request_id(absl::StrCat(load_->run_id_, "-report-", n));
      r.set_category_code(kCategories[n % 5]);
      r.set_description(absl::StrCat("load ", n));
      auto* point = r.mutable_location()->mutable_point();
      point->set_longitude(grid.longitude);
      point->set_latitude(grid.latitude);
      point->set_coordinate_system(common::v1::COORDINATE_SYSTEM_WGS84);
      r.mutable_reporter()->set_name("load");
      r.mutable_reporter()->set_phone("13900000000");
      intake::v1::ReportCaseResponse resp;
      // Reports only: many callers, within intake's per-caller rate limit.
      const std::string caller =
          absl::GetFlag(FLAGS_reports_only)
              ? absl::StrCat("load-", channel, "-", n % 200)
              : absl::StrCat("load-", channel, "-", index_);
      grpc::Status s = Call(tokens_.For("channel", caller, "", channel),
                            [&](grpc::ClientContext* c) {
                              return intake_->ReportCase(c, r, &resp);
                            });
      if (!s.ok()) return "report: " + s.error_message();
      load_->samples_.Add("intake", absl::Now() - begun);
      load_->samples_.Count("reported");
      case_id = resp.case_id();
      if (absl::GetFlag(FLAGS_reports_only)) return "";
    }
    // Done with the board's entry whatever happens below.
    struct Forget {
      CaseBoard* board;
      const std::string& id;
      ~Forget() { board->Forget(id); }
    } forget{&load_->board_, case_id};

    if (!Await(case_id, [](const sv::Case& c) {
          return c.status() == sv::CASE_STATUS_VERIFYING;
        }))
      return "case file";
    sv::CaseCommandResponse done;
    {
      sv::VerifyCaseRequest r;
      r.set_request_id(absl::StrCat(load_->run_id_, "-verify-", case_id));
      r.set_case_id(case_id);
      r.set_confirmed(true);
      grpc::Status s = Call(tokens_.For("supervisor", supervisor),
                            [&](grpc::ClientContext* c) {
                              return sup_->VerifyCase(c, r, &done);
                            });
      if (!s.ok()) return "verify: " + s.error_message();
    }
    absl::Time filed;
    {
      sv::FileCaseRequest r;
      r.set_request_id(absl::StrCat(load_->run_id_, "-file-", case_id));
      r.set_case_id(case_id);
      r.set_urgency(sv::URGENCY_ORDINARY);
      r.set_filing_criterion("confirmed on site");
      grpc::Status s = Call(
          tokens_.For("shift_leader", leader),
          [&](grpc::ClientContext* c) { return sup_->FileCase(c, r, &done); });
      if (!s.ok()) return "file: " + s.error_message();
      filed = absl::Now();
    }
    uint32_t attempt = 1;
    auto dispatched = [&](uint32_t a) {
      const std::string task = domain::TaskId(case_id, a);
      return Await(case_id, [&](const sv::Case& c) {
        return c.task_id() == task && c.status() == sv::CASE_STATUS_FILED;
      });
    };
    auto view = dispatched(attempt);
    if (!view) return "dispatch";
    const absl::Time first = load_->board_.FirstDispatch(case_id);
    load_->samples_.Add("report->dispatched", first - begun);
    load_->samples_.Add("filed->dispatched", first - filed);
    std::string department = view->department();

    if (n % 10 == 3) {  // sent back once (回退), re-dispatched
      grpc::Status s =
          TaskAction("send-back", domain::TaskId(case_id, attempt), department);
      if (!s.ok()) return "send-back: " + s.error_message();
      const std::string other =
          absl::StartsWith(department, "urban_management-")
              ? "sanitation-" + district
              : "urban_management-" + district;
      dv::DecideRequestRequest r;
      r.set_request_id(absl::StrCat(load_->run_id_, "-approve-", case_id));
      r.set_task_id(domain::TaskId(case_id, attempt));
      r.set_decision(dv::DECISION_APPROVE);
      r.set_redispatch_department(other);
      dv::TaskCommandResponse resp;
      s = Call(tokens_.For("dispatcher", "dispatcher-" + district),
               [&](grpc::ClientContext* c) {
                 return disp_->DecideRequest(c, r, &resp);
               });
      if (!s.ok()) return "approve send-back: " + s.error_message();
      view = dispatched(++attempt);
      if (!view) return "re-dispatch";
      department = view->department();
      load_->samples_.Count("sent back");
    }
    bool rework = n % 10 == 7;  // one check fails (返工)
    while (true) {
      const std::string task = domain::TaskId(case_id, attempt);
      grpc::Status s = TaskAction("accept", task, department);
      if (!s.ok()) return "accept: " + s.error_message();
      s = TaskAction("handled", task, department);
      if (!s.ok()) return "handled: " + s.error_message();
      if (!Await(case_id, [](const sv::Case& c) {
            return c.status() == sv::CASE_STATUS_HANDLED;
          }))
        return "handling result";
      sv::CheckCaseRequest r;
      r.set_request_id(
          absl::StrCat(load_->run_id_, "-check-", case_id, "-", attempt));
      r.set_case_id(case_id);
      r.set_passed(!rework);
      r.set_note(rework ? "still broken" : "fixed");
      s = Call(
          tokens_.For("supervisor", supervisor),
          [&](grpc::ClientContext* c) { return sup_->CheckCase(c, r, &done); });
      if (!s.ok()) return "check: " + s.error_message();
      if (!rework) break;
      rework = false;
      load_->samples_.Count("reworked");
      if (!dispatched(++attempt)) return "rework dispatch";
    }
    {
      sv::CloseCaseRequest r;
      r.set_request_id(absl::StrCat(load_->run_id_, "-close-", case_id));
      r.set_case_id(case_id);
      r.set_closing_type(sv::CLOSING_TYPE_NORMAL);
      grpc::Status s = Call(
          tokens_.For("shift_leader", leader),
          [&](grpc::ClientContext* c) { return sup_->CloseCase(c, r, &done); });
      if (!s.ok()) return "close: " + s.error_message();
      load_->samples_.Add("lifecycle", absl::Now() - begun);
      load_->samples_.Count("closed");
    }
    // The follow-up call (回访) after the audited contact read; supervision
    // learns of the read from intake's topic, so the first tries may be
    // refused.
    const std::string agent = "follow_up_agent-" + district;
    {
      intake::v1::RevealReporterContactRequest r;
      r.set_case_id(case_id);
      r.set_purpose("回访 follow-up call");
      intake::v1::ReporterContact contact;
      grpc::Status s = Call(
          tokens_.For("follow_up_agent", agent), [&](grpc::ClientContext* c) {
            return intake_->RevealReporterContact(c, r, &contact);
          });
      if (!s.ok()) return "reveal contact: " + s.error_message();
    }
    sv::RecordFollowUpRequest r;
    r.set_request_id(absl::StrCat(load_->run_id_, "-follow-up-", case_id));
    r.set_case_id(case_id);
    r.set_satisfaction(sv::SATISFACTION_SATISFIED);
    r.set_solved(true);
    grpc::Status s;
    for (int i = 0; i < 1000; ++i) {
      s = Call(tokens_.For("follow_up_agent", agent),
               [&](grpc::ClientContext* c) {
                 return sup_->RecordFollowUp(c, r, &done);
               });
      if (s.error_code() != grpc::StatusCode::FAILED_PRECONDITION) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (!s.ok()) return "follow-up: " + s.error_message();
    load_->samples_.Count("followed up");
    return "";
  }

  Load* const load_;
  const int index_;
  std::unique_ptr<intake::v1::IntakeService::Stub> intake_;
  std::unique_ptr<sv::SupervisionService::Stub> sup_;
  std::unique_ptr<dv::DispatchService::Stub> disp_;
  Tokens tokens_;
};

// Every case's changes, reconnecting until the run is over.
void Load::Watch() {
  auto stub = sv::SupervisionService::NewStub(supervision_[0]);
  auto token = MintToken("shift_leader", "load-watch");
  while (!stop_watch_.load()) {
    grpc::ClientContext ctx;
    if (token.ok()) ctx.AddMetadata("authorization", "Bearer " + *token);
    {
      absl::MutexLock lock(&watch_mu_);
      watch_context_ = &ctx;
    }
    sv::WatchCasesRequest r;
    auto reader = stub->WatchCases(&ctx, r);
    sv::Case c;
    while (reader->Read(&c)) board_.Seen(c);
    {
      absl::MutexLock lock(&watch_mu_);
      watch_context_ = nullptr;
    }
    (void)reader->Finish();
    if (!stop_watch_.load()) absl::SleepFor(absl::Milliseconds(100));
  }
}

// Resident memory of the stack's processes (found by name under /proc).
std::vector<std::pair<std::string, int64_t>> ResidentKib() {
  std::vector<std::pair<std::string, int64_t>> out;
  const std::string names[] = {"devbroker", "intake",    "supervision",
                               "dispatch",  "oversight", "registry"};
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(absl::StrCat("/proc/", pid, "/comm"));
    std::string name;
    if (!(comm >> name)) continue;
    if (std::find(std::begin(names), std::end(names), name) == std::end(names))
      continue;
    std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
    std::string line;
    while (std::getline(status, line)) {
      int64_t kib = 0;
      if (absl::StartsWith(line, "VmRSS:") &&
          absl::SimpleAtoi(absl::StripAsciiWhitespace(
                               absl::StripSuffix(line.substr(6), "kB")),
                           &kib)) {
        out.emplace_back(absl::StrCat(name, "[", pid, "]"), kib);
      }
    }
  }
  return out;
}

int Load::Run() {
  run_id_ = absl::StrCat("load-", absl::ToUnixMillis(absl::Now()));
  std::thread watcher([this] {
    if (!absl::GetFlag(FLAGS_reports_only)) Watch();
  });
  absl::SleepFor(absl::Milliseconds(200));  // the watch is open
  const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  start_ = absl::Now();
  stop_starting_ = start_ + absl::GetFlag(FLAGS_duration);
  std::printf(
      "load: %d lifecycles in flight at most, %s, for %s over %zu "
      "grids\n",
      concurrency,
      absl::GetFlag(FLAGS_rate) > 0
          ? absl::StrCat(absl::GetFlag(FLAGS_rate), " started/s").c_str()
          : "as fast as they complete",
      absl::FormatDuration(absl::GetFlag(FLAGS_duration)).c_str(),
      grids_.size());
  std::fflush(stdout);
  std::vector<std::thread> workers;
  std::vector<std::unique_ptr<Worker>> state;
  for (int i = 0; i < concurrency; ++i) {
    state.push_back(std::make_unique<Worker>(this, i));
    workers.emplace_back([w = state.back().get()] { w->Run(); });
  }
  // Progress every 10 s; resident memory at the end of the starting window
  // (the stack under load), before the last lifecycles drain.
  // What a run completes: closed lifecycles, or (--reports_only) reports.
  const std::string done =
      absl::GetFlag(FLAGS_reports_only) ? "reported" : "closed";
  int64_t last_closed = 0;
  absl::Time last = start_;
  std::vector<std::pair<std::string, int64_t>> resident;
  while (absl::Now() < stop_starting_) {
    absl::SleepFor(std::min(absl::Seconds(10), stop_starting_ - absl::Now()));
    const int64_t closed = samples_.Counted(done);
    std::printf("  %5.0f s  %lld %s (%.0f/s)\n",
                absl::ToDoubleSeconds(absl::Now() - start_),
                static_cast<long long>(closed), done.c_str(),
                (closed - last_closed) /
                    std::max(1e-9, absl::ToDoubleSeconds(absl::Now() - last)));
    std::fflush(stdout);
    last_closed = closed;
    last = absl::Now();
  }
  resident = ResidentKib();
  const int64_t closed_in_window = samples_.Counted(done);
  for (auto& t : workers) t.join();
  const absl::Duration elapsed = absl::Now() - start_;
  stop_watch_ = true;
  {
    absl::MutexLock lock(&watch_mu_);
    if (watch_context_ != nullptr) watch_context_->TryCancel();
  }
  watcher.join();

  const double window = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration));
  std::printf("\n%s: %lld in %.1f s (%lld within the %.0f s window: %.1f/s)\n",
              absl::GetFlag(FLAGS_reports_only) ? "reports acknowledged"
                                                : "lifecycles closed",
              static_cast<long long>(samples_.Counted(done)),
              absl::ToDoubleSeconds(elapsed),
              static_cast<long long>(closed_in_window), window,
              closed_in_window / window);
  std::printf("intake ReportCase      %s\n",
              samples_.Percentiles("intake").c_str());
  std::printf("report -> dispatched   %s\n",
              samples_.Percentiles("report->dispatched").c_str());
  std::printf("filed -> dispatched    %s\n",
              samples_.Percentiles("filed->dispatched").c_str());
  std::printf("whole lifecycle        %s\n",
              samples_.Percentiles("lifecycle").c_str());
  int64_t failures = 0;
  for (const auto& [what, count] : samples_.counts()) {
    std::printf("  %-20s %lld\n", what.c_str(), static_cast<long long>(count));
    if (absl::StartsWith(what, "failed")) failures += count;
  }
  // Bounded however long the run: what the watch alone brought is swept.
  std::printf("cases on the watch board at the end: %zu\n", board_.size());
  std::printf("resident memory at the end of the window:\n");
  for (const auto& [name, kib] : resident) {
    std::printf("  %-24s %6.1f MiB\n", name.c_str(), kib / 1024.0);
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int LoadCommand(const std::vector<char*>& args) {
  if (args.size() != 2) {
    return Fail(
        "load [--duration=60s] [--rate=N] [--concurrency=64] "
        "[--areas=510101,110101] [--grids_per_area=200]");
  }
  std::vector<ReportableGrid> grids;
  for (absl::string_view area :
       absl::StrSplit(absl::GetFlag(FLAGS_areas), ',', absl::SkipEmpty())) {
    auto found = LeafGrids(std::string(area),
                           std::max(1, absl::GetFlag(FLAGS_grids_per_area)));
    if (!found.ok()) {
      return Fail(
          absl::StrCat("grids of ", area, ": ", found.status().ToString()));
    }
    grids.insert(grids.end(), found->begin(), found->end());
  }
  if (grids.empty()) {
    return Fail("no grids to report in: is the demo deployment loaded?");
  }
  Load load(std::move(grids));
  return load.Run();
}

}  // namespace wangge::cli
