// emulator.hpp: an in-process stand-in for the BlueJeans Authentication service, for tests.
// SPDX-License-Identifier: MIT
//
// bluejeans::auth::emulator::Emulator serves the four operations of shared/API.md over
// loopback HTTP (or HTTPS with a given certificate and key) on cpp-httplib's server. It
// issues opaque random tokens, checks configured clients, users and meetings, and serves
// scripted fault plans so that a program's error handling can be tested. See "The emulator"
// in README.md for the built-in accounts, the fault syntax and the admin endpoint.

#ifndef BLUEJEANS_AUTH_EMULATOR_HPP
#define BLUEJEANS_AUTH_EMULATOR_HPP

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bluejeans_auth.hpp"

namespace bluejeans::auth::emulator {

/// The four operations of the service, as the emulator names them ("client", "token-info").
enum class Operation { client, meeting, password, token_info };

inline constexpr std::array<Operation, 4> all_operations{
    Operation::client, Operation::meeting, Operation::password, Operation::token_info};

/// What a fault does to the next request of its operation.
enum class FaultKind {
  status,         // answer with this status and an Error body, maybe with Retry-After
  latency,        // wait, then answer as usual
  not_json,       // answer 200 with an HTML page
  wrong_shape,    // answer 200 with JSON whose fields have the wrong types
  drop,           // send the head of a reply, then close the connection
  expired_token,  // grants issue a token that has already expired; tokenInfo says expired
};

inline constexpr std::array<FaultKind, 6> all_fault_kinds{
    FaultKind::status,      FaultKind::latency, FaultKind::not_json,
    FaultKind::wrong_shape, FaultKind::drop,    FaultKind::expired_token};

/// One scripted fault. Written as text: "503", "429,retry-after=2", "latency=200",
/// "not-json", "wrong-shape", "drop", "expired-token".
struct Fault {
  FaultKind kind = FaultKind::status;
  int status = 503;                      // FaultKind::status only
  std::optional<int> retry_after;        // seconds, FaultKind::status only
  std::chrono::milliseconds latency{0};  // FaultKind::latency only
};

/// An application that may use the client grant.
struct ClientAccount {
  std::string client_id;
  std::string client_secret;
  std::int64_t enterprise = 0;
  std::int64_t user = 0;  // what tokenInfo reports for the application's tokens
};

/// A user who may use the password grant.
struct UserAccount {
  std::string username;
  std::string password;
  std::int64_t user = 0;
};

/// A meeting that may be joined with the meeting grant.
struct MeetingRoom {
  std::string meeting_numeric_id;
  std::string moderator_passcode;
  std::string attendee_passcode;
  std::int64_t id = 0;
  std::int64_t leader_id = 0;
};

/// Reads the time; replace it in tests to expire tokens without waiting.
using Clock = std::function<std::chrono::steady_clock::time_point()>;

/// Receives one line per request: method, path with query values redacted, status, time.
/// Calls are serialised, so the sink need not be thread-safe.
using LogSink = std::function<void(std::string_view)>;

/// Everything an Emulator needs; Settings{} holds the built-in defaults.
struct Settings {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port; Emulator::port() tells which
  std::chrono::seconds token_lifetime{3600};
  std::string tls_cert;  // PEM certificate and key; both set means HTTPS
  std::string tls_key;
  bool admin_endpoint = true;  // serve /_emulator/faults

  std::int64_t partition_id = 1;
  std::string partition_name = "emulator";
  std::vector<ClientAccount> clients{{"emulator-client", "emulator-client-secret", 1001, 1002}};
  std::vector<UserAccount> users{{"alice", "alice-password", 2001}};
  std::vector<MeetingRoom> meetings{
      {"111222333", "moderator-1234", "attendee-5678", 3001, 2001}};

