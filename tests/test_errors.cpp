// test_errors.cpp: every way a call can fail, the exact message of each, and that no secret
// reaches a message or a log line.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"
#include "support/fake_backend.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace {

namespace bj = bluejeans::auth;
using bj::testing::FakeBackend;
using bj::testing::reply;
using Api = bj::AuthenticationApi<FakeBackend>;

const bj::GrantRequestClient client_request{"client_credentials", "app-id", "app-secret"};
const bj::GrantRequestPassword password_request{"password", "alice", "alice-password"};
const bj::GrantRequestMeeting meeting_request{"meeting_passcode", "1234567890", "4321"};

// The error of a call that must fail, checked to match between the throwing and the
// non-throwing form of get_token_by_client.
bj::ApiError client_error(Api& api) {
  const auto result = api.try_get_token_by_client(client_request);
  REQUIRE_FALSE(result.ok());
  return result.error();
}

bj::Configuration loopback() {
  bj::Configuration config;
  config.retry.max_attempts = 1;  // one exchange per call: each test scripts single replies
  config.host = "http://127.0.0.1:1";
  return config;
}

bj::TransportFailure failure(bj::TransportFailureKind kind, std::string message) {
  return bj::TransportFailure{kind, std::move(message)};
}

}  // namespace

TEST_CASE("an empty or malformed request field is refused before anything is sent") {
  FakeBackend backend;
  Api api(bj::Configuration{}, backend);

  SUBCASE("each empty field is named") {
    CHECK(api.try_get_token_by_client({"client_credentials", "", "s"}).error().message ==
          "get_token_by_client: refused to send: client_id is empty");
    CHECK(api.try_get_token_by_client({"client_credentials", "id", ""}).error().message ==
          "get_token_by_client: refused to send: client_secret is empty");
    CHECK(api.try_get_token_by_client({"", "id", "s"}).error().message ==
          "get_token_by_client: refused to send: grant_type is empty");
    CHECK(api.try_get_token_by_password({"password", "", "pw"}).error().message ==
          "get_token_by_password: refused to send: username is empty");
    CHECK(api.try_get_token_by_password({"password", "alice", ""}).error().message ==
          "get_token_by_password: refused to send: password is empty");
    CHECK(api.try_get_token_by_meeting({"meeting_passcode", "", "1"}).error().message ==
          "get_token_by_meeting: refused to send: meetingNumericId is empty");
    CHECK(api.try_get_token_by_meeting({"meeting_passcode", "1", ""}).error().message ==
          "get_token_by_meeting: refused to send: meetingPasscode is empty");
  }
  SUBCASE("invalid UTF-8 is named without showing the value") {
    CHECK(api.try_get_token_by_password({"password", "alice", "pw\xFF"}).error().message ==
          "get_token_by_password: refused to send: password is not valid UTF-8");
    CHECK(api.try_get_token_by_client({"client_credentials", "\xC0\xAF", "s"}).error().message ==
          "get_token_by_client: refused to send: client_id is not valid UTF-8");
    CHECK(api.try_get_token_by_meeting({"meeting_passcode", "1", "\xED\xA0\x80"})
              .error()
              .message == "get_token_by_meeting: refused to send: meetingPasscode is not valid "
                          "UTF-8");
    CHECK(api.try_get_token_by_meeting({"meeting_passcode", "1", "\xE2\x82"}).error().message ==
          "get_token_by_meeting: refused to send: meetingPasscode is not valid UTF-8");
  }
  SUBCASE("the throwing form raises RequestError with the same error") {
    try {
      (void)api.get_token_by_client({"client_credentials", "id", ""});
      FAIL("no exception");
    } catch (const bj::RequestError& e) {
      CHECK(std::string(e.what()) ==
            "get_token_by_client: refused to send: client_secret is empty");
      CHECK(e.kind() == bj::ErrorKind::request);
      CHECK(e.error().operation == "get_token_by_client");
      CHECK(e.status() == 0);
      CHECK(e.body().empty());
      CHECK_FALSE(e.error().transport_failure);
    }
  }

  CHECK(backend.requests().empty());
}

