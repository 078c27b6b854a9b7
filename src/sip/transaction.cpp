#include "sip/transaction.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "sip/syntax.hpp"

namespace portline::sip {
namespace {

std::optional<TxClock::time_point> Min(std::optional<TxClock::time_point> a,
                                       std::optional<TxClock::time_point> b) {
  if (!a) {
    return b;
  }
  if (!b) {
    return a;
  }
  return std::min(*a, *b);
}

bool Due(const std::optional<TxClock::time_point>& t, TxClock::time_point now) {
  return t && *t <= now;
}

// Branches and tags from the CSPRNG (RFC 3261 §8.1.1.7 and §19.3 want them unguessable: a
// predictable tag or branch lets an off-path attacker forge a dialog's or a transaction's
// messages).
std::string RandomBase32(std::size_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string raw(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(n)) != 1) {
    std::abort();  // no randomness: nothing safe to send
  }
  std::string out;
  out.reserve(n);
  for (char c : raw) {
    out.push_back(kAlphabet[static_cast<unsigned char>(c) & 31U]);
  }
  return out;
}

}  // namespace

std::string_view TxStateName(TxState s) noexcept {
  switch (s) {
    case TxState::kCalling:
      return "calling";
    case TxState::kTrying:
      return "trying";
    case TxState::kProceeding:
      return "proceeding";
    case TxState::kCompleted:
      return "completed";
    case TxState::kConfirmed:
      return "confirmed";
    case TxState::kTerminated:
      return "terminated";
  }
  return "?";
}

// ---- client ----------------------------------------------------------------------------------

TxOutput ClientTransaction::Terminate(TxOutput out) {
  state_ = TxState::kTerminated;
  retransmit_.reset();
  timeout_.reset();
  linger_.reset();
  out.terminated = true;
  return out;
}

TxOutput ClientTransaction::Start(TxClock::time_point now) {
  state_ = invite_ ? TxState::kCalling : TxState::kTrying;
  interval_ = t_.t1;
  if (!reliable_) {
    retransmit_ = now + interval_;  // Timer A / E
  }
  timeout_ = now + 64 * t_.t1;  // Timer B / F
  return TxOutput{.send = true};
}

TxOutput ClientTransaction::OnResponse(int status, TxClock::time_point now) {
  TxOutput out;
  const bool provisional = status < 200;
  switch (state_) {
    case TxState::kCalling:
    case TxState::kTrying:
    case TxState::kProceeding:
      if (provisional) {
        state_ = TxState::kProceeding;
        if (invite_) {
          retransmit_.reset();  // §17.1.1.2: stop Timer A; B keeps running until a final
        }                       // a non-INVITE client keeps E, now every T2 (§17.1.2.2)
        out.deliver = true;
        return out;
      }
      out.deliver = true;
      if (invite_ && status < 300) {
        return Terminate(out);  // the TU ACKs a 2xx itself
      }
      state_ = TxState::kCompleted;
      retransmit_.reset();
      timeout_.reset();
      if (invite_) {
        out.send_ack = true;
        linger_ = now + (reliable_ ? Ms{0} : Ms{32000});  // Timer D
      } else {
        linger_ = now + (reliable_ ? Ms{0} : t_.t4);  // Timer K
      }
      if (*linger_ <= now) {
        return Terminate(out);
      }
      return out;
    case TxState::kCompleted:
      // Retransmitted final response: an INVITE client re-ACKs, a non-INVITE one absorbs it.
      if (invite_ && status >= 300) {
        out.send_ack = true;
      }
      return out;
    default:
      return out;
  }
}

TxOutput ClientTransaction::OnTimer(TxClock::time_point now) {
  TxOutput out;
  if (Due(linger_, now)) {
    return Terminate(out);
  }
  if (Due(timeout_, now)) {
    out.timeout = true;
    return Terminate(out);
  }
  if (Due(retransmit_, now)) {
    if (invite_) {
      interval_ *= 2;  // Timer A doubles without a cap
    } else if (state_ == TxState::kProceeding) {
      interval_ = t_.t2;
    } else {
      interval_ = std::min(interval_ * 2, t_.t2);
    }
    retransmit_ = now + interval_;
    out.send = true;
  }
  return out;
}

TxOutput ClientTransaction::OnTransportError() {
  if (state_ == TxState::kTerminated) {
    return {};
  }
  return Terminate(TxOutput{.transport_error = true});
}

