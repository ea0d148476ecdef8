// keep_token_fresh.cpp: several threads share one TokenSource, which refreshes the token
// ahead of expiry with one request at a time and rides out a failing server.
// SPDX-License-Identifier: MIT
//
// Usage: keep_token_fresh [host] [seconds]   with BLUEJEANS_CLIENT_ID and
// BLUEJEANS_CLIENT_SECRET set. Runs for `seconds` (default 10), asking for a token once a
// second from each of four threads, and logs the token source's events to stderr.

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bluejeans_auth.hpp"

int main(int argc, char** argv) {
  namespace bj = bluejeans::auth;
  using namespace std::chrono_literals;

  const char* id = std::getenv("BLUEJEANS_CLIENT_ID");
  const char* secret = std::getenv("BLUEJEANS_CLIENT_SECRET");
  if (id == nullptr || secret == nullptr) {
    std::cerr << "set BLUEJEANS_CLIENT_ID and BLUEJEANS_CLIENT_SECRET\n";
    return 2;
  }
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 10;

  // The log callback is called from several threads; serialise the writes.
  std::mutex out;
  bj::Configuration config;
  if (argc > 1) {
    config.host = argv[1];
  }
  config.log = [&out](bj::LogLevel, std::string_view line) {
    const std::lock_guard<std::mutex> guard(out);
    std::cerr << line << '\n';
  };
  config.retry.max_attempts = 5;  // the default is 4; every other setting as it comes

  bj::AuthenticationApi<> api(config);
  bj::TokenSource source =
      bj::make_token_source(api, bj::GrantRequestClient{"client_credentials", id, secret});

  std::vector<std::thread> workers;
  int failures = 0;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < seconds; ++i) {
        try {
          // Wait no more than two seconds for a token; a real program would make its call
          // with the token here.
          const std::string token = source.access_token(std::chrono::steady_clock::now() + 2s);
          const std::lock_guard<std::mutex> guard(out);
          std::cout << "worker " << w << ": a token of " << token.size() << " characters\n";
        } catch (const bj::ApiException& e) {
          const std::lock_guard<std::mutex> guard(out);
          std::cerr << "worker " << w << ": " << e.what() << '\n';
          ++failures;
        }
        std::this_thread::sleep_for(1s);
      }
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
  return failures == 0 ? 0 : 1;
}
