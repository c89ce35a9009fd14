// devbroker: a Kafka broker for development (librdkafka's mock cluster).
//
//   devbroker --bootstrap_file=var/kafka.bootstrap --partitions=8
//
// Writes its address to --bootstrap_file (atomically; a new port at every
// start), prints "bootstrap <address>", then serves until SIGTERM/SIGINT.
// SIGUSR1 takes the broker down, SIGUSR2 brings it back (for outage tests).
// Memory only: a restart starts empty, and services republish their logs.

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "services/common/files/files.h"
#include "services/common/log/log.h"
#include "services/devbroker/dev_broker.h"

ABSL_FLAG(std::string, bootstrap_file, "", "Where to write the address");
ABSL_FLAG(int, partitions, 8, "Partitions per topic (= the stores')");
ABSL_FLAG(std::string, topics, "",
          "Comma-separated topics; default: every service's topic");

int main(int argc, char** argv) {
  // A crash logs its signal and stack; SIGTERM and the rest are ours below.
  absl::InitializeSymbolizer(argv[0]);
  absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions());
  absl::ParseCommandLine(argc, argv);
  wangge::log::SetService("devbroker");
  // Blocked before the broker's threads start (they inherit the mask) and
  // taken one by one with sigwait below: a signal sent as soon as the
  // address is printed is not lost, nor one sent while the last is handled.
  sigset_t ours;
  sigemptyset(&ours);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) sigaddset(&ours, sig);
  pthread_sigmask(SIG_BLOCK, &ours, nullptr);
  std::vector<std::string> topics = wangge::devbroker::ServiceTopics();
  if (!absl::GetFlag(FLAGS_topics).empty()) {
    topics =
        absl::StrSplit(absl::GetFlag(FLAGS_topics), ',', absl::SkipEmpty());
  }
  auto broker = wangge::devbroker::DevBroker::Start(
      topics, absl::GetFlag(FLAGS_partitions));
  if (!broker.ok()) {
    wangge::log::Error("cannot start", {{"error", broker.status().ToString()}});
    return 1;
  }
  const std::string file = absl::GetFlag(FLAGS_bootstrap_file);
  if (!file.empty()) {
    absl::Status s =
        wangge::files::WriteFileAtomically(file, (*broker)->bootstrap() + "\n");
    if (!s.ok()) {
      wangge::log::Error("cannot write bootstrap file",
                         {{"error", s.ToString()}});
      return 1;
    }
  }
  wangge::log::Info("serving",
                    {{"bootstrap", (*broker)->bootstrap()},
                     {"note", "memory only; production runs Apache Kafka"}});
  std::printf("bootstrap %s\n", (*broker)->bootstrap().c_str());
  std::fflush(stdout);
  while (true) {
    int sig = 0;
    if (sigwait(&ours, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      (*broker)->SetDown();
      wangge::log::Info("broker down");
    } else if (sig == SIGUSR2) {
      (*broker)->SetUp();
      wangge::log::Info("broker up");
    } else if (sig == SIGTERM || sig == SIGINT) {
      break;
    }
  }
  broker->reset();
  wangge::log::Info("stopped");
  return 0;
}
