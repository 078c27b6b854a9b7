// Port requests end to end through the API pipeline, on SQLite and PostgreSQL: a sandbox
// organization, the simulated carrier network, the signature step and the sandbox clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "core/time.hpp"
#include "support/backend_fixture.hpp"

namespace portline {
namespace {

namespace json = boost::json;

// The seeded "Acme Corp" account of the simulated network: three lines, billing number first.
constexpr const char* kAcme1 = "+14155550100";
constexpr const char* kAcme2 = "+14155550101";
constexpr const char* kAcme3 = "+14155550102";

std::string Lci(const std::string& account = "ACC-12345", const std::string& zip = "94105",
                const std::string& business = "Acme Corp",
                const std::string& street = "123 Main Street") {
  return R"({"customer_type": "business", "business_name": ")" + business +
         R"(", "first_name": "Jane", "last_name": "Doe", "account_number": ")" + account +
         R"(", "authorized_representative_email": "jane@acme.example",
            "notification_emails": ["it@acme.example"],
            "address": {"street": ")" +
         street + R"(", "street2": "Suite 100",
                        "city": "San Francisco", "state": "CA", "zip": ")" +
         zip + R"(", "country": "US"}})";
}

std::string Person(const std::string& last) {
  return R"({"customer_type": "personal", "first_name": "John", "last_name": ")" + last +
         R"(", "account_number": "MOB-77881", "authorized_representative_email": "john@example.com",
            "address": {"street": "9 Elm St", "city": "Austin", "state": "TX", "zip": "78701"}})";
}

std::string Numbers(const std::vector<std::string>& numbers) {
  std::string out = "[";
  for (const auto& n : numbers) {
    out += (out.size() > 1 ? ", \"" : "\"") + n + "\"";
  }
  return out + "]";
}

class PortLifecycle : public testing::ApiTest {
 protected:
  // One connection: a code path that holds a connection while taking another fails here.
  int PoolSize() const override { return 1; }

  void SetUp() override {
    ApiTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) {
      return;
    }
    sb_ = NewOrgKey("sandbox-co", {"SIP"}, /*sandbox=*/true);
  }

  json::value Data(const api::Response& r) { return Json(r.body).at("data"); }

  // Creates a request; returns the create response's data.
  json::value Create(const std::string& body, int expect = 201) {
    auto r = Call(*api_, "POST", "/v1/sip/port/initiate", sb_, body);
    EXPECT_EQ(r.status, expect) << r.body;
    return r.status == 201 ? Data(r) : Json(r.body);
  }
  json::value CreateFor(const std::vector<std::string>& numbers, const std::string& extra = {},
                        const std::string& lci = Lci()) {
    return Create(R"({"phone_numbers": )" + Numbers(numbers) +
                  R"(, "losing_carrier_information": )" + lci + extra + "}");
  }
  static std::string TokenOf(const json::value& created) {
    const std::string url(created.at("signature_url").as_string());
    return url.substr(url.find("/sign/") + 6);
  }
  api::Response SignForm(const std::string& token, const std::string& form) {
    api::Request req;
    req.method = "POST";
    req.target = "/sign/" + token;
    req.request_id = "req_test";
    EXPECT_TRUE(api::ParseTarget(req.target, req));
    req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    req.headers.push_back({"User-Agent", "TestBrowser/1.0"});
    req.remote_addr = "198.51.100.7";
    req.body = form;
    return api_->Handle(req);
  }
  // Signs as the authorized representative on file (the page refuses anyone else).
  void Sign(const json::value& created) {
    const auto view = Get(std::string(created.at("port_request_id").as_string()));
    const auto& lci = view.at("losing_carrier_information");
    const std::string name = std::string(lci.at("first_name").as_string()) + " " +
                             std::string(lci.at("last_name").as_string());
    std::string form_name = name;
    std::replace(form_name.begin(), form_name.end(), ' ', '+');
    auto r = SignForm(TokenOf(created), "name=" + form_name + "&title=CTO&consent=yes");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("Signed by " + name), std::string::npos);
  }
  json::value Advance(const std::string& body) {
    auto r = Call(*api_, "POST", "/v1/sandbox/clock/advance", sb_, body);
    EXPECT_EQ(r.status, 200) << r.body;
    return Data(r);
  }
  json::value Get(const std::string& id, const std::string& key = {}) {
    auto r = Call(*api_, "GET", "/v1/sip/port/" + id, key.empty() ? sb_ : key);
    EXPECT_EQ(r.status, 200) << r.body;
    return Data(r);
  }
  std::string Status(const std::string& id) {
    return std::string(Get(id).at("status").as_string());
  }
  std::vector<std::string> EventTypes(const std::string& id) {
    auto r = Call(*api_, "GET", "/v1/sip/port/" + id + "/events?limit=1000", sb_);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    std::int64_t last = 0;
    const auto data = Data(r);
    for (const auto& e : data.at("events").as_array()) {
      EXPECT_EQ(e.at("sequence").as_int64(), last + 1) << "sequence must be gapless";
      last = e.at("sequence").as_int64();
      out.emplace_back(e.at("type").as_string());
    }
    return out;
  }
  static std::size_t Count(const std::vector<std::string>& v, const std::string& s) {
    return static_cast<std::size_t>(std::count(v.begin(), v.end(), s));
  }

  std::string sb_;
};

