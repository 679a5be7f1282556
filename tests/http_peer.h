#pragma once

// tests/http_peer.py (an Elasticsearch _bulk endpoint and a webhook receiver) as a child
// process, with its control and query endpoints, for the Elasticsearch and notification tests.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "host/http_client.h"

namespace ldh::testing {

class HttpPeer {
 public:
  /// Starts the peer with `arguments`; `port` 0 takes a free one (a restart passes the old one).
  explicit HttpPeer(const std::vector<std::string>& arguments = {}, int port = 0) {
    start(arguments, port);
  }

  void start(const std::vector<std::string>& arguments, int port) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     std::string(LDH_SOURCE_DIR) + "/tests/http_peer.py", "--port",
                                     std::to_string(port)};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    // The old port may still be held for a moment after a kill: try a few times.
    for (int attempt = 0; attempt < 20; ++attempt) {
      process_ = std::make_unique<ChildProcess>(argv);
      const auto line = process_->read_line(std::chrono::milliseconds(10000));
      if (line && line->starts_with("PORT ")) {
        port_ = std::stoi(line->substr(5));
        return;
      }
      process_.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("tests/http_peer.py did not start");
  }

  void stop() { process_.reset(); }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// POSTs settings to the control endpoint (see tests/http_peer.py).
  void control(const std::string& settings) {
    HttpRequest request;
    request.url = url() + "/_peer/control";
    const HttpResponse response = client_.post(request, settings);
    ASSERT_EQ(response.status, 200) << response.error;
  }

  /// Returns /_peer/state, /_peer/documents or /_peer/webhooks.
  std::string query(const std::string& what) {
    HttpRequest request;
    request.url = url() + "/_peer/" + what;
    const HttpResponse response = client_.post(request, "");
    EXPECT_EQ(response.status, 200) << response.error;
    return response.body;
  }

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
  HttpClient client_{TlsConfig{}};
};

/// Returns the lines of `text`.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    if (end > begin) lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

/// Returns the integer member `name` of a flat JSON object's text (the peer's state), -1 when
/// it is not there.
inline long long json_integer(const std::string& json, const std::string& name) {
  const std::string needle = "\"" + name + "\": ";
  const std::size_t at = json.find(needle);
  if (at == std::string::npos) return -1;
  return std::stoll(json.substr(at + needle.size()));
}

}  // namespace ldh::testing
