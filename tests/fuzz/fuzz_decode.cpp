// fuzz_decode.cpp: libFuzzer target for every reply model's decoder. The first byte picks the
// model; the rest is the JSON text.
// SPDX-License-Identifier: MIT
#define BLUEJEANS_AUTH_NO_HTTPLIB
#include "bluejeans_auth.hpp"

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace {

using namespace bluejeans::auth;

// A decoded model must survive encoding and decoding again unchanged, and print.
template <class Model>
void decode(std::string_view text) {
  std::string problem;
  const auto json = detail::parse_json(text, problem);
  if (!json) {
    if (problem.empty()) {
      __builtin_trap();  // a refusal always says why
    }
    return;
  }

  Model model;
  try {
    from_json(*json, model);
  } catch (const DecodeError& error) {
    if (error.error().message.empty()) {
      __builtin_trap();
    }
    return;
  }

  const nlohmann::json encoded = model;
  Model again;
  from_json(encoded, again);
  if (!(again == model)) {
    __builtin_trap();
  }
  std::ostringstream out;
  out << model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0:
      decode<GrantClient>(text);
      break;
    case 1:
      decode<GrantPassword>(text);
      break;
    case 2:
      decode<GrantMeeting>(text);
      break;
    case 3:
      decode<TokenInfo>(text);
      break;
    case 4:
      decode<Error>(text);
      break;
    default:
      decode<GrantMeetingScopeMeeting>(text);
      break;
  }
  return 0;
}
