// compile_library.cpp: one client-credentials grant through bluejeans-auth, for the compile
// cost benchmark.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"

int main() {
  bluejeans::auth::AuthenticationApi<> api;
  const auto grant = api.try_get_token_by_client({"client_credentials", "id", "secret"});
  return grant.ok() ? 0 : 1;
}
