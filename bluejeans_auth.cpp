// bluejeans_auth.cpp: the library compiled once, for programs built with
// BLUEJEANS_AUTH_SEPARATE_COMPILATION defined in every file (see the top of bluejeans_auth.hpp).
// Header-only users do not need this file.
// SPDX-License-Identifier: MIT
#define BLUEJEANS_AUTH_IMPLEMENTATION
#include "bluejeans_auth.hpp"
