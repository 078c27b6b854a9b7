// Documents: multipart parsing and content checks (pure), and the upload/metadata/download API on
// SQLite and PostgreSQL.
#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>

#include "core/crypto.hpp"
#include "documents/content.hpp"
#include "support/backend_fixture.hpp"

namespace portline {
namespace {

using documents::CheckFile;
using documents::DetectType;
using documents::ParseMultipart;

std::string Pdf(std::string_view extra = "") {
  return "%PDF-1.4\n1 0 obj << /Type /Catalog " + std::string(extra) +
         " >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
}
std::string Png() {
  std::string s("\x89PNG\r\n\x1A\n", 8);
  s += std::string("\0\0\0\x0DIHDR", 8) + std::string(13, '\x01') + std::string(4, '\x02');
  s += std::string("\0\0\0\0IEND\xAE\x42\x60\x82", 12);
  return s;
}
std::string Jpeg() { return std::string("\xFF\xD8\xFF\xE0\0\x10JFIF\0", 11) + "data\xFF\xD9"; }
std::string Gif() { return std::string("GIF89a\x01\0\x01\0\0\0\0", 13) + "x;"; }
std::string Webp() {
  std::string body = "WEBPVP8 " + std::string(10, 'v');
  const auto n = static_cast<std::uint32_t>(body.size());
  std::string s = "RIFF";
  for (int i = 0; i < 4; ++i) {
    s.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
  return s + body;
}

const std::string kBoundary = "----portline-test-boundary";
std::string Multipart(
    const std::vector<std::tuple<std::string, std::string, std::string, std::string>>& parts) {
  // (name, filename, content_type, data)
  std::string out;
  for (const auto& [name, filename, type, data] : parts) {
    out += "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"";
    if (!filename.empty()) {
      out += "; filename=\"" + filename + "\"";
    }
    out += "\r\n";
    if (!type.empty()) {
      out += "Content-Type: " + type + "\r\n";
    }
    out += "\r\n" + data + "\r\n";
  }
  return out + "--" + kBoundary + "--\r\n";
}
const std::string kMultipartType = "multipart/form-data; boundary=" + kBoundary;

TEST(DocumentContent, MultipartParsing) {
  const std::string body =
      Multipart({{"file", "bill.pdf", "application/pdf", Pdf()}, {"type", "", "", "invoice"}});
  auto parts = ParseMultipart(body, kMultipartType);
  ASSERT_TRUE(parts) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "file");
  EXPECT_EQ((*parts)[0].filename, "bill.pdf");
  EXPECT_EQ((*parts)[0].content_type, "application/pdf");
  EXPECT_EQ((*parts)[0].data, Pdf());
  EXPECT_EQ((*parts)[1].data, "invoice");
  // A quoted boundary works too.
  EXPECT_TRUE(ParseMultipart(body, "multipart/form-data; boundary=\"" + kBoundary + "\""));

  EXPECT_EQ(ParseMultipart(body, "application/json").error().code, Errc::kUnsupportedMediaType);
  EXPECT_FALSE(ParseMultipart(body, "multipart/form-data"));
  EXPECT_FALSE(ParseMultipart(body.substr(0, body.size() / 2), kMultipartType));  // truncated
  EXPECT_FALSE(ParseMultipart("no boundary here", kMultipartType));
  EXPECT_FALSE(ParseMultipart("--" + kBoundary + "\r\nX: y\r\n\r\ndata\r\n--" + kBoundary + "--",
                              kMultipartType));  // no Content-Disposition
}

TEST(DocumentContent, DetectionTruncationAndActiveContent) {
  EXPECT_EQ(DetectType(Pdf())->mime, "application/pdf");
  EXPECT_EQ(DetectType(Png())->mime, "image/png");
  EXPECT_EQ(DetectType(Jpeg())->mime, "image/jpeg");
  EXPECT_EQ(DetectType(Gif())->mime, "image/gif");
  EXPECT_EQ(DetectType(Webp())->mime, "image/webp");
  EXPECT_FALSE(DetectType("<html><script>alert(1)</script>"));
  EXPECT_FALSE(DetectType("MZ\x90\0executable"));
  for (const std::string& good : {Pdf(), Png(), Jpeg(), Gif(), Webp()}) {
    auto t = DetectType(good);
    EXPECT_TRUE(CheckFile(*t, good)) << t->mime;
    const std::string cut = good.substr(0, good.size() - 3);
    EXPECT_FALSE(CheckFile(*t, cut)) << t->mime << " truncated must fail";
  }
  const auto pdf = *DetectType(Pdf());
  for (const char* bad : {"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", "/AA << >>",
                          "/Launch /F (calc.exe)", "/J#61vaScript (x)", "/EmbeddedFile 2 0 R"}) {
    auto r = CheckFile(pdf, Pdf(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::kUnprocessable) << bad;
  }
  EXPECT_TRUE(CheckFile(pdf, Pdf("/JSON (not script)")));  // a name that only starts with /JS
  EXPECT_TRUE(documents::DeclaredTypeAgrees(pdf, "application/octet-stream", "bill.pdf"));
  EXPECT_TRUE(documents::DeclaredTypeAgrees(pdf, "", "bill"));
  EXPECT_FALSE(documents::DeclaredTypeAgrees(pdf, "image/png", "bill.pdf"));
  EXPECT_FALSE(documents::DeclaredTypeAgrees(pdf, "", "bill.png"));
  EXPECT_FALSE(documents::DeclaredTypeAgrees(pdf, "", "bill.html"));
}

// A PDF 1.5 whose objects live in a compressed object stream, as modern writers make them.
std::string ObjStmPdf(const std::string& objects, std::string_view filter = "/FlateDecode",
                      bool object_stream = true) {
  std::string packed = objects;
  if (filter == "/FlateDecode") {
    uLongf n = compressBound(objects.size());
    packed.assign(n, '\0');
    EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(packed.data()), &n,
                        reinterpret_cast<const Bytef*>(objects.data()), objects.size(), 9),
              Z_OK);
    packed.resize(n);
  }
  const std::string type = object_stream ? "/Type /ObjStm /N 1 /First 4 " : "";
  return "%PDF-1.5\n1 0 obj << /Type /Catalog /Pages 3 0 R >> endobj\n2 0 obj\n<< " + type +
         "/Filter " + std::string(filter) + " /Length " + std::to_string(packed.size()) +
         " >>\nstream\n" + packed + "\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
}

TEST(DocumentContent, ActiveContentInsideCompressedObjectStreams) {
  const auto pdf = *DetectType(Pdf());
  const std::string script = "5 0 << /S /JavaScript /JS (app.alert(1)) >>";
  auto hidden = CheckFile(pdf, ObjStmPdf(script));
  ASSERT_FALSE(hidden) << "JavaScript inside a FlateDecode object stream";
  EXPECT_EQ(hidden.error().code, Errc::kUnprocessable);
  EXPECT_NE(hidden.error().message.find("active content (JavaScript)"), std::string::npos);
  EXPECT_FALSE(CheckFile(pdf, ObjStmPdf("5 0 << /OpenAction << /S /L#61unch >> >>")));
  EXPECT_FALSE(CheckFile(pdf, ObjStmPdf(script, "/ASCIIHexDecode")))
      << "an encoding we do not decode cannot be checked";
  EXPECT_TRUE(
      CheckFile(pdf, ObjStmPdf("5 0 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")));
  // A page's drawing instructions are not dictionaries: they are not read.
  EXPECT_TRUE(CheckFile(pdf, ObjStmPdf("/JS 12 Tf (hello) Tj", "/FlateDecode", false)));
  // A stream that inflates without bound stops at the cap.
  auto bomb = CheckFile(pdf, ObjStmPdf(std::string(65u << 20, ' ')));
  ASSERT_FALSE(bomb);
  EXPECT_EQ(bomb.error().api_code, "PDF_UNCHECKABLE");
}

class DocumentsApiTest : public testing::ApiTest {
 protected:
  api::Response Upload(const std::string& body, const std::string& key = {}) {
    return Call(*api_, "POST", "/v1/sip/port/document", key.empty() ? key_ : key, body,
                {{"Content-Type", kMultipartType}});
  }
  std::size_t StoredFiles() {
    std::size_t n = 0;
    const auto root = std::filesystem::path(dir_.path()) / "documents";
    if (std::filesystem::exists(root)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
        n += e.is_regular_file() ? 1U : 0U;
      }
    }
    return n;
  }
};

