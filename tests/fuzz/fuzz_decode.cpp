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

// The streaming decoder (the reply path) and the document walker (from_json) share one set of
// rules, so whatever the first accepts the second must accept too, to the same model; and a
// decoded model must survive encoding and decoding again unchanged, and print.
template <class Model>
void decode(std::string_view text) {
  Model streamed;
  const auto failure = detail::decode_text(text, streamed);
  if (failure) {
    if (failure->text().empty()) {
      __builtin_trap();  // a refusal always says why
    }
    return;  // a document may still hold what a stream refused: duplicate keys keep the last
  }

  const auto json = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (json.is_discarded()) {
    __builtin_trap();
  }
  Model walked;
  try {
    from_json(json, walked);
  } catch (const DecodeError&) {
    __builtin_trap();
  }
  if (!(walked == streamed)) {
    __builtin_trap();
  }

  const nlohmann::json encoded = streamed;
  Model again;
  from_json(encoded, again);
  if (!(again == streamed)) {
    __builtin_trap();
  }
  std::ostringstream out;
  out << streamed;
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
