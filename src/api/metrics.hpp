#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace portline::api {

/// Process metrics in Prometheus text format. Thread-safe.
class Metrics {
 public:
  static constexpr std::array<double, 14> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  /// One finished HTTP request. `route` is the matched pattern ("" = unmatched).
  void ObserveRequest(std::string_view method, std::string_view route, int status, double seconds);
  /// Named counters for error paths ("http_parse_error", "slow_client_timeout"…).
  void Increment(std::string_view counter, std::string_view reason);
  void ConnectionOpened() { connections_.fetch_add(1, std::memory_order_relaxed); }
  void ConnectionClosed() { connections_.fetch_sub(1, std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t open_connections() const { return connections_.load(); }
  /// A value another component owns (the SIP engine's connection counts), published as
  /// portline_<name>: a counter when the name ends in _total, else a gauge.
  void Publish(std::string_view name, std::string_view help, std::int64_t value);

  [[nodiscard]] std::string Render() const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;  // by route
  std::map<std::pair<std::string, std::string>, std::uint64_t> counters_;
  std::atomic<std::int64_t> connections_{0};
  std::map<std::string, std::pair<std::string, std::int64_t>> published_;  // name → help, value
};

}  // namespace portline::api
