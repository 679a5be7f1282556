#include "host/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "pipeline/error.h"

namespace ldh {

namespace {

/// Answers larger than this are cut off and reported: a bulk response is a few hundred bytes
/// per document.
constexpr std::size_t kMaxResponseBytes = 256u << 20;

/// Creates an easy handle, initialising libcurl once per process first.
CURL* new_handle() {
  static std::once_flag initialised;
  std::call_once(initialised, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw UserError("libcurl could not be initialised");
    }
  });
  CURL* handle = curl_easy_init();
  if (handle == nullptr) throw UserError("libcurl could not create a handle");
  return handle;
}

long milliseconds(std::int64_t nanoseconds) {
  return static_cast<long>(std::max<std::int64_t>(1, nanoseconds / 1'000'000));
}

/// Sets what every request shares: timeouts, TLS, no signals (the delivery threads are not the
/// main thread), and an error buffer.
void set_common(CURL* handle, const TlsConfig& tls, std::int64_t timeout_ns,
                std::int64_t connect_timeout_ns, char* error_buffer) {
  error_buffer[0] = '\0';
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, milliseconds(timeout_ns));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(connect_timeout_ns));
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, tls.verify_peer ? 1L : 0L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, tls.verify_peer ? 2L : 0L);
  if (!tls.ca_file.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, tls.ca_file.c_str());
}

void set_credentials(CURL* handle, const std::string& username, const std::string& password) {
  if (username.empty()) return;
  curl_easy_setopt(handle, CURLOPT_USERNAME, username.c_str());
  curl_easy_setopt(handle, CURLOPT_PASSWORD, password.c_str());
}

/// Returns libcurl's detailed message when it left one, else the code's text.
std::string describe_failure(CURLcode code, const char* error_buffer) {
  return error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(code);
}

size_t append_body(char* data, size_t size, size_t count, void* target) {
  auto* body = static_cast<std::string*>(target);
  const std::size_t bytes = size * count;
  if (body->size() + bytes > kMaxResponseBytes) return 0;  // aborts the transfer
  body->append(data, bytes);
  return bytes;
}

/// Feeds a mail to libcurl's upload.
struct MailReader {
  std::string_view left;
};

size_t read_mail(char* buffer, size_t size, size_t count, void* source) {
  auto* reader = static_cast<MailReader*>(source);
  const std::size_t bytes = std::min(size * count, reader->left.size());
  std::memcpy(buffer, reader->left.data(), bytes);
  reader->left.remove_prefix(bytes);
  return bytes;
}

/// A list of strings for libcurl, freed with its owner.
class StringList {
 public:
  StringList() = default;
  ~StringList() { curl_slist_free_all(list_); }
  StringList(const StringList&) = delete;
  StringList& operator=(const StringList&) = delete;
  void add(const std::string& text) {
    curl_slist* grown = curl_slist_append(list_, text.c_str());
    if (grown == nullptr) throw std::bad_alloc();
    list_ = grown;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

}  // namespace

HttpClient::HttpClient(TlsConfig tls) : tls_(std::move(tls)), handle_(new_handle()) {}

HttpClient::~HttpClient() {
  curl_easy_cleanup(static_cast<CURL*>(handle_));
}

HttpResponse HttpClient::post(const HttpRequest& request, std::string_view body) {
  CURL* handle = static_cast<CURL*>(handle_);
  // A reset keeps the connection cache, so the next request reuses the open connection.
  curl_easy_reset(handle);
  char error_buffer[CURL_ERROR_SIZE];
  set_common(handle, tls_, request.timeout_ns, request.connect_timeout_ns, error_buffer);
  set_credentials(handle, request.username, request.password);
  StringList headers;
  for (const auto& header : request.headers) headers.add(header);
  // Without this libcurl waits for "100 Continue" before a large body, a round trip for nothing.
  headers.add("Expect:");
  HttpResponse response;
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_POST, 1L);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response.body);
  const CURLcode code = curl_easy_perform(handle);
  if (code != CURLE_OK) {
    response.error =
        code == CURLE_WRITE_ERROR
            ? "the answer is larger than " + std::to_string(kMaxResponseBytes >> 20) + " MiB"
            : describe_failure(code, error_buffer);
    response.body.clear();
    return response;
  }
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

MailClient::MailClient(TlsConfig tls) : tls_(std::move(tls)), handle_(new_handle()) {}

MailClient::~MailClient() {
  curl_easy_cleanup(static_cast<CURL*>(handle_));
}

MailResponse MailClient::send(const MailRequest& request, std::string_view message) {
  CURL* handle = static_cast<CURL*>(handle_);
  curl_easy_reset(handle);
  char error_buffer[CURL_ERROR_SIZE];
  set_common(handle, tls_, request.timeout_ns, request.connect_timeout_ns, error_buffer);
  set_credentials(handle, request.username, request.password);
  StringList recipients;
  for (const auto& address : request.to) recipients.add("<" + address + ">");
  const std::string from = "<" + request.from + ">";
  MailReader reader{message};
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(handle, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(handle, CURLOPT_USE_SSL,
                   request.require_start_tls ? static_cast<long>(CURLUSESSL_ALL)
                                             : static_cast<long>(CURLUSESSL_NONE));
  curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(handle, CURLOPT_READFUNCTION, read_mail);
  curl_easy_setopt(handle, CURLOPT_READDATA, &reader);
  curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  const CURLcode code = curl_easy_perform(handle);
  MailResponse response;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.code);
  if (code == CURLE_OK) {
    response.sent = true;
    return response;
  }
  response.error = describe_failure(code, error_buffer);
  if (response.code != 0) response.error += " (SMTP " + std::to_string(response.code) + ")";
  if (response.code >= 400 && response.code < 500) {
    response.transient = true;  // the server asks to try later (451, 452, 421, ...)
  } else if (response.code >= 500) {
    response.transient = false;  // refused for good (550 no such user, 535 bad login, ...)
  } else {
    switch (code) {
      case CURLE_LOGIN_DENIED:
      case CURLE_USE_SSL_FAILED:
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
        response.transient = false;  // settings that no retry can fix
        break;
      default:
        response.transient = true;  // no server, timed out, connection lost
    }
  }
  return response;
}

}  // namespace ldh
