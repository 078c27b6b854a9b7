#include "api/metrics.hpp"

#include <cstdio>

namespace portline::api {
namespace {
std::string Label(std::string_view route) {
  std::string out;
  for (char c : route.empty() ? std::string_view("unmatched") : route) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c == '\n' ? ' ' : c);
  }
  return out;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
}  // namespace

void Metrics::ObserveRequest(std::string_view method, std::string_view route, int status,
                             double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(method), std::string(route), status}];
  auto& h = latency_[std::string(route)];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++h.buckets[i];
    }
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::Increment(std::string_view counter, std::string_view reason) {
  std::lock_guard lock(mutex_);
  ++counters_[{std::string(counter), std::string(reason)}];
}

void Metrics::Publish(std::string_view name, std::string_view help, std::int64_t value) {
  std::lock_guard lock(mutex_);
  published_[std::string(name)] = {std::string(help), value};
}

std::string Metrics::Render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  out += "# HELP portline_http_requests_total HTTP requests by method, route and status.\n";
  out += "# TYPE portline_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [method, route, status] = key;
    out += "portline_http_requests_total{method=\"" + Label(method) + "\",route=\"" + Label(route) +
           "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP portline_http_request_duration_seconds HTTP request latency by route.\n";
  out += "# TYPE portline_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    const std::string l = Label(route);
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      out += "portline_http_request_duration_seconds_bucket{route=\"" + l + "\",le=\"" +
             Num(kBuckets[i]) + "\"} " + std::to_string(h.buckets[i]) + "\n";
    }
    out += "portline_http_request_duration_seconds_bucket{route=\"" + l + "\",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    out += "portline_http_request_duration_seconds_sum{route=\"" + l + "\"} " + Num(h.sum) + "\n";
    out += "portline_http_request_duration_seconds_count{route=\"" + l + "\"} " +
           std::to_string(h.count) + "\n";
  }
  out += "# HELP portline_http_connections_open Open HTTP connections.\n";
  out += "# TYPE portline_http_connections_open gauge\n";
  out += "portline_http_connections_open " + std::to_string(connections_.load()) + "\n";
  out += "# HELP portline_errors_total Non-fatal error paths by kind and reason.\n";
  out += "# TYPE portline_errors_total counter\n";
  for (const auto& [key, n] : counters_) {
    out += "portline_errors_total{kind=\"" + Label(key.first) + "\",reason=\"" + Label(key.second) +
           "\"} " + std::to_string(n) + "\n";
  }
  for (const auto& [name, entry] : published_) {
    const bool counter = name.ends_with("_total");
    out += "# HELP portline_" + name + " " + entry.first + "\n";
    out += "# TYPE portline_" + name + (counter ? " counter\n" : " gauge\n");
    out += "portline_" + name + " " + std::to_string(entry.second) + "\n";
  }
  return out;
}

}  // namespace portline::api
