// bench_memory.cpp: peak resident size and heap allocations per grant, library against a
// bare cpp-httplib client, each measured in a child process of its own in the same run.
// SPDX-License-Identifier: MIT

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>

#include "bench_support.hpp"
#include "bluejeans_auth.hpp"

namespace bj = bluejeans::auth;

// Allocations are counted only on the thread that asked, so that the in-process server's
// own allocations stay out of the figures.
namespace {
thread_local bool counting = false;
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (counting) {
    allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

const bj::GrantRequestClient kRequest{"client_credentials", "bench-client", "bench-secret"};

struct ChildReport {
  double allocations_first = 0;  // per grant, over the first block of grants
  double allocations_last = 0;   // per grant, over the last block
  long rss_after_first_kb = 0;
  long rss_after_last_kb = 0;
};

long current_rss_kb() {
  long pages = 0;
  long resident = 0;
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%ld %ld", &pages, &resident) != 2) {
      resident = 0;
    }
    std::fclose(statm);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

template <class Grant>
ChildReport run_grants(long grants, Grant grant) {
  const long block = std::max(1L, grants / 10);
  ChildReport report;

  counting = true;
  for (long i = 0; i < grants; ++i) {
    const bool first_block = i < block;
    const bool last_block = i >= grants - block;
    const long before = allocations.load();
    grant();
    const long used = allocations.load() - before;
    if (first_block) {
      report.allocations_first += static_cast<double>(used) / block;
    }
    if (last_block) {
      report.allocations_last += static_cast<double>(used) / block;
    }
    if (i == block - 1) {
      report.rss_after_first_kb = current_rss_kb();
    }
  }
  counting = false;
  report.rss_after_last_kb = current_rss_kb();
  return report;
}

ChildReport library_child(const bench::LoopbackServer& server, long grants) {
  bj::Configuration config;
  config.host = server.url();
  bj::AuthenticationApi<> api(config);
  return run_grants(grants, [&] {
    if (!api.get_token_by_client(kRequest).access_token) {
      throw std::runtime_error("no token");
    }
  });
}

ChildReport bare_child(const bench::LoopbackServer& server, long grants) {
  httplib::Client client("127.0.0.1", server.port());
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  const std::string body = nlohmann::json(kRequest).dump();
  return run_grants(grants, [&] {
    const auto reply = client.Post("/oauth2/token?Client", body, "application/json");
    if (!reply || nlohmann::json::parse(reply->body).at("access_token").empty()) {
      throw std::runtime_error("no token");
    }
  });
}

struct Measured {
  ChildReport report;
  long peak_rss_kb = 0;
};

// Runs one side in a child process, so that each peak resident size is its own.
template <class Child>
Measured measure_in_child(Child child) {
  int pipe_ends[2];
  if (pipe(pipe_ends) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipe_ends[0]);
    const ChildReport report = child();
    const bool written = write(pipe_ends[1], &report, sizeof report) == sizeof report;
    _exit(written ? 0 : 1);
  }
  close(pipe_ends[1]);

  Measured measured;
  const bool read_all = read(pipe_ends[0], &measured.report, sizeof measured.report) ==
                        static_cast<ssize_t>(sizeof measured.report);
  close(pipe_ends[0]);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  if (!read_all || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("measuring child failed");
  }
  measured.peak_rss_kb = usage.ru_maxrss;
  return measured;
}

void print(const char* name, const Measured& m) {
  std::printf("%-8s peak RSS %7ld KiB, allocations/grant first %.1f last %.1f, "
              "RSS after first block %ld KiB, after last %ld KiB\n",
              name, m.peak_rss_kb, m.report.allocations_first, m.report.allocations_last,
              m.report.rss_after_first_kb, m.report.rss_after_last_kb);
}

}  // namespace

int main(int argc, char** argv) {
  const auto settings = bench::Settings::from_args(argc, argv);
  const long grants = settings.count(10000);

  // Each child starts its own server, so that neither inherits the other's memory.
  const auto with_server = [grants](auto side) {
    return [grants, side] {
      bench::LoopbackServer server([](httplib::Server& routes) {
        routes.Post("/oauth2/token", [](const httplib::Request&, httplib::Response& response) {
          response.set_content(bench::typical_client_grant(), "application/json");
        });
      });
      return side(server, grants);
    };
  };
  const Measured library = measure_in_child(with_server(library_child));
  const Measured bare = measure_in_child(with_server(bare_child));

  std::printf("# %ld grants per side; targets: peak RSS ratio <= 1.2, no growth\n", grants);
  print("library", library);
  print("bare", bare);
  std::printf("peak RSS ratio library/bare %.3f; library allocations/grant last/first %.3f; "
              "library RSS growth over the run %ld KiB\n",
              static_cast<double>(library.peak_rss_kb) / bare.peak_rss_kb,
              library.report.allocations_last / library.report.allocations_first,
              library.report.rss_after_last_kb - library.report.rss_after_first_kb);
}
