#include "numbering/nanp.hpp"

#include <algorithm>

#include "numbering/nanp_tables.hpp"

namespace portline::numbering {
namespace {

tl::unexpected<Error> Bad(std::string code, std::string message) {
  return FailCode(Errc::kInvalidArgument, std::move(code), std::move(message));
}

template <typename T>
const T* Find(const std::uint32_t* keys, std::size_t n, std::uint32_t key, const T* values) {
  const auto* end = keys + n;
  const auto* it = std::lower_bound(keys, end, key);
  return it != end && *it == key ? values + (it - keys) : nullptr;
}

}  // namespace

std::string_view TypeName(NumberType t) {
  switch (t) {
    case NumberType::kGeographic:
      return "geographic";
    case NumberType::kTollFree:
      return "toll-free";
    case NumberType::kPremium:
      return "premium";
    case NumberType::kPersonal:
      return "personal";
    case NumberType::kN11:
      return "n11";
    case NumberType::kInvalid:
      return "invalid";
  }
  return "invalid";
}

std::string NanpNumber::E164() const {
  std::string out = "+1";
  out += std::to_string(national());
  return out;
}

std::string_view NumberingDataVersion() { return tables::kPhonenumbersVersion; }

Result<NanpNumber> ParseNanp(std::string_view input) {
  if (input.size() > 40) {
    return Bad("INVALID_NUMBER", "phone number is too long");
  }
  std::string digits;
  bool plus = false;
  for (std::size_t i = 0; i < input.size(); ++i) {
    const char c = input[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return Bad("INVALID_NUMBER", "phone number contains '" + std::string(1, c) +
                                       "'; use digits, optionally with a leading +");
    }
  }
  if (digits.empty()) {
    return Bad("INVALID_NUMBER", "phone number has no digits");
  }
  if (plus && digits[0] != '1') {
    return Bad("UNSUPPORTED_COUNTRY",
               "only North American (+1) numbers can be checked; got country code starting +" +
                   digits.substr(0, 3));
  }
  if (digits.size() == 11 && digits[0] == '1') {
    digits.erase(0, 1);
  } else if (plus || digits.size() != 10) {
    return Bad("INVALID_NUMBER", "a North American number has 10 digits after +1 (got " +
                                     std::to_string(plus ? digits.size() - 1 : digits.size()) +
                                     ")");
  }
  NanpNumber n;
  n.npa = std::stoi(digits.substr(0, 3));
  n.nxx = std::stoi(digits.substr(3, 3));
  n.line = std::stoi(digits.substr(6, 4));
  if (n.npa < 200) {
    return Bad("INVALID_NUMBER", "area code " + digits.substr(0, 3) + " cannot start with 0 or 1");
  }
  if (n.nxx < 200) {
    return Bad("INVALID_NUMBER", "exchange " + digits.substr(3, 3) + " cannot start with 0 or 1");
  }
  if (const std::uint8_t r = tables::kNpaRegion[n.npa]; r != 255) {
    n.region = tables::kRegions[r];
  }
  if (const std::int32_t s = tables::kNpaName[n.npa]; s >= 0) {
    n.state = tables::kNames[s];
  }
  if (n.npa % 100 == 11 || n.nxx % 100 == 11) {
    n.type = NumberType::kN11;
    return n;
  }
  const std::uint32_t p = n.prefix();
  if (n.region.empty() || ((tables::kValidPrefix[p / 64] >> (p % 64)) & 1U) == 0) {
    n.type = NumberType::kInvalid;
    return n;
  }
  n.type = NumberType::kGeographic;
  if (const auto* t =
          Find(tables::kTypedPrefix, tables::kTypedPrefixCount, p, tables::kTypedPrefixType)) {
    n.type =
        *t == 1 ? NumberType::kTollFree : (*t == 2 ? NumberType::kPremium : NumberType::kPersonal);
  }
  if (const auto* c = Find(tables::kCityPrefix, tables::kCityCount, p, tables::kCityName)) {
    n.city = tables::kNames[*c];
  }
  return n;
}

}  // namespace portline::numbering
