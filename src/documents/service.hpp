#pragma once

// Documents attached to port requests: upload (multipart, type detected from the bytes, checked
// for truncation and active content), metadata, download (verified against its SHA-256), and
// listing. Bytes go to a BlobStore; metadata to the database. Organization-scoped: another
// organization's document is "not found".

#include <boost/json/value.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/database.hpp"

namespace portline::documents {

/// Where document bytes live. Implementations must be safe to call from several threads.
class BlobStore {
 public:
  virtual ~BlobStore() = default;
  /// Stores `bytes` under `key` atomically (all or nothing, durable on return).
  [[nodiscard]] virtual Result<void> Put(const std::string& key, std::string_view bytes) = 0;
  [[nodiscard]] virtual Result<std::string> Get(const std::string& key) = 0;
  virtual void Remove(const std::string& key) = 0;
};

/// Files under a root directory: write to a temporary file, fsync, rename.
[[nodiscard]] std::unique_ptr<BlobStore> MakeFileBlobStore(std::string root);

struct DocumentOptions {
  std::size_t max_file_bytes = 10 * 1024 * 1024;
};

class DocumentService {
 public:
  DocumentService(store::Database& db, BlobStore& blobs, const Clock& clock,
                  DocumentOptions options = {});

  /// POST /v1/sip/port/document: `body` is the multipart body, `content_type` its header.
  /// Form fields: `file` (required), `type` (utility_bill|invoice|loa|csr|other, default
  /// utility_bill), `port_request_id` (optional). Nothing is kept when anything fails.
  [[nodiscard]] Result<boost::json::value> Upload(std::string_view org, std::string_view body,
                                                  std::string_view content_type);
  /// Stores bytes Portline made itself (the generated and signed LOAs).
  [[nodiscard]] Result<boost::json::value> StoreGenerated(std::string_view org,
                                                          std::string_view bytes,
                                                          std::string_view doc_type,
                                                          std::string_view filename,
                                                          std::string_view port_request_id);
  [[nodiscard]] Result<boost::json::value> Get(std::string_view org, std::string_view id);
  struct Content {
    std::string content_type;
    std::string filename;
    std::string bytes;
  };
  [[nodiscard]] Result<Content> Download(std::string_view org, std::string_view id);
  /// Newest first; `port_request_id` filters when not empty.
  [[nodiscard]] Result<boost::json::value> List(std::string_view org,
                                                std::string_view port_request_id);
  /// Fails with a field error for each id that is not a document of `org`.
  [[nodiscard]] Result<void> RequireAll(std::string_view org, const std::vector<std::string>& ids);

 private:
  Result<boost::json::value> Insert(std::string_view org, std::string_view bytes,
                                    std::string_view mime, std::string_view doc_type,
                                    std::string_view filename, std::string_view port_request_id);
  store::Database& db_;
  BlobStore& blobs_;
  const Clock& clock_;
  DocumentOptions opts_;
};

}  // namespace portline::documents
