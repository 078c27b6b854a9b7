#include "documents/service.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/crypto.hpp"
#include "core/json_util.hpp"
#include "documents/content.hpp"

namespace portline::documents {
namespace {

namespace json = boost::json;

constexpr std::string_view kTypes[] = {"utility_bill", "invoice", "loa", "csr", "other"};

bool ValidType(std::string_view t) {
  for (std::string_view k : kTypes) {
    if (k == t) {
      return true;
    }
  }
  return false;
}

// A filename safe to echo and to put in Content-Disposition: printable ASCII, no quotes or
// path separators, at most 200 characters.
std::string CleanFilename(std::string_view name) {
  const std::size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) {
    name = name.substr(slash + 1);
  }
  std::string out;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u >= 0x7f || c == '"' || c == ';' ? '_' : c);
    if (out.size() == 200) {
      break;
    }
  }
  return out;
}

std::string WithExtension(std::string name, std::string_view extension) {
  if (const auto dot = name.find_last_of('.'); dot != std::string::npos && dot > 0) {
    name.resize(dot);
  }
  if (name.empty() || name == ".") {
    name = "document";
  }
  if (name.size() > 190) {
    name.resize(190);
  }
  return name + "." + std::string(extension);
}

class FileBlobStore final : public BlobStore {
 public:
  explicit FileBlobStore(std::string root) : root_(std::move(root)) {}

  Result<void> Put(const std::string& key, std::string_view bytes) override {
    const std::filesystem::path path = Path(key);
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return Fail(Errc::kUnavailable, "document storage is not writable", ec.message());
    }
    const std::string tmp = path.string() + ".tmp";
    const int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
      return Fail(Errc::kUnavailable, "document storage is not writable", tmp);
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) {
        ::close(fd);
        ::unlink(tmp.c_str());
        return Fail(Errc::kUnavailable, "document storage is full or failing", tmp);
      }
      done += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
      ::unlink(tmp.c_str());
      return Fail(Errc::kUnavailable, "document storage failed to commit the file", tmp);
    }
    return {};
  }

  Result<std::string> Get(const std::string& key) override {
    std::ifstream in(Path(key), std::ios::binary);
    if (!in) {
      return Fail(Errc::kInternal, "the document's bytes are missing from storage", key);
    }
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  void Remove(const std::string& key) override {
    std::error_code ec;
    std::filesystem::remove(Path(key), ec);
  }

 private:
  std::filesystem::path Path(const std::string& key) const {
    return std::filesystem::path(root_) / key;
  }
  std::string root_;
};

std::string BlobKey(std::string_view org, std::string_view id) {
  return std::string(org) + "/" + std::string(id);
}

json::value MetadataJson(const store::Row& r) {
  // id, doc_type, content_type, filename, size_bytes, sha256, port_request_id, created_at
  json::object o{{"document_sid", r.Text(0)},
                 {"id", r.Text(0)},
                 {"type", r.Text(1)},
                 {"content_type", r.Text(2)},
                 {"filename", r.Text(3)},
                 {"size_bytes", r.Int(4)},
                 {"sha256", r.Text(5)},
                 {"port_request_id", r.IsNull(6) ? json::value(nullptr) : json::value(r.Text(6))},
                 {"created_at", TimestampJson(r.Int(7))},
                 {"download_url", "/v1/sip/port/documents/" + r.Text(0) + "/content"}};
  return o;
}

constexpr std::string_view kColumns =
    "id, doc_type, content_type, filename, size_bytes, sha256, port_request_id, created_at";

}  // namespace

std::unique_ptr<BlobStore> MakeFileBlobStore(std::string root) {
  return std::make_unique<FileBlobStore>(std::move(root));
}

DocumentService::DocumentService(store::Database& db, BlobStore& blobs, const Clock& clock,
                                 DocumentOptions options)
    : db_(db), blobs_(blobs), clock_(clock), opts_(options) {}

