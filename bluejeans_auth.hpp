// bluejeans_auth.hpp: a header-only C++17 client for the BlueJeans Authentication API.
// SPDX-License-Identifier: MIT
//
// Typed models, a typed API over a pluggable HTTP backend (cpp-httplib by default) and
// honest errors. See README.md for a tour and shared/API.md for the wire contract.

#ifndef BLUEJEANS_AUTH_HPP
#define BLUEJEANS_AUTH_HPP

// ---------------------------------------------------------------------------------------------
// 1. Version and configuration macros
// ---------------------------------------------------------------------------------------------

#define BLUEJEANS_AUTH_VERSION_MAJOR 0
#define BLUEJEANS_AUTH_VERSION_MINOR 1
#define BLUEJEANS_AUTH_VERSION_PATCH 0
#define BLUEJEANS_AUTH_VERSION                                                                  \
  (BLUEJEANS_AUTH_VERSION_MAJOR * 10000 + BLUEJEANS_AUTH_VERSION_MINOR * 100 +                  \
   BLUEJEANS_AUTH_VERSION_PATCH)
#define BLUEJEANS_AUTH_VERSION_STRING "0.1.0"

// Define BLUEJEANS_AUTH_NO_HTTPLIB before the include to build without cpp-httplib; every
// AuthenticationApi then needs a backend of the user's own.

// Separate compilation, for programs of many files: define BLUEJEANS_AUTH_SEPARATE_COMPILATION
// for every file of the program, and BLUEJEANS_AUTH_IMPLEMENTATION as well in exactly one of
// them. The other files then compile declarations only; that one compiles the library once.
// Without either macro the header is self-sufficient and every file compiles what it uses.
#if defined(BLUEJEANS_AUTH_IMPLEMENTATION) && !defined(BLUEJEANS_AUTH_SEPARATE_COMPILATION)
#define BLUEJEANS_AUTH_SEPARATE_COMPILATION
#endif

#ifdef BLUEJEANS_AUTH_SEPARATE_COMPILATION
#define BLUEJEANS_AUTH_INLINE  // one definition, in the implementation file
#else
#define BLUEJEANS_AUTH_INLINE inline
#endif

// Whether this file compiles the definitions of the library's functions.
#if !defined(BLUEJEANS_AUTH_SEPARATE_COMPILATION) || defined(BLUEJEANS_AUTH_IMPLEMENTATION)
#define BLUEJEANS_AUTH_DEFINITIONS 1
#else
#define BLUEJEANS_AUTH_DEFINITIONS 0
#endif

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#ifndef BLUEJEANS_AUTH_NO_HTTPLIB
#include <httplib.h>
#endif

namespace bluejeans::auth {

// ---------------------------------------------------------------------------------------------
// 2. Models
// ---------------------------------------------------------------------------------------------

namespace detail {

template <class T>
struct Tag {};

// How much of a string field may be shown in operator<< output.
enum class Secrecy {
  none,        // shown whole
  token,       // shown as a short prefix and a length
  credential,  // shown as a length only
};

template <class Model, class Member>
struct FieldInfo {
  const char* key;
  Member Model::*member;
  Secrecy secrecy;
  bool required;
};

template <class... Fields>
struct ModelInfo {
  const char* name;
  std::tuple<Fields...> fields;
};

template <class Model, class Member>
constexpr FieldInfo<Model, Member> field(const char* key, Member Model::*member,
                                         Secrecy secrecy = Secrecy::none) {
  return {key, member, secrecy, false};
}

template <class Model, class Member>
constexpr FieldInfo<Model, Member> required_field(const char* key, Member Model::*member,
                                                  Secrecy secrecy = Secrecy::none) {
  return {key, member, secrecy, true};
}

template <class... Fields>
constexpr ModelInfo<Fields...> model_info(const char* name, Fields... fields) {
  return {name, std::tuple<Fields...>{fields...}};
}

template <class M, class = void>
struct is_model : std::false_type {};

template <class M>
struct is_model<M, std::void_t<decltype(describe(Tag<M>{}))>> : std::true_type {};

template <class M>
using enable_if_model = std::enable_if_t<is_model<M>::value, int>;

}  // namespace detail

/// A partition of the BlueJeans service.
struct Partition {
  std::optional<std::int64_t> id;
  std::optional<std::string> name;
};

/// Body of get_token_by_client: an application's client credentials.
struct GrantRequestClient {
  std::string grant_type = "client_credentials";
  std::string client_id;
  std::string client_secret;
};

/// Body of get_token_by_password: a user's name and password.
struct GrantRequestPassword {
  std::string grant_type = "password";
  std::string username;
  std::string password;
};

/// Body of get_token_by_meeting: a meeting's numeric id and a moderator or attendee passcode.
struct GrantRequestMeeting {
  std::string grant_type = "meeting_passcode";
  std::string meeting_numeric_id;
  std::string meeting_passcode;
};

struct GrantClientScope {
  std::optional<std::int64_t> enterprise;
  std::optional<std::string> partition_name;
  std::optional<Partition> partition;
};

/// Reply of get_token_by_client.
struct GrantClient {
  std::optional<std::string> access_token;
  std::optional<std::int64_t> expires_in;
  std::optional<GrantClientScope> scope;
};

struct GrantPasswordScope {
  std::optional<std::int64_t> user;
  std::optional<std::string> partition_name;
  std::optional<Partition> partition;
};

/// Reply of get_token_by_password.
struct GrantPassword {
  std::optional<std::string> access_token;
  std::optional<std::int64_t> expires_in;
  std::optional<std::string> refresh_token;
  std::optional<GrantPasswordScope> scope;
};

struct GrantMeetingScopeMeeting {
  std::optional<std::int64_t> id;
  std::optional<std::int64_t> leader_id;
  std::optional<std::string> meeting_numeric_id;
  std::optional<std::string> meeting_uri;
  std::optional<bool> is_moderator;
  std::optional<std::vector<nlohmann::json>> endpoint_uri_set;
  std::optional<std::string> meeting_id;
};

struct GrantMeetingScope {
  std::optional<GrantMeetingScopeMeeting> meeting;
  std::optional<std::string> partition_name;
  std::optional<Partition> partition;
};

/// Reply of get_token_by_meeting.
struct GrantMeeting {
  std::optional<std::string> access_token;
  std::optional<std::int64_t> expires_in;
  std::optional<GrantMeetingScope> scope;
};

/// Reply of get_token_info: the user the token belongs to.
struct InlineResponse200 {
  std::optional<std::int64_t> user;
};
using TokenInfo = InlineResponse200;

/// The body of most error replies.
struct Error {
  std::optional<std::string> message;
};

// The JSON keys of every model, next to the models. One table per model drives to_json,
// from_json, equality and operator<<, so a key is written down exactly once. Request models
// list their keys in sorted order, the order nlohmann::json writes them in, so that the
// request body that encode_body writes is byte for byte the one to_json and dump() give.
namespace detail {

constexpr auto describe(Tag<Partition>) {
  return model_info("Partition", field("id", &Partition::id), field("name", &Partition::name));
}

constexpr auto describe(Tag<GrantRequestClient>) {
  using M = GrantRequestClient;
  return model_info("GrantRequestClient", required_field("client_id", &M::client_id),
                    required_field("client_secret", &M::client_secret, Secrecy::credential),
                    required_field("grant_type", &M::grant_type));
}

constexpr auto describe(Tag<GrantRequestPassword>) {
  using M = GrantRequestPassword;
  return model_info("GrantRequestPassword", required_field("grant_type", &M::grant_type),
                    required_field("password", &M::password, Secrecy::credential),
                    required_field("username", &M::username));
}

constexpr auto describe(Tag<GrantRequestMeeting>) {
  using M = GrantRequestMeeting;
  return model_info("GrantRequestMeeting", required_field("grant_type", &M::grant_type),
                    required_field("meetingNumericId", &M::meeting_numeric_id),
                    required_field("meetingPasscode", &M::meeting_passcode, Secrecy::credential));
}

constexpr auto describe(Tag<GrantClientScope>) {
  using M = GrantClientScope;
  return model_info("GrantClientScope", field("enterprise", &M::enterprise),
                    field("partitionName", &M::partition_name), field("partition", &M::partition));
}

constexpr auto describe(Tag<GrantClient>) {
  using M = GrantClient;
  return model_info("GrantClient", field("access_token", &M::access_token, Secrecy::token),
                    field("expires_in", &M::expires_in), field("scope", &M::scope));
}

constexpr auto describe(Tag<GrantPasswordScope>) {
  using M = GrantPasswordScope;
  return model_info("GrantPasswordScope", field("user", &M::user),
                    field("partitionName", &M::partition_name), field("partition", &M::partition));
}

constexpr auto describe(Tag<GrantPassword>) {
  using M = GrantPassword;
  return model_info("GrantPassword", field("access_token", &M::access_token, Secrecy::token),
                    field("expires_in", &M::expires_in),
                    field("refresh_token", &M::refresh_token, Secrecy::token),
                    field("scope", &M::scope));
}

constexpr auto describe(Tag<GrantMeetingScopeMeeting>) {
  using M = GrantMeetingScopeMeeting;
  return model_info("GrantMeetingScopeMeeting", field("id", &M::id),
                    field("leaderId", &M::leader_id),
                    field("meetingNumericId", &M::meeting_numeric_id),
                    field("meetingUri", &M::meeting_uri), field("isModerator", &M::is_moderator),
                    field("endpointUriSet", &M::endpoint_uri_set),
                    field("meetingId", &M::meeting_id));
}

constexpr auto describe(Tag<GrantMeetingScope>) {
  using M = GrantMeetingScope;
  return model_info("GrantMeetingScope", field("meeting", &M::meeting),
                    field("partitionName", &M::partition_name), field("partition", &M::partition));
}

constexpr auto describe(Tag<GrantMeeting>) {
  using M = GrantMeeting;
  return model_info("GrantMeeting", field("access_token", &M::access_token, Secrecy::token),
                    field("expires_in", &M::expires_in), field("scope", &M::scope));
}

constexpr auto describe(Tag<InlineResponse200>) {
  return model_info("InlineResponse200", field("user", &InlineResponse200::user));
}

constexpr auto describe(Tag<Error>) {
  return model_info("Error", field("message", &Error::message));
}

// Where a decode failed and why: "scope.partition.id" and "expected integer, got string".
struct DecodeFailure {
  std::string path;
  std::string message;

  std::string text() const { return path.empty() ? message : path + ": " + message; }
};

template <class M>
void encode_model(nlohmann::json& json, const M& model);

template <class M>
std::optional<DecodeFailure> decode_model(const nlohmann::json& json, M& model);

template <class M>
void print_model(std::ostream& out, const M& model);

[[noreturn]] void throw_decode_error(const DecodeFailure& failure);

}  // namespace detail

/// Encodes a model as the API's JSON, camelCase keys and all; absent fields are left out.
template <class M, detail::enable_if_model<M> = 0>
void to_json(nlohmann::json& json, const M& model) {
  detail::encode_model(json, model);
}

/// Decodes a model from the API's JSON: unknown keys are ignored and null counts as absent.
/// @throws DecodeError naming the path of a value of the wrong type or a missing required key.
template <class M, detail::enable_if_model<M> = 0>
void from_json(const nlohmann::json& json, M& model) {
  if (auto failure = detail::decode_model(json, model)) {
    detail::throw_decode_error(*failure);
  }
}

template <class M, detail::enable_if_model<M> = 0>
bool operator==(const M& a, const M& b) {
  const auto compare = [&](const auto&... fields) {
    return ((a.*(fields.member) == b.*(fields.member)) && ...);
  };
  return std::apply(compare, describe(detail::Tag<M>{}).fields);
}

template <class M, detail::enable_if_model<M> = 0>
bool operator!=(const M& a, const M& b) {
  return !(a == b);
}

/// Prints a model for people: secrets show as a length, tokens as a short prefix.
template <class M, detail::enable_if_model<M> = 0>
std::ostream& operator<<(std::ostream& out, const M& model) {
  detail::print_model(out, model);
  return out;
}

// ---------------------------------------------------------------------------------------------
// 3. Errors
// ---------------------------------------------------------------------------------------------

namespace detail {

struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const noexcept;
};

}  // namespace detail

/// HTTP header fields, names compared without regard to case.
using Headers = std::multimap<std::string, std::string, detail::CaseInsensitiveLess>;

/// What went wrong, from the caller's side of the wire to the reply's contents.
enum class ErrorKind {
  request,      // the client refused to send: a required field is empty, a header is unsafe
  transport,    // no complete HTTP exchange: connect, TLS, timeout, reset, reply too large
  http_status,  // the server answered with a status outside 2xx
  decode,       // a 2xx reply that is not the JSON the operation promises
};

/// The kind of a transport failure, as a backend reports it.
enum class TransportFailureKind { connect, timeout, tls, read, write, too_large, other };

/// A failed call as a value. ApiException carries one; Result holds one.
struct ApiError {
  ErrorKind kind = ErrorKind::transport;
  std::string operation;  // "get_token_by_client"
  std::string message;    // the whole message, what() of the exception
  int status = 0;         // HTTP status, 0 when no reply arrived
  std::string reason;     // HTTP reason phrase, if the server sent one
  std::string body;       // the reply's body, as received
  Headers headers;        // the reply's headers
  std::optional<Error> server_error;                     // the reply's Error body, if it had one
  std::optional<TransportFailureKind> transport_failure;  // set for ErrorKind::transport
};

/// The root of every exception this library throws.
class ApiException : public std::exception {
 public:
  explicit ApiException(ApiError error)
      : error_(std::make_shared<const ApiError>(std::move(error))) {}

  const char* what() const noexcept override { return error_->message.c_str(); }
  const ApiError& error() const noexcept { return *error_; }
  ErrorKind kind() const noexcept { return error_->kind; }
  int status() const noexcept { return error_->status; }
  const std::string& reason() const noexcept { return error_->reason; }
  const std::string& body() const noexcept { return error_->body; }
  const Headers& headers() const noexcept { return error_->headers; }

 private:
  std::shared_ptr<const ApiError> error_;  // shared, so that copying an exception cannot throw
};

/// The client refused to send the request; nothing went over the wire.
class RequestError : public ApiException {
 public:
  using ApiException::ApiException;
};

/// No complete HTTP exchange took place.
class TransportError : public ApiException {
 public:
  using ApiException::ApiException;
};

/// The server answered with a status outside 2xx; what() holds the server's message.
class HttpError : public ApiException {
 public:
  using ApiException::ApiException;
};

/// A reply, or a JSON value given to from_json, is not what the model promises.
class DecodeError : public ApiException {
 public:
  using ApiException::ApiException;
};

/// Throws the ApiException subclass that matches error.kind.
[[noreturn]] void throw_api_error(ApiError error);

#if BLUEJEANS_AUTH_DEFINITIONS
[[noreturn]] BLUEJEANS_AUTH_INLINE void throw_api_error(ApiError error) {
  switch (error.kind) {
    case ErrorKind::request:
      throw RequestError(std::move(error));
    case ErrorKind::transport:
      throw TransportError(std::move(error));
    case ErrorKind::http_status:
      throw HttpError(std::move(error));
    case ErrorKind::decode:
      break;
  }
  throw DecodeError(std::move(error));
}
#endif

