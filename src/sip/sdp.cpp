#include "sip/sdp.hpp"

#include "sip/syntax.hpp"
#include "sip/uri.hpp"

namespace portline::sip {
namespace {

std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') {
      ++i;
    }
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ') {
      ++i;
    }
    if (i > start) {
      out.push_back(s.substr(start, i - start));
    }
  }
  return out;
}

bool ParseInt(std::string_view s, std::uint64_t max, int& out) {
  std::uint64_t v = 0;
  if (!syntax::ParseUnsigned(s, max, v)) {
    return false;
  }
  out = static_cast<int>(v);
  return true;
}

bool IsBase64(std::string_view s) {
  for (char c : s) {
    if (!syntax::Is(c, syntax::kAlnum) && c != '+' && c != '/' && c != '=') {
      return false;
    }
  }
  return true;
}

std::optional<SdpDirection> DirectionOf(std::string_view name) {
  if (name == "sendrecv") {
    return SdpDirection::kSendRecv;
  }
  if (name == "sendonly") {
    return SdpDirection::kSendOnly;
  }
  if (name == "recvonly") {
    return SdpDirection::kRecvOnly;
  }
  if (name == "inactive") {
    return SdpDirection::kInactive;
  }
  return std::nullopt;
}

}  // namespace

std::string_view StaticPayloadName(int payload) {
  switch (payload) {
    case 0:
      return "PCMU";
    case 3:
      return "GSM";
    case 4:
      return "G723";
    case 5:
      return "DVI4";
    case 8:
      return "PCMA";
    case 9:
      return "G722";
    case 12:
      return "QCELP";
    case 13:
      return "CN";
    case 18:
      return "G729";
    case 26:
      return "JPEG";
    case 31:
      return "H261";
    case 34:
      return "H263";
    default:
      return "";
  }
}

std::vector<std::string> SdpMedia::CodecNames() const {
  std::vector<std::string> out;
  for (std::string_view f : formats) {
    int pt = -1;
    if (!ParseInt(f, 127, pt)) {
      continue;
    }
    std::string name;
    for (const SdpRtpMap& r : rtpmaps) {
      if (r.payload == pt) {
        name = std::string(r.encoding);
      }
    }
    if (name.empty()) {
      name = std::string(StaticPayloadName(pt));
    }
    if (!name.empty()) {
      out.push_back(std::move(name));
    }
  }
  return out;
}

std::string FormatSdp(const Sdp& sdp) {
  std::string out = "v=0\r\n";
  const SdpOrigin& o = sdp.origin;
  out.append("o=")
      .append(o.username)
      .append(" ")
      .append(o.session_id)
      .append(" ")
      .append(o.session_version)
      .append(" ")
      .append(o.net_type)
      .append(" ")
      .append(o.addr_type)
      .append(" ")
      .append(o.address)
      .append("\r\n");
  out.append("s=").append(sdp.session_name).append("\r\n");
  auto connection = [&out](const SdpConnection& c) {
    out.append("c=")
        .append(c.net_type)
        .append(" ")
        .append(c.addr_type)
        .append(" ")
        .append(c.address)
        .append("\r\n");
  };
  auto attributes = [&out](const std::vector<std::pair<std::string_view, std::string_view>>& as) {
    for (const auto& [name, value] : as) {
      out.append("a=").append(name);
      if (!value.empty()) {
        out.append(":").append(value);
      }
      out.append("\r\n");
    }
  };
  if (sdp.connection) {
    connection(*sdp.connection);
  }
  out.append("t=").append(sdp.timing).append("\r\n");
  attributes(sdp.attributes);
  for (const SdpMedia& m : sdp.media) {
    out.append("m=").append(m.media).append(" ").append(std::to_string(m.port));
    if (m.port_count != 1) {
      out.append("/").append(std::to_string(m.port_count));
    }
    out.append(" ").append(m.proto);
    for (std::string_view f : m.formats) {
      out.append(" ").append(f);
    }
    out.append("\r\n");
    if (m.connection) {
      connection(*m.connection);
    }
    attributes(m.attributes);
  }
  return out;
}

