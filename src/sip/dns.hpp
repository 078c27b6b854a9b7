#pragma once

// RFC 3263 server location: NAPTR → SRV → A/AAAA, with RFC 2782 priority/weight ordering.
// The ordering rules are pure functions; the lookups go through DnsClient (c-ares in production,
// a table in unit tests).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "sip/uri.hpp"

namespace portline::sip {

enum class Transport : std::uint8_t { kUdp, kTcp, kTls };
[[nodiscard]] std::string_view TransportName(Transport t) noexcept;  // "udp", "tcp", "tls"
[[nodiscard]] std::optional<Transport> TransportFrom(std::string_view name) noexcept;

struct NaptrRecord {
  std::uint16_t order = 0;
  std::uint16_t preference = 0;
  std::string flags;
  std::string service;  // "SIP+D2U", "SIP+D2T", "SIPS+D2T"
  std::string replacement;
};

struct SrvRecord {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;
};

/// DNS lookups. Must be used from one executor (thread); results are complete answers.
class DnsClient {
 public:
  virtual ~DnsClient() = default;
  virtual boost::asio::awaitable<Result<std::vector<NaptrRecord>>> Naptr(std::string name) = 0;
  virtual boost::asio::awaitable<Result<std::vector<SrvRecord>>> Srv(std::string name) = 0;
  /// A and AAAA addresses as text.
  virtual boost::asio::awaitable<Result<std::vector<std::string>>> Address(std::string name) = 0;
};

/// c-ares on the given executor. `servers` is "host:port" entries ("127.0.0.1:5353"); empty
/// means the system resolver configuration. Every query times out after `timeout`.
[[nodiscard]] Result<std::unique_ptr<DnsClient>> MakeAresClient(
    boost::asio::any_io_executor executor, const std::vector<std::string>& servers,
    std::chrono::milliseconds timeout);

/// One place to try, in order.
struct Target {
  Transport transport = Transport::kUdp;
  std::string address;  // IP literal
  std::uint16_t port = 5060;
  std::string host;  // the name it came from, for TLS SNI and verification
};

/// Every DNS step taken, for discovery and `sip options -v`.
struct LocateTrace {
  std::vector<std::string> steps;
};

/// RFC 3263 §4: the ordered targets for a SIP/SIPS URI. `forced` is a transport the caller
/// insists on (e.g. `--transport tcp`), like a `transport=` parameter.
[[nodiscard]] boost::asio::awaitable<Result<std::vector<Target>>> Locate(
    DnsClient& dns, const Uri& uri, std::optional<Transport> forced, LocateTrace* trace = nullptr);

/// RFC 2782 ordering: by priority, and within a priority a weighted random order (`random`
/// returns a number in [0, bound]).
[[nodiscard]] std::vector<SrvRecord> OrderSrv(
    std::vector<SrvRecord> records, const std::function<std::uint32_t(std::uint32_t)>& random);
/// RFC 3403 ordering of SIP NAPTR records usable by us (known services, "s" flag), by order then
/// preference; `sips_only` keeps SIPS+D2T.
[[nodiscard]] std::vector<NaptrRecord> OrderNaptr(std::vector<NaptrRecord> records, bool sips_only);

}  // namespace portline::sip
