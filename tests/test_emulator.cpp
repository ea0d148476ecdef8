// test_emulator.cpp: the default backend against the in-process emulator, faults included.
// SPDX-License-Identifier: MIT

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bluejeans_auth.hpp"
#include "emulator.hpp"

namespace {

namespace bj = bluejeans::auth;
namespace emu = bluejeans::auth::emulator;

bj::Configuration config_for(const emu::Emulator& emulator) {
  bj::Configuration config;
  config.retry.max_attempts = 1;  // one exchange per call: each test scripts single replies
  config.host = emulator.url();
  config.connect_timeout = std::chrono::seconds(5);
  config.read_timeout = std::chrono::seconds(5);
  config.write_timeout = std::chrono::seconds(5);
  return config;
}

const bj::GrantRequestClient good_client{"client_credentials", "emulator-client",
                                         "emulator-client-secret"};
const bj::GrantRequestPassword good_user{"password", "alice", "alice-password"};
const bj::GrantRequestMeeting moderator{"meeting_passcode", "111222333", "moderator-1234"};
const bj::GrantRequestMeeting attendee{"meeting_passcode", "111222333", "attendee-5678"};

bool is_hex_token(const std::optional<std::string>& token) {
  return token && token->size() == 40 &&
         token->find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Runs call, which must throw E, and hands back the exception for inspection.
template <class E, class Call>
E thrown_by(Call call) {
  try {
    call();
  } catch (const E& e) {
    return e;
  }
  FAIL("no exception of the expected type");
  throw std::logic_error("unreachable");
}

// A log sink that a test can read while the server writes to it.
struct LogLines {
  std::mutex mutex;
  std::vector<std::string> lines;

  emu::LogSink sink() {
    return [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mutex);
      lines.emplace_back(line);
    };
  }

  // The server logs after it has written the reply, so wait (boundedly) for the last lines.
  std::vector<std::string> wait_for(std::size_t count) {
    for (int i = 0; i < 2000; ++i) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (lines.size() >= count) {
          return lines;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::lock_guard<std::mutex> lock(mutex);
    return lines;
  }
};

httplib::Result raw_post(const emu::Emulator& emulator, const std::string& target,
                         const std::string& body) {
  httplib::Client client("127.0.0.1", emulator.port());
  client.set_read_timeout(5, 0);
  return client.Post(target.c_str(), body, "application/json");
}

std::string error_message(const std::string& body) {
  return nlohmann::json::parse(body).at("message").get<std::string>();
}

}  // namespace

TEST_CASE("every operation succeeds through the default backend against the emulator") {
  emu::Emulator emulator;
  bj::AuthenticationApi<> api(config_for(emulator));

  SUBCASE("a client grant gives a token, its lifetime and the enterprise's scope") {
    const bj::GrantClient grant = api.get_token_by_client(good_client);
    CHECK(is_hex_token(grant.access_token));
    CHECK(grant.expires_in == 3600);
    CHECK(grant.scope.value().enterprise == 1001);
    CHECK(grant.scope->partition_name == "emulator");
    CHECK(grant.scope->partition == bj::Partition{1, "emulator"});
    CHECK(api.get_token_info(*grant.access_token).user == 1002);
  }

  SUBCASE("a password grant gives an access token, a distinct refresh token and the user") {
    const bj::GrantPassword grant = api.get_token_by_password(good_user);
    CHECK(is_hex_token(grant.access_token));
    CHECK(is_hex_token(grant.refresh_token));
    CHECK(grant.access_token != grant.refresh_token);
    CHECK(grant.scope.value().user == 2001);
    CHECK(api.get_token_info(*grant.access_token).user == 2001);
  }

  SUBCASE("the moderator passcode makes a moderator, the attendee passcode does not") {
    const bj::GrantMeeting as_moderator = api.get_token_by_meeting(moderator);
    const bj::GrantMeeting as_attendee = api.get_token_by_meeting(attendee);
    const auto& meeting = as_moderator.scope.value().meeting.value();
    CHECK(meeting.is_moderator == true);
    CHECK(as_attendee.scope.value().meeting.value().is_moderator == false);
    CHECK(meeting.meeting_numeric_id == "111222333");
    CHECK(meeting.id == 3001);
    CHECK(meeting.leader_id == 2001);
    CHECK(is_hex_token(as_attendee.access_token));
    CHECK(api.get_token_info(*as_attendee.access_token).user == std::nullopt);
  }

  SUBCASE("every token issued is different") {
    const auto first = api.get_token_by_client(good_client).access_token;
    const auto second = api.get_token_by_client(good_client).access_token;
    CHECK(first != second);
    CHECK(emulator.issued_tokens() == std::vector<std::string>{*first, *second});
  }
}

TEST_CASE("wrong credentials get 401 with the emulator's Error message") {
  emu::Emulator emulator;
  bj::AuthenticationApi<> api(config_for(emulator));

  SUBCASE("client grant") {
    const auto e = thrown_by<bj::HttpError>(
        [&] { api.get_token_by_client({"client_credentials", "emulator-client", "wrong"}); });
    CHECK(e.status() == 401);
    CHECK(std::string(e.what()) ==
          "get_token_by_client: server answered 401: invalid client credentials");
  }
  SUBCASE("password grant") {
    const auto e = thrown_by<bj::HttpError>(
        [&] { api.get_token_by_password({"password", "alice", "not-her-password"}); });
    CHECK(std::string(e.what()) ==
          "get_token_by_password: server answered 401: invalid username or password");
  }
  SUBCASE("meeting grant, wrong passcode and unknown meeting") {
    const auto wrong = thrown_by<bj::HttpError>(
        [&] { api.get_token_by_meeting({"meeting_passcode", "111222333", "9999"}); });
    CHECK(std::string(wrong.what()) ==
          "get_token_by_meeting: server answered 401: invalid meeting id or passcode");
    const auto unknown = thrown_by<bj::HttpError>(
        [&] { api.get_token_by_meeting({"meeting_passcode", "404", "moderator-1234"}); });
    CHECK(unknown.status() == 401);
  }
  SUBCASE("token info of a token never issued, or of a refresh token") {
    const auto e = thrown_by<bj::HttpError>(
        [&] { api.get_token_info("0123456789abcdef0123456789abcdef01234567"); });
    CHECK(std::string(e.what()) == "get_token_info: server answered 401: invalid access token");

    const auto refresh = api.get_token_by_password(good_user).refresh_token.value();
    const auto r = thrown_by<bj::HttpError>([&] { api.get_token_info(refresh); });
    CHECK(r.status() == 401);
  }
}

TEST_CASE("tokens expire after the configured lifetime, by the injected clock") {
  auto now = std::make_shared<std::atomic<long long>>(1000);
  emu::Settings settings;
  settings.token_lifetime = std::chrono::seconds(60);
  settings.clock = [now] {
    return std::chrono::steady_clock::time_point(std::chrono::seconds(now->load()));
  };
  emu::Emulator emulator(settings);
  bj::AuthenticationApi<> api(config_for(emulator));

  const bj::GrantPassword grant = api.get_token_by_password(good_user);
  CHECK(grant.expires_in == 60);
  *now += 59;
  CHECK(api.get_token_info(*grant.access_token).user == 2001);

  *now += 1;
  const auto e = thrown_by<bj::HttpError>([&] { api.get_token_info(*grant.access_token); });
  CHECK(std::string(e.what()) == "get_token_info: server answered 401: access token has expired");
}

TEST_CASE("malformed requests get 400 with an Error body that names the problem") {
  emu::Emulator emulator;

  SUBCASE("a body that is not JSON") {
    const auto res = raw_post(emulator, "/oauth2/token?Client", "grant_type=client_credentials");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(error_message(res->body) == "request body is not JSON");
  }
  SUBCASE("an empty body") {
    const auto res = raw_post(emulator, "/oauth2/token?Password", "");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(error_message(res->body) == "request body is empty");
  }
  SUBCASE("a missing field, decoded with the library's from_json") {
    const auto res = raw_post(emulator, "/oauth2/token?Client",
                              R"({"grant_type":"client_credentials","client_id":"x"})");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(error_message(res->body) ==
          "invalid request body: client_secret: required field is missing");
  }
  SUBCASE("a field of the wrong type") {
    const auto res = raw_post(
        emulator, "/oauth2/token?Meeting",
        R"({"grant_type":"meeting_passcode","meetingNumericId":111,"meetingPasscode":"1"})");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(error_message(res->body) ==
          "invalid request body: meetingNumericId: expected string, got number");
  }
  SUBCASE("an empty field") {
    const auto res = raw_post(emulator, "/oauth2/token?Password",
                              R"({"grant_type":"password","username":"","password":"p"})");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(error_message(res->body) == "username is empty");
  }
  SUBCASE("the wrong grant_type for the operation") {
    const auto res = raw_post(emulator, "/oauth2/token?Client",
                              R"({"grant_type":"password","client_id":"a","client_secret":"b"})");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(error_message(res->body) == "grant_type must be \"client_credentials\"");
  }
  SUBCASE("no grant marker in the path") {
    const auto res = raw_post(emulator, "/oauth2/token", "{}");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(error_message(res->body) == "expected exactly one of ?Client, ?Meeting or ?Password");
  }
  SUBCASE("token info without a token") {
    httplib::Client client("127.0.0.1", emulator.port());
    const auto res = client.Get("/oauth2/tokenInfo");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(error_message(res->body) == "access_token query parameter is missing");
  }
  SUBCASE("an unknown path gets 404 with an Error body") {
    httplib::Client client("127.0.0.1", emulator.port());
    const auto res = client.Get("/oauth2/other?x=1");
    REQUIRE(res);
    CHECK(res->status == 404);
    CHECK(error_message(res->body) == "no such operation: GET /oauth2/other");
  }
}

TEST_CASE("each kind of fault surfaces through the default backend and is counted") {
  emu::Emulator emulator;
  bj::AuthenticationApi<> api(config_for(emulator));

  SUBCASE("a status with Retry-After raises HttpError carrying the header") {
    emulator.add_fault(emu::Operation::client, emu::parse_fault("503,retry-after=2"));
    const auto e = thrown_by<bj::HttpError>([&] { api.get_token_by_client(good_client); });
    CHECK(std::string(e.what()) ==
          "get_token_by_client: server answered 503: injected fault: status 503");
    REQUIRE(e.headers().count("Retry-After") == 1);
    CHECK(e.headers().find("Retry-After")->second == "2");
    CHECK(emulator.faults_served(emu::Operation::client, emu::FaultKind::status) == 1);
  }
  SUBCASE("added latency still ends in a normal reply") {
    emulator.add_fault(emu::Operation::password, emu::parse_fault("latency=30"));
    CHECK(is_hex_token(api.get_token_by_password(good_user).access_token));
    CHECK(emulator.faults_served(emu::Operation::password, emu::FaultKind::latency) == 1);
  }
  SUBCASE("a body that is not JSON raises DecodeError") {
    emulator.add_fault(emu::Operation::meeting, emu::parse_fault("not-json"));
    const auto e = thrown_by<bj::DecodeError>([&] { api.get_token_by_meeting(moderator); });
    CHECK(std::string(e.what()) == "get_token_by_meeting: undecodable reply: reply is not JSON");
    CHECK(emulator.faults_served(emu::Operation::meeting, emu::FaultKind::not_json) == 1);
  }
  SUBCASE("JSON of the wrong shape raises DecodeError naming the field") {
    emulator.add_fault(emu::Operation::client, emu::parse_fault("wrong-shape"));
    emulator.add_fault(emu::Operation::token_info, emu::parse_fault("wrong-shape"));
    const auto grant = thrown_by<bj::DecodeError>([&] { api.get_token_by_client(good_client); });
    CHECK(std::string(grant.what()) ==
          "get_token_by_client: undecodable reply: access_token: expected string, got number");
    const auto info = thrown_by<bj::DecodeError>([&] { api.get_token_info("abcdefgh"); });
    CHECK(std::string(info.what()) ==
          "get_token_info: undecodable reply: user: expected integer, got string");
    CHECK(emulator.faults_served() == 2);
  }
  SUBCASE("a dropped connection raises TransportError, and the next call reconnects") {
    emulator.add_fault(emu::Operation::client, emu::parse_fault("drop"));
    const auto e = thrown_by<bj::TransportError>([&] { api.get_token_by_client(good_client); });
    CHECK(e.error().transport_failure == bj::TransportFailureKind::read);
    CHECK(std::string(e.what()) ==
          "get_token_by_client: failed reading the reply: the connection closed or failed "
          "before a complete reply arrived (" + emulator.url().substr(7) + ")");
    CHECK(emulator.faults_served(emu::Operation::client, emu::FaultKind::drop) == 1);
    CHECK(is_hex_token(api.get_token_by_client(good_client).access_token));
  }
  SUBCASE("an expired token: issued already expired, or reported expired by tokenInfo") {
    emulator.add_fault(emu::Operation::password, emu::parse_fault("expired-token"));
    const bj::GrantPassword stale = api.get_token_by_password(good_user);
    CHECK(stale.expires_in == 0);
    const auto e = thrown_by<bj::HttpError>([&] { api.get_token_info(*stale.access_token); });
    CHECK(std::string(e.what()) ==
          "get_token_info: server answered 401: access token has expired");

    const std::string fresh = api.get_token_by_password(good_user).access_token.value();
    emulator.add_fault(emu::Operation::token_info, emu::parse_fault("expired-token"));
    CHECK(thrown_by<bj::HttpError>([&] { api.get_token_info(fresh); }).status() == 401);
    CHECK(api.get_token_info(fresh).user == 2001);
    CHECK(emulator.faults_served(emu::Operation::password, emu::FaultKind::expired_token) == 1);
    CHECK(emulator.faults_served(emu::Operation::token_info, emu::FaultKind::expired_token) ==
          1);
  }
}

TEST_CASE("a fault plan is served in order and only to its own operation") {
  emu::Emulator emulator;
  bj::AuthenticationApi<> api(config_for(emulator));
  emulator.add_faults(emu::Operation::client,
                      {emu::parse_fault("503"), emu::parse_fault("429,retry-after=1")});
  CHECK(emulator.faults_pending(emu::Operation::client) == 2);

  CHECK(api.try_get_token_by_password(good_user).ok());
  CHECK(api.try_get_token_by_client(good_client).error().status == 503);
  CHECK(api.try_get_token_by_client(good_client).error().status == 429);
  CHECK(api.try_get_token_by_client(good_client).ok());
  CHECK(emulator.faults_pending(emu::Operation::client) == 0);
  CHECK(emulator.faults_served(emu::Operation::client, emu::FaultKind::status) == 2);

  emulator.clear_faults();
  CHECK(emulator.faults_served() == 0);
}

TEST_CASE("the admin endpoint sets, reports and clears fault plans") {
  emu::Emulator emulator;
  bj::AuthenticationApi<> api(config_for(emulator));
  httplib::Client admin("127.0.0.1", emulator.port());

  SUBCASE("a posted plan is served and counted") {
    const auto posted = admin.Post("/_emulator/faults",
                                   R"({"operation":"token-info","faults":["500","drop"]})",
                                   "application/json");
    REQUIRE(posted);
    CHECK(posted->status == 200);
    CHECK(nlohmann::json::parse(posted->body)["pending"]["token-info"] ==
          nlohmann::json::array({"500", "drop"}));

    CHECK(api.try_get_token_info("abcdefgh").error().status == 500);
    CHECK(api.try_get_token_info("abcdefgh").error().kind == bj::ErrorKind::transport);
    const auto report = admin.Get("/_emulator/faults");
    REQUIRE(report);
    const auto json = nlohmann::json::parse(report->body);
    CHECK(json["served"]["token-info"]["status"] == 1);
    CHECK(json["served"]["token-info"]["drop"] == 1);
    CHECK(json["total_served"] == 2);
    CHECK(emulator.faults_served() == 2);

    const auto cleared = admin.Delete("/_emulator/faults");
    REQUIRE(cleared);
    CHECK(nlohmann::json::parse(cleared->body)["total_served"] == 0);
  }
  SUBCASE("a bad plan gets 400 and names the problem") {
    const auto wrong_op = admin.Post("/_emulator/faults", R"({"operation":"x","faults":[]})",
                                     "application/json");
    REQUIRE(wrong_op);
    CHECK(wrong_op->status == 400);
    CHECK(error_message(wrong_op->body) ==
          "unknown operation \"x\"; expected client, meeting, password or token-info");

    const auto wrong_fault = admin.Post(
        "/_emulator/faults", R"({"operation":"client","faults":["teapot"]})", "application/json");
    REQUIRE(wrong_fault);
    CHECK(wrong_fault->status == 400);
    CHECK(error_message(wrong_fault->body).rfind("fault \"teapot\": expected", 0) == 0);
    CHECK(emulator.faults_pending(emu::Operation::client) == 0);
  }
  SUBCASE("it is absent when the settings turn it off") {
    emu::Settings settings;
    settings.admin_endpoint = false;
    emu::Emulator closed(settings);
    httplib::Client client("127.0.0.1", closed.port());
    const auto res = client.Get("/_emulator/faults");
    REQUIRE(res);
    CHECK(res->status == 404);
  }
}

TEST_CASE("fault texts parse in every documented form and are refused otherwise") {
  SUBCASE("accepted forms print back as written") {
    for (const char* text : {"503", "429,retry-after=2", "latency=250", "not-json",
                             "wrong-shape", "drop", "expired-token"}) {
      CHECK(emu::to_string(emu::parse_fault(text)) == text);
    }
    CHECK(emu::parse_fault("latency=250ms").latency == std::chrono::milliseconds(250));
    const auto [op, fault] = emu::parse_operation_fault("token-info:drop");
    CHECK(op == emu::Operation::token_info);
    CHECK(fault.kind == emu::FaultKind::drop);
  }
  SUBCASE("refused forms say what is wrong") {
    const auto message = [](const char* text) {
      try {
        emu::parse_operation_fault(text);
      } catch (const std::invalid_argument& e) {
        return std::string(e.what());
      }
      return std::string("accepted");
    };
    CHECK(message("client") == "fault \"client\": expected OPERATION:FAULT, e.g. client:503");
    CHECK(message("client:503,retry=2") ==
          "fault \"503,retry=2\": after the status only retry-after=SECONDS may follow");
    CHECK(message("client:latency=99999") ==
          "fault \"latency=99999\": latency must be 0 to 60000 milliseconds");
    CHECK(message("client:99") ==
          "fault \"99\": expected an HTTP status (100-599), latency=MS, not-json, wrong-shape, "
          "drop or expired-token");
    CHECK(message("nobody:503") ==
          "unknown operation \"nobody\"; expected client, meeting, password or token-info");
  }
}

TEST_CASE("a configuration replaces the built-in accounts") {
  emu::Settings settings;

  SUBCASE("the configured accounts work and the defaults no longer do") {
    emu::apply_config(settings, nlohmann::json::parse(R"({
      "token_lifetime": 120,
      "partition": {"id": 7, "name": "z7"},
      "clients": [{"client_id": "app", "client_secret": "app-secret", "enterprise": 5,
                   "user": 6}],
      "meetings": [{"meetingNumericId": "42", "moderatorPasscode": "mod1",
                    "attendeePasscode": "att1", "id": 1, "leaderId": 2}]
    })"));
    emu::Emulator emulator(settings);
    bj::AuthenticationApi<> api(config_for(emulator));

    const bj::GrantClient grant = api.get_token_by_client({"client_credentials", "app",
                                                           "app-secret"});
    CHECK(grant.expires_in == 120);
    CHECK(grant.scope.value().partition == bj::Partition{7, "z7"});
    CHECK(api.get_token_by_meeting({"meeting_passcode", "42", "att1"})
              .scope.value()
              .meeting.value()
              .is_moderator == false);
    CHECK(api.try_get_token_by_client(good_client).error().status == 401);
    CHECK(api.get_token_by_password(good_user).scope.value().user == 2001);
  }
  SUBCASE("a wrong value is refused with the key's path") {
    const auto message = [&](const char* json) {
      try {
        emu::apply_config(settings, nlohmann::json::parse(json));
      } catch (const std::invalid_argument& e) {
        return std::string(e.what());
      }
      return std::string("accepted");
    };
    CHECK(message(R"({"users": [{"username": "u", "password": 5, "user": 1}]})") ==
          "config: users[0].password: expected string, got number");
    CHECK(message(R"({"clients": [{"client_id": "u"}]})") ==
          "config: clients[0].client_secret: required key is missing");
    CHECK(message(R"({"token_lifetime": 0})") ==
          "config: token_lifetime: must be 1 to 31536000 seconds");
    CHECK(message("[]") == "config: expected an object, got array");
    CHECK(message(R"({"token_lifetime": 5, "users": [7]})") ==
          "config: users[0]: expected object, got number");
    CHECK(settings.token_lifetime == std::chrono::seconds(3600));
  }
}

TEST_CASE("the log has one line per request and never a secret") {
  LogLines log;
  emu::Settings settings;
  settings.log = log.sink();
  emu::Emulator emulator(settings);
  bj::AuthenticationApi<> api(config_for(emulator));

  const std::string token = api.get_token_by_password(good_user).access_token.value();
  api.get_token_info(token);
  CHECK_FALSE(api.try_get_token_by_client({"client_credentials", "emulator-client",
                                           "a-wrong-secret"}));
  emulator.add_fault(emu::Operation::meeting, emu::parse_fault("drop"));
  CHECK_FALSE(api.try_get_token_by_meeting(moderator));

  const auto lines = log.wait_for(4);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].rfind("bluejeans-auth-emulator: POST /oauth2/token?Password -> 200 in ", 0) ==
        0);
  CHECK(lines[1].rfind(
            "bluejeans-auth-emulator: GET /oauth2/tokenInfo?access_token=<redacted> -> 200", 0) ==
        0);
  CHECK(lines[2].rfind("bluejeans-auth-emulator: POST /oauth2/token?Client -> 401", 0) == 0);
  CHECK(lines[3].rfind("bluejeans-auth-emulator: POST /oauth2/token?Meeting -> dropped", 0) == 0);
  CHECK(lines[3].find("(fault drop)") != std::string::npos);

  std::vector<std::string> secrets = emulator.issued_tokens();
  secrets.insert(secrets.end(), {"alice-password", "a-wrong-secret", "moderator-1234"});
  for (const std::string& line : lines) {
    for (const std::string& secret : secrets) {
      CHECK_MESSAGE(line.find(secret) == std::string::npos, line);
    }
  }
}

