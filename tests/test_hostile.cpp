// test_hostile.cpp: the default backend against raw-socket servers that misbehave; each
// misbehaviour ends in a clear error within the configured timeouts.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"
#include "support/raw_server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace {

using namespace bluejeans::auth;
using namespace std::chrono_literals;
using test_support::RawConnection;
using test_support::RawServer;

const GrantRequestClient credentials{"client_credentials", "hostile-client", "hostile-secret"};

// Short timeouts: 300 ms each, so the whole-request deadline is 900 ms.
Configuration config_for(const RawServer& server) {
  Configuration config;
  config.retry.max_attempts = 1;  // one exchange per call: each test scripts single replies
  config.host = server.url();
  config.connect_timeout = 300ms;
  config.read_timeout = 300ms;
  config.write_timeout = 300ms;
  config.max_response_bytes = 64 * 1024;
  return config;
}

// Far past every deadline these tests configure (900 ms for one exchange), so that a loaded
// machine never trips it, yet a call that stalls fails here, by name, long before the meson
// timeout would stop the suite.
constexpr auto hang_bound = 10s;

// Checks that what started at `started` ended within hang_bound.
void check_ended_in_time(std::chrono::steady_clock::time_point started) {
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  CHECK_MESSAGE(elapsed < hang_bound, "the call took ", elapsed.count(),
                " ms: it hangs instead of ending at its timeouts");
}

ApiError grant_error(const RawServer& server) {
  AuthenticationApi<> api(config_for(server));
  const auto started = std::chrono::steady_clock::now();
  auto result = api.try_get_token_by_client(credentials);
  check_ended_in_time(started);
  REQUIRE_FALSE(result.ok());
  return result.error();
}

std::string message(const RawServer& server, const std::string& cause) {
  return "get_token_by_client: " + cause + " (" + server.authority() + ")";
}

const std::string read_failure =
    "failed reading the reply: the connection closed or failed before a complete reply arrived";

// Replies once with the given bytes, then closes.
RawServer::Handler reply_with(std::string bytes) {
  return [bytes](RawConnection& connection) {
    connection.read_request();
    connection.send(bytes);
  };
}

}  // namespace

TEST_CASE("garbage instead of HTTP is a read failure") {
  RawServer server(reply_with("SSH-2.0-OpenSSH_9.2p1\r\n\x01\x02\xff garbage\r\n\r\n"));
  const ApiError error = grant_error(server);
  CHECK(error.kind == ErrorKind::transport);
  CHECK(error.transport_failure == TransportFailureKind::read);
  CHECK(error.message == message(server, read_failure));
}

TEST_CASE("a connection closed without a reply is a read failure") {
  RawServer server(reply_with(""));
  const ApiError error = grant_error(server);
  CHECK(error.transport_failure == TransportFailureKind::read);
  CHECK(error.message == message(server, read_failure));
}

