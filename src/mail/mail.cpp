#include "mail/mail.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <csignal>
#include <ctime>
#include <deque>
#include <filesystem>

#include "core/crypto.hpp"
#include "core/json_util.hpp"
#include "mail/smtp_reply.hpp"
#include "net/resolve.hpp"

namespace portline::mail {
namespace {

namespace json = boost::json;

std::string OneLine(std::string_view s) {
  std::string out;
  for (char c : s) {
    out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  }
  return out;
}

std::string Base64(std::string_view s) {
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    const auto n = (static_cast<unsigned>(static_cast<unsigned char>(s[i])) << 16) |
                   (static_cast<unsigned>(static_cast<unsigned char>(s[i + 1])) << 8) |
                   static_cast<unsigned char>(s[i + 2]);
    out += {kB64[(n >> 18) & 63], kB64[(n >> 12) & 63], kB64[(n >> 6) & 63], kB64[n & 63]};
  }
  if (i < s.size()) {
    unsigned n = static_cast<unsigned>(static_cast<unsigned char>(s[i])) << 16;
    if (i + 1 < s.size()) {
      n |= static_cast<unsigned>(static_cast<unsigned char>(s[i + 1])) << 8;
    }
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += i + 1 < s.size() ? kB64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// RFC 2047 encoded-word for a non-ASCII header value.
std::string HeaderText(std::string_view s) {
  const std::string line = OneLine(s);
  bool ascii = true;
  for (char c : line) {
    ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  }
  if (ascii) {
    return line;
  }
  const std::string b64 = Base64(line);
  return "=?UTF-8?B?" + b64 + "?=";
}

// Quoted-printable (RFC 2045) with CRLF line breaks and soft breaks at 76 characters.
std::string QuotedPrintable(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  std::size_t col = 0;
  auto put = [&](std::string_view chunk) {
    if (col + chunk.size() > 75) {
      out += "=\r\n";
      col = 0;
    }
    out += chunk;
    col += chunk.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\r\n";
      col = 0;
    } else if (c == '\r') {
      continue;
    } else if ((c >= 33 && c <= 126 && c != '=') ||
               (c == ' ' && i + 1 < text.size() && text[i + 1] != '\n')) {
      put(std::string(1, static_cast<char>(c)));
    } else {
      const char enc[] = {'=', kHex[c >> 4], kHex[c & 15], 0};
      put(enc);
    }
  }
  return out;
}

std::string RfcDate(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

class OutboxSender final : public Sender {
 public:
  explicit OutboxSender(std::string dir) : dir_(std::move(dir)) {}
  Result<void> Send(const Message& m) override {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    const std::string path = dir_ + "/" + m.id + ".eml";
    const std::string tmp = path + ".tmp";
    const std::string text = Format(m);
    const int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0640);
    if (fd < 0) {
      return Fail(Errc::kUnavailable, "cannot write to the mail outbox " + dir_);
    }
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                    ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
      ::unlink(tmp.c_str());
      return Fail(Errc::kUnavailable, "cannot write to the mail outbox " + dir_);
    }
    return {};
  }

 private:
  std::string dir_;
};

// A blocking SMTP session with per-operation timeouts (it runs on a worker thread).
class SmtpSession {
 public:
  explicit SmtpSession(const SmtpOptions& o) : o_(o) {}
  ~SmtpSession() {
    if (ssl_ != nullptr) {
      SSL_free(ssl_);
    }
    if (ctx_ != nullptr) {
      SSL_CTX_free(ctx_);
    }
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }

  Result<void> Connect() {
    const std::string port = std::to_string(o_.port);
    // The lookup has the same deadline as every other SMTP step.
    auto addresses = net::Resolve(o_.host, o_.port, std::chrono::steady_clock::now() + o_.timeout);
    if (!addresses) {
      return Fail(addresses.error().code, "SMTP: " + addresses.error().message);
    }
    const net::ResolvedAddress& to = addresses->front();
    fd_ = ::socket(to.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{static_cast<time_t>(o_.timeout.count() / 1000),
               static_cast<suseconds_t>((o_.timeout.count() % 1000) * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    const int rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&to.addr), to.length);
    if (rc != 0) {
      return Fail(Errc::kUnavailable,
                  "SMTP: connect to " + o_.host + ":" + port + ": " + ErrnoText(errno));
    }
    return {};
  }

  // Reads one (possibly multi-line) reply; returns the code and the text of every line.
  Result<SmtpReply> Reply() {
    SmtpReplyReader reader;
    while (true) {
      PORTLINE_ASSIGN_OR_RETURN(std::string line, ReadLine());
      PORTLINE_ASSIGN_OR_RETURN(auto reply, reader.Add(line));
      if (reply) {
        return std::move(*reply);
      }
    }
  }

  Result<SmtpReply> Command(const std::string& line, int expect, std::string_view shown = {}) {
    PORTLINE_RETURN_IF_ERROR(Write(line + "\r\n"));
    PORTLINE_ASSIGN_OR_RETURN(auto reply, Reply());
    if (reply.code != expect) {
      const std::string what(shown.empty() ? std::string_view(line).substr(0, 20) : shown);
      return Fail(reply.code >= 500 ? Errc::kUnprocessable : Errc::kUnavailable,
                  "SMTP: " + what + " answered " + OneLine(reply.text));
    }
    return reply;
  }

  Result<void> StartTls() {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    if (o_.verify) {
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
      if (o_.ca_file.empty()) {
        SSL_CTX_set_default_verify_paths(ctx_);
      } else if (SSL_CTX_load_verify_locations(ctx_, o_.ca_file.c_str(), nullptr) != 1) {
        return Fail(Errc::kInvalidArgument, "SMTP: cannot read the CA file " + o_.ca_file);
      }
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(o_.host.c_str()));
    if (o_.verify) {
      in6_addr ip{};
      if (inet_pton(AF_INET, o_.host.c_str(), &ip) == 1 ||
          inet_pton(AF_INET6, o_.host.c_str(), &ip) == 1) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), o_.host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl_), o_.host.c_str(), 0);
      }
    }
    if (SSL_connect(ssl_) != 1) {
      const long v = SSL_get_verify_result(ssl_);
      return Fail(Errc::kUnavailable,
                  std::string("SMTP: TLS handshake failed: ") +
                      (v != X509_V_OK ? X509_verify_cert_error_string(v) : "handshake error"));
    }
    tls_ = true;
    return {};
  }

  Result<void> Write(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const long n = tls_
                         ? SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done))
                         : ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) {
        return Fail(Errc::kUnavailable, "SMTP: connection lost while writing");
      }
      done += static_cast<std::size_t>(n);
    }
    return {};
  }

 private:
  Result<std::string> ReadLine() {
    while (true) {
      const std::size_t eol = in_.find("\r\n");
      if (eol != std::string::npos) {
        std::string line = in_.substr(0, eol);
        in_.erase(0, eol + 2);
        return line;
      }
      if (in_.size() > 8192) {
        return Fail(Errc::kUnavailable, "SMTP: reply line too long");
      }
      char buf[1024];
      const long n = tls_ ? SSL_read(ssl_, buf, sizeof(buf)) : ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        return Fail(Errc::kUnavailable, "SMTP: no reply from the server (timeout or closed)");
      }
      in_.append(buf, static_cast<std::size_t>(n));
    }
  }

  const SmtpOptions& o_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool tls_ = false;
  std::string in_;
};

std::string AddrOnly(std::string_view from) {
  const std::size_t lt = from.find('<');
  const std::size_t gt = from.find('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
    return std::string(from.substr(lt + 1, gt - lt - 1));
  }
  return std::string(from);
}

class SmtpSender final : public Sender {
 public:
  explicit SmtpSender(SmtpOptions o) : o_(std::move(o)) {}
  Result<void> Send(const Message& m) override {
    SmtpSession s(o_);
    PORTLINE_RETURN_IF_ERROR(s.Connect());
    PORTLINE_ASSIGN_OR_RETURN(auto greeting, s.Reply());
    if (greeting.code != 220) {
      return Fail(Errc::kUnavailable, "SMTP: greeting " + OneLine(greeting.text));
    }
    PORTLINE_ASSIGN_OR_RETURN(auto ehlo, s.Command("EHLO " + o_.helo, 250));
    const bool offers_tls = ehlo.text.find("STARTTLS") != std::string::npos;
    if (o_.starttls) {
      if (!offers_tls) {
        return Fail(Errc::kUnavailable, "SMTP: the server does not offer STARTTLS");
      }
      PORTLINE_RETURN_IF_ERROR(s.Command("STARTTLS", 220).map([](auto&&) {}));
      PORTLINE_RETURN_IF_ERROR(s.StartTls());
      PORTLINE_RETURN_IF_ERROR(s.Command("EHLO " + o_.helo, 250).map([](auto&&) {}));
    }
    if (!o_.username.empty()) {
      if (!o_.starttls) {
        return Fail(Errc::kInvalidArgument, "SMTP: refusing to send a password without TLS");
      }
      const std::string token = Base64(std::string(1, '\0') + o_.username + '\0' + o_.password);
      PORTLINE_RETURN_IF_ERROR(
          s.Command("AUTH PLAIN " + token, 235, "AUTH PLAIN").map([](auto&&) {}));
    }
    PORTLINE_RETURN_IF_ERROR(
        s.Command("MAIL FROM:<" + AddrOnly(m.from) + ">", 250).map([](auto&&) {}));
    for (const std::string& to : m.to) {
      PORTLINE_RETURN_IF_ERROR(s.Command("RCPT TO:<" + to + ">", 250).map([](auto&&) {}));
    }
    PORTLINE_RETURN_IF_ERROR(s.Command("DATA", 354).map([](auto&&) {}));
    // Dot-stuffing (RFC 5321 §4.5.2).
    std::string data = Format(m);
    std::string stuffed;
    std::size_t start = 0;
    while (start < data.size()) {
      std::size_t eol = data.find("\r\n", start);
      if (eol == std::string::npos) {
        eol = data.size();
      }
      if (data[start] == '.') {
        stuffed += '.';
      }
      stuffed.append(data, start, eol - start).append("\r\n");
      start = eol + 2;
    }
    PORTLINE_RETURN_IF_ERROR(s.Write(stuffed));
    PORTLINE_RETURN_IF_ERROR(s.Command(".", 250, "end of DATA").map([](auto&&) {}));
    (void)s.Command("QUIT", 221);
    return {};
  }