/// Either a value or the ApiError that prevented it; the non-throwing forms return one.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(ApiError error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// The value. @throws the ApiException subclass for the error when there is none.
  T& value() & {
    throw_if_error();
    return std::get<0>(state_);
  }
  const T& value() const& {
    throw_if_error();
    return std::get<0>(state_);
  }
  T&& value() && {
    throw_if_error();
    return std::get<0>(std::move(state_));
  }

  /// The error; only valid when ok() is false.
  const ApiError& error() const& { return std::get<1>(state_); }
  ApiError&& error() && { return std::get<1>(std::move(state_)); }

 private:
  void throw_if_error() const {
    if (!ok()) {
      throw_api_error(std::get<1>(state_));
    }
  }

  std::variant<T, ApiError> state_;
};

/// A reply's model together with its HTTP status and headers.
template <class T>
struct ApiResponse {
  T data;
  int status = 0;
  Headers headers;
};

// ---------------------------------------------------------------------------------------------
// 4. The HTTP seam
// ---------------------------------------------------------------------------------------------

/// One request as the API hands it to a backend. The target is the path with its query,
/// already encoded ("/oauth2/token?Client&access_token=..."); the backend supplies the host.
struct HttpRequest {
  std::string method;
  std::string target;
  Headers headers;
  std::string body;
};

/// One complete reply as a backend hands it back.
struct HttpResponse {
  int status = 0;
  std::string reason;
  Headers headers;
  std::string body;
};

/// How a backend reports that no complete reply arrived.
struct TransportFailure {
  TransportFailureKind kind = TransportFailureKind::other;
  std::string message;  // what happened and with which endpoint; never a credential
};

/// What Backend::send returns: a reply or a transport failure.
using BackendResult = std::variant<HttpResponse, TransportFailure>;

// ---------------------------------------------------------------------------------------------
// 5. Configuration
// ---------------------------------------------------------------------------------------------

enum class LogLevel { debug, info, warning, error };

/// Receives each log line, already prefixed "bluejeans-auth: ". Never sees a whole secret.
using LogCallback = std::function<void(LogLevel, std::string_view)>;

/// When and how often a failed call is tried again. Retried: connect failures, timeouts,
/// broken reads and writes (a grant is safe to repeat: each one issues a new token and leaves
/// earlier ones valid), and the statuses 408, 429, 500, 502, 503 and 504. Never retried: TLS
/// failures, oversized replies, undecodable replies and every other status, above all 401 and
/// 403, where a retried password or passcode could lock an account out.
struct RetryPolicy {
  int max_attempts = 4;  // tries in all, the first one included; 1 turns retrying off
  std::chrono::milliseconds initial_backoff = std::chrono::milliseconds(250);
  std::chrono::milliseconds max_backoff = std::chrono::seconds(8);  // the cap on one wait
  double multiplier = 2.0;  // how the ceiling of the wait grows from one try to the next
  /// No try starts later than this after the first one; zero for no deadline.
  std::chrono::milliseconds deadline = std::chrono::seconds(30);

  // Seams for tests, each left empty for the real thing. They are called on the thread that
  // makes the call, so they must be safe to call from several threads at once.
  std::function<double()> random;                        // uniform in [0, 1), for the jitter
  std::function<void(std::chrono::milliseconds)> sleep;  // the wait before a retry
  std::function<std::chrono::steady_clock::time_point()> now;         // measures the deadline
  std::function<std::chrono::system_clock::time_point()> wall_clock;  // reads Retry-After dates
};

/// Everything an API object and its backend need to know. A plain value: copy it freely.
struct Configuration {
  /// Base URL, scheme and host with an optional port and base path.
  std::string host = "https://api.bluejeans.com";

  /// API key per security scheme; the only scheme is "access_token", sent as a query parameter.
  std::map<std::string, std::string> api_key;
  /// Prefix per scheme ("Bearer"), sent before the key with one space between.
  std::map<std::string, std::string> api_key_prefix;

  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds read_timeout = std::chrono::seconds(30);
  std::chrono::milliseconds write_timeout = std::chrono::seconds(30);

  bool verify_ssl = true;      // check the server's certificate and host name
  std::string ssl_ca_cert;     // a PEM file of trusted CAs; empty for the system's store
  std::string cert_file;       // a client certificate (PEM), presented when set
  std::string key_file;        // the client certificate's private key (PEM)
  std::string proxy;           // "http://host:port"; empty for none

  std::string user_agent = "bluejeans-auth/" BLUEJEANS_AUTH_VERSION_STRING;
  std::map<std::string, std::string> default_headers;  // sent with every request

  std::size_t max_response_bytes = std::size_t{1} << 20;  // larger replies are refused
  /// Connections one HttplibBackend opens at most, one per thread calling at the same time;
  /// further callers wait for a connection to come free.
  std::size_t max_connections = 8;
  bool allow_insecure_http = false;  // send credentials over plain http to a remote host

  LogLevel log_level = LogLevel::info;  // lines below this level are not even formatted
  LogCallback log;                      // logging is off until this is set

  RetryPolicy retry;  // applies to all four operations
};

namespace detail {

// A parsed Configuration::host.
struct Endpoint {
  std::string scheme;     // "http" or "https"
  std::string host;       // without brackets for IPv6
  int port = 0;
  std::string base_path;  // "" or "/v1", never ending in '/'

  std::string authority() const;  // "host:port", IPv6 in brackets
};

std::optional<Endpoint> parse_endpoint(std::string_view url);
bool is_loopback_host(std::string_view host);
bool has_header_breaking_char(std::string_view value);
bool is_valid_utf8(std::string_view text);
std::string url_encode(std::string_view text);
std::string redact_query(std::string_view target);
std::string redact_token(std::string_view token);
std::string redact_userinfo(std::string_view url);
std::string backend_problem(const Configuration& config);
TransportFailure too_large_failure(std::size_t limit, const std::string& authority);
TransportFailure deadline_failure(std::chrono::milliseconds deadline, const std::string& authority);
std::string scrub(std::string text, const std::vector<std::string_view>& secrets);
std::string printable(std::string_view text, std::size_t max_length);
std::optional<std::uint64_t> parse_length(std::string_view text);
bool is_success(int status);

// Formats and writes a log line only when the configuration wants it.
class Logger {
 public:
  explicit Logger(const Configuration& config) : config_(&config) {}

  bool enabled(LogLevel level) const { return config_->log && level >= config_->log_level; }

  template <class MakeLine>
  void write(LogLevel level, MakeLine&& make_line) const {
    if (enabled(level)) {
      config_->log(level, "bluejeans-auth: " + std::string(make_line()));
    }
  }

 private:
  const Configuration* config_;
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// 4b. The default backend
// ---------------------------------------------------------------------------------------------

#ifndef BLUEJEANS_AUTH_NO_HTTPLIB

/// The default backend: keep-alive cpp-httplib clients with Nagle's algorithm off.
namespace detail {
class ConnectionPool;
}  // namespace detail

/// Threads that share one backend each get a keep-alive connection of their own, up to
/// Configuration::max_connections; a thread alone keeps reusing one connection.
class HttplibBackend {
 public:
  explicit HttplibBackend(const Configuration& config);
  HttplibBackend(HttplibBackend&&) noexcept;
  HttplibBackend& operator=(HttplibBackend&&) noexcept;
  ~HttplibBackend();

  /// Sends one request. A reply larger than Configuration::max_response_bytes is cut off and
  /// reported as TransportFailureKind::too_large; a request still unfinished after the sum of
  /// the connect, write and read timeouts is stopped and reported as a timeout.
  BackendResult send(const HttpRequest& request);

 private:
  TransportFailure failure(const httplib::Client& client, httplib::Error error) const;

  std::unique_ptr<detail::ConnectionPool> pool_;
  std::string authority_;
  std::string problem_;  // why the configuration cannot be used; empty when it can
  std::string ca_cert_;
  bool tls_ = false;  // https: OpenSSL's error queue then explains failures
  std::size_t max_response_bytes_;
  std::chrono::milliseconds deadline_;
};

#endif  // BLUEJEANS_AUTH_NO_HTTPLIB

// ---------------------------------------------------------------------------------------------
// 6. The API
// ---------------------------------------------------------------------------------------------

namespace detail {

struct Operation {
  const char* name;
  const char* method;
  const char* path;  // with the API's query marker, as documented
};

inline constexpr Operation client_grant{"get_token_by_client", "POST", "/oauth2/token?Client"};
inline constexpr Operation meeting_grant{"get_token_by_meeting", "POST", "/oauth2/token?Meeting"};
inline constexpr Operation password_grant{"get_token_by_password", "POST",
                                          "/oauth2/token?Password"};
inline constexpr Operation token_info{"get_token_info", "GET", "/oauth2/tokenInfo"};

template <class GrantRequest>
struct GrantTraits;

template <>
struct GrantTraits<GrantRequestClient> {
  using Reply = GrantClient;
  static constexpr const Operation& operation = client_grant;
};

template <>
struct GrantTraits<GrantRequestMeeting> {
  using Reply = GrantMeeting;
  static constexpr const Operation& operation = meeting_grant;
};

template <>
struct GrantTraits<GrantRequestPassword> {
  using Reply = GrantPassword;
  static constexpr const Operation& operation = password_grant;
};

ApiError request_error(const Operation& op, std::string cause);
ApiError transport_error(const Operation& op, TransportFailure failure,
                         const std::vector<std::string_view>& secrets);
ApiError status_error(const Operation& op, HttpResponse response,
                      const std::vector<std::string_view>& secrets);
ApiError decode_error(const Operation& op, const std::string& cause, HttpResponse response);

template <class M>
std::optional<std::string> check_request_fields(const M& request);

template <class M>
std::vector<std::string_view> secrets_of(const M& request);

template <class M>
std::string encode_body(const M& request);

template <class Reply>
Result<ApiResponse<Reply>> decode_reply(const Operation& op, HttpResponse response);

// The wait before the next try, or nullopt when the outcome of try number `attempt` is final.
std::optional<std::chrono::milliseconds> retry_delay(
    const RetryPolicy& policy, const BackendResult& outcome, int attempt,
    std::chrono::steady_clock::time_point first_try);
std::chrono::steady_clock::time_point retry_now(const RetryPolicy& policy);
void retry_sleep(const RetryPolicy& policy, std::chrono::milliseconds delay);
std::string describe_outcome(const BackendResult& outcome);

}  // namespace detail

#ifndef BLUEJEANS_AUTH_NO_HTTPLIB
#define BLUEJEANS_AUTH_DEFAULT_BACKEND = HttplibBackend
#else
#define BLUEJEANS_AUTH_DEFAULT_BACKEND
#endif

/// The four operations of the BlueJeans Authentication API.
///
/// Each comes in four forms: `op(request)` returns the model and throws ApiException;
/// `op_with_http_info(request)` adds status and headers; `try_op(request)` returns a Result
/// and throws nothing of its own; `op_async(request)` runs on another thread and returns a
/// std::future. The object must outlive the futures it hands out.
template <class Backend BLUEJEANS_AUTH_DEFAULT_BACKEND>
class AuthenticationApi {
 public:
  /// Builds the backend from the configuration.
  explicit AuthenticationApi(Configuration config = {});

  /// Uses a backend the caller made.
  AuthenticationApi(Configuration config, Backend backend);

  AuthenticationApi(const AuthenticationApi&) = delete;
  AuthenticationApi& operator=(const AuthenticationApi&) = delete;
  ~AuthenticationApi();

  const Configuration& configuration() const noexcept { return config_; }
  Backend& backend() noexcept { return backend_; }

  /// Authentication via the client grant type: an application's id and secret.
  /// @throws ApiException (RequestError, TransportError, HttpError or DecodeError)
  GrantClient get_token_by_client(const GrantRequestClient& request) {
    return try_get_token_by_client(request).value();
  }
  ApiResponse<GrantClient> get_token_by_client_with_http_info(const GrantRequestClient& request);
  Result<GrantClient> try_get_token_by_client(const GrantRequestClient& request);
  std::future<GrantClient> get_token_by_client_async(GrantRequestClient request);

  /// Authentication via the meeting grant type: a meeting's numeric id and passcode.
  /// @throws ApiException
  GrantMeeting get_token_by_meeting(const GrantRequestMeeting& request) {
    return try_get_token_by_meeting(request).value();
  }
  ApiResponse<GrantMeeting> get_token_by_meeting_with_http_info(const GrantRequestMeeting& request);
  Result<GrantMeeting> try_get_token_by_meeting(const GrantRequestMeeting& request);
  std::future<GrantMeeting> get_token_by_meeting_async(GrantRequestMeeting request);

  /// Authentication via the password grant type: a user's name and password.
  /// @throws ApiException
  GrantPassword get_token_by_password(const GrantRequestPassword& request) {
    return try_get_token_by_password(request).value();
  }
  ApiResponse<GrantPassword> get_token_by_password_with_http_info(
      const GrantRequestPassword& request);
  Result<GrantPassword> try_get_token_by_password(const GrantRequestPassword& request);
  std::future<GrantPassword> get_token_by_password_async(GrantRequestPassword request);

  /// Validates the configured token, api_key["access_token"]. @throws ApiException
  TokenInfo get_token_info() { return try_get_token_info().value(); }
  ApiResponse<TokenInfo> get_token_info_with_http_info();
  Result<TokenInfo> try_get_token_info();
  std::future<TokenInfo> get_token_info_async();

  /// Validates the given token instead of the configured one. @throws ApiException
  TokenInfo get_token_info(const std::string& access_token) {
    return try_get_token_info(access_token).value();
  }
  ApiResponse<TokenInfo> get_token_info_with_http_info(const std::string& access_token);
  Result<TokenInfo> try_get_token_info(const std::string& access_token);
  std::future<TokenInfo> get_token_info_async(std::string access_token);

 private:
  template <class GrantRequest>
  Result<ApiResponse<typename detail::GrantTraits<GrantRequest>::Reply>> grant(
      const GrantRequest& request);
  Result<ApiResponse<TokenInfo>> info(const std::optional<std::string>& given_token);

  template <class Reply>
  Result<ApiResponse<Reply>> exchange(const detail::Operation& op, HttpRequest http,
                                      const std::vector<std::string_view>& secrets);
  BackendResult send_with_retries(const detail::Operation& op, const HttpRequest& http);
  BackendResult send_guarded(const HttpRequest& http);

  void prepare();
  std::optional<std::string> check_destination() const;
  static std::optional<std::string> check_headers(const Headers& headers);
  std::optional<std::string> check_api_key(const std::string& key) const;
  const std::string& api_key() const;
  void append_api_key(std::string& target, const std::string& key) const;

  void log_exchange(const detail::Operation& op, const HttpRequest& http,
                    const BackendResult& outcome,
                    std::chrono::steady_clock::time_point started) const;
  ApiError logged(ApiError error) const;

  template <class T>
  static Result<T> data_of(Result<ApiResponse<T>> result) {
    if (!result) {
      return std::move(result).error();
    }
    return std::move(std::move(result).value().data);
  }

  template <class Call>
  static auto run_async(Call call) {
    return std::async(std::launch::async, std::move(call));
  }