TEST_P(PortLifecycle, HappyPathToCompletedWithPostPortSipConfig) {
  auto created = CreateFor({kAcme1, kAcme2, kAcme3},
                           R"(, "customer_reference": "ticket-42", "post_port": {"service": "sip",
                              "directions": [{"type": "inbound"}]})");
  const std::string id(created.at("port_request_id").as_string());
  EXPECT_EQ(created.at("status").as_string(), "waiting_for_signature");
  EXPECT_EQ(created.at("phone_numbers").as_array().size(), 3U);
  EXPECT_EQ(created.at("phone_numbers").at(0).as_string(), kAcme1);
  EXPECT_TRUE(created.at("signature_url").as_string().starts_with("http://portline.test/sign/"));

  // The signature page is public HTML and lists the numbers; the account number never shows.
  auto page = Call(*api_, "GET", "/sign/" + TokenOf(created), "");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_TRUE(page.content_type.starts_with("text/html"));
  EXPECT_NE(page.body.find(kAcme2), std::string::npos);
  EXPECT_EQ(page.body.find("ACC-12345"), std::string::npos);
  auto view = Get(id);
  EXPECT_EQ(view.at("losing_carrier_information").at("account_number").as_string(), "[redacted]");
  EXPECT_EQ(view.at("customer_reference").as_string(), "ticket-42");

  // The page takes a form, not JSON (and JSON routes take no forms).
  EXPECT_EQ(Call(*api_, "POST", "/sign/" + TokenOf(created), "", R"({"name": "Jane"})").status,
            415);
  // Consent is required; then signing submits.
  EXPECT_EQ(SignForm(TokenOf(created), "name=Jane+Doe").status, 400);
  // Form text reaches the LOA and storage: NUL and broken UTF-8 are refused on the page.
  EXPECT_EQ(SignForm(TokenOf(created), "name=Jane+Doe&title=C%00TO&consent=yes").status, 400);
  EXPECT_EQ(SignForm(TokenOf(created), "name=Jane+Doe&title=%FF%FE&consent=yes").status, 400);
  Sign(created);
  EXPECT_EQ(Status(id), "submitted");

  // The carrier answers on the next business day with a FOC; activation happens at the FOC.
  Advance(R"({"business_days": 2})");
  view = Get(id);
  EXPECT_EQ(view.at("status").as_string(), "in_progress") << view;
  EXPECT_FALSE(view.at("foc_date").is_null());
  EXPECT_EQ(view.at("phone_numbers").at(0).at("status").as_string(), "foc_confirmed");

  Advance(R"({"days": 30})");
  view = Get(id);
  EXPECT_EQ(view.at("status").as_string(), "completed") << view;
  for (const auto& n : view.at("phone_numbers").as_array()) {
    EXPECT_EQ(n.at("status").as_string(), "ported");
  }
  const auto events = EventTypes(id);
  for (const char* t :
       {"port.created", "port.signature_requested", "port.signed", "port.submitted",
        "port.order_submitted", "port.foc_confirmed", "port.completed", "port.post_port_applied"}) {
    EXPECT_EQ(Count(events, t), 1U) << t;
  }
  EXPECT_EQ(Count(events, "port.number_ported"), 3U);

  // The completed e-mail reads as a person would: the numbers that moved, no API paths, dated on
  // the organization's (sandbox) clock while it is queued on the wall clock.
  auto mails = (*db_->Acquire())
                   ->Query(
                       "SELECT subject, body, dated_at, created_at FROM email_outbox WHERE "
                       "request_id = $1 AND event_type = 'port.completed'",
                       {id});
  ASSERT_TRUE(mails);
  ASSERT_EQ(mails->size(), 1U);
  const std::string body = (*mails)[0].Text(1);
  EXPECT_EQ((*mails)[0].Text(0), "Number port for Acme Corp: complete");
  for (const char* n : {"+1 415-555-0100", "+1 415-555-0101", "+1 415-555-0102"}) {
    EXPECT_NE(body.find(n), std::string::npos) << body;
  }
  EXPECT_EQ(body.find("/v1/"), std::string::npos) << body;
  EXPECT_EQ(body.find("GET "), std::string::npos) << body;
  EXPECT_GT((*mails)[0].Int(2) - (*mails)[0].Int(3), std::int64_t{7} * 86'400'000)
      << "dated on the sandbox clock, at the FOC a week or more ahead";
  auto emails = Data(Call(*api_, "GET", "/v1/emails?port_request_id=" + id, sb_));
  bool dated = false;
  for (const auto& e : emails.at("emails").as_array()) {
    if (e.at("event_type").as_string() == "port.completed") {
      dated = e.at("date").as_string() > e.at("created_at").as_string();
    }
  }
  EXPECT_TRUE(dated) << emails;

  // The ported numbers are the organization's inbound numbers, with the post_port config.
  auto sip = Call(*api_, "GET", std::string("/v1/sip?phone_number=%2B") + (kAcme2 + 1), sb_);
  ASSERT_EQ(sip.status, 200) << sip.body;
  EXPECT_NE(sip.body.find("inbound"), std::string::npos);
  auto check =
      Call(*api_, "GET", std::string("/v1/sip/port/check?phone_numbers[]=%2B") + (kAcme1 + 1), sb_);
  EXPECT_NE(check.body.find("already_on_platform"), std::string::npos) << check.body;

  // Listed with Bland's shape, and findable by filters.
  auto list =
      Data(Call(*api_, "GET", "/v1/sip/port?status=completed&customer_reference=ticket-42", sb_));
  ASSERT_EQ(list.at("port_requests").as_array().size(), 1U);
  const auto& item = list.at("port_requests").at(0);
  EXPECT_EQ(item.at("id").as_string(), id);
  EXPECT_EQ(item.at("phone_numbers").at(0).at("number").as_string(), kAcme1);
  EXPECT_EQ(item.at("authorized_rep_email").as_string(), "jane@acme.example");
  EXPECT_EQ(Data(Call(*api_, "GET", "/v1/sip/port?status=canceled", sb_))
                .at("port_requests")
                .as_array()
                .size(),
            0U);
  // Another organization sees nothing of it.
  EXPECT_EQ(Call(*api_, "GET", "/v1/sip/port/" + id, key_).status, 404);
  EXPECT_EQ(Call(*api_, "DELETE", "/v1/sip/port/" + id, key_).status, 404);
}