 private:
  SmtpOptions o_;
};

constexpr std::int64_t kBackoffMs[] = {60'000,     300'000,    900'000,   3'600'000,
                                       14'400'000, 43'200'000, 86'400'000};

}  // namespace

bool ValidAddress(std::string_view a) {
  const std::size_t at = a.find('@');
  if (a.empty() || a.size() > 254 || at == std::string_view::npos || at == 0 ||
      at + 1 >= a.size() || a.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  for (char c : a) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"') {
      return false;
    }
  }
  return a.find('.', at) != std::string_view::npos;
}

std::string Format(const Message& m) {
  std::string to;
  for (const std::string& a : m.to) {
    to += (to.empty() ? "" : ", ") + OneLine(a);
  }
  const std::string from = OneLine(m.from);
  const std::string domain = AddrOnly(from).substr(AddrOnly(from).find('@') + 1);
  std::string out;
  out += "Date: " + RfcDate(m.date) + "\r\n";
  out += "From: " + from + "\r\n";
  out += "To: " + to + "\r\n";
  out += "Subject: " + HeaderText(m.subject) + "\r\n";
  out += "Message-ID: <" + OneLine(m.id) + "@" + domain + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n";
  out += "Auto-Submitted: auto-generated\r\n\r\n";
  out += QuotedPrintable(m.body);
  if (out.size() < 2 || out.substr(out.size() - 2) != "\r\n") {
    out += "\r\n";
  }
  return out;
}

std::unique_ptr<Sender> MakeOutboxSender(std::string dir) {
  return std::make_unique<OutboxSender>(std::move(dir));
}

std::unique_ptr<Sender> MakeSmtpSender(SmtpOptions options) {
  std::signal(SIGPIPE, SIG_IGN);  // a relay closing mid-write over TLS must not end the process
  return std::make_unique<SmtpSender>(std::move(options));
}

Result<void> EnqueueAll(store::Connection& c, const std::vector<Outgoing>& messages,
                        std::int64_t now_ms) {
  std::deque<std::string> texts;  // parameters hold views
  store::Params rows;
  for (const Outgoing& m : messages) {
    json::array recipients;
    for (const std::string& a : m.to) {
      if (ValidAddress(a)) {
        recipients.emplace_back(a);
      }
    }
    if (recipients.empty()) {
      continue;
    }
    rows.insert(rows.end(),
                {texts.emplace_back(NewId("eml", FromUnixMillis(now_ms))), m.org,
                 m.request_id.empty() ? store::Param(nullptr) : store::Param(m.request_id),
                 m.event_type, texts.emplace_back(json::serialize(recipients)), m.subject, m.body,
                 m.sealed_body.empty() ? store::Param(nullptr) : store::Param(m.sealed_body),
                 now_ms, m.dated_at != 0 ? m.dated_at : now_ms});
  }
  if (rows.empty()) {
    return {};
  }
  return store::ExecuteRows(c,
                            "INSERT INTO email_outbox (id, org_id, request_id, event_type, "
                            "recipients, subject, body, body_sealed, status, next_attempt_at, "
                            "created_at, dated_at) SELECT column1, column2, column3, column4, "
                            "column5, column6, column7, column8, 'pending', column9, column9, "
                            "column10 FROM (VALUES ",
                            ") AS v WHERE v.column1 IS NOT NULL",
                            {"", "", "TEXT", "", "", "", "", "TEXT", "BIGINT", "BIGINT"}, rows,
                            true)
      .map([](std::int64_t) {});
}

