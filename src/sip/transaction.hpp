#pragma once

// RFC 3261 §17 transaction state machines. Pure: no I/O, no clocks of their own. The caller passes
// `now` into every event and carries out the returned Output (send, deliver, ...); it wakes the
// machine at NextDeadline(). Named as in the RFC: Timers A–K, T1/T2/T4.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "sip/message.hpp"

namespace portline::sip {

using TxClock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

struct TimerConfig {
  Ms t1{500};
  Ms t2{4000};
  Ms t4{5000};
  Ms trying{200};  // an INVITE server sends 100 Trying when the TU has not answered by then
};

enum class TxState : std::uint8_t {
  kCalling,  // INVITE client
  kTrying,   // non-INVITE client and server
  kProceeding,
  kCompleted,
  kConfirmed,  // INVITE server
  kTerminated,
};
[[nodiscard]] std::string_view TxStateName(TxState s) noexcept;

/// What the shell must do after an event.
struct TxOutput {
  bool send = false;         // client: (re)send the request; server: (re)send the last response
  bool send_ack = false;     // INVITE client: send the ACK for a 3xx–6xx response
  bool send_trying = false;  // INVITE server: send 100 Trying now
  bool deliver = false;      // pass the response (client) to the transaction user
  bool timeout = false;      // Timer B/F (client) or H (server) fired: the TU sees a timeout
  bool transport_error = false;
  bool terminated = false;  // the transaction just ended; the shell may forget it
};

class ClientTransaction {
 public:
  ClientTransaction(bool invite, bool reliable, TimerConfig timers)
      : invite_(invite), reliable_(reliable), t_(timers) {}

  /// Sends the request and arms A/E and B/F.
  TxOutput Start(TxClock::time_point now);
  /// A response matched this transaction.
  TxOutput OnResponse(int status, TxClock::time_point now);
  /// Call when `now` ≥ NextDeadline().
  TxOutput OnTimer(TxClock::time_point now);
  /// The transport could not send the request.
  TxOutput OnTransportError();

  [[nodiscard]] std::optional<TxClock::time_point> NextDeadline() const;
  [[nodiscard]] TxState State() const { return state_; }
  [[nodiscard]] bool Invite() const { return invite_; }

 private:
  TxOutput Terminate(TxOutput out);
  bool invite_;
  bool reliable_;
  TimerConfig t_;
  TxState state_ = TxState::kTrying;
  Ms interval_{0};
  std::optional<TxClock::time_point> retransmit_;  // A or E
  std::optional<TxClock::time_point> timeout_;     // B or F
  std::optional<TxClock::time_point> linger_;      // D or K
};

class ServerTransaction {
 public:
  /// Created when a new request arrives (the request itself is not "sent" by us).
  ServerTransaction(bool invite, bool reliable, TimerConfig timers, TxClock::time_point now);

  /// The TU answers; the shell sends the response when `send` is set.
  TxOutput Respond(int status, TxClock::time_point now);
  /// A retransmission of the request arrived.
  TxOutput OnRetransmission();
  /// INVITE only: the ACK for a 3xx–6xx response arrived.
  TxOutput OnAck(TxClock::time_point now);
  TxOutput OnTimer(TxClock::time_point now);
  TxOutput OnTransportError();

  [[nodiscard]] std::optional<TxClock::time_point> NextDeadline() const;
  [[nodiscard]] TxState State() const { return state_; }
  [[nodiscard]] int LastStatus() const { return last_status_; }

 private:
  TxOutput Terminate(TxOutput out);
  bool invite_;
  bool reliable_;
  TimerConfig t_;
  TxState state_;
  int last_status_ = 0;
  Ms interval_{0};
  std::optional<TxClock::time_point> trying_;      // 100 Trying deadline (INVITE)
  std::optional<TxClock::time_point> retransmit_;  // G
  std::optional<TxClock::time_point> timeout_;     // H
  std::optional<TxClock::time_point> linger_;      // I or J
};

/// RFC 3261 §8.1.1.7: "z9hG4bK" + 22 random base32 characters (110 bits).
[[nodiscard]] std::string NewBranch();
/// A random tag or Call-ID local part (16 base32 characters, 80 bits).
[[nodiscard]] std::string NewTag();

/// The key that matches responses to a client transaction (§17.1.3): top Via branch + CSeq
/// method.
[[nodiscard]] Result<std::string> ClientKey(const Message& response);
/// The key that matches requests to a server transaction (§17.2.3): branch + sent-by + method,
/// where an ACK matches its INVITE. Requests without the magic cookie (RFC 2543) use the
/// Request-URI, From tag, Call-ID, CSeq number and top Via instead.
[[nodiscard]] Result<std::string> ServerKey(const Message& request);

/// Minimal dialog state (§12) for a UAC after a 2xx to INVITE: enough to ACK and BYE.
struct Dialog {
  std::string call_id;
  std::string local_tag;
  std::string remote_tag;
  std::string local_uri;               // From of the INVITE (name-addr as sent)
  std::string remote_uri;              // To of the INVITE
  std::string remote_target;           // Contact URI of the 2xx
  std::vector<std::string> route_set;  // Record-Route of the 2xx, reversed (§12.1.2)
  std::uint32_t local_seq = 0;

  /// A request inside the dialog (§12.2.1.1): Request-URI = remote target (or the first route
  /// when it is a strict router), Route set, To/From with tags. `cseq` 0 means local_seq + 1.
  [[nodiscard]] Writer Request(std::string_view method, std::string_view via,
                               std::uint32_t cseq = 0);
};

/// Builds the dialog from the INVITE we sent and the 2xx we received.
[[nodiscard]] Result<Dialog> DialogFromResponse(const Message& invite, const Message& response);

}  // namespace portline::sip
