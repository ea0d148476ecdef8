// loopback_server.hpp: an in-process cpp-httplib server on 127.0.0.1, and a stand-in of the
// BlueJeans token service on top of it that checks every request it receives.
// SPDX-License-Identifier: MIT
#ifndef BLUEJEANS_AUTH_TESTS_LOOPBACK_SERVER_HPP
#define BLUEJEANS_AUTH_TESTS_LOOPBACK_SERVER_HPP

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bluejeans::auth::testing {

/// One request as the server saw it on the wire.
struct ReceivedRequest {
  std::string method;
  std::string target;  // path and query exactly as sent
  httplib::Headers headers;
  std::string body;
  int remote_port = -1;

  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// An httplib::Server on a free loopback port, served from its own thread. Register handlers
/// on http() before start(); the destructor stops the server and joins the thread.
class LoopbackServer {
 public:
  LoopbackServer() = default;
  ~LoopbackServer() { stop(); }

  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  httplib::Server& http() { return http_; }

  void start() {
    port_ = http_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) {
      throw std::runtime_error("could not bind a port on 127.0.0.1");
    }
    thread_ = std::thread([this] { http_.listen_after_bind(); });

    // httplib's stop() does nothing until the accept loop runs, so wait for it (bounded).
    for (int i = 0; i < 5000 && !http_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  void stop() {
    if (thread_.joinable()) {
      http_.stop();
      thread_.join();
    }
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// Called by a handler, so that the request is on record before its reply is sent.
  void record(const httplib::Request& request) {
    const std::lock_guard<std::mutex> lock(mutex_);
    received_.push_back(ReceivedRequest{request.method, request.target, request.headers,
                                        request.body, request.remote_port});
  }

  std::vector<ReceivedRequest> received() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return received_;
  }

 private:
  httplib::Server http_;
  std::thread thread_;
  int port_ = -1;
  mutable std::mutex mutex_;
  std::vector<ReceivedRequest> received_;
};

/// The credentials and tokens the stand-in service knows. The defaults are the ones the
/// README's complete program uses.
struct TokenService {
  std::string base_path;  // "" or "/base"
  std::string client_id = "my-client-id";
  std::string client_secret = "my-client-secret";
  std::string username = "alice";
  std::string password = "alice-password";
  std::string meeting_numeric_id = "1234567890";
  std::string meeting_passcode = "4321";
  std::string client_token = "client-token-0123456789abcdef";
  std::string password_token = "password-token-0123456789abcdef";
  std::string refresh_token = "refresh-token-0123456789abcdef";
  std::string meeting_token = "meeting-token-0123456789abcdef";
  std::int64_t user = 4242;
};

namespace wire {

inline void answer(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

// The reason the request breaks the wire contract, or "" when it keeps it.
inline std::string contract_problem(const httplib::Request& request, const std::string& path,
                                    const std::string& marker, bool has_body) {
  const std::string target = request.target;
  const std::string expected = path + marker;
  if (target.compare(0, expected.size(), expected) != 0) {
    return "target " + target + " does not start with " + expected;
  }
  const std::string rest = target.substr(expected.size());
  const std::string key_param = (marker.empty() ? "?" : "&") + std::string("access_token=");
  if (!rest.empty() && rest.compare(0, key_param.size(), key_param) != 0) {
    return "target " + target + " has unexpected parameters";
  }
  if (request.get_header_value("Accept") != "application/json") {
    return "Accept is not application/json";
  }
  if (has_body && request.get_header_value("Content-Type") != "application/json") {
    return "Content-Type is not application/json";
  }
  if (request.get_header_value("User-Agent").rfind("bluejeans-auth/", 0) != 0) {
    return "User-Agent does not name bluejeans-auth";
  }
  return "";
}

}  // namespace wire

/// Records every request and serves POST {base}/oauth2/token?Client|Meeting|Password and
/// GET {base}/oauth2/tokenInfo like the real service; a request that breaks the wire contract
/// gets a 400 whose message says how, so the client's HttpError shows it.
inline void serve_token_api(LoopbackServer& server, const TokenService& service) {
  server.http().Post(service.base_path + "/oauth2/token",
                     [&server, service](const httplib::Request& request,
                                        httplib::Response& response) {
    server.record(request);
    const char* marker = request.has_param("Client")     ? "?Client"
                         : request.has_param("Meeting")  ? "?Meeting"
                         : request.has_param("Password") ? "?Password"
                                                         : "";
    auto problem =
        wire::contract_problem(request, service.base_path + "/oauth2/token", marker, true);
    const auto body = nlohmann::json::parse(request.body, nullptr, false);
    if (problem.empty() && (!body.is_object() || !body.contains("grant_type"))) {
      problem = "body is not a grant request";
    }
    if (!problem.empty()) {
      return wire::answer(response, 400, {{"message", problem}});
    }

    const std::string grant = body.value("grant_type", "");
    const std::string which = marker;
    nlohmann::json partition = {{"id", 1}, {"name", "z1"}};
    if (which == "?Client" && grant == "client_credentials") {
      if (body.value("client_id", "") != service.client_id ||
          body.value("client_secret", "") != service.client_secret) {
        return wire::answer(response, 401, {{"message", "Invalid client"}});
      }
      return wire::answer(response, 200,
                            {{"access_token", service.client_token},
                             {"expires_in", 3600},
                             {"scope", {{"enterprise", 7}, {"partitionName", "z1"},
                                        {"partition", partition}}}});
    }
    if (which == "?Password" && grant == "password") {
      if (body.value("username", "") != service.username ||
          body.value("password", "") != service.password) {
        return wire::answer(response, 401, {{"message", "Invalid user credentials"}});
      }
      return wire::answer(response, 200,
                            {{"access_token", service.password_token},
                             {"expires_in", 3600},
                             {"refresh_token", service.refresh_token},
                             {"scope", {{"user", service.user}, {"partitionName", "z1"},
                                        {"partition", partition}}}});
    }
    if (which == "?Meeting" && grant == "meeting_passcode") {
      if (body.value("meetingNumericId", "") != service.meeting_numeric_id ||
          body.value("meetingPasscode", "") != service.meeting_passcode) {
        return wire::answer(response, 401, {{"message", "Invalid meeting credentials"}});
      }
      const nlohmann::json meeting = {
          {"id", 77},
          {"leaderId", service.user},
          {"meetingNumericId", service.meeting_numeric_id},
          {"meetingUri", "/v1/user/4242/live_meetings/1234567890"},
          {"isModerator", false},
          {"endpointUriSet", nlohmann::json::array({{{"uri", "sip:1234567890@bjn.vc"}}})},
          {"meetingId", "m-77"}};
      return wire::answer(response, 200,
                            {{"access_token", service.meeting_token},
                             {"expires_in", 3600},
                             {"scope", {{"meeting", meeting}, {"partitionName", "z1"},
                                        {"partition", partition}}}});
    }
    return wire::answer(response, 400,
                          {{"message", "grant_type " + grant + " does not match " + which}});
  });

  server.http().Get(service.base_path + "/oauth2/tokenInfo",
                    [&server, service](const httplib::Request& request,
                                       httplib::Response& response) {
    server.record(request);
    const auto problem = wire::contract_problem(
        request, service.base_path + "/oauth2/tokenInfo", "", false);
    if (!problem.empty()) {
      return wire::answer(response, 400, {{"message", problem}});
    }
    const std::string token = request.get_param_value("access_token");
    if (token != service.client_token && token != service.password_token &&
        token != service.meeting_token) {
      return wire::answer(response, 401, {{"message", "Invalid token"}});
    }
    wire::answer(response, 200, {{"user", service.user}});
  });
}

}  // namespace bluejeans::auth::testing

#endif  // BLUEJEANS_AUTH_TESTS_LOOPBACK_SERVER_HPP
