// bench_grants.cpp: token grants per second through AuthenticationApi against a bare
// cpp-httplib client that posts a pre-built body and parses the reply, in the same run.
// SPDX-License-Identifier: MIT

#include <atomic>
#include <memory>
#include <stdexcept>

#include "bench_support.hpp"
#include "bluejeans_auth.hpp"
#ifdef BLUEJEANS_AUTH_BENCH_CURL
#include "bluejeans_auth_curl.hpp"
#endif

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

// Times `calls` grants by each side, in alternating rounds, on one thread.
template <class Library, class Bare>
bench::Comparison compare_grants(const bench::Settings& settings, long calls, Library library,
                                 Bare bare) {
  const auto loop = [calls](auto& grant) {
    return bench::seconds_for([&] {
      for (long i = 0; i < calls; ++i) {
        check_token(grant());
      }
    });
  };
  return bench::compare(settings.rounds, [&] { return loop(library); },
                        [&] { return loop(bare); });
}

void bench_one_thread(const bench::Settings& settings, const bench::LoopbackServer& server) {
  const long n = settings.count(4000);
  bj::AuthenticationApi<> api(config_for(server));
  BareClient bare(server.port());

  const auto c = compare_grants(
      settings, n, [&] { return *api.get_token_by_client(kRequest).access_token; },
      [&] { return bare.grant(); });
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

#ifdef BLUEJEANS_AUTH_BENCH_CURL

// Bare libcurl as a careful user writes it: one reused handle, Nagle off, one body built once.
class BareCurl {
 public:
  explicit BareCurl(const std::string& url) : handle_(curl_easy_init()) {
    body_ = nlohmann::json(kRequest).dump();
    url_ = url + "/oauth2/token?Client";
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    curl_easy_setopt(handle_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, body_.c_str());
    curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body_.size()));
    curl_easy_setopt(handle_, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &BareCurl::collect);
    curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &reply_);
  }

  ~BareCurl() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(handle_);
  }

  BareCurl(const BareCurl&) = delete;
  BareCurl& operator=(const BareCurl&) = delete;

  std::string grant() {
    reply_.clear();
    if (curl_easy_perform(handle_) != CURLE_OK) {
      throw std::runtime_error("bare curl grant failed");
    }
    return nlohmann::json::parse(reply_).at("access_token").get<std::string>();
  }

 private:
  static std::size_t collect(char* data, std::size_t size, std::size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
  }

  CURL* handle_;
  curl_slist* headers_ = nullptr;
  std::string body_;
  std::string url_;
  std::string reply_;
};

void bench_curl(const bench::Settings& settings, const bench::LoopbackServer& server) {
  const long n = settings.count(4000);
  bj::AuthenticationApi<bj::CurlBackend> api(config_for(server));
  BareCurl bare(server.url());

  const auto c = compare_grants(
      settings, n, [&] { return *api.get_token_by_client(kRequest).access_token; },
      [&] { return bare.grant(); });
  bench::report_rates("grants, 1 thread, CurlBackend", n, c, "library", "bare curl");
}

#endif  // BLUEJEANS_AUTH_BENCH_CURL

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
#ifdef BLUEJEANS_AUTH_BENCH_CURL
  std::printf("# CurlBackend against bare libcurl with a reused handle; target >= 0.95\n");
  bench_curl(settings, server);
#endif
}
