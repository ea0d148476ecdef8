// test_retry.cpp: Configuration::retry, the retries around every operation, on a fake backend
// with a fake clock, a fixed random source and recorded sleeps.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <chrono>
#include <initializer_list>
#include <string>
#include <vector>

#include "bluejeans_auth.hpp"
#include "token_fakes.hpp"

namespace bj = bluejeans::auth;
using std::chrono::milliseconds;
using token_fakes::busy_reply;
using token_fakes::reply;
using token_fakes::token_reply;

namespace {

// Sun, 06 Nov 1994 08:49:37 GMT
const auto reference_date = std::chrono::system_clock::time_point(std::chrono::seconds(784111777));

// An API over a scripted backend whose retry seams record every wait and move a fake clock.
struct Harness {
  token_fakes::ScriptedBackend backend;
  token_fakes::LogSink log;
  std::vector<long long> sleeps;
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  double random = 0.5;

  bj::Configuration config() {
    bj::Configuration config;
    config.host = "https://auth.example.test";
    config.retry.random = [this] { return random; };
    config.retry.sleep = [this](milliseconds delay) {
      sleeps.push_back(delay.count());
      now += delay;
    };
    config.retry.now = [this] { return now; };
    config.retry.wall_clock = [] { return reference_date; };
    config.log = log.callback();
    return config;
  }
};

const bj::GrantRequestClient client_request{"client_credentials", "app-id", "app-secret-xyz"};
const bj::GrantRequestPassword password_request{"password", "ann", "pa55word-ann"};
const bj::GrantRequestMeeting meeting_request{"meeting_passcode", "123456789", "4321"};

}  // namespace

TEST_CASE("the default retry policy makes four attempts with capped full-jitter backoff") {
  const bj::RetryPolicy policy;

  CHECK(policy.max_attempts == 4);
  CHECK(policy.initial_backoff == milliseconds(250));
  CHECK(policy.max_backoff == milliseconds(8000));
  CHECK(policy.multiplier == 2.0);
  CHECK(policy.deadline == milliseconds(30000));
  CHECK(bj::Configuration{}.retry.max_attempts == 4);
}

TEST_CASE("a 503 followed by a token is retried once and returns the token") {
  Harness h;
  h.backend.then(busy_reply(503));
  h.backend.then(token_reply("second-try-token-abcdef", 3600));
  bj::AuthenticationApi<token_fakes::ScriptedBackend> api(h.config(), h.backend);

  const auto grant = api.get_token_by_client(client_request);

  CHECK(grant.access_token == "second-try-token-abcdef");
  CHECK(h.backend.request_count() == 2);
  CHECK(h.sleeps == std::vector<long long>{125});
  CHECK(h.log.count("bluejeans-auth: get_token_by_client: server answered 503; retrying in "
                    "125 ms (attempt 2 of 4)") == 1);
}

// Runs `call` against a fresh API for each status, the status first and a good reply second.
template <class Call>
void each_status(std::initializer_list<int> statuses, int expected_requests, Call call) {
  for (const int status : statuses) {
    CAPTURE(status);
    Harness h;
    h.backend.then(reply(status, R"({"message":"Invalid credentials"})"));
    h.backend.script()->fallback =
        reply(200, R"({"access_token":"fallback-token-abcdefgh","expires_in":3600,"user":42})");
    bj::AuthenticationApi<token_fakes::ScriptedBackend> api(h.config(), h.backend);
    call(api, status);
    CHECK(h.backend.request_count() == static_cast<std::size_t>(expected_requests));
  }
}

const std::initializer_list<int> retryable = {408, 429, 500, 502, 503, 504};
const std::initializer_list<int> final_4xx = {400, 401, 403, 404, 409, 422};

