// test_backends.cpp: one suite run over every shipped backend against a loopback server.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"
#ifdef BLUEJEANS_AUTH_TEST_CURL
#include "bluejeans_auth_curl.hpp"
#endif
#include "support/raw_server.hpp"
#include "support/tls_certs.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace bj = bluejeans::auth;
using namespace std::chrono_literals;
using test_support::RawConnection;
using test_support::RawServer;
using test_support::tls_files;

TYPE_TO_STRING(bj::HttplibBackend);
#ifdef BLUEJEANS_AUTH_TEST_CURL
TYPE_TO_STRING(bj::CurlBackend);
#define BACKENDS bj::HttplibBackend, bj::CurlBackend
#else
#define BACKENDS bj::HttplibBackend
#endif

namespace {

// Where the backends legitimately differ. cpp-httplib cannot tell a read that timed out
// from one that failed; curl can.
template <class Backend>
struct BackendTraits;

// Each also words a refused host name in its own way.
template <>
struct BackendTraits<bj::HttplibBackend> {
  static constexpr bj::TransportFailureKind silent_server = bj::TransportFailureKind::read;
  static constexpr const char* host_mismatch = "certificate does not match the host name";
};

#ifdef BLUEJEANS_AUTH_TEST_CURL
template <>
struct BackendTraits<bj::CurlBackend> {
  static constexpr bj::TransportFailureKind silent_server = bj::TransportFailureKind::timeout;
  static constexpr const char* host_mismatch = "no alternative certificate subject name matches";
};
#endif

// What the server saw of one request.
struct Seen {
  std::string method;
  std::string target;
  httplib::Headers headers;
  std::string body;
  int remote_port = 0;

  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string("<absent>") : it->second;
  }
};

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// Files made by tests/meson.build with the openssl command: self-signed certificates for
// 127.0.0.1 (the server's) and for a client.
struct TlsFiles {
  std::string cert;
  std::string key;
};

const TlsFiles server_tls{BACKEND_TEST_CERTS "/server.crt", BACKEND_TEST_CERTS "/server.key"};
const TlsFiles client_tls{BACKEND_TEST_CERTS "/client.crt", BACKEND_TEST_CERTS "/client.key"};

// For the certificates test_tls.cpp uses, made at run time by support/tls_certs.hpp: a CA,
// server certificates it signed (one expired, one for another host) and a self-signed one.
TlsFiles tls_of(const test_support::PemPair& pair) { return {pair.cert, pair.key}; }

// An httplib::Server on 127.0.0.1 that records every request and answers with `reply`; with
// TLS files it speaks HTTPS, and with a client CA it also asks for a client certificate.
class LoopbackServer {
 public:
  LoopbackServer() : LoopbackServer(std::make_unique<httplib::Server>(), "http") {}
  explicit LoopbackServer(const TlsFiles& tls, const char* client_ca = nullptr)
      : LoopbackServer(std::make_unique<httplib::SSLServer>(tls.cert.c_str(), tls.key.c_str(),
                                                            client_ca),
                       "https") {}

 private:
  LoopbackServer(std::unique_ptr<httplib::Server> server, std::string scheme)
      : server_(std::move(server)), scheme_(std::move(scheme)) {
    REQUIRE(server_->is_valid());
    const auto record = [this](const httplib::Request& request, httplib::Response& response) {
      Handler reply;
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        seen_.push_back({request.method, request.target, request.headers, request.body,
                         request.remote_port});
        reply = reply_;
      }
      reply(request, response);
    };
    server_->set_tcp_nodelay(true);
    server_->Get(".*", record);
    server_->Post(".*", record);
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 500 && !server_->is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

