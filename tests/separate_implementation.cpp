// separate_implementation.cpp: the one file that compiles the library for the test program
// built with BLUEJEANS_AUTH_SEPARATE_COMPILATION; every other file of it sees declarations.
// SPDX-License-Identifier: MIT
#define BLUEJEANS_AUTH_IMPLEMENTATION
#include "bluejeans_auth.hpp"
