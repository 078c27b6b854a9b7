#include "support/server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;  // NOLINT(readability-identifier-naming)

namespace portline::testing {
namespace {

std::vector<std::string> MergedEnv(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    // The tests decide storage explicitly: never inherit a developer's PORTLINE_* settings.
    if (name.rfind("PORTLINE_", 0) == 0 && name != "PORTLINE_TEST_PG_DSN") {
      continue;
    }
    if (extra.count(name) == 0) {
      env.push_back(entry);
    }
  }
  for (const auto& [k, v] : extra) {
    env.push_back(k + "=" + v);
  }
  return env;
}

pid_t Spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            int out_fd, int err_fd, const std::string& stdin_path = {},
            std::optional<std::uint64_t> open_files = std::nullopt) {
  std::vector<std::string> argv_s;
  argv_s.push_back(PortlineBinary());
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  const auto env_s = MergedEnv(env);
  std::vector<char*> argv;
  for (const auto& a : argv_s) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env_s) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a test binary that crashed
    if (open_files) {
      const rlimit lim{*open_files, *open_files};
      setrlimit(RLIMIT_NOFILE, &lim);
    }
    const int in_fd = open(stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

std::string TempFile(const char* tag) {
  std::string tmpl = std::string("/tmp/portline-") + tag + "-XXXXXX";
  const int fd = mkstemp(tmpl.data());
  close(fd);
  return tmpl;
}

}  // namespace

std::string PortlineBinary() { return PORTLINE_BINARY_PATH; }

CommandResult RunPortline(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env,
                          const std::string& stdin_path) {
  const std::string out_path = TempFile("out");
  const std::string err_path = TempFile("err");
  const int out_fd = open(out_path.c_str(), O_WRONLY | O_TRUNC);
  const int err_fd = open(err_path.c_str(), O_WRONLY | O_TRUNC);
  const pid_t pid = Spawn(args, env, out_fd, err_fd, stdin_path);
  close(out_fd);
  close(err_fd);
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  std::ifstream o(out_path), e(err_path);
  std::stringstream so, se;
  so << o.rdbuf();
  se << e.rdbuf();
  r.out = so.str();
  r.err = se.str();
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return r;
}

ServerProcess::ServerProcess(std::vector<std::string> extra_args,
                             std::map<std::string, std::string> env,
                             std::optional<std::uint64_t> open_files) {
  int pipefd[2];
  if (pipe(pipefd) != 0) {
    return;
  }
  stderr_path_ = TempFile("serve-err");
  const int err_fd = open(stderr_path_.c_str(), O_WRONLY | O_TRUNC);
  std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = Spawn(args, env, pipefd[1], err_fd, {}, open_files);
  close(pipefd[1]);
  close(err_fd);
  // Wait (bounded) for "portline listening on http://127.0.0.1:PORT" (SIP listeners come first).
  static constexpr std::string_view kReady = "portline listening on http://";
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto ready = [&out] {
    const auto at = out.find(kReady);
    return at != std::string::npos && out.find('\n', at) != std::string::npos;
  };
  while (std::chrono::steady_clock::now() < deadline && !ready()) {
    pollfd p{pipefd[0], POLLIN, 0};
    if (poll(&p, 1, 200) > 0) {
      char buf[512];
      const auto n = read(pipefd[0], buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  close(pipefd[0]);
  if (ready()) {
    const std::string line = out.substr(out.find(kReady), out.find('\n', out.find(kReady)));
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (!stderr_path_.empty()) {
    unlink(stderr_path_.c_str());
  }
}

void ServerProcess::Signal(int signo) const { kill(pid_, signo); }

std::optional<int> ServerProcess::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

std::string ServerProcess::stderr_text() const {
  std::ifstream in(stderr_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace portline::testing
