// bench_decode.cpp: decoding each reply model from a typical body, against a bare
// nlohmann::json::parse of the same body, in the same run.
// SPDX-License-Identifier: MIT

#include <stdexcept>

#include "bench_support.hpp"
#include "bluejeans_auth.hpp"

namespace bj = bluejeans::auth;

namespace {

const char* const kPasswordGrant =
    R"({"access_token":"0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f","expires_in":3600,)"
    R"("refresh_token":"9f8e7d6c5b4a39281706f5e4d3c2b1a0",)"
    R"("scope":{"user":1234567,"partitionName":"z2","partition":{"id":2,"name":"z2"}}})";

const char* const kMeetingGrant =
    R"({"access_token":"5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b","expires_in":3600,)"
    R"("scope":{"meeting":{"id":98765,"leaderId":1234567,"meetingNumericId":"123456789",)"
    R"("meetingUri":"/v1/user/1234567/live_meetings/123456789","isModerator":true,)"
    R"("endpointUriSet":[{"uri":"/v1/endpoint/1"}],"meetingId":"98765"},)"
    R"("partitionName":"z2","partition":{"id":2,"name":"z2"}}})";

const char* const kTokenInfo = R"({"user":1234567})";

const char* const kError = R"({"message":"Invalid client credentials"})";

// Keeps the optimiser from dropping work whose result is otherwise unused.
volatile std::size_t sink = 0;

template <class Model>
void bench_model(const bench::Settings& settings, const char* name, const std::string& body) {
  const long n = settings.count(200000);

  const auto c = bench::compare(
      settings.rounds,
      [&] {
        return bench::seconds_for([&] {
          for (long i = 0; i < n; ++i) {
            Model model;
            if (bj::detail::decode_text(body, model)) {
              throw std::runtime_error("decode failed");
            }
            sink = sink + sizeof(model);
          }
        });
      },
      [&] {
        return bench::seconds_for([&] {
          for (long i = 0; i < n; ++i) {
            sink = sink + nlohmann::json::parse(body).size();
          }
        });
      });
  bench::report_rates(name, n, c, "library", "parse");
}

}  // namespace

int main(int argc, char** argv) {
  const auto settings = bench::Settings::from_args(argc, argv);

  std::printf("# ratio = library decode rate / bare parse rate; target >= 0.77 "
              "(at most 1.3 times the bare parse's time)\n");
  bench_model<bj::GrantClient>(settings, "decode GrantClient", bench::typical_client_grant());
  bench_model<bj::GrantPassword>(settings, "decode GrantPassword", kPasswordGrant);
  bench_model<bj::GrantMeeting>(settings, "decode GrantMeeting", kMeetingGrant);
  bench_model<bj::TokenInfo>(settings, "decode InlineResponse200", kTokenInfo);
  bench_model<bj::Error>(settings, "decode Error", kError);
}
