// test_requests.cpp: the exact request every operation hands its backend, in all four forms.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"
#include "support/fake_backend.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

namespace {

namespace bj = bluejeans::auth;
using bj::testing::FakeBackend;
using bj::testing::reply;
using Api = bj::AuthenticationApi<FakeBackend>;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

HeaderList listed(const bj::Headers& headers) { return {headers.begin(), headers.end()}; }

const std::string user_agent = "bluejeans-auth/" BLUEJEANS_AUTH_VERSION_STRING;

const bj::GrantRequestClient client_request{"client_credentials", "app-id", "app-secret"};
const bj::GrantRequestPassword password_request{"password", "alice", "alice-password"};
const bj::GrantRequestMeeting meeting_request{"meeting_passcode", "1234567890", "4321"};

// nlohmann/json writes an object's keys in sorted order, so the bytes are fixed.
const std::string client_body =
    R"({"client_id":"app-id","client_secret":"app-secret","grant_type":"client_credentials"})";
const std::string password_body =
    R"({"grant_type":"password","password":"alice-password","username":"alice"})";
const std::string meeting_body =
    R"({"grant_type":"meeting_passcode","meetingNumericId":"1234567890",)"
    R"("meetingPasscode":"4321"})";

// The one request an operation sent through `api`.
bj::HttpRequest only_request(Api& api) {
  const auto requests = api.backend().requests();
  REQUIRE(requests.size() == 1);
  return requests.front();
}

bj::Configuration with_key(std::string key, std::string prefix = "") {
  bj::Configuration config;
  config.api_key["access_token"] = std::move(key);
  if (!prefix.empty()) {
    config.api_key_prefix["access_token"] = std::move(prefix);
  }
  return config;
}

bj::HttpResponse reply_with_header(std::string body) {
  auto response = reply(200, std::move(body), "OK");
  response.headers.emplace("X-Request-Id", "r-1");
  return response;
}

}  // namespace

TEST_CASE("the single-argument constructor builds the backend from the configuration") {
  Api api(bj::Configuration{});

  CHECK(api.configuration().host == "https://api.bluejeans.com");
  (void)api.get_token_by_client(client_request);
  CHECK(api.backend().requests().size() == 1);
}

TEST_CASE("get_token_by_client posts its body to /oauth2/token?Client in every form") {
  FakeBackend backend;
  Api api(bj::Configuration{}, backend);
  const std::string token_reply = R"({"access_token":"client-token-0123456789","expires_in":60})";
  const bj::GrantClient expected{"client-token-0123456789", 60, {}};

  SUBCASE("throwing") {
    backend.then(reply(200, token_reply));
    CHECK(api.get_token_by_client(client_request) == expected);
  }
  SUBCASE("with http info") {
    backend.then(reply_with_header(token_reply));
    const auto response = api.get_token_by_client_with_http_info(client_request);
    CHECK(response.data == expected);
    CHECK(response.status == 200);
    CHECK(listed(response.headers) ==
          HeaderList{{"Content-Type", "application/json"}, {"X-Request-Id", "r-1"}});
  }
  SUBCASE("result") {
    backend.then(reply(200, token_reply));
    const auto result = api.try_get_token_by_client(client_request);
    REQUIRE(result.ok());
    CHECK(result.value() == expected);
  }
  SUBCASE("async") {
    backend.then(reply(200, token_reply));
    CHECK(api.get_token_by_client_async(client_request).get() == expected);
  }

  const auto request = only_request(api);
  CHECK(request.method == "POST");
  CHECK(request.target == "/oauth2/token?Client");
  CHECK(listed(request.headers) == HeaderList{{"Accept", "application/json"},
                                              {"Content-Type", "application/json"},
                                              {"User-Agent", user_agent}});
  CHECK(request.body == client_body);
}

