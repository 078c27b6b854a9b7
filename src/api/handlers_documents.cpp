// /v1/sip/port/document (Bland's upload) and /v1/sip/port/documents…: metadata and download.
#include <boost/json/object.hpp>

#include "api/api.hpp"
#include "api/json.hpp"
#include "documents/service.hpp"

namespace portline::api {
void RegisterDocumentRoutes(Router& router, documents::DocumentService& docs) {
  router.AddWithBody(
      "POST", "/v1/sip/port/document",
      [&docs](Request& req) -> Result<Response> {
        const std::string_view ct = req.HeaderValue("content-type").value_or("");
        return Ok(docs.Upload(req.OrgId(), req.body, ct), 201);
      },
      "multipart/form-data");
  router.Add("GET", "/v1/sip/port/documents", [&docs](Request& req) -> Result<Response> {
    return Ok(docs.List(req.OrgId(), req.Query("port_request_id").value_or("")));
  });
  router.Add("GET", "/v1/sip/port/documents/{document_sid}",
             [&docs](Request& req) -> Result<Response> {
               return Ok(docs.Get(req.OrgId(), req.PathParam("document_sid")));
             });
  router.Add("GET", "/v1/sip/port/documents/{document_sid}/content",
             [&docs](Request& req) -> Result<Response> {
               PORTLINE_ASSIGN_OR_RETURN(auto content,
                                         docs.Download(req.OrgId(), req.PathParam("document_sid")));
               Response r;
               r.content_type = content.content_type;
               r.body = std::move(content.bytes);
               r.headers.push_back(
                   {"Content-Disposition", "attachment; filename=\"" + content.filename + "\""});
               r.headers.push_back({"X-Content-Type-Options", "nosniff"});
               return r;
             });
}

void Api::AddDocuments(documents::DocumentService& docs) { RegisterDocumentRoutes(router_, docs); }

}  // namespace portline::api