TEST_CASE("a header value or name with CR, LF or NUL is refused") {
  FakeBackend backend;
  bj::Configuration config;

  SUBCASE("in a default header's value") {
    config.default_headers["X-Trace"] = "a\r\nInjected: yes";
    Api api(config, backend);
    CHECK(client_error(api).message ==
          "get_token_by_client: refused to send: header X-Trace has CR, LF or NUL in its value");
  }
  SUBCASE("a NUL in a default header's value") {
    config.default_headers["X-Trace"] = std::string("a\0b", 3);
    Api api(config, backend);
    CHECK(client_error(api).message ==
          "get_token_by_client: refused to send: header X-Trace has CR, LF or NUL in its value");
  }
  SUBCASE("in a default header's name") {
    config.default_headers["X-Bad\nName"] = "v";
    Api api(config, backend);
    CHECK(client_error(api).message ==
          "get_token_by_client: refused to send: header name \"X-Bad?Name\" is empty or has "
          "CR, LF or NUL");
  }
  SUBCASE("an empty header name") {
    config.default_headers[""] = "v";
    Api api(config, backend);
    CHECK(client_error(api).message ==
          "get_token_by_client: refused to send: header name \"\" is empty or has CR, LF or NUL");
  }
  SUBCASE("in the user agent") {
    config.user_agent = "agent\n";
    Api api(config, backend);
    CHECK(client_error(api).message ==
          "get_token_by_client: refused to send: header User-Agent has CR, LF or NUL in its "
          "value");
  }

  CHECK(backend.requests().empty());
}

TEST_CASE("get_token_info without a token is refused") {
  FakeBackend backend;
  Api api(bj::Configuration{}, backend);

  const std::string message =
      "get_token_info: refused to send: no access token: pass one or set "
      "api_key[\"access_token\"]";
  CHECK(api.try_get_token_info().error().message == message);
  CHECK(api.try_get_token_info("").error().message == message);
  CHECK(api.try_get_token_info().error().kind == bj::ErrorKind::request);
  CHECK(backend.requests().empty());
}

TEST_CASE("a host that is not an http or https URL is refused") {
  FakeBackend backend;
  bj::Configuration config;
  std::string host;
  std::string shown;  // how the message quotes the host, when not as given

  SUBCASE("another scheme") { host = "ftp://example.com"; }
  SUBCASE("no scheme") { host = "api.bluejeans.com"; }
  SUBCASE("empty") { host = ""; }
  SUBCASE("no host name") { host = "https://"; }
  SUBCASE("user information, shown without it") {
    host = "https://user:pw@example.com";
    shown = "https://<redacted>@example.com";
  }
  SUBCASE("a query") { host = "https://example.com/?x=1"; }
  SUBCASE("a port that is not a number") { host = "https://example.com:http"; }
  SUBCASE("a port out of range") { host = "https://example.com:65536"; }
  SUBCASE("port zero") { host = "https://example.com:0"; }
  SUBCASE("an unclosed IPv6 bracket") { host = "http://[::1:80"; }
  SUBCASE("a space") { host = "https://exa mple.com"; }

  config.host = host;
  Api api(config, backend);
  CHECK(client_error(api).message == "get_token_by_client: refused to send: host \"" +
                                         (shown.empty() ? host : shown) +
                                         "\" is not an http:// or https:// URL");
  CHECK(backend.requests().empty());
}