Result<Sdp> ParseSdp(std::string_view body) {
  Sdp sdp;
  int line_no = 0;
  std::string_view expect = "v";
  bool seen_o = false;
  bool seen_s = false;
  bool seen_t = false;
  auto bad = [&line_no](std::string what) {
    return Fail(Errc::kInvalidArgument, "SDP line " + std::to_string(line_no) + ": " + what);
  };
  auto connection = [](std::string_view value, SdpConnection& out) {
    const auto f = Fields(value);
    if (f.size() != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6")) {
      return false;
    }
    out = SdpConnection{f[0], f[1], f[2].substr(0, f[2].find('/'))};
    std::string_view host;
    bool v6 = false;
    if (f[1] == "IP6") {
      return IsIpAddress(out.address) && out.address.find(':') != std::string_view::npos;
    }
    return ParseHost(out.address, host, v6) && !v6;
  };
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t end = body.find('\n', pos);
    const std::size_t next = end == std::string_view::npos ? body.size() : end + 1;
    if (end == std::string_view::npos) {
      end = body.size();
    }
    std::string_view line = body.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    pos = next;
    ++line_no;
    if (line.empty()) {
      continue;
    }
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return bad("expected '<letter>=<value>'");
    }
    const char type = line[0];
    const std::string_view value = line.substr(2);
    if (expect == "v") {
      if (type != 'v' || value != "0") {
        return bad("an SDP body must start with 'v=0'");
      }
      expect = "o";
      continue;
    }
    SdpMedia* media = sdp.media.empty() ? nullptr : &sdp.media.back();
    switch (type) {
      case 'o': {
        const auto f = Fields(value);
        if (seen_o || media != nullptr) {
          return bad("o= must appear once, after v=");
        }
        if (f.size() != 6) {
          return bad("o= needs 6 fields: username sess-id sess-version nettype addrtype address");
        }
        sdp.origin = SdpOrigin{f[0], f[1], f[2], f[3], f[4], f[5]};
        int ignored = 0;
        std::uint64_t v = 0;
        (void)ignored;
        if (!syntax::ParseUnsigned(f[1], UINT64_MAX, v) ||
            !syntax::ParseUnsigned(f[2], UINT64_MAX, v)) {
          return bad("o= session id and version must be numbers");
        }
        seen_o = true;
        break;
      }
      case 's':
        if (seen_s || media != nullptr) {
          return bad("s= must appear once at session level");
        }
        sdp.session_name = value;
        seen_s = true;
        break;
      case 't': {
        const auto f = Fields(value);
        std::uint64_t a = 0;
        std::uint64_t b = 0;
        if (f.size() != 2 || !syntax::ParseUnsigned(f[0], UINT64_MAX, a) ||
            !syntax::ParseUnsigned(f[1], UINT64_MAX, b)) {
          return bad("t= needs a start and a stop time");
        }
        if (!seen_t) {
          sdp.timing = value;
        }
        seen_t = true;
        break;
      }
      case 'c': {
        SdpConnection c;
        if (!connection(value, c)) {
          return bad("c= must be 'IN IP4 <address>' or 'IN IP6 <address>'");
        }
        (media != nullptr ? media->connection : sdp.connection) = c;
        break;
      }
      case 'm': {
        if (!seen_o || !seen_s) {
          return bad("m= before the o= and s= lines");
        }
        const auto f = Fields(value);
        if (f.size() < 4) {
          return bad("m= needs media, port, proto and at least one format");
        }
        SdpMedia m;
        m.media = f[0];
        const std::string_view port = f[1].substr(0, f[1].find('/'));
        int p = 0;
        if (!ParseInt(port, 65535, p)) {
          return bad("m= port '" + std::string(port) + "' is not 0 to 65535");
        }
        m.port = static_cast<std::uint16_t>(p);
        if (f[1].find('/') != std::string_view::npos) {
          int count = 0;
          if (!ParseInt(f[1].substr(f[1].find('/') + 1), 65535, count) || count == 0) {
            return bad("m= port count must be a positive number");
          }
          m.port_count = static_cast<std::uint16_t>(count);
        }
        m.proto = f[2];
        const bool rtp =
            m.proto.substr(0, 3) == "RTP" || m.proto.find("/RTP/") != std::string_view::npos;
        for (std::size_t i = 3; i < f.size(); ++i) {
          int pt = 0;
          if (rtp && !ParseInt(f[i], 127, pt)) {
            return bad("m= RTP payload type '" + std::string(f[i]) + "' is not 0 to 127");
          }
          m.formats.push_back(f[i]);
        }
        m.direction = sdp.direction;
        sdp.media.push_back(std::move(m));
        break;
      }
      case 'a': {
        const std::size_t colon = value.find(':');
        const std::string_view name = value.substr(0, colon);
        const std::string_view v =
            colon == std::string_view::npos ? std::string_view{} : value.substr(colon + 1);
        if (name.empty()) {
          return bad("a= with no attribute name");
        }
        if (auto dir = DirectionOf(name)) {
          (media != nullptr ? media->direction : sdp.direction) = *dir;
        }
        if (media == nullptr) {
          sdp.attributes.emplace_back(name, v);
          break;
        }
        media->attributes.emplace_back(name, v);
        if (name == "rtpmap") {
          const std::size_t sp = v.find(' ');
          SdpRtpMap r;
          if (sp == std::string_view::npos || !ParseInt(v.substr(0, sp), 127, r.payload)) {
            return bad("a=rtpmap must be '<payload> <encoding>/<clock rate>[/<channels>]'");
          }
          const std::string_view enc = v.substr(sp + 1);
          const std::size_t s1 = enc.find('/');
          r.encoding = enc.substr(0, s1);
          if (r.encoding.empty()) {
            return bad("a=rtpmap needs '<encoding>/<clock rate>'");
          }
          if (s1 == std::string_view::npos) {
            media->rtpmaps.push_back(r);  // RFC 4475's messages omit the rate ("31 LPC")
            break;
          }
          const std::string_view rest = enc.substr(s1 + 1);
          const std::size_t s2 = rest.find('/');
          if (!ParseInt(rest.substr(0, s2), 10000000, r.clock_rate) || r.clock_rate == 0) {
            return bad("a=rtpmap clock rate must be a positive number");
          }
          if (s2 != std::string_view::npos && !ParseInt(rest.substr(s2 + 1), 255, r.channels)) {
            return bad("a=rtpmap channels must be a number");
          }
          media->rtpmaps.push_back(r);
        } else if (name == "fmtp") {
          const std::size_t sp = v.find(' ');
          SdpFmtp fm;
          if (!ParseInt(v.substr(0, sp), 127, fm.payload)) {
            return bad("a=fmtp must start with a payload type");
          }
          fm.params = sp == std::string_view::npos ? std::string_view{} : v.substr(sp + 1);
          media->fmtps.push_back(fm);
        } else if (name == "crypto") {
          const auto f = Fields(v);
          SdpCrypto c;
          if (f.size() < 3 || !ParseInt(f[0], 999999999, c.tag)) {
            return bad("a=crypto must be '<tag> <suite> inline:<key>'");
          }
          c.suite = f[1];
          c.key_params = f[2];
          if (f.size() > 3) {
            c.session_params = v.substr(static_cast<std::size_t>(f[3].data() - v.data()));
          }
          if (c.key_params.substr(0, 7) != "inline:") {
            return bad("a=crypto key must start with 'inline:'");
          }
          const std::string_view key = c.key_params.substr(7, c.key_params.find('|') - 7);
          if (!IsBase64(key) || (c.suite.substr(0, 10) == "AES_CM_128" && key.size() != 40)) {
            return bad("a=crypto key must be base64 (40 characters for AES_CM_128 suites)");
          }
          media->cryptos.push_back(c);
        }
        break;
      }
      case 'i':
      case 'u':
      case 'e':
      case 'p':
      case 'b':
      case 'r':
      case 'z':
      case 'k':
        break;
      case 'v':
        return bad("v= may appear only once, first");
      default:
        return bad(std::string("unknown line type '") + type + "='");
    }
  }
  if (expect == "v") {
    return Fail(Errc::kInvalidArgument, "SDP: empty body");
  }
  if (!seen_o || !seen_s || !seen_t) {
    return Fail(Errc::kInvalidArgument,
                std::string("SDP: missing required line ") + (!seen_o   ? "o="
                                                              : !seen_s ? "s="
                                                                        : "t="));
  }
  for (const SdpMedia& m : sdp.media) {
    if (!m.connection && !sdp.connection && m.port != 0) {
      return Fail(Errc::kInvalidArgument, "SDP: media '" + std::string(m.media) +
                                              "' has no c= line and there is no session-level c=");
    }
  }
  return sdp;
}

}  // namespace portline::sip
