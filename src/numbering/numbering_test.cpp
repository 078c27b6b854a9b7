#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <map>
#include <random>
#include <sstream>

#include "numbering/calendar.hpp"
#include "numbering/carriers.hpp"
#include "numbering/check.hpp"
#include "numbering/lnp.hpp"
#include "numbering/nanp.hpp"
#include "numbering/timezone.hpp"
#include "support/fake_clock.hpp"

namespace portline::numbering {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

Date D(int y, unsigned m, unsigned d) { return Date{year{y}, month{m}, day{d}}; }

TEST(NanpTest, ParsesEveryCommonForm) {
  for (const char* in : {"+14155550100", "14155550100", "4155550100", "(415) 555-0100",
                         "+1 415.555.0100", "1-415-555-0100"}) {
    auto n = ParseNanp(in);
    ASSERT_TRUE(n) << in << ": " << n.error().message;
    EXPECT_EQ(n->E164(), "+14155550100") << in;
    EXPECT_EQ(n->region, "US");
    EXPECT_EQ(n->state, "California");
  }
}

TEST(NanpTest, TypesRegionsAndPlaces) {
  struct Case {
    const char* in;
    NumberType type;
    const char* region;
  };
  for (const Case c :
       {Case{"+12015551234", NumberType::kGeographic, "US"},
        Case{"+16045551234", NumberType::kGeographic, "CA"},
        Case{"+18005550100", NumberType::kTollFree, "US"},
        Case{"+18885550100", NumberType::kTollFree, "US"},
        Case{"+19005550100", NumberType::kPremium, "US"},
        Case{"+15005550100", NumberType::kPersonal, "US"},
        Case{"+18765551234", NumberType::kGeographic, "JM"},
        Case{"+14112345678", NumberType::kN11, ""}, Case{"+14159115678", NumberType::kN11, "US"},
        Case{"+12005550100", NumberType::kInvalid, ""}}) {
    auto n = ParseNanp(c.in);
    ASSERT_TRUE(n) << c.in;
    EXPECT_EQ(n->type, c.type) << c.in;
    EXPECT_EQ(n->region, c.region) << c.in;
  }
  auto jc = ParseNanp("+12012001234");  // geocoded to the exchange
  ASSERT_TRUE(jc);
  EXPECT_EQ(jc->city, "Jersey City, NJ");
  EXPECT_EQ(ParseNanp("+16045551234")->state, "British Columbia");
  EXPECT_FALSE(NumberingDataVersion().empty());
}

TEST(NanpTest, ClearErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "no digits"},
      {"+442079460000", "only North American"},
      {"+1415555010", "10 digits"},
      {"415555010", "10 digits"},
      {"+141555501000", "10 digits"},
      {"+1 015 555 0100", "cannot start with 0 or 1"},
      {"+1 415 155 0100", "cannot start with 0 or 1"},
      {"+1-415-555-O100", "contains 'O'"},
      {"++14155550100", "contains '+'"},
  };
  for (const auto& [in, why] : cases) {
    auto n = ParseNanp(in);
    ASSERT_FALSE(n) << in;
    EXPECT_NE(n.error().message.find(why), std::string::npos) << in << ": " << n.error().message;
  }
  EXPECT_EQ(ParseNanp("+33123456789").error().api_code, "UNSUPPORTED_COUNTRY");
}

TEST(CalendarTest, UsFederalHolidaysWithObservedDays) {
  const auto h2026 = Holidays(2026, Country::kUs);
  ASSERT_EQ(h2026.size(), 11U);
  auto has = [](const std::vector<Holiday>& hs, Date d) {
    return std::any_of(hs.begin(), hs.end(), [&](const Holiday& h) { return h.date == d; });
  };
  EXPECT_TRUE(has(h2026, D(2026, 1, 19)));   // MLK: 3rd Monday of January
  EXPECT_TRUE(has(h2026, D(2026, 5, 25)));   // Memorial Day: last Monday of May
  EXPECT_TRUE(has(h2026, D(2026, 7, 3)));    // July 4 is a Saturday: observed Friday
  EXPECT_TRUE(has(h2026, D(2026, 11, 26)));  // Thanksgiving: 4th Thursday
  EXPECT_TRUE(has(Holidays(2027, Country::kUs), D(2027, 12, 24)));  // Dec 25 2027 is a Saturday
  EXPECT_TRUE(has(Holidays(2028, Country::kUs), D(2028, 1, 17)));
  // Jan 1 2028 is a Saturday: observed Friday Dec 31 2027.
  EXPECT_FALSE(IsBusinessDay(D(2027, 12, 31), Country::kUs));
  EXPECT_TRUE(has(Holidays(2023, Country::kUs), D(2023, 6, 19)));   // Juneteenth
  EXPECT_TRUE(has(Holidays(2022, Country::kUs), D(2022, 6, 20)));   // on a Sunday: Monday
  EXPECT_FALSE(has(Holidays(2020, Country::kUs), D(2020, 6, 19)));  // before 2021
}