TEST_CASE("a password in the host or proxy URL shows in no message or log line") {
  const std::string password = "hunter2-pw";
  bj::testing::LogRecord log;
  bj::Configuration config = loopback();
  config.log = log.callback();
  config.log_level = bj::LogLevel::debug;
  std::vector<std::string> messages;

  SUBCASE("a host refused by the API, however the password is written") {
    const std::vector<std::pair<std::string, std::string>> hosts = {
        {"https://user:" + password + "@example.com", "https://<redacted>@example.com"},
        {"http://user:" + password + "@127.0.0.1:8080/base",
         "http://<redacted>@127.0.0.1:8080/base"},
        {"https://us@er:" + password + "/x@example.com", "https://<redacted>@example.com"},
        {"user:" + password + "@example.com", "<redacted>@example.com"},
        {"user:p://" + password + "@example.com", "<redacted>@example.com"},
    };
    for (const auto& entry : hosts) {
      // Plain variables, not structured bindings: CAPTURE needs to capture them in a lambda.
      const std::string& host = entry.first;
      const std::string& shown = entry.second;
      CAPTURE(host);
      config.host = host;
      FakeBackend backend;
      Api api(config, backend);
      messages.push_back(client_error(api).message);
      CHECK(messages.back() == "get_token_by_client: refused to send: host \"" + shown +
                                   "\" is not an http:// or https:// URL");
      CHECK(backend.requests().empty());
    }
  }
  SUBCASE("a host refused by the default backend") {
    config.host = "https://user:" + password + "@example.com";
    bj::HttplibBackend backend(config);
    const auto outcome = backend.send({"GET", "/oauth2/tokenInfo", {}, ""});
    REQUIRE(std::holds_alternative<bj::TransportFailure>(outcome));
    messages.push_back(std::get<bj::TransportFailure>(outcome).message);
    CHECK(messages.back() ==
          "host \"https://<redacted>@example.com\" is not an http:// or https:// URL");
  }
  SUBCASE("a proxy refused by the default backend, and the warning it logs") {
    for (const char* host : {"https://api.example.invalid", "http://127.0.0.1:1"}) {
      CAPTURE(host);
      config.host = host;
      config.proxy = "http://user:" + password + "@proxy.example:3128";
      bj::AuthenticationApi<bj::HttplibBackend> api(config);
      messages.push_back(api.try_get_token_by_client(client_request).error().message);
      CHECK(messages.back() ==
            "get_token_by_client: transport failure: proxy "
            "\"http://<redacted>@proxy.example:3128\" is not an http:// URL");
    }
    CHECK(log.text().back() == "bluejeans-auth: " + messages.back());
  }

  for (const auto& text : messages) {
    CAPTURE(text);
    CHECK(text.find(password) == std::string::npos);
    CHECK(text.find("user") == std::string::npos);
  }
  for (const auto& line : log.text()) {
    CAPTURE(line);
    CHECK(line.find(password) == std::string::npos);
    CHECK(line.find("user") == std::string::npos);
  }
}

TEST_CASE("a host with a line break is refused and shown without it") {
  FakeBackend backend;
  bj::Configuration config;
  config.host = "https://example.com\r\nX: y";
  Api api(config, backend);

  CHECK(client_error(api).message ==
        "get_token_by_client: refused to send: host \"https://example.com??X: y\" is not an "
        "http:// or https:// URL");
  CHECK(backend.requests().empty());
}

TEST_CASE("credentials go over plain http only to loopback unless the user accepts the risk") {
  FakeBackend backend;
  bj::Configuration config;

  SUBCASE("a remote host is refused") {
    config.host = "http://example.com:8080/base";
    Api api(config, backend);
    CHECK(client_error(api).message ==
          "get_token_by_client: refused to send: refusing to send credentials over plain http "
          "to example.com; use https, or set allow_insecure_http to accept the risk");
    config.api_key["access_token"] = "t";
    Api info_api(config, backend);
    CHECK(info_api.try_get_token_info().error().kind == bj::ErrorKind::request);
    CHECK(backend.requests().empty());
  }
  SUBCASE("an address that only starts like loopback is remote") {
    config.host = "http://127.0.0.1.example.com";
    Api api(config, backend);
    CHECK(client_error(api).kind == bj::ErrorKind::request);
    CHECK(backend.requests().empty());
  }
  SUBCASE("allow_insecure_http lets it through") {
    config.host = "http://example.com";
    config.allow_insecure_http = true;
    Api api(config, backend);
    CHECK(api.try_get_token_by_client(client_request).ok());
    CHECK(backend.requests().size() == 1);
  }
  SUBCASE("loopback hosts are allowed") {
    for (const char* host : {"http://127.0.0.1:1", "http://127.1.2.3", "http://localhost:80",
                             "http://[::1]:8080"}) {
      CAPTURE(host);
      config.host = host;
      Api api(config, backend);
      CHECK(api.try_get_token_by_client(client_request).ok());
    }
    CHECK(backend.requests().size() == 4);
  }
}

