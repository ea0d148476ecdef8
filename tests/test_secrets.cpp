// test_secrets.cpp: drives every operation through every outcome the fakes and loopback
// servers can produce, with recognisable secrets, and scans all that is observable for them.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"
#include "support/log_capture.hpp"
#include "support/raw_server.hpp"
#include "support/recording_backend.hpp"

#include <doctest/doctest.h>

#include <cctype>
#include <chrono>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace bluejeans::auth;
using namespace std::chrono_literals;
using test_support::LogCapture;
using test_support::RawConnection;
using test_support::RawServer;
using test_support::RecordingBackend;

// Random-looking so that no five characters of one occur in ordinary text by chance. In the
// five the client sends, the characters that travel escaped come so close together that no
// five raw characters survive in the form a secret travels in (JSON-escaped in the body,
// percent-encoded in the query): a leak of that form is found only by scanning for it.
const std::string client_secret = R"(qZ"7v\+K"x2\m "Wp\9L"rT\4s)";
const std::string password = R"(Hn\3b"Yc\=8"dU\f6"g/\Jk"1e)";
const std::string passcode = R"(Vw"5t\X+"q0\zR"s \2a"Pm\7o)";
const std::string api_key = R"(Lj4k"Gh+9\fD/s"1aQ=\w3 e"Rt6y)";
const std::string given_token = R"(Bn8m\Vc+5"xZl\2k=J"h7 g\Fd3s)";
const std::string reply_access = R"(Ty6u+Io1p/As4d=Fg8h"Jk2l\)";
const std::string reply_refresh = R"(Mn0b/Vc9x+Za3s=Df7g\Hj5k")";

const std::vector<std::string> secrets = {client_secret, password,     passcode,     api_key,
                                          given_token,   reply_access, reply_refresh};

// The longest piece of a secret allowed to show: a short prefix.
constexpr std::size_t shown_at_most = 4;

// Everything a user or an operator could see, collected as text.
struct Observed {
  std::vector<std::string> texts;

  template <class T>
  void print(const T& value) {
    std::ostringstream out;
    out << value;
    texts.push_back(out.str());
  }

  template <class T>
  void result(const Result<T>& result) {
    if (result) {
      print(result.value());
    } else {
      texts.push_back(result.error().message);
    }
  }

  template <class Call>
  void thrown(Call&& call) {
    try {
      print(call());
    } catch (const ApiException& e) {
      texts.push_back(e.what());
    }
  }

  void logs(const LogCapture& capture) {
    for (const auto& line : capture.lines()) {
      texts.push_back(line.second);
    }
  }
};

// Written here rather than taken from the library, so that a mistake there is not repeated.
std::string percent_encoded(const std::string& text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += {'%', hex[byte >> 4], hex[byte & 0x0F]};
    }
  }
  return out;
}

std::string json_escaped(const std::string& text) {
  const std::string quoted = nlohmann::json(text).dump();
  return quoted.substr(1, quoted.size() - 2);
}

// Every run of more than a short prefix's length in every secret, in each form a server that
// echoes the request may quote it: as given, percent-encoded as in the query, and escaped as
// in a JSON body.
std::set<std::string> secret_pieces() {
  std::set<std::string> pieces;
  for (const auto& secret : secrets) {
    for (const auto& form : {secret, percent_encoded(secret), json_escaped(secret)}) {
      for (std::size_t at = 0; at + shown_at_most < form.size(); ++at) {
        pieces.insert(form.substr(at, shown_at_most + 1));
      }
    }
  }
  return pieces;
}

// Fails naming the text and the piece when more than a short prefix of a secret shows.
void require_clean(const Observed& observed) {
  CHECK_FALSE(observed.texts.empty());
  const std::set<std::string> pieces = secret_pieces();
  for (const auto& text : observed.texts) {
    for (const auto& piece : pieces) {
      CAPTURE(text);
      CAPTURE(piece);
      CHECK(text.find(piece) == std::string::npos);
    }
  }
}

Configuration base_config(const LogCapture& logs) {
  Configuration config;
  config.retry.max_attempts = 1;  // one exchange per call: each test scripts single replies
  config.host = "https://api.example.invalid";
  config.api_key["access_token"] = api_key;
  config.log = logs.callback();
  config.log_level = LogLevel::debug;
  return config;
}