TEST_CASE("get_token_by_password posts its body to /oauth2/token?Password in every form") {
  FakeBackend backend;
  Api api(bj::Configuration{}, backend);
  const std::string token_reply =
      R"({"access_token":"password-token-012345","refresh_token":"r","scope":{"user":5}})";
  const bj::GrantPassword expected{"password-token-012345", {}, "r",
                                   bj::GrantPasswordScope{5, {}, {}}};

  SUBCASE("throwing") {
    backend.then(reply(200, token_reply));
    CHECK(api.get_token_by_password(password_request) == expected);
  }
  SUBCASE("with http info") {
    backend.then(reply_with_header(token_reply));
    const auto response = api.get_token_by_password_with_http_info(password_request);
    CHECK(response.data == expected);
    CHECK(response.status == 200);
    CHECK(response.headers.find("x-request-id")->second == "r-1");
  }
  SUBCASE("result") {
    backend.then(reply(200, token_reply));
    const auto result = api.try_get_token_by_password(password_request);
    REQUIRE(result);
    CHECK(result.value() == expected);
  }
  SUBCASE("async") {
    backend.then(reply(200, token_reply));
    CHECK(api.get_token_by_password_async(password_request).get() == expected);
  }

  const auto request = only_request(api);
  CHECK(request.method == "POST");
  CHECK(request.target == "/oauth2/token?Password");
  CHECK(listed(request.headers) == HeaderList{{"Accept", "application/json"},
                                              {"Content-Type", "application/json"},
                                              {"User-Agent", user_agent}});
  CHECK(request.body == password_body);
}

TEST_CASE("get_token_by_meeting posts its body to /oauth2/token?Meeting in every form") {
  FakeBackend backend;
  Api api(bj::Configuration{}, backend);
  const std::string token_reply =
      R"({"access_token":"meeting-token-0123456","scope":{"meeting":{"isModerator":false}}})";
  bj::GrantMeeting expected;
  expected.access_token = "meeting-token-0123456";
  expected.scope = bj::GrantMeetingScope{};
  expected.scope->meeting = bj::GrantMeetingScopeMeeting{};
  expected.scope->meeting->is_moderator = false;

  SUBCASE("throwing") {
    backend.then(reply(200, token_reply));
    CHECK(api.get_token_by_meeting(meeting_request) == expected);
  }
  SUBCASE("with http info") {
    backend.then(reply_with_header(token_reply));
    const auto response = api.get_token_by_meeting_with_http_info(meeting_request);
    CHECK(response.data == expected);
    CHECK(response.status == 200);
    CHECK(response.headers.count("X-Request-Id") == 1);
  }
  SUBCASE("result") {
    backend.then(reply(200, token_reply));
    const auto result = api.try_get_token_by_meeting(meeting_request);
    REQUIRE(result.ok());
    CHECK(result.value() == expected);
  }
  SUBCASE("async") {
    backend.then(reply(200, token_reply));
    CHECK(api.get_token_by_meeting_async(meeting_request).get() == expected);
  }

  const auto request = only_request(api);
  CHECK(request.method == "POST");
  CHECK(request.target == "/oauth2/token?Meeting");
  CHECK(listed(request.headers) == HeaderList{{"Accept", "application/json"},
                                              {"Content-Type", "application/json"},
                                              {"User-Agent", user_agent}});
  CHECK(request.body == meeting_body);
}

TEST_CASE("get_token_info sends the configured token, or the given one, in every form") {
  FakeBackend backend;
  const std::string info_reply = R"({"user":4242})";
  const bj::TokenInfo expected{4242};

  SUBCASE("the configured token") {
    Api api(with_key("configured-token"), backend);
    SUBCASE("throwing") {
      backend.then(reply(200, info_reply));
      CHECK(api.get_token_info() == expected);
    }
    SUBCASE("with http info") {
      backend.then(reply_with_header(info_reply));
      const auto response = api.get_token_info_with_http_info();
      CHECK(response.data == expected);
      CHECK(response.status == 200);
      CHECK(response.headers.count("X-Request-Id") == 1);
    }
    SUBCASE("result") {
      backend.then(reply(200, info_reply));
      const auto result = api.try_get_token_info();
      REQUIRE(result.ok());
      CHECK(result.value() == expected);
    }
    SUBCASE("async") {
      backend.then(reply(200, info_reply));
      CHECK(api.get_token_info_async().get() == expected);
    }
    CHECK(only_request(api).target == "/oauth2/tokenInfo?access_token=configured-token");
  }

  SUBCASE("a given token takes the place of the configured one") {
    Api api(with_key("configured-token"), backend);
    SUBCASE("throwing") {
      backend.then(reply(200, info_reply));
      CHECK(api.get_token_info("given-token") == expected);
    }
    SUBCASE("with http info") {
      backend.then(reply(200, info_reply));
      CHECK(api.get_token_info_with_http_info("given-token").data == expected);
    }
    SUBCASE("result") {
      backend.then(reply(200, info_reply));
      CHECK(api.try_get_token_info("given-token").value() == expected);
    }
    SUBCASE("async") {
      backend.then(reply(200, info_reply));
      CHECK(api.get_token_info_async("given-token").get() == expected);
    }
    CHECK(only_request(api).target == "/oauth2/tokenInfo?access_token=given-token");
  }

  SUBCASE("a given token works without a configured one") {
    Api api(bj::Configuration{}, backend);
    backend.then(reply(200, info_reply));
    CHECK(api.get_token_info("given-token") == expected);
    CHECK(only_request(api).target == "/oauth2/tokenInfo?access_token=given-token");
  }

  const auto requests = backend.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests.front().method == "GET");
  CHECK(listed(requests.front().headers) ==
        HeaderList{{"Accept", "application/json"}, {"User-Agent", user_agent}});
  CHECK(requests.front().body.empty());
}

