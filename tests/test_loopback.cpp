// test_loopback.cpp: every operation over real loopback HTTP through the default backend,
// against an in-process server that checks what arrives on the wire.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"
#include "support/fake_backend.hpp"
#include "support/loopback_server.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace bj = bluejeans::auth;
using bj::testing::LoopbackServer;
using bj::testing::TokenService;
using nlohmann::json;

bj::Configuration config_for(const LoopbackServer& server) {
  bj::Configuration config;
  config.host = server.url();
  config.connect_timeout = std::chrono::seconds(5);
  config.read_timeout = std::chrono::seconds(5);
  config.write_timeout = std::chrono::seconds(5);
  return config;
}

// Counts the requests the server is handling at once. Each handler waits, up to `patience`,
// for `wanted` requests to be in flight together, so calls that overlap are seen overlapping
// however the threads happen to be scheduled.
class OverlapProbe {
 public:
  OverlapProbe(int wanted, std::chrono::milliseconds patience)
      : wanted_(wanted), patience_(patience) {}

  void handle() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++in_flight_;
    most_ = std::max(most_, in_flight_);
    changed_.notify_all();
    changed_.wait_for(lock, patience_, [this] { return most_ >= wanted_; });
    --in_flight_;
  }

  int most() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return most_;
  }

 private:
  const int wanted_;
  const std::chrono::milliseconds patience_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int in_flight_ = 0;
  int most_ = 0;
};

// Makes `threads` calls at once on one shared API object and returns the most the server saw
// in flight together.
int most_calls_in_flight(std::size_t max_connections, int threads,
                         std::chrono::milliseconds patience) {
  OverlapProbe probe(threads, patience);
  LoopbackServer server;
  server.http().Post("/oauth2/token", [&](const httplib::Request&, httplib::Response& reply) {
    probe.handle();
    reply.set_content(R"({"access_token":"shared-token","expires_in":60})", "application/json");
  });
  server.start();

  bj::Configuration config = config_for(server);
  config.max_connections = max_connections;
  bj::AuthenticationApi<> api(config);
  std::vector<std::thread> callers;
  std::atomic<int> granted{0};
  for (int t = 0; t < threads; ++t) {
    callers.emplace_back([&] {
      granted += api.try_get_token_by_client({"client_credentials", "id", "secret"}).ok();
    });
  }
  for (auto& caller : callers) {
    caller.join();
  }
  CHECK(granted == threads);
  return probe.most();
}

}  // namespace

TEST_CASE("threads sharing one API object each get a connection of their own") {
  SUBCASE("up to max_connections calls are in flight at once") {
    CHECK(most_calls_in_flight(4, 4, std::chrono::seconds(20)) == 4);
  }
  SUBCASE("max_connections = 1 sends one call at a time") {
    CHECK(most_calls_in_flight(1, 3, std::chrono::milliseconds(200)) == 1);
  }
}

TEST_CASE("every operation works over loopback HTTP through the default backend") {
  const TokenService service;
  LoopbackServer server;
  bj::testing::serve_token_api(server, service);
  server.start();
  bj::AuthenticationApi<> api(config_for(server));

  const auto client = api.get_token_by_client({"client_credentials", "my-client-id",
                                               "my-client-secret"});
  const auto password = api.get_token_by_password({"password", "alice", "alice-password"});
  const auto meeting = api.get_token_by_meeting({"meeting_passcode", "1234567890", "4321"});

  CHECK(client.access_token == service.client_token);
  CHECK(client.expires_in == 3600);
  REQUIRE(client.scope);
  CHECK(client.scope->enterprise == 7);
  CHECK(client.scope->partition == bj::Partition{1, "z1"});
  CHECK(password.access_token == service.password_token);
  CHECK(password.refresh_token == service.refresh_token);
  REQUIRE(password.scope);
  CHECK(password.scope->user == 4242);
  CHECK(meeting.access_token == service.meeting_token);
  REQUIRE(meeting.scope);
  REQUIRE(meeting.scope->meeting);
  CHECK(meeting.scope->meeting->leader_id == 4242);
  CHECK(meeting.scope->meeting->is_moderator == false);
  CHECK(meeting.scope->meeting->endpoint_uri_set ==
        std::vector<json>{json{{"uri", "sip:1234567890@bjn.vc"}}});

  CHECK(api.get_token_info(*client.access_token).user == 4242);
  CHECK(api.get_token_info(*password.access_token).user == 4242);
  CHECK(api.get_token_info(*meeting.access_token).user == 4242);

  const auto received = server.received();
  REQUIRE(received.size() == 6);
  CHECK(received[0].method == "POST");
  CHECK(received[0].target == "/oauth2/token?Client");
  CHECK(json::parse(received[0].body) ==
        json{{"grant_type", "client_credentials"}, {"client_id", "my-client-id"},
             {"client_secret", "my-client-secret"}});
  CHECK(received[1].target == "/oauth2/token?Password");
  CHECK(json::parse(received[1].body) ==
        json{{"grant_type", "password"}, {"username", "alice"}, {"password", "alice-password"}});
  CHECK(received[2].target == "/oauth2/token?Meeting");
  CHECK(json::parse(received[2].body) ==
        json{{"grant_type", "meeting_passcode"}, {"meetingNumericId", "1234567890"},
             {"meetingPasscode", "4321"}});
  CHECK(received[3].method == "GET");
  CHECK(received[3].target == "/oauth2/tokenInfo?access_token=" + service.client_token);
  CHECK(received[3].body.empty());
  for (const auto& request : received) {
    CAPTURE(request.target);
    CHECK(request.header("Accept") == "application/json");
    CHECK(request.header("User-Agent") == "bluejeans-auth/" BLUEJEANS_AUTH_VERSION_STRING);
    CHECK(request.header("Host") == "127.0.0.1:" + std::to_string(server.port()));
  }
  CHECK(received[0].header("Content-Type") == "application/json");
  CHECK(received[0].header("Content-Length") == std::to_string(received[0].body.size()));
}