 public:
  ~LoopbackServer() {
    release_stalled();
    server_->stop();
    thread_.join();
  }

  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }

  void reply(Handler handler) {
    const std::lock_guard<std::mutex> lock(mutex_);
    reply_ = std::move(handler);
  }

  void reply_json(int status, std::string body) {
    reply([status, body](const httplib::Request&, httplib::Response& response) {
      response.status = status;
      response.set_content(body, "application/json");
    });
  }

  // Answers nothing until the test ends (or five seconds pass), so that the client times out.
  void stall() {
    reply([this](const httplib::Request&, httplib::Response& response) {
      std::unique_lock<std::mutex> lock(mutex_);
      released_.wait_for(lock, std::chrono::seconds(5), [this] { return release_; });
      response.set_content("{}", "application/json");
    });
  }

  std::vector<Seen> seen() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  void release_stalled() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      release_ = true;
    }
    released_.notify_all();
  }

  std::unique_ptr<httplib::Server> server_;
  std::string scheme_;
  int port_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable released_;
  bool release_ = false;
  Handler reply_ = [](const httplib::Request&, httplib::Response& response) {
    response.set_content("{}", "application/json");
  };
  std::vector<Seen> seen_;
};

// A loopback port that is bound but not listening, so a connect to it is refused for as
// long as the object lives.
class ClosedPort {
 public:
  ClosedPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(fd_ >= 0);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~ClosedPort() { ::close(fd_); }
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;

  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

bj::Configuration config_for(const std::string& host) {
  bj::Configuration config;
  config.retry.max_attempts = 1;  // one exchange per call: each test scripts single replies
  config.host = host;
  config.api_key["access_token"] = "key+1/2";
  config.connect_timeout = std::chrono::seconds(2);
  config.read_timeout = std::chrono::seconds(5);
  config.write_timeout = std::chrono::seconds(5);
  return config;
}

const bj::GrantRequestClient client_request{"client_credentials", "app-7", "s3cret-value"};

template <class Call>
bj::ApiError error_of(Call&& call) {
  try {
    call();
  } catch (const bj::ApiException& e) {
    return e.error();
  }
  FAIL("the call did not throw");
  return {};
}

// A client grant to a server whose certificate must be refused. Every refusal is a tls failure
// within the deadline, before the credentials reach the server, and names none of them.
template <class Backend>
bj::ApiError refused_grant(const LoopbackServer& server, const bj::Configuration& config) {
  bj::AuthenticationApi<Backend> api(config);
  const auto started = std::chrono::steady_clock::now();
  const auto error = error_of([&] { (void)api.get_token_by_client(client_request); });
  const auto elapsed = std::chrono::steady_clock::now() - started;

  CHECK(error.kind == bj::ErrorKind::transport);
  CHECK(error.transport_failure == bj::TransportFailureKind::tls);
  CHECK(error.message.rfind("get_token_by_client: TLS failure: ", 0) == 0);
  CHECK(error.message.find(client_request.client_secret) == std::string::npos);
  CHECK(error.message.find("key%2B1%2F2") == std::string::npos);
  CHECK(error.message.find("key+1/2") == std::string::npos);
  CHECK(server.seen().empty());
  CHECK(elapsed < 10s);  // far below the 12 s deadline: the refusal must not wait it out
  return error;
}

}  // namespace

TEST_CASE_TEMPLATE("a client grant goes over the wire as the API describes", Backend, BACKENDS) {
  LoopbackServer server;
  server.reply_json(200, R"({"access_token":"abcdefghijklmnopqrstuvwxyz","expires_in":3600,
                             "scope":{"enterprise":42,"partitionName":"z1"}})");
  bj::AuthenticationApi<Backend> api(config_for(server.url()));

  const bj::GrantClient grant = api.get_token_by_client(client_request);

  CHECK(grant.access_token == "abcdefghijklmnopqrstuvwxyz");
  CHECK(grant.expires_in == 3600);
  CHECK(grant.scope->enterprise == 42);
  const auto seen = server.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == "/oauth2/token?Client&access_token=key%2B1%2F2");
  CHECK(seen[0].header("Content-Type") == "application/json");
  CHECK(seen[0].header("Accept") == "application/json");
  CHECK(seen[0].header("User-Agent") == "bluejeans-auth/" BLUEJEANS_AUTH_VERSION_STRING);
  CHECK(nlohmann::json::parse(seen[0].body) ==
        nlohmann::json{{"grant_type", "client_credentials"},
                       {"client_id", "app-7"},
                       {"client_secret", "s3cret-value"}});
}

