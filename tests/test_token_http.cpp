// test_token_http.cpp: retries and TokenSource through the default backend, against a small
// token endpoint served by cpp-httplib on loopback.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <httplib.h>

#include <chrono>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bluejeans_auth.hpp"

namespace bj = bluejeans::auth;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// A token endpoint on 127.0.0.1 that issues numbered tokens and answers a planned run of
// faults first.
class LoopbackTokenServer {
 public:
  struct Fault {
    int status;
    httplib::Headers headers;
  };

  explicit LoopbackTokenServer(int lifetime) : lifetime_(lifetime) {
    server_.Post("/oauth2/token",
                 [this](const httplib::Request& request, httplib::Response& reply) {
                   answer(request, reply);
                 });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }

  ~LoopbackTokenServer() {
    // stop() is a no-op until the listening loop runs; give it a bounded moment to start.
    for (int i = 0; i < 2000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    server_.stop();
    thread_.join();
  }

  std::string host() const { return "http://127.0.0.1:" + std::to_string(port_); }
  bool listening() const { return port_ > 0; }

  void fail_next(int count, int status, httplib::Headers headers = {}) {
    const std::lock_guard<std::mutex> guard(mutex_);
    for (int i = 0; i < count; ++i) {
      faults_.push_back({status, headers});
    }
  }

  int grants() const {
    const std::lock_guard<std::mutex> guard(mutex_);
    return grants_;
  }

  static std::string token(int n) { return "loopback-token-" + std::to_string(1000 + n); }

 private:
  void answer(const httplib::Request& request, httplib::Response& reply) {
    const std::lock_guard<std::mutex> guard(mutex_);
    ++grants_;
    if (request.body.find("wrong-password") != std::string::npos) {
      reply.status = 401;
      reply.set_content(R"({"message":"Invalid credentials"})", "application/json");
      return;
    }
    if (!faults_.empty()) {
      const Fault fault = faults_.front();
      faults_.pop_front();
      reply.status = fault.status;
      for (const auto& [name, value] : fault.headers) {
        reply.set_header(name, value);
      }
      reply.set_content(R"({"message":"busy"})", "application/json");
      return;
    }
    ++issued_;
    reply.set_content(R"({"access_token":")" + token(issued_) + R"(","expires_in":)" +
                          std::to_string(lifetime_) + "}",
                      "application/json");
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  int lifetime_;

  mutable std::mutex mutex_;
  std::deque<Fault> faults_;
  int grants_ = 0;
  int issued_ = 0;
};

// Waits are recorded, not slept, so that no test depends on the wall clock.
struct RecordedSleeps {
  std::mutex mutex;
  std::vector<long long> waits;

  std::vector<long long> taken() {
    const std::lock_guard<std::mutex> guard(mutex);
    return waits;
  }
};

bj::Configuration loopback_config(const std::string& host, RecordedSleeps& sleeps) {
  bj::Configuration config;
  config.host = host;
  config.connect_timeout = seconds(2);
  config.read_timeout = seconds(5);
  config.write_timeout = seconds(5);
  config.retry.random = [] { return 0.5; };
  config.retry.sleep = [&sleeps](milliseconds delay) {
    const std::lock_guard<std::mutex> guard(sleeps.mutex);
    sleeps.waits.push_back(delay.count());
  };
  return config;
}

const bj::GrantRequestClient client_request{"client_credentials", "app-id", "app-secret-xyz"};

}  // namespace

TEST_CASE("over loopback, a burst of 503s is retried until the token arrives") {
  LoopbackTokenServer server(3600);
  REQUIRE(server.listening());
  RecordedSleeps sleeps;
  bj::AuthenticationApi<> api(loopback_config(server.host(), sleeps));

  SUBCASE("three 503s and then a token") {
    server.fail_next(3, 503);
    CHECK(api.get_token_by_client(client_request).access_token == server.token(1));
    CHECK(server.grants() == 4);
    CHECK(sleeps.taken() == std::vector<long long>{125, 250, 500});
  }
  SUBCASE("more 503s than attempts") {
    server.fail_next(5, 503);
    CHECK_THROWS_WITH_AS(api.get_token_by_client(client_request),
                         "get_token_by_client: server answered 503: busy", bj::HttpError);
    CHECK(server.grants() == 4);
  }
}

TEST_CASE("over loopback, a 429 is retried after the Retry-After the server sent") {
  LoopbackTokenServer server(3600);
  REQUIRE(server.listening());
  RecordedSleeps sleeps;
  bj::AuthenticationApi<> api(loopback_config(server.host(), sleeps));

  SUBCASE("Retry-After: 1") {
    server.fail_next(1, 429, {{"Retry-After", "1"}});
    CHECK(api.get_token_by_client(client_request).access_token == server.token(1));
    CHECK(sleeps.taken() == std::vector<long long>{1000});
  }
  SUBCASE("Retry-After: 0") {
    server.fail_next(1, 429, {{"Retry-After", "0"}});
    CHECK(api.get_token_by_client(client_request).access_token == server.token(1));
    CHECK(sleeps.taken() == std::vector<long long>{0});
  }
  CHECK(server.grants() == 2);
}

TEST_CASE("over loopback, a 401 on the password grant is sent once") {
  LoopbackTokenServer server(3600);
  REQUIRE(server.listening());
  RecordedSleeps sleeps;
  bj::AuthenticationApi<> api(loopback_config(server.host(), sleeps));

  CHECK_THROWS_WITH_AS(api.get_token_by_password({"password", "ann", "wrong-password"}),
                       "get_token_by_password: server answered 401: Invalid credentials",
                       bj::HttpError);
  CHECK(server.grants() == 1);
  CHECK(sleeps.taken().empty());
}

TEST_CASE("over loopback, a refused connection is retried and then reported") {
  std::string host;
  {
    LoopbackTokenServer closed(3600);
    host = closed.host();
  }
  RecordedSleeps sleeps;
  bj::AuthenticationApi<> api(loopback_config(host, sleeps));

  try {
    api.get_token_by_client(client_request);
    FAIL("a token arrived from a closed port");
  } catch (const bj::TransportError& e) {
    CHECK(std::string(e.what()).rfind("get_token_by_client: could not connect: ", 0) == 0);
    CHECK(e.error().transport_failure == bj::TransportFailureKind::connect);
  }
  CHECK(sleeps.taken().size() == 3);
}

TEST_CASE("over loopback, a token source keeps short-lived tokens fresh") {
  LoopbackTokenServer server(30);  // a 15 s margin: half the lifetime
  REQUIRE(server.listening());
  RecordedSleeps sleeps;
  bj::AuthenticationApi<> api(loopback_config(server.host(), sleeps));
  auto clock = std::make_shared<bj::ManualClock>();
  bj::TokenSourceOptions options;
  options.clock = clock;
  auto source = bj::make_token_source(api, client_request, options);

  CHECK(source.access_token() == server.token(1));
  clock->advance(seconds(14));
  CHECK(source.access_token() == server.token(1));
  clock->advance(seconds(2));
  CHECK(source.access_token() == server.token(2));
  CHECK(server.grants() == 2);

  SUBCASE("16 threads after an invalidation send one request") {
    source.invalidate();
    std::vector<std::future<std::string>> answers;
    for (int i = 0; i < 16; ++i) {
      answers.push_back(std::async(std::launch::async, [&] { return source.access_token(); }));
    }
    for (auto& answer : answers) {
      CHECK(answer.get() == server.token(3));
    }
    CHECK(server.grants() == 3);
  }
  SUBCASE("a burst of 503s is ridden out on the current token") {
    clock->advance(seconds(16));
    server.fail_next(5, 503);
    CHECK(source.access_token() == server.token(2));  // four tries failed
    CHECK(server.grants() == 6);

    clock->advance(seconds(1));
    CHECK(source.access_token() == server.token(3));  // one more 503, then a token
    CHECK(server.grants() == 8);
  }
}