TEST_P(DocumentsApiTest, UploadReadDownloadAndIsolation) {
  auto up = Upload(Multipart({{"file", "bill.pdf", "application/pdf", Pdf()}}));
  ASSERT_EQ(up.status, 201) << up.body;
  const auto data = Json(up.body).at("data");
  const std::string sid(data.at("document_sid").as_string());
  EXPECT_TRUE(IsWellFormedId(sid, "doc"));
  EXPECT_EQ(data.at("type").as_string(), "utility_bill");
  EXPECT_EQ(data.at("content_type").as_string(), "application/pdf");
  EXPECT_EQ(data.at("size_bytes").as_int64(), static_cast<std::int64_t>(Pdf().size()));
  EXPECT_EQ(data.at("sha256").as_string(), Sha256Hex(Pdf()));

  for (const auto& [name, file, type] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"photo.png", Png(), "image/png"},
           {"scan.jpeg", Jpeg(), "image/jpeg"},
           {"a.gif", Gif(), "image/gif"},
           {"b.webp", Webp(), ""}}) {
    auto r = Upload(Multipart({{"file", name, type, file}, {"type", "", "", "invoice"}}));
    EXPECT_EQ(r.status, 201) << name << " " << r.body;
  }

  auto meta = Call(*api_, "GET", "/v1/sip/port/documents/" + sid, key_);
  ASSERT_EQ(meta.status, 200) << meta.body;
  EXPECT_EQ(Json(meta.body).at("data").at("filename").as_string(), "bill.pdf");
  auto content = Call(*api_, "GET", "/v1/sip/port/documents/" + sid + "/content", key_);
  ASSERT_EQ(content.status, 200) << content.body;
  EXPECT_EQ(content.body, Pdf());
  EXPECT_EQ(content.content_type, "application/pdf");
  // The download name takes the detected type's extension, whatever the client called it.
  auto renamed = Upload(
      Multipart({{"file", "bill.docx", "application/pdf", Pdf()}, {"type", "", "", "invoice"}}));
  ASSERT_EQ(renamed.status, 201) << renamed.body;
  EXPECT_EQ(Json(renamed.body).at("data").at("filename").as_string(), "bill.pdf");
  auto list = Call(*api_, "GET", "/v1/sip/port/documents", key_);
  EXPECT_EQ(Json(list.body).at("data").at("documents").as_array().size(), 6u);

  // Another organization sees nothing.
  const std::string other = NewOrgKey("other");
  EXPECT_EQ(Call(*api_, "GET", "/v1/sip/port/documents/" + sid, other).status, 404);
  EXPECT_EQ(Call(*api_, "GET", "/v1/sip/port/documents/" + sid + "/content", other).status, 404);
  EXPECT_EQ(Json(Call(*api_, "GET", "/v1/sip/port/documents", other).body)
                .at("data")
                .at("documents")
                .as_array()
                .size(),
            0u);

  // A stored file that was tampered with fails its checksum instead of being served.
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path() + "/documents")) {
    if (e.path().filename() == sid) {
      std::ofstream(e.path(), std::ios::binary) << "%PDF-1.4 evil\n%%EOF\n";
    }
  }
  EXPECT_EQ(Call(*api_, "GET", "/v1/sip/port/documents/" + sid + "/content", key_).status, 500);
}

