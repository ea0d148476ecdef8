// bench_support.hpp: a small timing harness that compares a candidate with a baseline
// measured in the same run, in interleaved rounds, and prints the ratio.
// SPDX-License-Identifier: MIT
#ifndef BLUEJEANS_AUTH_BENCH_SUPPORT_HPP
#define BLUEJEANS_AUTH_BENCH_SUPPORT_HPP

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

namespace bench {

// Run sizes: --quick (CI) runs each benchmark briefly so that it cannot rot.
struct Settings {
  int rounds = 7;
  double scale = 1.0;

  static Settings from_args(int argc, char** argv) {
    Settings settings;
    for (int i = 1; i < argc; ++i) {
      if (std::strcmp(argv[i], "--quick") == 0) {
        settings.rounds = 2;
        settings.scale = 0.05;
      }
    }
    return settings;
  }

  long count(long full) const { return std::max(1L, static_cast<long>(full * scale)); }
};

using Clock = std::chrono::steady_clock;

inline double seconds_for(const std::function<void()>& body) {
  const auto start = Clock::now();
  body();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs `threads` threads that each call body(thread_index) once; returns the wall time.
inline double seconds_on_threads(int threads, const std::function<void(int)>& body) {
  return seconds_for([&] {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back(body, t);
    }
    for (auto& thread : pool) {
      thread.join();
    }
  });
}

// Times candidate and baseline in alternating order for several rounds and keeps the best
// round of each, the figure least disturbed by other work on a shared machine.
struct Comparison {
  double candidate_best = 1e300;
  double baseline_best = 1e300;
};

inline Comparison compare(int rounds, const std::function<double()>& candidate,
                          const std::function<double()>& baseline) {
  Comparison result;
  for (int round = 0; round < rounds; ++round) {
    if (round % 2 == 0) {
      result.candidate_best = std::min(result.candidate_best, candidate());
      result.baseline_best = std::min(result.baseline_best, baseline());
    } else {
      result.baseline_best = std::min(result.baseline_best, baseline());
      result.candidate_best = std::min(result.candidate_best, candidate());
    }
  }
  return result;
}

// Prints "name  candidate/s  baseline/s  ratio" where ratio > 1 means the candidate is faster.
inline void report_rates(const char* name, long operations, const Comparison& c,
                         const char* candidate_label, const char* baseline_label) {
  const double candidate_rate = operations / c.candidate_best;
  const double baseline_rate = operations / c.baseline_best;
  std::printf("%-44s %12.0f/s %-10s %12.0f/s %-10s ratio %.3f\n", name, candidate_rate,
              candidate_label, baseline_rate, baseline_label, candidate_rate / baseline_rate);
  std::fflush(stdout);
}

// An in-process HTTP server on a free loopback port, stopped and joined on destruction.
class LoopbackServer {
 public:
  explicit LoopbackServer(const std::function<void(httplib::Server&)>& routes) {
    server_.set_tcp_nodelay(true);
    server_.set_keep_alive_max_count(1000000);
    routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the accept loop runs, so wait for it before handing out.
    while (!server_.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }

  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

inline const char* typical_client_grant() {
  return R"({"access_token":"f3a9c1e07b5d4e2a9c8b7a6f5e4d3c2b","expires_in":3600,)"
         R"("scope":{"enterprise":123456,"partitionName":"z2",)"
         R"("partition":{"id":2,"name":"z2"}}})";
}

}  // namespace bench

#endif  // BLUEJEANS_AUTH_BENCH_SUPPORT_HPP
