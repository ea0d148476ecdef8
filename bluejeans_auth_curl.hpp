// bluejeans_auth_curl.hpp: an optional libcurl backend for bluejeans-auth.
// SPDX-License-Identifier: MIT
//
// Include this header instead of, or after, bluejeans_auth.hpp and link libcurl; then
// `AuthenticationApi<CurlBackend>` sends its requests through one reused curl easy handle.

#ifndef BLUEJEANS_AUTH_CURL_HPP
#define BLUEJEANS_AUTH_CURL_HPP

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <curl/curl.h>

#include "bluejeans_auth.hpp"

namespace bluejeans::auth {

/// A backend on libcurl: one easy handle kept between calls, so the connection stays alive,
/// with Nagle's algorithm off and no redirects followed. It honours the same Configuration
/// settings as HttplibBackend. Calls on one backend are serialised, so sharing it between
/// threads is safe. Movable, not copyable.
class CurlBackend {
 public:
  explicit CurlBackend(const Configuration& config);

  /// Sends one request; a reply larger than Configuration::max_response_bytes is cut off and
  /// reported as TransportFailureKind::too_large.
  BackendResult send(const HttpRequest& request);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

namespace detail {

// curl_global_init is not safe to race with other threads; a function-local static runs it
// once, and its cleanup at exit.
class CurlGlobal {
 public:
  static bool ready() {
    static const CurlGlobal global;
    return global.ok_;
  }

  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;

 private:
  CurlGlobal() : ok_(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {}
  ~CurlGlobal() {
    if (ok_) {
      curl_global_cleanup();
    }
  }

  bool ok_;
};

struct CurlEasyDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};

struct CurlListDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};

using CurlList = std::unique_ptr<curl_slist, CurlListDeleter>;

inline TransportFailureKind failure_kind(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return TransportFailureKind::connect;
    case CURLE_OPERATION_TIMEDOUT:
      return TransportFailureKind::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
      return TransportFailureKind::tls;
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
      return TransportFailureKind::read;
    case CURLE_SEND_ERROR:
    case CURLE_SEND_FAIL_REWIND:
      return TransportFailureKind::write;
    case CURLE_FILESIZE_EXCEEDED:
      return TransportFailureKind::too_large;
    default:
      return TransportFailureKind::other;
  }
}

// What one transfer collects through curl's callbacks.
struct CurlTransfer {
  std::size_t max_body = 0;
  bool too_large = false;
  std::string reason;
  Headers headers;
  std::string body;
};

inline std::size_t curl_on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<CurlTransfer*>(user);
  const std::size_t bytes = size * count;
  if (transfer.body.size() + bytes > transfer.max_body) {
    transfer.too_large = true;
    return 0;  // anything short of `bytes` makes curl stop with CURLE_WRITE_ERROR
  }
  transfer.body.append(data, bytes);
  return bytes;
}

inline std::string_view trim_blanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
          text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// Called once per header line. A status line starts a new header block (after a 100 Continue,
// say), so what came before it is dropped.
inline std::size_t curl_on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<CurlTransfer*>(user);
  const std::size_t bytes = size * count;
  const std::string_view line = trim_blanks(std::string_view(data, bytes));

  if (line.substr(0, 5) == "HTTP/") {
    transfer.headers.clear();
    transfer.reason.clear();
    const auto status_start = line.find(' ');
    const auto reason_start =
        status_start == std::string_view::npos ? status_start : line.find(' ', status_start + 1);
    if (reason_start != std::string_view::npos) {
      transfer.reason = std::string(trim_blanks(line.substr(reason_start + 1)));
    }
    return bytes;
  }

  const auto colon = line.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    transfer.headers.emplace(std::string(line.substr(0, colon)),
                             std::string(trim_blanks(line.substr(colon + 1))));
  }
  return bytes;
}

// The request headers as curl takes them; null when memory ran out. "Expect:" with no value
// keeps curl from waiting for a 100 Continue before larger bodies; "Name;" is curl's way of
// sending a header whose value is empty.
inline CurlList curl_header_list(const Headers& headers) {
  CurlList list(curl_slist_append(nullptr, "Expect:"));
  for (const auto& [name, value] : headers) {
    if (!list) {
      break;
    }
    const std::string line = value.empty() ? name + ";" : name + ": " + value;
    if (curl_slist* grown = curl_slist_append(list.get(), line.c_str())) {
      list.release();
      list.reset(grown);
    } else {
      list.reset();
    }
  }
  return list;
}

// curl's low-speed check counts whole seconds; a shorter timeout is rounded up to one.
inline long whole_seconds(std::chrono::milliseconds timeout) {
  const auto seconds = (timeout.count() + 999) / 1000;
  return static_cast<long>(std::max<std::chrono::milliseconds::rep>(seconds, 1));
}

// curl reads 0 as "no limit", so a zero deadline becomes the shortest one instead; long is
// 32 bits on some platforms.
inline long curl_milliseconds(std::chrono::milliseconds limit) {
  return static_cast<long>(std::clamp<std::chrono::milliseconds::rep>(limit.count(), 1, LONG_MAX));
}

// curl keeps time in whole milliseconds on CLOCK_MONOTONIC_RAW where it has it, so it may end
// a transfer a little before steady_clock, which NTP may slew by up to 0.05 %, says the deadline
// has come. A millisecond and 0.1 % cover both.
inline bool reached_deadline(std::chrono::steady_clock::duration elapsed,
                             std::chrono::milliseconds deadline) {
  return elapsed + std::chrono::milliseconds(1) + deadline / 1000 >= deadline;
}

}  // namespace detail

struct CurlBackend::State {
  std::mutex mutex;  // one easy handle, one transfer at a time

