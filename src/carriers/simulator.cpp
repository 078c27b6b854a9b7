// The simulated carrier network: carriers that check orders against subscriber accounts and
// answer the way real losing carriers do (JCode rejections, FOC after their interval).
#include "carriers/simulator.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <set>

#include "core/crypto.hpp"
#include "core/json_util.hpp"
#include "numbering/nanp.hpp"
#include "numbering/timezone.hpp"

namespace portline::carriers {
namespace json = boost::json;
namespace {

// Letters and digits only, lower case, with common street abbreviations expanded: carriers
// compare addresses loosely but they do compare them.
std::string Canonical(std::string_view s) {
  std::string out;
  std::string word;
  auto flush = [&] {
    static const std::pair<std::string_view, std::string_view> kAbbrev[] = {
        {"st", "street"}, {"ave", "avenue"}, {"rd", "road"},   {"blvd", "boulevard"},
        {"dr", "drive"},  {"ln", "lane"},    {"ste", "suite"}, {"n", "north"},
        {"s", "south"},   {"e", "east"},     {"w", "west"},    {"hwy", "highway"}};
    for (const auto& [a, full] : kAbbrev) {
      if (word == a) {
        word = full;
      }
    }
    out += word;
    word.clear();
  };
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0) {
      word.push_back(static_cast<char>(std::tolower(c)));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

std::string ZipBase(std::string_view zip) {
  std::string out;
  for (char c : zip) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
  }
  return out.substr(0, 5 + (out.size() == 6 ? 1 : 0));  // US ZIP (5 of ZIP+4) or CA (6)
}

TimePoint NextResponse(const numbering::Carrier& carrier, TimePoint now) {
  if (carrier.kind == numbering::CarrierKind::kWireless) {
    return now + std::chrono::hours(1);  // wireless carriers answer within the hour
  }
  // Wireline and VoIP carriers work business days: the answer comes at 10:00 Eastern on the
  // next business day.
  const auto* et = numbering::FindTimeZone("America/New_York");
  const auto local = numbering::UtcToLocal(*et, now);
  const auto country =
      carrier.spid.starts_with("S4") ? numbering::Country::kCa : numbering::Country::kUs;
  const auto day = numbering::AddBusinessDays(local.date, 1, country);
  return numbering::LocalToUtc(*et, day, 10 * 60);
}

std::string Str(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string Last4(const std::string& s) { return s.substr(s.size() > 4 ? s.size() - 4 : 0); }

}  // namespace

namespace {
// What is stored: the public view plus the hashed secrets.
std::string Stored(const SimAccount& acc) {
  json::object full = acc.ToJson();
  full["account_number_sha256"] = acc.account_number_sha256;
  full["pin_sha256"] = acc.pin_sha256;
  return json::serialize(full);
}
}  // namespace

json::object SimAccount::ToJson() const {
  json::array numbers;
  for (const auto& n : phone_numbers) {
    numbers.emplace_back(n);
  }
  return json::object{
      {"id", id},
      {"customer_type", customer_type},
      {"business_name", business_name},
      {"first_name", first_name},
      {"last_name", last_name},
      {"account_number_last4", account_number_last4},
      {"pin_set", !pin_sha256.empty()},
      {"address", json::object{{"street", street}, {"city", city}, {"state", state}, {"zip", zip}}},
      {"billing_number", billing_number},
      {"phone_numbers", std::move(numbers)},
      {"port_freeze", port_freeze},
      {"pending_order", pending_order}};
}

Result<SimAccount> ParseSimAccount(const json::object& body) {
  FieldErrors errors;
  errors.RejectUnknown(
      body, {"customer_type", "business_name", "first_name", "last_name", "account_number", "pin",
             "address", "billing_number", "phone_numbers", "port_freeze", "pending_order"});
  SimAccount a;
  a.customer_type = errors.OptString(body, "customer_type", 20).value_or("business");
  if (a.customer_type != "business" && a.customer_type != "personal") {
    errors.Add("customer_type", "INVALID_VALUE", "customer_type must be business or personal");
  }
  a.business_name = errors.OptString(body, "business_name", 200).value_or("");
  a.first_name = errors.OptString(body, "first_name", 100).value_or("");
  a.last_name = errors.OptString(body, "last_name", 100).value_or("");
  if (a.customer_type == "business" && a.business_name.empty()) {
    errors.Add("business_name", "REQUIRED", "business_name is required for a business account");
  }
  if (a.customer_type == "personal" && a.last_name.empty()) {
    errors.Add("last_name", "REQUIRED", "last_name is required for a personal account");
  }
  const auto account = errors.String(body, "account_number", 50);
  if (account) {
    a.account_number_sha256 = Sha256Hex(*account);
    a.account_number_last4 = Last4(*account);
  }
  if (auto pin = errors.OptString(body, "pin", 20); pin && !pin->empty()) {
    a.pin_sha256 = Sha256Hex(*pin);
  }
  if (const auto* addr = errors.OptObject(body, "address")) {
    errors.RejectUnknown(*addr, {"street", "city", "state", "zip"}, "address");
    a.street = errors.String(*addr, "street", 200, "address").value_or("");
    a.city = errors.String(*addr, "city", 100, "address").value_or("");
    a.state = errors.String(*addr, "state", 2, "address").value_or("");
    a.zip = errors.String(*addr, "zip", 10, "address").value_or("");
  } else if (!body.contains("address")) {
    errors.Add("address", "REQUIRED", "address is required");
  }
  std::set<std::string> seen;
  const auto* list = body.if_contains("phone_numbers");
  if (list == nullptr || !list->is_array() || list->get_array().empty() ||
      list->get_array().size() > 1000) {
    errors.Add("phone_numbers", "REQUIRED", "phone_numbers must list 1 to 1000 numbers");
  } else {
    std::size_t i = 0;
    for (const auto& v : list->get_array()) {
      const std::string field = "phone_numbers[" + std::to_string(i++) + "]";
      auto n =
          v.is_string() ? numbering::ParseNanp(v.get_string()) : Fail(Errc::kInvalidArgument, "");
      if (!n) {
        errors.Add(field, "INVALID_NUMBER", field + " must be a North American number");
      } else if (!seen.insert(n->E164()).second) {
        errors.Add(field, "DUPLICATE", field + " repeats " + n->E164());
      } else {
        a.phone_numbers.push_back(n->E164());
      }
    }
  }
  if (auto btn = errors.OptString(body, "billing_number", 20)) {
    auto n = numbering::ParseNanp(*btn);
    if (!n) {
      errors.Add("billing_number", "INVALID_NUMBER",
                 "billing_number must be a North American number");
    } else {
      a.billing_number = n->E164();
    }
  } else if (!a.phone_numbers.empty()) {
    a.billing_number = a.phone_numbers.front();
  }
  a.port_freeze = errors.OptBool(body, "port_freeze").value_or(false);
  a.pending_order = errors.OptBool(body, "pending_order").value_or(false);
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  return a;
}

Decision Evaluate(const CarrierOrder& order, const numbering::Carrier& carrier,
                  const std::map<std::string, SimAccount>& accounts_by_number, TimePoint now) {
  Decision d;
  d.respond_at = NextResponse(carrier, now);
  auto reject = [&d](std::string number, std::string code, std::string message) {
    d.rejects.push_back(Reject{std::move(number), std::move(code), std::move(message)});
  };
  std::set<std::string> in_order;
  for (const auto& l : order.lines) {
    in_order.insert(l.phone_number);
  }
  std::set<std::string> checked_accounts;
  for (const auto& line : order.lines) {
    const auto it = accounts_by_number.find(line.phone_number);
    if (it == accounts_by_number.end()) {
      continue;
    }
    const SimAccount& acc = it->second;
    const std::string& n = line.phone_number;
    if (acc.port_freeze) {
      reject(n, "E6d", "line is frozen: port protection is on for this account");
      continue;
    }
    if (acc.pending_order) {
      reject(n, "6M", "a conflicting port order is pending for this number");
      continue;
    }
    const std::string& account =
        line.account_number.empty() ? order.account_number : line.account_number;
    if (Sha256Hex(account) != acc.account_number_sha256) {
      reject(n, "8A", "account number does not match");
    }
    const std::string& pin = line.pin.empty() ? order.pin : line.pin;
    if (!acc.pin_sha256.empty() && Sha256Hex(pin) != acc.pin_sha256) {
      reject(n, "8C", "passcode/PIN invalid");
    }
    if (!checked_accounts.insert(acc.id).second) {
      continue;  // account-level checks once per account
    }
    if (acc.customer_type == "business") {
      if (Canonical(order.business_name) != Canonical(acc.business_name)) {
        reject({}, "8G", "business name does not match the account");
      }
    } else if (Canonical(order.last_name) != Canonical(acc.last_name) ||
               (!acc.first_name.empty() &&
                Canonical(order.first_name) != Canonical(acc.first_name))) {
      reject({}, "E10", "end user name does not match the account");
    }
    if (ZipBase(order.zip) != ZipBase(acc.zip)) {
      reject({}, "8D", "ZIP code does not match the service address");
    } else if (Canonical(order.street) != Canonical(acc.street)) {
      reject({}, "E1", "service address does not match");
    }
    // Porting the billing number while other lines stay behind needs a new billing number.
    bool remaining = false;
    for (const auto& other : acc.phone_numbers) {
      remaining = remaining || in_order.count(other) == 0;
    }
    if (remaining && in_order.count(acc.billing_number) > 0 && order.new_billing_number.empty()) {
      reject(acc.billing_number, "E6h",
             "billing number is porting while other lines remain: a new billing number is needed");
    }
  }
  if (!d.rejects.empty()) {
    return d;
  }
  d.accepted = true;
  const auto* et = numbering::FindTimeZone("America/New_York");
  const auto country =
      carrier.spid.starts_with("S4") ? numbering::Country::kCa : numbering::Country::kUs;
  const auto earliest = numbering::AddBusinessDays(numbering::UtcToLocal(*et, d.respond_at).date,
                                                   carrier.rules.foc_business_days, country);
  d.foc_date = std::chrono::sys_days(order.due_date) < std::chrono::sys_days(earliest)
                   ? earliest
                   : numbering::NextBusinessDay(order.due_date, country);
  return d;
}

const std::vector<std::pair<SimAccount, std::string>>& SimulatedNetwork::SeededAccounts() {
  // Deterministic accounts every organization can port from (documented in docs/api.md). The
  // second member is the clear account number and PIN, "ACCOUNT/PIN", for the documentation.
  static const std::vector<std::pair<SimAccount, std::string>> kSeeded = [] {
    std::vector<std::pair<SimAccount, std::string>> out;
    auto add = [&out](std::string id, std::string type, std::string business, std::string first,
                      std::string last, std::string account, std::string pin, std::string street,
                      std::string city, std::string state, std::string zip,
                      std::vector<std::string> numbers, bool freeze) {
      SimAccount a;
      a.id = std::move(id);
      a.customer_type = std::move(type);
      a.business_name = std::move(business);
      a.first_name = std::move(first);
      a.last_name = std::move(last);
      a.account_number_sha256 = Sha256Hex(account);
      a.account_number_last4 = Last4(account);
      a.pin_sha256 = pin.empty() ? "" : Sha256Hex(pin);
      a.street = std::move(street);
      a.city = std::move(city);
      a.state = std::move(state);
      a.zip = std::move(zip);
      a.phone_numbers = std::move(numbers);
      a.billing_number = a.phone_numbers.front();
      a.port_freeze = freeze;
      out.emplace_back(std::move(a), account + "/" + pin);
    };
    add("simacct_seed_acme", "business", "Acme Corp", "Jane", "Doe", "ACC-12345", "", "123 Main St",
        "San Francisco", "CA", "94105", {"+14155550100", "+14155550101", "+14155550102"}, false);
    add("simacct_seed_doe", "personal", "", "John", "Doe", "MOB-77881", "4321", "9 Elm Street",
        "Austin", "TX", "78701", {"+15125550110"}, false);
    add("simacct_seed_frozen", "business", "Frozen Foods LLC", "Ann", "Lee", "FRZ-40001", "",
        "1 Ice Rd", "Chicago", "IL", "60601", {"+13125550120"}, true);
    return out;
  }();
  return kSeeded;
}

Result<void> SimulatedNetwork::Seed() {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  const auto now = ToUnixMillis(clock_.Now());
  auto seed = [&](store::Connection& c) -> Result<void> {
    for (const auto& [acc, _] : SeededAccounts()) {
      PORTLINE_RETURN_IF_ERROR(c.Execute(
          "INSERT INTO sim_accounts (id, org_id, data, created_at) VALUES ($1, '', $2, $3) "
          "ON CONFLICT DO NOTHING",
          {acc.id, Stored(acc), now}));
      for (const auto& number : acc.phone_numbers) {
        PORTLINE_RETURN_IF_ERROR(
            c.Execute("INSERT INTO sim_account_numbers (org_id, phone_number, account_id) "
                      "VALUES ('', $1, $2) ON CONFLICT DO NOTHING",
                      {number, acc.id}));
      }
    }
    return {};
  };
  return store::WithTransaction(*lease, seed);
}

namespace {
SimAccount FromStored(const std::string& text) {
  SimAccount a;
  const auto v = json::parse(text);
  const auto& o = v.as_object();
  a.id = Str(o, "id");
  a.customer_type = Str(o, "customer_type");
  a.business_name = Str(o, "business_name");
  a.first_name = Str(o, "first_name");
  a.last_name = Str(o, "last_name");
  a.account_number_last4 = Str(o, "account_number_last4");
  a.account_number_sha256 = Str(o, "account_number_sha256");
  a.pin_sha256 = Str(o, "pin_sha256");
  const auto& addr = o.at("address").as_object();
  a.street = Str(addr, "street");
  a.city = Str(addr, "city");
  a.state = Str(addr, "state");
  a.zip = Str(addr, "zip");
  a.billing_number = Str(o, "billing_number");
  for (const auto& n : o.at("phone_numbers").as_array()) {
    a.phone_numbers.emplace_back(n.as_string());
  }
  a.port_freeze = o.at("port_freeze").as_bool();
  a.pending_order = o.at("pending_order").as_bool();
  return a;
}
}  // namespace

Result<json::value> SimulatedNetwork::CreateAccount(std::string_view org,
                                                    const json::object& body) {
  PORTLINE_ASSIGN_OR_RETURN(auto acc, ParseSimAccount(body));
  acc.id = NewId("simacct", clock_.Now());
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto create = [&](store::Connection& c) -> Result<json::value> {
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("INSERT INTO sim_accounts (id, org_id, data, created_at) VALUES ($1, $2, $3, $4)",
                  {acc.id, org, Stored(acc), ToUnixMillis(clock_.Now())}));
    for (const auto& number : acc.phone_numbers) {
      auto added = c.Execute(
          "INSERT INTO sim_account_numbers (org_id, phone_number, account_id) VALUES ($1, $2, $3)",
          {org, number, acc.id});
      if (!added && added.error().code == Errc::kConflict) {
        return FailCode(Errc::kConflict, "NUMBER_ON_ANOTHER_ACCOUNT",
                        number + " already belongs to another sandbox account", "phone_numbers");
      }
      PORTLINE_RETURN_IF_ERROR(added);
    }
    return json::value(acc.ToJson());
  };
  return store::WithTransaction(*lease, create);
}

Result<json::value> SimulatedNetwork::ListAccounts(std::string_view org) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows,
      lease->Query("SELECT data, org_id FROM sim_accounts WHERE org_id = $1 OR org_id = '' "
                   "ORDER BY org_id, id",
                   {org}));
  json::array out;
  for (const auto& r : rows) {
    json::object o = FromStored(r.Text(0)).ToJson();
    o["seeded"] = r.Text(1).empty();
    out.emplace_back(std::move(o));
  }
  return json::value(json::object{{"accounts", std::move(out)}});
}