TEST(CalendarTest, CanadianStatutoryHolidays) {
  auto has = [](int y, Date d) {
    const auto hs = Holidays(y, Country::kCa);
    return std::any_of(hs.begin(), hs.end(), [&](const Holiday& h) { return h.date == d; });
  };
  EXPECT_TRUE(has(2026, D(2026, 4, 3)));   // Good Friday (Easter 2026-04-05)
  EXPECT_TRUE(has(2026, D(2026, 5, 18)));  // Victoria Day: Monday before May 25
  EXPECT_TRUE(has(2025, D(2025, 5, 19)));
  EXPECT_TRUE(has(2026, D(2026, 10, 12)));  // Thanksgiving: 2nd Monday of October
  EXPECT_TRUE(has(2026, D(2026, 9, 30)));   // Truth and Reconciliation
  // 2027: Christmas is a Saturday, Boxing Day a Sunday -> Monday 27 and Tuesday 28.
  EXPECT_TRUE(has(2027, D(2027, 12, 27)));
  EXPECT_TRUE(has(2027, D(2027, 12, 28)));
  EXPECT_TRUE(IsBusinessDay(D(2026, 11, 26), Country::kCa));  // US Thanksgiving is not one
  EXPECT_FALSE(IsBusinessDay(D(2026, 11, 26), Country::kUs));
}

TEST(CalendarTest, EarliestPortDate) {
  // Sunday 2026-11-22 + 7 days = Sunday 29 -> Monday 30.
  EXPECT_EQ(FormatDate(EarliestPortDate(D(2026, 11, 22), 7, 1, Country::kUs)), "2026-11-30");
  // 7 business days over Thanksgiving: 23,24,25,27,30,1,2 -> Wednesday Dec 2.
  EXPECT_EQ(FormatDate(EarliestPortDate(D(2026, 11, 22), 7, 7, Country::kUs)), "2026-12-02");
  // Landing on Christmas Day moves to the next business day.
  EXPECT_EQ(FormatDate(EarliestPortDate(D(2026, 12, 18), 7, 1, Country::kUs)), "2026-12-28");
  EXPECT_EQ(FormatDate(EarliestPortDate(D(2026, 12, 18), 7, 1, Country::kCa)), "2026-12-29");
}

TEST(TimeZoneTest, OldUsNamesAreAliases) {
  for (const auto& [alias, zone] :
       std::vector<std::pair<std::string, std::string>>{{"US/Eastern", "America/New_York"},
                                                        {"US/Central", "America/Chicago"},
                                                        {"US/Mountain", "America/Denver"},
                                                        {"US/Pacific", "America/Los_Angeles"}}) {
    const TimeZone* z = FindTimeZone(alias);
    ASSERT_NE(z, nullptr) << alias;
    EXPECT_EQ(z->name, zone);
  }
  EXPECT_EQ(FindTimeZone("US/Nowhere"), nullptr);
}

