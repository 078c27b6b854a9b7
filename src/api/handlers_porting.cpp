// /v1/sip/port*: portability checks, port requests and their lifecycle; /v1/sandbox/*: the
// sandbox carrier network and clock; /sign/{token}: the signature page of a port request.
#include <boost/json/array.hpp>
#include <cctype>
#include <set>

#include "api/api.hpp"
#include "api/json.hpp"
#include "core/time.hpp"
#include "numbering/nanp.hpp"
#include "numbering/timezone.hpp"

namespace portline::api {
namespace {

Result<Response> RunCheck(const numbering::PortabilityChecker& checker,
                          porting::PortingService& porting, const Request& req,
                          const std::vector<std::string>& numbers) {
  const std::size_t max = checker.options().max_numbers;
  if (numbers.empty()) {
    return FailCode(Errc::kInvalidArgument, "REQUIRED",
                    "phone_numbers is required: give at least one number", "phone_numbers");
  }
  if (numbers.size() > max) {
    return FailCode(Errc::kInvalidArgument, "TOO_MANY",
                    "at most " + std::to_string(max) + " numbers per check (got " +
                        std::to_string(numbers.size()) + "); split the list",
                    "phone_numbers");
  }
  std::vector<std::string> e164;
  e164.reserve(numbers.size());
  for (const auto& in : numbers) {
    if (auto n = numbering::ParseNanp(in)) {
      e164.push_back(n->E164());
    }
  }
  PORTLINE_ASSIGN_OR_RETURN(auto held, porting.NumbersHeld(req.OrgId(), e164));
  // Dates on the organization's clock: a sandbox that moved its clock sees dates from there.
  PORTLINE_ASSIGN_OR_RETURN(const auto org_now, porting.OrgNow(req.OrgId()));
  PORTLINE_ASSIGN_OR_RETURN(auto porting_now, porting.NumbersInActiveRequests(req.OrgId(), e164));
  const auto held_by = numbering::HeldByLookup(held);
  auto in_port_request = [&porting_now](std::string_view n) {
    return porting_now.count(std::string(n)) > 0;
  };
  Response r;
  r.body = "{\"data\":" +
           numbering::PortabilityChecker::ToJson(
               checker.Check(numbers, held_by, in_port_request, org_now), checker.DataSource()) +
           ",\"errors\":null}";
  return r;
}

porting::Actor ActorOf(const Request& req) {
  return porting::Actor{req.OrgId(), "key:" + req.principal->key_id};
}

Result<porting::ListFilter> ParseListFilter(const Request& req) {
  porting::ListFilter f;
  FieldErrors errors;
  static const std::set<std::string> kStatuses = {
      "draft",           "waiting_for_signature", "submitted", "in_progress", "completed",
      "action_required", "cancel_pending",        "canceled",  "failed",      "expired"};
  if (auto s = req.Query("status")) {
    std::size_t start = 0;
    while (start <= s->size()) {
      const auto comma = s->find(',', start);
      const std::string one =
          s->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (kStatuses.count(one) == 0) {
        errors.Add("status", "INVALID_VALUE",
                   "status '" + one +
                       "' is not a port request status (draft, waiting_for_signature, "
                       "submitted, in_progress, completed, action_required, cancel_pending, "
                       "canceled, failed, expired)");
      } else {
        f.statuses.push_back(one);
      }
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 1;
    }
  }
  if (auto n = req.Query("phone_number")) {
    auto parsed = numbering::ParseNanp(*n);
    if (!parsed) {
      errors.Add("phone_number", "INVALID_NUMBER", "phone_number must be an E.164 number");
    } else {
      f.phone_number = parsed->E164();
    }
  }
  f.customer_reference = req.Query("customer_reference");
  for (const auto& [key, slot] :
       {std::pair<const char*, std::optional<std::int64_t>*>{"created_after", &f.created_after},
        {"created_before", &f.created_before}}) {
    if (auto v = req.Query(key)) {
      const auto t = ParseRfc3339(*v);
      if (!t) {
        errors.Add(key, "INVALID_DATE",
                   std::string(key) + " must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z");
      } else {
        *slot = ToUnixMillis(*t);
      }
    }
  }
  for (const auto& [key, slot] :
       {std::pair<const char*, std::optional<std::string>*>{"foc_date_from", &f.foc_from},
        {"foc_date_to", &f.foc_to}}) {
    if (auto v = req.Query(key)) {
      if (v->size() != 10 || !numbering::ParseDate(*v)) {
        errors.Add(key, "INVALID_DATE", std::string(key) + " must be a date YYYY-MM-DD");
      } else {
        *slot = *v;
      }
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  PORTLINE_ASSIGN_OR_RETURN(auto page, ParsePageParams(req, "port", 20, 100));
  f.limit = page.limit;
  f.after = page.cursor;
  return f;
}

std::string Html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// application/x-www-form-urlencoded → pairs ('+' is a space; bad escapes are kept verbatim).
std::vector<std::pair<std::string, std::string>> ParseForm(std::string_view body) {
  auto decode = [](std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out.push_back(' ');
      } else if (s[i] == '%' && i + 2 < s.size() &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 1])) != 0 &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 2])) != 0) {
        out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start < body.size()) {
    auto amp = body.find('&', start);
    if (amp == std::string_view::npos) {
      amp = body.size();
    }
    const auto part = body.substr(start, amp - start);
    const auto eq = part.find('=');
    out.emplace_back(decode(part.substr(0, eq)),
                     eq == std::string_view::npos ? std::string() : decode(part.substr(eq + 1)));
    start = amp + 1;
  }
  return out;
}