  Clock clock = [] { return std::chrono::steady_clock::now(); };
  LogSink log;
};

const char* to_string(Operation op);
const char* to_string(FaultKind kind);
std::string to_string(const Fault& fault);

/// "client", "meeting", "password" or "token-info". @throws std::invalid_argument
Operation parse_operation(std::string_view name);

/// A fault from its text form. @throws std::invalid_argument naming what is wrong
Fault parse_fault(std::string_view spec);

/// "OP:SPEC", as the emulator program's --fault takes it. @throws std::invalid_argument
std::pair<Operation, Fault> parse_operation_fault(std::string_view text);

/// Replaces the settings that a JSON configuration names; see "A configuration file" in
/// README.md. A refused configuration changes nothing.
/// @throws std::invalid_argument naming the wrong key
void apply_config(Settings& settings, const nlohmann::json& config);

/// Reads a JSON configuration file into settings. @throws std::invalid_argument
void load_config_file(Settings& settings, const std::string& path);

/// A running emulator. The constructor binds and starts serving; the destructor stops the
/// server and joins its thread.
class Emulator {
 public:
  /// @throws std::runtime_error when the TLS files do not load or the address cannot be bound
  explicit Emulator(Settings settings = {});
  ~Emulator();

  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  int port() const noexcept { return port_; }
  /// "http://127.0.0.1:PORT", ready for Configuration::host.
  std::string url() const;
  const Settings& settings() const noexcept { return settings_; }

  /// Stops serving and joins the server thread; safe to call more than once. Takes up to a
  /// second while a client holds an idle keep-alive connection.
  void stop();

  /// Queues faults that the next requests of op are served, in order.
  void add_faults(Operation op, const std::vector<Fault>& faults);
  void add_fault(Operation op, const Fault& fault) { add_faults(op, {fault}); }
  /// Drops every queued fault and resets the counters.
  void clear_faults();

  std::size_t faults_pending(Operation op) const;
  std::size_t faults_served(Operation op, FaultKind kind) const;
  std::size_t faults_served() const;

  /// Every access and refresh token issued so far, for tests that scan output for them.
  std::vector<std::string> issued_tokens() const;

 private:
  struct Reply {
    int status = 200;
    nlohmann::json body;
  };
  struct TokenRecord {
    std::chrono::steady_clock::time_point expires;
    std::optional<std::int64_t> user;
    bool refresh = false;
  };

  void install_routes();
  void serve(Operation op, const httplib::Request& request, httplib::Response& response);
  std::optional<Fault> next_fault(Operation op);
  bool wait_unless_stopping(std::chrono::milliseconds delay);

  Reply grant_client(const std::string& body, bool expired);
  Reply grant_password(const std::string& body, bool expired);
  Reply grant_meeting(const std::string& body, bool expired);
  Reply token_info(const httplib::Request& request, bool expired);
  std::string issue(std::optional<std::int64_t> user, bool expired, bool refresh = false);

  void serve_admin_get(httplib::Response& response) const;
  void serve_admin_post(const httplib::Request& request, httplib::Response& response);
  void log_exchange(const httplib::Request& request, const httplib::Response& response);