TEST_CASE("every retryable status is retried on each of the four operations") {
  using Api = bj::AuthenticationApi<token_fakes::ScriptedBackend>;

  SUBCASE("get_token_by_client") {
    each_status(retryable, 2, [](Api& api, int) {
      CHECK(api.get_token_by_client(client_request).access_token == "fallback-token-abcdefgh");
    });
  }
  SUBCASE("get_token_by_password") {
    each_status(retryable, 2, [](Api& api, int) {
      CHECK(api.get_token_by_password(password_request).access_token ==
            "fallback-token-abcdefgh");
    });
  }
  SUBCASE("get_token_by_meeting") {
    each_status(retryable, 2, [](Api& api, int) {
      CHECK(api.get_token_by_meeting(meeting_request).access_token == "fallback-token-abcdefgh");
    });
  }
  SUBCASE("get_token_info") {
    each_status(retryable, 2, [](Api& api, int) {
      CHECK(api.get_token_info("some-access-token-1234").user == 42);
    });
  }
}

TEST_CASE("other 4xx replies are never retried, above all 401 and 403 on user grants") {
  using Api = bj::AuthenticationApi<token_fakes::ScriptedBackend>;

  SUBCASE("password grant") {
    each_status(final_4xx, 1, [](Api& api, int status) {
      CHECK_THROWS_WITH_AS(api.get_token_by_password(password_request),
                           ("get_token_by_password: server answered " + std::to_string(status) +
                            ": Invalid credentials")
                               .c_str(),
                           bj::HttpError);
    });
  }
  SUBCASE("meeting grant") {
    each_status(final_4xx, 1, [](Api& api, int status) {
      CHECK_THROWS_WITH_AS(api.get_token_by_meeting(meeting_request),
                           ("get_token_by_meeting: server answered " + std::to_string(status) +
                            ": Invalid credentials")
                               .c_str(),
                           bj::HttpError);
    });
  }
  SUBCASE("client grant and token info") {
    each_status(final_4xx, 1, [](Api& api, int) {
      CHECK_THROWS_AS(api.get_token_by_client(client_request), bj::HttpError);
    });
    each_status(final_4xx, 1, [](Api& api, int) {
      CHECK_THROWS_AS(api.get_token_info("some-access-token-1234"), bj::HttpError);
    });
  }
}

TEST_CASE("transport failures are retried when the request may simply be sent again") {
  using Kind = bj::TransportFailureKind;
  Harness h;
  bj::AuthenticationApi<token_fakes::ScriptedBackend> api(h.config(), h.backend);

  SUBCASE("connect failures, timeouts, broken reads and writes are retried") {
    auto config = h.config();
    config.retry.max_attempts = 5;
    bj::AuthenticationApi<token_fakes::ScriptedBackend> patient(config, h.backend);
    for (const Kind kind : {Kind::connect, Kind::timeout, Kind::read, Kind::write}) {
      h.backend.then(bj::TransportFailure{kind, "lost"});
    }
    CHECK(patient.get_token_by_password(password_request).access_token ==
          "fallback-token-abcdefgh");
    CHECK(h.backend.request_count() == 5);
  }
  SUBCASE("a refusal ends after max_attempts with the last failure") {
    for (int i = 0; i < 6; ++i) {
      h.backend.then(bj::TransportFailure{Kind::connect, "refused (auth.example.test:443)"});
    }
    CHECK_THROWS_WITH_AS(api.get_token_by_client(client_request),
                         "get_token_by_client: could not connect: refused "
                         "(auth.example.test:443)",
                         bj::TransportError);
    CHECK(h.backend.request_count() == 4);
  }
  SUBCASE("TLS failures, oversized replies and other failures are not retried") {
    for (const Kind kind : {Kind::tls, Kind::too_large, Kind::other}) {
      h.backend.then(bj::TransportFailure{kind, "no"});
      CHECK_THROWS_AS(api.get_token_by_client(client_request), bj::TransportError);
    }
    CHECK(h.backend.request_count() == 3);
  }
}