Response PdfResponse(std::string pdf, std::string disposition) {
  Response r;
  r.content_type = "application/pdf";
  r.body = std::move(pdf);
  r.headers.push_back({"Content-Disposition", std::move(disposition)});
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  return r;
}

// The page's look, shared by the form and the status pages; phone first.
constexpr std::string_view kPageHead =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>Letter of Authorization</title><style>"
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1a1a1a}h1{font-size:1.5rem}table{border-collapse:collapse;"
    "width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}"
    "input[type=text]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}"
    "button{padding:.7rem 1.2rem;font-size:1rem}.error{color:#b00020}.done{color:#006400}"
    ".box{border:1px solid #ccc;border-radius:.5rem;padding:1rem;background:#fafafa}"
    "</style></head><body>";

// The page never runs anything but its own pad script, loads nothing, and is never framed.
void PageHeaders(Response& r) {
  r.content_type = "text/html; charset=utf-8";
  r.headers.push_back({"Cache-Control", "no-store"});
  r.headers.push_back({"Referrer-Policy", "no-referrer"});
  r.headers.push_back({"X-Frame-Options", "DENY"});
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  r.headers.push_back({"Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'; script-src 'self' "
                       "'unsafe-inline'; img-src data:; form-action 'self'; "
                       "frame-ancestors 'none'; base-uri 'none'"});
}

// What a signer sees once the link has done its job (or can no longer): who was to sign, what
// happened, and how to get a new link; nothing else is served.
Response StatusPage(const std::string& title, const std::string& text, int status) {
  Response r;
  r.status = status;
  PageHeaders(r);
  r.body = std::string(kPageHead) + "<h1>" + Html(title) + "</h1><div class=\"box\"><p>" + text +
           "</p></div></body></html>";
  return r;
}

Response SignaturePageResponse(const porting::SignatureView& v, std::string_view token,
                               const std::string& error, int status) {
  const std::string who =
      "<strong>" + Html(v.representative_name) + "</strong> (" + Html(v.representative_email) + ")";
  if (v.signed_at) {
    return StatusPage("Letter of Authorization signed",
                      "Signed by " + Html(v.signer_name) + " on " +
                          Html(FormatRfc3339(FromUnixMillis(*v.signed_at))) + ", for " +
                          Html(v.customer) +
                          ". Thank you: nothing more is needed from you. The company that "
                          "asked you to sign has the signed copy.",
                      status);
  }
  if (v.status == "expired") {
    return StatusPage("This signing link has expired",
                      "The Letter of Authorization for " + Html(v.customer) +
                          " was to be signed by " + who +
                          ". Ask the company that sent you this link to send a new one.",
                      410);
  }
  if (v.status != "waiting_for_signature") {
    return StatusPage("No signature is needed",
                      "This Letter of Authorization for " + Html(v.customer) +
                          " no longer needs a signature (the request was changed or withdrawn). "
                          "If you expected to sign, ask the company that sent you this link.",
                      410);
  }
  std::string rows;
  for (const auto& [number, carrier] : v.numbers) {
    rows += "<tr><td>" + Html(number) + "</td><td>" + Html(carrier) + "</td></tr>";
  }
  std::string body(kPageHead);
  body += "<h1>Letter of Authorization</h1>";
  body += "<p>To be signed by " + who + ".</p>";
  body +=
      "<p>I authorize Portline and its carrier partners to act as my agent to move the "
      "telephone numbers below from their current carrier, for <strong>" +
      Html(v.customer) + "</strong>, service address " + Html(v.address) +
      ", with a requested port date of " + Html(v.target_date) + ".</p>";
  body += "<table><tr><th>Number</th><th>Current carrier</th></tr>" + rows + "</table>";
  body +=
      "<p><a href=\"/sign/" + Html(token) + "/loa\">Read the Letter of Authorization (PDF)</a></p>";
  if (!error.empty()) {
    body += "<p class=\"error\" role=\"alert\">" + Html(error) + "</p>";
  }
  body += "<form method=\"post\" action=\"/sign/" + Html(token) +
          "\"><p><label>Your full name, as the authorized representative<br>"
          "<input type=\"text\" name=\"name\" required maxlength=\"200\" "
          "autocomplete=\"name\"></label></p><p><label>Title (optional)<br>"
          "<input type=\"text\" name=\"title\" maxlength=\"100\"></label></p>"
          "<p>Draw your signature (optional)<br><canvas id=\"pad\" width=\"320\" height=\"110\" "
          "style=\"border:1px solid #999;touch-action:none;max-width:100%\"></canvas><br>"
          "<button type=\"button\" id=\"clear\">Clear</button>"
          "<input type=\"hidden\" name=\"drawn\" id=\"drawn\"></p>"
          "<p><label><input type=\"checkbox\" name=\"consent\" value=\"yes\" required> I am "
          "authorized to port these numbers and I agree to this Letter of Authorization."
          "</label></p><p><button type=\"submit\">Sign</button></p></form>"
          "<script>(function(){var c=document.getElementById('pad'),x=c.getContext('2d'),d=false,"
          "n=false;x.lineWidth=2;x.lineCap='round';function p(e){var r=c.getBoundingClientRect(),"
          "t=e.touches?e.touches[0]:e;return[(t.clientX-r.left)*c.width/r.width,(t.clientY-r.top)"
          "*c.height/r.height];}function s(e){d=true;n=true;var q=p(e);x.beginPath();"
          "x.moveTo(q[0],q[1]);e.preventDefault();}function m(e){if(!d)return;var q=p(e);"
          "x.lineTo(q[0],q[1]);x.stroke();e.preventDefault();}function u(){d=false;}"
          "['mousedown','touchstart'].forEach(function(k){c.addEventListener(k,s);});"
          "['mousemove','touchmove'].forEach(function(k){c.addEventListener(k,m);});"
          "['mouseup','mouseleave','touchend'].forEach(function(k){c.addEventListener(k,u);});"
          "document.getElementById('clear').onclick=function(){x.clearRect(0,0,c.width,c.height);"
          "n=false;};c.closest('form').addEventListener('submit',function(){"
          "document.getElementById('drawn').value=n?c.toDataURL('image/png'):'';});})();</script>";
  body += "</body></html>";
  Response r;
  r.status = status;
  PageHeaders(r);
  r.body = std::move(body);
  return r;
}

Response LinkNotValid(const Error& e) {
  return StatusPage("This signing link is not valid",
                    Html(e.message) + ". Ask the company that sent it to you for a new link.", 404);
}

}  // namespace

