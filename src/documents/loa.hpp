#pragma once

// The Letter of Authorization: a PDF (libhpdf, rendered in memory) made from a port request, and
// the signed copy with a certificate-of-completion page. Rendering is deterministic: the same
// request renders to the same bytes, so the SHA-256 recorded at signing identifies what the
// signer was shown. No I/O.

#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace portline::documents {

struct LoaData {
  std::string request_id;
  std::string customer_type;   // business | personal
  std::string account_holder;  // business name, or first + last name
  std::string representative_name;
  std::string representative_email;
  std::string service_address;
  std::string billing_number;       // optional
  std::string account_number_hint;  // e.g. "ending in 2345" (never the full number)
  std::string target_date;          // YYYY-MM-DD
  std::vector<std::pair<std::string, std::string>> numbers;  // number, losing carrier
  std::string platform_name = "Portline";
};

struct SignatureAudit {
  std::string name;
  std::string title;
  std::string email;
  std::string ip;
  std::string user_agent;
  std::string signed_at;  // RFC 3339
  std::string link_issued_at;
  std::string loa_sha256;  // of the unsigned LOA the signer was shown
  std::string consent_text;
  std::string drawn_png;  // optional drawn signature (PNG bytes)
};

/// The LOA to be signed.
[[nodiscard]] Result<std::string> RenderLoa(const LoaData& data);
/// The LOA with the signature block filled in, followed by the certificate of completion.
[[nodiscard]] Result<std::string> RenderSignedLoa(const LoaData& data, const SignatureAudit& audit);

/// The consent statement the signer agrees to (shown on the page and in the certificate).
[[nodiscard]] std::string ConsentText(const LoaData& data);

}  // namespace portline::documents