std::optional<TxClock::time_point> ClientTransaction::NextDeadline() const {
  return Min(Min(retransmit_, timeout_), linger_);
}

// ---- server ----------------------------------------------------------------------------------

ServerTransaction::ServerTransaction(bool invite, bool reliable, TimerConfig timers,
                                     TxClock::time_point now)
    : invite_(invite),
      reliable_(reliable),
      t_(timers),
      state_(invite ? TxState::kProceeding : TxState::kTrying) {
  if (invite_) {
    trying_ = now + t_.trying;
  }
}

TxOutput ServerTransaction::Terminate(TxOutput out) {
  state_ = TxState::kTerminated;
  trying_.reset();
  retransmit_.reset();
  timeout_.reset();
  linger_.reset();
  out.terminated = true;
  return out;
}

TxOutput ServerTransaction::Respond(int status, TxClock::time_point now) {
  TxOutput out;
  if (state_ != TxState::kTrying && state_ != TxState::kProceeding) {
    return out;  // a final response was already sent
  }
  last_status_ = status;
  trying_.reset();
  out.send = true;
  if (status < 200) {
    state_ = TxState::kProceeding;
    return out;
  }
  if (invite_) {
    if (status < 300) {
      return Terminate(out);  // 2xx retransmission belongs to the TU (§13.3.1.4)
    }
    state_ = TxState::kCompleted;
    interval_ = t_.t1;
    if (!reliable_) {
      retransmit_ = now + interval_;  // Timer G
    }
    timeout_ = now + 64 * t_.t1;  // Timer H
    return out;
  }
  state_ = TxState::kCompleted;
  linger_ = now + (reliable_ ? Ms{0} : 64 * t_.t1);  // Timer J
  if (reliable_) {
    return Terminate(out);
  }
  return out;
}

TxOutput ServerTransaction::OnRetransmission() {
  TxOutput out;
  if ((state_ == TxState::kProceeding || state_ == TxState::kCompleted) && last_status_ != 0) {
    out.send = true;
  }
  return out;
}

TxOutput ServerTransaction::OnAck(TxClock::time_point now) {
  TxOutput out;
  if (!invite_ || state_ != TxState::kCompleted) {
    return out;
  }
  state_ = TxState::kConfirmed;
  retransmit_.reset();
  timeout_.reset();
  linger_ = now + (reliable_ ? Ms{0} : t_.t4);  // Timer I
  if (reliable_) {
    return Terminate(out);
  }
  return out;
}

TxOutput ServerTransaction::OnTimer(TxClock::time_point now) {
  TxOutput out;
  if (Due(linger_, now)) {
    return Terminate(out);
  }
  if (Due(timeout_, now)) {
    out.timeout = true;  // Timer H: the ACK never came
    return Terminate(out);
  }
  if (Due(trying_, now)) {
    trying_.reset();
    if (last_status_ == 0) {
      last_status_ = 100;
      out.send_trying = true;
    }
  }
  if (Due(retransmit_, now)) {
    interval_ = std::min(interval_ * 2, t_.t2);  // Timer G
    retransmit_ = now + interval_;
    out.send = true;
  }
  return out;
}

TxOutput ServerTransaction::OnTransportError() {
  if (state_ == TxState::kTerminated) {
    return {};
  }
  return Terminate(TxOutput{.transport_error = true});
}

std::optional<TxClock::time_point> ServerTransaction::NextDeadline() const {
  return Min(Min(trying_, retransmit_), Min(timeout_, linger_));
}

// ---- ids and keys ----------------------------------------------------------------------------

std::string NewBranch() { return "z9hG4bK" + RandomBase32(22); }
std::string NewTag() { return RandomBase32(16); }

Result<std::string> ClientKey(const Message& response) {
  PORTLINE_ASSIGN_OR_RETURN(const Via via, response.TopVia());
  PORTLINE_ASSIGN_OR_RETURN(const sip::CSeq cseq, response.CSeq());
  const std::string_view branch = via.Branch();
  if (branch.empty()) {
    return Fail(Errc::kInvalidArgument, "response has no Via branch");
  }
  std::string key;
  key.reserve(branch.size() + cseq.method.size() + 1);
  key.append(branch).append("|").append(cseq.method == "ACK" ? "INVITE" : cseq.method);
  return key;
}

