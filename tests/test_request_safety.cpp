// test_request_safety.cpp: what the client refuses to send: credentials over plain http to a
// remote host or through a remote proxy, and CR, LF or NUL in anything that reaches a header
// or the URL.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"
#include "support/recording_backend.hpp"

#include <doctest/doctest.h>

#include <string>

namespace {

using namespace bluejeans::auth;
using test_support::RecordingBackend;

const GrantRequestClient credentials{"client_credentials", "safety-client", "safety-secret"};

struct Fixture {
  RecordingBackend backend;
  Configuration config;

  Fixture() { config.host = "https://api.example.invalid"; }

  // Whether a client grant goes through to the backend.
  bool granted() {
    AuthenticationApi<RecordingBackend> api(config, backend);
    return api.try_get_token_by_client(credentials).ok();
  }

  ApiError refused_grant() {
    AuthenticationApi<RecordingBackend> api(config, backend);
    auto result = api.try_get_token_by_client(credentials);
    REQUIRE_FALSE(result.ok());
    return result.error();
  }

  ApiError refused_info(const std::string& token) {
    AuthenticationApi<RecordingBackend> api(config, backend);
    auto result = api.try_get_token_info(token);
    REQUIRE_FALSE(result.ok());
    return result.error();
  }
};

const std::string breaking[] = {std::string("a\rb"), std::string("a\nb"),
                                std::string("a\0b", 3)};

}  // namespace

TEST_CASE("credentials are not sent over plain http to a host that is not loopback") {
  Fixture fixture;

  SUBCASE("refused by default, saying why and how") {
    fixture.config.host = "http://example.invalid";
    const ApiError error = fixture.refused_grant();
    CHECK(error.kind == ErrorKind::request);
    CHECK(error.message ==
          "get_token_by_client: refused to send: refusing to send credentials over plain http "
          "to example.invalid; use https, or set allow_insecure_http to accept the risk");
    CHECK(fixture.backend.sent().empty());
  }

  SUBCASE("refused for token info too") {
    fixture.config.host = "http://10.1.2.3:8080/base";
    const ApiError error = fixture.refused_info("info-token-0123456789");
    CHECK(error.kind == ErrorKind::request);
    CHECK(fixture.backend.sent().empty());
  }

  SUBCASE("addresses that only look like loopback are remote") {
    for (const char* host : {"http://127.0.0.1.example.invalid", "http://localhost.invalid",
                             "http://128.0.0.1", "http://127.0.0.1x"}) {
      CAPTURE(host);
      fixture.config.host = host;
      CHECK(fixture.refused_grant().kind == ErrorKind::request);
    }
    CHECK(fixture.backend.sent().empty());
  }

  SUBCASE("sent once the user opts in") {
    fixture.config.host = "http://example.invalid";
    fixture.config.allow_insecure_http = true;
    CHECK(fixture.granted());
    CHECK(fixture.backend.sent().size() == 1);
  }

  SUBCASE("sent to loopback without opting in") {
    for (const char* host : {"http://localhost:8080", "http://127.0.0.1", "http://127.9.8.7:1",
                             "http://[::1]:8080"}) {
      CAPTURE(host);
      fixture.config.host = host;
      CHECK(fixture.granted());
    }
    CHECK(fixture.backend.sent().size() == 4);
  }
}

TEST_CASE("credentials are not sent over plain http through a proxy that is not loopback") {
  Fixture fixture;
  fixture.config.host = "http://localhost:8080";
  fixture.config.proxy = "http://proxy.example:3128";

  SUBCASE("refused by default, naming the proxy and the way out") {
    const ApiError error = fixture.refused_grant();
    CHECK(error.kind == ErrorKind::request);
    CHECK(error.message ==
          "get_token_by_client: refused to send: refusing to send credentials over plain http "
          "through the proxy proxy.example; use https, or set allow_insecure_http to accept "
          "the risk");
    CHECK(fixture.backend.sent().empty());
  }

  SUBCASE("refused for token info too") {
    CHECK(fixture.refused_info("info-token-0123456789").kind == ErrorKind::request);
    CHECK(fixture.backend.sent().empty());
  }

  SUBCASE("refused whatever scheme the proxy names, since the backends speak plain http to it") {
    fixture.config.proxy = "https://10.0.0.1:3128";
    CHECK(fixture.refused_grant().kind == ErrorKind::request);
    CHECK(fixture.backend.sent().empty());
  }

  SUBCASE("sent once the user opts in") {
    fixture.config.allow_insecure_http = true;
    CHECK(fixture.granted());
    CHECK(fixture.backend.sent().size() == 1);
  }

  SUBCASE("sent through a loopback proxy without opting in") {
    for (const char* proxy : {"http://127.0.0.1:3128", "http://localhost:3128", "http://[::1]"}) {
      CAPTURE(proxy);
      fixture.config.proxy = proxy;
      CHECK(fixture.granted());
    }
    CHECK(fixture.backend.sent().size() == 3);
  }

  SUBCASE("sent over https through a remote proxy, which sees only the encrypted tunnel") {
    fixture.config.host = "https://api.example.invalid";
    CHECK(fixture.granted());
    CHECK(fixture.backend.sent().size() == 1);
  }
}

