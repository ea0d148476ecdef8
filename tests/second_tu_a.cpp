// second_tu_a.cpp: one of two translation units that include the header, so that a function
// defined in it without `inline` breaks the link of test_second_tu.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"

#include <doctest/doctest.h>

std::string encode_in_first_unit(const bluejeans::auth::GrantRequestClient& request) {
  return nlohmann::json(request).dump();
}

TEST_CASE("the header links when included from two translation units") {
  extern std::string encode_in_second_unit(const bluejeans::auth::GrantRequestClient&);
  const bluejeans::auth::GrantRequestClient request{"client_credentials", "id", "secret"};

  CHECK(encode_in_first_unit(request) == encode_in_second_unit(request));
}