TEST_CASE("an undecodable 200 is not retried") {
  Harness h;
  h.backend.then(reply(200, "<html>"));
  bj::AuthenticationApi<token_fakes::ScriptedBackend> api(h.config(), h.backend);

  CHECK_THROWS_AS(api.get_token_by_client(client_request), bj::DecodeError);
  CHECK(h.backend.request_count() == 1);
}

TEST_CASE("attempts are bounded by max_attempts") {
  Harness h;
  h.backend.script()->fallback = busy_reply(503);

  SUBCASE("four by default") {
    bj::AuthenticationApi<token_fakes::ScriptedBackend> api(h.config(), h.backend);
    CHECK_THROWS_WITH_AS(api.get_token_by_client(client_request),
                         "get_token_by_client: server answered 503: busy", bj::HttpError);
    CHECK(h.backend.request_count() == 4);
    CHECK(h.sleeps.size() == 3);
  }
  SUBCASE("one turns retrying off") {
    auto config = h.config();
    config.retry.max_attempts = 1;
    bj::AuthenticationApi<token_fakes::ScriptedBackend> api(config, h.backend);
    CHECK_THROWS_AS(api.get_token_by_client(client_request), bj::HttpError);
    CHECK(h.backend.request_count() == 1);
  }
  SUBCASE("zero or less still sends once") {
    auto config = h.config();
    config.retry.max_attempts = -3;
    bj::AuthenticationApi<token_fakes::ScriptedBackend> api(config, h.backend);
    CHECK_THROWS_AS(api.get_token_by_client(client_request), bj::HttpError);
    CHECK(h.backend.request_count() == 1);
  }
}

TEST_CASE("the backoff grows by the multiplier, is drawn with full jitter and stops at the cap") {
  Harness h;
  h.backend.script()->fallback = busy_reply(503);
  auto config = h.config();
  config.retry.max_attempts = 8;
  config.retry.initial_backoff = milliseconds(100);
  config.retry.max_backoff = milliseconds(1000);
  config.retry.deadline = milliseconds(0);

  SUBCASE("half the ceiling each time") {
    bj::AuthenticationApi<token_fakes::ScriptedBackend> api(config, h.backend);
    CHECK_THROWS_AS(api.get_token_by_client(client_request), bj::HttpError);
    CHECK(h.sleeps == std::vector<long long>{50, 100, 200, 400, 500, 500, 500});
  }
  SUBCASE("a random draw of zero waits not at all") {
    h.random = 0.0;
    bj::AuthenticationApi<token_fakes::ScriptedBackend> api(config, h.backend);
    CHECK_THROWS_AS(api.get_token_by_client(client_request), bj::HttpError);
    CHECK(h.sleeps == std::vector<long long>(7, 0));
  }
  SUBCASE("the largest draw stays below the ceiling and the cap") {
    h.random = 0.999;
    bj::AuthenticationApi<token_fakes::ScriptedBackend> api(config, h.backend);
    CHECK_THROWS_AS(api.get_token_by_client(client_request), bj::HttpError);
    CHECK(h.sleeps == std::vector<long long>{99, 199, 399, 799, 999, 999, 999});
  }
  SUBCASE("a random source out of range is held to [0, 1]") {
    h.random = 7.0;
    bj::AuthenticationApi<token_fakes::ScriptedBackend> api(config, h.backend);
    CHECK_THROWS_AS(api.get_token_by_client(client_request), bj::HttpError);
    CHECK(h.sleeps == std::vector<long long>{100, 200, 400, 800, 1000, 1000, 1000});
  }
}

TEST_CASE("no attempt starts after the overall deadline") {
  Harness h;
  h.backend.script()->fallback = busy_reply(503);
  h.backend.script()->on_send = [&h] { h.now += milliseconds(300); };
  auto config = h.config();
  config.retry.max_attempts = 10;
  config.retry.initial_backoff = milliseconds(400);
  config.retry.deadline = milliseconds(1000);
  bj::AuthenticationApi<token_fakes::ScriptedBackend> api(config, h.backend);

  // Try 1 ends at 300 ms, waits 200; try 2 ends at 800 ms and a wait of 400 would pass 1 s.
  CHECK_THROWS_WITH_AS(api.get_token_by_client(client_request),
                       "get_token_by_client: server answered 503: busy", bj::HttpError);
  CHECK(h.backend.request_count() == 2);
  CHECK(h.sleeps == std::vector<long long>{200});
}

