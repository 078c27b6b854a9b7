#pragma once

// E-mail notifications: a durable outbox (table email_outbox, written in the same transaction as
// the event that causes a message) and a delivery worker with retries. Delivery goes through a
// Sender: SMTP (host, port, STARTTLS, AUTH) or, by default, .eml files in an outbox directory so
// `make run` works without a mail server.

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret_box.hpp"
#include "store/database.hpp"

namespace portline::mail {

struct Message {
  std::string id;  // also the Message-ID local part
  std::string from;
  std::vector<std::string> to;
  std::string subject;
  std::string body;  // plain text, UTF-8
  std::chrono::system_clock::time_point date;
};

/// RFC 5322 text of a message (CRLF, MIME text/plain UTF-8, quoted-printable body). Header
/// values are stripped of CR/LF so nothing can inject headers.
[[nodiscard]] std::string Format(const Message& m);

/// Whether `address` is a plain addr-spec we are willing to send to (no display name, no CR/LF).
[[nodiscard]] bool ValidAddress(std::string_view address);

class Sender {
 public:
  virtual ~Sender() = default;
  /// Delivers one message; errors say why (kUnavailable = try again later).
  [[nodiscard]] virtual Result<void> Send(const Message& m) = 0;
};

/// Writes <id>.eml into `dir` (atomically).
[[nodiscard]] std::unique_ptr<Sender> MakeOutboxSender(std::string dir);

struct SmtpOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 587;
  bool starttls = true;  // upgrade with STARTTLS (required when the server offers it)
  std::string username;  // AUTH PLAIN/LOGIN when not empty (only over TLS)
  std::string password;  // never logged
  std::string ca_file;   // trust anchors; empty = the system store
  bool verify = true;    // verify the server certificate and name
  std::string helo = "portline.localdomain";
  std::chrono::milliseconds timeout{15000};  // per network operation
};
[[nodiscard]] std::unique_ptr<Sender> MakeSmtpSender(SmtpOptions options);

/// The outbox: listing for the API and the delivery worker.
class MailService {
 public:
  /// `box` opens the bodies that were sealed for the outbox (Outgoing::sealed_body).
  MailService(store::Database& db, Sender& sender, const Clock& clock, const SecretBox& box,
              std::string from);

  /// Claims due messages (a lease per message, so several nodes never send one twice in a
  /// row), sends them without holding a database connection, and records the outcome: sent, or
  /// retried at 1 min, 5 min, 15 min, 1 h, 4 h, 12 h, 24 h, then failed. Returns how many it
  /// tried.
  [[nodiscard]] Result<int> RunDue(int limit = 50);
  /// GET /v1/emails: newest first; `port_request_id` filters when not empty.
  [[nodiscard]] Result<boost::json::value> List(std::string_view org,
                                                std::string_view port_request_id);

 private:
  store::Database& db_;
  Sender& sender_;
  const Clock& clock_;
  const SecretBox& box_;
  std::string from_;
};

/// A message for the outbox (see EnqueueAll).
struct Outgoing {
  std::string org, request_id, event_type;
  std::vector<std::string> to;
  std::string subject, body;
  /// When the message carries a secret: the text as sent, sealed with the server key; `body`
  /// is then the text without the secret (what the outbox shows).
  std::string sealed_body;
  /// The time the message is dated (its Date header): the organization's clock, which a
  /// sandbox may have moved; 0 = when it was queued.
  std::int64_t dated_at = 0;
};

/// Inserts messages into the outbox in one statement inside the caller's transaction; messages
/// without a valid recipient are left out.
[[nodiscard]] Result<void> EnqueueAll(store::Connection& c, const std::vector<Outgoing>& messages,
                                      std::int64_t now_ms);

}  // namespace portline::mail
