// bench_grants.cpp: token grants per second through AuthenticationApi against a bare
// cpp-httplib client that posts a pre-built body and parses the reply, in the same run.
// SPDX-License-Identifier: MIT

#include <atomic>
#include <memory>
#include <stdexcept>

#include "bench_support.hpp"
#include "bluejeans_auth.hpp"

namespace bj = bluejeans::auth;

namespace {

const bj::GrantRequestClient kRequest{"client_credentials", "bench-client", "bench-secret"};

bj::Configuration config_for(const bench::LoopbackServer& server) {
  bj::Configuration config;
  config.host = server.url();
  return config;
}

// What a careful user writes by hand: keep-alive, Nagle off, one body built once.
class BareClient {
 public:
  explicit BareClient(int port) : client_("127.0.0.1", port) {
    client_.set_keep_alive(true);
    client_.set_tcp_nodelay(true);
    body_ = nlohmann::json(kRequest).dump();
  }

  std::string grant() {
    const auto reply = client_.Post("/oauth2/token?Client", body_, "application/json");
    if (!reply || reply->status != 200) {
      throw std::runtime_error("bare grant failed");
    }
    return nlohmann::json::parse(reply->body).at("access_token").get<std::string>();
  }

 private:
  httplib::Client client_;
  std::string body_;
};

void check_token(const std::string& token) {
  if (token.empty()) {
    throw std::runtime_error("empty token");
  }
}

void bench_one_thread(const bench::Settings& settings, const bench::LoopbackServer& server) {
  const long n = settings.count(4000);
  bj::AuthenticationApi<> api(config_for(server));
  BareClient bare(server.port());

  const auto c = bench::compare(
      settings.rounds,
      [&] {
        return bench::seconds_for([&] {
          for (long i = 0; i < n; ++i) {
            check_token(*api.get_token_by_client(kRequest).access_token);
          }
        });
      },
      [&] {
        return bench::seconds_for([&] {
          for (long i = 0; i < n; ++i) {
            check_token(bare.grant());
          }
        });
      });
  bench::report_rates("grants, 1 thread, keep-alive", n, c, "library", "bare");
}

void bench_shared(const bench::Settings& settings, const bench::LoopbackServer& server,
                  int threads) {
  const long per_thread = settings.count(1500);
  bj::AuthenticationApi<> api(config_for(server));
  BareClient bare(server.port());

  const auto c = bench::compare(
      settings.rounds,
      [&] {
        return bench::seconds_on_threads(threads, [&](int) {
          for (long i = 0; i < per_thread; ++i) {
            check_token(*api.get_token_by_client(kRequest).access_token);
          }
        });
      },
      [&] {
        return bench::seconds_on_threads(threads, [&](int) {
          for (long i = 0; i < per_thread; ++i) {
            check_token(bare.grant());
          }
        });
      });
  const std::string name = "grants, " + std::to_string(threads) + " threads, one shared object";
  bench::report_rates(name.c_str(), per_thread * threads, c, "library", "bare");
}

void bench_per_thread(const bench::Settings& settings, const bench::LoopbackServer& server,
                      int threads) {
  const long per_thread = settings.count(1500);
  std::vector<std::unique_ptr<bj::AuthenticationApi<>>> apis;
  std::vector<std::unique_ptr<BareClient>> bares;
  for (int t = 0; t < threads; ++t) {
    apis.push_back(std::make_unique<bj::AuthenticationApi<>>(config_for(server)));
    bares.push_back(std::make_unique<BareClient>(server.port()));
  }

  const auto c = bench::compare(
      settings.rounds,
      [&] {
        return bench::seconds_on_threads(threads, [&](int t) {
          for (long i = 0; i < per_thread; ++i) {
            check_token(*apis[t]->get_token_by_client(kRequest).access_token);
          }
        });
      },
      [&] {
        return bench::seconds_on_threads(threads, [&](int t) {
          for (long i = 0; i < per_thread; ++i) {
            check_token(bares[t]->grant());
          }
        });
      });
  const std::string name = "grants, " + std::to_string(threads) + " threads, object per thread";
  bench::report_rates(name.c_str(), per_thread * threads, c, "library", "bare");
}

}  // namespace

int main(int argc, char** argv) {
  const auto settings = bench::Settings::from_args(argc, argv);
  bench::LoopbackServer server([](httplib::Server& routes) {
    routes.Post("/oauth2/token", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(bench::typical_client_grant(), "application/json");
    });
  });

  std::printf("# ratio = library rate / bare rate; targets: 1 thread >= 0.95, shared >= 1.0\n");
  bench_one_thread(settings, server);
  bench_shared(settings, server, 4);
  bench_per_thread(settings, server, 4);
}
