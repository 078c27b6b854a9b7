#pragma once

#include <filesystem>
#include <string>

namespace portline::testing {

/// A fresh directory under $TMPDIR, removed with its contents when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace portline::testing
