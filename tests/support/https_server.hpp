// https_server.hpp: an in-process cpp-httplib HTTPS server on 127.0.0.1 for the TLS tests.
// SPDX-License-Identifier: MIT
#ifndef BLUEJEANS_AUTH_TESTS_HTTPS_SERVER_HPP
#define BLUEJEANS_AUTH_TESTS_HTTPS_SERVER_HPP

#include "tls_certs.hpp"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace test_support {

// Answers every grant with a fixed token and counts the requests that reached it.
class HttpsServer {
 public:
  // With tls12_only the server refuses a client certificate inside the handshake; under
  // TLS 1.3 the refusal comes after it.
  explicit HttpsServer(const PemPair& identity, const std::string& client_ca = "",
                       bool tls12_only = false)
      : server_(identity.cert.c_str(), identity.key.c_str(),
                client_ca.empty() ? nullptr : client_ca.c_str()) {
    if (!server_.is_valid()) {
      throw std::runtime_error("the test HTTPS server could not load its certificate");
    }
    if (tls12_only) {
      SSL_CTX_set_max_proto_version(server_.ssl_context(), TLS1_2_VERSION);
    }
    server_.Post("/oauth2/token", [this](const httplib::Request&, httplib::Response& res) {
      ++requests_;
      res.set_content(R"({"access_token":"tls-test-token-0123456789","expires_in":3600})",
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });

    // stop() before the accept loop runs would be lost; wait for it, within bounds.
    for (int i = 0; i < 5000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  ~HttpsServer() {
    server_.stop();
    thread_.join();
  }

  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }

 private:
  httplib::SSLServer server_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace test_support

#endif  // BLUEJEANS_AUTH_TESTS_HTTPS_SERVER_HPP
