// One sub-command's options, declared once with CLI11: the declarations build both the parser
// and the `--help` text. Internal to host/cli/*.cpp (it brings in CLI11, a large header): never
// include it from a header.
//
// What every command gets: -h/--help; `--name=value` and `--name value`; negative numbers as
// values (`--target -14LUFS`); unknown options and missing values reported as one line that
// names the option as typed ("unknown option '--bogus'", "-o needs a value").
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

namespace sg::cli {

/// The fixed text around a command's generated option list.
struct CommandText {
    std::string usage;       ///< "usage: stagegraph render GRAPH.yaml ... [options]", one or more lines
    std::string description; ///< what the command does, after the usage (may be empty)
    std::string footer;      ///< after the options: notes and exit statuses (may be empty)
};

/// A CLI11 app for one sub-command with the project's help layout and -h/--help.
std::unique_ptr<CLI::App> makeCommandApp(const CommandText& text);

/// What parsing found.
struct ParseOutcome {
    bool help = false; ///< -h / --help was given (the rest is not checked)
    std::string error; ///< "" or a one-line usage error naming the option or argument
};

/// Parses `args` (the words after the command name) into the options declared on `app`.
ParseOutcome parseCommandArguments(CLI::App& app, const std::vector<std::string>& args);

/// The `--help` text of `app`.
std::string helpText(const CLI::App& app);

} // namespace sg::cli