Result<json::value> DocumentService::Upload(std::string_view org, std::string_view body,
                                            std::string_view content_type) {
  PORTLINE_ASSIGN_OR_RETURN(auto parts, ParseMultipart(body, content_type));
  const Part* file = nullptr;
  std::string doc_type = "utility_bill";
  std::string port_request_id;
  FieldErrors errors;
  for (const Part& p : parts) {
    if (p.name == "file") {
      if (file != nullptr) {
        errors.Add("file", "DUPLICATE_FIELD", "send exactly one file per upload");
      }
      file = &p;
    } else if (p.name == "type") {
      doc_type = std::string(p.data);
      if (!ValidType(doc_type)) {
        errors.Add("type", "INVALID_VALUE",
                   "type must be one of utility_bill, invoice, loa, csr, other");
      }
    } else if (p.name == "port_request_id") {
      port_request_id = std::string(p.data);
    } else {
      errors.Add(p.name, "UNKNOWN_FIELD", "unknown form field '" + CleanFilename(p.name) + "'");
    }
  }
  if (file == nullptr) {
    errors.Add("file", "REQUIRED", "the form field 'file' (the document) is required");
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  if (file->data.empty()) {
    return FailCode(Errc::kInvalidArgument, "EMPTY_FILE", "the uploaded file is empty", "file");
  }
  if (file->data.size() > opts_.max_file_bytes) {
    return FailCode(Errc::kPayloadTooLarge, "FILE_TOO_LARGE",
                    "the file is " + std::to_string(file->data.size()) + " bytes; the limit is " +
                        std::to_string(opts_.max_file_bytes),
                    "file");
  }
  const auto detected = DetectType(file->data);
  if (!detected) {
    return FailCode(Errc::kUnsupportedMediaType, "UNSUPPORTED_FILE_TYPE",
                    "the file is not a PDF, JPEG, PNG, GIF or WebP (detected from its content)",
                    "file");
  }
  if (!DeclaredTypeAgrees(*detected, file->content_type, file->filename)) {
    return FailCode(Errc::kUnsupportedMediaType, "FILE_TYPE_MISMATCH",
                    "the file's content is " + std::string(detected->mime) +
                        " but it was sent as " +
                        (file->content_type.empty() ? std::string() : file->content_type + " ") +
                        "named '" + CleanFilename(file->filename) + "'",
                    "file");
  }
  if (auto ok = CheckFile(*detected, file->data); !ok) {
    Error e = ok.error();
    if (e.api_code.empty()) {  // PDF_UNCHECKABLE keeps its own
      e.api_code = e.code == Errc::kUnprocessable ? "ACTIVE_CONTENT" : "TRUNCATED_FILE";
    }
    e.fields.push_back(FieldError{e.api_code, e.message, "file"});
    return tl::unexpected(std::move(e));
  }
  if (!port_request_id.empty()) {
    PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, conn->Query("SELECT 1 FROM port_requests WHERE id = $1 AND org_id = $2",
                               {port_request_id, std::string(org)}));
    if (rows.empty()) {
      return FailCode(Errc::kNotFound, "PORT_REQUEST_NOT_FOUND",
                      "no port request " + CleanFilename(port_request_id), "port_request_id");
    }
  }
  // The name's extension is the detected type's, whatever the client called it ("bill.html"
  // that is a PDF downloads as "bill.pdf"), so no viewer is chosen by a name that lies.
  const std::string filename = WithExtension(
      file->filename.empty() ? std::string("document") : CleanFilename(file->filename),
      detected->extension);
  return Insert(org, file->data, detected->mime, doc_type, filename, port_request_id);
}

Result<json::value> DocumentService::StoreGenerated(std::string_view org, std::string_view bytes,
                                                    std::string_view doc_type,
                                                    std::string_view filename,
                                                    std::string_view port_request_id) {
  const auto detected = DetectType(bytes);
  if (!detected) {
    return Fail(Errc::kInternal, "generated document of unknown type");
  }
  return Insert(org, bytes, detected->mime, doc_type, filename, port_request_id);
}

