// test_token_source.cpp: TokenSource on a manual clock: refresh-ahead, single flight,
// deadlines, failures, invalidation and its log lines.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bluejeans_auth.hpp"
#include "token_fakes.hpp"

namespace bj = bluejeans::auth;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using token_fakes::FakeIssuer;

namespace {

// Sun, 06 Nov 1994 08:49:37 GMT: the wall clock's time, so that Retry-After dates are fixed.
const auto reference_date = std::chrono::system_clock::time_point(seconds(784111777));

// A source over a FakeIssuer on a manual clock, logging everything to a sink.
struct Harness {
  explicit Harness(std::int64_t lifetime = 3600) : issuer(lifetime) {}

  std::shared_ptr<bj::ManualClock> clock = std::make_shared<bj::ManualClock>();
  FakeIssuer issuer;
  token_fakes::LogSink log;

  bj::TokenSourceOptions options() {
    bj::TokenSourceOptions options;
    options.clock = clock;
    options.wall_clock = [] { return reference_date; };
    options.log = log.callback();
    options.log_level = bj::LogLevel::debug;
    return options;
  }

  bj::TokenSource source() {
    return bj::make_token_source([this] { return issuer(); }, options());
  }
};

const std::string first = FakeIssuer::token(1);
const std::string second = FakeIssuer::token(2);
const std::string third = FakeIssuer::token(3);

// Runs `count` threads that each ask `source` for a token, started before this returns.
std::vector<std::future<std::string>> ask_from_threads(bj::TokenSource& source, int count) {
  std::vector<std::future<std::string>> answers;
  for (int i = 0; i < count; ++i) {
    answers.push_back(std::async(std::launch::async, [&source] { return source.access_token(); }));
  }
  return answers;
}

}  // namespace

TEST_CASE("the refresh margin scales with the token's lifetime") {
  const bj::TokenSourceOptions defaults;

  SUBCASE("a tenth of the lifetime, between 20 seconds and 5 minutes") {
    CHECK(bj::refresh_margin(defaults, hours(24)) == minutes(5));
    CHECK(bj::refresh_margin(defaults, hours(1)) == minutes(5));
    CHECK(bj::refresh_margin(defaults, minutes(20)) == minutes(2));
    CHECK(bj::refresh_margin(defaults, minutes(10)) == minutes(1));
    CHECK(bj::refresh_margin(defaults, minutes(2)) == seconds(20));
  }
  SUBCASE("never more than half the lifetime") {
    CHECK(bj::refresh_margin(defaults, seconds(30)) == seconds(15));
    CHECK(bj::refresh_margin(defaults, seconds(1)) == milliseconds(500));
  }
  SUBCASE("configurable") {
    bj::TokenSourceOptions options;
    options.margin_fraction = 0.25;
    options.min_margin = seconds(0);
    options.max_margin = hours(1);
    CHECK(bj::refresh_margin(options, hours(1)) == minutes(15));
    CHECK(bj::refresh_margin(options, seconds(100)) == seconds(25));
  }
}

TEST_CASE("a token is served until the margin and replaced once inside it") {
  Harness h;
  auto source = h.source();

  CHECK(source.access_token() == first);
  h.clock->advance(seconds(3299));
  CHECK(source.access_token() == first);
  CHECK(h.issuer.calls() == 1);

  h.clock->advance(seconds(1));
  CHECK(source.access_token() == second);
  CHECK(source.access_token() == second);
  CHECK(h.issuer.calls() == 2);
}

TEST_CASE("expiry counts from the moment the reply arrives") {
  Harness h;
  h.issuer.before_reply([&h] { h.clock->advance(seconds(100)); });  // a slow reply
  auto source = h.source();

  CHECK(source.access_token() == first);
  // Counted from the request, the refresh would be due 3200 s after the reply.
  h.clock->advance(seconds(3250));
  CHECK(source.access_token() == first);
  CHECK(h.issuer.calls() == 1);
}