  Configuration config_;
  std::optional<detail::Endpoint> endpoint_;
  Headers common_headers_;                    // Accept, User-Agent and the default headers
  std::optional<std::string> setup_problem_;  // why no call can be sent, if one can't
  Backend backend_;
};

// The members are defined outside the class so that, under separate compilation, files that
// see the `extern template` below do not compile them to inline them.

template <class Backend>
AuthenticationApi<Backend>::AuthenticationApi(Configuration config)
    : config_(std::move(config)),
      endpoint_(detail::parse_endpoint(config_.host)),
      backend_(config_) {
  prepare();
}

template <class Backend>
AuthenticationApi<Backend>::AuthenticationApi(Configuration config, Backend backend)
    : config_(std::move(config)),
      endpoint_(detail::parse_endpoint(config_.host)),
      backend_(std::move(backend)) {
  prepare();
}

template <class Backend>
AuthenticationApi<Backend>::~AuthenticationApi() = default;

template <class Backend>
ApiResponse<GrantClient> AuthenticationApi<Backend>::get_token_by_client_with_http_info(
    const GrantRequestClient& request) {
  return grant(request).value();
}

template <class Backend>
Result<GrantClient> AuthenticationApi<Backend>::try_get_token_by_client(
    const GrantRequestClient& request) {
  return data_of(grant(request));
}

template <class Backend>
std::future<GrantClient> AuthenticationApi<Backend>::get_token_by_client_async(
    GrantRequestClient request) {
  return run_async([this, request] { return get_token_by_client(request); });
}

template <class Backend>
ApiResponse<GrantMeeting> AuthenticationApi<Backend>::get_token_by_meeting_with_http_info(
    const GrantRequestMeeting& request) {
  return grant(request).value();
}

template <class Backend>
Result<GrantMeeting> AuthenticationApi<Backend>::try_get_token_by_meeting(
    const GrantRequestMeeting& request) {
  return data_of(grant(request));
}

template <class Backend>
std::future<GrantMeeting> AuthenticationApi<Backend>::get_token_by_meeting_async(
    GrantRequestMeeting request) {
  return run_async([this, request] { return get_token_by_meeting(request); });
}

template <class Backend>
ApiResponse<GrantPassword> AuthenticationApi<Backend>::get_token_by_password_with_http_info(
    const GrantRequestPassword& request) {
  return grant(request).value();
}

template <class Backend>
Result<GrantPassword> AuthenticationApi<Backend>::try_get_token_by_password(
    const GrantRequestPassword& request) {
  return data_of(grant(request));
}

template <class Backend>
std::future<GrantPassword> AuthenticationApi<Backend>::get_token_by_password_async(
    GrantRequestPassword request) {
  return run_async([this, request] { return get_token_by_password(request); });
}

template <class Backend>
ApiResponse<TokenInfo> AuthenticationApi<Backend>::get_token_info_with_http_info() {
  return info(std::nullopt).value();
}

template <class Backend>
Result<TokenInfo> AuthenticationApi<Backend>::try_get_token_info() {
  return data_of(info(std::nullopt));
}

template <class Backend>
std::future<TokenInfo> AuthenticationApi<Backend>::get_token_info_async() {
  return run_async([this] { return get_token_info(); });
}

template <class Backend>
ApiResponse<TokenInfo> AuthenticationApi<Backend>::get_token_info_with_http_info(
    const std::string& access_token) {
  return info(access_token).value();
}

template <class Backend>
Result<TokenInfo> AuthenticationApi<Backend>::try_get_token_info(const std::string& access_token) {
  return data_of(info(access_token));
}

template <class Backend>
std::future<TokenInfo> AuthenticationApi<Backend>::get_token_info_async(std::string access_token) {
  return run_async([this, access_token] { return get_token_info(access_token); });
}

template <class Backend>
template <class GrantRequest>
Result<ApiResponse<typename detail::GrantTraits<GrantRequest>::Reply>>
AuthenticationApi<Backend>::grant(const GrantRequest& request) {
  using Reply = typename detail::GrantTraits<GrantRequest>::Reply;
  const detail::Operation& op = detail::GrantTraits<GrantRequest>::operation;

  if (auto problem = detail::check_request_fields(request)) {
    return detail::request_error(op, *problem);
  }
  if (auto problem = check_api_key(api_key())) {
    return detail::request_error(op, *problem);
  }

  HttpRequest http;
  http.method = op.method;
  http.target = op.path;
  append_api_key(http.target, api_key());
  http.headers.emplace("Content-Type", "application/json");
  http.body = detail::encode_body(request);

  auto secrets = detail::secrets_of(request);
  secrets.push_back(api_key());
  return exchange<Reply>(op, std::move(http), secrets);
}

template <class Backend>
Result<ApiResponse<TokenInfo>> AuthenticationApi<Backend>::info(
    const std::optional<std::string>& given_token) {
  const detail::Operation& op = detail::token_info;
  const std::string& token = given_token ? *given_token : api_key();
  if (token.empty()) {
    return detail::request_error(op, "no access token: pass one or set api_key[\"access_token\"]");
  }
  if (auto problem = check_api_key(token)) {
    return detail::request_error(op, *problem);
  }

  HttpRequest http;
  http.method = op.method;
  http.target = op.path;
  append_api_key(http.target, token);
  return exchange<TokenInfo>(op, std::move(http), {token});
}

// The steps every operation shares: check the destination and headers, send, and turn the
// reply into a model or an ApiError.
template <class Backend>
template <class Reply>
Result<ApiResponse<Reply>> AuthenticationApi<Backend>::exchange(
    const detail::Operation& op, HttpRequest http, const std::vector<std::string_view>& secrets) {
  if (setup_problem_) {
    return detail::request_error(op, *setup_problem_);
  }

  http.target.insert(0, endpoint_->base_path);
  http.headers.insert(common_headers_.begin(), common_headers_.end());

  const auto started = std::chrono::steady_clock::now();
  BackendResult outcome = send_with_retries(op, http);
  log_exchange(op, http, outcome, started);

  if (auto* failure = std::get_if<TransportFailure>(&outcome)) {
    return logged(detail::transport_error(op, std::move(*failure), secrets));
  }
  auto& response = std::get<HttpResponse>(outcome);
  if (!detail::is_success(response.status)) {
    return logged(detail::status_error(op, std::move(response), secrets));
  }
  auto decoded = detail::decode_reply<Reply>(op, std::move(response));
  if (!decoded) {
    logged(decoded.error());
  }
  return decoded;
}

// Sends again, after a wait, while the failure may pass on its own and config_.retry allows.
template <class Backend>
BackendResult AuthenticationApi<Backend>::send_with_retries(const detail::Operation& op,
                                                            const HttpRequest& http) {
  const RetryPolicy& policy = config_.retry;
  const auto first_try = detail::retry_now(policy);
  for (int attempt = 1;; ++attempt) {
    BackendResult outcome = send_guarded(http);
    const auto delay = detail::retry_delay(policy, outcome, attempt, first_try);
    if (!delay) {
      return outcome;
    }

    detail::Logger(config_).write(LogLevel::info, [&] {
      return std::string(op.name) + ": " + detail::describe_outcome(outcome) + "; retrying in " +
             std::to_string(delay->count()) + " ms (attempt " + std::to_string(attempt + 1) +
             " of " + std::to_string(policy.max_attempts) + ")";
    });
    detail::retry_sleep(policy, *delay);
  }
}

// A backend that throws is treated as one that reported a transport failure.
template <class Backend>
BackendResult AuthenticationApi<Backend>::send_guarded(const HttpRequest& http) {
  try {
    return backend_.send(http);
  } catch (const std::exception& e) {
    return TransportFailure{TransportFailureKind::other, std::string("backend threw: ") + e.what()};
  } catch (...) {
    return TransportFailure{TransportFailureKind::other, "backend threw a non-standard value"};
  }
}

// The configuration cannot change after construction, so what every call shares is checked
// and built once here; a problem is reported by each call, as a RequestError.
template <class Backend>
void AuthenticationApi<Backend>::prepare() {
  common_headers_.emplace("Accept", "application/json");
  common_headers_.emplace("User-Agent", config_.user_agent);
  for (const auto& [name, value] : config_.default_headers) {
    common_headers_.emplace(name, value);
  }
  setup_problem_ = check_destination();
  if (!setup_problem_) {
    setup_problem_ = check_headers(common_headers_);
  }

  if (!config_.verify_ssl) {
    detail::Logger(config_).write(LogLevel::warning, [] {
      return "TLS certificate verification is off: the server's identity is not checked";
    });
  }
}

template <class Backend>
std::optional<std::string> AuthenticationApi<Backend>::check_destination() const {
  if (!endpoint_) {
    return "host \"" + detail::printable(detail::redact_userinfo(config_.host), 200) +
           "\" is not an http:// or https:// URL";
  }
  if (endpoint_->scheme != "http" || config_.allow_insecure_http) {
    return std::nullopt;
  }
  if (!detail::is_loopback_host(endpoint_->host)) {
    return "refusing to send credentials over plain http to " + endpoint_->host +
           "; use https, or set allow_insecure_http to accept the risk";
  }
  // A plain http request goes to the proxy in clear, whatever the proxy's scheme says (both
  // backends speak plain HTTP to it), so a loopback host is no comfort behind a remote proxy.
  // A proxy that does not parse is left to the backend, which refuses it.
  const auto proxy = detail::parse_endpoint(config_.proxy);
  if (proxy && !detail::is_loopback_host(proxy->host)) {
    return "refusing to send credentials over plain http through the proxy " + proxy->host +
           "; use https, or set allow_insecure_http to accept the risk";
  }
  return std::nullopt;
}

template <class Backend>
std::optional<std::string> AuthenticationApi<Backend>::check_headers(const Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (name.empty() || detail::has_header_breaking_char(name)) {
      return "header name \"" + detail::printable(name, 64) + "\" is empty or has CR, LF or NUL";
    }
    if (detail::has_header_breaking_char(value)) {
      return "header " + name + " has CR, LF or NUL in its value";
    }
  }
  return std::nullopt;
}

// The key travels percent-encoded, but a CR, LF or NUL in it is a caller's mistake (or an
// injection attempt) that no server should see.
template <class Backend>
std::optional<std::string> AuthenticationApi<Backend>::check_api_key(const std::string& key) const {
  const auto prefix = config_.api_key_prefix.find("access_token");
  if (prefix != config_.api_key_prefix.end() && detail::has_header_breaking_char(prefix->second)) {
    return std::string("api_key_prefix[\"access_token\"] has CR, LF or NUL");
  }
  if (detail::has_header_breaking_char(key)) {
    return "access token (" + std::to_string(key.size()) + " characters) has CR, LF or NUL";
  }
  return std::nullopt;
}

template <class Backend>
const std::string& AuthenticationApi<Backend>::api_key() const {
  static const std::string none;
  const auto it = config_.api_key.find("access_token");
  return it == config_.api_key.end() ? none : it->second;
}

template <class Backend>
void AuthenticationApi<Backend>::append_api_key(std::string& target, const std::string& key) const {
  if (key.empty()) {
    return;
  }
  const auto prefix = config_.api_key_prefix.find("access_token");
  std::string value = key;
  if (prefix != config_.api_key_prefix.end() && !prefix->second.empty()) {
    value = prefix->second + " " + key;
  }
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += "access_token=" + detail::url_encode(value);
}

template <class Backend>
void AuthenticationApi<Backend>::log_exchange(const detail::Operation& op, const HttpRequest& http,
                                              const BackendResult& outcome,
                                              std::chrono::steady_clock::time_point started) const {
  detail::Logger(config_).write(LogLevel::debug, [&] {
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    const auto* response = std::get_if<HttpResponse>(&outcome);
    return std::string(op.name) + ": " + http.method + ' ' + detail::redact_query(http.target) +
           " -> " + (response ? std::to_string(response->status) : "no reply") + " in " +
           std::to_string(elapsed.count()) + " us";
  });
}

template <class Backend>
ApiError AuthenticationApi<Backend>::logged(ApiError error) const {
  detail::Logger(config_).write(LogLevel::warning, [&] { return error.message; });
  return error;
}

#undef BLUEJEANS_AUTH_DEFAULT_BACKEND

// ---------------------------------------------------------------------------------------------
// 7. Token lifecycle
// ---------------------------------------------------------------------------------------------

/// No token arrived before the deadline given to TokenSource::access_token. It is a
/// TransportError whose transport_failure is TransportFailureKind::timeout, so code that
/// already handles timeouts handles it too.
class DeadlineExceeded : public TransportError {
 public:
  using TransportError::TransportError;
};

/// The time a TokenSource runs on: std::chrono::steady_clock unless a test brings its own.
class TokenClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~TokenClock() = default;
  virtual time_point now() = 0;

  /// Blocks on cv, which lock guards, until it is notified or this clock reaches deadline
  /// (time_point::max() for never). May return early: callers check their condition again.
  virtual void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          time_point deadline) = 0;
};

/// The default clock: std::chrono::steady_clock.
class SteadyTokenClock final : public TokenClock {
 public:
  time_point now() override { return std::chrono::steady_clock::now(); }

  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  time_point deadline) override {
    if (deadline == time_point::max()) {
      cv.wait(lock);
    } else {
      cv.wait_until(lock, deadline);
    }
  }
};

/// A clock that moves only when told to, so that a test runs an hour of token life in a
/// millisecond. advance() wakes every TokenSource waiting on the clock; do not call it while
/// a TokenSource that uses the clock is being destroyed, or from its log callback.
class ManualClock final : public TokenClock {
 public:
  explicit ManualClock(time_point start = time_point() + std::chrono::hours(24)) : now_(start) {}

  time_point now() override {
    const std::lock_guard<std::mutex> guard(mutex_);
    return now_;
  }

  void advance(std::chrono::steady_clock::duration step);

  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  time_point deadline) override;

 private:
  struct Waiter {
    std::mutex* mutex;
    std::condition_variable* cv;
  };

  std::mutex mutex_;
  time_point now_;
  std::vector<Waiter> waiters_;  // one entry per thread blocked in wait_until
};

/// What a token callable reports: the two fields of a grant that a TokenSource needs.
struct TokenGrant {
  std::optional<std::string> access_token;
  std::optional<std::int64_t> expires_in;  // seconds from the moment the reply arrived
};

/// When a TokenSource refreshes, how long it waits after a failed refresh, and where it logs.
struct TokenSourceOptions {
  /// The refresh margin is this share of the token's lifetime, held between min_margin and
  /// max_margin and never more than half the lifetime: a one-hour token is refreshed five
  /// minutes before it expires, a ten-minute token one minute before.
  double margin_fraction = 0.1;
  std::chrono::seconds min_margin = std::chrono::seconds(20);
  std::chrono::seconds max_margin = std::chrono::minutes(5);

  /// The wait after a failed refresh before the next one, doubled for each failure in a row
  /// up to max_failure_backoff, and stretched to a Retry-After the failure carried.
  std::chrono::milliseconds failure_backoff = std::chrono::seconds(1);
  std::chrono::milliseconds max_failure_backoff = std::chrono::seconds(30);

  std::shared_ptr<TokenClock> clock;  // a SteadyTokenClock when empty
  /// Reads a Retry-After date on a failed refresh: the system clock when empty, and
  /// make_token_source(api, ...) uses the API's Configuration::retry.wall_clock.
  std::function<std::chrono::system_clock::time_point()> wall_clock;

  /// Lifecycle events go here; when empty, make_token_source(api, ...) uses the API's
  /// Configuration::log and log_level. Called with the source's lock held: it must not call
  /// back into the source.
  LogCallback log;
  LogLevel log_level = LogLevel::info;
};

