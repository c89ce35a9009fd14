#ifndef WANGGE_TESTS_STACK_H_
#define WANGGE_TESTS_STACK_H_

// The whole backend as separate processes for end-to-end tests: the dev
// broker and any of the services, on loopback ports chosen up front (so
// that peers can name each other, and a restarted service comes back on
// its port), plaintext, a shared development token key, and a development
// clock file the test can move.

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "services/common/testing/subprocess.h"

namespace wangge::testing {

// Imports the demo deployment (seed 1) into the registry at `address`
// (plaintext, an administrator's dev token).
void ImportDemoInto(const std::string& address);

class Stack {
 public:
  explicit Stack(const std::string& name);
  ~Stack();

  // Starts the broker; picks every service's port.
  void StartBroker();
  // SIGKILLs the broker (its data is memory only) and starts a fresh one on
  // a new port; the services re-read the bootstrap file and repair from
  // each other's ReadLog.
  void RestartBroker();
  // Starts `service` with peers `followed` (their addresses), or restarts
  // it on the same data and port.
  void Start(const std::string& service,
             const std::vector<std::string>& followed = {});
  void Kill(const std::string& service);  // SIGKILL, reaped
  // Imports the demo deployment into the registry.
  void ImportDemo();
  // Waits until `service` reports readiness (its followers caught up).
  void WaitReady(const std::string& service);
  // Moves every service's clock to `seconds` after real time.
  void SetClockOffset(double seconds);

  const std::string& dir() const { return dir_; }
  const std::string& clock_file() const { return clock_file_; }
  const std::string& addr(const std::string& service) { return addr_[service]; }
  std::shared_ptr<grpc::Channel> Channel(const std::string& service);
  // A context with `token` and a 20 s deadline.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token);

 private:
  std::string dir_;
  std::string clock_file_;
  std::map<std::string, std::string> addr_;
  std::map<std::string, std::vector<std::string>> followed_;
  Subprocess broker_;
  std::map<std::string, std::unique_ptr<Subprocess>> processes_;
};

}  // namespace wangge::testing

#endif  // WANGGE_TESTS_STACK_H_
