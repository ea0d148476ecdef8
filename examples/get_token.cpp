// get_token.cpp: the smallest complete program, a client-credentials grant.
// SPDX-License-Identifier: MIT
//
// Usage: get_token [host]   with BLUEJEANS_CLIENT_ID and BLUEJEANS_CLIENT_SECRET set.

#include <cstdlib>
#include <iostream>

#include "bluejeans_auth.hpp"

int main(int argc, char** argv) {
  namespace bj = bluejeans::auth;

  const char* id = std::getenv("BLUEJEANS_CLIENT_ID");
  const char* secret = std::getenv("BLUEJEANS_CLIENT_SECRET");
  if (id == nullptr || secret == nullptr) {
    std::cerr << "set BLUEJEANS_CLIENT_ID and BLUEJEANS_CLIENT_SECRET\n";
    return 2;
  }

  bj::Configuration config;
  if (argc > 1) {
    config.host = argv[1];
  }
  bj::AuthenticationApi<> api(config);

  try {
    const bj::GrantClient grant = api.get_token_by_client({"client_credentials", id, secret});
    std::cout << grant << '\n';
  } catch (const bj::ApiException& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
}