TEST(LnpTest, IndexMatchesBruteForceOnRandomData) {
  std::mt19937_64 rng(42);  // fixed seed: deterministic
  LnpIndex::Builder b;
  std::map<std::uint32_t, std::uint16_t> prefixes;
  std::map<std::uint64_t, std::uint16_t> blocks;
  std::map<std::uint64_t, std::uint16_t> ported;
  std::vector<std::uint32_t> used;
  for (int i = 0; i < 300; ++i) {
    const auto p = static_cast<std::uint32_t>(200000 + rng() % 800000);
    const auto c = static_cast<std::uint16_t>(1 + rng() % 12);
    b.SetPrefix(p, c);
    prefixes[p] = c;
    used.push_back(p);
  }
  for (int i = 0; i < 200; ++i) {
    const auto p = used[rng() % used.size()];
    const int x = static_cast<int>(rng() % 10);
    const auto c = static_cast<std::uint16_t>(1 + rng() % 12);
    b.AddBlock(p, x, c);
    blocks[static_cast<std::uint64_t>(p) * 10 + static_cast<std::uint64_t>(x)] = c;
  }
  for (int i = 0; i < 20000; ++i) {
    const auto p =
        rng() % 2 ? used[rng() % used.size()] : static_cast<std::uint32_t>(200000 + rng() % 800000);
    const std::uint64_t n = static_cast<std::uint64_t>(p) * 10000 + rng() % 10000;
    const auto c = static_cast<std::uint16_t>(1 + rng() % 12);
    b.AddPorted(n, c);
    ported[n] = c;  // a later entry for the same number wins
  }
  const LnpIndex idx = std::move(b).Build();
  EXPECT_EQ(idx.ported_count(), ported.size());
  auto reference = [&](std::uint64_t n) -> std::optional<std::uint16_t> {
    if (auto it = ported.find(n); it != ported.end()) {
      return it->second;
    }
    if (auto it = blocks.find(n / 1000); it != blocks.end()) {
      return it->second;
    }
    if (auto it = prefixes.find(static_cast<std::uint32_t>(n / 10000)); it != prefixes.end()) {
      return it->second;
    }
    return std::nullopt;
  };
  for (const auto& [n, c] : ported) {
    ASSERT_EQ(idx.Lookup(n), reference(n)) << n;
  }
  for (int i = 0; i < 200000; ++i) {
    const std::uint64_t n =
        rng() % 2 ? static_cast<std::uint64_t>(used[rng() % used.size()]) * 10000 + rng() % 10000
                  : 2000000000ULL + rng() % 8000000000ULL;
    ASSERT_EQ(idx.Lookup(n), reference(n)) << n;
  }
  EXPECT_FALSE(idx.Lookup(99999999999ULL));  // out of range
  // The batched lookup answers exactly as the single one.
  std::vector<std::uint64_t> batch;
  for (int i = 0; i < 50000; ++i) {
    batch.push_back(rng() % 3 ? static_cast<std::uint64_t>(used[rng() % used.size()]) * 10000 +
                                    rng() % 10000
                              : rng() % 20000000000ULL);
  }
  std::vector<std::uint16_t> answers(batch.size());
  idx.LookupBatch(batch.data(), batch.size(), answers.data());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    ASSERT_EQ(answers[i], reference(batch[i]).value_or(0)) << batch[i];
  }
  // 4 bytes per ported number plus the fixed tables.
  EXPECT_LE(idx.MemoryBytes(), 28'000'000U + ported.size() * 4 + blocks.size() * 8);
}

TEST(LnpTest, DefaultDatasetResolvesEveryValidUsCaNumber) {
  const auto& carriers = CarrierRegistry::Default();
  const LnpIndex idx = LnpIndex::GenerateDefault(carriers);
  EXPECT_GT(idx.assigned_prefixes(), 300000U);
  for (const char* n : {"+14155550100", "+12125551234", "+16045550100", "+12015551234"}) {
    auto parsed = ParseNanp(n);
    ASSERT_TRUE(parsed);
    auto c = idx.Lookup(parsed->national());
    ASSERT_TRUE(c) << n;
    EXPECT_NE(carriers.Get(*c), nullptr);
  }
  EXPECT_FALSE(idx.Lookup(ParseNanp("+18765550100")->national()));  // JM: not US/CA
  // Deterministic: two generations agree.
  const LnpIndex again = LnpIndex::GenerateDefault(carriers);
  EXPECT_EQ(again.ported_count(), idx.ported_count());
  EXPECT_EQ(again.Lookup(4155550100), idx.Lookup(4155550100));
}

TEST(LnpTest, CsvLoadAndErrors) {
  std::istringstream good(
      "# comment\nprefix,415555,S101\nblock,4155551,S201\r\n"
      "ported,4155550100,S302\n");
  auto idx = LnpIndex::LoadCsv(good, CarrierRegistry::Default());
  ASSERT_TRUE(idx) << idx.error().message;
  EXPECT_EQ(CarrierRegistry::Default().Get(*idx->Lookup(4155550100))->spid, "S302");
  EXPECT_EQ(CarrierRegistry::Default().Get(*idx->Lookup(4155551234))->spid, "S201");
  EXPECT_EQ(CarrierRegistry::Default().Get(*idx->Lookup(4155552234))->spid, "S101");
  std::istringstream bad(
      "prefix,41555,S101\nported,4155550100,NOPE\nfoo,1,S101\nbroken\n"
      "prefix,015555,S101\n");
  auto err = LnpIndex::LoadCsv(bad, CarrierRegistry::Default());
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().fields.size(), 5U);
  EXPECT_EQ(err.error().fields[1].field, "line 2");
}