MailService::MailService(store::Database& db, Sender& sender, const Clock& clock,
                         const SecretBox& box, std::string from)
    : db_(db), sender_(sender), clock_(clock), box_(box), from_(std::move(from)) {}

Result<int> MailService::RunDue(int limit) {
  const std::int64_t now = ToUnixMillis(clock_.Now());
  store::Rows due;
  {
    PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
    PORTLINE_ASSIGN_OR_RETURN(
        due, conn->Query("UPDATE email_outbox SET lease_until = $1 WHERE id IN (SELECT id FROM "
                         "email_outbox WHERE status = 'pending' AND next_attempt_at <= $2 AND "
                         "(lease_until IS NULL OR lease_until < $2) ORDER BY next_attempt_at "
                         "LIMIT $3) RETURNING id, recipients, subject, body, attempts, "
                         "COALESCE(dated_at, created_at), body_sealed",
                         {now + 120'000, now, static_cast<std::int64_t>(limit)}));
  }
  int tried = 0;
  for (const store::Row& r : due) {
    Message m;
    m.id = r.Text(0);
    m.from = from_;
    const json::value recipients = json::parse(r.Text(1));  // keep it alive for the loop
    for (const auto& a : recipients.as_array()) {
      m.to.emplace_back(a.as_string());
    }
    m.subject = r.Text(2);
    m.body = r.Text(3);
    m.date = FromUnixMillis(r.Int(5));
    Result<void> sent;
    if (const auto sealed = r.OptText(6)) {  // the text as sent carries a secret
      if (auto opened = box_.Open(*sealed)) {
        m.body = std::move(*opened);
      } else {
        sent = Fail(Errc::kInternal, "the sealed message cannot be opened with this server key");
      }
    }
    if (sent) {
      sent = sender_.Send(m);  // no database connection held meanwhile
    }
    ++tried;
    const std::int64_t attempts = r.Int(4) + 1;
    const std::int64_t at = ToUnixMillis(clock_.Now());
    PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
    if (sent) {
      PORTLINE_RETURN_IF_ERROR(conn->Execute(
          "UPDATE email_outbox SET status = 'sent', attempts = $1, sent_at = $2, lease_until = "
          "NULL, last_error = NULL WHERE id = $3",
          {attempts, at, m.id}));
      continue;
    }
    const bool give_up = attempts > static_cast<std::int64_t>(std::size(kBackoffMs)) ||
                         sent.error().code == Errc::kUnprocessable ||
                         sent.error().code == Errc::kInvalidArgument;
    const std::int64_t next =
        at + kBackoffMs[std::min<std::size_t>(static_cast<std::size_t>(attempts - 1),
                                              std::size(kBackoffMs) - 1)];
    PORTLINE_RETURN_IF_ERROR(conn->Execute(
        "UPDATE email_outbox SET status = $1, attempts = $2, next_attempt_at = $3, lease_until = "
        "NULL, last_error = $4 WHERE id = $5",
        {give_up ? "failed" : "pending", attempts, next, sent.error().message.substr(0, 500),
         m.id}));
  }
  return tried;
}

Result<json::value> MailService::List(std::string_view org, std::string_view port_request_id) {
  PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  const std::string org_id(org);
  const std::string request(port_request_id);
  std::string sql =
      "SELECT id, request_id, event_type, recipients, subject, body, status, attempts, "
      "next_attempt_at, last_error, created_at, sent_at, COALESCE(dated_at, created_at) FROM "
      "email_outbox WHERE org_id = $1";
  store::Params params{org_id};
  if (!request.empty()) {
    sql += " AND request_id = $2";
    params.emplace_back(request);
  }
  sql += " ORDER BY id DESC LIMIT 200";
  PORTLINE_ASSIGN_OR_RETURN(auto rows, conn->Query(sql, params));
  json::array out;
  for (const store::Row& r : rows) {
    out.push_back(json::object{
        {"id", r.Text(0)},
        {"port_request_id", r.IsNull(1) ? json::value(nullptr) : json::value(r.Text(1))},
        {"event_type", r.Text(2)},
        {"to", json::parse(r.Text(3))},
        {"subject", r.Text(4)},
        {"body", r.Text(5)},
        {"status", r.Text(6)},
        {"attempts", r.Int(7)},
        {"next_attempt_at",
         r.Text(6) == "pending" ? TimestampJson(r.Int(8)) : json::value(nullptr)},
        {"last_error", r.IsNull(9) ? json::value(nullptr) : json::value(r.Text(9))},
        {"created_at", TimestampJson(r.Int(10))},
        {"date", TimestampJson(r.Int(12))},
        {"sent_at", TimestampJson(r.OptInt(11))}});
  }
  return json::object{{"emails", std::move(out)}};
}

}  // namespace portline::mail