Result<json::value> SimulatedNetwork::UpdateAccount(std::string_view org, std::string_view id,
                                                    const json::object& body) {
  FieldErrors errors;
  errors.RejectUnknown(body, {"port_freeze", "pending_order", "pin", "account_number"});
  const auto freeze = errors.OptBool(body, "port_freeze");
  const auto pending = errors.OptBool(body, "pending_order");
  const auto pin = errors.OptString(body, "pin", 20);
  const auto account = errors.OptString(body, "account_number", 50);
  if (account && account->empty()) {
    errors.Add("account_number", "INVALID_VALUE", "account_number must not be empty");
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto update = [&](store::Connection& c) -> Result<json::value> {
    PORTLINE_ASSIGN_OR_RETURN(auto rows,
                              c.Query("SELECT data, org_id FROM sim_accounts WHERE id = $1 AND "
                                      "(org_id = $2 OR org_id = '')",
                                      {id, org}));
    if (rows.empty()) {
      return FailCode(Errc::kNotFound, "NOT_FOUND",
                      "sandbox account " + std::string(id) + " not found");
    }
    if (rows[0].Text(1).empty()) {
      return FailCode(Errc::kConflict, "SEEDED_ACCOUNT",
                      "seeded accounts are shared by every organization and cannot be changed; "
                      "create your own with POST /v1/sandbox/accounts");
    }
    SimAccount acc = FromStored(rows[0].Text(0));
    acc.port_freeze = freeze.value_or(acc.port_freeze);
    acc.pending_order = pending.value_or(acc.pending_order);
    if (pin) {
      acc.pin_sha256 = pin->empty() ? "" : Sha256Hex(*pin);
    }
    if (account) {
      acc.account_number_sha256 = Sha256Hex(*account);
      acc.account_number_last4 = Last4(*account);
    }
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("UPDATE sim_accounts SET data = $1 WHERE id = $2", {Stored(acc), id}));
    return json::value(acc.ToJson());
  };
  return store::WithTransaction(*lease, update);
}