// Every operation, in its non-throwing and throwing forms, and the request models printed.
template <class Backend>
void run_every_operation(AuthenticationApi<Backend>& api, Observed& observed) {
  const GrantRequestClient client{"client_credentials", "client-id", client_secret};
  const GrantRequestPassword user{"password", "someone@example.invalid", password};
  const GrantRequestMeeting meeting{"meeting_passcode", "123456789", passcode};

  observed.result(api.try_get_token_by_client(client));
  observed.result(api.try_get_token_by_password(user));
  observed.result(api.try_get_token_by_meeting(meeting));
  observed.result(api.try_get_token_info());
  observed.result(api.try_get_token_info(given_token));

  observed.thrown([&] { return api.get_token_by_client(client); });
  observed.thrown([&] { return api.get_token_by_password(user); });
  observed.thrown([&] { return api.get_token_by_meeting(meeting); });
  observed.thrown([&] { return api.get_token_info(given_token); });
  observed.thrown([&] { return api.get_token_by_client_async(client).get(); });

  observed.print(client);
  observed.print(user);
  observed.print(meeting);
}

// Every secret at once, as in a reply that no request could have earned.
std::string all_secrets() {
  std::string all;
  for (const auto& secret : secrets) {
    all += secret + " ";
  }
  return all;
}

HttpResponse reply(int status, std::string reason, std::string body) {
  HttpResponse response;
  response.status = status;
  response.reason = std::move(reason);
  response.body = std::move(body);
  response.headers.emplace("Content-Type", "application/json");
  return response;
}

// A successful body for every operation at once: unknown keys are ignored.
std::string success_body() {
  return nlohmann::json{{"access_token", reply_access},
                        {"refresh_token", reply_refresh},
                        {"expires_in", 3600},
                        {"user", 7},
                        {"scope", {{"user", 7}, {"partitionName", "p"}}}}
      .dump();
}

// What a server that echoes the request it got would say: its body and target, which hold
// the credentials and the key that this request carried.
std::string echo_of(const HttpRequest& request) {
  return request.body + " " + request.target;
}

// Outcomes a fake backend can produce. Add a row to cover a new outcome.
struct FakeOutcome {
  std::string name;
  std::function<BackendResult(const HttpRequest&)> answer;
};

struct ScriptedBackend {
  std::function<BackendResult(const HttpRequest&)> answer;
  BackendResult send(const HttpRequest& request) { return answer(request); }
};

FakeOutcome fixed(std::string name, BackendResult result) {
  return {std::move(name), [result](const HttpRequest&) { return result; }};
}

std::vector<FakeOutcome> fake_outcomes() {
  std::vector<FakeOutcome> outcomes;
  outcomes.push_back(fixed("success", reply(200, "OK", success_body())));
  outcomes.push_back(fixed("201 success", reply(201, "Created", success_body())));
  for (const int status : {301, 400, 401, 403, 404, 429, 500, 503}) {
    const std::string code = std::to_string(status);
    outcomes.push_back({code + " echoing the request in its message", [status](auto& request) {
                          const auto body = nlohmann::json{{"message", echo_of(request)}};
                          return BackendResult(reply(status, "Nope", body.dump()));
                        }});
    outcomes.push_back({code + " echoing the request in its reason", [status](auto& request) {
                          return BackendResult(reply(status, echo_of(request), "<html>"));
                        }});
  }
  outcomes.push_back({"a secret across the length bound of a message", [](auto& request) {
                        const auto body = nlohmann::json{
                            {"message", std::string(290, 'm') + echo_of(request)}};
                        return BackendResult(reply(401, "x", body.dump()));
                      }});
  outcomes.push_back({"a 2xx that is not JSON", [](auto& request) {
                        return BackendResult(reply(200, "OK", echo_of(request)));
                      }});
  outcomes.push_back(fixed(
      "a 2xx of the wrong shape",
      reply(200, "OK", nlohmann::json{{"access_token", 7}, {"expires_in", reply_access}}.dump())));
  outcomes.push_back(
      fixed("a 2xx too deep", reply(200, "OK", std::string(100, '[') + reply_access)));
  outcomes.push_back(fixed("an empty 2xx", reply(204, "No Content", "")));
  for (int kind = 0; kind <= static_cast<int>(TransportFailureKind::other); ++kind) {
    outcomes.push_back(fixed("transport failure " + std::to_string(kind),
                             TransportFailure{static_cast<TransportFailureKind>(kind), "broke"}));
  }
  outcomes.push_back({"a backend that throws", [](auto&) -> BackendResult {
                        throw std::runtime_error("backend exploded");
                      }});
  return outcomes;
}

}  // namespace