TEST_CASE("the emulator serves HTTPS with a given certificate and key") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("bluejeans-emulator-tls-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string();
  const std::string key = (dir / "key.pem").string();
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout '" + key + "' -out '" + cert +
      "' >/dev/null 2>&1";
  REQUIRE_MESSAGE(std::system(command.c_str()) == 0, "openssl could not make a certificate");

  emu::Settings settings;
  settings.tls_cert = cert;
  settings.tls_key = key;
  {
    emu::Emulator emulator(settings);
    CHECK(emulator.url().rfind("https://127.0.0.1:", 0) == 0);

    bj::Configuration config = config_for(emulator);
    config.ssl_ca_cert = cert;
    bj::AuthenticationApi<> api(config);
    CHECK(is_hex_token(api.get_token_by_client(good_client).access_token));

    bj::Configuration untrusting = config_for(emulator);
    untrusting.ssl_ca_cert = "/nonexistent-ca.pem";
    bj::AuthenticationApi<> refused(untrusting);
    CHECK(refused.try_get_token_by_client(good_client).error().kind == bj::ErrorKind::transport);
  }

  settings.tls_key = (dir / "missing.pem").string();
  const std::string expected =
      "emulator: cannot load the TLS certificate " + cert + " and key " + settings.tls_key;
  CHECK_THROWS_WITH_AS(emu::Emulator{settings}, expected.c_str(), std::runtime_error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("an emulator stops cleanly and its port can be learnt and reused") {
  auto emulator = std::make_unique<emu::Emulator>();
  const int port = emulator->port();
  CHECK(port > 0);
  CHECK(emulator->url() == "http://127.0.0.1:" + std::to_string(port));

  emu::Settings same_port;
  same_port.port = port;
  const std::string expected = "emulator: cannot listen on 127.0.0.1:" + std::to_string(port);
  CHECK_THROWS_WITH_AS(emu::Emulator{same_port}, expected.c_str(), std::runtime_error);

  bj::AuthenticationApi<> api(config_for(*emulator));
  CHECK(api.try_get_token_by_client(good_client).ok());
  emulator->stop();
  emulator->stop();
  const auto after = api.try_get_token_by_client(good_client);
  CHECK(after.error().kind == bj::ErrorKind::transport);
  emulator.reset();
}

// Retries and a token source against the emulator's fault plans: waits are recorded, not
// slept, and one manual clock runs both the emulator's token lifetimes and the source's.
struct FreshTokenRig {
  std::shared_ptr<bj::ManualClock> clock = std::make_shared<bj::ManualClock>();
  std::mutex mutex;
  std::vector<long long> waits;
  std::unique_ptr<emu::Emulator> emulator;
  std::unique_ptr<bj::AuthenticationApi<>> api;

  FreshTokenRig() {
    emu::Settings settings;
    settings.token_lifetime = std::chrono::seconds(30);
    settings.clock = [clock = clock] { return clock->now(); };
    emulator = std::make_unique<emu::Emulator>(settings);

    bj::Configuration config = config_for(*emulator);
    config.retry = bj::RetryPolicy{};  // the default policy: four tries
    config.retry.random = [] { return 0.5; };
    config.retry.sleep = [this](std::chrono::milliseconds wait) {
      const std::lock_guard<std::mutex> lock(mutex);
      waits.push_back(wait.count());
    };
    api = std::make_unique<bj::AuthenticationApi<>>(config);
  }

  std::vector<long long> waits_taken() {
    const std::lock_guard<std::mutex> lock(mutex);
    return waits;
  }
};

TEST_CASE("retries ride out the emulator's fault plans through the default backend") {
  FreshTokenRig rig;

  SUBCASE("a burst of three 503s, then a token") {
    rig.emulator->add_faults(emu::Operation::client, {emu::Fault{}, emu::Fault{}, emu::Fault{}});
    CHECK(is_hex_token(rig.api->get_token_by_client(good_client).access_token));
    CHECK(rig.emulator->faults_served(emu::Operation::client, emu::FaultKind::status) == 3);
    CHECK(rig.waits_taken() == std::vector<long long>{125, 250, 500});
  }
  SUBCASE("a 429 with Retry-After: 2 is waited out for two seconds") {
    emu::Fault too_many;
    too_many.status = 429;
    too_many.retry_after = 2;
    rig.emulator->add_fault(emu::Operation::password, too_many);
    CHECK(is_hex_token(rig.api->get_token_by_password(good_user).access_token));
    CHECK(rig.emulator->faults_served() == 1);
    CHECK(rig.waits_taken() == std::vector<long long>{2000});
  }
}

TEST_CASE("a token source keeps the emulator's short-lived tokens fresh through faults") {
  FreshTokenRig rig;
  bj::TokenSourceOptions options;
  options.clock = rig.clock;
  auto source = bj::make_token_source(*rig.api, good_client, options);

  // A 30 s lifetime gets a 15 s margin: half the lifetime.
  const std::string first = source.access_token();
  CHECK(rig.api->get_token_info(first).user == 1002);
  rig.clock->advance(std::chrono::seconds(14));
  CHECK(source.access_token() == first);

  rig.emulator->add_faults(emu::Operation::client, {emu::Fault{}, emu::Fault{}});
  rig.clock->advance(std::chrono::seconds(2));
  const std::string second = source.access_token();
  CHECK(second != first);
  CHECK(rig.emulator->faults_served(emu::Operation::client, emu::FaultKind::status) == 2);
  CHECK(rig.waits_taken() == std::vector<long long>{125, 250});

  // The emulator agrees: the first token has expired and the second one is valid.
  rig.clock->advance(std::chrono::seconds(15));
  CHECK_THROWS_AS(rig.api->get_token_info(first), bj::HttpError);
  CHECK(rig.api->get_token_info(second).user == 1002);
}
