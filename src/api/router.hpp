#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.hpp"
#include "core/error.hpp"

namespace portline::api {

using Handler = std::function<Result<Response>(Request&)>;

struct Route {
  std::string method;
  std::string pattern;  // "/v1/api-keys/{key_id}"
  Handler handler;
  bool inline_ok = false;  // never blocks (no storage): may run on the network thread
  std::vector<std::string> segments;
  std::string body_type = "application/json";  // the media type its request body must have
};

/// Maps (method, path) to a handler. Immutable after start-up, so lookups are thread-safe.
class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler, bool inline_ok = false);
  /// A route whose body is an HTML form (application/x-www-form-urlencoded), not JSON.
  void AddForm(std::string method, std::string pattern, Handler handler);
  /// A route whose body has another media type (e.g. multipart/form-data).
  void AddWithBody(std::string method, std::string pattern, Handler handler, std::string body_type);

  struct Match {
    const Route* route = nullptr;      // set when method and path match
    std::vector<std::string> allowed;  // methods for this path when only the path matches
  };
  /// Finds the route; fills `params` with the path parameters of the match.
  [[nodiscard]] Match Find(std::string_view method, std::string_view path,
                           std::vector<std::pair<std::string, std::string>>& params) const;
  [[nodiscard]] const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace portline::api