  Settings settings_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable stopping_changed_;
  bool stopping_ = false;
  std::map<std::string, TokenRecord> tokens_;
  std::vector<std::string> issued_;
  std::map<Operation, std::deque<Fault>> plans_;
  std::map<std::pair<Operation, FaultKind>, std::size_t> served_;
  std::random_device random_;
  std::mutex log_mutex_;  // serialises calls of Settings::log
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

namespace detail {

inline bool equal_secret(std::string_view a, std::string_view b) {
  // Look at every byte so that the time taken does not tell how much of a guess was right.
  unsigned difference = a.size() == b.size() ? 0U : 1U;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference |= static_cast<unsigned char>(a[i]) ^
                  static_cast<unsigned char>(i < b.size() ? b[i] : 0);
  }
  return difference == 0;
}

inline nlohmann::json error_body(const std::string& message) {
  return nlohmann::json(auth::Error{message});
}

// Decodes a request model with the library's own decoder, so a 400 names the field.
template <class M>
std::optional<std::string> decode_request(const std::string& body, M& request) {
  if (body.empty()) {
    return "request body is empty";
  }
  if (const auto failure = auth::detail::decode_text(body, request)) {
    if (!nlohmann::json::accept(body)) {
      return "request body is not JSON";
    }
    return "invalid request body: " + failure->text();
  }
  return auth::detail::check_request_fields(request);
}

inline std::optional<int> parse_small_int(std::string_view text, int max) {
  if (text.empty() || text.size() > 9) {
    return std::nullopt;
  }
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  if (value > max) {
    return std::nullopt;
  }
  return value;
}

// The start and fault of the exchange a server thread is working on, for its log line.
struct ExchangeNote {
  std::optional<std::chrono::steady_clock::time_point> started;
  std::optional<Fault> fault;
};

inline ExchangeNote& exchange_note() {
  thread_local ExchangeNote note;
  return note;
}

template <class T>
T config_value(const nlohmann::json& json, const char* key, const std::string& where) {
  const auto it = json.find(key);
  const std::string path = where + key;
  if (it == json.end()) {
    throw std::invalid_argument("config: " + path + ": required key is missing");
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) {
      throw std::invalid_argument("config: " + path + ": expected string, got " +
                                  it->type_name());
    }
  } else {
    if (!it->is_number_integer()) {
      throw std::invalid_argument("config: " + path + ": expected integer, got " +
                                  it->type_name());
    }
  }
  return it->get<T>();
}

template <class Entry, class Read>
std::vector<Entry> config_list(const nlohmann::json& config, const char* key, Read read) {
  const auto& list = config.at(key);
  if (!list.is_array()) {
    throw std::invalid_argument(std::string("config: ") + key + ": expected array, got " +
                                list.type_name());
  }
  std::vector<Entry> entries;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = std::string(key) + "[" + std::to_string(i) + "].";
    if (!list[i].is_object()) {
      throw std::invalid_argument("config: " + where.substr(0, where.size() - 1) +
                                  ": expected object, got " + list[i].type_name());
    }
    entries.push_back(read(list[i], where));
  }
  return entries;
}

}  // namespace detail

inline const char* to_string(Operation op) {
  switch (op) {
    case Operation::client:
      return "client";
    case Operation::meeting:
      return "meeting";
    case Operation::password:
      return "password";
    case Operation::token_info:
      break;
  }
  return "token-info";
}

inline const char* to_string(FaultKind kind) {
  switch (kind) {
    case FaultKind::status:
      return "status";
    case FaultKind::latency:
      return "latency";
    case FaultKind::not_json:
      return "not-json";
    case FaultKind::wrong_shape:
      return "wrong-shape";
    case FaultKind::drop:
      return "drop";
    case FaultKind::expired_token:
      break;
  }
  return "expired-token";
}

inline std::string to_string(const Fault& fault) {
  switch (fault.kind) {
    case FaultKind::status:
      return std::to_string(fault.status) +
             (fault.retry_after ? ",retry-after=" + std::to_string(*fault.retry_after) : "");
    case FaultKind::latency:
      return "latency=" + std::to_string(fault.latency.count());
    default:
      return to_string(fault.kind);
  }
}

inline Operation parse_operation(std::string_view name) {
  for (const Operation op : all_operations) {
    if (name == to_string(op)) {
      return op;
    }
  }
  throw std::invalid_argument("unknown operation \"" +
                              auth::detail::printable(name, 40) +
                              "\"; expected client, meeting, password or token-info");
}