TEST_CASE("Retry-After is honoured in both its forms, within the cap") {
  Harness h;
  bj::AuthenticationApi<token_fakes::ScriptedBackend> api(h.config(), h.backend);

  SUBCASE("delay-seconds is waited exactly, without jitter") {
    h.backend.then(busy_reply(429, {{"Retry-After", "2"}}));
    CHECK(api.get_token_by_client(client_request).access_token == "fallback-token-abcdefgh");
    CHECK(h.sleeps == std::vector<long long>{2000});
  }
  SUBCASE("zero seconds retries at once") {
    h.backend.then(busy_reply(503, {{"retry-after", " 0 "}}));
    CHECK(api.get_token_by_client(client_request).access_token == "fallback-token-abcdefgh");
    CHECK(h.sleeps == std::vector<long long>{0});
  }
  SUBCASE("an HTTP-date is waited until, on the wall clock") {
    h.backend.then(busy_reply(503, {{"Retry-After", "Sun, 06 Nov 1994 08:49:40 GMT"}}));
    CHECK(api.get_token_by_client(client_request).access_token == "fallback-token-abcdefgh");
    CHECK(h.sleeps == std::vector<long long>{3000});
  }
  SUBCASE("an HTTP-date in the past retries at once") {
    h.backend.then(busy_reply(503, {{"Retry-After", "Sat, 05 Nov 1994 08:49:40 GMT"}}));
    CHECK(api.get_token_by_client(client_request).access_token == "fallback-token-abcdefgh");
    CHECK(h.sleeps == std::vector<long long>{0});
  }
  SUBCASE("a wait beyond the cap ends the retries with the server's answer") {
    h.backend.then(busy_reply(429, {{"Retry-After", "9"}}));
    CHECK_THROWS_WITH_AS(api.get_token_by_client(client_request),
                         "get_token_by_client: server answered 429: busy", bj::HttpError);
    CHECK(h.backend.request_count() == 1);
  }
  SUBCASE("an unreadable value falls back to the backoff") {
    h.backend.then(busy_reply(503, {{"Retry-After", "soon"}}));
    h.backend.then(busy_reply(503, {{"Retry-After", "Sun, 31 Feb 1994 08:49:40 GMT"}}));
    CHECK(api.get_token_by_client(client_request).access_token == "fallback-token-abcdefgh");
    CHECK(h.sleeps == std::vector<long long>{125, 250});
  }
  SUBCASE("a 401 with Retry-After is still not retried") {
    h.backend.then(reply(401, R"({"message":"Invalid credentials"})", {{"Retry-After", "1"}}));
    CHECK_THROWS_AS(api.get_token_by_password(password_request), bj::HttpError);
    CHECK(h.backend.request_count() == 1);
  }
}

TEST_CASE("HTTP-dates are read as IMF-fixdate") {
  using bj::detail::parse_http_date;
  using std::chrono::seconds;
  using std::chrono::system_clock;

  CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == reference_date);
  CHECK(parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT") ==
        system_clock::time_point(seconds(1709164800)));
  CHECK(parse_http_date("Sun, 31 Dec 2000 23:59:59 GMT") ==
        system_clock::time_point(seconds(978307199)));
  CHECK_FALSE(parse_http_date("Thu, 29 Feb 2023 00:00:00 GMT"));
  CHECK_FALSE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"));
  CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"));
  CHECK_FALSE(parse_http_date("Sun, 06 Nox 1994 08:49:37 GMT"));
  CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 24:49:37 GMT"));
  CHECK_FALSE(parse_http_date(""));
}
