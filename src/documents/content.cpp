#include "documents/content.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include "documents/pdf_scan.hpp"

namespace portline::documents {
namespace {

tl::unexpected<Error> Bad(std::string message) {
  return Fail(Errc::kInvalidArgument, std::move(message));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// The value of `key=` in a header value with ';' parameters (quoted or not).
std::optional<std::string> HeaderParam(std::string_view value, std::string_view key) {
  std::size_t pos = 0;
  while ((pos = value.find(';', pos)) != std::string_view::npos) {
    ++pos;
    std::string_view rest = Trim(value.substr(pos));
    const std::size_t eq = rest.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    if (Lower(Trim(rest.substr(0, eq))) != key) {
      continue;
    }
    std::string_view v = Trim(rest.substr(eq + 1));
    if (!v.empty() && v.front() == '"') {
      std::string out;
      for (std::size_t i = 1; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
          out.push_back(v[++i]);
        } else if (v[i] == '"') {
          return out;
        } else {
          out.push_back(v[i]);
        }
      }
      return std::nullopt;  // unterminated
    }
    return std::string(v.substr(0, v.find(';')));
  }
  return std::nullopt;
}

bool EndsWithTrimmed(std::string_view data, std::string_view tail, std::size_t window) {
  const std::string_view end = data.substr(data.size() > window ? data.size() - window : 0);
  return end.find(tail) != std::string_view::npos;
}

std::uint32_t Le32(std::string_view d, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(d[at])) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(d[at + 1])) << 8) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(d[at + 2])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(d[at + 3])) << 24);
}

}  // namespace

Result<std::vector<Part>> ParseMultipart(std::string_view body, std::string_view content_type) {
  if (Lower(Trim(content_type.substr(0, content_type.find(';')))) != "multipart/form-data") {
    return Fail(Errc::kUnsupportedMediaType,
                "upload with Content-Type: multipart/form-data (curl -F \"file=@bill.pdf\")");
  }
  const auto boundary = HeaderParam(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) {
    return Bad("multipart/form-data needs a boundary parameter of 1 to 200 characters");
  }
  const std::string delimiter = "--" + *boundary;
  std::vector<Part> parts;
  std::size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) {
    return Bad("the multipart body does not contain its boundary");
  }
  while (true) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") {
      break;  // close delimiter
    }
    if (body.substr(pos, 2) != "\r\n") {
      return Bad("malformed multipart boundary line");
    }
    pos += 2;
    const std::size_t head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) {
      return Bad("a multipart part has no end of headers (truncated upload?)");
    }
    Part part;
    std::string_view headers = body.substr(pos, head_end - pos);
    bool has_disposition = false;
    while (!headers.empty()) {
      const std::size_t eol = headers.find("\r\n");
      const std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        return Bad("malformed multipart part header");
      }
      const std::string name = Lower(Trim(line.substr(0, colon)));
      const std::string_view value = Trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        if (Lower(Trim(value.substr(0, value.find(';')))) != "form-data") {
          return Bad("a multipart part must be Content-Disposition: form-data");
        }
        has_disposition = true;
        part.name = HeaderParam(value, "name").value_or("");
        part.filename = HeaderParam(value, "filename").value_or("");
      } else if (name == "content-type") {
        part.content_type = Lower(Trim(value.substr(0, value.find(';'))));
      }
    }
    if (!has_disposition || part.name.empty()) {
      return Bad("a multipart part has no Content-Disposition name");
    }
    const std::size_t data_start = head_end + 4;
    const std::size_t next = body.find("\r\n" + delimiter, data_start);
    if (next == std::string_view::npos) {
      return Bad("the multipart body ends before its closing boundary (truncated upload?)");
    }
    part.data = body.substr(data_start, next - data_start);
    parts.push_back(std::move(part));
    if (parts.size() > 20) {
      return Bad("too many multipart parts (at most 20)");
    }
    pos = next + 2;
  }
  return parts;
}

std::optional<FileType> DetectType(std::string_view d) {
  auto starts = [&d](std::string_view magic) { return d.substr(0, magic.size()) == magic; };
  if (starts("%PDF-")) {
    return FileType{"application/pdf", "pdf"};
  }
  if (starts("\xFF\xD8\xFF")) {
    return FileType{"image/jpeg", "jpg"};
  }
  if (starts("\x89PNG\r\n\x1A\n")) {
    return FileType{"image/png", "png"};
  }
  if (starts("GIF87a") || starts("GIF89a")) {
    return FileType{"image/gif", "gif"};
  }
  if (d.size() >= 12 && starts("RIFF") && d.substr(8, 4) == "WEBP") {
    return FileType{"image/webp", "webp"};
  }
  return std::nullopt;
}