TEST_P(PortLifecycle, RejectionsSayWhatToFixAndSupplementsResubmit) {
  struct Case {
    std::string lci;
    std::string extra;
    std::vector<std::string> numbers;
    std::string raw, code, field, fix_extra, fix_lci;
  };
  const std::vector<Case> cases = {
      {Lci("WRONG-1"),
       "",
       {kAcme1, kAcme2, kAcme3},
       "8A",
       "account_number_mismatch",
       "losing_carrier_information.account_number",
       "",
       Lci()},
      {Lci("ACC-12345", "94999"),
       "",
       {kAcme1, kAcme2, kAcme3},
       "8D",
       "zip_mismatch",
       "losing_carrier_information.address.zip",
       "",
       Lci()},
      {Lci("ACC-12345", "94105", "Acme Incorporated"),
       "",
       {kAcme1, kAcme2, kAcme3},
       "8G",
       "business_name_mismatch",
       "losing_carrier_information.business_name",
       "",
       Lci()},
      {Lci("ACC-12345", "94105", "Acme Corp", "500 Market Street"),
       "",
       {kAcme1, kAcme2, kAcme3},
       "E1",
       "address_mismatch",
       "losing_carrier_information.address.street",
       "",
       Lci()},
      // The seeded personal account (John Doe, PIN 4321) with the wrong last name.
      {Person("Roe"),
       R"(, "pin": "4321")",
       {"+15125550110"},
       "E10",
       "end_user_name_mismatch",
       "losing_carrier_information.last_name",
       R"(, "pin": "4321")",
       Person("Doe")},
      // Porting the billing number alone while two lines stay: a new billing number is needed.
      {Lci(),
       "",
       {kAcme1},
       "E6h",
       "btn_remaining_lines",
       "new_billing_number",
       R"(, "new_billing_number": "+14155550101")",
       Lci()},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.raw);
    auto created = CreateFor(c.numbers, c.extra, c.lci);
    const std::string id(created.at("port_request_id").as_string());
    Sign(created);
    Advance(R"({"business_days": 2})");
    auto view = Get(id);
    ASSERT_EQ(view.at("status").as_string(), "action_required") << view;
    EXPECT_NE(view.at("suggested_action").as_string().find("PUT /v1/sip/port/" + id),
              std::string::npos);
    // The notification e-mail (when the request names addresses) says what to do, in the same
    // words.
    auto mails = (*db_->Acquire())
                     ->Query(
                         "SELECT body FROM email_outbox WHERE request_id = $1 AND "
                         "event_type = 'port.action_required'",
                         {id});
    ASSERT_TRUE(mails);
    if (c.lci.find("notification_emails") == std::string::npos) {
      EXPECT_TRUE(mails->empty());
    } else {
      ASSERT_EQ(mails->size(), 1U);
      EXPECT_NE((*mails)[0].Text(0).find("What to do: " +
                                         std::string(view.at("suggested_action").as_string())),
                std::string::npos)
          << (*mails)[0].Text(0);
    }
    const auto& reason = view.at("phone_numbers").at(0).at("reason");
    const auto& rejection = reason.at("rejections").at(0);
    EXPECT_EQ(rejection.at("raw_code").as_string(), c.raw);
    EXPECT_EQ(rejection.at("code").as_string(), c.code);
    EXPECT_FALSE(rejection.at("hint").as_string().empty());
    bool has_field = false;
    for (const auto& f : rejection.at("fields_to_fix").as_array()) {
      has_field = has_field || f.as_string() == c.field;
    }
    EXPECT_TRUE(has_field) << rejection;
    // The supplement: the full request again, fixed.
    auto put = Call(*api_, "PUT", "/v1/sip/port/" + id, sb_,
                    R"({"phone_numbers": )" + Numbers(c.numbers) +
                        R"(, "losing_carrier_information": )" + c.fix_lci + c.fix_extra + "}");
    ASSERT_EQ(put.status, 200) << put.body;
    // Every fix here changes what the LOA prints: the signature is void and a new one is
    // needed before anything goes back to the carrier; the old link is dead.
    EXPECT_EQ(Data(put).at("status").as_string(), "waiting_for_signature");
    EXPECT_EQ(Call(*api_, "GET", "/sign/" + TokenOf(created), "").status, 404);
    Advance(R"({"business_days": 1})");
    EXPECT_EQ(Status(id), "waiting_for_signature");
    Sign(Get(id));
    EXPECT_EQ(Status(id), "submitted");
    Advance(R"({"days": 30})");
    EXPECT_EQ(Status(id), "completed") << Get(id);
    const auto events = EventTypes(id);
    EXPECT_GE(Count(events, "port.number_rejected"), 1U);
    EXPECT_EQ(Count(events, "port.action_required"), 1U);
    EXPECT_EQ(Count(events, "port.supplemented"), 1U);
    EXPECT_EQ(Count(events, "port.signature_voided"), 1U);
    EXPECT_EQ(Count(events, "port.signed"), 2U);
    // Ported numbers are on the platform: free them for the next case.
    ASSERT_TRUE((*db_->Acquire())->Execute("DELETE FROM number_holdings", {}));
  }
}

