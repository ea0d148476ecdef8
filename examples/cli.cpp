// cli.cpp: bluejeans-auth, the library's four operations and a demo as a command-line tool.
// SPDX-License-Identifier: MIT
//
// Secrets come from an environment variable, a file or standard input, never from the
// argument list, which other users of the machine can read. See "The command-line tool" in
// README.md.

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "bluejeans_auth.hpp"
#include "emulator.hpp"

namespace {

namespace bj = bluejeans::auth;
namespace emu = bluejeans::auth::emulator;

// Documented in --help and in README.md, "The command-line tool"; scripts depend on them.
enum ExitCode {
  exit_ok = 0,
  exit_failure = 1,    // an unexpected error inside this program
  exit_usage = 2,      // bad arguments, a missing secret, a request the library refused to send
  exit_refused = 3,    // the server refused the credentials or token (401 or 403)
  exit_transport = 4,  // no complete HTTP exchange: connect, TLS, timeout, dropped connection
  exit_bad_reply = 5,  // any other HTTP error status, or a reply that is not the promised JSON
};

constexpr const char* exit_code_help =
    "Exit codes: 0 success, 1 internal error, 2 usage error or missing secret,\n"
    "3 authentication refused (401/403), 4 transport failure, 5 bad reply or other HTTP error.";

// Where one subcommand's secret comes from.
struct SecretSource {
  const char* env_name;
  const char* what;  // "client secret", for messages
  std::string file;
  bool from_stdin = false;
};

void add_secret_options(CLI::App& command, SecretSource& source) {
  command.add_option("--secret-file", source.file,
                     std::string("Read the ") + source.what + " from the first line of FILE")
      ->check(CLI::ExistingFile);
  command.add_flag("--secret-stdin", source.from_stdin,
                   std::string("Read the ") + source.what + " from the first line of stdin");
}

std::string first_line(std::istream& in) {
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.pop_back();
  }
  return line;
}

// The secret from stdin, a file or the environment, in that order; nullopt with a message
// on standard error when none of them has it.
std::optional<std::string> read_secret(const SecretSource& source) {
  std::string secret;
  if (source.from_stdin) {
    secret = first_line(std::cin);
  } else if (!source.file.empty()) {
    std::ifstream file(source.file);
    if (!file) {
      std::cerr << "bluejeans-auth: cannot read " << source.file << '\n';
      return std::nullopt;
    }
    secret = first_line(file);
  } else if (const char* value = std::getenv(source.env_name)) {
    secret = value;
  }

  if (secret.empty()) {
    std::cerr << "bluejeans-auth: no " << source.what << ": set " << source.env_name
              << ", or use --secret-file FILE or --secret-stdin\n";
    return std::nullopt;
  }
  return secret;
}

int exit_code_for(const bj::ApiError& error) {
  switch (error.kind) {
    case bj::ErrorKind::request:
      return exit_usage;
    case bj::ErrorKind::transport:
      return exit_transport;
    case bj::ErrorKind::http_status:
      return error.status == 401 || error.status == 403 ? exit_refused : exit_bad_reply;
    case bj::ErrorKind::decode:
      break;
  }
  return exit_bad_reply;
}

const char* exception_name(bj::ErrorKind kind) {
  switch (kind) {
    case bj::ErrorKind::request:
      return "RequestError";
    case bj::ErrorKind::transport:
      return "TransportError";
    case bj::ErrorKind::http_status:
      return "HttpError";
    case bj::ErrorKind::decode:
      break;
  }
  return "DecodeError";
}

// Prints a reply as the API's JSON, or only its access token; the exit code.
template <class Reply>
int report(const bj::Result<Reply>& result, bool token_only) {
  if (!result) {
    std::cerr << "bluejeans-auth: " << result.error().message << '\n';
    return exit_code_for(result.error());
  }

  const Reply& reply = result.value();
  if constexpr (!std::is_same_v<Reply, bj::TokenInfo>) {
    if (token_only) {
      if (!reply.access_token || reply.access_token->empty()) {
        std::cerr << "bluejeans-auth: the reply has no access_token\n";
        return exit_bad_reply;
      }
      std::cout << *reply.access_token << '\n';
      return exit_ok;
    }
  }
  std::cout << nlohmann::json(reply).dump(2) << '\n';
  return exit_ok;
}

// ---- demo

std::string describe_partition(const std::optional<std::string>& name,
                               const std::optional<bj::Partition>& partition) {
  std::string text = "partition \"" + name.value_or("?") + "\"";
  if (partition && partition->id) {
    text += " (id " + std::to_string(*partition->id) + ")";
  }
  return text;
}

