// compile_bare.cpp: the same grant written by hand with cpp-httplib and nlohmann/json, the
// baseline of the compile cost benchmark.
// SPDX-License-Identifier: MIT
#include <httplib.h>

#include <nlohmann/json.hpp>

int main() {
  httplib::Client client("https://api.bluejeans.com");
  const nlohmann::json body = {
      {"grant_type", "client_credentials"}, {"client_id", "id"}, {"client_secret", "secret"}};
  const auto reply = client.Post("/oauth2/token?Client", body.dump(), "application/json");
  if (!reply || reply->status != 200) {
    return 1;
  }
  const auto json = nlohmann::json::parse(reply->body, nullptr, false);
  return json.is_object() && json.contains("access_token") ? 0 : 1;
}
