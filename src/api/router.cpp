#include "api/router.hpp"

#include <algorithm>
#include <cstdint>

namespace portline::api {
namespace {
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const auto slash = path.find('/', pos);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    if (end > pos) {
      out.push_back(path.substr(pos, end - pos));
    }
    if (slash == std::string_view::npos) {
      break;
    }
    pos = slash + 1;
  }
  return out;
}

bool IsParam(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}
}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler, bool inline_ok) {
  Route r{std::move(method), std::move(pattern), std::move(handler), inline_ok, {}};
  for (auto seg : Split(r.pattern)) {
    r.segments.emplace_back(seg);
  }
  routes_.push_back(std::move(r));
}

void Router::AddWithBody(std::string method, std::string pattern, Handler handler,
                         std::string body_type) {
  Add(std::move(method), std::move(pattern), std::move(handler));
  routes_.back().body_type = std::move(body_type);
}

void Router::AddForm(std::string method, std::string pattern, Handler handler) {
  Add(std::move(method), std::move(pattern), std::move(handler));
  routes_.back().body_type = "application/x-www-form-urlencoded";
}

Router::Match Router::Find(std::string_view method, std::string_view path,
                           std::vector<std::pair<std::string, std::string>>& params) const {
  Match m;
  if (path.size() > 1 && path.back() == '/') {
    return m;  // "/v1/api-keys/" is not "/v1/api-keys": no silent aliases
  }
  const auto segs = Split(path);
  // The most specific route wins: literal segments beat parameters ("/v1/sip/port/documents"
  // over "/v1/sip/port/{id}"), whatever the registration order.
  std::size_t best_params = SIZE_MAX;
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) {
      continue;
    }
    std::vector<std::pair<std::string, std::string>> found;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      if (IsParam(r.segments[i])) {
        found.emplace_back(r.segments[i].substr(1, r.segments[i].size() - 2), segs[i]);
      } else {
        ok = r.segments[i] == segs[i];
      }
    }
    if (!ok) {
      continue;
    }
    if (r.method == method) {
      if (found.size() < best_params) {
        best_params = found.size();
        m.route = &r;
        params = std::move(found);
      }
      continue;
    }
    if (std::find(m.allowed.begin(), m.allowed.end(), r.method) == m.allowed.end()) {
      m.allowed.push_back(r.method);
    }
  }
  if (m.route != nullptr) {
    m.allowed.clear();
  }
  return m;
}

}  // namespace portline::api