TEST_CASE("no secret shows in errors, logs or printed models, whatever a fake backend answers") {
  for (const auto& outcome : fake_outcomes()) {
    CAPTURE(outcome.name);
    LogCapture logs;
    Observed observed;
    {
      AuthenticationApi<ScriptedBackend> api(base_config(logs), ScriptedBackend{outcome.answer});
      run_every_operation(api, observed);
    }
    observed.logs(logs);
    require_clean(observed);
  }
}

TEST_CASE("no secret shows on the retry paths, whatever a fake backend answers") {
  for (const auto& outcome : fake_outcomes()) {
    CAPTURE(outcome.name);
    LogCapture logs;
    Observed observed;
    {
      Configuration config = base_config(logs);
      config.retry.max_attempts = 3;
      config.retry.sleep = [](std::chrono::milliseconds) {};  // retry at once
      AuthenticationApi<ScriptedBackend> api(config, ScriptedBackend{outcome.answer});
      run_every_operation(api, observed);
    }
    observed.logs(logs);
    require_clean(observed);
  }
}

TEST_CASE("no secret shows in a token source's events, whatever a fake backend answers") {
  for (const auto& outcome : fake_outcomes()) {
    CAPTURE(outcome.name);
    LogCapture logs;
    Observed observed;
    {
      // A good grant first, so that a failed refresh has a current token to serve.
      bool first = true;
      ScriptedBackend backend{[&first, &outcome](const HttpRequest& request) {
        const bool good = first;
        first = false;
        return good ? BackendResult(reply(200, "OK", success_body())) : outcome.answer(request);
      }};
      AuthenticationApi<ScriptedBackend> api(base_config(logs), backend);
      const auto clock = std::make_shared<ManualClock>();
      TokenSourceOptions options;
      options.clock = clock;
      options.log = logs.callback();
      options.log_level = LogLevel::debug;
      TokenSource source = make_token_source(
          api, GrantRequestPassword{"password", "someone@example.invalid", password}, options);

      // The token a call returns is the secret it exists to hand out; only errors are text.
      const auto ask = [&] {
        try {
          (void)source.access_token();
        } catch (const ApiException& e) {
          observed.texts.push_back(e.what());
        }
      };
      ask();                                     // acquired
      clock->advance(std::chrono::minutes(56));  // inside the refresh margin
      ask();                                     // refreshed, or the current token served
      source.invalidate();
      ask();                                     // fetched again, or failed
      clock->advance(std::chrono::hours(2));     // past every expiry
      ask();
    }
    observed.logs(logs);
    require_clean(observed);
  }
}

TEST_CASE("no secret shows when the client refuses to send") {
  LogCapture logs;
  Observed observed;

  SUBCASE("plain http to a remote host") {
    Configuration config = base_config(logs);
    config.host = "http://api.example.invalid";
    AuthenticationApi<RecordingBackend> api(config, RecordingBackend());
    run_every_operation(api, observed);
  }

  SUBCASE("a key with a line break") {
    Configuration config = base_config(logs);
    config.api_key["access_token"] = api_key + "\r\n";
    AuthenticationApi<RecordingBackend> api(config, RecordingBackend());
    run_every_operation(api, observed);
  }

  SUBCASE("a host that is not a URL") {
    Configuration config = base_config(logs);
    config.host = "ftp://api.example.invalid";
    AuthenticationApi<RecordingBackend> api(config, RecordingBackend());
    observed.result(api.try_get_token_info());
  }

  SUBCASE("credentials that are not UTF-8") {
    AuthenticationApi<RecordingBackend> api(base_config(logs), RecordingBackend());
    observed.result(api.try_get_token_by_client({"client_credentials", "id",
                                                 client_secret + "\xff"}));
    observed.result(api.try_get_token_by_password({"password", "", password}));
  }

  observed.logs(logs);
  require_clean(observed);
}

