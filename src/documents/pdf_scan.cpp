#include "documents/pdf_scan.hpp"

#include <zlib.h>

#include <array>
#include <cctype>

namespace portline::documents {
namespace {

// Inflated object streams may hold at most this much in total (a zip bomb stops here).
constexpr std::size_t kMaxInflated = 64u << 20;

constexpr std::array<std::string_view, 8> kActive = {
    "/JavaScript", "/JS", "/Launch", "/EmbeddedFile", "/OpenAction", "/AA", "/RichMedia", "/XFA"};

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Names can be hex-escaped (/J#61vaScript): folds #xx into the byte it stands for.
std::string FoldNames(std::string_view d) {
  std::string folded;
  folded.reserve(d.size());
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (d[i] == '#' && i + 2 < d.size() && HexValue(d[i + 1]) >= 0 && HexValue(d[i + 2]) >= 0) {
      folded.push_back(static_cast<char>(HexValue(d[i + 1]) * 16 + HexValue(d[i + 2])));
      i += 2;
    } else {
      folded.push_back(d[i]);
    }
  }
  return folded;
}

// A PDF name ends at a delimiter: "/JSON" is not "/JS".
bool HasName(std::string_view folded, std::string_view name) {
  for (std::size_t at = folded.find(name); at != std::string_view::npos;
       at = folded.find(name, at + 1)) {
    const std::size_t after = at + name.size();
    if (after >= folded.size() || !std::isalnum(static_cast<unsigned char>(folded[after]))) {
      return true;
    }
  }
  return false;
}

std::optional<std::string> ActiveName(std::string_view text) {
  const std::string folded = FoldNames(text);
  for (std::string_view bad : kActive) {
    if (HasName(folded, bad)) {
      return std::string(bad.substr(1));
    }
  }
  return std::nullopt;
}

// zlib inflate of `in`, appending to `out` while the total stays within `budget`.
bool Inflate(std::string_view in, std::string& out, std::size_t& budget) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) {
    return false;
  }
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::array<char, 16384> chunk{};
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = chunk.size() - z.avail_out;
    if (produced > budget) {
      inflateEnd(&z);
      return false;
    }
    budget -= produced;
    out.append(chunk.data(), produced);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) {
      break;  // input ended without a stream end: keep what was inflated
    }
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END || rc == Z_BUF_ERROR;
}

}  // namespace

Result<std::optional<std::string>> FindPdfActiveContent(std::string_view pdf) {
  if (auto name = ActiveName(pdf)) {
    return name;
  }
  std::size_t budget = kMaxInflated;
  // Each "stream" keyword: its dictionary runs back to the object's "obj", its data to
  // "endstream". Only object streams hold dictionaries; page content streams are not read.
  for (std::size_t at = pdf.find("stream"); at != std::string_view::npos;
       at = pdf.find("stream", at + 6)) {
    if (at >= 3 && pdf.substr(at - 3, 3) == "end") {
      continue;
    }
    const std::size_t obj = pdf.rfind("obj", at);
    if (obj == std::string_view::npos) {
      continue;
    }
    const std::string dict = FoldNames(pdf.substr(obj, at - obj));
    if (!HasName(dict, "/ObjStm")) {
      continue;
    }
    std::size_t data = at + 6;
    if (data < pdf.size() && pdf[data] == '\r') {
      ++data;
    }
    if (data < pdf.size() && pdf[data] == '\n') {
      ++data;
    }
    const std::size_t end = pdf.find("endstream", data);
    if (end == std::string_view::npos) {
      return FailCode(Errc::kUnprocessable, "PDF_UNCHECKABLE",
                      "the PDF has an object stream without its end; upload it again");
    }
    const bool flate = HasName(dict, "/FlateDecode");
    const bool other_filter = HasName(dict, "/LZWDecode") || HasName(dict, "/ASCIIHexDecode") ||
                              HasName(dict, "/ASCII85Decode") || HasName(dict, "/RunLengthDecode");
    const bool predictor = HasName(dict, "/Predictor");
    if (other_filter || predictor) {
      return FailCode(Errc::kUnprocessable, "PDF_UNCHECKABLE",
                      "the PDF stores objects in an encoding Portline cannot check; upload a "
                      "plain document, e.g. printed to PDF again");
    }
    std::string inflated;
    if (flate) {
      if (!Inflate(pdf.substr(data, end - data), inflated, budget)) {
        return FailCode(Errc::kUnprocessable, "PDF_UNCHECKABLE",
                        "an object stream of the PDF does not decompress, or is too large to "
                        "check; upload a plain document, e.g. printed to PDF again");
      }
    } else {
      inflated = std::string(pdf.substr(data, end - data));
    }
    if (auto name = ActiveName(inflated)) {
      return name;
    }
    at = end;
  }
  return std::nullopt;
}

}  // namespace portline::documents