TEST_P(PortLifecycle, FreezeAndPinRejectionsComeFromAccounts) {
  // A sandbox account with a PIN, created through the API; a frozen seeded account.
  auto acct = Call(*api_, "POST", "/v1/sandbox/accounts", sb_,
                   R"({"customer_type": "personal", "first_name": "Max", "last_name": "Mobile",
                       "account_number": "M-1", "pin": "2468",
                       "address": {"street": "5 Oak Ave", "city": "Chicago", "state": "IL",
                                   "zip": "60601"},
                       "phone_numbers": ["+13125550130"]})");
  ASSERT_EQ(acct.status, 201) << acct.body;
  EXPECT_EQ(acct.body.find("2468"), std::string::npos) << "the PIN is never echoed";
  const std::string personal =
      R"({"customer_type": "personal", "first_name": "Max", "last_name": "Mobile",
          "account_number": "M-1", "authorized_representative_email": "max@example.com",
          "address": {"street": "5 Oak Avenue", "city": "Chicago", "state": "IL",
                      "zip": "60601"}})";
  auto created = Create(R"({"phone_numbers": [{"phone_number": "+13125550130", "pin": "1111"}],
                            "losing_carrier_information": )" +
                        personal + "}");
  const std::string id(created.at("port_request_id").as_string());
  Sign(created);
  Advance(R"({"hours": 2})");
  auto view = Get(id);
  ASSERT_EQ(view.at("status").as_string(), "action_required") << view;
  EXPECT_EQ(view.at("phone_numbers").at(0).at("reason").at("code").as_string(), "pin_invalid");
  auto put = Call(*api_, "PUT", "/v1/sip/port/" + id, sb_,
                  R"({"phone_numbers": ["+13125550130"], "pin": "2468",
                      "losing_carrier_information": )" +
                      personal + "}");
  ASSERT_EQ(put.status, 200) << put.body;
  Advance(R"({"days": 20})");
  EXPECT_EQ(Status(id), "completed");

  auto frozen = Create(R"({"phone_numbers": ["+13125550120"], "pin": "0000",
      "losing_carrier_information": {"customer_type": "business", "business_name":
      "Frozen Foods LLC", "first_name": "Ann", "last_name": "Lee", "account_number": "FRZ-40001",
      "authorized_representative_email": "ann@frozen.example", "address": {"street": "1 Ice Rd",
      "city": "Chicago", "state": "IL", "zip": "60601"}}})");
  const std::string fid(frozen.at("port_request_id").as_string());
  Sign(frozen);
  Advance(R"({"hours": 2})");
  view = Get(fid);
  ASSERT_EQ(view.at("status").as_string(), "action_required") << view;
  EXPECT_EQ(view.at("phone_numbers").at(0).at("reason").at("code").as_string(), "port_freeze");
  // Seeded accounts are shared: they cannot be changed.
  EXPECT_EQ(Call(*api_, "PATCH", "/v1/sandbox/accounts/simacct_seed_frozen", sb_,
                 R"({"port_freeze": false})")
                .status,
            409);

  // A frozen account of our own: the subscriber lifts the freeze, the unchanged request is
  // supplemented (PUT) and completes. The carrier's CSR shows the account's state.
  auto own = Call(*api_, "POST", "/v1/sandbox/accounts", sb_,
                  R"({"business_name": "Ice Co", "account_number": "ICE-1", "port_freeze": true,
                      "address": {"street": "2 Ice Rd", "city": "Chicago", "state": "IL",
                                  "zip": "60601"}, "phone_numbers": ["+12125550160"]})");
  ASSERT_EQ(own.status, 201) << own.body;
  const std::string own_id(Data(own).at("id").as_string());
  auto csr = simulator_->FetchCsr(accounts_->FindOrg("sandbox-co")->id, "+12125550160");
  ASSERT_TRUE(csr && *csr);
  EXPECT_TRUE((*csr)->port_freeze);
  EXPECT_EQ((*csr)->account_number_hint, "CE-1");  // the last four characters only
  const std::string ice = R"({"phone_numbers": ["+12125550160"], "losing_carrier_information":
      {"customer_type": "business", "business_name": "Ice Co", "first_name": "I",
       "last_name": "Ce", "account_number": "ICE-1", "authorized_representative_email":
       "ice@example.com", "address": {"street": "2 Ice Road", "city": "Chicago", "state": "IL",
       "zip": "60601"}}})";
  auto iced = Create(ice);
  const std::string iid(iced.at("port_request_id").as_string());
  Sign(iced);
  Advance(R"({"business_days": 2})");
  ASSERT_EQ(Status(iid), "action_required");
  auto lift =
      Call(*api_, "PATCH", "/v1/sandbox/accounts/" + own_id, sb_, R"({"port_freeze": false})");
  ASSERT_EQ(lift.status, 200) << lift.body;
  EXPECT_FALSE(Data(lift).at("port_freeze").as_bool());
  // The same details again: nothing the LOA prints changed, so the signature stands.
  auto same = Call(*api_, "PUT", "/v1/sip/port/" + iid, sb_, ice);
  ASSERT_EQ(same.status, 200);
  EXPECT_EQ(Data(same).at("status").as_string(), "submitted") << same.body;
  Advance(R"({"days": 30})");
  EXPECT_EQ(Status(iid), "completed");
}

TEST_P(PortLifecycle, CancelAtEachStage) {
  // Before signature: canceled at once.
  auto a = CreateFor({kAcme1, kAcme2, kAcme3});
  const std::string a_id(a.at("port_request_id").as_string());
  auto del = Call(*api_, "DELETE", "/v1/sip/port/" + a_id, sb_);
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_TRUE(Data(del).at("canceled").as_bool());
  EXPECT_EQ(Status(a_id), "canceled");
  // The link of a withdrawn request shows what happened, and nothing else.
  auto gone = SignForm(TokenOf(a), "name=Jane&consent=yes");
  EXPECT_EQ(gone.status, 410);
  EXPECT_NE(gone.body.find("No signature is needed"), std::string::npos) << gone.body;
  EXPECT_EQ(gone.body.find("<form"), std::string::npos);
  EXPECT_EQ(gone.body.find(a_id), std::string::npos) << "no internal ids on the page";
  EXPECT_EQ(Call(*api_, "GET", "/sign/" + TokenOf(a) + "/loa", "").status, 410);

  // Submitted to the carrier: cancel_pending until the carrier confirms; the numbers cannot be
  // resubmitted meanwhile.
  auto b = CreateFor({kAcme1, kAcme2, kAcme3});
  const std::string b_id(b.at("port_request_id").as_string());
  Sign(b);
  Advance(R"({"minutes": 1})");
  del = Call(*api_, "DELETE", "/v1/sip/port/" + b_id, sb_);
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(Data(del).at("status").as_string(), "cancel_pending");
  auto again = Create(
      R"({"phone_numbers": ["+14155550100"], "losing_carrier_information": )" + Lci() + "}", 409);
  EXPECT_NE(again.at("errors").at(0).at("message").as_string().find("being canceled"),
            std::string::npos)
      << again;
  EXPECT_NE(again.at("errors").at(0).at("message").as_string().find(b_id), std::string::npos);
  Advance(R"({"hours": 2})");
  EXPECT_EQ(Status(b_id), "canceled");

  // With a FOC: allowed until 48 hours before it, refused after.
  auto c = CreateFor({kAcme1, kAcme2, kAcme3});
  const std::string c_id(c.at("port_request_id").as_string());
  Sign(c);
  Advance(R"({"business_days": 2})");
  auto view = Get(c_id);
  ASSERT_EQ(view.at("status").as_string(), "in_progress") << view;
  const std::string activation(view.at("orders").at(0).at("activation_at").as_string());
  // At the activation time the port completes; a completed request cannot be canceled.
  Advance(R"({"to": ")" + activation + R"("})");
  EXPECT_EQ(Status(c_id), "completed");
  EXPECT_EQ(Call(*api_, "DELETE", "/v1/sip/port/" + c_id, sb_).status, 409);

  ASSERT_TRUE((*db_->Acquire())->Execute("DELETE FROM number_holdings", {}));
  auto d = CreateFor({kAcme1, kAcme2, kAcme3});
  const std::string d_id(d.at("port_request_id").as_string());
  Sign(d);
  Advance(R"({"business_days": 2})");
  view = Get(d_id);
  ASSERT_EQ(view.at("status").as_string(), "in_progress") << view;
  const auto foc_at = ParseRfc3339(view.at("orders").at(0).at("activation_at").as_string());
  const auto now =
      ParseRfc3339(Data(Call(*api_, "GET", "/v1/sandbox/clock", sb_)).at("now").as_string());
  ASSERT_TRUE(foc_at && now);
  const auto to_freeze =
      std::chrono::duration_cast<std::chrono::minutes>(*foc_at - *now - std::chrono::hours(47))
          .count();
  ASSERT_GT(to_freeze, 0);
  Advance(R"({"minutes": )" + std::to_string(to_freeze) + "}");
  del = Call(*api_, "DELETE", "/v1/sip/port/" + d_id, sb_);
  EXPECT_EQ(del.status, 422) << del.body;
  EXPECT_NE(del.body.find("CANCEL_TOO_LATE"), std::string::npos);
  EXPECT_NE(del.body.find("48 hours"), std::string::npos);
}

