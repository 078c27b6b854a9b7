#include "support/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace portline::testing {

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::string& log_dir,
                           const std::string& name)
    : out_path_(log_dir + "/" + name + ".log") {
  const int fd = ::open(out_path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    std::vector<char*> args;
    for (std::string& a : argv) {
      args.push_back(a.data());
    }
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fd);
}

ChildProcess::~ChildProcess() { Kill(); }

void ChildProcess::Kill() {
  if (pid_ > 0 && !exited_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    exited_ = true;
  }
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!exited_) {
    const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= end) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : -WTERMSIG(status_);
}

std::string ChildProcess::Output() const {
  std::ifstream in(out_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::uint16_t FreePort() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int t = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(t, reinterpret_cast<sockaddr*>(&a), &len);
    const int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    const bool udp_free = ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(u);
    ::close(t);
    if (udp_free) {
      return ntohs(a.sin_port);
    }
  }
  return 0;
}

int ListenTcp(const char* address, std::uint16_t& port, int backlog) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  socklen_t len = sizeof(a);
  if (::inet_pton(AF_INET, address, &a.sin_addr) != 1 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 || ::listen(fd, backlog) != 0) {
    ::close(fd);
    return -1;
  }
  port = ntohs(a.sin_port);
  return fd;
}

int ConnectTcpFrom(const std::string& source, std::uint16_t port, int receive_buffer) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (receive_buffer > 0) {
    ::setsockopt(s, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  sockaddr_in from{};
  from.sin_family = AF_INET;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 ||
      ::bind(s, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
      ::connect(s, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    ::close(s);
    return -1;
  }
  return s;
}

bool WaitForListener(bool udp, std::uint16_t port, std::chrono::milliseconds timeout) {
  // Lines read "sl local_address rem_address st …", addresses as HEXIP:HEXPORT; 127.0.0.1 is
  // 0100007F, a wildcard 00000000; state 0A is LISTEN (TCP), 07 a bound UDP socket.
  char want[16];
  std::snprintf(want, sizeof(want), ":%04X", port);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    std::ifstream in(udp ? "/proc/net/udp" : "/proc/net/tcp");
    for (std::string line; std::getline(in, line);) {
      std::istringstream fields(line);
      std::string sl, local, remote, state;
      fields >> sl >> local >> remote >> state;
      const bool ours =
          local == std::string("0100007F") + want || local == std::string("00000000") + want;
      if (ours && state == (udp ? "07" : "0A")) {
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

std::string KamailioModuleDir() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib", ec)) {
    const auto dir = entry.path() / "kamailio" / "modules";
    if (std::filesystem::exists(dir / "sl.so", ec)) {
      return dir.string() + "/";
    }
  }
  return std::filesystem::exists("/usr/lib/kamailio/modules/sl.so", ec)
             ? "/usr/lib/kamailio/modules/"
             : "";
}

std::string FindProgram(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"}) {
    const std::string p = std::string(dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) {
      return p;
    }
  }
  return {};
}

bool MakeTestCertificates(const std::string& dir) {
  const std::string script =
      "set -e; cd '" + dir +
      "'; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
      "-out ca.crt -days 2 -subj '/CN=Portline Test CA' 2>/dev/null;"
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key "
      "-out server.csr -subj '/CN=sip.example.test' 2>/dev/null;"
      "printf 'subjectAltName=DNS:localhost,DNS:sip.example.test,IP:127.0.0.1\\n' > ext.cnf;"
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out "
      "server.crt -days 2 -extfile ext.cnf 2>/dev/null";
  const std::vector<std::string> argv = {"/bin/bash", "-c", script};
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const std::string& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace portline::testing
