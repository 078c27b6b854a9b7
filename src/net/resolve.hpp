#pragma once

// Blocking name lookup with a deadline, for the worker-thread clients (webhooks, SMTP): c-ares
// instead of getaddrinfo, which can block for as long as the system resolver likes.

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace portline::net {

struct ResolvedAddress {
  sockaddr_storage addr{};
  socklen_t length = 0;
  int family = 0;    // AF_INET or AF_INET6
  std::string text;  // "192.0.2.1", "2001:db8::1"
};

/// The addresses of `host` (a name, or an IP literal returned as is) with `port` filled in,
/// IPv4 and IPv6, in the resolver's order. Names come from /etc/hosts, then DNS (the system
/// configuration, or `servers` as "host:port" entries). Errors: kDeadlineExceeded when the
/// lookup outlives `deadline`, kUnavailable when the name does not resolve.
[[nodiscard]] Result<std::vector<ResolvedAddress>> Resolve(
    const std::string& host, std::uint16_t port, std::chrono::steady_clock::time_point deadline,
    const std::vector<std::string>& servers = {});

}  // namespace portline::net