TEST_CASE("a transport failure raises TransportError naming its kind") {
  FakeBackend backend;
  Api api(loopback(), backend);
  using Kind = bj::TransportFailureKind;

  const std::vector<std::pair<Kind, std::string>> cases = {
      {Kind::connect, "get_token_by_client: could not connect: refused (127.0.0.1:1)"},
      {Kind::timeout, "get_token_by_client: timed out: refused (127.0.0.1:1)"},
      {Kind::tls, "get_token_by_client: TLS failure: refused (127.0.0.1:1)"},
      {Kind::read, "get_token_by_client: failed reading the reply: refused (127.0.0.1:1)"},
      {Kind::write, "get_token_by_client: failed sending the request: refused (127.0.0.1:1)"},
      {Kind::too_large, "get_token_by_client: reply too large: refused (127.0.0.1:1)"},
      {Kind::other, "get_token_by_client: transport failure: refused (127.0.0.1:1)"},
  };
  for (const auto& entry : cases) {
    // Plain variables, not structured bindings: CAPTURE needs to capture them in a lambda.
    const Kind kind = entry.first;
    const std::string& message = entry.second;
    CAPTURE(message);
    backend.then(failure(kind, "refused (127.0.0.1:1)"));
    try {
      (void)api.get_token_by_client(client_request);
      FAIL("no exception");
    } catch (const bj::TransportError& e) {
      CHECK(std::string(e.what()) == message);
      CHECK(e.kind() == bj::ErrorKind::transport);
      CHECK(e.error().transport_failure == kind);
      CHECK(e.status() == 0);
      CHECK(e.reason().empty());
      CHECK(e.body().empty());
      CHECK(e.headers().empty());
    }
  }

  SUBCASE("an empty message leaves only the kind") {
    backend.then(failure(Kind::timeout, ""));
    CHECK(client_error(api).message == "get_token_by_client: timed out");
  }
  SUBCASE("control characters in the backend's message are made printable") {
    backend.then(failure(Kind::read, "reset\r\nby peer"));
    CHECK(client_error(api).message ==
          "get_token_by_client: failed reading the reply: reset??by peer");
  }
}

TEST_CASE("a backend that throws is treated as a transport failure") {
  FakeBackend backend;
  Api api(loopback(), backend);

  SUBCASE("a standard exception") {
    backend.then_call([](const bj::HttpRequest&) -> bj::BackendResult {
      throw std::runtime_error("socket exploded");
    });
    const auto error = client_error(api);
    CHECK(error.message ==
          "get_token_by_client: transport failure: backend threw: socket exploded");
    CHECK(error.kind == bj::ErrorKind::transport);
    CHECK(error.transport_failure == bj::TransportFailureKind::other);
  }
  SUBCASE("anything else") {
    backend.then_call([](const bj::HttpRequest&) -> bj::BackendResult { throw 42; });
    CHECK(client_error(api).message ==
          "get_token_by_client: transport failure: backend threw a non-standard value");
  }
  SUBCASE("the throwing form raises TransportError") {
    backend.then_call([](const bj::HttpRequest&) -> bj::BackendResult {
      throw std::logic_error("bug");
    });
    CHECK_THROWS_AS(api.get_token_info("t"), bj::TransportError);
  }
  SUBCASE("the async form hands the TransportError over through the future") {
    backend.then_call([](const bj::HttpRequest&) -> bj::BackendResult {
      throw std::runtime_error("gone");
    });
    auto future = api.get_token_by_meeting_async(meeting_request);
    CHECK_THROWS_WITH_AS(future.get(),
                         "get_token_by_meeting: transport failure: backend threw: gone",
                         bj::TransportError);
  }
}