/// The refresh margin TokenSource uses for a token that lives `lifetime`.
std::chrono::milliseconds refresh_margin(const TokenSourceOptions& options,
                                         std::chrono::seconds lifetime);

namespace detail {
class TokenState;
}  // namespace detail

/// A thread-safe source of a valid access token. It asks for a new token ahead of expiry,
/// sends one request however many threads ask at once, keeps serving the current token while
/// a refresh fails, and backs off between failed refreshes. Refreshes run on a thread of the
/// source's own; the destructor waits for one in flight.
class TokenSource {
 public:
  using Fetch = std::function<TokenGrant()>;

  /// `fetch` gets a new grant, or throws. Callers get an ApiException as the subclass that
  /// matches its kind, and any other exception as a TransportError.
  explicit TokenSource(Fetch fetch, TokenSourceOptions options = {});
  /// A moved-from source may only be destroyed or assigned to.
  TokenSource(TokenSource&&) noexcept;
  TokenSource& operator=(TokenSource&&) noexcept;
  ~TokenSource();

  /// A token valid for at least the refresh margin, or, while refreshes fail, the current one
  /// for as long as it is valid. Waits for a refresh in flight.
  /// @throws ApiException the refresh failed and no valid token remains
  std::string access_token();

  /// As access_token(), waiting no later than `deadline` on the source's clock; at the
  /// deadline it returns the current token if one is still valid.
  /// @throws DeadlineExceeded no valid token by the deadline; ApiException as above
  std::string access_token(std::chrono::steady_clock::time_point deadline);

  /// Drops the current token, after a 401 elsewhere say: the next call fetches a new one,
  /// without waiting for a backoff.
  void invalidate();

 private:
  std::unique_ptr<detail::TokenState> state_;
};

namespace detail {

template <class Grant>
TokenGrant to_token_grant(const Grant& grant) {
  return TokenGrant{grant.access_token, grant.expires_in};
}

template <class Api>
GrantClient request_grant(Api& api, const GrantRequestClient& request) {
  return api.get_token_by_client(request);
}

template <class Api>
GrantPassword request_grant(Api& api, const GrantRequestPassword& request) {
  return api.get_token_by_password(request);
}

template <class Api>
GrantMeeting request_grant(Api& api, const GrantRequestMeeting& request) {
  return api.get_token_by_meeting(request);
}

}  // namespace detail

/// A TokenSource for one of the three grants. It keeps a reference to `api`, which must
/// outlive it, and a copy of `request`.
template <class Backend, class GrantRequest,
          class = typename detail::GrantTraits<GrantRequest>::Reply>
TokenSource make_token_source(AuthenticationApi<Backend>& api, GrantRequest request,
                              TokenSourceOptions options = {}) {
  if (!options.log) {
    options.log = api.configuration().log;
    options.log_level = api.configuration().log_level;
  }
  if (!options.wall_clock) {
    options.wall_clock = api.configuration().retry.wall_clock;
  }
  return TokenSource(
      [&api, request = std::move(request)] {
        return detail::to_token_grant(detail::request_grant(api, request));
      },
      std::move(options));
}

/// A TokenSource for a flow of the caller's own: `fetch()` returns a grant (any type with
/// optional access_token and expires_in members, such as GrantClient or TokenGrant).
template <class Fetch, class = decltype(std::declval<Fetch&>()().access_token)>
TokenSource make_token_source(Fetch fetch, TokenSourceOptions options = {}) {
  return TokenSource(
      [fetch = std::move(fetch)]() mutable { return detail::to_token_grant(fetch()); },
      std::move(options));
}

// ---- implementation of the retry policy and the token source

#if BLUEJEANS_AUTH_DEFINITIONS

namespace detail {

const char* describe_failure(TransportFailureKind kind);

BLUEJEANS_AUTH_INLINE bool is_retryable(const BackendResult& outcome) {
  if (const auto* failure = std::get_if<TransportFailure>(&outcome)) {
    switch (failure->kind) {
      case TransportFailureKind::connect:
      case TransportFailureKind::timeout:
      case TransportFailureKind::read:
      case TransportFailureKind::write:
        return true;
      default:
        return false;
    }
  }
  const int status = std::get<HttpResponse>(outcome).status;
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

BLUEJEANS_AUTH_INLINE bool is_leap_year(std::int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

// Leap years from year 1 up to and including `year`.
BLUEJEANS_AUTH_INLINE std::int64_t leap_years_through(std::int64_t year) {
  return year / 4 - year / 100 + year / 400;
}

// An IMF-fixdate, the form HTTP senders must use: "Sun, 06 Nov 1994 08:49:37 GMT".
BLUEJEANS_AUTH_INLINE std::optional<std::chrono::system_clock::time_point> parse_http_date(
    std::string_view text) {
  if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  const auto number = [&](std::size_t at, std::size_t length) {
    int value = 0;
    for (std::size_t i = at; i < at + length; ++i) {
      if (text[i] < '0' || text[i] > '9') {
        return -1;
      }
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const int day = number(5, 2);
  const int year = number(12, 4);
  const int hour = number(17, 2);
  const int minute = number(20, 2);
  const int second = number(23, 2);
  constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const auto month_at = months.find(text.substr(8, 3));
  if (month_at == std::string_view::npos || month_at % 3 != 0 || year < 1970 || hour < 0 ||
      hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }

  const int month = static_cast<int>(month_at / 3);  // 0 for January
  static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  static constexpr int days_before_month[] = {0,   31,  59,  90,  120, 151,
                                              181, 212, 243, 273, 304, 334};
  const bool leap = is_leap_year(year);
  if (day < 1 || day > month_days[month] + (month == 1 && leap ? 1 : 0)) {
    return std::nullopt;
  }

  const std::int64_t days = 365 * std::int64_t{year - 1970} + leap_years_through(year - 1) -
                            leap_years_through(1969) + days_before_month[month] +
                            (month > 1 && leap ? 1 : 0) + (day - 1);
  const std::int64_t seconds = ((days * 24 + hour) * 60 + minute) * 60 + second;
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

// A Retry-After value, delay-seconds or an HTTP-date, as a wait from `now`.
BLUEJEANS_AUTH_INLINE std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view text, std::chrono::system_clock::time_point now) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  if (text.empty()) {
    return std::nullopt;
  }

  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // Past nine digits the wait is longer than any cap; a day stands for all of them.
    if (text.size() > 9) {
      return std::chrono::hours(24);
    }
    return std::chrono::seconds(std::stol(std::string(text)));
  }
  const auto date = parse_http_date(text);
  if (!date) {
    return std::nullopt;
  }
  if (*date <= now) {
    return std::chrono::milliseconds(0);
  }
  return std::chrono::ceil<std::chrono::milliseconds>(*date - now);
}

BLUEJEANS_AUTH_INLINE double default_random() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

// Full jitter: a wait drawn uniformly below a ceiling that grows with each try, up to the cap.
BLUEJEANS_AUTH_INLINE std::chrono::milliseconds jittered_backoff(const RetryPolicy& policy,
                                                                 int attempt) {
  const double cap = static_cast<double>(std::max<std::int64_t>(policy.max_backoff.count(), 0));
  double ceiling = static_cast<double>(policy.initial_backoff.count());
  for (int i = 1; i < attempt && ceiling < cap; ++i) {
    ceiling *= policy.multiplier;
  }
  if (!(ceiling >= 0.0)) {
    ceiling = 0.0;
  }
  ceiling = std::min(ceiling, cap);

  double random = policy.random ? policy.random() : default_random();
  if (!(random >= 0.0)) {
    random = 0.0;
  }
  random = std::min(random, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(random * ceiling));
}

BLUEJEANS_AUTH_INLINE std::chrono::steady_clock::time_point retry_now(const RetryPolicy& policy) {
  return policy.now ? policy.now() : std::chrono::steady_clock::now();
}

BLUEJEANS_AUTH_INLINE void retry_sleep(const RetryPolicy& policy, std::chrono::milliseconds delay) {
  if (policy.sleep) {
    policy.sleep(delay);
  } else {
    std::this_thread::sleep_for(delay);
  }
}

BLUEJEANS_AUTH_INLINE std::optional<std::chrono::milliseconds> retry_delay(
    const RetryPolicy& policy, const BackendResult& outcome, int attempt,
    std::chrono::steady_clock::time_point first_try) {
  if (attempt >= policy.max_attempts || !is_retryable(outcome)) {
    return std::nullopt;
  }

  std::optional<std::chrono::milliseconds> delay;
  if (const auto* response = std::get_if<HttpResponse>(&outcome)) {
    const auto header = response->headers.find("Retry-After");
    if (header != response->headers.end()) {
      const auto wall_now =
          policy.wall_clock ? policy.wall_clock() : std::chrono::system_clock::now();
      delay = parse_retry_after(header->second, wall_now);
      // The server asks for more patience than the policy has: its answer stands.
      if (delay && *delay > policy.max_backoff) {
        return std::nullopt;
      }
    }
  }
  if (!delay) {
    delay = jittered_backoff(policy, attempt);
  }

  if (policy.deadline.count() > 0 &&
      retry_now(policy) + *delay - first_try > policy.deadline) {
    return std::nullopt;
  }
  return delay;
}

BLUEJEANS_AUTH_INLINE std::string describe_outcome(const BackendResult& outcome) {
  if (const auto* failure = std::get_if<TransportFailure>(&outcome)) {
    return describe_failure(failure->kind);
  }
  return "server answered " + std::to_string(std::get<HttpResponse>(outcome).status);
}

BLUEJEANS_AUTH_INLINE std::string whole_ms(std::chrono::steady_clock::duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count()) +
         " ms";
}

BLUEJEANS_AUTH_INLINE std::string whole_s(std::chrono::steady_clock::duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(duration).count()) +
         " s";
}

BLUEJEANS_AUTH_INLINE ApiError token_source_error(ErrorKind kind, std::string cause) {
  ApiError error;
  error.kind = kind;
  error.operation = "token_source";
  error.message = "token_source: " + std::move(cause);
  if (kind == ErrorKind::transport) {
    error.transport_failure = TransportFailureKind::other;
  }
  return error;
}

// Longer lifetimes than a year are taken as a year, so that expiry times cannot overflow.
constexpr std::int64_t max_token_lifetime_s = 365 * 24 * 3600;

// Each thread's copy of the last healthy token it was served, so that the common call, a
// token well before its refresh time, touches no lock and writes no shared memory: one atomic
// load tells whether the source has changed since. One entry per thread; a thread that
// alternates between sources just takes the locked path more often.
struct TokenCache {
  std::uint64_t source = 0;   // TokenState::id_ of the source the entry came from
  std::uint64_t version = 0;  // that source's version_ when it was filled
  std::chrono::steady_clock::time_point refresh_at;
  std::string token;
};

BLUEJEANS_AUTH_INLINE TokenCache& thread_token_cache() {
  thread_local TokenCache cache;
  return cache;
}

BLUEJEANS_AUTH_INLINE std::uint64_t next_token_source_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// The shared state behind a TokenSource. Every member below mutex_ is guarded by it.
class TokenState {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  TokenState(TokenSource::Fetch fetch, TokenSourceOptions options)
      : fetch_(std::move(fetch)), options_(std::move(options)) {
    if (!options_.clock) {
      options_.clock = std::make_shared<SteadyTokenClock>();
    }
  }

  TokenState(const TokenState&) = delete;
  TokenState& operator=(const TokenState&) = delete;

  ~TokenState() {
    if (worker_.joinable()) {
      worker_.join();
    }
  }

  std::string access_token(std::optional<time_point> deadline);
  void invalidate();

 private:
  bool valid_at(time_point now) const { return token_ && now < expires_at_; }
  const std::string& healthy_token(TokenCache& cache);
  std::string served(time_point now);
  void start_refresh(time_point now);
  void refresh();
  void finish_refresh(std::optional<TokenGrant> grant, std::optional<ApiError> error);
  static std::optional<ApiError> check_grant(const TokenGrant& grant);

  template <class MakeLine>
  void log(LogLevel level, MakeLine&& make_line) const {
    if (options_.log && level >= options_.log_level) {
      options_.log(level, "bluejeans-auth: token_source: " + std::string(make_line()));
    }
  }

  TokenSource::Fetch fetch_;
  TokenSourceOptions options_;
  std::thread worker_;  // the refresh in flight, or the last one
  const std::uint64_t id_ = next_token_source_id();
  // Changes whenever the token or its refresh time may have: thread caches older than this
  // are stale. Written under mutex_, read without it.
  std::atomic<std::uint64_t> version_{1};

  std::mutex mutex_;
  std::condition_variable refreshed_;
  std::optional<std::string> token_;
  time_point expires_at_;
  time_point refresh_at_;
  bool refreshing_ = false;
  std::uint64_t generation_ = 0;  // refreshes finished so far
  // The last refresh's failure. Each waiter throws an exception of its own made from it, so
  // that no exception object is shared between threads.
  std::optional<ApiError> last_error_;
  time_point retry_at_;            // no refresh starts before this after a failure
  int failures_ = 0;               // failed refreshes in a row
  bool served_logged_ = false;     // the current failure's "serving" line has been written
};

BLUEJEANS_AUTH_INLINE const std::string& TokenState::healthy_token(TokenCache& cache) {
  cache.source = id_;
  cache.version = version_.load(std::memory_order_relaxed);
  cache.refresh_at = refresh_at_;
  cache.token = *token_;
  return *token_;
}

BLUEJEANS_AUTH_INLINE std::string TokenState::access_token(std::optional<time_point> deadline) {
  TokenClock& clock = *options_.clock;
  TokenCache& cache = thread_token_cache();
  if (cache.source == id_ && cache.version == version_.load(std::memory_order_acquire) &&
      clock.now() < cache.refresh_at) {
    return cache.token;
  }

  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    auto now = clock.now();
    if (valid_at(now) && now < refresh_at_) {
      return healthy_token(cache);
    }

    if (refreshing_) {
      log(LogLevel::debug, [] { return "waiting for the refresh in flight"; });
    } else if (last_error_ && now < retry_at_) {
      if (valid_at(now)) {
        return served(now);
      }
      throw_api_error(*last_error_);
    } else {
      start_refresh(now);
    }

    const std::uint64_t awaited = generation_ + 1;
    while (generation_ < awaited) {
      now = clock.now();
      if (deadline && now >= *deadline) {
        if (valid_at(now)) {
          return *token_;  // still valid; the refresh goes on for the callers after this one
        }
        ApiError error;
        error.kind = ErrorKind::transport;
        error.operation = "token_source";
        error.message = "token_source: no token before the deadline";
        error.transport_failure = TransportFailureKind::timeout;
        throw DeadlineExceeded(std::move(error));
      }
      clock.wait_until(lock, refreshed_, deadline ? *deadline : time_point::max());
    }

    now = clock.now();
    if (last_error_) {
      if (valid_at(now)) {
        return served(now);
      }
      throw_api_error(*last_error_);
    }
    if (valid_at(now)) {
      return *token_;
    }
    // invalidate() ran between the refresh and this thread's wake-up: go round again.
  }
}

BLUEJEANS_AUTH_INLINE std::string TokenState::served(time_point now) {
  if (!served_logged_) {
    served_logged_ = true;
    log(LogLevel::info, [&] {
      return "serving the current token " + redact_token(*token_) + ", valid for " +
             whole_s(expires_at_ - now) + " more, after a failed refresh";
    });
  }
  return *token_;
}