TEST_P(DocumentsApiTest, BadUploadsGetAClearErrorAndLeaveNothing) {
  struct Case {
    std::string body;
    int status;
    std::string code;
  };
  const std::string big(10 * 1024 * 1024 + 1, 'x');
  const std::vector<Case> cases = {
      {Multipart({{"file", "bill.pdf", "application/pdf", "%PDF-" + big}}), 413, "FILE_TOO_LARGE"},
      {Multipart({{"file", "bill.pdf", "application/pdf", Png()}}), 415, "FILE_TYPE_MISMATCH"},
      {Multipart({{"file", "bill.png", "", Pdf()}}), 415, "FILE_TYPE_MISMATCH"},
      {Multipart({{"file", "x.exe", "", "MZ\x90 not a document"}}), 415, "UNSUPPORTED_FILE_TYPE"},
      {Multipart({{"file", "bill.png", "image/png", Png().substr(0, 20)}}), 400, "TRUNCATED_FILE"},
      {Multipart({{"file", "bill.pdf", "", Pdf("/OpenAction << /S /JavaScript /JS (x) >>")}}), 422,
       "ACTIVE_CONTENT"},
      {Multipart({{"file", "bill.pdf", "", ""}}), 400, "EMPTY_FILE"},
      {Multipart({{"type", "", "", "utility_bill"}}), 400, "REQUIRED"},
      {Multipart({{"file", "bill.pdf", "", Pdf()}, {"type", "", "", "selfie"}}), 400,
       "INVALID_VALUE"},
      {Multipart({{"file", "bill.pdf", "", Pdf()}, {"port_request_id", "", "", "port_nope"}}), 404,
       "PORT_REQUEST_NOT_FOUND"},
      {Multipart({{"file", "bill.pdf", "", Pdf()}}).substr(0, 120), 400, "INVALID_REQUEST"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.code);
    auto r = Upload(c.body);
    EXPECT_EQ(r.status, c.status) << r.body.substr(0, 300);
    EXPECT_NE(r.body.find("\"" + c.code + "\""), std::string::npos) << r.body.substr(0, 300);
  }
  EXPECT_EQ(StoredFiles(), 0u);
  EXPECT_EQ(Json(Call(*api_, "GET", "/v1/sip/port/documents", key_).body)
                .at("data")
                .at("documents")
                .as_array()
                .size(),
            0u);
  // JSON instead of multipart: 415 naming the expected type.
  auto json = Call(*api_, "POST", "/v1/sip/port/document", key_, R"({"file":"x"})");
  EXPECT_EQ(json.status, 415) << json.body;
}