std::string describe_expiry(const std::optional<std::int64_t>& expires_in) {
  return expires_in ? "expires in " + std::to_string(*expires_in) + " s" : "no expiry given";
}

std::string redacted(const std::optional<std::string>& token) {
  return token ? bj::detail::redact_token(*token) : "none";
}

template <class Call>
bool demo_step(int number, const std::string& title, Call call) {
  std::cout << number << ". " << title << '\n';
  try {
    call();
    return true;
  } catch (const bj::ApiException& e) {
    std::cout << "   failed: " << e.what() << '\n';
    return false;
  }
}

int run_demo() {
  emu::Emulator emulator;
  const emu::Settings& accounts = emulator.settings();
  const emu::ClientAccount& client = accounts.clients.front();
  const emu::UserAccount& user = accounts.users.front();
  const emu::MeetingRoom& room = accounts.meetings.front();

  bj::Configuration config;
  config.host = emulator.url();
  config.connect_timeout = std::chrono::seconds(5);
  config.read_timeout = std::chrono::seconds(5);
  bj::AuthenticationApi<> api(config);
  std::cout << "bluejeans-auth demo: an emulator of the service is listening on "
            << emulator.url() << "\n\n";

  bool ok = demo_step(1, "get_token_by_client as \"" + client.client_id + "\"", [&] {
    const bj::GrantClient grant =
        api.get_token_by_client({"client_credentials", client.client_id, client.client_secret});
    std::cout << "   access token " << redacted(grant.access_token) << ", "
              << describe_expiry(grant.expires_in) << '\n'
              << "   scope: enterprise " << grant.scope.value().enterprise.value_or(0) << ", "
              << describe_partition(grant.scope->partition_name, grant.scope->partition) << '\n';
  });

  std::string user_token;
  ok = demo_step(2, "get_token_by_password as \"" + user.username + "\"", [&] {
    const bj::GrantPassword grant =
        api.get_token_by_password({"password", user.username, user.password});
    user_token = grant.access_token.value_or("");
    std::cout << "   access token " << redacted(grant.access_token) << ", "
              << describe_expiry(grant.expires_in) << '\n'
              << "   refresh token " << redacted(grant.refresh_token) << '\n'
              << "   scope: user " << grant.scope.value().user.value_or(0) << ", "
              << describe_partition(grant.scope->partition_name, grant.scope->partition) << '\n';
  }) && ok;

  ok = demo_step(3, "get_token_by_meeting for meeting " + room.meeting_numeric_id, [&] {
    for (const auto& [passcode, role] : {std::pair{room.moderator_passcode, "moderator"},
                                         std::pair{room.attendee_passcode, "attendee"}}) {
      const bj::GrantMeeting grant =
          api.get_token_by_meeting({"meeting_passcode", room.meeting_numeric_id, passcode});
      const auto& meeting = grant.scope.value().meeting.value();
      std::cout << "   " << role << " passcode: access token " << redacted(grant.access_token)
                << ", isModerator " << (meeting.is_moderator.value_or(false) ? "true" : "false")
                << '\n';
    }
  }) && ok;

  ok = demo_step(4, "get_token_info for the password grant's token", [&] {
    const bj::TokenInfo info = api.get_token_info(user_token);
    std::cout << "   the token is valid and belongs to user " << info.user.value_or(0) << '\n';
  }) && ok;

  std::cout << "5. a fault plan for get_token_by_client: 503 with Retry-After: 2, "
               "then a dropped connection\n"
               "   (retries off here, so that each fault reaches the caller)\n";
  bj::Configuration one_try = config;
  one_try.retry.max_attempts = 1;
  bj::AuthenticationApi<> api_without_retries(one_try);
  emulator.add_faults(emu::Operation::client,
                      {emu::parse_fault("503,retry-after=2"), emu::parse_fault("drop")});
  const bj::GrantRequestClient request{"client_credentials", client.client_id,
                                       client.client_secret};
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const auto result = api_without_retries.try_get_token_by_client(request);
    std::cout << "   attempt " << attempt;
    if (result) {
      std::cout << " succeeds: access token " << redacted(result.value().access_token) << '\n';
      continue;
    }
    const bj::ApiError& error = result.error();
    std::cout << " fails with " << exception_name(error.kind) << " (exit code "
              << exit_code_for(error) << " in bluejeans-auth):\n     " << error.message << '\n';
    if (const auto retry = error.headers.find("Retry-After"); retry != error.headers.end()) {
      std::cout << "     Retry-After: " << retry->second << " s\n";
    }
  }
  std::cout << "   faults served: " << emulator.faults_served() << '\n';

  std::cout << "\n" << (ok ? "all four operations worked" : "an operation failed") << '\n';
  return ok && emulator.faults_served() == 2 ? exit_ok : exit_failure;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bluejeans-auth: the BlueJeans Authentication API from the command line",
               "bluejeans-auth"};
  app.require_subcommand(1);
  app.fallthrough();

  bj::Configuration config;
  double timeout = 30;
  bool insecure = false;
  app.add_option("--host", config.host, "Base URL of the service")
      ->envname("BLUEJEANS_HOST")
      ->capture_default_str();
  app.add_option("--ca-cert", config.ssl_ca_cert, "PEM file of trusted CAs")
      ->check(CLI::ExistingFile);
  app.add_flag("--insecure", insecure, "Do not verify the server's TLS certificate");
  app.add_option("--timeout", timeout, "Seconds to wait for connect and reply")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--attempts", config.retry.max_attempts,
                 "Tries in all for a call that meets a 5xx, 429 or connection failure")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();

  bool token_only = false;
  const auto add_token_only = [&](CLI::App* command) {
    command->add_flag("--token-only", token_only, "Print only the access token");
  };

  bj::GrantRequestClient client_request;
  SecretSource client_secret{"BLUEJEANS_CLIENT_SECRET", "client secret", {}, false};
  CLI::App* client = app.add_subcommand("client", "Get a token with client credentials");
  client->add_option("--client-id", client_request.client_id, "The application's client id")
      ->envname("BLUEJEANS_CLIENT_ID")
      ->required();
  add_secret_options(*client, client_secret);
  add_token_only(client);
  client->footer("The secret comes from BLUEJEANS_CLIENT_SECRET, --secret-file or --secret-stdin.");

  bj::GrantRequestPassword password_request;
  SecretSource password{"BLUEJEANS_PASSWORD", "password", {}, false};
  CLI::App* user = app.add_subcommand("password", "Get a token with a user's name and password");
  user->add_option("--username", password_request.username, "The user's name")
      ->envname("BLUEJEANS_USERNAME")
      ->required();
  add_secret_options(*user, password);
  add_token_only(user);
  user->footer("The password comes from BLUEJEANS_PASSWORD, --secret-file or --secret-stdin.");

  bj::GrantRequestMeeting meeting_request;
  SecretSource passcode{"BLUEJEANS_MEETING_PASSCODE", "meeting passcode", {}, false};
  CLI::App* meeting = app.add_subcommand("meeting", "Get a token with a meeting's passcode");
  meeting->add_option("--meeting-id", meeting_request.meeting_numeric_id,
                      "The meeting's numeric id")
      ->envname("BLUEJEANS_MEETING_ID")
      ->required();
  add_secret_options(*meeting, passcode);
  add_token_only(meeting);
  meeting->footer(
      "The passcode comes from BLUEJEANS_MEETING_PASSCODE, --secret-file or --secret-stdin.");

  SecretSource access_token{"BLUEJEANS_ACCESS_TOKEN", "access token", {}, false};
  CLI::App* info = app.add_subcommand("token-info", "Check a token and show whose it is");
  add_secret_options(*info, access_token);
  info->footer("The token comes from BLUEJEANS_ACCESS_TOKEN, --secret-file or --secret-stdin.");

  CLI::App* demo = app.add_subcommand(
      "demo", "Run every operation against an in-process emulator and show a fault plan");
  app.footer(exit_code_help);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return exit_usage;
  }

  try {
    if (demo->parsed()) {
      return run_demo();
    }

    const auto seconds = std::chrono::milliseconds(static_cast<long>(timeout * 1000));
    config.connect_timeout = seconds;
    config.read_timeout = seconds;
    config.write_timeout = seconds;
    config.verify_ssl = !insecure;
    bj::AuthenticationApi<> api(config);

    if (client->parsed()) {
      const auto secret = read_secret(client_secret);
      if (!secret) {
        return exit_usage;
      }
      client_request.client_secret = *secret;
      return report(api.try_get_token_by_client(client_request), token_only);
    }
    if (user->parsed()) {
      const auto secret = read_secret(password);
      if (!secret) {
        return exit_usage;
      }
      password_request.password = *secret;
      return report(api.try_get_token_by_password(password_request), token_only);
    }
    if (meeting->parsed()) {
      const auto secret = read_secret(passcode);
      if (!secret) {
        return exit_usage;
      }
      meeting_request.meeting_passcode = *secret;
      return report(api.try_get_token_by_meeting(meeting_request), token_only);
    }
    const auto token = read_secret(access_token);
    if (!token) {
      return exit_usage;
    }
    return report(api.try_get_token_info(*token), false);
  } catch (const std::exception& e) {
    std::cerr << "bluejeans-auth: " << e.what() << '\n';
    return exit_failure;
  }
}
