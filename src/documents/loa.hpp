#pragma once

// The Letter of Authorization: a PDF (libhpdf, rendered in memory) made from a port request, and
// the signed copy with a certificate-of-completion page. Rendering is deterministic: the same
// request renders to the same bytes, so the SHA-256 recorded at signing identifies what the
// signer was shown. No I/O.

#include <functional>
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

/// Lines of `text` ({offset, length}) for one width: `fit(chunk, word_wrap)` says how many
/// leading bytes of `chunk` fit on a line (breaking after a space, or anywhere when `word_wrap`
/// is false). Each call sees at most `window` bytes, so laying out a text costs time linear in its
/// length. Pure: the renderer passes libhpdf's measure.
[[nodiscard]] std::vector<std::pair<std::size_t, std::size_t>> WrapLines(
    std::string_view text, std::size_t window,
    const std::function<std::size_t(std::string_view, bool)>& fit);
/// The LOA with the signature block filled in, followed by the certificate of completion.
[[nodiscard]] Result<std::string> RenderSignedLoa(const LoaData& data, const SignatureAudit& audit);

/// The consent statement the signer agrees to (shown on the page and in the certificate).
[[nodiscard]] std::string ConsentText(const LoaData& data);

}  // namespace portline::documents