TEST_CASE_TEMPLATE("every operation reaches its path and decodes its reply", Backend, BACKENDS) {
  LoopbackServer server;
  bj::AuthenticationApi<Backend> api(config_for(server.url() + "/v1/"));

  SUBCASE("get_token_by_meeting posts the meeting's id and passcode") {
    server.reply_json(200, R"({"access_token":"t","scope":{"meeting":{"meetingNumericId":"99",
                               "isModerator":true}}})");
    const auto grant = api.get_token_by_meeting({"meeting_passcode", "99", "1234"});
    CHECK(grant.scope->meeting->is_moderator == true);
    REQUIRE(server.seen().size() == 1);
    CHECK(server.seen()[0].method == "POST");
    CHECK(server.seen()[0].target == "/v1/oauth2/token?Meeting&access_token=key%2B1%2F2");
    CHECK(nlohmann::json::parse(server.seen()[0].body) ==
          nlohmann::json{{"grant_type", "meeting_passcode"},
                         {"meetingNumericId", "99"},
                         {"meetingPasscode", "1234"}});
  }
  SUBCASE("get_token_by_password posts the user's name and password") {
    server.reply_json(200, R"({"access_token":"t","refresh_token":"r","scope":{"user":5}})");
    const auto grant = api.get_token_by_password({"password", "ann", "pw-123"});
    CHECK(grant.refresh_token == "r");
    CHECK(grant.scope->user == 5);
    REQUIRE(server.seen().size() == 1);
    CHECK(server.seen()[0].target == "/v1/oauth2/token?Password&access_token=key%2B1%2F2");
    CHECK(nlohmann::json::parse(server.seen()[0].body)["password"] == "pw-123");
  }
  SUBCASE("get_token_info gets the token's user with no body") {
    server.reply_json(200, R"({"user":1234})");
    const auto info = api.get_token_info("tok en");
    CHECK(info.user == 1234);
    REQUIRE(server.seen().size() == 1);
    CHECK(server.seen()[0].method == "GET");
    CHECK(server.seen()[0].target == "/v1/oauth2/tokenInfo?access_token=tok%20en");
    CHECK(server.seen()[0].body.empty());
    CHECK(server.seen()[0].header("Accept") == "application/json");
  }
}

TEST_CASE_TEMPLATE("an error status raises HttpError with status, reason, body and headers",
                   Backend, BACKENDS) {
  LoopbackServer server;
  bj::AuthenticationApi<Backend> api(config_for(server.url()));

  SUBCASE("a 401 with an Error body carries the server's message") {
    server.reply([](const httplib::Request&, httplib::Response& response) {
      response.status = 401;
      response.set_header("X-Request-Id", "r-17");
      response.set_content(R"({"message":"Invalid client"})", "application/json");
    });
    const auto error = error_of([&] { (void)api.get_token_by_client(client_request); });
    CHECK(error.kind == bj::ErrorKind::http_status);
    CHECK(error.message == "get_token_by_client: server answered 401: Invalid client");
    CHECK(error.status == 401);
    CHECK(error.reason == "Unauthorized");
    CHECK(error.body == R"({"message":"Invalid client"})");
    CHECK(error.headers.find("x-request-id")->second == "r-17");
    CHECK(error.server_error->message == "Invalid client");
  }
  SUBCASE("a 503 page from a proxy is named by its reason phrase") {
    server.reply([](const httplib::Request&, httplib::Response& response) {
      response.status = 503;
      response.set_content("<html>down</html>", "text/html");
    });
    const auto error = error_of([&] { (void)api.get_token_info(); });
    CHECK(error.message == "get_token_info: server answered 503 Service Unavailable");
    CHECK(error.body == "<html>down</html>");
  }
  SUBCASE("a redirect is not followed") {
    server.reply([](const httplib::Request&, httplib::Response& response) {
      response.set_redirect("/elsewhere", 302);
    });
    const auto error = error_of([&] { (void)api.get_token_info(); });
    CHECK(error.status == 302);
    CHECK(error.headers.find("Location")->second == "/elsewhere");
    CHECK(server.seen().size() == 1);
  }
  SUBCASE("a 200 that is not JSON raises DecodeError") {
    server.reply([](const httplib::Request&, httplib::Response& response) {
      response.set_content("not json", "text/plain");
    });
    const auto error = error_of([&] { (void)api.get_token_info(); });
    CHECK(error.kind == bj::ErrorKind::decode);
    CHECK(error.message == "get_token_info: undecodable reply: reply is not JSON");
  }
}

