// emulator_main.cpp: bluejeans-auth-emulator, the local stand-in of the service as a program.
// SPDX-License-Identifier: MIT
//
// Prints "bluejeans-auth-emulator: listening on URL" as its first line of standard output,
// then one log line per request on standard error, until SIGINT or SIGTERM.

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "emulator.hpp"

int main(int argc, char** argv) {
  namespace emu = bluejeans::auth::emulator;

  CLI::App app{"A local emulator of the BlueJeans Authentication API (see \"The emulator\" "
               "in README.md)",
               "bluejeans-auth-emulator"};
  emu::Settings settings;
  std::string config_file;
  long token_lifetime = 0;
  std::vector<std::string> fault_texts;
  bool no_admin = false;

  app.add_option("--host", settings.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", settings.port, "Port to listen on; 0 picks a free one")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--config", config_file, "JSON file of clients, users and meetings")
      ->check(CLI::ExistingFile);
  app.add_option("--token-lifetime", token_lifetime, "Seconds a token stays valid (default 3600)")
      ->check(CLI::Range(1L, 31536000L));
  app.add_option("--tls-cert", settings.tls_cert, "PEM certificate; serve HTTPS")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", settings.tls_key, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile);
  app.add_option("--fault", fault_texts,
                 "OP:FAULT to serve next, repeatable; OP is client, meeting, password or "
                 "token-info; FAULT is STATUS[,retry-after=S], latency=MS, not-json, "
                 "wrong-shape, drop or expired-token");
  app.add_flag("--no-admin", no_admin, "Do not serve the /_emulator/faults admin endpoint");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (settings.tls_cert.empty() != settings.tls_key.empty()) {
    std::cerr << "bluejeans-auth-emulator: --tls-cert and --tls-key go together\n";
    return 2;
  }

  std::vector<std::pair<emu::Operation, emu::Fault>> faults;
  try {
    if (!config_file.empty()) {
      emu::load_config_file(settings, config_file);
    }
    for (const std::string& text : fault_texts) {
      faults.push_back(emu::parse_operation_fault(text));
    }
  } catch (const std::invalid_argument& e) {
    std::cerr << "bluejeans-auth-emulator: " << e.what() << '\n';
    return 2;
  }
  if (token_lifetime > 0) {
    settings.token_lifetime = std::chrono::seconds(token_lifetime);
  }
  settings.admin_endpoint = !no_admin;
  settings.log = [](std::string_view line) { std::cerr << line << std::endl; };

  // Block the stop signals before any thread starts, so that only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    emu::Emulator emulator(std::move(settings));
    for (const auto& [op, fault] : faults) {
      emulator.add_fault(op, fault);
    }
    std::cout << "bluejeans-auth-emulator: listening on " << emulator.url() << std::endl;

    int received = 0;
    sigwait(&stop_signals, &received);
    std::cerr << "bluejeans-auth-emulator: stopping after " << emulator.faults_served()
              << " faults served" << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "bluejeans-auth-emulator: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
