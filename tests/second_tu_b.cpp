// second_tu_b.cpp: the second translation unit that includes the header.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"

std::string encode_in_second_unit(const bluejeans::auth::GrantRequestClient& request) {
  return nlohmann::json(request).dump();
}