TEST(CarrierTest, WirelessCarriersRequirePins) {
  for (const auto& c : CarrierRegistry::Default().all()) {
    if (c.id != 0 && c.kind == CarrierKind::kWireless) {
      EXPECT_TRUE(c.rules.pin_required) << c.name;
    }
  }
  EXPECT_NE(CarrierRegistry::Default().BySpid("S101"), nullptr);
  EXPECT_EQ(CarrierRegistry::Default().BySpid("ZZZZ"), nullptr);
}

TEST(CheckTest, ReasonsAndFields) {
  LnpIndex::Builder b;
  const auto& reg = CarrierRegistry::Default();
  b.SetPrefix(415555, reg.BySpid("S101")->id);  // wireless
  b.SetPrefix(212555, reg.BySpid("S901")->id);  // not supported
  b.SetPrefix(604555, reg.BySpid("S401")->id);  // CA wireless
  LnpService lnp(std::make_shared<const LnpIndex>(std::move(b).Build()));
  testing::FakeClock clock(std::chrono::sys_days{D(2026, 11, 22)});
  CheckOptions opts;
  opts.coverage = {"CA", "NY"};  // California and New York only
  PortabilityChecker checker(lnp, reg, clock, opts);
  auto mine = [](std::string_view n) {
    return n == "+14155550199" ? HeldBy::kCaller : HeldBy::kNobody;
  };
  auto none = [](std::string_view) { return false; };
  const auto out = boost::json::parse(PortabilityChecker::ToJson(
      checker.Check({"+14155550100", "+12125550100", "+16045550100", "+14155550199", "+13105550100",
                     "+18005550100", "garbage", "+19005550100"},
                    mine, none)));
  const auto& r = out.at("results").as_array();
  auto code = [&](std::size_t i) -> std::string {
    const auto& reason = r.at(i).at("reason");
    return reason.is_null() ? "" : std::string(reason.at("code").as_string());
  };
  EXPECT_TRUE(r.at(0).at("portable").as_bool());
  EXPECT_EQ(r.at(0).at("number_type").as_string(), "mobile");
  EXPECT_TRUE(r.at(0).at("pin_required").as_bool());
  EXPECT_EQ(r.at(0).at("carrier").at("spid").as_string(), "S101");
  EXPECT_EQ(r.at(0).at("location").at("state_code").as_string(), "CA");
  EXPECT_EQ(r.at(0).at("location").at("state").as_string(), "CA");  // a code, as documented
  EXPECT_EQ(r.at(0).at("location").at("state_name").as_string(), "California");
  if (const auto& city = r.at(0).at("location").at("city"); city.is_string()) {
    EXPECT_EQ(std::string(city.as_string()).find(", CA"), std::string::npos) << city;
  }
  EXPECT_EQ(WithoutStateSuffix("Chicago, IL"), "Chicago");
  EXPECT_EQ(StateCode("Chicago, IL"), "IL");
  EXPECT_EQ(StateName("IL"), "Illinois");
  EXPECT_EQ(r.at(0).at("earliest_port_date").as_string(), "2026-11-30");
  EXPECT_EQ(code(1), "carrier_not_supported");
  EXPECT_EQ(code(2), "no_coverage");  // BC is not in the coverage list
  EXPECT_EQ(code(3), "already_on_platform");
  EXPECT_EQ(code(4), "unassigned");  // 310-555 has no carrier in this data
  EXPECT_EQ(code(5), "toll_free_manual");
  EXPECT_EQ(code(6), "invalid_number");
  EXPECT_EQ(code(7), "unsupported_number_type");
  EXPECT_FALSE(r.at(1).at("reason").at("next_steps").as_array().empty());
  EXPECT_EQ(out.at("summary").at("portable").to_number<std::int64_t>(), 1);
}

}  // namespace
}  // namespace portline::numbering

namespace portline::numbering {
namespace {
TEST(CheckTest, JsonTextStaysValidForHostileInput) {
  LnpService lnp(std::make_shared<const LnpIndex>(LnpIndex::Builder().Build()));
  testing::FakeClock clock;
  PortabilityChecker checker(lnp, CarrierRegistry::Default(), clock, {});
  const std::vector<std::string> inputs = {"+1\"415\\n", std::string("\x01\xff", 2), "", "+1415"};
  const auto out = boost::json::parse(PortabilityChecker::ToJson(checker.Check(inputs, {}, {})));
  const auto& r = out.at("results").as_array();
  ASSERT_EQ(r.size(), 4U);
  EXPECT_EQ(r.at(0).at("phone_number").as_string(), "+1\"415\\n");
  EXPECT_EQ(r.at(3).at("reason").at("code").as_string(), "invalid_number");
  EXPECT_EQ(out.at("summary").at("total").as_int64(), 4);
  EXPECT_EQ(PortabilityChecker::ToJson({}),
            R"({"results":[],"summary":{"total":0,"portable":0,"not_portable":0}})");
}
}  // namespace
}  // namespace portline::numbering