BLUEJEANS_AUTH_INLINE void TokenState::start_refresh(time_point now) {
  log(LogLevel::debug, [&] {
    return token_ ? "refresh started, the current token expires in " + whole_s(expires_at_ - now)
                  : std::string("refresh started, no token held");
  });

  // The previous worker has finished its work under the lock, so joining it is quick.
  if (worker_.joinable()) {
    worker_.join();
  }
  try {
    worker_ = std::thread([this] { refresh(); });
  } catch (const std::system_error& e) {
    throw_api_error(token_source_error(ErrorKind::transport,
                                       std::string("could not start a refresh: ") + e.what()));
  }
  refreshing_ = true;
}

BLUEJEANS_AUTH_INLINE void TokenState::refresh() {
  std::optional<TokenGrant> grant;
  std::optional<ApiError> error;
  try {
    grant = fetch_();
    error = check_grant(*grant);
  } catch (const ApiException& e) {
    error = e.error();
  } catch (const std::exception& e) {
    error = token_source_error(ErrorKind::transport, std::string("the token callable threw: ") +
                                                         printable(e.what(), 300));
  } catch (...) {
    error = token_source_error(ErrorKind::transport,
                               "the token callable threw a non-standard value");
  }
  if (error) {
    grant.reset();
  }
  finish_refresh(std::move(grant), std::move(error));
}

BLUEJEANS_AUTH_INLINE std::optional<ApiError> TokenState::check_grant(const TokenGrant& grant) {
  if (!grant.access_token || grant.access_token->empty()) {
    return token_source_error(ErrorKind::decode, "the grant has no access_token");
  }
  if (!grant.expires_in) {
    return token_source_error(ErrorKind::decode, "the grant has no expires_in");
  }
  if (*grant.expires_in <= 0) {
    return token_source_error(ErrorKind::decode, "the grant's expires_in is not positive");
  }
  return std::nullopt;
}

BLUEJEANS_AUTH_INLINE void TokenState::finish_refresh(std::optional<TokenGrant> grant,
                                                      std::optional<ApiError> error) {
  const std::lock_guard<std::mutex> guard(mutex_);
  // Expiry counts from the moment the reply arrived, on the source's monotonic clock.
  const auto now = options_.clock->now();
  if (grant) {
    const std::chrono::seconds lifetime(std::min(*grant->expires_in, max_token_lifetime_s));
    token_ = std::move(*grant->access_token);
    expires_at_ = now + lifetime;
    refresh_at_ = expires_at_ - refresh_margin(options_, lifetime);
    last_error_.reset();
    failures_ = 0;
    log(LogLevel::info, [&] {
      return "acquired token " + redact_token(*token_) + ", valid for " + whole_s(lifetime) +
             ", refresh in " + whole_s(refresh_at_ - now);
    });
  } else {
    std::chrono::milliseconds backoff = std::max(options_.failure_backoff,
                                                 std::chrono::milliseconds(0));
    for (int i = 0; i < failures_ && backoff < options_.max_failure_backoff; ++i) {
      backoff *= 2;
    }
    backoff = std::min(backoff, options_.max_failure_backoff);

    // A Retry-After on the failure stretches the wait, up to the same cap.
    const auto header = error->headers.find("Retry-After");
    if (header != error->headers.end()) {
      const auto wall_now =
          options_.wall_clock ? options_.wall_clock() : std::chrono::system_clock::now();
      if (const auto asked = parse_retry_after(header->second, wall_now)) {
        backoff = std::max(backoff, std::min(*asked, options_.max_failure_backoff));
      }
    }

    last_error_ = std::move(error);
    ++failures_;
    retry_at_ = now + backoff;
    served_logged_ = false;
    log(LogLevel::warning, [&] {
      return "refresh failed: " + last_error_->message + "; next attempt in " + whole_ms(backoff);
    });
  }

  refreshing_ = false;
  ++generation_;
  version_.fetch_add(1, std::memory_order_release);
  refreshed_.notify_all();
}

BLUEJEANS_AUTH_INLINE void TokenState::invalidate() {
  const std::lock_guard<std::mutex> guard(mutex_);
  log(LogLevel::info, [&] {
    return token_ ? "invalidated token " + redact_token(*token_)
                  : std::string("invalidated, no token held");
  });
  token_.reset();
  last_error_.reset();
  version_.fetch_add(1, std::memory_order_release);
  failures_ = 0;
  retry_at_ = time_point();
}

}  // namespace detail

BLUEJEANS_AUTH_INLINE std::chrono::milliseconds refresh_margin(const TokenSourceOptions& options,
                                                               std::chrono::seconds lifetime) {
  using std::chrono::milliseconds;
  const milliseconds whole = lifetime;
  auto margin = milliseconds(
      static_cast<std::int64_t>(static_cast<double>(whole.count()) * options.margin_fraction));
  margin = std::max(margin, milliseconds(options.min_margin));
  margin = std::min(margin, milliseconds(options.max_margin));
  return std::max(std::min(margin, whole / 2), milliseconds(0));
}

BLUEJEANS_AUTH_INLINE void ManualClock::advance(std::chrono::steady_clock::duration step) {
  std::vector<Waiter> waiters;
  {
    const std::lock_guard<std::mutex> guard(mutex_);
    now_ += step;
    waiters = waiters_;
  }
  // Taking each waiter's lock before notifying means it is either not yet waiting, and will
  // see the new time, or waiting, and gets the notification.
  for (const auto& waiter : waiters) {
    const std::lock_guard<std::mutex> guard(*waiter.mutex);
    waiter.cv->notify_all();
  }
}

BLUEJEANS_AUTH_INLINE void ManualClock::wait_until(std::unique_lock<std::mutex>& lock,
                                                   std::condition_variable& cv,
                                                   time_point deadline) {
  {
    const std::lock_guard<std::mutex> guard(mutex_);
    if (now_ >= deadline) {
      return;
    }
    waiters_.push_back(Waiter{lock.mutex(), &cv});
  }
  cv.wait(lock);

  const std::lock_guard<std::mutex> guard(mutex_);
  const auto mine = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& waiter) {
    return waiter.mutex == lock.mutex() && waiter.cv == &cv;
  });
  if (mine != waiters_.end()) {
    waiters_.erase(mine);
  }
}

BLUEJEANS_AUTH_INLINE TokenSource::TokenSource(Fetch fetch, TokenSourceOptions options)
    : state_(std::make_unique<detail::TokenState>(std::move(fetch), std::move(options))) {}

BLUEJEANS_AUTH_INLINE TokenSource::TokenSource(TokenSource&&) noexcept = default;
BLUEJEANS_AUTH_INLINE TokenSource& TokenSource::operator=(TokenSource&&) noexcept = default;
BLUEJEANS_AUTH_INLINE TokenSource::~TokenSource() = default;

BLUEJEANS_AUTH_INLINE std::string TokenSource::access_token() {
  return state_->access_token(std::nullopt);
}

BLUEJEANS_AUTH_INLINE std::string TokenSource::access_token(
    std::chrono::steady_clock::time_point deadline) {
  return state_->access_token(deadline);
}

BLUEJEANS_AUTH_INLINE void TokenSource::invalidate() { state_->invalidate(); }

#endif  // BLUEJEANS_AUTH_DEFINITIONS

// ---------------------------------------------------------------------------------------------
// 8. Implementation details. Nothing below is public API.
// ---------------------------------------------------------------------------------------------

namespace detail {

unsigned char ascii_lower(char c);
bool equals_ignoring_case(std::string_view a, std::string_view b);

#if BLUEJEANS_AUTH_DEFINITIONS

// Header names are ASCII; the C library's tolower would also consult the locale.
BLUEJEANS_AUTH_INLINE unsigned char ascii_lower(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 'A' && byte <= 'Z' ? static_cast<unsigned char>(byte + ('a' - 'A')) : byte;
}

BLUEJEANS_AUTH_INLINE bool CaseInsensitiveLess::operator()(const std::string& a,
                                                           const std::string& b) const noexcept {
  return std::lexicographical_compare(
      a.begin(), a.end(), b.begin(), b.end(),
      [](char x, char y) { return ascii_lower(x) < ascii_lower(y); });
}

BLUEJEANS_AUTH_INLINE bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

#endif  // BLUEJEANS_AUTH_DEFINITIONS

// ---- encoding

template <class T>
void encode_field(nlohmann::json& json, const char* key, const T& value) {
  json[key] = value;
}

template <class T>
void encode_field(nlohmann::json& json, const char* key, const std::optional<T>& value) {
  if (value) {
    json[key] = *value;
  }
}

// The most characters write_json_string can write for `text`: every byte as "\u00XX".
constexpr std::size_t json_string_bound(std::string_view text) { return 6 * text.size() + 2; }

// Writes `text` as a JSON string the way nlohmann::json::dump() does (it is already valid
// UTF-8) and returns the end. Writing through a pointer into room made beforehand keeps the
// cost of a character to a compare and a store.
char* write_json_string(char* out, std::string_view text);

#if BLUEJEANS_AUTH_DEFINITIONS
BLUEJEANS_AUTH_INLINE char* write_json_string(char* out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  *out++ = '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != '"' && c != '\\') {
      *out++ = ch;
      continue;
    }
    *out++ = '\\';
    switch (c) {
      case '"':
      case '\\':
        *out++ = ch;
        break;
      case '\b':
        *out++ = 'b';
        break;
      case '\f':
        *out++ = 'f';
        break;
      case '\n':
        *out++ = 'n';
        break;
      case '\r':
        *out++ = 'r';
        break;
      case '\t':
        *out++ = 't';
        break;
      default:
        for (const char u : {'u', '0', '0', hex[c >> 4], hex[c & 0x0F]}) {
          *out++ = u;
        }
    }
  }
  *out++ = '"';
  return out;
}
#endif

// A request body written straight to text: request models hold only strings, and building
// a document first would cost more than the rest of the call's own work.
template <class M>
std::string encode_body(const M& request) {
  const auto& fields = describe(Tag<M>{}).fields;

  // Room for the worst case first, so that no write below checks capacity.
  std::size_t bound = 2;
  const auto add_bound = [&](const auto& field) {
    bound += json_string_bound(field.key) + json_string_bound(request.*(field.member)) + 2;
  };
  std::apply([&](const auto&... field) { (add_bound(field), ...); }, fields);
  std::string body(bound, '\0');

  char* out = body.data();
  *out++ = '{';
  const auto write_field = [&](const auto& field) {
    if (out - body.data() > 1) {
      *out++ = ',';
    }
    out = write_json_string(out, field.key);
    *out++ = ':';
    out = write_json_string(out, request.*(field.member));
  };
  std::apply([&](const auto&... field) { (write_field(field), ...); }, fields);
  *out++ = '}';

  body.resize(static_cast<std::size_t>(out - body.data()));
  return body;
}

template <class M>
void encode_model(nlohmann::json& json, const M& model) {
  json = nlohmann::json::object();
  std::apply(
      [&](const auto&... fields) {
        (encode_field(json, fields.key, model.*(fields.member)), ...);
      },
      describe(Tag<M>{}).fields);
}

// ---- decoding
//
// One streaming decoder fills a model straight from JSON events, with no document in
// between: nlohmann's SAX parser feeds it reply text, and walk_json feeds it a document for
// from_json. Both inputs therefore share every rule: types are checked, null counts as absent,
// unknown keys are skipped, required keys are enforced and nesting is bounded.

// Deeply nested JSON would make copies and comparisons recurse; no model of this API nests
// deeper than a handful of levels.
constexpr std::size_t max_json_depth = 64;

enum class JsonEvent { null, boolean, integer, unsigned_integer, floating, string, object, array };

const char* json_type_name(JsonEvent event);

#if BLUEJEANS_AUTH_DEFINITIONS
BLUEJEANS_AUTH_INLINE const char* json_type_name(JsonEvent event) {
  switch (event) {
    case JsonEvent::null:
      return "null";
    case JsonEvent::boolean:
      return "boolean";
    case JsonEvent::integer:
    case JsonEvent::unsigned_integer:
    case JsonEvent::floating:
      return "number";
    case JsonEvent::string:
      return "string";
    case JsonEvent::object:
      return "object";
    case JsonEvent::array:
      break;
  }
  return "array";
}
#endif

// A scalar or the start of a container, as the decoder sees it.
struct JsonValue {
  JsonEvent event = JsonEvent::null;
  bool boolean = false;
  std::int64_t integer = 0;
  std::uint64_t unsigned_integer = 0;
  std::string* string = nullptr;
};

struct ModelOps;

// What storing a value into a member led to.
struct Stored {
  enum Kind { done, mismatch, out_of_range, open_model, open_object_array } kind = done;
  const char* expected = nullptr;   // for mismatch
  const ModelOps* ops = nullptr;    // for open_model
  void* target = nullptr;           // the nested model, or the std::vector<nlohmann::json>
};

// What the decoder needs to know about one model type, with the type erased.
struct ModelOps {
  int (*find)(std::string_view key);
  const char* (*key)(int field);
  Stored (*store)(void* model, int field, JsonValue& value);
  int (*finish)(void* model, std::uint32_t seen);  // resets unseen optionals; a missing
                                                   // required field's index, or -1
};

Stored store_value(std::string& member, JsonValue& value);
Stored store_value(std::int64_t& member, JsonValue& value);
Stored store_value(bool& member, JsonValue& value);
Stored store_value(std::vector<nlohmann::json>& member, JsonValue& value);

inline Stored mismatch(const char* expected) { return {Stored::mismatch, expected}; }

#if BLUEJEANS_AUTH_DEFINITIONS

BLUEJEANS_AUTH_INLINE Stored store_value(std::string& member, JsonValue& value) {
  if (value.event != JsonEvent::string) {
    return mismatch("string");
  }
  member = std::move(*value.string);
  return {};
}

BLUEJEANS_AUTH_INLINE Stored store_value(std::int64_t& member, JsonValue& value) {
  if (value.event == JsonEvent::integer) {
    member = value.integer;
  } else if (value.event == JsonEvent::unsigned_integer) {
    if (value.unsigned_integer > static_cast<std::uint64_t>(INT64_MAX)) {
      return {Stored::out_of_range};
    }
    member = static_cast<std::int64_t>(value.unsigned_integer);
  } else {
    return mismatch("integer");
  }
  return {};
}

BLUEJEANS_AUTH_INLINE Stored store_value(bool& member, JsonValue& value) {
  if (value.event != JsonEvent::boolean) {
    return mismatch("boolean");
  }
  member = value.boolean;
  return {};
}

BLUEJEANS_AUTH_INLINE Stored store_value(std::vector<nlohmann::json>& member, JsonValue& value) {
  if (value.event != JsonEvent::array) {
    return mismatch("array");
  }
  member.clear();
  return {Stored::open_object_array, nullptr, nullptr, &member};
}

#endif  // BLUEJEANS_AUTH_DEFINITIONS

template <class M>
const ModelOps& model_ops();

template <class M, enable_if_model<M> = 0>
Stored store_value(M& member, JsonValue& value) {
  if (value.event != JsonEvent::object) {
    return mismatch("object");
  }
  member = M{};
  return {Stored::open_model, nullptr, &model_ops<M>(), &member};
}