TEST_CASE_TEMPLATE("a refused connection is a connect failure", Backend, BACKENDS) {
  const ClosedPort closed;
  const std::string authority = "127.0.0.1:" + std::to_string(closed.port());
  bj::AuthenticationApi<Backend> api(config_for("http://" + authority));

  const auto error = error_of([&] { (void)api.get_token_by_client(client_request); });

  CHECK(error.kind == bj::ErrorKind::transport);
  CHECK(error.transport_failure == bj::TransportFailureKind::connect);
  CHECK(error.message.rfind("get_token_by_client: could not connect: ", 0) == 0);
  CHECK(error.message.find(authority) != std::string::npos);
  CHECK(error.message.find("key") == std::string::npos);
}

// CurlBackend waits for the longer of the read and write timeouts, in whole seconds, so both
// are short here.
TEST_CASE_TEMPLATE("a server that stays silent past the timeouts fails the call", Backend,
                   BACKENDS) {
  LoopbackServer server;
  server.stall();
  auto config = config_for(server.url());
  config.read_timeout = std::chrono::milliseconds(100);
  config.write_timeout = std::chrono::milliseconds(100);
  bj::AuthenticationApi<Backend> api(config);

  const auto error = error_of([&] { (void)api.get_token_info(); });

  CHECK(error.kind == bj::ErrorKind::transport);
  CHECK(error.transport_failure == BackendTraits<Backend>::silent_server);
}

// Each drip arrives well within the read timeout, so only a deadline on the whole request ends
// the call on time; without one, the body case runs through all 200 drips, ten seconds or more.
TEST_CASE_TEMPLATE("bytes trickled within each timeout are stopped at the whole-request deadline",
                   Backend, BACKENDS) {
  std::string rest_of_head;
  std::string drip;
  SUBCASE("in the header block") {
    drip = "X-Slow: 1\r\n";
  }
  SUBCASE("in the body") {
    rest_of_head = "Content-Length: 200\r\n\r\n";
    drip = " ";
  }
  RawServer server([rest_of_head, drip](RawConnection& connection) {
    connection.read_request();
    connection.send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + rest_of_head);
    for (int i = 0; i < 200 && connection.pause(50ms) && connection.send(drip); ++i) {
    }
  });
  auto config = config_for(server.url());
  config.connect_timeout = 300ms;
  config.write_timeout = 300ms;
  config.read_timeout = 300ms;
  bj::AuthenticationApi<Backend> api(config);

  const auto started = std::chrono::steady_clock::now();
  const auto error = error_of([&] { (void)api.get_token_info(); });
  const auto elapsed = std::chrono::steady_clock::now() - started;

  CHECK(error.transport_failure == bj::TransportFailureKind::timeout);
  CHECK(error.message == "get_token_info: timed out: no complete reply from " +
                             server.authority() +
                             " within 900 ms (connect, write and read timeouts together)");
  CHECK(elapsed < 10s);  // no hang; the machine is too noisy for a tighter bound
}