TEST_CASE("headers with no body") {
  SUBCASE("and the connection held open: the read times out") {
    RawServer server([](RawConnection& connection) {
      connection.read_request();
      connection.send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: 40\r\n\r\n");
      connection.hold();
    });
    const ApiError error = grant_error(server);
    CHECK(error.transport_failure == TransportFailureKind::read);
    CHECK(error.message == message(server, read_failure));
  }

  SUBCASE("and no length, then closed: the empty body does not decode") {
    RawServer server(reply_with("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                "Connection: close\r\n\r\n"));
    const ApiError error = grant_error(server);
    CHECK(error.kind == ErrorKind::decode);
    CHECK(error.message == "get_token_by_client: undecodable reply: reply body is empty");
  }
}

TEST_CASE("a body cut short is a read failure") {
  RawServer server(reply_with("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: 100\r\n\r\n{\"access_token\":\"abc"));
  const ApiError error = grant_error(server);
  CHECK(error.transport_failure == TransportFailureKind::read);
  CHECK(error.message == message(server, read_failure));
}

TEST_CASE("a reset in the middle of the reply is a read failure") {
  RawServer server([](RawConnection& connection) {
    connection.read_request();
    connection.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"access_");
    connection.pause(20ms);
    connection.reset_on_close();
  });
  const ApiError error = grant_error(server);
  CHECK(error.transport_failure == TransportFailureKind::read);
  CHECK(error.message == message(server, read_failure));
}

TEST_CASE("bytes trickled slowly are stopped at the whole-request deadline") {
  const auto deadline_message = [](const RawServer& server) {
    return "get_token_by_client: timed out: no complete reply from " + server.authority() +
           " within 900 ms (connect, write and read timeouts together)";
  };

  SUBCASE("a body trickled one byte at a time, each within the read timeout") {
    RawServer server([](RawConnection& connection) {
      connection.read_request();
      connection.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
      while (connection.pause(50ms) && connection.send("x")) {
      }
    });
    const ApiError error = grant_error(server);
    CHECK(error.transport_failure == TransportFailureKind::timeout);
    CHECK(error.message == deadline_message(server));
  }

  SUBCASE("header lines trickled for ever") {
    RawServer server([](RawConnection& connection) {
      connection.read_request();
      connection.send("HTTP/1.1 200 OK\r\n");
      while (connection.pause(30ms) && connection.send("X-Slow: still here\r\n")) {
      }
    });
    const ApiError error = grant_error(server);
    CHECK(error.transport_failure == TransportFailureKind::timeout);
    CHECK(error.message == deadline_message(server));
  }
}

TEST_CASE("a redirect is not followed: it is an HTTP error") {
  RawServer server(reply_with("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/steal\r\n"
                              "Content-Length: 0\r\n\r\n"));
  const ApiError error = grant_error(server);
  CHECK(error.kind == ErrorKind::http_status);
  CHECK(error.status == 302);
  CHECK(error.message == "get_token_by_client: server answered 302 Found");
  CHECK(server.connections() == 1);
}

TEST_CASE("a reply larger than max_response_bytes is refused without buffering it") {
  const std::string too_large = "reply too large: more than 65536 bytes from ";

  SUBCASE("a never-ending chunked body") {
    RawServer server([](RawConnection& connection) {
      connection.read_request();
      connection.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      const std::string chunk = "1000\r\n" + std::string(0x1000, '[') + "\r\n";
      for (int i = 0; i < 100000 && connection.send(chunk); ++i) {
      }
    });
    const ApiError error = grant_error(server);
    CHECK(error.transport_failure == TransportFailureKind::too_large);
    CHECK(error.message == "get_token_by_client: " + too_large + server.authority());
  }

  SUBCASE("a Content-Length over the limit, refused before the body is read") {
    RawServer server([](RawConnection& connection) {
      connection.read_request();
      connection.send("HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n");
      connection.hold();
    });
    const ApiError error = grant_error(server);
    CHECK(error.transport_failure == TransportFailureKind::too_large);
    CHECK(error.message == "get_token_by_client: " + too_large + server.authority());
  }
}

TEST_CASE("deeply nested JSON is a decode error, not a deep recursion") {
  const std::string body =
      "{\"x\":" + std::string(20000, '[') + std::string(20000, ']') + "}";
  RawServer server(reply_with("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                              body));
  const ApiError error = grant_error(server);
  CHECK(error.kind == ErrorKind::decode);
  CHECK(error.message == "get_token_by_client: undecodable reply: reply nests deeper than 64 "
                         "levels");
}

TEST_CASE("a header line longer than cpp-httplib's limit is a read failure") {
  RawServer server(reply_with("HTTP/1.1 200 OK\r\nX-Huge: " + std::string(100000, 'h') +
                              "\r\nContent-Length: 2\r\n\r\n{}"));
  const ApiError error = grant_error(server);
  CHECK(error.transport_failure == TransportFailureKind::read);
  CHECK(error.message == message(server, read_failure));
}

TEST_CASE("a status code outside the HTTP range is an HTTP error") {
  RawServer server(reply_with("HTTP/1.1 999 Whatever\r\nContent-Length: 2\r\n\r\n{}"));
  const ApiError error = grant_error(server);
  CHECK(error.kind == ErrorKind::http_status);
  CHECK(error.message == "get_token_by_client: server answered 999 Whatever");
}

TEST_CASE("a port nobody listens on is a connect failure") {
  std::string url;
  {
    RawServer gone([](RawConnection&) {});
    url = gone.url();
  }
  Configuration config;
  config.host = url;
  config.connect_timeout = 300ms;
  AuthenticationApi<> api(config);
  // The default policy's four tries wait under 2 s between them in all.
  const auto started = std::chrono::steady_clock::now();
  auto result = api.try_get_token_by_client(credentials);
  check_ended_in_time(started);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().transport_failure == TransportFailureKind::connect);
}

TEST_CASE("the backend still works after a hostile reply") {
  int served = 0;
  RawServer server([&served](RawConnection& connection) {
    connection.read_request();
    if (served++ == 0) {
      connection.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a");
      return;
    }
    connection.send("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{\"expires_in\":3600}  ");
  });
  AuthenticationApi<> api(config_for(server));
  const auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(api.try_get_token_by_client(credentials).ok());
  CHECK(api.get_token_by_client(credentials).expires_in == 3600);
  check_ended_in_time(started);
}
