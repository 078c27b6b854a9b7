// /v1/emails: the organization's e-mail outbox (what was sent, what is waiting, why it failed).
#include "api/api.hpp"
#include "api/json.hpp"
#include "mail/mail.hpp"

namespace portline::api {

void RegisterEmailRoutes(Router& router, mail::MailService& mail) {
  router.Add("GET", "/v1/emails", [&mail](Request& req) -> Result<Response> {
    PORTLINE_ASSIGN_OR_RETURN(auto data,
                              mail.List(req.OrgId(), req.Query("port_request_id").value_or("")));
    return DataResponse(200, std::move(data));
  });
}

void Api::AddEmails(mail::MailService& mail) { RegisterEmailRoutes(router_, mail); }

}  // namespace portline::api