template <class T>
Stored store_member(T& member, JsonValue& value) {
  return store_value(member, value);
}

// An optional member is only engaged once its value has the right type.
template <class T>
Stored store_member(std::optional<T>& member, JsonValue& value) {
  T candidate{};
  if (value.event == JsonEvent::object || value.event == JsonEvent::array) {
    auto stored = store_value(member.emplace(), value);
    if (stored.kind == Stored::mismatch) {
      member.reset();
    }
    return stored;
  }
  auto stored = store_value(candidate, value);
  if (stored.kind == Stored::done) {
    member = std::move(candidate);
  }
  return stored;
}

template <class T>
void reset_member(T&) {}  // a required member has no absent state

template <class T>
void reset_member(std::optional<T>& member) {
  member.reset();
}

template <class M, std::size_t... I>
const ModelOps& model_ops_for(std::index_sequence<I...>) {
  static constexpr auto fields = describe(Tag<M>{}).fields;
  static const ModelOps ops{
      [](std::string_view key) {
        int found = -1;
        ((found = found < 0 && key == std::get<I>(fields).key ? static_cast<int>(I) : found),
         ...);
        return found;
      },
      [](int field) {
        const char* key = "";
        ((key = field == static_cast<int>(I) ? std::get<I>(fields).key : key), ...);
        return key;
      },
      [](void* model, int field, JsonValue& value) {
        auto& typed = *static_cast<M*>(model);
        Stored stored;
        // Stops at the field's own index; the cast keeps a one-field fold from warning.
        static_cast<void>(
            ((field == static_cast<int>(I)
                  ? (stored = value.event == JsonEvent::null
                                  ? (reset_member(typed.*(std::get<I>(fields).member)), Stored{})
                                  : store_member(typed.*(std::get<I>(fields).member), value),
                     true)
                  : false) ||
             ...));
        return stored;
      },
      [](void* model, std::uint32_t seen) {
        auto& typed = *static_cast<M*>(model);
        int missing = -1;
        const auto finish = [&](const auto& field, int index) {
          if (seen & (1u << index)) {
            return;
          }
          if (field.required && missing < 0) {
            missing = index;
          }
          reset_member(typed.*(field.member));
        };
        (finish(std::get<I>(fields), static_cast<int>(I)), ...);
        return missing;
      },
  };
  return ops;
}

template <class M>
const ModelOps& model_ops() {
  constexpr auto size = std::tuple_size_v<decltype(describe(Tag<M>{}).fields)>;
  static_assert(size <= 32, "a model's fields are tracked in a 32-bit mask");
  return model_ops_for<M>(std::make_index_sequence<size>{});
}

// Builds the free-form JSON objects of endpointUriSet from events.
class JsonBuilder {
 public:
  explicit JsonBuilder(nlohmann::json& root) : root_(&root) {}

  void value(nlohmann::json scalar);
  void open(bool object);
  void key(std::string name) { key_ = std::move(name); }
  bool close();  // true when the root is complete

 private:
  nlohmann::json* place(nlohmann::json value);

  nlohmann::json* root_;
  std::vector<nlohmann::json*> stack_;
  std::string key_;
};

#if BLUEJEANS_AUTH_DEFINITIONS

BLUEJEANS_AUTH_INLINE void JsonBuilder::value(nlohmann::json scalar) { place(std::move(scalar)); }

BLUEJEANS_AUTH_INLINE void JsonBuilder::open(bool object) {
  stack_.push_back(place(object ? nlohmann::json::object() : nlohmann::json::array()));
}

BLUEJEANS_AUTH_INLINE bool JsonBuilder::close() {
  stack_.pop_back();
  return stack_.empty();
}

BLUEJEANS_AUTH_INLINE nlohmann::json* JsonBuilder::place(nlohmann::json value) {
  if (stack_.empty()) {
    *root_ = std::move(value);
    return root_;
  }
  nlohmann::json& parent = *stack_.back();
  if (parent.is_array()) {
    parent.push_back(std::move(value));
    return &parent.back();
  }
  return &(parent[key_] = std::move(value));
}

#endif  // BLUEJEANS_AUTH_DEFINITIONS

// The SAX handler: one frame per open object or array.
class ModelDecoder {
 public:
  template <class M>
  explicit ModelDecoder(M& model) : root_ops_(&model_ops<M>()), root_(&model) {}

  std::optional<DecodeFailure> failure;

  bool null() { return on_value(JsonValue{}); }
  bool boolean(bool b) {
    JsonValue value;
    value.event = JsonEvent::boolean;
    value.boolean = b;
    return on_value(value);
  }
  bool number_integer(std::int64_t n) {
    JsonValue value;
    value.event = JsonEvent::integer;
    value.integer = n;
    return on_value(value);
  }
  bool number_unsigned(std::uint64_t n) {
    JsonValue value;
    value.event = JsonEvent::unsigned_integer;
    value.unsigned_integer = n;
    return on_value(value);
  }
  bool number_float(double n, const std::string&);
  bool string(std::string& s) {
    JsonValue value;
    value.event = JsonEvent::string;
    value.string = &s;
    return on_value(value);
  }
  bool binary(nlohmann::json::binary_t&) { return fail("binary values are not JSON"); }
  bool start_object(std::size_t) { return open(JsonEvent::object); }
  bool start_array(std::size_t) { return open(JsonEvent::array); }
  bool key(std::string& name) {
    Frame& frame = frames_.back();
    if (frame.kind == Frame::dom) {
      frame.builder->key(name);
    } else if (frame.kind == Frame::model) {
      frame.field = frame.ops->find(name);
    }
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    if (!failure) {
      failure = DecodeFailure{"", "reply is not JSON"};
    }
    return false;
  }

 private:
  struct Frame {
    enum Kind { model, object_array, dom, skip };

    explicit Frame(Kind frame_kind = skip, const ModelOps* model_ops = nullptr,
                   void* frame_target = nullptr)
        : kind(frame_kind), ops(model_ops), target(frame_target) {}

    Kind kind;
    const ModelOps* ops;
    void* target;
    int field = -1;           // model: the field the next value belongs to; -1 for unknown
    std::uint32_t seen = 0;   // model: the fields that had a value
    std::size_t index = 0;    // object_array: the element being read
    std::size_t depth = 0;    // dom and skip: containers open inside this frame
    std::unique_ptr<JsonBuilder> builder;  // dom
  };

  JsonBuilder* building() {
    return !frames_.empty() && frames_.back().kind == Frame::dom ? frames_.back().builder.get()
                                                                  : nullptr;
  }

  bool on_value(JsonValue value);
  bool store(Frame& frame, JsonValue& value);
  bool open(JsonEvent event);
  bool open_element(Frame& array, JsonEvent event);
  bool close();
  bool push(Frame frame);

  // Records the failure with the path of the frames that lead to it; returns false so that
  // the parser stops.
  bool fail(std::string message);

  static nlohmann::json scalar_of(const JsonValue& value);

  const ModelOps* root_ops_;
  void* root_;
  std::vector<Frame> frames_;
  std::size_t depth_ = 0;  // containers open in the whole document
};

#if BLUEJEANS_AUTH_DEFINITIONS

BLUEJEANS_AUTH_INLINE bool ModelDecoder::number_float(double n, const std::string&) {
  if (auto* builder = building()) {
    builder->value(n);
    return true;
  }
  JsonValue value;
  value.event = JsonEvent::floating;
  return on_value(value);
}

BLUEJEANS_AUTH_INLINE bool ModelDecoder::on_value(JsonValue value) {
  if (auto* builder = building()) {
    builder->value(scalar_of(value));
    return true;
  }
  if (frames_.empty()) {
    return fail(std::string("expected object, got ") + json_type_name(value.event));
  }
  Frame& frame = frames_.back();
  if (frame.kind == Frame::object_array) {
    return fail(std::string("expected object, got ") + json_type_name(value.event));
  }
  if (frame.kind == Frame::skip || frame.field < 0) {
    return true;  // an unknown key's value, or inside one
  }
  return store(frame, value);
}

BLUEJEANS_AUTH_INLINE bool ModelDecoder::store(Frame& frame, JsonValue& value) {
  const Stored stored = frame.ops->store(frame.target, frame.field, value);
  if (value.event != JsonEvent::null) {
    frame.seen |= 1u << frame.field;
  }
  switch (stored.kind) {
    case Stored::done:
      return true;
    case Stored::mismatch:
      return fail(std::string("expected ") + stored.expected + ", got " +
                  json_type_name(value.event));
    case Stored::out_of_range:
      return fail("integer out of range");
    case Stored::open_model:
      return push(Frame(Frame::model, stored.ops, stored.target));
    case Stored::open_object_array:
      return push(Frame(Frame::object_array, nullptr, stored.target));
  }
  return true;
}

BLUEJEANS_AUTH_INLINE bool ModelDecoder::open(JsonEvent event) {
  if (++depth_ > max_json_depth) {
    return fail("reply nests deeper than " + std::to_string(max_json_depth) + " levels");
  }
  if (frames_.empty()) {
    if (event != JsonEvent::object) {
      return fail("expected object, got array");
    }
    return push(Frame(Frame::model, root_ops_, root_));
  }

  Frame& frame = frames_.back();
  switch (frame.kind) {
    case Frame::dom:
      frame.builder->open(event == JsonEvent::object);
      ++frame.depth;
      return true;
    case Frame::skip:
      ++frame.depth;
      return true;
    case Frame::object_array:
      return open_element(frame, event);
    case Frame::model:
      break;
  }
  if (frame.field < 0) {
    Frame skip;
    skip.depth = 1;
    return push(std::move(skip));  // the value of an unknown key
  }
  JsonValue value;
  value.event = event;
  return store(frame, value);
}

BLUEJEANS_AUTH_INLINE bool ModelDecoder::open_element(Frame& array, JsonEvent event) {
  if (event != JsonEvent::object) {
    return fail("expected object, got array");
  }
  auto& elements = *static_cast<std::vector<nlohmann::json>*>(array.target);
  Frame element(Frame::dom);
  element.builder = std::make_unique<JsonBuilder>(elements.emplace_back());
  element.builder->open(true);
  element.depth = 1;
  return push(std::move(element));
}

BLUEJEANS_AUTH_INLINE bool ModelDecoder::close() {
  --depth_;
  Frame& frame = frames_.back();
  if (frame.kind == Frame::dom) {
    frame.builder->close();
  }
  if ((frame.kind == Frame::dom || frame.kind == Frame::skip) && --frame.depth > 0) {
    return true;
  }
  if (frame.kind == Frame::model) {
    const int missing = frame.ops->finish(frame.target, frame.seen);
    if (missing >= 0) {
      frame.field = missing;
      return fail("required field is missing");
    }
  }

  const bool element = frame.kind == Frame::dom;
  frames_.pop_back();
  if (element) {
    ++frames_.back().index;
  }
  return true;
}

BLUEJEANS_AUTH_INLINE bool ModelDecoder::push(Frame frame) {
  frames_.push_back(std::move(frame));
  return true;
}

// Records the failure with the path of the frames that lead to it; returns false so that
// the parser stops.
BLUEJEANS_AUTH_INLINE bool ModelDecoder::fail(std::string message) {
  std::string path;
  for (const Frame& frame : frames_) {
    if (frame.kind == Frame::model && frame.field >= 0) {
      path += (path.empty() ? "" : ".") + std::string(frame.ops->key(frame.field));
    } else if (frame.kind == Frame::object_array) {
      path += "[" + std::to_string(frame.index) + "]";
    }
  }
  failure = DecodeFailure{std::move(path), std::move(message)};
  return false;
}

BLUEJEANS_AUTH_INLINE nlohmann::json ModelDecoder::scalar_of(const JsonValue& value) {
  switch (value.event) {
    case JsonEvent::boolean:
      return value.boolean;
    case JsonEvent::integer:
      return value.integer;
    case JsonEvent::unsigned_integer:
      return value.unsigned_integer;
    case JsonEvent::string:
      return std::move(*value.string);
    default:
      return nullptr;
  }
}

#endif  // BLUEJEANS_AUTH_DEFINITIONS

// Feeds a document to the decoder as the parser would; stops as soon as the decoder does,
// so its depth bound also bounds this recursion. A template only so that programs that never
// call from_json do not compile it.
template <class Json>
bool walk_json(const Json& json, ModelDecoder& decoder) {
  switch (json.type()) {
    case Json::value_t::object: {
      if (!decoder.start_object(json.size())) {
        return false;
      }
      for (const auto& [name, value] : json.items()) {
        std::string key = name;
        if (!decoder.key(key) || !walk_json(value, decoder)) {
          return false;
        }
      }
      return decoder.end_object();
    }
    case Json::value_t::array: {
      if (!decoder.start_array(json.size())) {
        return false;
      }
      for (const auto& value : json) {
        if (!walk_json(value, decoder)) {
          return false;
        }
      }
      return decoder.end_array();
    }
    case Json::value_t::string: {
      std::string copy = json.template get_ref<const std::string&>();
      return decoder.string(copy);
    }
    case Json::value_t::boolean:
      return decoder.boolean(json.template get<bool>());
    case Json::value_t::number_integer:
      return decoder.number_integer(json.template get<std::int64_t>());
    case Json::value_t::number_unsigned:
      return decoder.number_unsigned(json.template get<std::uint64_t>());
    case Json::value_t::number_float:
      return decoder.number_float(json.template get<double>(), "");
    case Json::value_t::binary: {
      typename Json::binary_t copy = json.get_binary();
      return decoder.binary(copy);
    }
    default:
      return decoder.null();
  }
}

template <class M>
std::optional<DecodeFailure> decode_model(const nlohmann::json& json, M& model) {
  ModelDecoder decoder(model);
  walk_json(json, decoder);
  return std::move(decoder.failure);
}

// Decodes JSON text straight into a model, without building a document.
template <class M>
std::optional<DecodeFailure> decode_text(std::string_view text, M& model) {
  if (text.empty()) {
    return DecodeFailure{"", "reply body is empty"};
  }
  ModelDecoder decoder(model);

  // nlohmann::json::sax_parse picks the input format at run time, so it compiles the readers
  // of every binary format too; calling the JSON parser directly halves the object code.
  using Input = nlohmann::detail::iterator_input_adapter<const char*>;
  nlohmann::detail::parser<nlohmann::json, Input> parser(Input(text.data(),
                                                               text.data() + text.size()));
  parser.sax_parse(&decoder, true);
  return std::move(decoder.failure);
}

void print_value(std::ostream& out, const std::string& value, Secrecy secrecy);
void print_value(std::ostream& out, std::int64_t value, Secrecy secrecy);
void print_value(std::ostream& out, bool value, Secrecy secrecy);

#if BLUEJEANS_AUTH_DEFINITIONS

BLUEJEANS_AUTH_INLINE void throw_decode_error(const DecodeFailure& failure) {
  ApiError error;
  error.kind = ErrorKind::decode;
  error.message = failure.text();
  throw DecodeError(std::move(error));
}

// ---- printing

BLUEJEANS_AUTH_INLINE void print_string(std::ostream& out, const std::string& value,
                                        Secrecy secrecy) {
  switch (secrecy) {
    case Secrecy::none: {
      std::string quoted(json_string_bound(value), '\0');
      quoted.resize(static_cast<std::size_t>(write_json_string(quoted.data(), value) -
                                             quoted.data()));
      out << quoted;
      return;
    }
    case Secrecy::token:
      out << redact_token(value);
      return;
    case Secrecy::credential:
      out << "<secret, " << value.size() << " characters>";
      return;
  }
}