TEST_CASE("get_token_info without any token sends nothing") {
  FakeBackend backend;
  Api api(bj::Configuration{}, backend);

  CHECK_THROWS_AS(api.get_token_info(), bj::RequestError);
  CHECK_THROWS_AS(api.get_token_info(""), bj::RequestError);
  CHECK_FALSE(api.try_get_token_info().ok());
  CHECK_THROWS_AS(api.get_token_info_async().get(), bj::RequestError);
  CHECK(backend.requests().empty());
}

TEST_CASE("the API key is appended as access_token with &, URL-encoded, with its prefix") {
  FakeBackend backend;

  SUBCASE("after a grant's marker it is joined with &, never a second ?") {
    Api api(with_key("key-123"), backend);
    (void)api.get_token_by_client(client_request);
    (void)api.get_token_by_meeting(meeting_request);
    (void)api.get_token_by_password(password_request);
    const auto requests = backend.requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[0].target == "/oauth2/token?Client&access_token=key-123");
    CHECK(requests[1].target == "/oauth2/token?Meeting&access_token=key-123");
    CHECK(requests[2].target == "/oauth2/token?Password&access_token=key-123");
  }
  SUBCASE("reserved characters are percent-encoded") {
    Api api(with_key("a b&c=d?e/f+g%h~i_j.k-l"), backend);
    (void)api.get_token_by_client(client_request);
    CHECK(only_request(api).target ==
          "/oauth2/token?Client&access_token=a%20b%26c%3Dd%3Fe%2Ff%2Bg%25h~i_j.k-l");
  }
  SUBCASE("bytes beyond ASCII are percent-encoded per byte") {
    Api api(with_key("\xC3\xA9t\xC3\xA9"), backend);
    (void)api.get_token_info();
    CHECK(only_request(api).target == "/oauth2/tokenInfo?access_token=%C3%A9t%C3%A9");
  }
  SUBCASE("a prefix goes before the key with one space") {
    Api api(with_key("xyz", "Bearer"), backend);
    (void)api.get_token_by_password(password_request);
    (void)api.get_token_info();
    (void)api.get_token_info("given");
    const auto requests = backend.requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[0].target == "/oauth2/token?Password&access_token=Bearer%20xyz");
    CHECK(requests[1].target == "/oauth2/tokenInfo?access_token=Bearer%20xyz");
    CHECK(requests[2].target == "/oauth2/tokenInfo?access_token=Bearer%20given");
  }
  SUBCASE("an empty prefix adds nothing") {
    bj::Configuration config = with_key("xyz");
    config.api_key_prefix["access_token"] = "";
    Api api_with_empty_prefix(config, backend);
    (void)api_with_empty_prefix.get_token_info();
    CHECK(backend.requests().at(0).target == "/oauth2/tokenInfo?access_token=xyz");
  }
  SUBCASE("a key for another scheme is not sent") {
    bj::Configuration config;
    config.api_key["other"] = "nope";
    Api api(config, backend);
    (void)api.get_token_by_client(client_request);
    CHECK(only_request(api).target == "/oauth2/token?Client");
  }
  SUBCASE("an empty key is not sent") {
    Api api(with_key(""), backend);
    (void)api.get_token_by_meeting(meeting_request);
    CHECK(only_request(api).target == "/oauth2/token?Meeting");
  }
}