TEST_CASE_TEMPLATE("a reply larger than max_response_bytes is cut off as too_large", Backend,
                   BACKENDS) {
  LoopbackServer server;
  auto config = config_for(server.url());
  config.max_response_bytes = 64;
  bj::AuthenticationApi<Backend> api(config);
  const std::string big = R"({"user":1,"padding":")" + std::string(200, 'x') + R"("})";
  const std::string expected =
      "get_token_info: reply too large: more than 64 bytes from 127.0.0.1:" +
      std::to_string(server.port());

  SUBCASE("announced by Content-Length") {
    server.reply_json(200, big);
  }
  SUBCASE("sent in chunks without a length") {
    server.reply([big](const httplib::Request&, httplib::Response& response) {
      response.set_chunked_content_provider(
          "application/json", [big](std::size_t, httplib::DataSink& sink) {
            for (std::size_t at = 0; at < big.size(); at += 16) {
              sink.write(big.data() + at, std::min<std::size_t>(16, big.size() - at));
            }
            sink.done();
            return true;
          });
    });
  }

  const auto error = error_of([&] { (void)api.get_token_info(); });
  CHECK(error.transport_failure == bj::TransportFailureKind::too_large);
  CHECK(error.message == expected);
}

TEST_CASE_TEMPLATE("a reply of exactly max_response_bytes is accepted", Backend, BACKENDS) {
  LoopbackServer server;
  const std::string body = R"({"user":7})";
  server.reply_json(200, body);
  auto config = config_for(server.url());
  config.max_response_bytes = body.size();
  bj::AuthenticationApi<Backend> api(config);

  CHECK(api.get_token_info().user == 7);
}

TEST_CASE_TEMPLATE("the user agent and default headers reach the server", Backend, BACKENDS) {
  LoopbackServer server;
  server.reply_json(200, R"({"user":1})");
  auto config = config_for(server.url());
  config.user_agent = "my-app/2.1";
  config.default_headers = {{"X-Tenant", "acme"}, {"X-Trace", "a b;c"}};
  bj::AuthenticationApi<Backend> api(config);

  (void)api.get_token_info();

  REQUIRE(server.seen().size() == 1);
  CHECK(server.seen()[0].header("User-Agent") == "my-app/2.1");
  CHECK(server.seen()[0].header("X-Tenant") == "acme");
  CHECK(server.seen()[0].header("X-Trace") == "a b;c");
}

TEST_CASE_TEMPLATE("one backend keeps its connection alive between calls", Backend, BACKENDS) {
  LoopbackServer server;
  server.reply_json(200, R"({"user":1})");
  bj::AuthenticationApi<Backend> api(config_for(server.url()));

  for (int i = 0; i < 3; ++i) {
    CHECK(api.get_token_info().user == 1);
  }

  const auto seen = server.seen();
  REQUIRE(seen.size() == 3);
  CHECK(seen[1].remote_port == seen[0].remote_port);
  CHECK(seen[2].remote_port == seen[0].remote_port);
}

