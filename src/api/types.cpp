#include "api/types.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>

#include "api/json.hpp"

namespace portline::api {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::string_view> Request::HeaderValue(std::string_view name) const {
  for (const auto& h : headers) {
    if (IEquals(h.name, name)) {
      return std::string_view(h.value);
    }
  }
  return std::nullopt;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [k, v] : query) {
    if (k == name) {
      out = v;
    }
  }
  return out;
}

std::vector<std::string> Request::QueryAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query) {
    if (k == name) {
      out.push_back(v);
    }
  }
  return out;
}

const std::string& Request::PathParam(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [k, v] : path_params) {
    if (k == name) {
      return v;
    }
  }
  return kEmpty;
}

std::string LoggablePath(std::string_view path) {
  constexpr std::string_view kSign = "/sign/";
  if (!path.starts_with(kSign)) {
    return std::string(path);
  }
  const auto end = path.find('/', kSign.size());
  return std::string(kSign) + "[token]" +
         std::string(end == std::string_view::npos ? "" : path.substr(end));
}

Result<void> ParseTarget(std::string_view target, Request& req) {
  // Clients send "phone_numbers[]=…" with raw brackets (and a few other characters RFC 3986
  // reserves); accept them in the query by percent-encoding before the strict parse.
  std::string lenient;
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    lenient.reserve(target.size() + 16);
    lenient.append(target.substr(0, q + 1));
    for (char c : target.substr(q + 1)) {
      static constexpr std::string_view kLoose = "[]{}|^`\"<>\\";
      if (kLoose.find(c) != std::string_view::npos) {
        static constexpr char kHex[] = "0123456789ABCDEF";
        lenient.push_back('%');
        lenient.push_back(kHex[static_cast<unsigned char>(c) >> 4U]);
        lenient.push_back(kHex[static_cast<unsigned char>(c) & 0xFU]);
      } else {
        lenient.push_back(c);
      }
    }
    target = lenient;
  }
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) {
    return FailCode(Errc::kInvalidArgument, "INVALID_REQUEST_TARGET",
                    "the request target is not a valid path: " + parsed.error().message());
  }
  req.path = parsed->path();
  if (!IsValidUtf8(req.path) || req.path.find('\0') != std::string::npos) {
    return FailCode(Errc::kInvalidArgument, "INVALID_REQUEST_TARGET",
                    "the request path is not valid UTF-8");
  }
  req.query.clear();
  for (auto param : parsed->params()) {
    std::string key = param.key;
    std::string value = param.has_value ? std::string(param.value) : std::string();
    if (!IsValidUtf8(key) || !IsValidUtf8(value)) {
      return FailCode(Errc::kInvalidArgument, "INVALID_QUERY",
                      "query parameters must be valid UTF-8", key);
    }
    // Neither backend stores text with NUL (PostgreSQL refuses it, SQLite cuts it): refused
    // here, as in JSON bodies, rather than failing deeper.
    if (key.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      return FailCode(Errc::kInvalidArgument, "INVALID_QUERY",
                      "query parameters must not contain NUL (%00)", key);
    }
    req.query.emplace_back(std::move(key), std::move(value));
  }
  return {};
}

bool IsValidIdempotencyKey(std::string_view key) {
  return !key.empty() && key.size() <= 255 &&
         std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7E; });
}

}  // namespace portline::api