TEST_CASE("an HTTP error status raises HttpError with the server's message") {
  FakeBackend backend;
  Api api(loopback(), backend);

  SUBCASE("a 401 with an Error body") {
    auto response = reply(401, R"({"message":"Invalid client"})", "Unauthorized");
    response.headers.emplace("WWW-Authenticate", "Bearer");
    backend.then(response);
    try {
      (void)api.get_token_by_client(client_request);
      FAIL("no exception");
    } catch (const bj::HttpError& e) {
      CHECK(std::string(e.what()) == "get_token_by_client: server answered 401: Invalid client");
      CHECK(e.kind() == bj::ErrorKind::http_status);
      CHECK(e.status() == 401);
      CHECK(e.reason() == "Unauthorized");
      CHECK(e.body() == R"({"message":"Invalid client"})");
      CHECK(e.headers().count("www-authenticate") == 1);
      CHECK(e.headers().find("Content-Type")->second == "application/json");
      REQUIRE(e.error().server_error);
      CHECK(e.error().server_error->message == "Invalid client");
      CHECK(e.error().operation == "get_token_by_client");
      CHECK_FALSE(e.error().transport_failure);
    }
  }
  SUBCASE("a 502 with an HTML body shows the reason phrase") {
    backend.then(reply(502, "<html><body>Bad Gateway</body></html>", "Bad Gateway"));
    const auto error = client_error(api);
    CHECK(error.message == "get_token_by_client: server answered 502 Bad Gateway");
    CHECK(error.body == "<html><body>Bad Gateway</body></html>");
    CHECK_FALSE(error.server_error);
  }
  SUBCASE("an empty body and no reason leave the status alone") {
    backend.then(reply(503, ""));
    CHECK(client_error(api).message == "get_token_by_client: server answered 503");
  }
  SUBCASE("an Error body without a usable message falls back to the reason") {
    backend.then(reply(400, R"({"message":""})", "Bad Request"));
    backend.then(reply(400, R"({"message":7})", "Bad Request"));
    backend.then(reply(400, R"({"error":"x"})", "Bad Request"));
    backend.then(reply(400, R"(["Invalid"])", "Bad Request"));
    for (int i = 0; i < 4; ++i) {
      CAPTURE(i);
      CHECK(client_error(api).message == "get_token_by_client: server answered 400 Bad Request");
    }
  }
  SUBCASE("a 3xx is not followed and is an error too") {
    auto response = reply(302, "", "Found");
    response.headers.emplace("Location", "https://elsewhere.example.com/");
    backend.then(response);
    CHECK(client_error(api).message == "get_token_by_client: server answered 302 Found");
  }
  SUBCASE("the server's message is bounded and made printable") {
    backend.then(reply(400, R"({"message":"line one\nline two"})"));
    backend.then(reply(400, nlohmann::json{{"message", std::string(400, 'x')}}.dump()));
    CHECK(client_error(api).message ==
          "get_token_by_client: server answered 400: line one?line two");
    CHECK(client_error(api).message ==
          "get_token_by_client: server answered 400: " + std::string(300, 'x') + "...");
  }
  SUBCASE("every operation names itself") {
    backend.then(reply(401, R"({"message":"Invalid token"})"));
    backend.then(reply(403, R"({"message":"Forbidden meeting"})"));
    backend.then(reply(401, R"({"message":"Invalid user"})"));
    CHECK_THROWS_WITH_AS(api.get_token_info("t"),
                         "get_token_info: server answered 401: Invalid token", bj::HttpError);
    CHECK_THROWS_WITH_AS(api.get_token_by_meeting(meeting_request),
                         "get_token_by_meeting: server answered 403: Forbidden meeting",
                         bj::HttpError);
    CHECK_THROWS_WITH_AS(api.get_token_by_password_async(password_request).get(),
                         "get_token_by_password: server answered 401: Invalid user",
                         bj::HttpError);
  }
}

TEST_CASE("a 2xx reply that is not the promised JSON raises DecodeError") {
  FakeBackend backend;
  Api api(loopback(), backend);

  SUBCASE("not JSON") {
    backend.then(reply(200, "<html>hello</html>", "OK"));
    const auto error = client_error(api);
    CHECK(error.message == "get_token_by_client: undecodable reply: reply is not JSON");
    CHECK(error.kind == bj::ErrorKind::decode);
    CHECK(error.status == 200);
    CHECK(error.reason == "OK");
    CHECK(error.body == "<html>hello</html>");
    CHECK(error.headers.count("content-type") == 1);
  }
  SUBCASE("an empty body") {
    backend.then(reply(200, ""));
    CHECK(client_error(api).message ==
          "get_token_by_client: undecodable reply: reply body is empty");
  }
  SUBCASE("the wrong shape") {
    backend.then(reply(200, "[]"));
    backend.then(reply(200, R"({"access_token":42})"));
    backend.then(reply(200, R"({"scope":{"partition":{"id":"1"}}})"));
    CHECK(client_error(api).message ==
          "get_token_by_client: undecodable reply: expected object, got array");
    CHECK(client_error(api).message ==
          "get_token_by_client: undecodable reply: access_token: expected string, got number");
    CHECK(client_error(api).message == "get_token_by_client: undecodable reply: "
                                       "scope.partition.id: expected integer, got string");
  }
  SUBCASE("nesting too deep to be a reply") {
    backend.then(reply(200, "{\"x\":" + std::string(65, '[') + std::string(65, ']') + "}"));
    CHECK(client_error(api).message ==
          "get_token_by_client: undecodable reply: reply nests deeper than 64 levels");
  }
  SUBCASE("nesting within the limit is only the wrong shape") {
    backend.then(reply(200, std::string(64, '[') + std::string(64, ']')));
    CHECK(client_error(api).message ==
          "get_token_by_client: undecodable reply: expected object, got array");
  }
  SUBCASE("brackets inside strings do not count as nesting") {
    backend.then(reply(200, R"({"access_token":")" + std::string(100, '[') +
                                R"(\"[","expires_in":1})"));
    CHECK(api.try_get_token_by_client(client_request).ok());
  }
  SUBCASE("the throwing forms raise DecodeError") {
    backend.then(reply(200, "nope"));
    backend.then(reply(200, R"({"user":"me"})"));
    CHECK_THROWS_AS(api.get_token_by_password(password_request), bj::DecodeError);
    CHECK_THROWS_WITH_AS(api.get_token_info("t"),
                         "get_token_info: undecodable reply: user: expected integer, got string",
                         bj::DecodeError);
  }
}

