// fuzz_reply.cpp: libFuzzer target for the whole reply path: a fuzzed status, headers and body
// (or transport failure) handed back by a fake backend must become a model or an ApiError,
// and no error may show the credentials that were sent.
// SPDX-License-Identifier: MIT
#define BLUEJEANS_AUTH_NO_HTTPLIB
#include "bluejeans_auth.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace bluejeans::auth;

// A secret and each form in which a reply may quote it: as given, percent-encoded as in the
// query, and JSON-escaped as in the body.
struct Secret {
  std::string raw;
  std::vector<std::string> forms;
};

Secret secret(std::string raw) {
  const std::string quoted = nlohmann::json(raw).dump();
  std::vector<std::string> forms = {raw, detail::url_encode(raw),
                                    quoted.substr(1, quoted.size() - 2)};
  return {std::move(raw), std::move(forms)};
}

// Quotes, backslashes, '+', '/', '=' and spaces, so that the escaped forms differ from the raw.
const Secret client_secret = secret(R"(FUZZ-CLIENT "SECRET\ 7f3a9c+/=)");
const Secret password = secret(R"(FUZZ-PASSWORD "1b2e4d\ +/=)");
const Secret passcode = secret(R"(FUZZ-PASSCODE "55aa11\ +/=)");
const Secret api_key = secret(R"(FUZZ-API-KEY "0c0ffee0\ +/=)");

struct FuzzedBackend {
  BackendResult reply;
  BackendResult send(const HttpRequest&) { return reply; }
};

// The credential the current operation sends; a server may echo only what it was sent, so
// only that and the API key must never show.
const Secret* sent_credential = nullptr;

void require_clean(const std::string& text) {
  for (const Secret* secret : {sent_credential, &api_key}) {
    if (!secret) {
      continue;
    }
    for (const std::string& form : secret->forms) {
      if (text.find(form) != std::string::npos) {
        __builtin_trap();
      }
    }
  }
}

// A backend's own failure text is trusted never to hold a credential (the backend contract),
// so only errors built from a reply are held to the check.
bool from_reply = true;

template <class T>
void check(const Result<T>& result) {
  if (result.ok()) {
    std::ostringstream out;
    out << result.value();
    require_clean(out.str());
    return;
  }
  const ApiError& error = result.error();
  if (error.message.empty() || error.operation.empty()) {
    __builtin_trap();
  }
  if (error.kind == ErrorKind::http_status && (error.status >= 200 && error.status < 300)) {
    __builtin_trap();
  }
  if (from_reply) {
    require_clean(error.message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const int operation = input.ConsumeIntegralInRange(0, 3);

  FuzzedBackend backend;
  from_reply = !input.ConsumeBool();
  if (!from_reply) {
    TransportFailure failure;
    failure.kind = static_cast<TransportFailureKind>(input.ConsumeIntegralInRange(0, 6));
    failure.message = input.ConsumeRandomLengthString(400);
    backend.reply = failure;
  } else {
    HttpResponse response;
    response.status = input.ConsumeIntegralInRange(0, 1000);
    response.reason = input.ConsumeRandomLengthString(64);
    const int header_count = input.ConsumeIntegralInRange(0, 8);
    for (int i = 0; i < header_count; ++i) {
      const std::string name = input.ConsumeRandomLengthString(32);
      response.headers.emplace(name, input.ConsumeRandomLengthString(64));
    }
    response.body = input.ConsumeRemainingBytesAsString();
    backend.reply = response;
  }

  Configuration config;
  config.api_key["access_token"] = api_key.raw;
  // The retry paths are fuzzed too (each reply is served to every attempt), without waiting.
  config.retry.sleep = [](std::chrono::milliseconds) {};
  config.log_level = LogLevel::debug;
  config.log = [](LogLevel, std::string_view line) {
    if (from_reply) {
      require_clean(std::string(line));
    }
  };
  AuthenticationApi<FuzzedBackend> api(config, backend);

  switch (operation) {
    case 0:
      sent_credential = &client_secret;
      check(api.try_get_token_by_client({"client_credentials", "fuzz-client", client_secret.raw}));
      break;
    case 1:
      sent_credential = &password;
      check(api.try_get_token_by_password({"password", "fuzz-user", password.raw}));
      break;
    case 2:
      sent_credential = &passcode;
      check(api.try_get_token_by_meeting({"meeting_passcode", "123456789", passcode.raw}));
      break;
    default:
      sent_credential = nullptr;
      check(api.try_get_token_info());
      break;
  }
  return 0;
}