inline Fault parse_fault(std::string_view spec) {
  const std::string shown = "fault \"" + auth::detail::printable(spec, 60) + "\": ";
  Fault fault;
  for (const FaultKind kind : {FaultKind::not_json, FaultKind::wrong_shape, FaultKind::drop,
                               FaultKind::expired_token}) {
    if (spec == to_string(kind)) {
      fault.kind = kind;
      return fault;
    }
  }

  constexpr std::string_view latency = "latency=";
  if (spec.substr(0, latency.size()) == latency) {
    std::string_view value = spec.substr(latency.size());
    if (value.size() > 2 && value.substr(value.size() - 2) == "ms") {
      value.remove_suffix(2);
    }
    const auto ms = detail::parse_small_int(value, 60000);
    if (!ms) {
      throw std::invalid_argument(shown + "latency must be 0 to 60000 milliseconds");
    }
    fault.kind = FaultKind::latency;
    fault.latency = std::chrono::milliseconds(*ms);
    return fault;
  }

  const auto comma = spec.find(',');
  const auto status = detail::parse_small_int(spec.substr(0, comma), 599);
  if (!status || *status < 100) {
    throw std::invalid_argument(shown + "expected an HTTP status (100-599), latency=MS, "
                                        "not-json, wrong-shape, drop or expired-token");
  }
  fault.kind = FaultKind::status;
  fault.status = *status;
  if (comma != std::string_view::npos) {
    constexpr std::string_view retry = "retry-after=";
    const std::string_view option = spec.substr(comma + 1);
    const auto seconds = option.substr(0, retry.size()) == retry
                             ? detail::parse_small_int(option.substr(retry.size()), 86400)
                             : std::nullopt;
    if (!seconds) {
      throw std::invalid_argument(shown + "after the status only retry-after=SECONDS may follow");
    }
    fault.retry_after = *seconds;
  }
  return fault;
}

inline std::pair<Operation, Fault> parse_operation_fault(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    throw std::invalid_argument("fault \"" + auth::detail::printable(text, 60) +
                                "\": expected OPERATION:FAULT, e.g. client:503");
  }
  return {parse_operation(text.substr(0, colon)), parse_fault(text.substr(colon + 1))};
}

inline void apply_config(Settings& target, const nlohmann::json& config) {
  // Work on a copy, so that a refused configuration leaves the settings as they were.
  Settings settings = target;
  if (!config.is_object()) {
    throw std::invalid_argument(std::string("config: expected an object, got ") +
                                config.type_name());
  }

  if (config.contains("token_lifetime")) {
    const auto seconds = detail::config_value<std::int64_t>(config, "token_lifetime", "");
    if (seconds < 1 || seconds > 31536000) {
      throw std::invalid_argument("config: token_lifetime: must be 1 to 31536000 seconds");
    }
    settings.token_lifetime = std::chrono::seconds(seconds);
  }
  if (config.contains("partition")) {
    const auto& partition = config["partition"];
    if (!partition.is_object()) {
      throw std::invalid_argument("config: partition: expected object");
    }
    settings.partition_id = detail::config_value<std::int64_t>(partition, "id", "partition.");
    settings.partition_name =
        detail::config_value<std::string>(partition, "name", "partition.");
  }

  using detail::config_value;
  if (config.contains("clients")) {
    settings.clients = detail::config_list<ClientAccount>(
        config, "clients", [](const nlohmann::json& j, const std::string& at) {
          return ClientAccount{config_value<std::string>(j, "client_id", at),
                               config_value<std::string>(j, "client_secret", at),
                               config_value<std::int64_t>(j, "enterprise", at),
                               config_value<std::int64_t>(j, "user", at)};
        });
  }
  if (config.contains("users")) {
    settings.users = detail::config_list<UserAccount>(
        config, "users", [](const nlohmann::json& j, const std::string& at) {
          return UserAccount{config_value<std::string>(j, "username", at),
                             config_value<std::string>(j, "password", at),
                             config_value<std::int64_t>(j, "user", at)};
        });
  }
  if (config.contains("meetings")) {
    settings.meetings = detail::config_list<MeetingRoom>(
        config, "meetings", [](const nlohmann::json& j, const std::string& at) {
          return MeetingRoom{config_value<std::string>(j, "meetingNumericId", at),
                             config_value<std::string>(j, "moderatorPasscode", at),
                             config_value<std::string>(j, "attendeePasscode", at),
                             config_value<std::int64_t>(j, "id", at),
                             config_value<std::int64_t>(j, "leaderId", at)};
        });
  }
  target = std::move(settings);
}