Result<void> CheckFile(const FileType& type, std::string_view d) {
  const std::string_view mime = type.mime;
  if (mime == "application/pdf") {
    if (!EndsWithTrimmed(d, "%%EOF", 1024)) {
      return Bad("the PDF is truncated (no %%EOF at its end)");
    }
    // Active content a viewer may run, in the file and in its compressed object streams.
    PORTLINE_ASSIGN_OR_RETURN(auto active, FindPdfActiveContent(d));
    if (active) {
      return Fail(Errc::kUnprocessable,
                  "the PDF contains active content (" + *active +
                      "); upload a plain document, e.g. printed to PDF again");
    }
    return {};
  }
  if (mime == "image/jpeg") {
    if (d.size() < 4 || d.substr(d.size() - 2) != "\xFF\xD9") {
      return Bad("the JPEG is truncated (no end-of-image marker)");
    }
    return {};
  }
  if (mime == "image/png") {
    static constexpr std::string_view kIend("\0\0\0\0IEND\xAE\x42\x60\x82", 12);
    if (d.size() < 8 + 12 || d.substr(d.size() - 12) != kIend) {
      return Bad("the PNG is truncated (no IEND chunk at its end)");
    }
    return {};
  }
  if (mime == "image/gif") {
    if (d.size() < 14 || d.back() != '\x3B') {
      return Bad("the GIF is truncated (no trailer)");
    }
    return {};
  }
  if (mime == "image/webp") {
    if (d.size() < 12 || Le32(d, 4) + 8 != d.size()) {
      return Bad("the WebP file is truncated (its RIFF size does not match)");
    }
    return {};
  }
  return Fail(Errc::kUnsupportedMediaType, "unsupported file type");
}

bool DeclaredTypeAgrees(const FileType& detected, std::string_view declared_mime,
                        std::string_view filename) {
  const std::string mime = Lower(declared_mime);
  if (!mime.empty() && mime != "application/octet-stream" && mime != detected.mime &&
      !(detected.mime == "image/jpeg" && mime == "image/jpg")) {
    return false;
  }
  const std::size_t dot = filename.rfind('.');
  if (dot == std::string_view::npos) {
    return true;
  }
  const std::string ext = Lower(filename.substr(dot + 1));
  static constexpr std::array<std::string_view, 6> kKnown{"pdf", "jpg", "jpeg",
                                                          "png", "gif", "webp"};
  if (std::find(kKnown.begin(), kKnown.end(), ext) == kKnown.end()) {
    return ext != "exe" && ext != "html" && ext != "htm" && ext != "js" && ext != "svg";
  }
  return ext == detected.extension || (detected.extension == "jpg" && ext == "jpeg");
}

Result<std::string> DecodeSignaturePng(std::string_view data_url, std::size_t max_bytes) {
  constexpr std::string_view kPrefix = "data:image/png;base64,";
  if (data_url.substr(0, kPrefix.size()) != kPrefix) {
    return FailCode(Errc::kInvalidArgument, "INVALID_SIGNATURE_IMAGE",
                    "the drawn signature must be a PNG data URL", "drawn");
  }
  const std::string_view b64 = data_url.substr(kPrefix.size());
  if (b64.size() > (max_bytes + 2) / 3 * 4 + 4) {
    return FailCode(Errc::kPayloadTooLarge, "SIGNATURE_IMAGE_TOO_LARGE",
                    "the drawn signature is larger than " + std::to_string(max_bytes) + " bytes",
                    "drawn");
  }
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') {
      return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
      return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
      return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string out;
  unsigned bits = 0;
  int nbits = 0;
  for (char c : b64) {
    if (c == '=') {
      break;
    }
    const int v = value(c);
    if (v < 0) {
      return FailCode(Errc::kInvalidArgument, "INVALID_SIGNATURE_IMAGE",
                      "the drawn signature is not valid base64", "drawn");
    }
    bits = (bits << 6) | static_cast<unsigned>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<char>((bits >> nbits) & 0xFF));
    }
  }
  const auto type = DetectType(out);
  if (!type || type->mime != "image/png" || !CheckFile(*type, out)) {
    return FailCode(Errc::kInvalidArgument, "INVALID_SIGNATURE_IMAGE",
                    "the drawn signature is not a complete PNG image", "drawn");
  }
  return out;
}

}  // namespace portline::documents