namespace portline::numbering {
namespace {
TEST(CheckTest, InActivePortRequestComesFromTheCaller) {
  LnpIndex::Builder b;
  b.SetPrefix(415555, CarrierRegistry::Default().BySpid("S201")->id);
  LnpService lnp(std::make_shared<const LnpIndex>(std::move(b).Build()));
  testing::FakeClock clock;
  PortabilityChecker checker(lnp, CarrierRegistry::Default(), clock, {});
  auto in_request = [](std::string_view n) { return n == "+14155550100"; };
  const auto results = checker.Check({"+14155550100", "+14155550101"}, {}, in_request);
  EXPECT_EQ(results.at(0).reason_code, "in_active_port_request");
  EXPECT_FALSE(results.at(0).portable);
  EXPECT_TRUE(results.at(1).portable);
}
TEST(CarrierRegistryTest, LoadsARegistryFileAndReportsEveryBadLine) {
  const std::string header =
      "spid,ocn,name,kind,country,foc_business_days,pin_required,account_number_required,"
      "fast_port,supported\n";
  std::istringstream good(header +
                          "# a comment\n"
                          "6006,6006,\"Example Wireless, Inc.\",wireless,US,1,no,yes,yes,yes\n"
                          "7777,7777,Example Telecom Canada,wireline,CA,5,no,yes,no,yes\n"
                          "8888,8888,Old Rural Telco,wireline,US,15,no,yes,no,no\n");
  auto reg = CarrierRegistry::LoadCsv(good);
  ASSERT_TRUE(reg) << reg.error().message;
  ASSERT_EQ(reg->all().size(), 4u);  // with the placeholder for id 0
  const Carrier* w = reg->BySpid("6006");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->name, "Example Wireless, Inc.");
  EXPECT_EQ(w->kind, CarrierKind::kWireless);
  EXPECT_TRUE(w->rules.pin_required) << "every wireless carrier requires a PIN";
  EXPECT_EQ(reg->BySpid("7777")->country, Country::kCa);
  EXPECT_EQ(reg->BySpid("7777")->rules.foc_business_days, 5);
  EXPECT_FALSE(reg->BySpid("8888")->rules.supported);

  // The generated dataset gives Canadian prefixes Canadian carriers, by the country field.
  const LnpIndex idx = LnpIndex::GenerateDefault(*reg);
  EXPECT_EQ(reg->Get(*idx.Lookup(4165550123))->spid, "7777");  // Toronto
  EXPECT_NE(reg->Get(*idx.Lookup(4155550123))->spid, "7777");  // San Francisco

  std::istringstream bad(header +
                         "60,1,Short,wireless,US,1,yes,yes,yes,yes\n"
                         "6006,1,X,satellite,US,1,yes,yes,yes,yes\n"
                         "6007,1,Y,voip,MX,99,maybe,yes,yes,yes\n"
                         "6008,1,\"open quote,voip,US,1,no,no,no,yes\n"
                         "6009,1,Z,voip,US,1,no,no,no,yes\n"
                         "6009,1,Z again,voip,US,1,no,no,no,yes\n");
  auto err = CarrierRegistry::LoadCsv(bad);
  ASSERT_FALSE(err);
  std::string all;
  for (const auto& f : err.error().fields) {
    all += f.message + "\n";
  }
  for (const char* want : {"line 2: spid '60' must be 4 letters or digits",
                           "line 3: kind 'satellite' must be wireless, wireline or voip",
                           "line 4: country 'MX' must be US or CA",
                           "line 4: foc_business_days '99'", "line 4: pin_required",
                           "line 5: expected 10 fields", "line 7: spid 6009 is listed twice"}) {
    EXPECT_NE(all.find(want), std::string::npos) << want << "\n" << all;
  }
  std::istringstream headless("6006,6006,X,wireless,US,1,yes,yes,yes,yes\n");
  EXPECT_NE(CarrierRegistry::LoadCsv(headless).error().message.find("header"), std::string::npos);
  std::istringstream empty("");
  EXPECT_FALSE(CarrierRegistry::LoadCsv(empty));
  // The built-in registry says where each carrier serves.
  EXPECT_EQ(CarrierRegistry::Default().BySpid("S401")->country, Country::kCa);
  EXPECT_EQ(CarrierRegistry::Default().BySpid("S101")->country, Country::kUs);
}

}  // namespace
}  // namespace portline::numbering
