// Helpers shared by the safety tests (tests/host/test_safety_*.cpp): they run the real command,
// by default the one built here, or the binary named by STAGEGRAPH_SAFETY_CLI (to show that a
// test fails on an older build).
#pragma once

#include "support/TestSupport.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace sg::test::safety {

/// The stagegraph binary under test.
inline std::string cli() {
    const char* chosen = std::getenv("STAGEGRAPH_SAFETY_CLI");
    return chosen && *chosen ? chosen : cliPath();
}

/// `cli()` quoted for the shell, built with += (GCC 12 warns, falsely, on "'" + string).
inline std::string cliWord() {
    std::string word = "'";
    word += cli();
    word += "' ";
    return word;
}

/// Runs the binary under test with `arguments` (as written, through /bin/sh).
inline CommandResult run(const std::string& arguments) { return runShell(cliWord() + arguments); }

/// A path quoted for the shell.
inline std::string q(const std::string& path) { return "'" + path + "'"; }

/// A whole file's bytes ("" if it cannot be read).
inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace sg::test::safety