BLUEJEANS_AUTH_INLINE void print_value(std::ostream& out, const std::string& value,
                                       Secrecy secrecy) {
  print_string(out, value, secrecy);
}

BLUEJEANS_AUTH_INLINE void print_value(std::ostream& out, std::int64_t value, Secrecy) {
  out << value;
}

BLUEJEANS_AUTH_INLINE void print_value(std::ostream& out, bool value, Secrecy) {
  out << (value ? "true" : "false");
}

#endif  // BLUEJEANS_AUTH_DEFINITIONS

// A template only so that programs that never print a meeting scope do not compile dump().
template <class Json>
void print_value(std::ostream& out, const std::vector<Json>& value, Secrecy) {
  out << Json(value).dump(-1, ' ', false, Json::error_handler_t::replace);
}

template <class M, enable_if_model<M> = 0>
void print_value(std::ostream& out, const M& value, Secrecy) {
  print_model(out, value);
}

template <class T>
bool print_field(std::ostream& out, bool first, const char* key, const T& value,
                 Secrecy secrecy) {
  out << (first ? "" : ", ") << key << ": ";
  print_value(out, value, secrecy);
  return false;
}

template <class T>
bool print_field(std::ostream& out, bool first, const char* key, const std::optional<T>& value,
                 Secrecy secrecy) {
  return value ? print_field(out, first, key, *value, secrecy) : first;
}

template <class M>
void print_model(std::ostream& out, const M& model) {
  const auto info = describe(Tag<M>{});
  out << info.name << '{';
  bool first = true;
  std::apply(
      [&](const auto&... fields) {
        ((first = print_field(out, first, fields.key, model.*(fields.member), fields.secrecy)),
         ...);
      },
      info.fields);
  out << '}';
}

// ---- requests

template <class M>
std::optional<std::string> check_request_fields(const M& request) {
  std::optional<std::string> problem;
  const auto check = [&](const auto& field) {
    const std::string& value = request.*(field.member);
    if (value.empty()) {
      problem = std::string(field.key) + " is empty";
    } else if (!is_valid_utf8(value)) {
      problem = std::string(field.key) + " is not valid UTF-8";
    }
    return !problem;
  };
  std::apply([&](const auto&... fields) { (check(fields) && ...); },
             describe(Tag<M>{}).fields);
  return problem;
}

template <class M>
std::vector<std::string_view> secrets_of(const M& request) {
  std::vector<std::string_view> secrets;
  const auto collect = [&](const auto& field) {
    if (field.secrecy != Secrecy::none) {
      secrets.emplace_back(request.*(field.member));
    }
  };
  std::apply([&](const auto&... fields) { (collect(fields), ...); },
             describe(Tag<M>{}).fields);
  return secrets;
}

#if BLUEJEANS_AUTH_DEFINITIONS

// ---- replies

BLUEJEANS_AUTH_INLINE ApiError request_error(const Operation& op, std::string cause) {
  ApiError error;
  error.kind = ErrorKind::request;
  error.operation = op.name;
  error.message = std::string(op.name) + ": refused to send: " + cause;
  return error;
}

BLUEJEANS_AUTH_INLINE const char* describe_failure(TransportFailureKind kind) {
  switch (kind) {
    case TransportFailureKind::connect:
      return "could not connect";
    case TransportFailureKind::timeout:
      return "timed out";
    case TransportFailureKind::tls:
      return "TLS failure";
    case TransportFailureKind::read:
      return "failed reading the reply";
    case TransportFailureKind::write:
      return "failed sending the request";
    case TransportFailureKind::too_large:
      return "reply too large";
    case TransportFailureKind::other:
      break;
  }
  return "transport failure";
}

BLUEJEANS_AUTH_INLINE ApiError transport_error(const Operation& op, TransportFailure failure,
                                               const std::vector<std::string_view>& secrets) {
  ApiError error;
  error.kind = ErrorKind::transport;
  error.operation = op.name;
  error.message = std::string(op.name) + ": " + describe_failure(failure.kind);
  if (!failure.message.empty()) {
    // A backend may quote the request it failed to send, credentials and all.
    error.message += ": " + printable(scrub(std::move(failure.message), secrets), 300);
  }
  error.transport_failure = failure.kind;
  return error;
}

BLUEJEANS_AUTH_INLINE ApiError status_error(const Operation& op, HttpResponse response,
                                            const std::vector<std::string_view>& secrets) {
  ApiError error;
  error.kind = ErrorKind::http_status;
  error.operation = op.name;
  error.message = std::string(op.name) + ": server answered " + std::to_string(response.status);

  Error body;
  if (!decode_text(response.body, body) && body.message && !body.message->empty()) {
    // Scrub before shortening, so that a secret cut in two by the bound is still found.
    error.message += ": " + printable(scrub(*body.message, secrets), 300);
    error.server_error = std::move(body);
  }
  if (!error.server_error && !response.reason.empty()) {
    error.message += " " + printable(scrub(response.reason, secrets), 100);
  }

  error.status = response.status;
  error.reason = std::move(response.reason);
  error.body = std::move(response.body);
  error.headers = std::move(response.headers);
  return error;
}

BLUEJEANS_AUTH_INLINE ApiError decode_error(const Operation& op, const std::string& cause,
                                            HttpResponse response) {
  ApiError error;
  error.kind = ErrorKind::decode;
  error.operation = op.name;
  error.message = std::string(op.name) + ": undecodable reply: " + cause;
  error.status = response.status;
  error.reason = std::move(response.reason);
  error.body = std::move(response.body);
  error.headers = std::move(response.headers);
  return error;
}

#endif  // BLUEJEANS_AUTH_DEFINITIONS

template <class Reply>
Result<ApiResponse<Reply>> decode_reply(const Operation& op, HttpResponse response) {
  ApiResponse<Reply> reply;
  if (auto failure = decode_text(response.body, reply.data)) {
    return decode_error(op, failure->text(), std::move(response));
  }
  reply.status = response.status;
  reply.headers = std::move(response.headers);
  return Result<ApiResponse<Reply>>(std::move(reply));
}

#if BLUEJEANS_AUTH_DEFINITIONS

// ---- text helpers

BLUEJEANS_AUTH_INLINE bool is_success(int status) { return status >= 200 && status < 300; }

BLUEJEANS_AUTH_INLINE std::string Endpoint::authority() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

BLUEJEANS_AUTH_INLINE std::optional<Endpoint> parse_endpoint(std::string_view url) {
  Endpoint endpoint;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return std::nullopt;
  }
  endpoint.scheme = std::string(url.substr(0, scheme_end));
  std::transform(endpoint.scheme.begin(), endpoint.scheme.end(), endpoint.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (endpoint.scheme != "http" && endpoint.scheme != "https") {
    return std::nullopt;
  }
  url.remove_prefix(scheme_end + 3);

  const auto path_start = url.find('/');
  std::string_view authority = url.substr(0, path_start);
  if (path_start != std::string_view::npos) {
    std::string_view path = url.substr(path_start);
    while (!path.empty() && path.back() == '/') {
      path.remove_suffix(1);
    }
    endpoint.base_path = std::string(path);
  }
  if (authority.empty() || authority.find('@') != std::string_view::npos ||
      has_header_breaking_char(url) || url.find_first_of(" ?#") != std::string_view::npos) {
    return std::nullopt;
  }

  std::string_view port_text;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    endpoint.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      return std::nullopt;
    }
    port_text = authority.empty() ? "" : authority.substr(1);
  } else {
    const auto colon = authority.find(':');
    endpoint.host = std::string(authority.substr(0, colon));
    port_text = colon == std::string_view::npos ? "" : authority.substr(colon + 1);
  }
  if (endpoint.host.empty()) {
    return std::nullopt;
  }

  endpoint.port = endpoint.scheme == "https" ? 443 : 80;
  if (!port_text.empty()) {
    if (port_text.size() > 5 ||
        !std::all_of(port_text.begin(), port_text.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    endpoint.port = std::stoi(std::string(port_text));
    if (endpoint.port < 1 || endpoint.port > 65535) {
      return std::nullopt;
    }
  }
  return endpoint;
}

// A Content-Length value; nullopt when absent or not a plain decimal number.
BLUEJEANS_AUTH_INLINE std::optional<std::uint64_t> parse_length(std::string_view text) {
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (const char c : text) {
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

BLUEJEANS_AUTH_INLINE bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1") {
    return true;
  }
  // 127.0.0.0/8, written as a dotted quad.
  if (host.substr(0, 4) != "127.") {
    return false;
  }
  int dots = 0;
  for (const char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

BLUEJEANS_AUTH_INLINE bool has_header_breaking_char(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

BLUEJEANS_AUTH_INLINE bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (byte < 0x80) {
      ++i;
      continue;
    } else if ((byte & 0xE0) == 0xC0) {
      length = 2;
      code = byte & 0x1F;
    } else if ((byte & 0xF0) == 0xE0) {
      length = 3;
      code = byte & 0x0F;
    } else if ((byte & 0xF8) == 0xF0) {
      length = 4;
      code = byte & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) {
      return false;
    }
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) {
        return false;
      }
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

BLUEJEANS_AUTH_INLINE std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string encoded;
  encoded.reserve(text.size() * 3);
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
                            (byte >= '0' && byte <= '9') || byte == '-' || byte == '.' ||
                            byte == '_' || byte == '~';
    if (unreserved) {
      encoded += c;
    } else {
      encoded += '%';
      encoded += hex[byte >> 4];
      encoded += hex[byte & 0x0F];
    }
  }
  return encoded;
}

// "/oauth2/token?Client&access_token=abc" -> "/oauth2/token?Client&access_token=<redacted>"
BLUEJEANS_AUTH_INLINE std::string redact_query(std::string_view target) {
  const auto query = target.find('?');
  if (query == std::string_view::npos) {
    return std::string(target);
  }
  std::string redacted(target.substr(0, query + 1));
  std::string_view rest = target.substr(query + 1);
  while (true) {
    const auto amp = rest.find('&');
    const std::string_view param = rest.substr(0, amp);
    const auto eq = param.find('=');
    redacted += eq == std::string_view::npos ? std::string(param)
                                             : std::string(param.substr(0, eq)) + "=<redacted>";
    if (amp == std::string_view::npos) {
      break;
    }
    redacted += '&';
    rest.remove_prefix(amp + 1);
  }
  return redacted;
}

// A token shown for people: its first four characters if it is long enough that they give
// little away, and always its length.
BLUEJEANS_AUTH_INLINE std::string redact_token(std::string_view token) {
  const std::string length = "(" + std::to_string(token.size()) + " characters)";
  if (token.size() < 16) {
    return "<secret, " + std::to_string(token.size()) + " characters>";
  }
  return "\"" + printable(token.substr(0, 4), 4) + "...\" " + length;
}

// `text` as it stands between the quotes of a JSON string.
BLUEJEANS_AUTH_INLINE std::string json_escaped(std::string_view text) {
  std::string quoted(json_string_bound(text), '\0');
  const char* end = write_json_string(quoted.data(), text);
  return quoted.substr(1, static_cast<std::size_t>(end - quoted.data()) - 2);
}

// The ways a server that echoes a request may write a secret: as given, percent-encoded as in
// a query ('+' as itself) or a form ('+' for a space), or escaped as in a JSON string. Its
// encoder may use hex digits of either case and leave alone what it need not escape.
enum class Spelling { raw, query, form, json };

// One byte of a text, and how many characters of it write that byte.
struct SpelledByte {
  char byte;
  std::size_t length;
};

// The value of the `count` hex digits of either case at `at`, or -1 if they are not there.
BLUEJEANS_AUTH_INLINE long hex_value(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) {
    return -1;
  }
  long value = 0;
  for (const char c : text.substr(at, count)) {
    const unsigned char lower = ascii_lower(c);
    const bool digit = lower >= '0' && lower <= '9';
    if (!digit && (lower < 'a' || lower > 'f')) {
      return -1;
    }
    value = value * 16 + (digit ? lower - '0' : lower - 'a' + 10);
  }
  return value;
}

// The byte that the characters at `at` (before the end of `text`) write in `spelling`. A
// character that starts no escape of the spelling stands for itself.
BLUEJEANS_AUTH_INLINE SpelledByte read_spelled(std::string_view text, std::size_t at,
                                               Spelling spelling) {
  const char c = text[at];
  const bool url = spelling == Spelling::query || spelling == Spelling::form;
  if (url && c == '%') {
    if (const long value = hex_value(text, at + 1, 2); value >= 0) {
      return {static_cast<char>(value), 3};
    }
  }
  if (spelling == Spelling::form && c == '+') {
    return {' ', 1};
  }
  if (spelling == Spelling::json && c == '\\' && at + 1 < text.size()) {
    const char next = text[at + 1];
    // Past ASCII a "\u" escape names a code point, not a byte of UTF-8: it stands for itself.
    const long value = next == 'u' ? hex_value(text, at + 2, 4) : -1;
    if (value >= 0 && value < 0x80) {
      return {static_cast<char>(value), 6};
    }
    static constexpr std::string_view escapes = "\"\\/bfnrt";
    static constexpr std::string_view meanings = "\"\\/\b\f\n\r\t";
    if (const auto which = escapes.find(next); which != std::string_view::npos) {
      return {meanings[which], 2};
    }
  }
  return {c, 1};
}

// A text read in one spelling, and where each byte read starts in it (and, last, its end).
struct ReadText {
  std::string bytes;
  std::vector<std::size_t> from;
};

// Each spelling reads a text one way only, in one pass.
BLUEJEANS_AUTH_INLINE ReadText read_text(std::string_view text, Spelling spelling) {
  ReadText read;
  read.bytes.reserve(text.size());
  read.from.reserve(text.size() + 1);
  for (std::size_t at = 0; at < text.size();) {
    const SpelledByte spelled = read_spelled(text, at, spelling);
    read.bytes += spelled.byte;
    read.from.push_back(at);
    at += spelled.length;
  }
  read.from.push_back(text.size());
  return read;
}

// Records, at each place in the text where `needle` is read, the furthest end of a secret
// found starting there.
BLUEJEANS_AUTH_INLINE void mark_found(const ReadText& read, std::string_view needle,
                                      std::vector<std::size_t>& ends) {
  for (auto at = read.bytes.find(needle); at != std::string::npos;
       at = read.bytes.find(needle, at + 1)) {
    std::size_t& end = ends[read.from[at]];
    end = std::max(end, read.from[at + needle.size()]);
  }
}