void RegisterPortingRoutes(Router& router, const numbering::PortabilityChecker& checker,
                           porting::PortingService& porting, carriers::SimulatedNetwork* sandbox) {
  router.Add("GET", "/v1/sip/port/check", [&checker, &porting](Request& req) -> Result<Response> {
    auto numbers = req.QueryAll("phone_numbers[]");
    for (auto& n : req.QueryAll("phone_numbers")) {
      numbers.push_back(std::move(n));
    }
    return RunCheck(checker, porting, req, numbers);
  });

  router.Add("POST", "/v1/sip/port/check", [&checker, &porting](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    FieldErrors errors;
    errors.RejectUnknown(body, {"phone_numbers"});
    std::vector<std::string> numbers;
    const auto* list = body.if_contains("phone_numbers");
    if (list == nullptr || !list->is_array()) {
      errors.Add("phone_numbers", "REQUIRED", "phone_numbers must be an array of strings");
    } else {
      numbers.reserve(list->get_array().size());
      std::size_t i = 0;
      for (const auto& v : list->get_array()) {
        if (!v.is_string()) {
          errors.Add("phone_numbers[" + std::to_string(i) + "]", "INVALID_TYPE",
                     "phone_numbers[" + std::to_string(i) + "] must be a string");
        } else {
          numbers.emplace_back(v.get_string());
        }
        ++i;
      }
    }
    if (!errors.empty()) {
      return tl::unexpected(errors.ToError());
    }
    return RunCheck(checker, porting, req, numbers);
  });

  router.Add("POST", "/v1/sip/port/initiate", [&porting](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    return Ok(porting.Create(ActorOf(req), body), 201);
  });
  router.Add("GET", "/v1/sip/port", [&porting](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto filter, ParseListFilter(req));
    return Ok(porting.List(req.OrgId(), filter));
  });
  router.Add("GET", "/v1/sip/port/configuration", [&porting](Request& req) -> Result<Response> {
    return Ok(porting.GetConfiguration(req.OrgId()));
  });
  router.Add("PUT", "/v1/sip/port/configuration", [&porting](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    return Ok(porting.PutConfiguration(req.OrgId(), body));
  });
  router.Add("GET", "/v1/sip/port/{id}", [&porting](Request& req) -> Result<Response> {
    return Ok(porting.Get(req.OrgId(), req.PathParam("id")));
  });
  router.Add("PUT", "/v1/sip/port/{id}", [&porting](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    return Ok(porting.Replace(ActorOf(req), req.PathParam("id"), body));
  });
  router.Add("DELETE", "/v1/sip/port/{id}", [&porting](Request& req) -> Result<Response> {
    return Ok(porting.Cancel(ActorOf(req), req.PathParam("id")));
  });
  router.Add("GET", "/v1/sip/port/{id}/events", [&porting](Request& req) -> Result<Response> {
    auto page = ParsePageParams(
        req,
        [](std::string_view c) {
          return !c.empty() && c.size() < 19 &&
                 std::all_of(c.begin(), c.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
        },
        100, 1000);
    if (!page) {
      return tl::unexpected(page.error());
    }
    const std::int64_t after = page->cursor ? std::stoll(*page->cursor) : 0;
    return Ok(porting.Events(req.OrgId(), req.PathParam("id"), after, page->limit));
  });
  router.Add("GET", "/v1/sip/port/{id}/numbers/{phone_number}",
             [&porting](Request& req) -> Result<Response> {
               return Ok(porting.GetNumber(req.OrgId(), req.PathParam("id"),
                                           req.PathParam("phone_number")));
             });
  router.Add("DELETE", "/v1/sip/port/{id}/numbers/{phone_number}",
             [&porting](Request& req) -> Result<Response> {
               return Ok(porting.CancelNumber(ActorOf(req), req.PathParam("id"),
                                              req.PathParam("phone_number")));
             });
  router.Add("POST", "/v1/sip/port/{id}/notes", [&porting](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    return Ok(porting.AddNote(ActorOf(req), req.PathParam("id"), body), 201);
  });
  router.Add("GET", "/v1/sip/port/{id}/notes", [&porting](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto page, ParsePageParams(req, "note", 100, 500));
    return Ok(porting.Notes(req.OrgId(), req.PathParam("id"), page.cursor, page.limit));
  });
  router.Add("GET", "/v1/sip/port/{id}/activations", [&porting](Request& req) -> Result<Response> {
    return Ok(porting.Activations(req.OrgId(), req.PathParam("id")));
  });
  router.Add("POST", "/v1/sip/port/{id}/activate", [&porting](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    return Ok(porting.Activate(ActorOf(req), req.PathParam("id"), body));
  });

  // The sandbox: only sandbox organizations see it (live ones get 404).
  auto sandbox_only = [&porting](const Request& req) -> Result<void> {
    PORTLINE_ASSIGN_OR_RETURN(bool is_sandbox, porting.IsSandbox(req.OrgId()));
    if (!is_sandbox) {
      return FailCode(Errc::kNotFound, "NOT_SANDBOX",
                      "no route for " + req.path +
                          " (sandbox routes exist only for sandbox "
                          "organizations)");
    }
    return {};
  };
  router.Add("GET", "/v1/sandbox/clock", [&porting](Request& req) -> Result<Response> {
    return Ok(porting.SandboxClock(req.OrgId()));
  });
  router.Add("POST", "/v1/sandbox/clock/advance", [&porting](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
    return Ok(porting.AdvanceClock(req.OrgId(), body));
  });
  router.Add("POST", "/v1/sandbox/accounts",
             [sandbox, sandbox_only](Request& req) -> Result<Response> {
               PORTLINE_RETURN_IF_ERROR(sandbox_only(req));
               if (sandbox == nullptr) {
                 return FailCode(Errc::kNotFound, "NOT_SANDBOX", "no simulated carrier network");
               }
               PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
               return Ok(sandbox->CreateAccount(req.OrgId(), body), 201);
             });
  router.Add("GET", "/v1/sandbox/accounts",
             [sandbox, sandbox_only](Request& req) -> Result<Response> {
               PORTLINE_RETURN_IF_ERROR(sandbox_only(req));
               if (sandbox == nullptr) {
                 return FailCode(Errc::kNotFound, "NOT_SANDBOX", "no simulated carrier network");
               }
               return Ok(sandbox->ListAccounts(req.OrgId()));
             });

  router.Add("PATCH", "/v1/sandbox/accounts/{account_id}",
             [sandbox, sandbox_only](Request& req) -> Result<Response> {
               PORTLINE_RETURN_IF_ERROR(sandbox_only(req));
               if (sandbox == nullptr) {
                 return FailCode(Errc::kNotFound, "NOT_SANDBOX", "no simulated carrier network");
               }
               PORTLINE_ASSIGN_OR_RETURN(auto body, ParseJsonObjectBody(req));
               return Ok(sandbox->UpdateAccount(req.OrgId(), req.PathParam("account_id"), body));
             });

  router.Add("GET", "/v1/sip/port/{id}/loa", [&porting](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto pdf, porting.Loa(req.OrgId(), req.PathParam("id")));
    return PdfResponse(std::move(pdf),
                       "attachment; filename=\"loa-" + req.PathParam("id") + ".pdf\"");
  });
  router.Add("POST", "/v1/sip/port/{id}/signature/resend",
             [&porting](Request& req) -> Result<Response> {
               return Ok(porting.ResendSignature(ActorOf(req), req.PathParam("id")));
             });

  // The signature page: no API key; the unguessable token is the credential.
  router.Add("GET", "/sign/{token}/loa", [&porting](Request& req) -> Result<Response> {
    // Only the LOA to be signed: once signed or expired the link shows its status page.
    auto page = porting.SignaturePage(req.PathParam("token"));
    if (!page) {
      return LinkNotValid(page.error());
    }
    if (page->signed_at || page->status != "waiting_for_signature") {
      return SignaturePageResponse(*page, req.PathParam("token"), {}, 410);
    }
    auto pdf = porting.RenderLoa(*page);
    if (!pdf) {
      return LinkNotValid(pdf.error());
    }
    Response r = PdfResponse(std::move(*pdf), "inline; filename=\"loa.pdf\"");
    r.headers.push_back({"Cache-Control", "no-store"});
    r.headers.push_back({"Referrer-Policy", "no-referrer"});
    return r;
  });
  router.Add("GET", "/sign/{token}", [&porting](Request& req) -> Result<Response> {
    const auto& token = req.PathParam("token");
    auto page = porting.SignaturePage(token);
    if (!page) {
      return LinkNotValid(page.error());
    }
    return SignaturePageResponse(*page, token, {}, 200);
  });
  router.AddForm("POST", "/sign/{token}", [&porting](Request& req) -> Result<Response> {
    const auto& token = req.PathParam("token");
    porting::SignatureInput in;
    for (const auto& [k, v] : ParseForm(req.body)) {
      if (k == "name") {
        in.name = v;
      } else if (k == "title") {
        in.title = v;
      } else if (k == "consent") {
        in.consent = v == "yes" || v == "on" || v == "true";
      } else if (k == "drawn") {
        in.drawn = v;
      }
    }
    while (!in.name.empty() && in.name.back() == ' ') {
      in.name.pop_back();
    }
    in.ip = req.remote_addr;
    in.user_agent = std::string(req.HeaderValue("user-agent").value_or(""));
    auto signed_page = porting.Sign(token, in);
    if (signed_page) {
      return SignaturePageResponse(*signed_page, token, {}, 200);
    }
    auto page = porting.SignaturePage(token);
    if (!page) {
      return LinkNotValid(page.error());
    }
    return SignaturePageResponse(*page, token, signed_page.error().message,
                                 HttpStatus(signed_page.error().code));
  });
}

}  // namespace portline::api
