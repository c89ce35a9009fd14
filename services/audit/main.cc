// audit: verifies, exports and compares Wangge's event history without
// trusting the services (issue #7; first commands).
//
//   audit verify --addr=intake=127.0.0.1:7101,registry=127.0.0.1:7105 \
//       --public_keys=intake=intake.pub,registry=registry.pub \
//       [--state=state.json] [--report=report.json]
//   audit verify --export_file=history.jsonl --public_keys=...
//   audit export --addr=intake=127.0.0.1:7101 > history.jsonl
//
// verify exits 0 when every partition verifies, 1 on any violation, 2 on
// bad usage or an unreachable source. --state keeps the last checkpoint of
// every partition; the next run checks the log still extends it.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "services/audit/export_format.h"
#include "services/audit/verifier.h"
#include "services/common/auth/token.h"
#include "services/common/files/files.h"
#include "wangge/common/v1/eventlog.grpc.pb.h"

ABSL_FLAG(std::string, addr, "", "service=host:port,... (EventLog sources)");
ABSL_FLAG(std::string, export_file, "", "An export (JSON Lines) instead of --addr");
ABSL_FLAG(std::string, public_keys, "", "service=public.pem,... (checkpoint keys)");
ABSL_FLAG(std::string, crypto_suite, "standard", "standard (SHA-256) or guomi (SM3)");
ABSL_FLAG(std::string, state, "", "File keeping the last checkpoints seen");
ABSL_FLAG(std::string, report, "", "Write the JSON report here (default: stdout)");
ABSL_FLAG(std::string, token, "", "Auditor bearer token");
ABSL_FLAG(std::string, key_file, "", "HS256 development secret to mint one");