BLUEJEANS_AUTH_INLINE std::string scrub(std::string text,
                                        const std::vector<std::string_view>& secrets) {
  // A server or backend that echoes the request quotes a secret as it travelled, raw in a
  // header, percent-encoded in the query, escaped in the JSON body, or as its own encoder
  // would write it. The text is read in each spelling and searched for every secret; the
  // forms this client writes are also searched in the raw text, so that an escape just
  // before one, which takes its first characters in a reading, cannot hide it.
  std::vector<std::size_t> ends(text.size(), 0);  // per place: where a secret from it ends
  for (const auto spelling : {Spelling::raw, Spelling::query, Spelling::form, Spelling::json}) {
    const ReadText read = read_text(text, spelling);
    for (const auto secret : secrets) {
      if (secret.size() < 4) {
        continue;  // too short to find without mangling ordinary words
      }
      mark_found(read, secret, ends);
      if (spelling == Spelling::raw) {
        mark_found(read, url_encode(secret), ends);
        mark_found(read, json_escaped(secret), ends);
      }
    }
  }

  // Secrets that overlap become one mark; a mark goes to the result, never searched again.
  std::string scrubbed;
  scrubbed.reserve(text.size());
  std::size_t covered = 0;  // the end of the secrets met so far
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (ends[at] > at && at >= covered) {
      scrubbed += "<redacted>";
    }
    covered = std::max(covered, ends[at]);
    if (at >= covered) {
      scrubbed += text[at];
    }
  }
  return scrubbed;
}

// A URL fit to quote in a message: what comes before its last '@' (after the scheme) becomes
// "<redacted>". A URL that is refused may be malformed in any way, so nothing but the '@'
// reliably marks where a password ends.
BLUEJEANS_AUTH_INLINE std::string redact_userinfo(std::string_view url) {
  const auto at = url.rfind('@');
  if (at == std::string_view::npos) {
    return std::string(url);
  }
  // Only a real scheme is kept: in "user:p://w@host" the "://" is part of the password.
  const auto scheme_end = url.substr(0, at).find("://");
  const std::string_view scheme = url.substr(0, scheme_end);
  const bool has_scheme =
      scheme_end != std::string_view::npos && !scheme.empty() &&
      std::all_of(scheme.begin(), scheme.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
      });
  const std::size_t start = has_scheme ? scheme_end + 3 : 0;
  return std::string(url.substr(0, start)) + "<redacted>" + std::string(url.substr(at));
}

// Server-supplied text made safe for a one-line message: control characters become '?'
// and the length is bounded.
BLUEJEANS_AUTH_INLINE std::string printable(std::string_view text, std::size_t max_length) {
  std::string out;
  const std::size_t length = std::min(text.size(), max_length);
  out.reserve(length + 3);
  for (std::size_t i = 0; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    out += byte < 0x20 || byte == 0x7F ? '?' : text[i];
  }
  if (text.size() > max_length) {
    out += "...";
  }
  return out;
}

// The failures every backend reports in the same words.
BLUEJEANS_AUTH_INLINE TransportFailure too_large_failure(std::size_t limit,
                                                         const std::string& authority) {
  return {TransportFailureKind::too_large,
          "more than " + std::to_string(limit) + " bytes from " + authority};
}

BLUEJEANS_AUTH_INLINE TransportFailure deadline_failure(std::chrono::milliseconds deadline,
                                                        const std::string& authority) {
  return {TransportFailureKind::timeout,
          "no complete reply from " + authority + " within " + std::to_string(deadline.count()) +
              " ms (connect, write and read timeouts together)"};
}

// Why a configuration cannot make a working client of any backend; empty when it can.
BLUEJEANS_AUTH_INLINE std::string backend_problem(const Configuration& config) {
  if (!parse_endpoint(config.host)) {
    return "host \"" + printable(redact_userinfo(config.host), 200) +
           "\" is not an http:// or https:// URL";
  }
  if (!config.proxy.empty() && !parse_endpoint(config.proxy)) {
    return "proxy \"" + printable(redact_userinfo(config.proxy), 200) + "\" is not an http:// URL";
  }
  if (config.cert_file.empty() != config.key_file.empty()) {
    return "cert_file and key_file must be set together";
  }
  return "";
}

#endif  // BLUEJEANS_AUTH_DEFINITIONS

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// The default backend's implementation
// ---------------------------------------------------------------------------------------------

#ifndef BLUEJEANS_AUTH_NO_HTTPLIB

#if BLUEJEANS_AUTH_DEFINITIONS

namespace detail {

BLUEJEANS_AUTH_INLINE TransportFailureKind failure_kind(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::BindIPAddress:
      return TransportFailureKind::connect;
    case httplib::Error::ConnectionTimeout:
      return TransportFailureKind::timeout;
    case httplib::Error::Read:
      return TransportFailureKind::read;
    case httplib::Error::Write:
      return TransportFailureKind::write;
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      return TransportFailureKind::tls;
    default:
      return TransportFailureKind::other;
  }
}

BLUEJEANS_AUTH_INLINE std::unique_ptr<httplib::Client> make_httplib_client(
    const Configuration& config, const Endpoint& endpoint) {
  const std::string origin = endpoint.scheme + "://" + endpoint.authority();
  auto client = config.cert_file.empty()
                    ? std::make_unique<httplib::Client>(origin)
                    : std::make_unique<httplib::Client>(origin, config.cert_file,
                                                        config.key_file);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  client->set_follow_location(false);
  client->set_connection_timeout(config.connect_timeout);
  client->set_read_timeout(config.read_timeout);
  client->set_write_timeout(config.write_timeout);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  client->enable_server_certificate_verification(config.verify_ssl);
  if (!config.ssl_ca_cert.empty()) {
    client->set_ca_cert_path(config.ssl_ca_cert);
  }
#endif
  if (auto proxy = parse_endpoint(config.proxy)) {
    client->set_proxy(proxy->host, proxy->port);
  }
  return client;
}

// Stops a request that outlasts its deadline. cpp-httplib bounds each wait on the socket, not
// the whole exchange, so a server that trickles bytes could otherwise hold a call for ever.
// One thread per connection, started with its first request, sleeps until the deadline of the
// request in flight. Deadlines only move later, so arming a request wakes the thread only
// when it sleeps with no deadline at all: a call costs two mutex round trips, not a thread.
class Watchdog {
 public:
  explicit Watchdog(httplib::Client& client) : client_(&client) {}

  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  ~Watchdog() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  // Watches the next request; the caller sends one request at a time.
  void arm(std::chrono::milliseconds limit) {
    const std::lock_guard<std::mutex> lock(mutex_);
    deadline_ = std::chrono::steady_clock::now() + limit;
    armed_ = true;
    fired_ = false;
    if (!thread_.joinable()) {
      thread_ = std::thread([this] { watch(); });
    } else if (idle_) {
      wake_.notify_one();
    }
  }

  // Ends the watch; true when the deadline passed first and the request was stopped.
  bool disarm() {
    const std::lock_guard<std::mutex> lock(mutex_);
    armed_ = false;
    return fired_;
  }

 private:
  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      if (!armed_) {
        idle_ = true;
        wake_.wait(lock);
        idle_ = false;
      } else if (std::chrono::steady_clock::now() >= deadline_) {
        fired_ = true;
        armed_ = false;
        client_->stop();  // shuts the socket down, so the blocked read returns at once
      } else {
        wake_.wait_until(lock, deadline_);
      }
    }
  }

  httplib::Client* client_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::chrono::steady_clock::time_point deadline_;
  bool armed_ = false;
  bool fired_ = false;
  bool idle_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

// One keep-alive connection and the watchdog that bounds each request on it.
struct Connection {
  explicit Connection(std::unique_ptr<httplib::Client> made)
      : client(std::move(made)), watchdog(*client) {}

  std::unique_ptr<httplib::Client> client;
  Watchdog watchdog;  // after client, which it stops
};

// The connections of one backend. A call takes the connection returned last (the warmest),
// opens a new one while fewer than the limit are open, or else waits for one to come back.
class ConnectionPool {
 public:
  ConnectionPool(const Configuration& config, Endpoint endpoint)
      : config_(config), endpoint_(std::move(endpoint)),
        limit_(std::max<std::size_t>(config.max_connections, 1)) {}

  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  std::unique_ptr<Connection> acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    returned_.wait(lock, [this] { return !idle_.empty() || open_ < limit_; });
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }

    ++open_;
    lock.unlock();
    try {
      return std::make_unique<Connection>(make_httplib_client(config_, endpoint_));
    } catch (...) {
      forget();
      throw;
    }
  }

  void release(std::unique_ptr<Connection> connection) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      idle_.push_back(std::move(connection));
    }
    returned_.notify_one();
  }

 private:
  // A connection that could not be made leaves its place to the next caller.
  void forget() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      --open_;
    }
    returned_.notify_one();
  }

  const Configuration config_;
  const Endpoint endpoint_;
  const std::size_t limit_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;
};

// Hands a connection back to its pool however the call ends.
class Lease {
 public:
  explicit Lease(ConnectionPool& pool) : pool_(&pool), connection_(pool.acquire()) {}
  ~Lease() { pool_->release(std::move(connection_)); }

  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  Connection& operator*() const { return *connection_; }
  Connection* operator->() const { return connection_.get(); }

 private:
  ConnectionPool* pool_;
  std::unique_ptr<Connection> connection_;
};

// The first reason in this thread's OpenSSL error queue, which names the cause of a failed
// handshake; empty when none.
BLUEJEANS_AUTH_INLINE std::string last_tls_reason() {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  const unsigned long code = ERR_peek_error();
  ERR_clear_error();
  if (const char* reason = code ? ERR_reason_error_string(code) : nullptr) {
    return reason;
  }
#endif
  return "";
}

BLUEJEANS_AUTH_INLINE void clear_tls_errors() {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  ERR_clear_error();
#endif
}

}  // namespace detail

BLUEJEANS_AUTH_INLINE HttplibBackend::HttplibBackend(const Configuration& config)
    : problem_(detail::backend_problem(config)),
      ca_cert_(config.ssl_ca_cert),
      max_response_bytes_(config.max_response_bytes),
      deadline_(config.connect_timeout + config.write_timeout + config.read_timeout) {
  if (!problem_.empty()) {
    return;
  }
  const auto endpoint = detail::parse_endpoint(config.host);
  authority_ = endpoint->authority();
  tls_ = endpoint->scheme == "https";
  pool_ = std::make_unique<detail::ConnectionPool>(config, *endpoint);

  // The first connection shows whether the certificate and key can be loaded at all.
  const detail::Lease first(*pool_);
  if (!first->client->is_valid()) {
    problem_ = config.cert_file.empty()
                   ? "could not set up a client for " + authority_
                   : "could not load the client certificate " +
                         detail::printable(config.cert_file, 200) + " or its key " +
                         detail::printable(config.key_file, 200);
  }
}

BLUEJEANS_AUTH_INLINE HttplibBackend::HttplibBackend(HttplibBackend&&) noexcept = default;
BLUEJEANS_AUTH_INLINE HttplibBackend& HttplibBackend::operator=(HttplibBackend&&) noexcept =
    default;
BLUEJEANS_AUTH_INLINE HttplibBackend::~HttplibBackend() = default;

BLUEJEANS_AUTH_INLINE BackendResult HttplibBackend::send(const HttpRequest& request) {
  if (!problem_.empty()) {
    return TransportFailure{TransportFailureKind::other, problem_};
  }

  httplib::Request http;
  http.method = request.method;
  http.path = request.target;
  http.body = request.body;
  for (const auto& [name, value] : request.headers) {
    http.headers.emplace_hint(http.headers.end(), name, value);
  }

  // Read the body through a receiver so that an oversized reply is cut off, not buffered;
  // a Content-Length over the limit is refused before any of the body is read. The receiver
  // sees the body after decompression, so a compressed bomb is cut off too. Both callbacks
  // capture one pointer, which std::function stores without allocating.
  struct Sink {
    std::string body;
    std::size_t limit;
    bool too_large;
  } sink{{}, max_response_bytes_, false};
  Sink* const into = &sink;
  // A look at each of the few headers costs less than cpp-httplib's map lookup, which
  // lowers every character it compares through the C library.
  http.response_handler = [into](const httplib::Response& head) {
    for (const auto& [name, value] : head.headers) {
      if (detail::equals_ignoring_case(name, "Content-Length")) {
        const auto declared = detail::parse_length(value);
        into->too_large = declared && *declared > into->limit;
        break;
      }
    }
    return !into->too_large;
  };
  http.content_receiver = [into](const char* data, std::size_t size, std::uint64_t,
                                 std::uint64_t) {
    if (into->body.size() + size > into->limit) {
      into->too_large = true;
      return false;
    }
    into->body.append(data, size);
    return true;
  };

  const detail::Lease connection(*pool_);
  httplib::Client& client = *connection->client;
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  bool sent = false;
  bool timed_out = false;
  if (tls_) {
    detail::clear_tls_errors();  // so that a failure below reads only its own causes
  }
  connection->watchdog.arm(deadline_);
  sent = client.send(http, response, error) && error == httplib::Error::Success;
  timed_out = connection->watchdog.disarm();

  if (!sent) {
    if (sink.too_large) {
      return detail::too_large_failure(max_response_bytes_, authority_);
    }
    if (timed_out) {
      return detail::deadline_failure(deadline_, authority_);
    }
    return failure(client, error);
  }

  HttpResponse reply;
  reply.status = response.status;
  reply.reason = std::move(response.reason);
  reply.body = std::move(sink.body);
  // cpp-httplib keeps its headers in the same case-insensitive order, so each one goes last.
  for (auto& [name, value] : response.headers) {
    reply.headers.emplace_hint(reply.headers.end(), name, std::move(value));
  }
  return reply;
}

BLUEJEANS_AUTH_INLINE TransportFailure HttplibBackend::failure(const httplib::Client& client,
                                                               httplib::Error error) const {
  const std::string where = " (" + authority_ + ")";
  std::string what;
  switch (error) {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    case httplib::Error::SSLServerVerification: {
      const long result = client.get_openssl_verify_result();
      what = result == X509_V_OK
                 ? "the server's certificate does not match the host name"
                 : std::string("the server's certificate is not trusted: ") +
                       X509_verify_cert_error_string(result);
      break;
    }
    case httplib::Error::SSLLoadingCerts:
      what = ca_cert_.empty() ? "could not load the system's CA certificates"
                              : "could not load the CA certificates in " +
                                    detail::printable(ca_cert_, 200);
      break;
    case httplib::Error::SSLConnection: {
      const std::string reason = detail::last_tls_reason();
      what = "TLS handshake failed" + (reason.empty() ? "" : ": " + reason);
      break;
    }
#endif
    case httplib::Error::Read:
    case httplib::Error::Write: {
      // Under TLS 1.3 a server refuses a client certificate after the handshake, so the
      // refusal arrives as an alert while the request is written or the reply read.
      const std::string reason = tls_ ? detail::last_tls_reason() : "";
      if (!reason.empty()) {
        return TransportFailure{TransportFailureKind::tls,
                                "the server ended the TLS session: " + reason + where};
      }
      what = error == httplib::Error::Read
                 ? "the connection closed or failed before a complete reply arrived"
                 : "the connection closed or failed while the request was sent";
      break;
    }
    default:
      what = httplib::to_string(error);
      break;
  }
  return TransportFailure{detail::failure_kind(error), what + where};
}

#endif  // BLUEJEANS_AUTH_DEFINITIONS

// Under separate compilation the implementation file compiles the API over the default
// backend once, and every other file links to it.
#ifdef BLUEJEANS_AUTH_IMPLEMENTATION
template class AuthenticationApi<HttplibBackend>;
#elif defined(BLUEJEANS_AUTH_SEPARATE_COMPILATION)
extern template class AuthenticationApi<HttplibBackend>;
#endif

#endif  // BLUEJEANS_AUTH_NO_HTTPLIB

}  // namespace bluejeans::auth

#endif  // BLUEJEANS_AUTH_HPP