TEST_P(PortLifecycle, OneNumberCancelLeavesTheRest) {
  // Numbers no simulated account holds (removing one line of the Acme account would make the
  // carrier ask for a new billing number).
  auto created =
      CreateFor({"+12125550101", "+12125550103", "+14155550102"}, {}, Lci("ANY-1", "10001"));
  const std::string id(created.at("port_request_id").as_string());
  Sign(created);
  auto one = Call(*api_, "GET", "/v1/sip/port/" + id + "/numbers/%2B14155550102", sb_);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(Data(one).at("status").as_string(), "pending");
  EXPECT_EQ(Data(one).at("carrier").at("spid").as_string(), "S203");
  auto del = Call(*api_, "DELETE", "/v1/sip/port/" + id + "/numbers/%2B14155550102", sb_);
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(Call(*api_, "GET", "/v1/sip/port/" + id + "/numbers/%2B19995550102", sb_).status, 404);
  Advance(R"({"days": 30})");
  auto view = Get(id);
  EXPECT_EQ(view.at("status").as_string(), "completed") << view;
  EXPECT_EQ(view.at("phone_numbers").at(2).at("status").as_string(), "canceled");
  EXPECT_EQ(view.at("phone_numbers").at(0).at("status").as_string(), "ported");
  // Without post_port, ported numbers are still registered as inbound numbers of the SIP API.
  auto numbers = Call(*api_, "GET", "/v1/sip/numbers", sb_);
  ASSERT_EQ(numbers.status, 200) << numbers.body;
  EXPECT_NE(numbers.body.find("+12125550101"), std::string::npos) << numbers.body;
  EXPECT_EQ(numbers.body.find("+14155550102"), std::string::npos) << "canceled: not ported";
}