TEST_CASE("each ErrorKind is thrown as its own exception class") {
  const std::vector<std::pair<bj::ErrorKind, const char*>> kinds = {
      {bj::ErrorKind::request, "request"},
      {bj::ErrorKind::transport, "transport"},
      {bj::ErrorKind::http_status, "http_status"},
      {bj::ErrorKind::decode, "decode"},
  };
  for (const auto& entry : kinds) {
    const bj::ErrorKind kind = entry.first;
    const char* const name = entry.second;
    CAPTURE(name);
    bj::ApiError error;
    error.kind = kind;
    error.message = name;
    try {
      bj::throw_api_error(error);
    } catch (const bj::RequestError& e) {
      CHECK(kind == bj::ErrorKind::request);
    } catch (const bj::TransportError& e) {
      CHECK(kind == bj::ErrorKind::transport);
    } catch (const bj::HttpError& e) {
      CHECK(kind == bj::ErrorKind::http_status);
    } catch (const bj::DecodeError& e) {
      CHECK(kind == bj::ErrorKind::decode);
    }
    CHECK_THROWS_WITH_AS(bj::throw_api_error(error), name, bj::ApiException);
    CHECK_THROWS_WITH_AS(bj::throw_api_error(error), name, std::exception);
  }
}

TEST_CASE("Result::value() throws the subclass for its error") {
  FakeBackend backend;
  Api api(loopback(), backend);
  backend.then(failure(bj::TransportFailureKind::connect, ""));
  backend.then(reply(500, ""));
  backend.then(reply(200, "x"));

  const auto refused = api.try_get_token_by_client({"client_credentials", "", "s"});
  const auto unreachable = api.try_get_token_by_client(client_request);
  const auto failed = api.try_get_token_by_client(client_request);
  const auto garbled = api.try_get_token_by_client(client_request);

  CHECK_FALSE(static_cast<bool>(refused));
  CHECK_THROWS_AS((void)refused.value(), bj::RequestError);
  CHECK_THROWS_AS((void)unreachable.value(), bj::TransportError);
  CHECK_THROWS_AS((void)failed.value(), bj::HttpError);
  CHECK_THROWS_AS((void)garbled.value(), bj::DecodeError);
  CHECK_THROWS_WITH((void)failed.value(), "get_token_by_client: server answered 500");

  bj::Result<int> moved_from_error(failed.error());
  CHECK_THROWS_AS((void)std::move(moved_from_error).value(), bj::HttpError);
  CHECK(std::move(moved_from_error).error().status == 500);
}

TEST_CASE("exceptions copy cheaply and keep their error") {
  bj::ApiError error;
  error.kind = bj::ErrorKind::http_status;
  error.message = "get_token_info: server answered 401";
  error.status = 401;
  const bj::HttpError original(error);
  const bj::HttpError copy = original;  // NOLINT(performance-unnecessary-copy-initialization)

  CHECK(&copy.error() == &original.error());
  CHECK(std::string(copy.what()) == "get_token_info: server answered 401");
  CHECK(copy.status() == 401);
}

