#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace portline::testing {

/// Any program as a child process (real peers: sipp, kamailio, dnsmasq). Output goes to files
/// in `log_dir`; the process is killed on destruction if still running.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, const std::string& log_dir, const std::string& name);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  /// Exit code, -signal when killed, nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  void Kill();
  [[nodiscard]] std::string Output() const;  // stdout + stderr so far

 private:
  pid_t pid_ = -1;
  std::string out_path_;
  bool exited_ = false;
  int status_ = 0;
};

/// A port that was free a moment ago on 127.0.0.1 (UDP and TCP both free).
[[nodiscard]] std::uint16_t FreePort();

/// A listening TCP socket on `address` (IPv4, an ephemeral port written to `port`); -1 on
/// failure. For the scripted servers tests run in process.
[[nodiscard]] int ListenTcp(const char* address, std::uint16_t& port, int backlog = 64);

/// A TCP connection to 127.0.0.1:port from `source` (any 127/8 address: tests play several
/// hosts), with SO_RCVBUF set first when `receive_buffer` > 0; -1 on failure.
[[nodiscard]] int ConnectTcpFrom(const std::string& source, std::uint16_t port,
                                 int receive_buffer = 0);

/// Waits (up to `timeout`) until something listens on 127.0.0.1:`port` — a bound UDP socket, or
/// a TCP socket in LISTEN — as the kernel reports it in /proc/net/{udp,tcp}. The readiness
/// check for peers started as child processes (dnsmasq, SIPp), instead of a fixed sleep.
[[nodiscard]] bool WaitForListener(bool udp, std::uint16_t port,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Kamailio's module directory as its package installed it (/usr/lib/<triplet>/kamailio/modules),
/// or "" when not found.
[[nodiscard]] std::string KamailioModuleDir();

/// Full path of a program on PATH or in /usr/sbin, or "" when absent.
[[nodiscard]] std::string FindProgram(const std::string& name);

/// Writes ca.crt/ca.key and server.crt/server.key (P-256, signed by the CA, valid for
/// localhost, sip.example.test and 127.0.0.1) into `dir` with the openssl tool. False on failure.
[[nodiscard]] bool MakeTestCertificates(const std::string& dir);

}  // namespace portline::testing
