#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "accounts/accounts.hpp"

namespace portline::api {

struct Header {
  std::string name;
  std::string value;
};

/// An HTTP request as handlers see it: no Beast types. Built by the HTTP shell.
struct Request {
  std::string method;                                      // "GET", "POST"…
  std::string target;                                      // raw request-target
  std::string path;                                        // percent-decoded path
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::vector<Header> headers;
  std::string body;
  std::string request_id;
  std::string remote_addr;

  // Filled in while the request is routed.
  std::vector<std::pair<std::string, std::string>> path_params;
  std::optional<accounts::Principal> principal;

  /// First header with this name (case-insensitive).
  [[nodiscard]] std::optional<std::string_view> HeaderValue(std::string_view name) const;
  /// Last value of a query parameter; nullopt if absent.
  [[nodiscard]] std::optional<std::string> Query(std::string_view name) const;
  /// Every value of a query parameter, in order (e.g. repeated phone_numbers[]).
  [[nodiscard]] std::vector<std::string> QueryAll(std::string_view name) const;
  [[nodiscard]] const std::string& PathParam(std::string_view name) const;
  /// The caller's organization (routes behind authentication only).
  [[nodiscard]] const std::string& OrgId() const { return principal->org_id; }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<Header> headers;
  std::string route;   // matched route pattern for metrics and logs; "" when unmatched
  std::string org_id;  // for logs
  /// For idempotent replays: the body to store instead of `body` (e.g. without a one-time
  /// secret). Empty means store `body`.
  std::optional<std::string> body_for_replay;
  bool close_connection = false;
};

[[nodiscard]] bool IEquals(std::string_view a, std::string_view b);

/// A path as logs may show it: the credential in a signing link (/sign/<token>…) is replaced
/// by "[token]".
[[nodiscard]] std::string LoggablePath(std::string_view path);

/// Splits a request-target into decoded path and query parameters. kInvalidArgument when the
/// target is not a valid origin-form or contains invalid percent-encoding/UTF-8.
[[nodiscard]] Result<void> ParseTarget(std::string_view target, Request& req);

/// A valid Idempotency-Key is 1–255 printable ASCII characters.
[[nodiscard]] bool IsValidIdempotencyKey(std::string_view key);

}  // namespace portline::api