TEST_CASE("no secret reaches an exception message or a log line") {
  const std::string client_secret = "CLIENT-SECRET-4f2a9c";
  const std::string password = "PASSWORD-7d1e3b";
  const std::string passcode = "PASSCODE-9a8b7c";
  const std::string api_key = "API-KEY-1c2d3e4f";
  const std::string access_token = "ACCESS-TOKEN-5e6f7a8b9c";
  const std::string refresh_token = "REFRESH-TOKEN-0a1b2c3d4e";
  const std::vector<std::string> secrets = {client_secret, password, passcode, api_key,
                                            access_token, refresh_token};

  bj::testing::LogRecord log;
  bj::Configuration config = loopback();
  config.api_key["access_token"] = api_key;
  config.log = log.callback();
  config.log_level = bj::LogLevel::debug;
  FakeBackend backend;
  Api api(config, backend);
  std::vector<std::string> messages;

  const bj::GrantRequestClient client{"client_credentials", "app-id", client_secret};
  const bj::GrantRequestPassword user{"password", "alice", password};
  const bj::GrantRequestMeeting meeting{"meeting_passcode", "1234567890", passcode};

  SUBCASE("a server that echoes the credential in its Error message is scrubbed") {
    backend.then(reply(401, R"({"message":"bad secret )" + client_secret + R"("})"));
    backend.then(reply(401, R"({"message":"password )" + password + R"( is wrong"})"));
    backend.then(reply(401, R"({"message":")" + passcode + R"("})"));
    backend.then(reply(401, R"({"message":"key )" + api_key + R"( unknown"})"));
    messages.push_back(api.try_get_token_by_client(client).error().message);
    messages.push_back(api.try_get_token_by_password(user).error().message);
    messages.push_back(api.try_get_token_by_meeting(meeting).error().message);
    messages.push_back(api.try_get_token_by_client(client).error().message);
    CHECK(messages[0] == "get_token_by_client: server answered 401: bad secret <redacted>");
    CHECK(messages[1] == "get_token_by_password: server answered 401: password <redacted> is "
                         "wrong");
    CHECK(messages[2] == "get_token_by_meeting: server answered 401: <redacted>");
    CHECK(messages[3] == "get_token_by_client: server answered 401: key <redacted> unknown");
  }
  SUBCASE("a secret echoed at the end of a long message is scrubbed before it is cut") {
    backend.then(reply(401, nlohmann::json{{"message", std::string(295, '.') + client_secret}}
                                .dump()));
    messages.push_back(api.try_get_token_by_client(client).error().message);
    CHECK(messages[0] == "get_token_by_client: server answered 401: " + std::string(295, '.') +
                             "<reda...");
  }
  SUBCASE("a token under test is scrubbed from token info errors") {
    backend.then(reply(401, R"({"message":"token )" + access_token + R"( expired"})"));
    messages.push_back(api.try_get_token_info(access_token).error().message);
    CHECK(messages[0] == "get_token_info: server answered 401: token <redacted> expired");
  }
  SUBCASE("a backend whose failure names the credential is scrubbed") {
    backend.then_call([](const bj::HttpRequest& request) -> bj::BackendResult {
      throw std::runtime_error("cannot send " + request.target + " with " + request.body);
    });
    backend.then(failure(bj::TransportFailureKind::read, "lost " + access_token));
    messages.push_back(api.try_get_token_by_client(client).error().message);
    messages.push_back(api.try_get_token_info(access_token).error().message);
    CHECK(messages[0] ==
          "get_token_by_client: transport failure: backend threw: cannot send "
          "/oauth2/token?Client&access_token=<redacted> with {\"client_id\":\"app-id\","
          "\"client_secret\":\"<redacted>\",\"grant_type\":\"client_credentials\"}");
    CHECK(messages[1] == "get_token_info: failed reading the reply: lost <redacted>");
  }
  SUBCASE("successful replies log the target with the key redacted") {
    backend.then(reply(200, nlohmann::json{{"access_token", access_token},
                                           {"refresh_token", refresh_token}}
                                .dump()));
    backend.then(reply(200, R"({"user":1})"));
    const auto grant = api.get_token_by_password(user);
    CHECK(api.get_token_info(*grant.access_token).user == 1);
    const auto lines = log.text();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].rfind("bluejeans-auth: get_token_by_password: POST "
                         "/oauth2/token?Password&access_token=<redacted> -> 200 in ",
                         0) == 0);
    CHECK(lines[1].rfind("bluejeans-auth: get_token_info: GET "
                         "/oauth2/tokenInfo?access_token=<redacted> -> 200 in ",
                         0) == 0);
    std::ostringstream printed;
    printed << grant;
    messages.push_back(printed.str());
  }

  const auto lines = log.text();
  CHECK_FALSE(lines.empty());
  for (const auto& text : messages) {
    for (const auto& secret : secrets) {
      CAPTURE(text);
      CHECK(text.find(secret) == std::string::npos);
    }
  }
  for (const auto& line : lines) {
    CAPTURE(line);
    CHECK(line.rfind("bluejeans-auth: ", 0) == 0);
    for (const auto& secret : secrets) {
      CHECK(line.find(secret) == std::string::npos);
    }
  }
}