namespace {

using namespace wangge;

std::map<std::string, std::string> Pairs(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

std::string Token() {
  if (!absl::GetFlag(FLAGS_token).empty()) return absl::GetFlag(FLAGS_token);
  auto key = files::ReadFileToString(absl::GetFlag(FLAGS_key_file));
  if (!key.ok()) return "";
  auth::Claims c;
  c.subject = "audit";
  c.role = common::v1::ROLE_AUDITOR;
  c.audience = "wangge";
  c.expiry = absl::Now() + absl::Hours(1);
  c.scopes = {"*"};
  auto t = auth::MintToken(c, "HS256", *key);
  return t.ok() ? *t : "";
}

// Streams every event of every partition of one service to `fn`.
bool ReadService(const std::string& service, const std::string& address,
                 const std::function<void(uint32_t, const common::v1::StoredEvent&)>& fn) {
  auto stub = common::v1::EventLog::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  const std::string token = Token();
  grpc::ClientContext hctx;
  hctx.AddMetadata("authorization", "Bearer " + token);
  common::v1::GetLogHeadsResponse heads;
  grpc::Status s = stub->GetLogHeads(&hctx, {}, &heads);
  if (!s.ok()) {
    std::fprintf(stderr, "audit: %s at %s: %s\n", service.c_str(), address.c_str(),
                 s.error_message().c_str());
    return false;
  }
  for (int p = 0; p < heads.heads_size(); ++p) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    common::v1::ReadLogRequest request;
    request.set_partition(p);
    request.set_to_sequence(heads.heads(p));
    if (heads.heads(p) == 0) continue;
    auto reader = stub->ReadLog(&ctx, request);
    common::v1::ReadLogResponse batch;
    while (reader->Read(&batch)) {
      for (const auto& e : batch.events()) fn(p, e);
    }
    if (!reader->Finish().ok()) return false;
  }
  return true;
}

int Verify() {
  const crypto::Hasher hasher(absl::GetFlag(FLAGS_crypto_suite) == "guomi"
                                  ? common::v1::HASH_ALGORITHM_SM3
                                  : common::v1::HASH_ALGORITHM_SHA256);
  std::map<std::string, std::unique_ptr<crypto::Verifier>> keys;
  for (const auto& [service, file] : Pairs(absl::GetFlag(FLAGS_public_keys))) {
    auto pem = files::ReadFileToString(file);
    auto v = pem.ok() ? crypto::Verifier::FromPem(*pem) : pem.status();
    if (!v.ok()) {
      std::fprintf(stderr, "audit: public key of %s: %s\n", service.c_str(),
                   std::string(v.status().message()).c_str());
      return 2;
    }
    keys[service] = std::move(*v);
  }
  // Checkpoints saved by the previous run.
  nlohmann::json state = nlohmann::json::object();
  if (!absl::GetFlag(FLAGS_state).empty()) {
    auto text = files::ReadFileToString(absl::GetFlag(FLAGS_state));
    if (text.ok()) state = nlohmann::json::parse(*text, nullptr, false);
    if (state.is_discarded()) state = nlohmann::json::object();
  }
  std::map<std::pair<std::string, uint32_t>, std::unique_ptr<audit::PartitionVerifier>> verifiers;
  auto feed = [&](const std::string& service, uint32_t p, const common::v1::StoredEvent& e) {
    auto& v = verifiers[{service, p}];
    if (!v) {
      auto key = keys.find(service);
      v = std::make_unique<audit::PartitionVerifier>(
          service, p, &hasher, key == keys.end() ? nullptr : key->second.get());
      const std::string id = absl::StrCat(service, "/", p);
      if (state.contains(id)) {
        common::v1::Checkpoint saved;
        saved.set_tree_size(state[id]["tree_size"].get<uint64_t>());
        saved.set_merkle_root(
            absl::HexStringToBytes(state[id]["merkle_root"].get<std::string>()));
        v->ExpectPrefix(saved);
      }
    }
    v->Add(e);
  };
  if (!absl::GetFlag(FLAGS_export_file).empty()) {
    std::ifstream in(absl::GetFlag(FLAGS_export_file));
    if (!in) return 2;
    std::string line;
    uint64_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      auto e = audit::ParseExportLine(line);
      if (!e.ok()) {
        std::fprintf(stderr, "audit: line %llu: %s\n", static_cast<unsigned long long>(n),
                     std::string(e.status().message()).c_str());
        return 2;
      }
      feed(e->service, e->partition, e->event);
    }
  } else {
    for (const auto& [service, address] : Pairs(absl::GetFlag(FLAGS_addr))) {
      if (!ReadService(service, address, [&](uint32_t p, const common::v1::StoredEvent& e) {
            feed(service, p, e);
          })) {
        return 2;
      }
    }
  }
  std::vector<audit::PartitionReport> reports;
  size_t violations = 0;
  for (auto& [id, v] : verifiers) {
    reports.push_back(v->Finish());
    violations += reports.back().violations.size();
  }
  const std::string json = audit::ReportJson(reports);
  if (absl::GetFlag(FLAGS_report).empty()) {
    std::printf("%s\n", json.c_str());
  } else {
    std::ofstream(absl::GetFlag(FLAGS_report)) << json;
  }
  uint64_t events = 0;
  for (const auto& r : reports) events += r.events;
  std::fprintf(stderr, "audit: %zu partitions, %llu events, %zu violations\n",
               reports.size(), static_cast<unsigned long long>(events), violations);
  // A clean run saves the newest checkpoints for the next one.
  if (violations == 0 && !absl::GetFlag(FLAGS_state).empty()) {
    for (const auto& r : reports) {
      if (!r.last_checkpoint) continue;
      state[absl::StrCat(r.service, "/", r.partition)] = {
          {"tree_size", r.last_checkpoint->tree_size()},
          {"merkle_root", absl::BytesToHexString(r.last_checkpoint->merkle_root())}};
    }
    if (!files::WriteFileAtomically(absl::GetFlag(FLAGS_state), state.dump(2)).ok()) return 2;
  }
  return violations == 0 ? 0 : 1;
}

int Export() {
  for (const auto& [service, address] : Pairs(absl::GetFlag(FLAGS_addr))) {
    if (!ReadService(service, address, [&](uint32_t p, const common::v1::StoredEvent& e) {
          std::printf("%s\n", audit::ExportLine(service, p, e).c_str());
        })) {
      return 2;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() == 2 && std::string(args[1]) == "verify") return Verify();
  if (args.size() == 2 && std::string(args[1]) == "export") return Export();
  std::fprintf(stderr, "usage: audit verify|export (see --help)\n");
  return 2;
}