TEST_P(PortLifecycle, OnDemandActivationInsideAndOutsideTheWindow) {
  auto created = CreateFor({kAcme1, kAcme2, kAcme3}, R"(, "on_demand_activation": true)");
  const std::string id(created.at("port_request_id").as_string());
  Sign(created);
  Advance(R"({"business_days": 2})");
  auto groups = Data(Call(*api_, "GET", "/v1/sip/port/" + id + "/activations", sb_));
  ASSERT_EQ(groups.at("groups").as_array().size(), 1U) << groups;
  const std::string group(groups.at("groups").at(0).at("group_id").as_string());
  const std::string foc(groups.at("groups").at(0).at("foc_date").as_string());
  EXPECT_FALSE(groups.at("groups").at(0).at("activatable").as_bool());
  // Before the FOC date: refused, naming the date.
  auto early = Call(*api_, "POST", "/v1/sip/port/" + id + "/activate", sb_,
                    R"({"group_ids": [")" + group + R"("]})");
  EXPECT_EQ(early.status, 422) << early.body;
  EXPECT_NE(early.body.find(foc), std::string::npos);
  // FOC day, 06:00 Eastern: outside the window.
  Advance(R"({"to": ")" + foc + R"(T11:00:00Z"})");
  auto outside = Call(*api_, "POST", "/v1/sip/port/" + id + "/activate", sb_,
                      R"({"group_ids": [")" + group + R"("]})");
  EXPECT_EQ(outside.status, 422) << outside.body;
  EXPECT_NE(outside.body.find("OUTSIDE_ACTIVATION_WINDOW"), std::string::npos);
  // 10:00 Eastern: ready since 08:00, and activated on request.
  Advance(R"({"hours": 4})");
  auto status = Get(id);
  EXPECT_EQ(status.at("orders").at(0).at("status").as_string(), "activation_ready") << status;
  auto ok = Call(*api_, "POST", "/v1/sip/port/" + id + "/activate", sb_,
                 R"({"group_ids": [")" + group + R"("]})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Status(id), "completed");
  EXPECT_EQ(Call(*api_, "POST", "/v1/sip/port/" + id + "/activate", sb_,
                 R"({"group_ids": [")" + group + R"("]})")
                .status,
            409);
}

TEST_P(PortLifecycle, MixedCarriersSplitIntoChildOrdersAndExclusions) {
  // Harbor Exchange (CLEC), Atlas Bell (ILEC, 7-day FOC), Keystone Cable; plus two numbers that
  // cannot be ported at all (toll-free, unassigned NXX) which are excluded with their reason.
  auto created =
      CreateFor({kAcme1, kAcme2, kAcme3, "+12125550177", "+15125550188", "+18005550100"});
  const std::string id(created.at("port_request_id").as_string());
  EXPECT_EQ(created.at("orders").as_array().size(), 3U) << created;
  ASSERT_EQ(created.at("excluded").as_array().size(), 1U) << created;
  EXPECT_EQ(created.at("excluded").at(0).at("reason").at("code").as_string(), "toll_free_manual");
  Sign(created);
  Advance(R"({"business_days": 2})");
  auto view = Get(id);
  EXPECT_EQ(view.at("status").as_string(), "in_progress");
  std::set<std::string> carriers;
  for (const auto& o : view.at("orders").as_array()) {
    carriers.insert(std::string(o.at("carrier").at("spid").as_string()));
    EXPECT_EQ(o.at("status").as_string(), "foc_confirmed") << o;
  }
  EXPECT_EQ(carriers, (std::set<std::string>{"S201", "S203", "S301"}));
  Advance(R"({"days": 30})");
  EXPECT_EQ(Status(id), "completed");
  EXPECT_EQ(Count(EventTypes(id), "port.foc_confirmed"), 3U);
}

TEST_P(PortLifecycle, UnsignedLoaExpires) {
  auto created = CreateFor({kAcme1});
  const std::string id(created.at("port_request_id").as_string());
  Advance(R"({"days": 15})");
  EXPECT_EQ(Status(id), "expired");
  auto expired = SignForm(TokenOf(created), "name=Jane&consent=yes");
  EXPECT_EQ(expired.status, 410);
  // Who was to sign and how to get a new link; styled for a phone; no status codes.
  for (const char* want : {"expired", "Jane Doe", "send a new one", "name=\"viewport\""}) {
    EXPECT_NE(expired.body.find(want), std::string::npos) << want << "\n" << expired.body;
  }
  EXPECT_EQ(expired.body.find("waiting_for_signature"), std::string::npos);
  bool csp = false;
  for (const auto& h : expired.headers) {
    csp = csp || (h.name == "Content-Security-Policy" &&
                  h.value.find("frame-ancestors 'none'") != std::string::npos);
  }
  EXPECT_TRUE(csp);
  // The numbers are free again.
  CreateFor({kAcme1}, R"(, "new_billing_number": "+14155550101")");
}

TEST_P(PortLifecycle, ValidationReportsEveryProblemAtOnce) {
  auto r = Call(*api_, "POST", "/v1/sip/port/initiate", sb_,
                R"({"phone_numbers": ["4155550100", "+442079460000", "+14155550100",
                                      "+14155550100"],
                    "target_port_date": "2000-01-01",
                    "losing_carrier_information": {"customer_type": "business",
                      "first_name": "J", "last_name": "D",
                      "authorized_representative_email": "not-an-email",
                      "address": {"street": "1 A St", "city": "X", "state": "XX",
                                  "zip": "123", "country": "US"},
                      "authorizing_date": "2999-01-01"},
                    "customer_reference": ")" +
                    std::string(101, 'r') + R"(", "surprise": 1})");
  ASSERT_EQ(r.status, 400) << r.body;
  std::set<std::string> fields;
  const auto errors = Json(r.body);
  for (const auto& e : errors.at("errors").as_array()) {
    fields.insert(std::string(e.at("field").as_string()));
  }
  for (const char* f :
       {"phone_numbers[0]", "phone_numbers[1]", "phone_numbers[3]", "target_port_date",
        "losing_carrier_information.business_name",
        "losing_carrier_information.authorized_representative_email",
        "losing_carrier_information.address.state", "losing_carrier_information.address.zip",
        "losing_carrier_information.authorizing_date", "customer_reference", "surprise"}) {
    EXPECT_EQ(fields.count(f), 1U) << f << "\n" << r.body;
  }
  // A weekend target date names the next business day (Monday 2024-10-14 is Columbus Day, so
  // Tuesday); too soon and over 30 days out are refused. The sandbox clock is at 2024-10-04.
  auto dated = [&](const std::string& date) {
    return Create(R"({"phone_numbers": ["+14155550100"], "target_port_date": ")" + date +
                      R"(", "losing_carrier_information": )" + Lci() + "}",
                  400);
  };
  const auto weekend = dated("2024-10-12");
  EXPECT_EQ(weekend.at("errors").at(0).at("error").as_string(), "NOT_BUSINESS_DAY") << weekend;
  EXPECT_NE(std::string(weekend.at("errors").at(0).at("message").as_string()).find("2024-10-15"),
            std::string::npos)
      << weekend;
  EXPECT_EQ(dated("2024-10-08").at("errors").at(0).at("error").as_string(), "DATE_TOO_SOON");
  EXPECT_EQ(dated("2024-11-29").at("errors").at(0).at("error").as_string(), "DATE_TOO_FAR");
  // A wireless number needs its PIN.
  auto nopin = Create(
      R"({"phone_numbers": ["+13125550120"], "losing_carrier_information": )" + Lci() + "}", 400);
  EXPECT_EQ(nopin.at("errors").at(0).at("error").as_string(), "PIN_REQUIRED") << nopin;
  // Nothing portable: 422 with each number's reason.
  auto none = Create(
      R"({"phone_numbers": ["+18005550100"], "losing_carrier_information": )" + Lci() + "}", 422);
  EXPECT_EQ(none.at("errors").at(0).at("error").as_string(), "NO_PORTABLE_NUMBERS") << none;
  EXPECT_NE(std::string(none.at("errors").at(0).at("message").as_string()).find("toll_free_manual"),
            std::string::npos)
      << none;
  // The same number twice in active requests: 409 naming the first.
  auto first = CreateFor({kAcme1, kAcme2, kAcme3});
  auto clash = Create(
      R"({"phone_numbers": ["+14155550101"], "losing_carrier_information": )" + Lci() + "}", 409);
  EXPECT_NE(clash.at("errors").at(0).at("message").as_string().find(
                std::string(first.at("port_request_id").as_string())),
            std::string::npos);
  // ...and the portability check says so.
  auto check = Call(*api_, "GET", "/v1/sip/port/check?phone_numbers[]=%2B14155550101", sb_);
  EXPECT_NE(check.body.find("in_active_port_request"), std::string::npos) << check.body;
  // A bad post_port fails at creation, not after the port completes.
  auto bad_post = Create(R"({"phone_numbers": ["+12125550155"], "post_port": {"directions":
      [{"type": "inbound"}]}, "losing_carrier_information": )" +
                             Lci() + "}",
                         400);
  EXPECT_EQ(std::string(bad_post.at("errors").at(0).at("field").as_string()).substr(0, 10),
            "post_port.")
      << bad_post;
  // Drafts validate formats but not completeness.
  auto draft = Create(R"({"phone_numbers": ["+14155550199"], "draft": true})");
  EXPECT_EQ(draft.at("status").as_string(), "draft");
  EXPECT_TRUE(draft.at("signature_url").is_null());
}

