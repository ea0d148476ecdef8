// test_readme.cpp: runs the README's examples, compiled from README.md by
// scripts/readme_snippets.py, against a local stand-in of the service.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"
#include "emulator.hpp"

#include <doctest/doctest.h>

#include <iostream>
#include <sstream>
#include <string>

// Defined by the README's blocks; a change of their signatures must show up here.
namespace complete_program {
int run(const std::string& host);
}  // namespace complete_program
namespace canned_backend {
long long user_of(const std::string& token);
}  // namespace canned_backend

namespace {

namespace emu = bluejeans::auth::emulator;

// Captures what the README's program writes to std::cout and std::cerr.
class CapturedOutput {
 public:
  CapturedOutput()
      : old_out_(std::cout.rdbuf(out_.rdbuf())), old_err_(std::cerr.rdbuf(err_.rdbuf())) {}
  ~CapturedOutput() {
    std::cout.rdbuf(old_out_);
    std::cerr.rdbuf(old_err_);
  }
  CapturedOutput(const CapturedOutput&) = delete;
  CapturedOutput& operator=(const CapturedOutput&) = delete;

  std::string out() const { return out_.str(); }
  std::string err() const { return err_.str(); }

 private:
  std::ostringstream out_;
  std::ostringstream err_;
  std::streambuf* old_out_;
  std::streambuf* old_err_;
};

}  // namespace

// The README tells users to run the program against bluejeans-auth-emulator, so it runs here
// against the same emulator with its built-in accounts.
TEST_CASE("the README's complete program gets a token with each grant and validates it") {
  const emu::Emulator emulator;

  int status = -1;
  std::string out;
  std::string err;
  {
    CapturedOutput captured;
    status = complete_program::run(emulator.url());
    out = captured.out();
    err = captured.err();
  }

  CHECK(err == "");
  CHECK(status == 0);
  // The users are those the emulator reports for the client, user and meeting tokens, in the
  // order of the grants, so each token reached tokenInfo.
  CHECK(out == "valid, user 1002\nvalid, user 2001\nvalid, no user\n");
  // One access token per grant, and the password grant's refresh token.
  CHECK(emulator.issued_tokens().size() == 4);
}

TEST_CASE("the README's complete program reports a refused grant and fails") {
  emu::Settings settings;
  settings.clients.front().client_secret = "another-secret";
  const emu::Emulator emulator(settings);

  int status = -1;
  std::string err;
  {
    CapturedOutput captured;
    status = complete_program::run(emulator.url());
    err = captured.err();
  }

  CHECK(status == 1);
  CHECK(err == "get_token_by_client: server answered 401: invalid client credentials\n");
  CHECK(emulator.issued_tokens().empty());
}

TEST_CASE("the README's canned backend answers token info from memory") {
  CHECK(canned_backend::user_of("any-token") == 42);
}

namespace emulator_usage {
bool first_grant_met_the_fault();
}  // namespace emulator_usage
namespace recording_usage {
bool second_grant_times_out(const bluejeans::auth::Configuration& config);
}  // namespace recording_usage
namespace own_flow {
bluejeans::auth::TokenSource source_from_my_vault();
}  // namespace own_flow

TEST_CASE("the README's emulator example sees its fault served") {
  CHECK(emulator_usage::first_grant_met_the_fault());
}

TEST_CASE("the README's recording backend example replays its script") {
  CHECK(recording_usage::second_grant_times_out(bluejeans::auth::Configuration{}));
}

TEST_CASE("the README's own token flow serves its token") {
  CHECK(own_flow::source_from_my_vault().access_token() == "token-from-my-vault");
}
