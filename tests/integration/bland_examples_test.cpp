// Sends the Bland guide's /v1/sip curl examples (tests/data/bland_sip_examples.txt) with real
// curl to the real binary, in order, and checks each documented response field. Then checks
// that no credential from those requests reached the server's log.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace portline {
namespace {

struct Example {
  std::string name;
  std::string command;
  std::vector<std::string> expects;
};

std::vector<Example> LoadExamples() {
  std::ifstream in(PORTLINE_TEST_DATA_DIR "/bland_sip_examples.txt");
  std::vector<Example> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("### ", 0) == 0) {
      out.push_back(Example{line.substr(4), {}, {}});
    } else if (out.empty() || line.rfind("#", 0) == 0) {
      continue;
    } else if (line.rfind("expect", 0) == 0) {
      out.back().expects.push_back(line);
    } else {
      out.back().command += line + "\n";
    }
  }
  return out;
}

// Follows "a.b.0.c" through objects and arrays; nullptr when absent.
const boost::json::value* At(const boost::json::value& root, const std::string& path) {
  const boost::json::value* v = &root;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (v->is_object()) {
      v = v->as_object().if_contains(part);
    } else if (v->is_array() && !part.empty() &&
               std::isdigit(static_cast<unsigned char>(part[0]))) {
      const auto i = std::stoul(part);
      v = i < v->as_array().size() ? &v->as_array()[i] : nullptr;
    } else {
      v = nullptr;
    }
    if (v == nullptr) {
      return nullptr;
    }
  }
  return v;
}

std::string RunShell(const std::string& command) {
  std::string out;
  FILE* p = popen(("bash -c '" +
                   [&] {
                     std::string escaped;
                     for (char c : command) {
                       escaped += c == '\'' ? std::string("'\\''") : std::string(1, c);
                     }
                     return escaped;
                   }() +
                   "' 2>/dev/null")
                      .c_str(),
                  "r");
  char buf[4096];
  std::size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
    out.append(buf, n);
  }
  pclose(p);
  return out;
}

TEST(BlandExamplesTest, EveryCurlExampleSucceedsWithTheDocumentedShape) {
  testing::TempDir dir;
  // The deployment's own network data (as an operator would give it): the guide's examples
  // then show this deployment's hosts and addresses, never the guide's vendor's.
  const std::map<std::string, std::string> env = {
      {"PORTLINE_DATA_DIR", dir.path()},
      {"PORTLINE_LOG_LEVEL", "debug"},
      {"PORTLINE_SIP_NETWORK_FILE", PORTLINE_TEST_DATA_DIR "/network.example.json"}};
  testing::ServerProcess server({}, env);
  ASSERT_NE(server.port(), 0) << server.stderr_text();
  auto key = testing::RunPortline({"key", "create", "--org", "default"}, env);
  ASSERT_EQ(key.exit_code, 0) << key.err;
  setenv("BASE", ("http://127.0.0.1:" + std::to_string(server.port())).c_str(), 1);
  setenv("TOKEN", key.out.substr(0, key.out.find('\n')).c_str(), 1);

  const auto examples = LoadExamples();
  ASSERT_GE(examples.size(), 10U);
  for (const auto& ex : examples) {
    SCOPED_TRACE(ex.name);
    const std::string out = RunShell(ex.command);
    boost::system::error_code ec;
    const auto body = boost::json::parse(out, ec);
    ASSERT_FALSE(ec) << "not JSON: " << out;
    ASSERT_TRUE(body.at("errors").is_null()) << out;
    for (const auto& e : ex.expects) {
      std::stringstream s(e);
      std::string verb, path, eq;
      s >> verb >> path;
      const auto* v = At(body, path);
      ASSERT_NE(v, nullptr) << path << " missing in " << out;
      if (verb == "expect_present") {
        continue;
      }
      s >> eq;
      std::string expected;
      std::getline(s, expected);
      EXPECT_EQ(*v, boost::json::parse(expected)) << path << " in " << out;
    }
  }
  // The credentials sent above never reach a log line.
  const std::string log = server.stderr_text();
  EXPECT_NE(log.find("/v1/sip/attach"), std::string::npos);  // the log is there
  const std::string token = getenv("TOKEN");                 // NOLINT(concurrency-mt-unsafe)
  for (const std::string& secret :
       {std::string("securepassword"), std::string("call-pass"), token}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in the server log";
  }
}

}  // namespace
}  // namespace portline