TEST_CASE("the host's base path goes before every operation's path") {
  FakeBackend backend;
  bj::Configuration config = with_key("k");

  SUBCASE("with a trailing slash") { config.host = "http://127.0.0.1:1/base/"; }
  SUBCASE("without one") { config.host = "http://127.0.0.1:1/base"; }
  SUBCASE("over https") { config.host = "https://api.example.com/base//"; }

  Api api(config, backend);
  (void)api.get_token_by_client(client_request);
  (void)api.get_token_by_meeting(meeting_request);
  (void)api.get_token_by_password(password_request);
  (void)api.get_token_info();

  const auto requests = backend.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[0].target == "/base/oauth2/token?Client&access_token=k");
  CHECK(requests[1].target == "/base/oauth2/token?Meeting&access_token=k");
  CHECK(requests[2].target == "/base/oauth2/token?Password&access_token=k");
  CHECK(requests[3].target == "/base/oauth2/tokenInfo?access_token=k");
}

TEST_CASE("a host without a path sends the bare operation paths") {
  FakeBackend backend;
  bj::Configuration config;

  SUBCASE("loopback with a port") { config.host = "http://127.0.0.1:8080"; }
  SUBCASE("a trailing slash") { config.host = "https://api.bluejeans.com/"; }
  SUBCASE("IPv6 loopback") { config.host = "http://[::1]:8080"; }
  SUBCASE("localhost") { config.host = "HTTP://localhost"; }

  Api api(config, backend);
  (void)api.get_token_by_client(client_request);
  CHECK(only_request(api).target == "/oauth2/token?Client");
}

TEST_CASE("the user agent and default headers go with every request") {
  FakeBackend backend;
  bj::Configuration config = with_key("k");
  config.user_agent = "my-app/2.0";
  config.default_headers["X-Trace"] = "t-1";
  config.default_headers["X-Tenant"] = "acme";
  Api api(config, backend);

  (void)api.get_token_by_client(client_request);
  (void)api.get_token_info();

  const auto requests = backend.requests();
  REQUIRE(requests.size() == 2);
  CHECK(listed(requests[0].headers) == HeaderList{{"Accept", "application/json"},
                                                  {"Content-Type", "application/json"},
                                                  {"User-Agent", "my-app/2.0"},
                                                  {"X-Tenant", "acme"},
                                                  {"X-Trace", "t-1"}});
  CHECK(listed(requests[1].headers) == HeaderList{{"Accept", "application/json"},
                                                  {"User-Agent", "my-app/2.0"},
                                                  {"X-Tenant", "acme"},
                                                  {"X-Trace", "t-1"}});
}

TEST_CASE("request bodies escape what JSON must escape") {
  FakeBackend backend;
  Api api(bj::Configuration{}, backend);

  (void)api.get_token_by_password({"password", "al\"ice\\", "p\tw \xC3\xA9"});

  CHECK(only_request(api).body ==
        "{\"grant_type\":\"password\",\"password\":\"p\\tw \xC3\xA9\","
        "\"username\":\"al\\\"ice\\\\\"}");
}

TEST_CASE("any 2xx status is a success") {
  FakeBackend backend;
  Api api(bj::Configuration{}, backend);
  backend.then(reply(201, R"({"user":1})"));
  backend.then(reply(299, R"({"user":2})"));

  CHECK(api.get_token_info_with_http_info("t").status == 201);
  CHECK(api.get_token_info("t").user == 2);
}

TEST_CASE("several async calls on one API object each get their own reply") {
  FakeBackend backend;
  Api api(bj::Configuration{}, backend);
  backend.then_call([](const bj::HttpRequest& request) {
    return bj::BackendResult(reply(200, R"({"user":)" + std::to_string(request.target.size()) +
                                            "}"));
  });
  backend.then_call([](const bj::HttpRequest& request) {
    return bj::BackendResult(reply(200, R"({"user":)" + std::to_string(request.target.size()) +
                                            "}"));
  });

  auto short_token = api.get_token_info_async("a");
  auto long_token = api.get_token_info_async("abc");

  CHECK(short_token.get().user == 32);
  CHECK(long_token.get().user == 34);
  CHECK(backend.requests().size() == 2);
}
