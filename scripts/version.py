#!/usr/bin/env python3
"""Prints the library version, read from the BLUEJEANS_AUTH_VERSION_* macros of the header."""
# SPDX-License-Identifier: MIT
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
parts = [re.search(rf"#define BLUEJEANS_AUTH_VERSION_{name} (\d+)", text).group(1)
         for name in ("MAJOR", "MINOR", "PATCH")]
print(".".join(parts))