TEST_P(PortLifecycle, DraftThenSubmitByPutAndNotes) {
  auto draft = Create(R"({"phone_numbers": ["+14155550100", "+14155550101", "+14155550102"],
                          "draft": true})");
  const std::string id(draft.at("port_request_id").as_string());
  auto put = Call(*api_, "PUT", "/v1/sip/port/" + id, sb_,
                  R"({"phone_numbers": )" + Numbers({kAcme1, kAcme2, kAcme3}) +
                      R"(, "losing_carrier_information": )" + Lci() + "}");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Data(put).at("status").as_string(), "waiting_for_signature");
  EXPECT_FALSE(Data(put).at("signature_url").is_null());
  auto note = Call(*api_, "POST", "/v1/sip/port/" + id + "/notes", sb_,
                   R"({"body": "customer will sign tomorrow"})");
  ASSERT_EQ(note.status, 201) << note.body;
  auto notes = Data(Call(*api_, "GET", "/v1/sip/port/" + id + "/notes", sb_));
  ASSERT_EQ(notes.at("notes").as_array().size(), 1U);
  EXPECT_EQ(Count(EventTypes(id), "port.note_created"), 1U);
  // Notes are bounded per request and read in pages.
  for (std::int64_t i = 1; i < porting::kMaxNotesPerRequest; ++i) {
    ASSERT_EQ(Call(*api_, "POST", "/v1/sip/port/" + id + "/notes", sb_, R"({"body": "n"})").status,
              201);
  }
  auto over = Call(*api_, "POST", "/v1/sip/port/" + id + "/notes", sb_, R"({"body": "n"})");
  EXPECT_EQ(over.status, 409) << over.body;
  EXPECT_NE(over.body.find("LIMIT_REACHED"), std::string::npos);
  std::set<std::string> seen_notes;
  std::string cursor;
  int pages = 0;
  do {
    auto page = Data(Call(
        *api_, "GET",
        "/v1/sip/port/" + id + "/notes?limit=200" + (cursor.empty() ? "" : "&cursor=" + cursor),
        sb_));
    for (const auto& n : page.at("notes").as_array()) {
      EXPECT_TRUE(seen_notes.insert(std::string(n.at("id").as_string())).second);
    }
    cursor =
        page.at("next_cursor").is_null() ? "" : std::string(page.at("next_cursor").as_string());
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(seen_notes.size(), static_cast<std::size_t>(porting::kMaxNotesPerRequest));
  EXPECT_EQ(pages, 3);
  // Configuration defaults apply to new requests.
  auto cfg = Call(*api_, "PUT", "/v1/sip/port/configuration", sb_,
                  R"({"default_port_time": "11:30", "default_timezone": "America/Chicago",
                      "loa_expiry_days": 3})");
  ASSERT_EQ(cfg.status, 200) << cfg.body;
  EXPECT_EQ(Call(*api_, "PUT", "/v1/sip/port/configuration", sb_,
                 R"({"default_timezone": "Mars/Olympus"})")
                .status,
            400);
  auto later = CreateFor({"+12125550101"});
  const auto view = Get(std::string(later.at("port_request_id").as_string()));
  EXPECT_EQ(view.at("target_port_time").as_string(), "11:30");
  EXPECT_EQ(view.at("timezone").as_string(), "America/Chicago");
}

TEST_P(PortLifecycle, SandboxIsOnlyForSandboxOrganizations) {
  EXPECT_EQ(Call(*api_, "GET", "/v1/sandbox/clock", key_).status, 404);
  EXPECT_EQ(Call(*api_, "POST", "/v1/sandbox/clock/advance", key_, R"({"days": 1})").status, 404);
  EXPECT_EQ(Call(*api_, "GET", "/v1/sandbox/accounts", key_).status, 404);
  auto clock = Call(*api_, "GET", "/v1/sandbox/clock", sb_);
  ASSERT_EQ(clock.status, 200) << clock.body;
  EXPECT_EQ(Call(*api_, "POST", "/v1/sandbox/clock/advance", sb_, R"({"days": -1})").status, 400);
  EXPECT_EQ(Call(*api_, "POST", "/v1/sandbox/clock/advance", sb_, R"({})").status, 400);
  auto accounts = Data(Call(*api_, "GET", "/v1/sandbox/accounts", sb_));
  EXPECT_GE(accounts.at("accounts").as_array().size(), 3U);
}

TEST_P(PortLifecycle, TwoNodesNeverApplyAStepTwice) {
  // A second service over the same database, as a second `portline serve` would be.
  porting::PortingOptions other_opts;
  other_opts.node_id = "node-b";
  other_opts.live_gateway = true;
  porting::PortingService other(*db_, clock_, box_, *checker_,
                                numbering::CarrierRegistry::Default(), *simulator_,
                                services_->porting_hooks, other_opts);
  std::vector<std::string> ids;
  const std::vector<std::vector<std::string>> sets = {
      {kAcme1, kAcme2, kAcme3}, {"+12125550101", "+12125550102"}, {"+15125550101"}};
  for (const auto& numbers : sets) {
    auto created = CreateFor(numbers);
    ids.emplace_back(created.at("port_request_id").as_string());
    Sign(created);
  }
  auto org = accounts_->FindOrg("sandbox-co");
  ASSERT_TRUE(org);
  // Move the clock a day at a time and let both nodes race over the steps that fall due.
  for (std::int64_t day = 1; day <= 40; ++day) {
    ASSERT_TRUE((*db_->Acquire())
                    ->Execute("UPDATE organizations SET clock_offset_ms = $1 WHERE id = $2",
                              {day * 86400000, org->id}));
    std::thread a([this] { (void)porting_->RunDue(std::nullopt, 100); });
    std::thread b([&other] { (void)other.RunDue(std::nullopt, 100); });
    a.join();
    b.join();
  }
  for (const auto& id : ids) {
    EXPECT_EQ(Status(id), "completed") << Get(id);
    const auto events = EventTypes(id);
    EXPECT_EQ(Count(events, "port.order_submitted"), 1U);
    EXPECT_EQ(Count(events, "port.foc_confirmed"), 1U);
    EXPECT_EQ(Count(events, "port.completed"), 1U);
  }
}

