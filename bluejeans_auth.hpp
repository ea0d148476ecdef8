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

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
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
// from_json, equality and operator<<, so a key is written down exactly once.
namespace detail {

constexpr auto describe(Tag<Partition>) {
  return model_info("Partition", field("id", &Partition::id), field("name", &Partition::name));
}

constexpr auto describe(Tag<GrantRequestClient>) {
  using M = GrantRequestClient;
  return model_info("GrantRequestClient", required_field("grant_type", &M::grant_type),
                    required_field("client_id", &M::client_id),
                    required_field("client_secret", &M::client_secret, Secrecy::credential));
}

constexpr auto describe(Tag<GrantRequestPassword>) {
  using M = GrantRequestPassword;
  return model_info("GrantRequestPassword", required_field("grant_type", &M::grant_type),
                    required_field("username", &M::username),
                    required_field("password", &M::password, Secrecy::credential));
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
[[noreturn]] inline void throw_api_error(ApiError error) {
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
  bool allow_insecure_http = false;  // send credentials over plain http to a remote host

  LogLevel log_level = LogLevel::info;  // lines below this level are not even formatted
  LogCallback log;                      // logging is off until this is set
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
std::string scrub(std::string text, const std::vector<std::string_view>& secrets);
std::string printable(std::string_view text, std::size_t max_length);
std::optional<nlohmann::json> parse_json(std::string_view body, std::string& error);
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

/// The default backend: one keep-alive cpp-httplib client with Nagle's algorithm off.
/// Calls on one backend are serialised by cpp-httplib, so sharing it between threads is safe.
class HttplibBackend {
 public:
  explicit HttplibBackend(const Configuration& config);

  /// Sends one request; a reply larger than Configuration::max_response_bytes is cut off and
  /// reported as TransportFailureKind::too_large.
  BackendResult send(const HttpRequest& request);

 private:
  std::unique_ptr<httplib::Client> client_;
  std::string authority_;
  std::size_t max_response_bytes_;
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

template <class Reply>
Result<ApiResponse<Reply>> decode_reply(const Operation& op, HttpResponse response);

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
  explicit AuthenticationApi(Configuration config = {})
      : config_(std::move(config)), endpoint_(detail::parse_endpoint(config_.host)),
        backend_(config_) {
    warn_about_configuration();
  }

  /// Uses a backend the caller made.
  AuthenticationApi(Configuration config, Backend backend)
      : config_(std::move(config)), endpoint_(detail::parse_endpoint(config_.host)),
        backend_(std::move(backend)) {
    warn_about_configuration();
  }

  AuthenticationApi(const AuthenticationApi&) = delete;
  AuthenticationApi& operator=(const AuthenticationApi&) = delete;

  const Configuration& configuration() const noexcept { return config_; }
  Backend& backend() noexcept { return backend_; }

  /// Authentication via the client grant type: an application's id and secret.
  /// @throws ApiException (RequestError, TransportError, HttpError or DecodeError)
  GrantClient get_token_by_client(const GrantRequestClient& request) {
    return try_get_token_by_client(request).value();
  }
  ApiResponse<GrantClient> get_token_by_client_with_http_info(
      const GrantRequestClient& request) {
    return grant(request).value();
  }
  Result<GrantClient> try_get_token_by_client(const GrantRequestClient& request) {
    return data_of(grant(request));
  }
  std::future<GrantClient> get_token_by_client_async(GrantRequestClient request) {
    return run_async([this, request] { return get_token_by_client(request); });
  }

  /// Authentication via the meeting grant type: a meeting's numeric id and passcode.
  /// @throws ApiException
  GrantMeeting get_token_by_meeting(const GrantRequestMeeting& request) {
    return try_get_token_by_meeting(request).value();
  }
  ApiResponse<GrantMeeting> get_token_by_meeting_with_http_info(
      const GrantRequestMeeting& request) {
    return grant(request).value();
  }
  Result<GrantMeeting> try_get_token_by_meeting(const GrantRequestMeeting& request) {
    return data_of(grant(request));
  }
  std::future<GrantMeeting> get_token_by_meeting_async(GrantRequestMeeting request) {
    return run_async([this, request] { return get_token_by_meeting(request); });
  }

  /// Authentication via the password grant type: a user's name and password.
  /// @throws ApiException
  GrantPassword get_token_by_password(const GrantRequestPassword& request) {
    return try_get_token_by_password(request).value();
  }
  ApiResponse<GrantPassword> get_token_by_password_with_http_info(
      const GrantRequestPassword& request) {
    return grant(request).value();
  }
  Result<GrantPassword> try_get_token_by_password(const GrantRequestPassword& request) {
    return data_of(grant(request));
  }
  std::future<GrantPassword> get_token_by_password_async(GrantRequestPassword request) {
    return run_async([this, request] { return get_token_by_password(request); });
  }

  /// Validates the configured token, api_key["access_token"]. @throws ApiException
  TokenInfo get_token_info() { return try_get_token_info().value(); }
  ApiResponse<TokenInfo> get_token_info_with_http_info() { return info(std::nullopt).value(); }
  Result<TokenInfo> try_get_token_info() { return data_of(info(std::nullopt)); }
  std::future<TokenInfo> get_token_info_async() {
    return run_async([this] { return get_token_info(); });
  }

  /// Validates the given token instead of the configured one. @throws ApiException
  TokenInfo get_token_info(const std::string& access_token) {
    return try_get_token_info(access_token).value();
  }
  ApiResponse<TokenInfo> get_token_info_with_http_info(const std::string& access_token) {
    return info(access_token).value();
  }
  Result<TokenInfo> try_get_token_info(const std::string& access_token) {
    return data_of(info(access_token));
  }
  std::future<TokenInfo> get_token_info_async(std::string access_token) {
    return run_async([this, access_token] { return get_token_info(access_token); });
  }

 private:
  template <class GrantRequest>
  Result<ApiResponse<typename detail::GrantTraits<GrantRequest>::Reply>> grant(
      const GrantRequest& request) {
    using Reply = typename detail::GrantTraits<GrantRequest>::Reply;
    const detail::Operation& op = detail::GrantTraits<GrantRequest>::operation;

    if (auto problem = detail::check_request_fields(request)) {
      return detail::request_error(op, *problem);
    }

    HttpRequest http;
    http.method = op.method;
    http.target = op.path;
    append_api_key(http.target, api_key());
    http.headers.emplace("Content-Type", "application/json");
    http.body = nlohmann::json(request).dump();

    auto secrets = detail::secrets_of(request);
    secrets.push_back(api_key());
    return exchange<Reply>(op, std::move(http), secrets);
  }

  Result<ApiResponse<TokenInfo>> info(const std::optional<std::string>& given_token) {
    const detail::Operation& op = detail::token_info;
    const std::string& token = given_token ? *given_token : api_key();
    if (token.empty()) {
      return detail::request_error(
          op, "no access token: pass one or set api_key[\"access_token\"]");
    }

    HttpRequest http;
    http.method = op.method;
    http.target = op.path;
    append_api_key(http.target, token);
    return exchange<TokenInfo>(op, std::move(http), {token});
  }

  // The steps every operation shares: check the destination and headers, send, and turn
  // the reply into a model or an ApiError.
  template <class Reply>
  Result<ApiResponse<Reply>> exchange(const detail::Operation& op, HttpRequest http,
                                      const std::vector<std::string_view>& secrets) {
    if (auto problem = check_destination()) {
      return detail::request_error(op, *problem);
    }

    http.target.insert(0, endpoint_->base_path);
    http.headers.emplace("Accept", "application/json");
    http.headers.emplace("User-Agent", config_.user_agent);
    for (const auto& [name, value] : config_.default_headers) {
      http.headers.emplace(name, value);
    }
    if (auto problem = check_headers(http.headers)) {
      return detail::request_error(op, *problem);
    }

    const auto started = std::chrono::steady_clock::now();
    BackendResult outcome = send_guarded(http);
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

  // A backend that throws is treated as one that reported a transport failure.
  BackendResult send_guarded(const HttpRequest& http) {
    try {
      return backend_.send(http);
    } catch (const std::exception& e) {
      return TransportFailure{TransportFailureKind::other,
                              std::string("backend threw: ") + e.what()};
    } catch (...) {
      return TransportFailure{TransportFailureKind::other, "backend threw a non-standard value"};
    }
  }

  std::optional<std::string> check_destination() const {
    if (!endpoint_) {
      return "host \"" + detail::printable(config_.host, 200) +
             "\" is not an http:// or https:// URL";
    }
    if (endpoint_->scheme == "http" && !config_.allow_insecure_http &&
        !detail::is_loopback_host(endpoint_->host)) {
      return "refusing to send credentials over plain http to " + endpoint_->host +
             "; use https, or set allow_insecure_http to accept the risk";
    }
    return std::nullopt;
  }

  static std::optional<std::string> check_headers(const Headers& headers) {
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

  const std::string& api_key() const {
    static const std::string none;
    const auto it = config_.api_key.find("access_token");
    return it == config_.api_key.end() ? none : it->second;
  }

  void append_api_key(std::string& target, const std::string& key) const {
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

  void warn_about_configuration() const {
    const detail::Logger logger(config_);
    if (!config_.verify_ssl) {
      logger.write(LogLevel::warning, [] {
        return "TLS certificate verification is off: the server's identity is not checked";
      });
    }
  }

  void log_exchange(const detail::Operation& op, const HttpRequest& http,
                    const BackendResult& outcome,
                    std::chrono::steady_clock::time_point started) const {
    detail::Logger(config_).write(LogLevel::debug, [&] {
      const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - started);
      const auto* response = std::get_if<HttpResponse>(&outcome);
      std::ostringstream line;
      line << op.name << ": " << http.method << ' ' << detail::redact_query(http.target)
           << " -> " << (response ? std::to_string(response->status) : "no reply") << " in "
           << elapsed.count() / 1000.0 << " ms";
      return line.str();
    });
  }

  ApiError logged(ApiError error) const {
    detail::Logger(config_).write(LogLevel::warning, [&] { return error.message; });
    return error;
  }

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
  Backend backend_;
};

#undef BLUEJEANS_AUTH_DEFAULT_BACKEND

// ---------------------------------------------------------------------------------------------
// 8. Implementation details. Nothing below is public API.
// ---------------------------------------------------------------------------------------------

namespace detail {

inline bool CaseInsensitiveLess::operator()(const std::string& a,
                                            const std::string& b) const noexcept {
  const auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; };
  return std::lexicographical_compare(
      a.begin(), a.end(), b.begin(), b.end(),
      [&](char x, char y) { return lower(static_cast<unsigned char>(x)) <
                                   lower(static_cast<unsigned char>(y)); });
}

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

inline DecodeFailure type_mismatch(const char* expected, const nlohmann::json& json) {
  return {"", std::string("expected ") + expected + ", got " + json.type_name()};
}

inline std::optional<DecodeFailure> decode_value(const nlohmann::json& json, std::string& out) {
  if (!json.is_string()) {
    return type_mismatch("string", json);
  }
  out = json.get_ref<const std::string&>();
  return std::nullopt;
}

inline std::optional<DecodeFailure> decode_value(const nlohmann::json& json, std::int64_t& out) {
  if (!json.is_number_integer()) {
    return type_mismatch("integer", json);
  }
  if (json.is_number_unsigned() &&
      json.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    return DecodeFailure{"", "integer out of range"};
  }
  out = json.get<std::int64_t>();
  return std::nullopt;
}

inline std::optional<DecodeFailure> decode_value(const nlohmann::json& json, bool& out) {
  if (!json.is_boolean()) {
    return type_mismatch("boolean", json);
  }
  out = json.get<bool>();
  return std::nullopt;
}

// endpointUriSet: an array of objects whose shape the API leaves open.
inline std::optional<DecodeFailure> decode_value(const nlohmann::json& json,
                                                 std::vector<nlohmann::json>& out) {
  if (!json.is_array()) {
    return type_mismatch("array", json);
  }
  for (std::size_t i = 0; i < json.size(); ++i) {
    if (!json[i].is_object()) {
      auto failure = type_mismatch("object", json[i]);
      failure.path = "[" + std::to_string(i) + "]";
      return failure;
    }
  }
  out.assign(json.begin(), json.end());
  return std::nullopt;
}

template <class M, enable_if_model<M> = 0>
std::optional<DecodeFailure> decode_value(const nlohmann::json& json, M& out) {
  return decode_model(json, out);
}

template <class T>
void reset_member(T& member) {
  member = T{};
}

template <class T>
void reset_member(std::optional<T>& member) {
  member.reset();
}

template <class T>
T& value_slot(T& member) {
  return member;
}

template <class T>
T& value_slot(std::optional<T>& member) {
  return member.emplace();
}

template <class M, class Field>
bool decode_field(const nlohmann::json& json, M& model, const Field& field,
                  std::optional<DecodeFailure>& failure) {
  auto& member = model.*(field.member);
  const auto it = json.find(field.key);
  if (it == json.end() || it->is_null()) {
    if (field.required) {
      failure = DecodeFailure{field.key, "required field is missing"};
      return false;
    }
    reset_member(member);
    return true;
  }

  failure = decode_value(*it, value_slot(member));
  if (failure) {
    const bool index = !failure->path.empty() && failure->path.front() == '[';
    failure->path = field.key + std::string(failure->path.empty() || index ? "" : ".") +
                    failure->path;
    return false;
  }
  return true;
}

template <class M>
std::optional<DecodeFailure> decode_model(const nlohmann::json& json, M& model) {
  if (!json.is_object()) {
    return type_mismatch("object", json);
  }
  std::optional<DecodeFailure> failure;
  std::apply([&](const auto&... fields) { (decode_field(json, model, fields, failure) && ...); },
             describe(Tag<M>{}).fields);
  return failure;
}

inline void throw_decode_error(const DecodeFailure& failure) {
  ApiError error;
  error.kind = ErrorKind::decode;
  error.message = failure.text();
  throw DecodeError(std::move(error));
}

// ---- printing

inline void print_string(std::ostream& out, const std::string& value, Secrecy secrecy) {
  switch (secrecy) {
    case Secrecy::none:
      out << nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    case Secrecy::token:
      out << redact_token(value);
      return;
    case Secrecy::credential:
      out << "<secret, " << value.size() << " characters>";
      return;
  }
}

inline void print_value(std::ostream& out, const std::string& value, Secrecy secrecy) {
  print_string(out, value, secrecy);
}

inline void print_value(std::ostream& out, std::int64_t value, Secrecy) { out << value; }

inline void print_value(std::ostream& out, bool value, Secrecy) {
  out << (value ? "true" : "false");
}

inline void print_value(std::ostream& out, const std::vector<nlohmann::json>& value, Secrecy) {
  out << nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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

// ---- replies

inline ApiError request_error(const Operation& op, std::string cause) {
  ApiError error;
  error.kind = ErrorKind::request;
  error.operation = op.name;
  error.message = std::string(op.name) + ": refused to send: " + cause;
  return error;
}

inline const char* describe_failure(TransportFailureKind kind) {
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

inline ApiError transport_error(const Operation& op, TransportFailure failure,
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

inline ApiError status_error(const Operation& op, HttpResponse response,
                             const std::vector<std::string_view>& secrets) {
  ApiError error;
  error.kind = ErrorKind::http_status;
  error.operation = op.name;
  error.message = std::string(op.name) + ": server answered " + std::to_string(response.status);

  std::string ignored;
  if (auto json = parse_json(response.body, ignored)) {
    Error body;
    if (!decode_model(*json, body) && body.message && !body.message->empty()) {
      // Scrub before cutting, so that no part of a secret survives at the cut.
      error.message += ": " + printable(scrub(*body.message, secrets), 300);
      error.server_error = std::move(body);
    }
  }
  if (!error.server_error && !response.reason.empty()) {
    error.message += " " + printable(response.reason, 100);
  }

  error.status = response.status;
  error.reason = std::move(response.reason);
  error.body = std::move(response.body);
  error.headers = std::move(response.headers);
  return error;
}

inline ApiError decode_error(const Operation& op, const std::string& cause,
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

template <class Reply>
Result<ApiResponse<Reply>> decode_reply(const Operation& op, HttpResponse response) {
  std::string parse_problem;
  const auto json = parse_json(response.body, parse_problem);
  if (!json) {
    return decode_error(op, parse_problem, std::move(response));
  }

  ApiResponse<Reply> reply;
  if (auto failure = decode_model(*json, reply.data)) {
    return decode_error(op, failure->text(), std::move(response));
  }
  reply.status = response.status;
  reply.headers = std::move(response.headers);
  return Result<ApiResponse<Reply>>(std::move(reply));
}

// ---- text helpers

inline bool is_success(int status) { return status >= 200 && status < 300; }

// Deeply nested JSON would make copies and comparisons recurse; no reply of this API nests
// deeper than a handful of levels.
constexpr std::size_t max_json_depth = 64;

inline bool nests_deeper_than(std::string_view body, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) {
        return true;
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

inline std::optional<nlohmann::json> parse_json(std::string_view body, std::string& error) {
  if (body.empty()) {
    error = "reply body is empty";
    return std::nullopt;
  }
  if (nests_deeper_than(body, max_json_depth)) {
    error = "reply nests deeper than " + std::to_string(max_json_depth) + " levels";
    return std::nullopt;
  }
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded()) {
    error = "reply is not JSON";
    return std::nullopt;
  }
  return json;
}

inline std::string Endpoint::authority() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

inline std::optional<Endpoint> parse_endpoint(std::string_view url) {
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
inline std::optional<std::uint64_t> parse_length(std::string_view text) {
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

inline bool is_loopback_host(std::string_view host) {
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

inline bool has_header_breaking_char(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

inline bool is_valid_utf8(std::string_view text) {
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

inline std::string url_encode(std::string_view text) {
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
inline std::string redact_query(std::string_view target) {
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
inline std::string redact_token(std::string_view token) {
  const std::string length = "(" + std::to_string(token.size()) + " characters)";
  if (token.size() < 16) {
    return "<secret, " + std::to_string(token.size()) + " characters>";
  }
  return "\"" + printable(token.substr(0, 4), 4) + "...\" " + length;
}

inline std::string scrub(std::string text, const std::vector<std::string_view>& secrets) {
  for (const auto secret : secrets) {
    if (secret.size() < 4) {
      continue;  // too short to find without mangling ordinary words
    }
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "<redacted>");
    }
  }
  return text;
}

// Server-supplied text made safe for a one-line message: control characters become '?'
// and the length is bounded.
inline std::string printable(std::string_view text, std::size_t max_length) {
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

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// The default backend's implementation
// ---------------------------------------------------------------------------------------------

#ifndef BLUEJEANS_AUTH_NO_HTTPLIB

namespace detail {

inline TransportFailureKind failure_kind(httplib::Error error) {
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

inline std::unique_ptr<httplib::Client> make_httplib_client(const Configuration& config,
                                                            const Endpoint& endpoint) {
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
  client->enable_server_certificate_verification(config.verify_ssl);
  if (!config.ssl_ca_cert.empty()) {
    client->set_ca_cert_path(config.ssl_ca_cert);
  }
  if (auto proxy = parse_endpoint(config.proxy)) {
    client->set_proxy(proxy->host, proxy->port);
  }
  return client;
}

}  // namespace detail

inline HttplibBackend::HttplibBackend(const Configuration& config)
    : max_response_bytes_(config.max_response_bytes) {
  if (auto endpoint = detail::parse_endpoint(config.host)) {
    authority_ = endpoint->authority();
    client_ = detail::make_httplib_client(config, *endpoint);
  }
}

inline BackendResult HttplibBackend::send(const HttpRequest& request) {
  if (!client_ || !client_->is_valid()) {
    return TransportFailure{TransportFailureKind::other, "the configured host is not usable"};
  }

  httplib::Request http;
  http.method = request.method;
  http.path = request.target;
  http.body = request.body;
  for (const auto& [name, value] : request.headers) {
    http.headers.emplace(name, value);
  }

  // Read the body through a receiver so that an oversized reply is cut off, not buffered.
  std::string body;
  bool too_large = false;
  http.response_handler = [&](const httplib::Response& head) {
    const auto length = detail::parse_length(head.get_header_value("Content-Length"));
    too_large = length && *length > max_response_bytes_;
    return !too_large;
  };
  http.content_receiver = [&](const char* data, std::size_t size, std::uint64_t,
                              std::uint64_t) {
    if (body.size() + size > max_response_bytes_) {
      too_large = true;
      return false;
    }
    body.append(data, size);
    return true;
  };

  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  if (!client_->send(http, response, error) || error != httplib::Error::Success) {
    if (too_large) {
      return TransportFailure{TransportFailureKind::too_large,
                              "more than " + std::to_string(max_response_bytes_) +
                                  " bytes from " + authority_};
    }
    return TransportFailure{detail::failure_kind(error),
                            httplib::to_string(error) + " (" + authority_ + ")"};
  }

  HttpResponse reply;
  reply.status = response.status;
  reply.reason = std::move(response.reason);
  reply.body = std::move(body);
  for (auto& [name, value] : response.headers) {
    reply.headers.emplace(name, std::move(value));
  }
  return reply;
}

#endif  // BLUEJEANS_AUTH_NO_HTTPLIB

}  // namespace bluejeans::auth

#endif  // BLUEJEANS_AUTH_HPP
