// The simulated carriers' decisions (pure) and the rejection taxonomy.
#include "carriers/simulator.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "core/crypto.hpp"
#include "numbering/timezone.hpp"
#include "porting/rejections.hpp"

namespace portline::carriers {
namespace {

using numbering::Date;
using std::chrono::November;
using std::chrono::year;

SimAccount Account() {
  SimAccount a;
  a.id = "acct";
  a.customer_type = "business";
  a.business_name = "Acme Corp";
  a.account_number_sha256 = Sha256Hex("ACC-1");
  a.street = "123 Main Street";
  a.city = "San Francisco";
  a.state = "CA";
  a.zip = "94105";
  a.phone_numbers = {"+14155550100", "+14155550101"};
  a.billing_number = "+14155550100";
  return a;
}

CarrierOrder Order(std::vector<std::string> numbers) {
  CarrierOrder o;
  o.pon = "pord_1";
  o.spid = "S203";
  for (auto& n : numbers) {
    o.lines.push_back({std::move(n), {}, {}});
  }
  o.customer_type = "business";
  o.business_name = "ACME corp.";  // compared loosely
  o.account_number = "ACC-1";
  o.street = "123 Main St";  // "St" is "Street"
  o.zip = "94105-1234";      // ZIP+4 matches the ZIP
  o.due_date = Date{year{2026}, std::chrono::December, std::chrono::day{7}};
  return o;
}

std::map<std::string, SimAccount> ByNumber(const SimAccount& a) {
  std::map<std::string, SimAccount> m;
  for (const auto& n : a.phone_numbers) {
    m[n] = a;
  }
  return m;
}

// Monday 2026-11-23 15:00 UTC (10:00 Eastern).
const TimePoint kNow = numbering::LocalToUtc(
    *numbering::FindTimeZone("UTC"), Date{year{2026}, November, std::chrono::day{23}}, 15 * 60);

const numbering::Carrier& Carrier(std::string_view spid) {
  return *numbering::CarrierRegistry::Default().BySpid(spid);
}

std::vector<std::string> Codes(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& r : d.rejects) {
    out.push_back(r.code);
  }
  return out;
}

TEST(Simulator, AcceptsMatchingOrderWithFocAtTheDueDate) {
  const auto d =
      Evaluate(Order({"+14155550100", "+14155550101"}), Carrier("S203"), ByNumber(Account()), kNow);
  ASSERT_TRUE(d.accepted) << ::testing::PrintToString(Codes(d));
  EXPECT_EQ(numbering::FormatDate(d.foc_date), "2026-12-07");
  // Wireline answers at 10:00 Eastern the next business day (Tuesday, 15:00 UTC).
  EXPECT_EQ(d.respond_at, kNow + std::chrono::hours(24));
}

TEST(Simulator, FocIsNeverEarlierThanTheCarrierInterval) {
  auto order = Order({"+12125550101"});
  order.spid = "S202";  // 10 business days
  order.due_date = Date{year{2026}, November, std::chrono::day{24}};
  const auto d = Evaluate(order, Carrier("S202"), {}, kNow);
  ASSERT_TRUE(d.accepted);
  // Answer on Tue 11-24, + 10 business days skipping Thanksgiving (11-26): 2026-12-09.
  EXPECT_EQ(numbering::FormatDate(d.foc_date), "2026-12-09");
}

TEST(Simulator, WirelessAnswersWithinTheHour) {
  auto order = Order({"+13125550130"});
  order.spid = "S101";
  const auto d = Evaluate(order, Carrier("S101"), {}, kNow);
  EXPECT_EQ(d.respond_at, kNow + std::chrono::hours(1));
}

TEST(Simulator, RejectsLikeCarriersDo) {
  struct Case {
    const char* name;
    std::function<void(CarrierOrder&, SimAccount&)> change;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"account", [](CarrierOrder& o, SimAccount&) { o.account_number = "ACC-2"; }, "8A"},
      {"pin",
       [](CarrierOrder& o, SimAccount& a) {
         a.pin_sha256 = Sha256Hex("1");
         o.pin = "2";
       },
       "8C"},
      {"business name", [](CarrierOrder& o, SimAccount&) { o.business_name = "Other"; }, "8G"},
      {"person",
       [](CarrierOrder& o, SimAccount& a) {
         a.customer_type = "personal";
         a.last_name = "Doe";
         o.last_name = "Roe";
       },
       "E10"},
      {"zip", [](CarrierOrder& o, SimAccount&) { o.zip = "10001"; }, "8D"},
      {"street", [](CarrierOrder& o, SimAccount&) { o.street = "9 Other Rd"; }, "E1"},
      {"freeze", [](CarrierOrder&, SimAccount& a) { a.port_freeze = true; }, "E6d"},
      {"pending", [](CarrierOrder&, SimAccount& a) { a.pending_order = true; }, "6M"},
      {"billing number alone", [](CarrierOrder& o, SimAccount&) { o.lines.pop_back(); }, "E6h"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto order = Order({"+14155550100", "+14155550101"});
    auto account = Account();
    c.change(order, account);
    const auto d = Evaluate(order, Carrier("S203"), ByNumber(account), kNow);
    EXPECT_FALSE(d.accepted);
    const auto codes = Codes(d);
    EXPECT_NE(std::find(codes.begin(), codes.end(), c.code), codes.end())
        << ::testing::PrintToString(codes);
  }
  // A new billing number makes the partial port acceptable.
  auto partial = Order({"+14155550100"});
  partial.new_billing_number = "+14155550101";
  EXPECT_TRUE(Evaluate(partial, Carrier("S203"), ByNumber(Account()), kNow).accepted);
}

TEST(Simulator, ParseAccountReportsEveryProblem) {
  auto parsed = ParseSimAccount(boost::json::object{
      {"customer_type", "corp"}, {"phone_numbers", boost::json::array{"x"}}, {"extra", 1}});
  ASSERT_FALSE(parsed);
  std::set<std::string> fields;
  for (const auto& f : parsed.error().fields) {
    fields.insert(f.field);
  }
  for (const char* f :
       {"customer_type", "account_number", "address", "phone_numbers[0]", "extra"}) {
    EXPECT_EQ(fields.count(f), 1U) << f;
  }
}

TEST(Rejections, EveryCodeSaysWhatToDo) {
  for (const auto& r : porting::RejectionTable()) {
    EXPECT_FALSE(r.hint.empty()) << r.raw_code;
    EXPECT_FALSE(r.code.empty()) << r.raw_code;
  }
  EXPECT_EQ(porting::ClassifyRejection("8A").code, "account_number_mismatch");
  EXPECT_EQ(porting::ClassifyRejection("E6h").fields_to_fix.at(0), "new_billing_number");
  EXPECT_FALSE(porting::ClassifyRejection("E27").fixable);
  EXPECT_EQ(porting::ClassifyRejection("ZZZ").code, "other");
}

TEST(TimeZones, DaylightSavingFollowsTheUsRule) {
  const auto* ny = numbering::FindTimeZone("America/New_York");
  const auto* phx = numbering::FindTimeZone("America/Phoenix");
  ASSERT_TRUE(ny && phx);
  // 2026: DST from March 8 to November 1.
  const auto summer =
      numbering::LocalToUtc(*ny, Date{year{2026}, std::chrono::July, std::chrono::day{1}}, 9 * 60);
  EXPECT_EQ(numbering::UtcToLocal(*numbering::FindTimeZone("UTC"), summer).minute_of_day, 13 * 60);
  const auto winter =
      numbering::LocalToUtc(*ny, Date{year{2026}, November, std::chrono::day{2}}, 9 * 60);
  EXPECT_EQ(numbering::UtcToLocal(*numbering::FindTimeZone("UTC"), winter).minute_of_day, 14 * 60);
  EXPECT_EQ(numbering::OffsetMinutes(*phx, summer), -420);
  EXPECT_EQ(numbering::UtcToLocal(*ny, summer).minute_of_day, 9 * 60);
  EXPECT_FALSE(numbering::ParseClockTime("24:00"));
  EXPECT_EQ(numbering::ParseClockTime("08:30"), 510);
  EXPECT_TRUE(numbering::ParseDate("2026-03-20T00:00:00Z"));
  EXPECT_FALSE(numbering::ParseDate("2026-02-30"));
}

// The seeded-accounts table of docs/api.md is what the simulator seeds: names, address, numbers
// (the billing number first), account number and PIN.
TEST(SimulatedNetwork, SeededAccountsAreTheOnesTheApiGuideDescribes) {
  std::ifstream in(PORTLINE_API_GUIDE);
  ASSERT_TRUE(in) << PORTLINE_API_GUIDE;
  std::vector<std::string> rows;
  bool table = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("Seeded accounts (every organization):")) {
      table = true;
    } else if (table && line.starts_with("| ") && !line.starts_with("| Account ")) {
      rows.push_back(line);
    } else if (table && !rows.empty() && !line.starts_with("|")) {
      break;
    }
  }
  const auto& seeded = SimulatedNetwork::SeededAccounts();
  ASSERT_EQ(rows.size(), seeded.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const SimAccount& a = seeded[i].first;
    const std::string& row = rows[i];
    const std::string who =
        a.customer_type == "business"
            ? a.business_name + " (business, contact " + a.first_name + " " + a.last_name + ")"
            : a.first_name + " " + a.last_name + " (personal)";
    EXPECT_TRUE(row.starts_with("| " + who)) << row;
    EXPECT_NE(row.find(a.street + ", " + a.city + " " + a.state + " " + a.zip), std::string::npos)
        << row;
    EXPECT_NE(row.find(a.billing_number + (a.phone_numbers.size() > 1 ? " (billing)" : "")),
              std::string::npos)
        << row;
    for (const std::string& n : a.phone_numbers) {
      EXPECT_NE(row.find(n), std::string::npos) << n << " in " << row;
    }
    const std::string& secrets = seeded[i].second;  // "ACCOUNT/PIN"
    const std::string account = secrets.substr(0, secrets.find('/'));
    const std::string pin = secrets.substr(secrets.find('/') + 1);
    EXPECT_NE(row.find(account + " / " + (pin.empty() ? "none" : pin)), std::string::npos) << row;
    EXPECT_EQ(a.port_freeze, row.find("port freeze") != std::string::npos) << row;
  }
}

}  // namespace
}  // namespace portline::carriers