TEST_P(PortLifecycle, BigBatchesEndAsStepByStep) {
  // 160 requests fall due together, so each batch holds them all: on PostgreSQL the batch runs
  // in shards side by side, on one connection here (PoolSize 1), and every request must still
  // end completed with its events gapless and each step once.
  std::vector<std::string> ids;
  for (int i = 0; i < 160; ++i) {
    auto created = CreateFor({"+1212555" + std::to_string(2000 + i)});
    ASSERT_TRUE(created.as_object().contains("port_request_id")) << created;
    ids.emplace_back(created.at("port_request_id").as_string());
    Sign(created);
  }
  auto org = accounts_->FindOrg("sandbox-co");
  ASSERT_TRUE(org);
  std::int64_t steps = 0;
  for (std::int64_t day = 0; day <= 40; ++day) {
    ASSERT_TRUE((*db_->Acquire())
                    ->Execute("UPDATE organizations SET clock_offset_ms = $1 WHERE id = $2",
                              {day * 86400000, org->id}));
    auto ran = porting_->RunDue(std::nullopt, 500);
    ASSERT_TRUE(ran) << ran.error().message << " " << ran.error().detail;
    steps += *ran;
  }
  EXPECT_EQ(steps, 160 * 4) << "submit, carrier answer, activation, post-port";
  for (const auto& id : ids) {
    EXPECT_EQ(Status(id), "completed") << Get(id);
    const auto events = EventTypes(id);  // checks the sequence is gapless
    EXPECT_EQ(Count(events, "port.order_submitted"), 1U);
    EXPECT_EQ(Count(events, "port.foc_confirmed"), 1U);
    EXPECT_EQ(Count(events, "port.number_ported"), 1U);
    EXPECT_EQ(Count(events, "port.completed"), 1U);
  }
  // The ported numbers are the organization's inbound numbers.
  auto rows = (*db_->Acquire())
                  ->Query(
                      "SELECT COUNT(*) FROM number_holdings WHERE org_id = $1 AND source = "
                      "'port_in' AND status = 'active'",
                      {org->id});
  ASSERT_TRUE(rows);
  EXPECT_EQ((*rows)[0].Int(0), 160);
}

// The check's dates come from the organization's clock: a sandbox 40 days ahead gets dates
// after its own today, not the wall clock's.
TEST_P(PortLifecycle, CheckDatesFollowTheSandboxClock) {
  Advance(R"({"days": 40})");
  const auto clock = Data(Call(*api_, "GET", "/v1/sandbox/clock", sb_));
  const std::string today = std::string(clock.at("now").as_string()).substr(0, 10);
  auto check =
      Call(*api_, "GET", std::string("/v1/sip/port/check?phone_numbers[]=%2B") + (kAcme1 + 1), sb_);
  ASSERT_EQ(check.status, 200) << check.body;
  const std::string earliest(Data(check).at("results").at(0).at("earliest_port_date").as_string());
  EXPECT_GT(earliest, today) << "earliest_port_date must be after the sandbox's today";
}

// Without a carrier gateway for live organizations, a live request is refused up front (a
// sandbox one, and a live draft, are not), instead of quietly going to the simulator.
TEST_P(PortLifecycle, LiveRequestsNeedAConfiguredGateway) {
  porting::PortingOptions no_gateway;
  no_gateway.public_url = "http://portline.test";
  porting::PortingService strict(*db_, clock_, box_, *checker_,
                                 numbering::CarrierRegistry::Default(), *simulator_,
                                 services_->porting_hooks, no_gateway);
  auto live = accounts_->CreateOrg("live-co", {"SIP"}, false);
  ASSERT_TRUE(live);
  auto body =
      Json(R"({"phone_numbers": ["+14155550100"], "losing_carrier_information": )" + Lci() + "}")
          .as_object();
  auto refused = strict.Create({live->id, "test"}, body);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().api_code, "PORTING_GATEWAY_NOT_CONFIGURED");
  EXPECT_EQ(refused.error().code, Errc::kUnprocessable);
  body["draft"] = true;
  EXPECT_TRUE(strict.Create({live->id, "test"}, body)) << "a draft is not submitted";
  body.erase("draft");
  auto sandboxed = strict.Create({accounts_->FindOrg("sandbox-co")->id, "test"}, body);
  EXPECT_TRUE(sandboxed) << (sandboxed ? "" : sandboxed.error().message);
}

// A step that keeps failing stops: after kMaxStepAttempts it leaves the queue for
// port_dead_steps with its error, and the request gets one port.step_failed event.
TEST_P(PortLifecycle, AStepThatKeepsFailingEndsDeadWithAnEvent) {
  auto created = CreateFor({kAcme1});
  const std::string id(created.at("port_request_id").as_string());
  const std::string org = accounts_->FindOrg("sandbox-co")->id;
  ASSERT_TRUE(
      (*db_->Acquire())
          ->Execute("INSERT INTO port_jobs (id, org_id, request_id, kind, due_at, payload, "
                    "created_at) VALUES ('pjob_broken', $1, $2, 'no_such_step', 0, '{}', 0)",
                    {org, id}));
  for (int i = 0; i < porting::kMaxStepAttempts + 5; ++i) {
    ASSERT_TRUE(porting_->RunDue(org, 10));
    clock_.Advance(std::chrono::hours(2));  // past any backoff
  }
  {
    auto lease = db_->Acquire();  // the pool has one connection: give it back before the API
    ASSERT_TRUE(lease);
    auto queued = (*lease)->Query("SELECT 1 FROM port_jobs WHERE id = 'pjob_broken'", {});
    ASSERT_TRUE(queued);
    EXPECT_TRUE(queued->empty()) << "a dead step is not retried";
    auto dead = (*lease)->Query(
        "SELECT attempts, last_error FROM port_dead_steps WHERE id = 'pjob_broken'", {});
    ASSERT_TRUE(dead);
    ASSERT_EQ(dead->size(), 1U);
    EXPECT_EQ((*dead)[0].Int(0), porting::kMaxStepAttempts);
    EXPECT_NE((*dead)[0].Text(1).find("no_such_step"), std::string::npos);
  }
  EXPECT_EQ(Count(EventTypes(id), "port.step_failed"), 1U);
}

INSTANTIATE_TEST_SUITE_P(Backends, PortLifecycle, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace portline
