#pragma once

// A small libcurl wrapper for the network destinations: HTTP POSTs (Elasticsearch, webhooks)
// and SMTP mail (alert emails). Each client owns one easy handle and is used by one thread
// (its destination's delivery thread), so connections are kept alive and reused between
// requests.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/config.h"

namespace ldh {

/// What a POST is sent to and how long it may take.
struct HttpRequest {
  std::string url;
  /// Extra headers, each "Name: value".
  std::vector<std::string> headers;
  /// Basic authentication when not empty.
  std::string username;
  std::string password;
  std::int64_t timeout_ns = 30'000'000'000;  // the whole request, answer included
  std::int64_t connect_timeout_ns = 5'000'000'000;
};

/// What came back: an HTTP status and body, or why none came.
struct HttpResponse {
  /// 0 when no answer came (refused, timed out, TLS failure); `error` then says why.
  long status = 0;
  std::string body;
  std::string error;
};

/// Sends HTTP POSTs over one reused libcurl easy handle. Not thread-safe: one per thread.
class HttpClient {
 public:
  explicit HttpClient(TlsConfig tls);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// POSTs `body`; never throws for a network failure (it is in the response).
  HttpResponse post(const HttpRequest& request, std::string_view body);

 private:
  TlsConfig tls_;
  void* handle_;  // CURL*
};

/// One mail and how it is sent.
struct MailRequest {
  /// smtp://host:port (STARTTLS when `require_start_tls`) or smtps://host:port.
  std::string url;
  std::string from;
  std::vector<std::string> to;
  bool require_start_tls = false;
  std::string username;
  std::string password;
  std::int64_t timeout_ns = 30'000'000'000;
  std::int64_t connect_timeout_ns = 5'000'000'000;
};

/// What the SMTP server said.
struct MailResponse {
  bool sent = false;
  /// The last SMTP reply code (250, 451, 550, ...); 0 when no server answered.
  long code = 0;
  /// True when sending again may succeed: no answer, a 4xx reply, a broken connection.
  bool transient = false;
  std::string error;
};

/// Sends mail (headers and body already formatted, CRLF line ends) over one reused libcurl
/// easy handle. Not thread-safe: one per thread.
class MailClient {
 public:
  explicit MailClient(TlsConfig tls);
  ~MailClient();
  MailClient(const MailClient&) = delete;
  MailClient& operator=(const MailClient&) = delete;

  MailResponse send(const MailRequest& request, std::string_view message);

 private:
  TlsConfig tls_;
  void* handle_;  // CURL*
};

}  // namespace ldh
