// test_recording_backend.cpp: the user-written backend of examples/ drives the API as the
// shipped backends do, so users can test their code with it.
// SPDX-License-Identifier: MIT
#define BLUEJEANS_AUTH_NO_HTTPLIB
#include "recording_backend.hpp"

#include <doctest/doctest.h>

namespace bj = bluejeans::auth;
using example::RecordingBackend;

namespace {

bj::Configuration test_config() {
  bj::Configuration config;
  config.retry.max_attempts = 1;  // one exchange per call: each test scripts single replies
  config.host = "https://auth.example.com/api";
  config.api_key["access_token"] = "configured-token";
  return config;
}

}  // namespace

TEST_CASE("a recorded request holds what the API sent") {
  RecordingBackend backend;
  backend.reply(200, R"({"access_token":"t","expires_in":60})");
  bj::AuthenticationApi<RecordingBackend> api(test_config(), backend);

  const auto grant = api.get_token_by_password({"password", "ann", "pw"});

  CHECK(grant.expires_in == 60);
  const auto requests = backend.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].target == "/api/oauth2/token?Password&access_token=configured-token");
  CHECK(requests[0].headers.find("content-type")->second == "application/json");
  CHECK(requests[0].body == R"({"grant_type":"password","password":"pw","username":"ann"})");
}

TEST_CASE("canned replies are given in order, error statuses included") {
  RecordingBackend backend;
  backend.reply(200, R"({"user":1})").reply(401, R"({"message":"Token expired"})");
  bj::AuthenticationApi<RecordingBackend> api(test_config(), backend);

  CHECK(api.get_token_info().user == 1);
  CHECK_THROWS_WITH_AS(api.get_token_info(), "get_token_info: server answered 401: Token expired",
                       bj::HttpError);
  CHECK(backend.replies_left() == 0);
}

TEST_CASE("a scripted transport failure raises TransportError") {
  RecordingBackend backend;
  backend.fail(bj::TransportFailureKind::timeout, "scripted silence");
  bj::AuthenticationApi<RecordingBackend> api(test_config(), backend);

  const auto result = api.try_get_token_info();

  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == bj::ErrorKind::transport);
  CHECK(result.error().transport_failure == bj::TransportFailureKind::timeout);
  CHECK(result.error().message == "get_token_info: timed out: scripted silence");
}

TEST_CASE("a call with no canned reply left fails without showing the token") {
  bj::AuthenticationApi<RecordingBackend> api(test_config());

  const auto result = api.try_get_token_info();

  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message ==
        "get_token_info: transport failure: no canned reply left for GET /api/oauth2/tokenInfo");
  CHECK(api.backend().requests().size() == 1);
}

TEST_CASE("copies of the backend share one script and one record") {
  RecordingBackend kept;
  RecordingBackend given = kept;
  kept.reply(200, R"({"user":5})");
  bj::AuthenticationApi<RecordingBackend> api(test_config(), given);

  CHECK(api.get_token_info("other-token").user == 5);

  REQUIRE(kept.requests().size() == 1);
  CHECK(kept.requests()[0].target == "/api/oauth2/tokenInfo?access_token=other-token");
}