TEST_CASE("no secret shows over loopback with the default backend") {
  // Each handler answers every connection the same way; the API reconnects as needed.
  struct LoopbackOutcome {
    const char* name;
    RawServer::Handler handler;
  };
  // Answers 401 with the whole request it read in its message and its reason phrase.
  const auto echo_request = [](RawConnection& connection) {
    const std::string request = connection.read_request();
    if (request.empty()) {
      return;
    }
    const std::string body = nlohmann::json{{"message", request}}.dump();
    const std::string line = request.substr(0, request.find('\r'));
    connection.send("HTTP/1.1 401 " + line + "\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body);
  };
  const std::string ok = success_body();
  const auto answer = [](std::string bytes) {
    return [bytes](RawConnection& connection) {
      if (!connection.read_request().empty()) {
        connection.send(bytes);
      }
    };
  };
  const std::vector<LoopbackOutcome> outcomes = {
      {"success", answer("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(ok.size()) +
                         "\r\n\r\n" + ok)},
      {"401 echoing the request", echo_request},
      {"closed mid-reply", answer("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{")},
      {"too large", answer("HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n")},
      {"garbage", answer(all_secrets() + "\r\n\r\n")},
      {"trickled past the deadline",
       [](RawConnection& connection) {
         connection.read_request();
         connection.send("HTTP/1.1 200 OK\r\n");
         while (connection.pause(40ms) && connection.send("X: y\r\n")) {
         }
       }},
  };

  for (const auto& outcome : outcomes) {
    CAPTURE(outcome.name);
    LogCapture logs;
    Observed observed;
    {
      RawServer server(outcome.handler);
      Configuration config = base_config(logs);
      config.host = server.url();
      config.connect_timeout = config.read_timeout = config.write_timeout = 100ms;
      AuthenticationApi<> api(config);
      run_every_operation(api, observed);
    }
    observed.logs(logs);
    require_clean(observed);
  }
}

TEST_CASE("the scan finds a secret that does show, in any form") {
  Observed observed;
  observed.texts.push_back("the key is " + api_key.substr(0, shown_at_most));
  const auto pieces_found = [&] {
    int found = 0;
    for (const auto& text : observed.texts) {
      for (const auto& piece : secret_pieces()) {
        found += text.find(piece) != std::string::npos;
      }
    }
    return found;
  };
  CHECK(pieces_found() == 0);
  observed.texts.push_back("the key is " + api_key.substr(3, shown_at_most + 1));
  CHECK(pieces_found() == 1);
  observed.texts.push_back("access_token=" + percent_encoded(api_key).substr(3, 5));
  CHECK(pieces_found() == 2);
  observed.texts.push_back(R"({"client_secret":")" + json_escaped(client_secret).substr(2, 5));
  CHECK(pieces_found() == 3);
}

// A server may echo a secret in a spelling of its own rather than the one the client sent it
// in: the tests below call the scrubber itself with such spellings, typed out by hand.
TEST_CASE("scrub redacts a secret percent-encoded with lowercase hex digits") {
  const std::vector<std::string_view> secret = {"s3cr/t=k+y"};
  CHECK(detail::scrub("bad access_token=s3cr%2ft%3dk%2by&x=1", secret) ==
        "bad access_token=<redacted>&x=1");
  CHECK(detail::scrub("bad access_token=s3cr%2Ft%3dk%2By&x=1", secret) ==
        "bad access_token=<redacted>&x=1");
  CHECK(detail::scrub("bad access_token=s3cr/t%3dk+y&x=1", secret) ==
        "bad access_token=<redacted>&x=1");
}

TEST_CASE("scrub redacts a secret form-encoded with '+' for a space") {
  const std::vector<std::string_view> secret = {"pass word+1 x"};
  CHECK(detail::scrub("password=pass+word%2B1+x&grant_type=password", secret) ==
        "password=<redacted>&grant_type=password");
  CHECK(detail::scrub("password=pass+word%2b1+x&grant_type=password", secret) ==
        "password=<redacted>&grant_type=password");
  // Where '+' stands for itself, as in the raw secret or its query form, it is still found.
  CHECK(detail::scrub("password=pass word+1 x; pass%20word+1%20x", secret) ==
        "password=<redacted>; <redacted>");
}

TEST_CASE("scrub redacts a secret JSON-escaped with \\u escapes or an escaped slash") {
  const std::vector<std::string_view> secret = {R"(se"cr/et\1)"};
  CHECK(detail::scrub(R"({"client_secret":"se\u0022cr\u002fet\u005c1","id":"a"})", secret) ==
        R"({"client_secret":"<redacted>","id":"a"})");
  CHECK(detail::scrub(R"({"client_secret":"se\u0022cr\u002Fet\u005C1","id":"a"})", secret) ==
        R"({"client_secret":"<redacted>","id":"a"})");
  CHECK(detail::scrub(R"({"client_secret":"se\"cr\/et\\1","id":"a"})", secret) ==
        R"({"client_secret":"<redacted>","id":"a"})");
  CHECK(detail::scrub(R"({"client_secret":"se\"cr\u002Fet\\1","id":"a"})", secret) ==
        R"({"client_secret":"<redacted>","id":"a"})");
}