inline void load_config_file(Settings& settings, const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    throw std::invalid_argument("config: cannot open " + path);
  }
  std::ostringstream text;
  text << file.rdbuf();
  const auto config = nlohmann::json::parse(text.str(), nullptr, false);
  if (config.is_discarded()) {
    throw std::invalid_argument("config: " + path + " is not JSON");
  }
  apply_config(settings, config);
}

inline Emulator::Emulator(Settings settings) : settings_(std::move(settings)) {
  if (!settings_.clock) {
    settings_.clock = [] { return std::chrono::steady_clock::now(); };
  }

  const bool tls = !settings_.tls_cert.empty() || !settings_.tls_key.empty();
  if (tls) {
    server_ = std::make_unique<httplib::SSLServer>(settings_.tls_cert.c_str(),
                                                   settings_.tls_key.c_str());
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  if (!server_->is_valid()) {
    throw std::runtime_error("emulator: cannot load the TLS certificate " + settings_.tls_cert +
                             " and key " + settings_.tls_key);
  }

  // httplib's default sets SO_REUSEPORT, which would let a second emulator share a busy port
  // and split the requests between the two; SO_REUSEADDR alone makes that bind fail.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
  });
  server_->set_payload_max_length(64 * 1024);
  // httplib 0.11 lets an idle keep-alive connection hold stop() until this timeout ends.
  server_->set_keep_alive_timeout(1);
  server_->set_read_timeout(std::chrono::seconds(2));
  install_routes();

  port_ = settings_.port == 0 ? server_->bind_to_any_port(settings_.host)
                              : (server_->bind_to_port(settings_.host, settings_.port)
                                     ? settings_.port
                                     : -1);
  if (port_ <= 0) {
    throw std::runtime_error("emulator: cannot listen on " + settings_.host + ":" +
                             std::to_string(settings_.port));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });

  // stop() only takes effect once the accept loop runs, so wait until it does.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

inline Emulator::~Emulator() { stop(); }

inline std::string Emulator::url() const {
  const bool tls = !settings_.tls_cert.empty();
  const std::string host =
      settings_.host == "0.0.0.0" || settings_.host.empty() ? "127.0.0.1" : settings_.host;
  const bool ipv6 = host.find(':') != std::string::npos;
  return std::string(tls ? "https" : "http") + "://" + (ipv6 ? "[" + host + "]" : host) + ":" +
         std::to_string(port_);
}

inline void Emulator::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stopping_changed_.notify_all();
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

inline void Emulator::add_faults(Operation op, const std::vector<Fault>& faults) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& plan = plans_[op];
  plan.insert(plan.end(), faults.begin(), faults.end());
}

inline void Emulator::clear_faults() {
  std::lock_guard<std::mutex> lock(mutex_);
  plans_.clear();
  served_.clear();
}

inline std::size_t Emulator::faults_pending(Operation op) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = plans_.find(op);
  return it == plans_.end() ? 0 : it->second.size();
}

inline std::size_t Emulator::faults_served(Operation op, FaultKind kind) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = served_.find({op, kind});
  return it == served_.end() ? 0 : it->second;
}

inline std::size_t Emulator::faults_served() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t total = 0;
  for (const auto& entry : served_) {
    total += entry.second;
  }
  return total;
}

inline std::vector<std::string> Emulator::issued_tokens() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return issued_;
}