TEST_P(DocumentsApiTest, PortRequestsReferenceOnlyTheirOrganizationsDocuments) {
  auto up = Upload(Multipart({{"file", "bill.pdf", "", Pdf()}}));
  ASSERT_EQ(up.status, 201);
  const std::string sid(Json(up.body).at("data").at("document_sid").as_string());
  auto body = [](const std::string& doc) {
    return R"({"phone_numbers": ["+14155550100"], "documents": [")" + doc +
           R"("], "losing_carrier_information": {"customer_type": "business", "business_name":
           "Acme Corp", "first_name": "Jane", "last_name": "Doe", "account_number": "ACC-12345",
           "authorized_representative_email": "jane@acme.example", "address": {"street":
           "123 Main St", "city": "San Francisco", "state": "CA", "zip": "94105"}}})";
  };
  auto missing = Call(*api_, "POST", "/v1/sip/port/initiate", key_, body("doc_missing"));
  EXPECT_EQ(missing.status, 400) << missing.body;
  EXPECT_NE(missing.body.find("\"field\":\"documents[0]\""), std::string::npos) << missing.body;
  EXPECT_NE(missing.body.find("DOCUMENT_NOT_FOUND"), std::string::npos);
  const std::string other = NewOrgKey("other");
  auto foreign = Call(*api_, "POST", "/v1/sip/port/initiate", other, body(sid));
  EXPECT_EQ(foreign.status, 400) << foreign.body;
  auto ok = Call(*api_, "POST", "/v1/sip/port/initiate", key_, body(sid));
  EXPECT_EQ(ok.status, 201) << ok.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, DocumentsApiTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace portline
