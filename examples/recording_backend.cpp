// recording_backend.cpp: a user-written backend at work; a grant is answered from a script
// and the request the API made is printed, with no network and no cpp-httplib.
// SPDX-License-Identifier: MIT

// This program brings its own backend, so it builds without cpp-httplib.
#define BLUEJEANS_AUTH_NO_HTTPLIB
#include "recording_backend.hpp"

#include <iostream>

int main() {
  namespace bj = bluejeans::auth;

  bj::Configuration config;
  config.host = "https://auth.example.com";
  example::RecordingBackend backend;
  backend.reply(200, R"({"access_token":"abcdefghijklmnopqrst","expires_in":3600})")
      .reply(401, R"({"message":"Invalid client"})");
  bj::AuthenticationApi<example::RecordingBackend> api(config, backend);

  const bj::GrantClient grant = api.get_token_by_client({"client_credentials", "app", "s3cret"});
  std::cout << "reply:   " << grant << '\n';
  try {
    (void)api.get_token_by_client({"client_credentials", "app", "wrong"});
  } catch (const bj::HttpError& e) {
    std::cout << "error:   " << e.what() << '\n';
  }

  // The bodies hold the client secret, so only their size is shown.
  for (const bj::HttpRequest& request : backend.requests()) {
    std::cout << "request: " << request.method << ' ' << request.target << " with a "
              << request.body.size() << "-byte JSON body\n";
  }
  return backend.requests().size() == 2 ? 0 : 1;
}