inline void Emulator::install_routes() {
  server_->set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    detail::exchange_note() = {std::chrono::steady_clock::now(), std::nullopt};
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server_->set_logger([this](const httplib::Request& request, const httplib::Response& response) {
    log_exchange(request, response);
  });

  server_->Post("/oauth2/token", [this](const httplib::Request& request,
                                        httplib::Response& response) {
    std::vector<Operation> named;
    for (const auto& [marker, op] : {std::pair{"Client", Operation::client},
                                     std::pair{"Meeting", Operation::meeting},
                                     std::pair{"Password", Operation::password}}) {
      if (request.has_param(marker)) {
        named.push_back(op);
      }
    }
    if (named.size() != 1) {
      response.status = 400;
      response.set_content(
          detail::error_body("expected exactly one of ?Client, ?Meeting or ?Password").dump(),
          "application/json");
      return;
    }
    serve(named.front(), request, response);
  });
  server_->Get("/oauth2/tokenInfo",
               [this](const httplib::Request& request, httplib::Response& response) {
                 serve(Operation::token_info, request, response);
               });

  if (settings_.admin_endpoint) {
    server_->Get("/_emulator/faults", [this](const httplib::Request&, httplib::Response& res) {
      serve_admin_get(res);
    });
    server_->Post("/_emulator/faults",
                  [this](const httplib::Request& req, httplib::Response& res) {
                    serve_admin_post(req, res);
                  });
    server_->Delete("/_emulator/faults", [this](const httplib::Request&, httplib::Response& res) {
      clear_faults();
      serve_admin_get(res);
    });
  }

  // Unknown paths and methods still get an Error body, as the service's gateway would send.
  server_->set_error_handler([](const httplib::Request& request, httplib::Response& response) {
    if (response.body.empty()) {
      response.set_content(
          detail::error_body("no such operation: " + request.method + " " + request.path).dump(),
          "application/json");
    }
  });
}

inline void Emulator::serve(Operation op, const httplib::Request& request,
                            httplib::Response& response) {
  const std::optional<Fault> fault = next_fault(op);
  detail::exchange_note().fault = fault;

  if (fault && fault->kind == FaultKind::latency && !wait_unless_stopping(fault->latency)) {
    response.status = 503;
    response.set_content(detail::error_body("emulator is stopping").dump(), "application/json");
    return;
  }

  if (fault && fault->kind == FaultKind::status) {
    response.status = fault->status;
    if (fault->retry_after) {
      response.set_header("Retry-After", std::to_string(*fault->retry_after));
    }
    response.set_content(
        detail::error_body("injected fault: status " + std::to_string(fault->status)).dump(),
        "application/json");
    return;
  }
  if (fault && fault->kind == FaultKind::not_json) {
    response.status = 200;
    response.set_content("<html><body><h1>Service Unavailable</h1></body></html>", "text/html");
    return;
  }
  if (fault && fault->kind == FaultKind::wrong_shape) {
    response.status = 200;
    response.set_content(R"({"access_token":42,"expires_in":"soon","user":"nobody"})",
                         "application/json");
    return;
  }
  if (fault && fault->kind == FaultKind::drop) {
    // httplib 0.11 always writes a reply's head; a provider that gives up before the first
    // byte of the promised body makes it close the connection mid-reply.
    response.status = 200;
    response.set_header("Connection", "close");
    response.set_content_provider(
        64, "application/json",
        [](std::size_t, std::size_t, httplib::DataSink&) { return false; });
    return;
  }

  const bool expired = fault && fault->kind == FaultKind::expired_token;
  Reply reply;
  switch (op) {
    case Operation::client:
      reply = grant_client(request.body, expired);
      break;
    case Operation::meeting:
      reply = grant_meeting(request.body, expired);
      break;
    case Operation::password:
      reply = grant_password(request.body, expired);
      break;
    case Operation::token_info:
      reply = token_info(request, expired);
      break;
  }
  response.status = reply.status;
  response.set_content(reply.body.dump(), "application/json");
}

inline std::optional<Fault> Emulator::next_fault(Operation op) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& plan = plans_[op];
  if (plan.empty()) {
    return std::nullopt;
  }
  Fault fault = plan.front();
  plan.pop_front();
  ++served_[{op, fault.kind}];
  return fault;
}

inline bool Emulator::wait_unless_stopping(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !stopping_changed_.wait_for(lock, delay, [this] { return stopping_; });
}

