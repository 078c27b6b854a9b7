#include "net/resolve.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <cstring>

namespace portline::net {
namespace {

struct Library {
  Library() { ares_library_init(ARES_LIB_INIT_ALL); }
  ~Library() { ares_library_cleanup(); }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
};

struct Lookup {
  bool done = false;
  int status = ARES_SUCCESS;
  std::vector<ResolvedAddress> addresses;
};

void OnAddrInfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
  auto* lookup = static_cast<Lookup*>(arg);
  lookup->done = true;
  lookup->status = status;
  if (status != ARES_SUCCESS || result == nullptr) {
    ares_freeaddrinfo(result);
    return;
  }
  for (const ares_addrinfo_node* n = result->nodes; n != nullptr; n = n->ai_next) {
    if ((n->ai_family != AF_INET && n->ai_family != AF_INET6) ||
        n->ai_addrlen > sizeof(sockaddr_storage)) {
      continue;
    }
    ResolvedAddress a;
    std::memcpy(&a.addr, n->ai_addr, n->ai_addrlen);
    a.length = static_cast<socklen_t>(n->ai_addrlen);
    a.family = n->ai_family;
    char text[INET6_ADDRSTRLEN] = {};
    const void* src =
        n->ai_family == AF_INET6
            ? static_cast<const void*>(
                  &reinterpret_cast<const sockaddr_in6*>(n->ai_addr)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(n->ai_addr)->sin_addr);
    inet_ntop(n->ai_family, src, text, sizeof(text));
    a.text = text;
    lookup->addresses.push_back(std::move(a));
  }
  ares_freeaddrinfo(result);
}

// An IP literal needs no lookup.
bool Literal(const std::string& host, std::uint16_t port, ResolvedAddress& out) {
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET, h.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    std::memcpy(&out.addr, &v4, sizeof(v4));
    out.length = sizeof(v4);
    out.family = AF_INET;
  } else if (inet_pton(AF_INET6, h.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    std::memcpy(&out.addr, &v6, sizeof(v6));
    out.length = sizeof(v6);
    out.family = AF_INET6;
  } else {
    return false;
  }
  out.text = h;
  return true;
}

}  // namespace

Result<std::vector<ResolvedAddress>> Resolve(const std::string& host, std::uint16_t port,
                                             std::chrono::steady_clock::time_point deadline,
                                             const std::vector<std::string>& servers) {
  if (ResolvedAddress literal; Literal(host, port, literal)) {
    return std::vector<ResolvedAddress>{std::move(literal)};
  }
  if (host.empty() || host.size() > 253 || host.find('\0') != std::string::npos) {
    return Fail(Errc::kInvalidArgument, "'" + host + "' is not a host name");
  }
  static Library library;
  ares_channel channel = nullptr;
  ares_options opts{};
  // c-ares retries on its own schedule; the deadline below is what bounds the lookup.
  opts.timeout = 1000;
  opts.tries = 3;
  if (ares_init_options(&channel, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
    return Fail(Errc::kInternal, "cannot initialise the DNS resolver");
  }
  struct Destroy {
    ares_channel c;
    ~Destroy() { ares_destroy(c); }  // cancels what is pending (the callback runs first)
  };
  if (!servers.empty()) {
    std::string csv;
    for (const std::string& s : servers) {
      csv += (csv.empty() ? "" : ",") + s;
    }
    if (ares_set_servers_ports_csv(channel, csv.c_str()) != ARES_SUCCESS) {
      ares_destroy(channel);
      return Fail(Errc::kInvalidArgument, "invalid DNS server list '" + csv + "'");
    }
  }
  Lookup lookup;
  {
    const Destroy destroy{channel};
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    const std::string service = std::to_string(port);
    ares_getaddrinfo(channel, host.c_str(), service.c_str(), &hints, &OnAddrInfo, &lookup);
    while (!lookup.done) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        break;
      }
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      const int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
      std::vector<pollfd> fds;
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short events = 0;
        events = static_cast<short>(events | (ARES_GETSOCK_READABLE(bits, i) ? POLLIN : 0));
        events = static_cast<short>(events | (ARES_GETSOCK_WRITABLE(bits, i) ? POLLOUT : 0));
        if (events != 0) {
          fds.push_back(pollfd{socks[i], events, 0});
        }
      }
      // Wake for c-ares's own retry timer or our deadline, whichever comes first.
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
      timeval max_tv{static_cast<time_t>(left / 1000),
                     static_cast<suseconds_t>(left % 1000) * 1000};
      timeval tv{};
      const timeval* t = ares_timeout(channel, &max_tv, &tv);
      const int wait_ms = static_cast<int>(t->tv_sec * 1000 + t->tv_usec / 1000);
      const int ready = ::poll(fds.data(), fds.size(), std::max(wait_ms, 1));
      if (ready <= 0) {
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
        continue;
      }
      for (const pollfd& p : fds) {
        const bool readable = (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
        const bool writable = (p.revents & POLLOUT) != 0;
        if (readable || writable) {
          ares_process_fd(channel, readable ? p.fd : ARES_SOCKET_BAD,
                          writable ? p.fd : ARES_SOCKET_BAD);
        }
      }
    }
  }  // the channel is destroyed: a lookup still running is cancelled and its callback has run
  if (!lookup.done || lookup.status == ARES_ECANCELLED || lookup.status == ARES_EDESTRUCTION) {
    return Fail(Errc::kDeadlineExceeded, "looking up " + host + " timed out");
  }
  if (lookup.status != ARES_SUCCESS || lookup.addresses.empty()) {
    return Fail(Errc::kUnavailable,
                "cannot resolve " + host + ": " +
                    (lookup.status == ARES_SUCCESS ? std::string("no address")
                                                   : std::string(ares_strerror(lookup.status))));
  }
  return std::move(lookup.addresses);
}

}  // namespace portline::net