  // The URL and header list of the last call, which the handle points at. Calls mostly
  // repeat them, and building them again would cost more than the rest of this backend's
  // own work. Declared before the handle, so that they outlive it.
  std::string url;
  Headers headers;
  detail::CurlList header_list;

  std::unique_ptr<CURL, detail::CurlEasyDeleter> handle;
  std::string origin;     // "https://host:443", empty when the configuration is unusable
  std::string authority;  // "host:443", for messages
  std::size_t max_response_bytes = 0;
  std::chrono::milliseconds deadline{};  // for the whole request, as HttplibBackend's
  std::string problem;    // why the configuration cannot be used, when it cannot
  char error_text[CURL_ERROR_SIZE] = {};
};

inline CurlBackend::CurlBackend(const Configuration& config)
    : state_(std::make_unique<State>()) {
  State& state = *state_;
  state.max_response_bytes = config.max_response_bytes;
  state.deadline = config.connect_timeout + config.write_timeout + config.read_timeout;
  state.problem = detail::backend_problem(config);
  if (!state.problem.empty()) {
    return;
  }
  const auto endpoint = detail::parse_endpoint(config.host);
  if (!detail::CurlGlobal::ready()) {
    return;
  }
  state.handle.reset(curl_easy_init());
  if (!state.handle) {
    return;
  }
  state.authority = endpoint->authority();
  state.origin = endpoint->scheme + "://" + state.authority;

  CURL* curl = state.handle.get();
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // signals and threads do not mix
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, state.error_text);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);

  // cpp-httplib's read and write timeouts bound each wait for the socket; curl's low-speed
  // check (under one byte a second for that long) bounds the same silences, in both directions.
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(config.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   detail::whole_seconds(std::max(config.read_timeout, config.write_timeout)));
  // A server that trickles a byte of body now and then passes the low-speed check for ever;
  // a limit on the whole transfer ends it, as HttplibBackend's watchdog does.
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, detail::curl_milliseconds(state.deadline));

  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, config.verify_ssl ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, config.verify_ssl ? 2L : 0L);
  if (!config.ssl_ca_cert.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, config.ssl_ca_cert.c_str());
  }
  if (!config.cert_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, config.cert_file.c_str());
  }
  if (!config.key_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLKEY, config.key_file.c_str());
  }

  // An empty proxy string also stops curl from reading http_proxy from the environment,
  // which cpp-httplib never does either. A proxy that does not parse never gets this far.
  const auto proxy = detail::parse_endpoint(config.proxy);
  const std::string proxy_url = proxy ? "http://" + proxy->authority() : std::string();
  curl_easy_setopt(curl, CURLOPT_PROXY, proxy_url.c_str());

  if (config.max_response_bytes <= static_cast<std::size_t>(INT64_MAX)) {
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(config.max_response_bytes));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &detail::curl_on_body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &detail::curl_on_header);
}

inline BackendResult CurlBackend::send(const HttpRequest& request) {
  if (!state_ || !state_->handle) {
    const bool explained = state_ && !state_->problem.empty();
    return TransportFailure{TransportFailureKind::other,
                            explained ? state_->problem : "libcurl could not be set up"};
  }
  State& state = *state_;
  const std::lock_guard<std::mutex> lock(state.mutex);
  CURL* curl = state.handle.get();

  const bool same_url = state.url.size() == state.origin.size() + request.target.size() &&
                        state.url.compare(state.origin.size(), std::string::npos,
                                          request.target) == 0;
  if (!same_url) {
    state.url = state.origin + request.target;
    curl_easy_setopt(curl, CURLOPT_URL, state.url.c_str());
  }
  if (request.method == "GET" && request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, static_cast<const char*>(nullptr));
  } else {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST,
                     request.method == "POST" ? static_cast<const char*>(nullptr)
                                              : request.method.c_str());
  }

  if (!state.header_list || request.headers != state.headers) {
    state.header_list = detail::curl_header_list(request.headers);
    if (!state.header_list) {
      state.headers.clear();
      return TransportFailure{TransportFailureKind::other, "out of memory building headers"};
    }
    state.headers = request.headers;
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, state.header_list.get());

  detail::CurlTransfer transfer;
  transfer.max_body = state.max_response_bytes;
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  state.error_text[0] = '\0';

  const auto started = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(curl);
  // The body dies with this call; the handle must not point at it.
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, static_cast<const char*>(nullptr));

  if (code != CURLE_OK) {
    if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
      return detail::too_large_failure(state.max_response_bytes, state.authority);
    }
    // curl gives a connect timeout and a failed low-speed check the same code. Once the whole
    // deadline has passed, it is the deadline that ended the call (or would have at that
    // moment), so the call gets HttplibBackend's words.
    if (code == CURLE_OPERATION_TIMEDOUT &&
        detail::reached_deadline(std::chrono::steady_clock::now() - started, state.deadline)) {
      return detail::deadline_failure(state.deadline, state.authority);
    }
    // curl's detail names hosts and files, not URLs; scrub the target all the same, since
    // it carries the access token.
    // The error buffer says more than curl_easy_strerror, when curl filled it in.
    std::string message =
        state.error_text[0] != '\0' ? state.error_text : curl_easy_strerror(code);
    message = detail::scrub(message + " (" + state.authority + ")", {request.target});
    return TransportFailure{detail::failure_kind(code), std::move(message)};
  }

  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  HttpResponse reply;
  reply.status = static_cast<int>(status);
  reply.reason = std::move(transfer.reason);
  reply.headers = std::move(transfer.headers);
  reply.body = std::move(transfer.body);
  return reply;
}

}  // namespace bluejeans::auth

#endif  // BLUEJEANS_AUTH_CURL_HPP