TEST_CASE("the four forms of an operation all go over the wire") {
  const TokenService service;
  LoopbackServer server;
  bj::testing::serve_token_api(server, service);
  server.start();
  bj::Configuration config = config_for(server);
  config.api_key["access_token"] = service.meeting_token;
  bj::AuthenticationApi<> api(config);
  const bj::GrantRequestMeeting request{"meeting_passcode", "1234567890", "4321"};

  const auto with_info = api.get_token_by_meeting_with_http_info(request);
  CHECK(with_info.status == 200);
  CHECK(with_info.headers.find("content-type")->second == "application/json");
  CHECK(with_info.data.access_token == service.meeting_token);
  CHECK(api.try_get_token_by_meeting(request).value() == with_info.data);
  CHECK(api.get_token_by_meeting_async(request).get() == with_info.data);

  CHECK(api.get_token_info().user == 4242);
  CHECK(api.get_token_info_async().get().user == 4242);
  CHECK(api.try_get_token_info().value().user == 4242);
  CHECK(api.get_token_info_with_http_info().status == 200);

  const auto received = server.received();
  REQUIRE(received.size() == 7);
  CHECK(received[0].target == "/oauth2/token?Meeting&access_token=" + service.meeting_token);
  CHECK(received[6].target == "/oauth2/tokenInfo?access_token=" + service.meeting_token);
}

TEST_CASE("a base path in the host is put before every path on the wire") {
  TokenService service;
  service.base_path = "/base";
  LoopbackServer server;
  bj::testing::serve_token_api(server, service);
  server.start();
  bj::Configuration config = config_for(server);
  config.host += "/base/";
  config.api_key["access_token"] = "key with space";
  bj::AuthenticationApi<> api(config);

  const auto grant = api.get_token_by_client({"client_credentials", "my-client-id",
                                              "my-client-secret"});
  CHECK(api.get_token_info(*grant.access_token).user == 4242);

  const auto received = server.received();
  REQUIRE(received.size() == 2);
  CHECK(received[0].target == "/base/oauth2/token?Client&access_token=key%20with%20space");
  CHECK(received[1].target == "/base/oauth2/tokenInfo?access_token=" + service.client_token);
}

TEST_CASE("an error status over the wire raises HttpError with the server's message") {
  LoopbackServer server;
  bj::testing::serve_token_api(server, TokenService{});
  server.start();
  bj::AuthenticationApi<> api(config_for(server));

  try {
    (void)api.get_token_by_client({"client_credentials", "my-client-id", "wrong"});
    FAIL("no exception");
  } catch (const bj::HttpError& e) {
    CHECK(std::string(e.what()) == "get_token_by_client: server answered 401: Invalid client");
    CHECK(e.status() == 401);
    CHECK(e.reason() == "Unauthorized");
    CHECK(e.body() == R"({"message":"Invalid client"})");
  }
  CHECK_THROWS_WITH_AS(api.get_token_info("unknown-token"),
                       "get_token_info: server answered 401: Invalid token", bj::HttpError);
}

TEST_CASE("the default backend keeps one connection alive across calls") {
  LoopbackServer server;
  bj::testing::serve_token_api(server, TokenService{});
  server.start();
  bj::AuthenticationApi<> api(config_for(server));

  for (int i = 0; i < 4; ++i) {
    const auto grant = api.get_token_by_password({"password", "alice", "alice-password"});
    CHECK(api.get_token_info(*grant.access_token).user == 4242);
  }

  std::set<int> ports;
  for (const auto& request : server.received()) {
    ports.insert(request.remote_port);
  }
  CHECK(server.received().size() == 8);
  // cpp-httplib's server closes a connection after five requests by default.
  CHECK(ports.size() <= 2);
  CHECK(ports.size() < server.received().size());
}