TEST_CASE_TEMPLATE("threads may share one backend", Backend, BACKENDS) {
  LoopbackServer server;
  server.reply_json(200, R"({"user":9})");
  bj::AuthenticationApi<Backend> api(config_for(server.url()));
  std::atomic<int> answered{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        if (api.try_get_token_info().value().user == 9) {
          ++answered;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }

  CHECK(answered == 20);
  CHECK(server.seen().size() == 20);
}

TEST_CASE_TEMPLATE("a configured proxy receives the request in absolute form", Backend,
                   BACKENDS) {
  LoopbackServer proxy;
  proxy.reply_json(200, R"({"user":3})");
  auto config = config_for("http://api.example.invalid");
  config.allow_insecure_http = true;
  config.proxy = proxy.url();
  bj::AuthenticationApi<Backend> api(config);

  CHECK(api.get_token_info().user == 3);

  // Whether the default port is written out is the backend's choice; both forms are valid.
  REQUIRE(proxy.seen().size() == 1);
  const std::string target = proxy.seen()[0].target;
  const std::string path = "/oauth2/tokenInfo?access_token=key%2B1%2F2";
  CHECK((target == "http://api.example.invalid" + path ||
         target == "http://api.example.invalid:80" + path));
}

TEST_CASE_TEMPLATE("an unusable host is a transport failure, not a crash", Backend, BACKENDS) {
  Backend backend(config_for("not a url"));

  const auto outcome = backend.send({"GET", "/oauth2/tokenInfo", {}, ""});

  REQUIRE(std::holds_alternative<bj::TransportFailure>(outcome));
  CHECK(std::get<bj::TransportFailure>(outcome).message ==
        "host \"not a url\" is not an http:// or https:// URL");
}

// The loopback server proves nothing is sent: a backend that ignored the proxy would reach it
// directly, and over plain http a lone cert_file or key_file would not be missed at all.
TEST_CASE_TEMPLATE("a proxy or client certificate that cannot be used fails every call unsent",
                   Backend, BACKENDS) {
  LoopbackServer server;
  server.reply_json(200, R"({"user":1})");
  auto config = config_for(server.url());
  std::string expected;

  SUBCASE("a proxy without a scheme") {
    config.proxy = "127.0.0.1:" + std::to_string(server.port());
    expected = "proxy \"" + config.proxy + "\" is not an http:// URL";
  }
  SUBCASE("a proxy of another scheme") {
    config.proxy = "socks5://127.0.0.1:1080";
    expected = "proxy \"socks5://127.0.0.1:1080\" is not an http:// URL";
  }
  SUBCASE("cert_file without key_file") {
    config.cert_file = client_tls.cert;
    expected = "cert_file and key_file must be set together";
  }
  SUBCASE("key_file without cert_file") {
    config.key_file = client_tls.key;
    expected = "cert_file and key_file must be set together";
  }
  Backend backend(config);

  for (int call = 0; call < 2; ++call) {
    const auto outcome = backend.send({"GET", "/oauth2/tokenInfo", {}, ""});
    REQUIRE(std::holds_alternative<bj::TransportFailure>(outcome));
    CHECK(std::get<bj::TransportFailure>(outcome).kind == bj::TransportFailureKind::other);
    CHECK(std::get<bj::TransportFailure>(outcome).message == expected);
  }
  CHECK(server.seen().empty());
}

TEST_CASE_TEMPLATE("a self-signed server is trusted only when ssl_ca_cert names it", Backend,
                   BACKENDS) {
  LoopbackServer server(server_tls);
  server.reply_json(200, R"({"user":11})");
  auto config = config_for(server.url());

  SUBCASE("refused by default, before any request is sent") {
    bj::AuthenticationApi<Backend> api(config);
    const auto error = error_of([&] { (void)api.get_token_info(); });
    CHECK(error.transport_failure == bj::TransportFailureKind::tls);
    CHECK(error.message.rfind("get_token_info: TLS failure: ", 0) == 0);
    CHECK(server.seen().empty());
  }
  SUBCASE("accepted with the certificate as ssl_ca_cert") {
    config.ssl_ca_cert = server_tls.cert;
    bj::AuthenticationApi<Backend> api(config);
    CHECK(api.get_token_info().user == 11);
  }
  SUBCASE("accepted with verify_ssl off") {
    config.verify_ssl = false;
    bj::AuthenticationApi<Backend> api(config);
    CHECK(api.get_token_info().user == 11);
  }
  SUBCASE("refused when ssl_ca_cert names another certificate") {
    config.ssl_ca_cert = client_tls.cert;
    bj::AuthenticationApi<Backend> api(config);
    const auto error = error_of([&] { (void)api.get_token_info(); });
    CHECK(error.transport_failure == bj::TransportFailureKind::tls);
    CHECK(server.seen().empty());
  }
}

// test_tls.cpp checks these refusals for HttplibBackend alone; the CA is trusted throughout,
// so that only the expiry or the name can be the reason.
TEST_CASE_TEMPLATE("an expired server certificate is refused as a tls failure", Backend, BACKENDS) {
  LoopbackServer server(tls_of(tls_files().expired));
  server.reply_json(200, R"({"access_token":"t"})");
  auto config = config_for(server.url());
  config.ssl_ca_cert = tls_files().ca_cert;

  const auto error = refused_grant<Backend>(server, config);

  CHECK(error.message.find("certificate has expired") != std::string::npos);
}

TEST_CASE_TEMPLATE("a server certificate for another host name is refused as a tls failure",
                   Backend, BACKENDS) {
  test_support::PemPair identity;
  std::string ca_cert;
  std::string host;
  SUBCASE("a certificate for other.example, reached at 127.0.0.1") {
    identity = tls_files().other_host;
    ca_cert = tls_files().ca_cert;
    host = "127.0.0.1";
  }
  SUBCASE("a certificate for IP 127.0.0.1 alone, reached as localhost") {
    identity = tls_files().self_signed;  // trusted as its own CA
    ca_cert = identity.cert;
    host = "localhost";
  }
  LoopbackServer server(tls_of(identity));
  server.reply_json(200, R"({"access_token":"t"})");
  auto config = config_for("https://" + host + ":" + std::to_string(server.port()));
  config.ssl_ca_cert = ca_cert;

  const auto error = refused_grant<Backend>(server, config);

  CHECK(error.message.find(BackendTraits<Backend>::host_mismatch) != std::string::npos);
}

TEST_CASE_TEMPLATE("a server that asks for a client certificate gets cert_file", Backend,
                   BACKENDS) {
  LoopbackServer server(server_tls, client_tls.cert.c_str());
  server.reply_json(200, R"({"user":12})");
  auto config = config_for(server.url());
  config.ssl_ca_cert = server_tls.cert;

  SUBCASE("the call succeeds with the certificate and its key") {
    config.cert_file = client_tls.cert;
    config.key_file = client_tls.key;
    bj::AuthenticationApi<Backend> api(config);
    CHECK(api.get_token_info().user == 12);
  }
  SUBCASE("the call fails without one, and no request arrives") {
    bj::AuthenticationApi<Backend> api(config);
    const auto error = error_of([&] { (void)api.get_token_info(); });
    CHECK(error.kind == bj::ErrorKind::transport);
    CHECK(server.seen().empty());
  }
}

TEST_CASE_TEMPLATE("each request on one backend carries its own target and headers", Backend,
                   BACKENDS) {
  LoopbackServer server;
  server.reply_json(200, R"({"user":1})");
  Backend backend(config_for(server.url()));

  // Alternating requests, so that a backend that reuses what it built for the last call
  // must notice each change.
  const auto request = [](const std::string& target, bj::Headers headers) {
    return bj::HttpRequest{"GET", target, std::move(headers), ""};
  };
  const std::vector<bj::HttpRequest> requests{
      request("/oauth2/tokenInfo?access_token=one", {{"X-Call", "first"}}),
      request("/oauth2/tokenInfo?access_token=one", {{"X-Call", "first"}}),
      request("/oauth2/tokenInfo?access_token=two", {{"X-Call", "second"}, {"X-More", "yes"}}),
      request("/oauth2/tokenInfo?access_token=one", {{"X-Call", "first"}}),
  };
  for (const auto& sent : requests) {
    REQUIRE(std::holds_alternative<bj::HttpResponse>(backend.send(sent)));
  }

  const auto seen = server.seen();
  REQUIRE(seen.size() == requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    CAPTURE(i);
    CHECK(seen[i].target == requests[i].target);
    CHECK(seen[i].header("X-Call") == requests[i].headers.find("X-Call")->second);
    CHECK(seen[i].header("X-More") == (i == 2 ? "yes" : "<absent>"));
  }
}
