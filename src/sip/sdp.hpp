#pragma once

// SDP (RFC 4566) with the RFC 3264 offer/answer essentials and SDES crypto (RFC 4568).
// Pure; views point into the parsed body.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace portline::sip {

struct SdpConnection {
  std::string_view net_type;   // "IN"
  std::string_view addr_type;  // "IP4" | "IP6"
  std::string_view address;    // without a /ttl suffix
};

struct SdpOrigin {
  std::string_view username, session_id, session_version, net_type, addr_type, address;
};

struct SdpRtpMap {
  int payload = 0;
  std::string_view encoding;  // "PCMU", "opus", "telephone-event"
  int clock_rate = 0;
  int channels = 1;
};

struct SdpFmtp {
  int payload = 0;
  std::string_view params;
};

struct SdpCrypto {
  int tag = 0;
  std::string_view suite;       // "AES_CM_128_HMAC_SHA1_80"
  std::string_view key_params;  // "inline:<base64>[|lifetime][|MKI:len]"
  std::string_view session_params;
};

enum class SdpDirection : std::uint8_t { kSendRecv, kSendOnly, kRecvOnly, kInactive };

struct SdpMedia {
  std::string_view media;  // audio, video, application...
  std::uint16_t port = 0;
  std::uint16_t port_count = 1;
  std::string_view proto;  // RTP/AVP, RTP/SAVP...
  std::vector<std::string_view> formats;
  std::optional<SdpConnection> connection;
  std::vector<std::pair<std::string_view, std::string_view>> attributes;  // name, value
  std::vector<SdpRtpMap> rtpmaps;
  std::vector<SdpFmtp> fmtps;
  std::vector<SdpCrypto> cryptos;
  SdpDirection direction = SdpDirection::kSendRecv;

  /// Codec names in format order: rtpmap names, or the static RFC 3551 names (0 → PCMU).
  [[nodiscard]] std::vector<std::string> CodecNames() const;
};

struct Sdp {
  SdpOrigin origin;
  std::string_view session_name;
  std::string_view timing = "0 0";  // the t= line
  std::optional<SdpConnection> connection;
  std::vector<std::pair<std::string_view, std::string_view>> attributes;
  std::vector<SdpMedia> media;
  SdpDirection direction = SdpDirection::kSendRecv;
};

/// Errors name the line: "SDP line 6: m= port 70000 is out of range".
[[nodiscard]] Result<Sdp> ParseSdp(std::string_view body);

/// The SDP as text (CRLF lines, RFC 4566 order). Attributes are written as they were parsed.
[[nodiscard]] std::string FormatSdp(const Sdp& sdp);

/// The encoding name of a static RTP payload type (RFC 3551), or "" when dynamic or unknown.
[[nodiscard]] std::string_view StaticPayloadName(int payload);

}  // namespace portline::sip