inline Emulator::Reply Emulator::grant_client(const std::string& body, bool expired) {
  GrantRequestClient request;
  if (auto problem = detail::decode_request(body, request)) {
    return {400, detail::error_body(*problem)};
  }
  if (request.grant_type != "client_credentials") {
    return {400, detail::error_body("grant_type must be \"client_credentials\"")};
  }

  for (const ClientAccount& client : settings_.clients) {
    if (client.client_id == request.client_id &&
        detail::equal_secret(client.client_secret, request.client_secret)) {
      GrantClient grant;
      grant.access_token = issue(client.user, expired);
      grant.expires_in = expired ? 0 : settings_.token_lifetime.count();
      grant.scope = GrantClientScope{client.enterprise, settings_.partition_name,
                                     Partition{settings_.partition_id, settings_.partition_name}};
      return {200, nlohmann::json(grant)};
    }
  }
  return {401, detail::error_body("invalid client credentials")};
}

inline Emulator::Reply Emulator::grant_password(const std::string& body, bool expired) {
  GrantRequestPassword request;
  if (auto problem = detail::decode_request(body, request)) {
    return {400, detail::error_body(*problem)};
  }
  if (request.grant_type != "password") {
    return {400, detail::error_body("grant_type must be \"password\"")};
  }

  for (const UserAccount& user : settings_.users) {
    if (user.username == request.username &&
        detail::equal_secret(user.password, request.password)) {
      GrantPassword grant;
      grant.access_token = issue(user.user, expired);
      grant.refresh_token = issue(user.user, false, true);
      grant.expires_in = expired ? 0 : settings_.token_lifetime.count();
      grant.scope = GrantPasswordScope{user.user, settings_.partition_name,
                                       Partition{settings_.partition_id, settings_.partition_name}};
      return {200, nlohmann::json(grant)};
    }
  }
  return {401, detail::error_body("invalid username or password")};
}

inline Emulator::Reply Emulator::grant_meeting(const std::string& body, bool expired) {
  GrantRequestMeeting request;
  if (auto problem = detail::decode_request(body, request)) {
    return {400, detail::error_body(*problem)};
  }
  if (request.grant_type != "meeting_passcode") {
    return {400, detail::error_body("grant_type must be \"meeting_passcode\"")};
  }

  for (const MeetingRoom& room : settings_.meetings) {
    if (room.meeting_numeric_id != request.meeting_numeric_id) {
      continue;
    }
    // Compare with both passcodes every time, so timing does not tell which one matched.
    const bool moderator = detail::equal_secret(room.moderator_passcode, request.meeting_passcode);
    const bool attendee = detail::equal_secret(room.attendee_passcode, request.meeting_passcode);
    if (!moderator && !attendee) {
      break;
    }

    GrantMeetingScopeMeeting meeting;
    meeting.id = room.id;
    meeting.leader_id = room.leader_id;
    meeting.meeting_numeric_id = room.meeting_numeric_id;
    meeting.meeting_uri = "https://emulator.invalid/" + room.meeting_numeric_id;
    meeting.is_moderator = moderator;
    meeting.endpoint_uri_set = std::vector<nlohmann::json>{};
    meeting.meeting_id = std::to_string(room.id);

    GrantMeeting grant;
    grant.access_token = issue(std::nullopt, expired);
    grant.expires_in = expired ? 0 : settings_.token_lifetime.count();
    grant.scope = GrantMeetingScope{meeting, settings_.partition_name,
                                    Partition{settings_.partition_id, settings_.partition_name}};
    return {200, nlohmann::json(grant)};
  }
  return {401, detail::error_body("invalid meeting id or passcode")};
}

inline Emulator::Reply Emulator::token_info(const httplib::Request& request, bool expired) {
  if (!request.has_param("access_token") || request.get_param_value("access_token").empty()) {
    return {400, detail::error_body("access_token query parameter is missing")};
  }
  const std::string token = request.get_param_value("access_token");

  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = tokens_.find(token);
  if (it == tokens_.end() || it->second.refresh) {
    return {401, detail::error_body("invalid access token")};
  }
  if (expired || settings_.clock() >= it->second.expires) {
    return {401, detail::error_body("access token has expired")};
  }
  TokenInfo info;
  info.user = it->second.user;
  return {200, nlohmann::json(info)};
}