Result<std::string> ServerKey(const Message& request) {
  PORTLINE_ASSIGN_OR_RETURN(const Via via, request.TopVia());
  PORTLINE_ASSIGN_OR_RETURN(const sip::CSeq cseq, request.CSeq());
  const std::string_view method = request.Method() == "ACK" ? "INVITE" : request.Method();
  const std::string_view branch = via.Branch();
  std::string key;
  if (branch.size() > 7 && branch.substr(0, 7) == "z9hG4bK") {
    key.append(branch).append("|").append(via.host);
    if (via.port) {
      key.append(":").append(std::to_string(*via.port));
    }
    key.append("|").append(method);
    return key;
  }
  // RFC 2543 matching (§17.2.3): no usable branch.
  auto from = request.From();
  key.append("2543|")
      .append(request.RequestUri())
      .append("|")
      .append(from ? from->Tag() : "")
      .append("|")
      .append(request.CallId())
      .append("|")
      .append(std::to_string(cseq.number))
      .append("|")
      .append(method)
      .append("|")
      .append(via.host)
      .append("|")
      .append(branch);
  return key;
}

// ---- dialogs ---------------------------------------------------------------------------------

Result<Dialog> DialogFromResponse(const Message& invite, const Message& response) {
  if (response.IsRequest() || response.Status() < 200 || response.Status() >= 300) {
    return Fail(Errc::kInvalidArgument, "a dialog needs a 2xx response");
  }
  Dialog d;
  d.call_id = std::string(invite.CallId());
  PORTLINE_ASSIGN_OR_RETURN(const NameAddr from, invite.From());
  PORTLINE_ASSIGN_OR_RETURN(const NameAddr to, response.To());
  PORTLINE_ASSIGN_OR_RETURN(const sip::CSeq cseq, invite.CSeq());
  d.local_tag = std::string(from.Tag());
  d.remote_tag = std::string(to.Tag());
  d.local_uri = std::string(invite.Get(HeaderId::kFrom));
  d.remote_uri = std::string(invite.Get(HeaderId::kTo));
  d.local_seq = cseq.number;
  const std::string_view contact = response.Get(HeaderId::kContact);
  if (contact.empty()) {
    return Fail(Errc::kInvalidArgument, "the 2xx has no Contact");
  }
  PORTLINE_ASSIGN_OR_RETURN(const NameAddr target, ParseNameAddr(SplitList(contact).front()));
  const std::string_view target_text =
      target.angle ? std::string_view(contact).substr(contact.find('<') + 1,
                                                      contact.find('>') - contact.find('<') - 1)
                   : SplitList(contact).front();
  d.remote_target = std::string(target_text);
  for (std::string_view rr : response.Values(HeaderId::kRecordRoute)) {
    d.route_set.insert(d.route_set.begin(), std::string(rr));
  }
  return d;
}

Writer Dialog::Request(std::string_view method, std::string_view via, std::uint32_t cseq) {
  if (cseq == 0) {
    cseq = ++local_seq;
  }
  // Loose routing (lr) keeps the remote target as the Request-URI; a strict first route takes
  // its place and the target goes to the end of the Route set (§12.2.1.1).
  std::string request_uri = remote_target;
  std::vector<std::string> routes = route_set;
  if (!routes.empty()) {
    auto first = ParseNameAddr(routes.front());
    if (first && !first->uri.Param("lr")) {
      const std::string& r = routes.front();
      request_uri = r.substr(r.find('<') + 1, r.find('>') - r.find('<') - 1);
      routes.erase(routes.begin());
      routes.push_back("<" + remote_target + ">");
    }
  }
  Writer w;
  w.RequestLine(method, request_uri);
  w.Add("Via", via);
  w.Add("Max-Forwards", "70");
  for (const std::string& r : routes) {
    w.Add("Route", r);
  }
  w.Add("From", local_uri);
  const bool to_has_tag = ParseNameAddr(remote_uri)
                              .map([](const NameAddr& n) { return !n.Tag().empty(); })
                              .value_or(false);
  w.Add("To", to_has_tag || remote_tag.empty() ? remote_uri : remote_uri + ";tag=" + remote_tag);
  w.Add("Call-ID", call_id);
  w.Add("CSeq", std::to_string(cseq) + " " + std::string(method));
  return w;
}

}  // namespace portline::sip
