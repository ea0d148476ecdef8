// consumer.cpp: a program outside the project that uses the installed (or copied) header,
// built four ways by scripts/check-consumers to prove that each way compiles, links and runs.
// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "bluejeans_auth.hpp"
#ifdef CONSUMER_USES_CURL
#include "bluejeans_auth_curl.hpp"
#endif

namespace bj = bluejeans::auth;

#ifdef CONSUMER_USES_CURL
using Backend = bj::CurlBackend;
#else
using Backend = bj::HttplibBackend;
#endif

namespace {

// A loopback port that is bound but not listening, so connecting to it is refused.
int refusing_port(int& fd) {
  fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return -1;
  }
  return ntohs(address.sin_port);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string how = argc > 1 ? argv[1] : "unnamed";

  // Decoding runs nlohmann/json through the library's adapters.
  const auto grant = nlohmann::json::parse(R"({"access_token":"t","expires_in":60})")
                         .get<bj::GrantClient>();
  if (grant.expires_in != 60) {
    std::cerr << how << ": decoded expires_in is wrong\n";
    return 1;
  }

  // A call through the backend proves that cpp-httplib (or libcurl) is linked.
  int fd = -1;
  const int port = refusing_port(fd);
  if (port < 0) {
    std::cerr << how << ": no loopback port to refuse connections\n";
    return 1;
  }
  bj::Configuration config;
  config.host = "http://127.0.0.1:" + std::to_string(port);
  bj::AuthenticationApi<Backend> api(config);
  int status = 1;
  try {
    (void)api.get_token_by_client({"client_credentials", "id", "secret"});
    std::cerr << how << ": a refused connection did not throw\n";
  } catch (const bj::TransportError& e) {
    if (e.error().transport_failure == bj::TransportFailureKind::connect) {
      std::cout << how << ": bluejeans-auth " << BLUEJEANS_AUTH_VERSION_STRING
                << " decoded a reply and reported: " << e.what() << '\n';
      status = 0;
    } else {
      std::cerr << how << ": unexpected failure: " << e.what() << '\n';
    }
  }
  ::close(fd);
  return status;
}
