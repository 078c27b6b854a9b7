#pragma once

// Pure parsing of uploads: multipart/form-data (RFC 7578) and content sniffing of the file types
// Portline accepts (PDF, JPEG, PNG, GIF, WebP), with truncation and active-content checks.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace portline::documents {

struct Part {
  std::string name;          // form field name
  std::string filename;      // "" when not a file
  std::string content_type;  // as declared by the client ("" when absent)
  std::string_view data;     // points into the body
};

/// Splits a multipart/form-data body. `content_type` is the request's Content-Type header (it
/// carries the boundary). Errors are kInvalidArgument and say what is malformed.
[[nodiscard]] Result<std::vector<Part>> ParseMultipart(std::string_view body,
                                                       std::string_view content_type);

struct FileType {
  std::string_view mime;  // "application/pdf", "image/png"...
  std::string_view extension;
};

/// The type of `data` from its bytes; nullopt when it is none of the accepted types.
[[nodiscard]] std::optional<FileType> DetectType(std::string_view data);

/// Checks that a file of type `type` is complete and harmless: a PDF ends with %%EOF and carries
/// no JavaScript, launch actions or embedded files; images end where their format says.
/// kInvalidArgument (truncated) or kUnprocessable (active content) with the reason.
[[nodiscard]] Result<void> CheckFile(const FileType& type, std::string_view data);

/// Whether a client-declared type (Content-Type of the part, or the filename's extension)
/// agrees with the detected one. Generic declarations (application/octet-stream, none) agree.
[[nodiscard]] bool DeclaredTypeAgrees(const FileType& detected, std::string_view declared_mime,
                                      std::string_view filename);

/// A drawn signature from the signing page: "data:image/png;base64,…", at most `max_bytes`
/// decoded, a complete PNG. Returns the PNG bytes.
[[nodiscard]] Result<std::string> DecodeSignaturePng(std::string_view data_url,
                                                     std::size_t max_bytes = 200 * 1024);

}  // namespace portline::documents
