#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace portline::testing {

/// Path of the built `portline` binary (compiled in by CMake).
[[nodiscard]] std::string PortlineBinary();

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `portline args…` to completion with extra environment variables; standard input comes
/// from `stdin_path` (empty: /dev/null).
CommandResult RunPortline(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env = {},
                          const std::string& stdin_path = {});

/// `portline serve` as a child process on 127.0.0.1:0. Stops it (SIGKILL) on destruction if
/// still running. `open_files` sets its descriptor limit (soft and hard).
class ServerProcess {
 public:
  ServerProcess(std::vector<std::string> extra_args, std::map<std::string, std::string> env,
                std::optional<std::uint64_t> open_files = std::nullopt);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// Port it listens on; 0 if it did not start (see stderr_text()).
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  void Signal(int signo) const;
  /// Waits for exit; returns the exit code, or nullopt on timeout (or -signal if killed).
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  /// What it wrote to stderr so far (logs).
  [[nodiscard]] std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string stderr_path_;
  bool exited_ = false;
};

}  // namespace portline::testing
