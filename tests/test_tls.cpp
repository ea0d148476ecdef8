// test_tls.cpp: the default backend against a real HTTPS server on loopback: trust, host
// names, expiry, verification off, and client certificates.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"
#include "support/https_server.hpp"
#include "support/log_capture.hpp"
#include "support/tls_certs.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace {

using namespace bluejeans::auth;
using test_support::HttpsServer;
using test_support::LogCapture;
using test_support::tls_files;

const GrantRequestClient credentials{"client_credentials", "tls-client", "tls-client-secret"};

Configuration config_for(const HttpsServer& server) {
  Configuration config;
  config.host = server.url();
  config.connect_timeout = std::chrono::seconds(5);
  config.read_timeout = std::chrono::seconds(5);
  config.write_timeout = std::chrono::seconds(5);
  return config;
}

ApiError failed_grant(const Configuration& config) {
  AuthenticationApi<> api(config);
  auto result = api.try_get_token_by_client(credentials);
  REQUIRE_FALSE(result.ok());
  return result.error();
}

std::string tls_failure(const HttpsServer& server, const std::string& cause) {
  return "get_token_by_client: TLS failure: " + cause + " (" + server.authority() + ")";
}

}  // namespace

TEST_CASE("a self-signed certificate is refused by default and trusted once ssl_ca_cert names it") {
  HttpsServer server(tls_files().self_signed);
  Configuration config = config_for(server);

  SUBCASE("refused by default, before any credential is sent") {
    const ApiError error = failed_grant(config);
    CHECK(error.kind == ErrorKind::transport);
    CHECK(error.transport_failure == TransportFailureKind::tls);
    CHECK(error.message ==
          tls_failure(server, "the server's certificate is not trusted: self-signed certificate"));
    CHECK(server.requests() == 0);
  }

  SUBCASE("trusted when ssl_ca_cert names it") {
    config.ssl_ca_cert = tls_files().self_signed.cert;
    AuthenticationApi<> api(config);
    CHECK(api.get_token_by_client(credentials).access_token == "tls-test-token-0123456789");
    CHECK(server.requests() == 1);
  }
}

TEST_CASE("a certificate from an unknown CA is refused until ssl_ca_cert names the CA") {
  HttpsServer server(tls_files().trusted);
  Configuration config = config_for(server);

  SUBCASE("refused with the system's store") {
    const ApiError error = failed_grant(config);
    CHECK(error.transport_failure == TransportFailureKind::tls);
    CHECK(error.message == tls_failure(server, "the server's certificate is not trusted: "
                                               "unable to get local issuer certificate"));
    CHECK(server.requests() == 0);
  }

  SUBCASE("accepted with the CA named") {
    config.ssl_ca_cert = tls_files().ca_cert;
    AuthenticationApi<> api(config);
    CHECK(api.get_token_by_client(credentials).expires_in == 3600);
  }
}

TEST_CASE("a certificate for another host name is refused") {
  HttpsServer server(tls_files().other_host);
  Configuration config = config_for(server);
  config.ssl_ca_cert = tls_files().ca_cert;

  const ApiError error = failed_grant(config);
  CHECK(error.transport_failure == TransportFailureKind::tls);
  CHECK(error.message ==
        tls_failure(server, "the server's certificate does not match the host name"));
  CHECK(server.requests() == 0);
}

TEST_CASE("an expired certificate is refused") {
  HttpsServer server(tls_files().expired);
  Configuration config = config_for(server);
  config.ssl_ca_cert = tls_files().ca_cert;

  const ApiError error = failed_grant(config);
  CHECK(error.transport_failure == TransportFailureKind::tls);
  CHECK(error.message ==
        tls_failure(server, "the server's certificate is not trusted: certificate has expired"));
  CHECK(server.requests() == 0);
}

TEST_CASE("verify_ssl = false connects to an untrusted server and logs exactly one warning") {
  HttpsServer server(tls_files().self_signed);
  LogCapture logs;
  Configuration config = config_for(server);
  config.verify_ssl = false;
  config.log = logs.callback();
  config.log_level = LogLevel::debug;

  AuthenticationApi<> api(config);
  CHECK(api.get_token_by_client(credentials).access_token == "tls-test-token-0123456789");
  CHECK(api.get_token_by_client(credentials).access_token == "tls-test-token-0123456789");

  const auto warnings = logs.at(LogLevel::warning);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == "bluejeans-auth: TLS certificate verification is off: the server's "
                       "identity is not checked");
}

TEST_CASE("a client certificate is presented when configured") {
  HttpsServer server(tls_files().trusted, tls_files().ca_cert);
  Configuration config = config_for(server);
  config.ssl_ca_cert = tls_files().ca_cert;

  SUBCASE("a server that requires one accepts the client") {
    config.cert_file = tls_files().client.cert;
    config.key_file = tls_files().client.key;
    AuthenticationApi<> api(config);
    CHECK(api.get_token_by_client(credentials).access_token == "tls-test-token-0123456789");
    CHECK(server.requests() == 1);
  }

  SUBCASE("without one the TLS 1.3 session is refused and nothing is sent") {
    // The refusal races the request: it shows as the server's alert when the alert is read
    // first, and as a write or read failure when the closed socket is noticed first.
    const ApiError error = failed_grant(config);
    CHECK(error.kind == ErrorKind::transport);
    const bool alert = error.message == tls_failure(server, "the server ended the TLS session: "
                                                            "tlsv13 alert certificate required");
    const bool closed = error.transport_failure == TransportFailureKind::write ||
                        error.transport_failure == TransportFailureKind::read;
    CHECK((alert || closed));
    CHECK(server.requests() == 0);
  }
}

TEST_CASE("a server on TLS 1.2 refuses a client without a certificate in the handshake") {
  HttpsServer server(tls_files().trusted, tls_files().ca_cert, true);
  Configuration config = config_for(server);
  config.ssl_ca_cert = tls_files().ca_cert;

  const ApiError error = failed_grant(config);
  CHECK(error.transport_failure == TransportFailureKind::tls);
  CHECK(error.message ==
        tls_failure(server, "TLS handshake failed: sslv3 alert handshake failure"));
  CHECK(server.requests() == 0);
}

TEST_CASE("unusable TLS files are reported by name") {
  HttpsServer server(tls_files().trusted);
  Configuration config = config_for(server);

  SUBCASE("a CA file that does not exist") {
    config.ssl_ca_cert = "/nonexistent/ca.pem";
    const ApiError error = failed_grant(config);
    CHECK(error.transport_failure == TransportFailureKind::tls);
    CHECK(error.message ==
          tls_failure(server, "could not load the CA certificates in /nonexistent/ca.pem"));
  }

  SUBCASE("a client certificate that does not exist") {
    config.cert_file = "/nonexistent/client.pem";
    config.key_file = "/nonexistent/client-key.pem";
    const ApiError error = failed_grant(config);
    CHECK(error.transport_failure == TransportFailureKind::other);
    CHECK(error.message == "get_token_by_client: transport failure: could not load the client "
                           "certificate /nonexistent/client.pem or its key "
                           "/nonexistent/client-key.pem");
  }

  SUBCASE("a certificate without its key") {
    config.cert_file = tls_files().client.cert;
    const ApiError error = failed_grant(config);
    CHECK(error.message ==
          "get_token_by_client: transport failure: cert_file and key_file must be set together");
  }
  CHECK(server.requests() == 0);
}