Result<json::value> DocumentService::Insert(std::string_view org, std::string_view bytes,
                                            std::string_view mime, std::string_view doc_type,
                                            std::string_view filename,
                                            std::string_view port_request_id) {
  const auto now = clock_.Now();
  const std::string id = NewId("doc", now);
  const std::string key = BlobKey(org, id);
  // Bytes first, row second: a crash between them leaves an orphan file, never a row without
  // its bytes; a failed insert removes the file.
  PORTLINE_RETURN_IF_ERROR(blobs_.Put(key, bytes));
  auto inserted = [&]() -> Result<json::value> {
    PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
    const std::string sql = "INSERT INTO documents (" + std::string(kColumns) +
                            ", org_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING " +
                            std::string(kColumns);
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows,
        conn->Query(sql, {id, std::string(doc_type), std::string(mime), std::string(filename),
                          static_cast<std::int64_t>(bytes.size()), Sha256Hex(bytes),
                          port_request_id.empty() ? store::Param(nullptr)
                                                  : store::Param(std::string(port_request_id)),
                          ToUnixMillis(now), std::string(org)}));
    return MetadataJson(rows.at(0));
  }();
  if (!inserted) {
    blobs_.Remove(key);
  }
  return inserted;
}

Result<json::value> DocumentService::Get(std::string_view org, std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(auto rows,
                            conn->Query("SELECT " + std::string(kColumns) +
                                            " FROM documents WHERE id = $1 AND org_id = $2",
                                        {std::string(id), std::string(org)}));
  if (rows.empty()) {
    return FailCode(Errc::kNotFound, "DOCUMENT_NOT_FOUND", "no document " + CleanFilename(id));
  }
  return MetadataJson(rows[0]);
}

Result<DocumentService::Content> DocumentService::Download(std::string_view org,
                                                           std::string_view id) {
  PORTLINE_ASSIGN_OR_RETURN(json::value meta, Get(org, id));
  const json::object& o = meta.as_object();
  PORTLINE_ASSIGN_OR_RETURN(std::string bytes, blobs_.Get(BlobKey(org, id)));
  if (Sha256Hex(bytes) != o.at("sha256").as_string()) {
    return Fail(Errc::kInternal, "the stored document failed its checksum",
                "sha256 mismatch for " + std::string(id));
  }
  return Content{std::string(o.at("content_type").as_string()),
                 std::string(o.at("filename").as_string()), std::move(bytes)};
}

Result<json::value> DocumentService::List(std::string_view org, std::string_view port_request_id) {
  PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  std::string sql = "SELECT " + std::string(kColumns) + " FROM documents WHERE org_id = $1";
  store::Params params{org};
  if (!port_request_id.empty()) {
    sql += " AND port_request_id = $2";
    params.emplace_back(port_request_id);
  }
  sql += " ORDER BY id DESC LIMIT 1000";
  PORTLINE_ASSIGN_OR_RETURN(auto rows, conn->Query(sql, params));
  json::array docs;
  for (const store::Row& r : rows) {
    docs.push_back(MetadataJson(r));
  }
  return json::object{{"documents", std::move(docs)}};
}

Result<void> DocumentService::RequireAll(std::string_view org,
                                         const std::vector<std::string>& ids) {
  if (ids.empty()) {
    return {};
  }
  PORTLINE_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  FieldErrors errors;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    PORTLINE_ASSIGN_OR_RETURN(auto rows,
                              conn->Query("SELECT 1 FROM documents WHERE id = $1 AND org_id = $2",
                                          {ids[i], std::string(org)}));
    if (rows.empty()) {
      errors.Add("documents[" + std::to_string(i) + "]", "DOCUMENT_NOT_FOUND",
                 "no document " + CleanFilename(ids[i]) +
                     " (upload it with POST "
                     "/v1/sip/port/document first)");
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  return {};
}

}  // namespace portline::documents