Result<std::optional<SimAccount>> SimulatedNetwork::AccountOf(store::Connection& c,
                                                              std::string_view org,
                                                              std::string_view number) {
  // The organization's own sandbox account wins over a seeded one.
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, c.Query("SELECT a.data FROM sim_account_numbers n JOIN sim_accounts a "
                         "ON a.id = n.account_id WHERE n.phone_number = $1 AND "
                         "(n.org_id = $2 OR n.org_id = '') ORDER BY n.org_id DESC LIMIT 1",
                         {number, org}));
  if (rows.empty()) {
    return std::optional<SimAccount>();
  }
  return std::optional<SimAccount>(FromStored(rows[0].Text(0)));
}

Result<Decision> SimulatedNetwork::Submit(const CarrierOrder& order, TimePoint now) {
  const auto* carrier = carriers_.BySpid(order.spid);
  if (carrier == nullptr) {
    return Fail(Errc::kInvalidArgument, "unknown losing carrier " + order.spid);
  }
  // Every line's account in one statement; the organization's own account wins over a seeded
  // one (org_id '' sorts first, so the later row replaces it).
  std::map<std::string, SimAccount> accounts;
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  std::vector<std::string_view> numbers;
  for (const auto& line : order.lines) {
    numbers.emplace_back(line.phone_number);
  }
  store::Params params{order.org_id};
  const std::string match = store::MatchAny(lease->backend(), "n.phone_number", params, numbers);
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query("SELECT n.phone_number, a.data FROM sim_account_numbers n JOIN "
                              "sim_accounts a ON a.id = n.account_id WHERE (n.org_id = $1 OR "
                              "n.org_id = '') AND " +
                                  match + " ORDER BY n.phone_number, n.org_id",
                              params));
  for (const auto& r : rows) {
    accounts.insert_or_assign(r.Text(0), FromStored(r.Text(1)));
  }
  return Evaluate(order, *carrier, accounts, now);
}

Result<void> SimulatedNetwork::Activate(std::string_view, const std::vector<std::string>&,
                                        TimePoint) {
  return {};  // the simulated NPAC activates every confirmed order at once
}

Result<TimePoint> SimulatedNetwork::Cancel(std::string_view, TimePoint now) {
  return now + std::chrono::hours(1);  // carriers confirm cancellations within the hour
}

Result<std::optional<ServiceRecord>> SimulatedNetwork::FetchCsr(std::string_view org_id,
                                                                std::string_view number) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto acc, AccountOf(*lease, org_id, number));
  if (!acc) {
    return std::optional<ServiceRecord>();
  }
  ServiceRecord r;
  r.account_number_hint = acc->account_number_last4;
  r.customer_type = acc->customer_type;
  r.business_name = acc->business_name;
  r.first_name = acc->first_name;
  r.last_name = acc->last_name;
  r.street = acc->street;
  r.city = acc->city;
  r.state = acc->state;
  r.zip = acc->zip;
  r.billing_number = acc->billing_number;
  r.lines = acc->phone_numbers;
  r.pin_on_account = !acc->pin_sha256.empty();
  r.port_freeze = acc->port_freeze;
  return std::optional<ServiceRecord>(std::move(r));
}

}  // namespace portline::carriers
