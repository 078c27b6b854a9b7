// A request's events and notes.
#include <algorithm>
#include <map>

#include "core/assert.hpp"
#include "core/crypto.hpp"
#include "core/time.hpp"
#include "core/utf8.hpp"
#include "documents/content.hpp"
#include "documents/loa.hpp"
#include "holdings/holdings.hpp"
#include "mail/mail.hpp"
#include "numbering/calendar.hpp"
#include "porting/internal.hpp"
#include "porting/rejections.hpp"
#include "porting/service.hpp"

namespace portline::porting {

Result<Json> PortingService::Events(std::string_view org, std::string_view id,
                                    std::int64_t after_sequence, int limit) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_RETURN_IF_ERROR(RequireRequest(*lease, org, id));
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query("SELECT id, sequence, type, actor, data, occurred_at FROM "
                              "port_events WHERE request_id = $1 AND sequence > $2 ORDER BY "
                              "sequence LIMIT $3",
                              {id, after_sequence, static_cast<std::int64_t>(limit + 1)}));
  std::optional<std::string> next;
  if (rows.size() > static_cast<std::size_t>(limit)) {
    rows.resize(static_cast<std::size_t>(limit));
    next = std::to_string(rows.back().Int(1));
  }
  json::array out;
  for (const auto& r : rows) {
    out.push_back(Object{{"id", r.Text(0)},
                         {"sequence", r.Int(1)},
                         {"type", r.Text(2)},
                         {"actor", r.Text(3)},
                         {"data", json::parse(r.Text(4))},
                         {"occurred_at", TimestampJson(r.Int(5))}});
  }
  return Json(Object{{"events", std::move(out)},
                     {"next_cursor", next ? json::value(*next) : json::value(nullptr)}});
}

Result<Json> PortingService::AddNote(const Actor& actor, std::string_view id, const Object& body) {
  FieldErrors errors;
  errors.RejectUnknown(body, {"body", "author"});
  const auto text = errors.String(body, "body", 5000);
  const auto author = errors.OptString(body, "author", 100);
  if (text && text->empty()) {
    errors.Add("body", "REQUIRED", "body must not be empty");
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto t, LoadOrgTime(*lease, actor.org_id));
  const std::int64_t now = t.now_ms();
  auto add = [&](store::Connection& c) -> Result<Json> {
    PORTLINE_RETURN_IF_ERROR(LockRequest(c, id));
    PORTLINE_RETURN_IF_ERROR(RequireRequest(c, actor.org_id, id));
    PORTLINE_ASSIGN_OR_RETURN(
        auto count, c.Query("SELECT COUNT(*) FROM port_notes WHERE request_id = $1", {id}));
    if (count.at(0).Int(0) >= kMaxNotesPerRequest) {
      return FailCode(
          Errc::kConflict, "LIMIT_REACHED",
          "a port request has at most " + std::to_string(kMaxNotesPerRequest) + " notes");
    }
    const std::string note_id = NewId("note", clock_.Now());
    const std::string who = author.value_or(actor.who);
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("INSERT INTO port_notes (id, request_id, org_id, author, body, created_at) "
                  "VALUES ($1, $2, $3, $4, $5, $6)",
                  {note_id, id, actor.org_id, who, *text, now}));
    PORTLINE_RETURN_IF_ERROR(Event(c, id, actor.org_id, "port.note_created", actor.who,
                                   Object{{"note_id", note_id}}, now));
    return Json(Object{{"id", note_id},
                       {"port_request_id", id},
                       {"author", who},
                       {"body", *text},
                       {"created_at", TimestampJson(now)}});
  };
  return store::WithTransaction(*lease, add);
}

Result<Json> PortingService::Notes(std::string_view org, std::string_view id,
                                   const std::optional<std::string>& after, int limit) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_RETURN_IF_ERROR(RequireRequest(*lease, org, id));
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query("SELECT id, author, body, created_at FROM port_notes WHERE "
                              "request_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                              {id, after.value_or(""), static_cast<std::int64_t>(limit) + 1}));
  std::optional<std::string> next;
  if (rows.size() > static_cast<std::size_t>(limit)) {
    rows.resize(static_cast<std::size_t>(limit));
    next = rows.back().Text(0);
  }
  json::array out;
  for (const auto& r : rows) {
    out.push_back(Object{{"id", r.Text(0)},
                         {"author", r.Text(1)},
                         {"body", r.Text(2)},
                         {"created_at", TimestampJson(r.Int(3))}});
  }
  return Json(Object{{"notes", std::move(out)},
                     {"next_cursor", next ? json::value(*next) : json::value(nullptr)}});
}

}  // namespace portline::porting