TEST_CASE("a closed port gives a TransportError of kind connect") {
  std::string url;
  {
    LoopbackServer server;
    server.start();
    url = server.url();
  }
  bj::Configuration config;
  config.host = url;
  config.connect_timeout = std::chrono::seconds(2);
  bj::AuthenticationApi<> api(config);

  const auto result = api.try_get_token_by_client({"client_credentials", "id", "secret"});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == bj::ErrorKind::transport);
  CHECK(result.error().transport_failure == bj::TransportFailureKind::connect);
  CHECK(result.error().message ==
        "get_token_by_client: could not connect: Connection (" + url.substr(7) + ")");
  CHECK_THROWS_AS(api.get_token_info("t"), bj::TransportError);
}

TEST_CASE("a server slower than read_timeout gives a TransportError") {
  std::mutex mutex;
  std::condition_variable released_cv;
  bool released = false;
  LoopbackServer server;
  server.http().Get("/oauth2/tokenInfo", [&](const httplib::Request&, httplib::Response& res) {
    // Hold the reply until the client has given up; bounded so a broken test cannot hang.
    std::unique_lock<std::mutex> lock(mutex);
    released_cv.wait_for(lock, std::chrono::seconds(10), [&] { return released; });
    res.set_content(R"({"user":1})", "application/json");
  });
  server.start();
  bj::Configuration config = config_for(server);
  config.read_timeout = std::chrono::milliseconds(100);
  bj::AuthenticationApi<> api(config);

  const auto result = api.try_get_token_info("token");
  {
    const std::lock_guard<std::mutex> lock(mutex);
    released = true;
  }
  released_cv.notify_all();

  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == bj::ErrorKind::transport);
  CHECK(result.error().message.rfind("get_token_info: ", 0) == 0);
  const auto kind = result.error().transport_failure;
  CHECK((kind == bj::TransportFailureKind::read || kind == bj::TransportFailureKind::timeout));
}

TEST_CASE("a reply above max_response_bytes gives a TransportError of kind too_large") {
  LoopbackServer server;
  const std::string big = R"({"user":1,"padding":")" + std::string(2000, 'x') + R"("})";
  server.http().Get("/oauth2/tokenInfo", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.get_param_value("access_token") == "chunked") {
      res.set_chunked_content_provider("application/json",
                                       [&](std::size_t, httplib::DataSink& sink) {
                                         sink.write(big.data(), big.size());
                                         sink.done();
                                         return true;
                                       });
      return;
    }
    res.set_content(big, "application/json");
  });
  server.start();
  bj::Configuration config = config_for(server);
  config.max_response_bytes = 1000;
  bj::AuthenticationApi<> api(config);
  const std::string message = "get_token_info: reply too large: more than 1000 bytes from "
                              "127.0.0.1:" + std::to_string(server.port());

  SUBCASE("announced by Content-Length") {
    const auto result = api.try_get_token_info("sized");
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().transport_failure == bj::TransportFailureKind::too_large);
    CHECK(result.error().message == message);
  }
  SUBCASE("sent in chunks") {
    const auto result = api.try_get_token_info("chunked");
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().transport_failure == bj::TransportFailureKind::too_large);
    CHECK(result.error().message == message);
  }
  SUBCASE("a limit above the reply lets it through") {
    config.max_response_bytes = big.size();
    bj::AuthenticationApi<> roomy(config);
    CHECK(roomy.get_token_info("sized").user == 1);
    CHECK(roomy.get_token_info("chunked").user == 1);
  }
}

TEST_CASE("debug log lines over the wire show the target with the key redacted") {
  const TokenService service;
  LoopbackServer server;
  bj::testing::serve_token_api(server, service);
  server.start();
  bj::testing::LogRecord log;
  bj::Configuration config = config_for(server);
  config.api_key["access_token"] = "API-KEY-SECRET-123";
  config.log = log.callback();
  config.log_level = bj::LogLevel::debug;
  bj::AuthenticationApi<> api(config);

  const auto grant = api.get_token_by_client({"client_credentials", "my-client-id",
                                              "my-client-secret"});
  (void)api.get_token_info(*grant.access_token);

  const auto lines = log.text();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].rfind("bluejeans-auth: get_token_by_client: POST "
                       "/oauth2/token?Client&access_token=<redacted> -> 200 in ",
                       0) == 0);
  CHECK(lines[1].rfind("bluejeans-auth: get_token_info: GET "
                       "/oauth2/tokenInfo?access_token=<redacted> -> 200 in ",
                       0) == 0);
  for (const auto& line : lines) {
    CHECK(line.find("API-KEY-SECRET-123") == std::string::npos);
    CHECK(line.find(service.client_token) == std::string::npos);
    CHECK(line.find("my-client-secret") == std::string::npos);
  }
}