TEST_CASE("a secret echoed percent-encoded or JSON-escaped, as it travelled, is scrubbed") {
  const std::string client_secret = R"(se"cr\et +/=)";
  const std::string api_key = R"(key "+/=\ 1)";
  bj::Configuration config = loopback();
  config.api_key["access_token"] = api_key;
  FakeBackend backend;
  Api api(config, backend);
  const bj::GrantRequestClient client{"client_credentials", "app-id", client_secret};
  const auto message_of = [](const std::string& text) {
    return nlohmann::json{{"message", text}}.dump();
  };
  const auto refused = [&] { return api.try_get_token_by_client(client).error().message; };

  SUBCASE("the secret JSON-escaped, as in the body") {
    backend.then(reply(401, message_of(R"(bad "client_secret":"se\"cr\\et +/=")")));
    CHECK(refused() ==
          R"(get_token_by_client: server answered 401: bad "client_secret":"<redacted>")");
  }
  SUBCASE("the key percent-encoded, as in the query, in the message or the reason") {
    backend.then(reply(401, message_of("unknown access_token=key%20%22%2B%2F%3D%5C%201")));
    backend.then(reply(502, "<html>", "Bad key%20%22%2B%2F%3D%5C%201"));
    CHECK(refused() == "get_token_by_client: server answered 401: unknown access_token=<redacted>");
    CHECK(refused() == "get_token_by_client: server answered 502 Bad <redacted>");
  }
  SUBCASE("a backend that quotes the whole request") {
    backend.then_call([](const bj::HttpRequest& request) -> bj::BackendResult {
      throw std::runtime_error("cannot send " + request.target + " with " + request.body);
    });
    CHECK(refused() ==
          "get_token_by_client: transport failure: backend threw: cannot send "
          "/oauth2/token?Client&access_token=<redacted> with {\"client_id\":\"app-id\","
          "\"client_secret\":\"<redacted>\",\"grant_type\":\"client_credentials\"}");
  }
}

TEST_CASE("a secret that reads like the redaction mark is scrubbed once, not for ever") {
  FakeBackend backend;
  Api api(loopback(), backend);
  backend.then(reply(401, R"({"message":"password redacted is wrong"})"));

  const auto result = api.try_get_token_by_password({"password", "alice", "redacted"});

  CHECK(result.error().message ==
        "get_token_by_password: server answered 401: password <redacted> is wrong");
}

TEST_CASE("failures are logged as warnings, exchanges at debug level") {
  bj::testing::LogRecord log;
  bj::Configuration config = loopback();
  config.log = log.callback();
  FakeBackend backend;

  SUBCASE("at the default level only the failure is written") {
    Api api(config, backend);
    backend.then(reply(401, R"({"message":"Invalid client"})"));
    (void)api.try_get_token_by_client(client_request);
    CHECK(*log.lines == std::vector<std::pair<bj::LogLevel, std::string>>{
                            {bj::LogLevel::warning,
                             "bluejeans-auth: get_token_by_client: server answered 401: "
                             "Invalid client"}});
  }
  SUBCASE("at debug level the exchange comes first") {
    config.log_level = bj::LogLevel::debug;
    Api api(config, backend);
    backend.then(failure(bj::TransportFailureKind::connect, "refused"));
    (void)api.try_get_token_info("token-value");
    REQUIRE(log.lines->size() == 2);
    CHECK(log.lines->at(0).first == bj::LogLevel::debug);
    CHECK(log.lines->at(0).second.rfind(
              "bluejeans-auth: get_token_info: GET /oauth2/tokenInfo?access_token=<redacted> "
              "-> no reply in ",
              0) == 0);
    CHECK(log.lines->at(1) ==
          std::pair<bj::LogLevel, std::string>{
              bj::LogLevel::warning, "bluejeans-auth: get_token_info: could not connect: refused"});
  }
  SUBCASE("at error level nothing is written") {
    config.log_level = bj::LogLevel::error;
    Api api(config, backend);
    backend.then(reply(200, "not json"));
    (void)api.try_get_token_by_client(client_request);
    CHECK(log.lines->empty());
  }
  SUBCASE("a refused request is handed back, not logged") {
    config.log_level = bj::LogLevel::debug;
    Api api(config, backend);
    CHECK(api.try_get_token_info().error().kind == bj::ErrorKind::request);
    CHECK(log.lines->empty());
  }
  SUBCASE("turning TLS verification off is warned about once, at construction") {
    config.verify_ssl = false;
    Api api(config, backend);
    (void)api.try_get_token_by_client(client_request);
    CHECK(*log.lines == std::vector<std::pair<bj::LogLevel, std::string>>{
                            {bj::LogLevel::warning,
                             "bluejeans-auth: TLS certificate verification is off: the server's "
                             "identity is not checked"}});
  }
}