TEST_CASE("CR, LF and NUL in caller input that reaches a header or the URL are refused") {
  // Each check runs once per breaking character, on a fresh fixture, and nothing is sent.
  const auto each_breaking = [](const auto& check) {
    for (const std::string& bad : breaking) {
      CAPTURE(static_cast<int>(bad[1]));
      Fixture fixture;
      check(fixture, bad);
      CHECK(fixture.backend.sent().empty());
    }
  };

  SUBCASE("in the user agent") {
    each_breaking([](Fixture& fixture, const std::string& bad) {
      fixture.config.user_agent = "agent/" + bad;
      CHECK(fixture.refused_grant().message ==
            "get_token_by_client: refused to send: header User-Agent has CR, LF or NUL in its "
            "value");
    });
  }

  SUBCASE("in a default header's value") {
    each_breaking([](Fixture& fixture, const std::string& bad) {
      fixture.config.default_headers["X-Trace"] = bad;
      CHECK(fixture.refused_grant().message ==
            "get_token_by_client: refused to send: header X-Trace has CR, LF or NUL in its "
            "value");
    });
  }

  SUBCASE("in a default header's name") {
    each_breaking([](Fixture& fixture, const std::string& bad) {
      fixture.config.default_headers["X-" + bad] = "value";
      CHECK(fixture.refused_grant().message ==
            "get_token_by_client: refused to send: header name \"X-a?b\" is empty or has CR, "
            "LF or NUL");
    });
  }

  SUBCASE("in the configured API key") {
    each_breaking([](Fixture& fixture, const std::string& bad) {
      fixture.config.api_key["access_token"] = "configured-key-" + bad;
      CHECK(fixture.refused_grant().message ==
            "get_token_by_client: refused to send: access token (18 characters) has CR, LF or "
            "NUL");
      CHECK(fixture.refused_info(std::string()).kind == ErrorKind::request);
    });
  }

  SUBCASE("in the API key prefix") {
    each_breaking([](Fixture& fixture, const std::string& bad) {
      fixture.config.api_key["access_token"] = "configured-key";
      fixture.config.api_key_prefix["access_token"] = "Bearer" + bad;
      CHECK(fixture.refused_grant().message ==
            "get_token_by_client: refused to send: api_key_prefix[\"access_token\"] has CR, "
            "LF or NUL");
    });
  }

  SUBCASE("in a token given to get_token_info") {
    each_breaking([](Fixture& fixture, const std::string& bad) {
      CHECK(fixture.refused_info("given-token-" + bad).message ==
            "get_token_info: refused to send: access token (15 characters) has CR, LF or NUL");
    });
  }

  SUBCASE("in the host") {
    each_breaking([](Fixture& fixture, const std::string& bad) {
      fixture.config.host = "https://api.example.invalid/" + bad;
      CHECK(fixture.refused_grant().message.rfind(
                "get_token_by_client: refused to send: host \"https://api.example.invalid/a?b\"",
                0) == 0);
    });
  }
}

TEST_CASE("an empty default header name is refused") {
  Fixture fixture;
  fixture.config.default_headers[""] = "value";
  CHECK(fixture.refused_grant().message ==
        "get_token_by_client: refused to send: header name \"\" is empty or has CR, LF or NUL");
  CHECK(fixture.backend.sent().empty());
}

TEST_CASE("a well-formed request passes the checks and reaches the backend") {
  Fixture fixture;
  fixture.config.user_agent = "agent/1.0 (tests)";
  fixture.config.default_headers["X-Trace"] = "abc";
  fixture.config.api_key["access_token"] = "configured-key";
  CHECK(fixture.granted());
  REQUIRE(fixture.backend.sent().size() == 1);
  CHECK(fixture.backend.sent()[0].target == "/oauth2/token?Client&access_token=configured-key");
}