TEST_CASE("64 threads asking at once send exactly one request and share its token") {
  Harness h;
  auto source = h.source();

  SUBCASE("with no token yet") {
    h.issuer.close_gate();
    auto answers = ask_from_threads(source, 64);
    REQUIRE(h.log.wait_for("refresh started", 1));
    REQUIRE(h.log.wait_for("waiting for the refresh in flight", 63));
    h.issuer.open_gate();

    for (auto& answer : answers) {
      CHECK(answer.get() == first);
    }
    CHECK(h.issuer.calls() == 1);
  }
  SUBCASE("when the refresh of the current token is due") {
    REQUIRE(source.access_token() == first);
    h.clock->advance(seconds(3400));
    h.issuer.close_gate();
    auto answers = ask_from_threads(source, 64);
    REQUIRE(h.log.wait_for("waiting for the refresh in flight", 63));
    h.issuer.open_gate();

    for (auto& answer : answers) {
      CHECK(answer.get() == second);
    }
    CHECK(h.issuer.calls() == 2);
  }
}

TEST_CASE("each waiter waits for the refresh only up to its own deadline") {
  Harness h;
  auto source = h.source();

  SUBCASE("with no valid token, the deadline raises DeadlineExceeded") {
    h.issuer.close_gate();
    const auto start = h.clock->now();
    auto hasty = std::async(std::launch::async,
                            [&] { return source.access_token(start + seconds(10)); });
    auto patient = std::async(std::launch::async,
                              [&] { return source.access_token(start + seconds(60)); });
    auto unbounded = std::async(std::launch::async, [&] { return source.access_token(); });
    REQUIRE(h.log.wait_for("refresh started", 1));
    REQUIRE(h.log.wait_for("waiting for the refresh in flight", 2));

    h.clock->advance(seconds(10));
    try {
      hasty.get();
      FAIL("a token arrived though the refresh is held back");
    } catch (const bj::DeadlineExceeded& e) {
      CHECK(std::string(e.what()) == "token_source: no token before the deadline");
      CHECK(e.kind() == bj::ErrorKind::transport);
      CHECK(e.error().transport_failure == bj::TransportFailureKind::timeout);
    }
    CHECK(patient.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
    CHECK(unbounded.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);

    h.issuer.open_gate();
    CHECK(patient.get() == first);
    CHECK(unbounded.get() == first);
    CHECK(h.issuer.calls() == 1);
  }
  SUBCASE("a deadline that passes while the current token is valid gets the current token") {
    REQUIRE(source.access_token() == first);
    h.clock->advance(seconds(3400));
    h.issuer.close_gate();
    const auto start = h.clock->now();
    auto hasty = std::async(std::launch::async,
                            [&] { return source.access_token(start + seconds(5)); });
    REQUIRE(h.log.wait_for("refresh started", 2));

    h.clock->advance(seconds(5));
    CHECK(hasty.get() == first);
    h.issuer.open_gate();
    CHECK(source.access_token() == second);
  }
  // The refresh is held back in both cases below, so a caller that waited for it would hang
  // until the issuer gave up; only one that does not wait answers within the bound.
  SUBCASE("a deadline already past gets the current token at once and starts the refresh") {
    REQUIRE(source.access_token() == first);
    h.clock->advance(seconds(3400));  // inside the margin: a refresh is due
    h.issuer.close_gate();
    auto hasty = std::async(std::launch::async,
                            [&] { return source.access_token(h.clock->now() - seconds(1)); });

    REQUIRE(hasty.wait_for(token_fakes::patience / 4) == std::future_status::ready);
    CHECK(hasty.get() == first);
    CHECK(h.log.count("refresh started, the current token expires in 200 s") == 1);
    CHECK(h.log.count("after a failed refresh") == 0);  // nothing has failed
    h.issuer.open_gate();
    CHECK(source.access_token() == second);
    CHECK(h.issuer.calls() == 2);
  }
  SUBCASE("a deadline already past with no token raises DeadlineExceeded at once") {
    h.issuer.close_gate();
    auto hasty = std::async(std::launch::async,
                            [&] { return source.access_token(h.clock->now() - seconds(1)); });

    REQUIRE(hasty.wait_for(token_fakes::patience / 4) == std::future_status::ready);
    CHECK_THROWS_WITH_AS(hasty.get(), "token_source: no token before the deadline",
                         bj::DeadlineExceeded);
    CHECK(h.log.count("refresh started, no token held") == 1);
    // The refresh goes on and serves the callers that come after.
    h.issuer.open_gate();
    CHECK(source.access_token() == first);
    CHECK(h.issuer.calls() == 1);
  }
}

TEST_CASE("a failed refresh keeps serving the current token and tries again after a backoff") {
  Harness h(100);  // a 20 s margin
  auto source = h.source();
  REQUIRE(source.access_token() == first);

  h.clock->advance(seconds(85));
  h.issuer.fail_next(token_fakes::http_failure(503, "busy"));
  CHECK(source.access_token() == first);
  CHECK(h.issuer.calls() == 2);
  CHECK(h.log.count("bluejeans-auth: token_source: refresh failed: get_token_by_client: server "
                    "answered 503: busy; next attempt in 1000 ms") == 1);
  CHECK(h.log.count("bluejeans-auth: token_source: serving the current token \"toke...\" "
                    "(23 characters), valid for 15 s more, after a failed refresh") == 1);

  SUBCASE("no request goes out during the backoff") {
    h.clock->advance(milliseconds(999));
    CHECK(source.access_token() == first);
    CHECK(h.issuer.calls() == 2);
  }
  SUBCASE("the backoff doubles with each failure in a row") {
    h.clock->advance(seconds(1));
    h.issuer.fail_next(token_fakes::http_failure(503, "busy"));
    CHECK(source.access_token() == first);
    CHECK(h.issuer.calls() == 3);
    CHECK(h.log.any_contains("next attempt in 2000 ms"));

    h.clock->advance(seconds(2));
    CHECK(source.access_token() == second);
    CHECK(h.issuer.calls() == 4);
  }
  SUBCASE("a Retry-After on the failure stretches the backoff") {
    h.clock->advance(seconds(1));
    h.issuer.fail_next(token_fakes::http_failure(429, "slow down", {{"Retry-After", "7"}}));
    CHECK(source.access_token() == first);
    CHECK(h.log.any_contains("slow down; next attempt in 7000 ms"));
  }
  SUBCASE("a Retry-After date on the failure is read on the options' wall clock") {
    h.clock->advance(seconds(1));
    h.issuer.fail_next(token_fakes::http_failure(
        429, "slow down", {{"Retry-After", "Sun, 06 Nov 1994 08:49:49 GMT"}}));
    CHECK(source.access_token() == first);
    CHECK(h.log.any_contains("slow down; next attempt in 12000 ms"));

    h.clock->advance(milliseconds(11999));
    CHECK(source.access_token() == first);
    CHECK(h.issuer.calls() == 3);
    h.clock->advance(milliseconds(1));
    CHECK(source.access_token() == second);
  }
  SUBCASE("once the current token expires the failure reaches the caller") {
    h.clock->advance(seconds(1));
    h.issuer.fail_next(token_fakes::http_failure(503, "busy"));
    CHECK(source.access_token() == first);
    h.clock->advance(seconds(14));  // 100 s after the reply: expired
    h.issuer.fail_next(token_fakes::http_failure(503, "still busy"));
    CHECK_THROWS_WITH_AS(source.access_token(),
                         "get_token_by_client: server answered 503: still busy", bj::HttpError);
  }
}

TEST_CASE("when a refresh fails and no valid token remains, every waiter gets its error") {
  Harness h;
  auto source = h.source();
  h.issuer.fail_next(token_fakes::http_failure(401, "Invalid client"));
  h.issuer.close_gate();

  std::vector<std::future<std::string>> answers = ask_from_threads(source, 8);
  REQUIRE(h.log.wait_for("waiting for the refresh in flight", 7));
  h.issuer.open_gate();
  for (auto& answer : answers) {
    CHECK_THROWS_WITH_AS(answer.get(), "get_token_by_client: server answered 401: Invalid client",
                         bj::HttpError);
  }
  CHECK(h.issuer.calls() == 1);

  SUBCASE("and callers during the backoff get it without a request") {
    CHECK_THROWS_AS(source.access_token(), bj::HttpError);
    CHECK(h.issuer.calls() == 1);
  }
  SUBCASE("and after the backoff the next caller tries again") {
    h.clock->advance(seconds(1));
    CHECK(source.access_token() == first);
    CHECK(h.issuer.calls() == 2);
  }
}

TEST_CASE("invalidate makes the next call fetch a new token") {
  Harness h;
  auto source = h.source();

  SUBCASE("while the token is fresh") {
    REQUIRE(source.access_token() == first);
    source.invalidate();
    CHECK(source.access_token() == second);
    CHECK(h.issuer.calls() == 2);
    CHECK(h.log.count("bluejeans-auth: token_source: invalidated token \"toke...\" (23 "
                      "characters)") == 1);
  }
  SUBCASE("during a backoff after a failure") {
    h.issuer.fail_next(token_fakes::http_failure(503, "busy"));
    CHECK_THROWS_AS(source.access_token(), bj::HttpError);
    source.invalidate();
    CHECK(source.access_token() == first);
    CHECK(h.log.count("bluejeans-auth: token_source: invalidated, no token held") == 1);
  }
}

TEST_CASE("lifecycle events reach the log with the token redacted") {
  Harness h;
  auto source = h.source();
  REQUIRE(source.access_token() == first);
  h.clock->advance(seconds(3300));
  REQUIRE(source.access_token() == second);
  source.invalidate();

  const std::vector<std::string> expected = {
      "bluejeans-auth: token_source: refresh started, no token held",
      "bluejeans-auth: token_source: acquired token \"toke...\" (23 characters), valid for "
      "3600 s, refresh in 3300 s",
      "bluejeans-auth: token_source: refresh started, the current token expires in 300 s",
      "bluejeans-auth: token_source: acquired token \"toke...\" (23 characters), valid for "
      "3600 s, refresh in 3300 s",
      "bluejeans-auth: token_source: invalidated token \"toke...\" (23 characters)",
  };
  CHECK(h.log.lines() == expected);

  SUBCASE("and only at the level asked for") {
    Harness quiet;
    auto options = quiet.options();
    options.log_level = bj::LogLevel::info;
    auto info_source = bj::make_token_source([&quiet] { return quiet.issuer(); }, options);
    REQUIRE(info_source.access_token() == first);
    CHECK(quiet.log.count("refresh started") == 0);
    CHECK(quiet.log.count("acquired token") == 1);
  }
}

TEST_CASE("a grant a source cannot use is an error, not a crash") {
  Harness h;
  const auto source_of = [&h](bj::TokenGrant grant) {
    return bj::make_token_source([grant] { return grant; }, h.options());
  };

  SUBCASE("no access_token") {
    auto source = source_of({std::nullopt, 3600});
    CHECK_THROWS_WITH_AS(source.access_token(), "token_source: the grant has no access_token",
                         bj::DecodeError);
  }
  SUBCASE("an empty access_token") {
    auto source = source_of({std::string(), 3600});
    CHECK_THROWS_WITH_AS(source.access_token(), "token_source: the grant has no access_token",
                         bj::DecodeError);
  }
  SUBCASE("no expires_in") {
    auto source = source_of({first, std::nullopt});
    CHECK_THROWS_WITH_AS(source.access_token(), "token_source: the grant has no expires_in",
                         bj::DecodeError);
  }
  SUBCASE("an expires_in of zero") {
    auto source = source_of({first, 0});
    CHECK_THROWS_WITH_AS(source.access_token(),
                         "token_source: the grant's expires_in is not positive", bj::DecodeError);
  }
  SUBCASE("an expires_in of centuries is held to a year") {
    auto source = source_of({first, std::numeric_limits<std::int64_t>::max()});
    CHECK(source.access_token() == first);
    CHECK(h.log.any_contains("valid for 31536000 s"));
  }
  SUBCASE("a callable that throws something else") {
    auto source = bj::make_token_source(
        []() -> bj::TokenGrant { throw std::runtime_error("vault\nsealed"); }, h.options());
    CHECK_THROWS_WITH_AS(source.access_token(),
                         "token_source: the token callable threw: vault?sealed",
                         bj::TransportError);
  }
}

TEST_CASE("make_token_source over the API uses the grant, the retry policy and the API's log") {
  token_fakes::ScriptedBackend backend;
  token_fakes::LogSink log;
  auto clock = std::make_shared<bj::ManualClock>();
  bj::Configuration config;
  config.host = "https://auth.example.test";
  config.log = log.callback();
  config.retry.random = [] { return 0.5; };
  config.retry.sleep = [clock](milliseconds delay) { clock->advance(delay); };
  config.retry.now = [clock] { return clock->now(); };
  config.retry.wall_clock = [] { return reference_date; };
  bj::AuthenticationApi<token_fakes::ScriptedBackend> api(config, backend);
  bj::TokenSourceOptions options;
  options.clock = clock;

  SUBCASE("a 503 then a token") {
    backend.then(token_fakes::busy_reply(503));
    backend.then(token_fakes::token_reply("api-token-0001-abcdefgh", 600));
    auto source = bj::make_token_source(
        api, bj::GrantRequestClient{"client_credentials", "app-id", "app-secret-xyz"}, options);

    CHECK(source.access_token() == "api-token-0001-abcdefgh");
    CHECK(backend.request_count() == 2);
    CHECK(log.count("bluejeans-auth: token_source: acquired token \"api-...\" (23 characters), "
                    "valid for 600 s, refresh in 540 s") == 1);
  }
  SUBCASE("a 401 on the password grant is sent once, then held back by the backoff") {
    backend.then(token_fakes::reply(401, R"({"message":"Invalid credentials"})"));
    auto source = bj::make_token_source(
        api, bj::GrantRequestPassword{"password", "ann", "pa55word-ann"}, options);

    CHECK_THROWS_WITH_AS(source.access_token(),
                         "get_token_by_password: server answered 401: Invalid credentials",
                         bj::HttpError);
    CHECK_THROWS_AS(source.access_token(), bj::HttpError);
    CHECK(backend.request_count() == 1);
    for (const auto& line : log.lines()) {
      CHECK(line.find("pa55word-ann") == std::string::npos);
    }
  }
  SUBCASE("a Retry-After date past the retry cap sets the backoff, read on retry.wall_clock") {
    // 20 s is more than max_backoff, so the API gives up at once and the source waits.
    backend.then(token_fakes::busy_reply(503, {{"Retry-After", "Sun, 06 Nov 1994 08:49:57 GMT"}}));
    auto source = bj::make_token_source(
        api, bj::GrantRequestClient{"client_credentials", "app-id", "app-secret-xyz"}, options);

    CHECK_THROWS_WITH_AS(source.access_token(), "get_token_by_client: server answered 503: busy",
                         bj::HttpError);
    CHECK(log.any_contains("busy; next attempt in 20000 ms"));
    clock->advance(milliseconds(19999));
    CHECK_THROWS_AS(source.access_token(), bj::HttpError);
    CHECK(backend.request_count() == 1);
    clock->advance(milliseconds(1));
    CHECK(source.access_token() == "fallback-token-abcdefgh");
    CHECK(backend.request_count() == 2);
  }
  SUBCASE("a meeting grant") {
    backend.then(token_fakes::token_reply("meeting-token-abcdefgh", 60));
    auto source = bj::make_token_source(
        api, bj::GrantRequestMeeting{"meeting_passcode", "123456789", "4321"}, options);
    CHECK(source.access_token() == "meeting-token-abcdefgh");
    REQUIRE(backend.request_count() == 1);
    CHECK(backend.script()->requests[0].target == "/oauth2/token?Meeting");
  }
}