inline std::string Emulator::issue(std::optional<std::int64_t> user, bool expired,
                                   bool refresh) {
  static constexpr char hex[] = "0123456789abcdef";
  std::lock_guard<std::mutex> lock(mutex_);
  std::string token;
  for (int i = 0; i < 5; ++i) {
    const std::uint32_t word = random_();
    for (int shift = 28; shift >= 0; shift -= 4) {
      token += hex[(word >> shift) & 0xFU];
    }
  }

  const auto now = settings_.clock();
  // A long-running emulator forgets tokens that expired long ago, so memory stays bounded.
  if (tokens_.size() > 100000) {
    for (auto it = tokens_.begin(); it != tokens_.end();) {
      it = it->second.expires < now ? tokens_.erase(it) : std::next(it);
    }
  }
  tokens_[token] = TokenRecord{expired ? now : now + settings_.token_lifetime, user, refresh};
  if (issued_.size() < 10000) {
    issued_.push_back(token);
  }
  return token;
}

inline void Emulator::serve_admin_get(httplib::Response& response) const {
  nlohmann::json served = nlohmann::json::object();
  nlohmann::json pending = nlohmann::json::object();
  std::size_t total = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Operation op : all_operations) {
      nlohmann::json counts = nlohmann::json::object();
      for (const FaultKind kind : all_fault_kinds) {
        const auto it = served_.find({op, kind});
        const std::size_t count = it == served_.end() ? 0 : it->second;
        counts[to_string(kind)] = count;
        total += count;
      }
      served[to_string(op)] = counts;

      nlohmann::json queue = nlohmann::json::array();
      if (const auto plan = plans_.find(op); plan != plans_.end()) {
        for (const Fault& fault : plan->second) {
          queue.push_back(to_string(fault));
        }
      }
      pending[to_string(op)] = queue;
    }
  }
  const nlohmann::json body{{"served", served}, {"total_served", total}, {"pending", pending}};
  response.set_content(body.dump(), "application/json");
}

inline void Emulator::serve_admin_post(const httplib::Request& request,
                                       httplib::Response& response) {
  const auto bad_request = [&](const std::string& message) {
    response.status = 400;
    response.set_content(detail::error_body(message).dump(), "application/json");
  };

  const auto json = nlohmann::json::parse(request.body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return bad_request("expected {\"operation\": \"client\", \"faults\": [\"503\", ...]}");
  }
  const auto op_name = json.find("operation");
  const auto specs = json.find("faults");
  if (op_name == json.end() || !op_name->is_string()) {
    return bad_request("operation: expected a string");
  }
  if (specs == json.end() || !specs->is_array()) {
    return bad_request("faults: expected an array of strings");
  }

  try {
    const Operation op = parse_operation(op_name->get<std::string>());
    std::vector<Fault> faults;
    for (const auto& spec : *specs) {
      if (!spec.is_string()) {
        return bad_request("faults: expected an array of strings");
      }
      faults.push_back(parse_fault(spec.get<std::string>()));
    }
    add_faults(op, faults);
  } catch (const std::invalid_argument& e) {
    return bad_request(e.what());
  }
  serve_admin_get(response);
}

inline void Emulator::log_exchange(const httplib::Request& request,
                                   const httplib::Response& response) {
  detail::ExchangeNote& note = detail::exchange_note();
  if (settings_.log) {
    std::ostringstream line;
    line << "bluejeans-auth-emulator: " << request.method << ' '
         << auth::detail::printable(auth::detail::redact_query(request.target), 200) << " -> ";
    const bool dropped = note.fault && note.fault->kind == FaultKind::drop;
    line << (dropped ? std::string("dropped") : std::to_string(response.status));
    if (note.started) {
      const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - *note.started);
      line << " in " << elapsed.count() / 1000.0 << " ms";
    }
    if (note.fault) {
      line << " (fault " << to_string(*note.fault) << ')';
    }
    std::lock_guard<std::mutex> lock(log_mutex_);
    settings_.log(line.str());
  }
  note = {};
}

}  // namespace bluejeans::auth::emulator

#endif  // BLUEJEANS_AUTH_EMULATOR_HPP
