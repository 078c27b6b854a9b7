// The physical floor for `make bench`: a trivial single-threaded epoll HTTP/1.1 keep-alive
// server that answers every request with /healthz's 15-byte JSON body. Nothing real can beat it on
// the same core; Portline's numbers are reported as a ratio to it, measured in the same run.
// Usage: epoll_floor PORT
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: epoll_floor PORT\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 1024) != 0) {
    std::perror("bind/listen");
    return 1;
  }
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  // The same body /healthz sends, so the two are compared byte for byte.
  static const std::string kBody = R"({"status":"ok"})";
  static const std::string kResponse =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
  std::unordered_map<int, std::string> pending;
  epoll_event events[256];
  char buf[16384];
  for (;;) {
    const int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          const int c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
          if (c < 0) {
            break;
          }
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      const ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0) {
        pending.erase(fd);
        close(fd);
        continue;
      }
      std::string& in = pending[fd];
      in.append(buf, static_cast<std::size_t>(r));
      std::string out;
      std::size_t pos = 0;
      while ((pos = in.find("\r\n\r\n")) != std::string::npos) {
        in.erase(0, pos + 4);
        out += kResponse;
      }
      if (!out.empty() && write(fd, out.data(), out.size()) < 0) {
        pending.erase(fd);
        close(fd);
      }
    }
  }
}
