// bench_token_source.cpp: TokenSource::access_token() on a fresh token, on 1, 2 and 8
// threads, against a hand-written cache (a string copied under a mutex) in the same run.
// SPDX-License-Identifier: MIT

#include <mutex>
#include <stdexcept>

#include "bench_support.hpp"
#include "bluejeans_auth.hpp"

namespace bj = bluejeans::auth;

namespace {

const std::string kToken = "f3a9c1e07b5d4e2a9c8b7a6f5e4d3c2b10293847";

// What a user writes without the library: the token behind a mutex.
class HandWrittenCache {
 public:
  std::string access_token() {
    const std::lock_guard<std::mutex> guard(mutex_);
    return token_;
  }

 private:
  std::mutex mutex_;
  std::string token_ = kToken;
};

void check(const std::string& token) {
  if (token.size() != kToken.size()) {
    throw std::runtime_error("wrong token");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto settings = bench::Settings::from_args(argc, argv);
  const long per_thread = settings.count(4000000);

  bj::TokenSource source([] { return bj::TokenGrant{kToken, 3600}; });
  HandWrittenCache cache;
  check(source.access_token());

  std::printf("# ratio = TokenSource rate / mutex-guarded string rate; target: >= 10M/s on "
              "one thread, no collapse with threads\n");
  for (const int threads : {1, 2, 8}) {
    const auto c = bench::compare(
        settings.rounds,
        [&] {
          return bench::seconds_on_threads(threads, [&](int) {
            for (long i = 0; i < per_thread; ++i) {
              check(source.access_token());
            }
          });
        },
        [&] {
          return bench::seconds_on_threads(threads, [&](int) {
            for (long i = 0; i < per_thread; ++i) {
              check(cache.access_token());
            }
          });
        });
    const std::string name = "access_token(), " + std::to_string(threads) + " thread" +
                             (threads == 1 ? "" : "s");
    bench::report_rates(name.c_str(), per_thread * threads, c, "source", "mutex");
  }
}
