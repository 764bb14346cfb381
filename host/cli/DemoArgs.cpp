// The options of `stagegraph demo`, declared once (CLI11) for parsing and `--help`.
#include "host/cli/CommandParser.h"
#include "host/cli/Demo.h"
#include "host/cli/DemoSong.h"

#include <cmath>
#include <cstdlib>

namespace sg::cli {

namespace {

struct DemoParser {
    std::string stems, keep, length;
    bool force = false, json = false;
    std::unique_ptr<CLI::App> app;

    DemoParser() {
        app = makeCommandApp({"usage: stagegraph demo [--stems DIR] [--keep DIR] [--force] [--length SECONDS] [--json]",
                              "The mixing-vs-mastering story on the built-in song: seven synthesised stems, a balanced\n"
                              "and a flawed mix, each through a streaming and a loud master, with the figures of the\n"
                              "lessons (docs/teaching/).",
                              "Existing files are never replaced without --force.\n"
                              "Exit status: 0 success, 1 processing or I/O failure, 2 usage error."});
        app->add_option("--stems", stems, "write the stems (DIR/stems) and the graphs (DIR/teaching, ...) to DIR")
            ->type_name("DIR");
        app->add_option("--keep", keep, "keep the rendered mixes and masters in DIR")->type_name("DIR");
        app->add_flag("--force", force, "replace files that already exist");
        app->add_option("--length", length, "song length, 8 to 60 s in whole bars of 2 s (default 48)")->type_name("SECONDS");
        app->add_flag("--json", json, "print the figures as one JSON object");
    }
};

} // namespace

const char* demoUsage() {
    static const std::string text = helpText(*DemoParser().app);
    return text.c_str();
}

std::string parseDemoArguments(const std::vector<std::string>& args, DemoOptions& options) {
    DemoParser parser;
    const ParseOutcome outcome = parseCommandArguments(*parser.app, args);
    options.help = outcome.help;
    if (!outcome.error.empty()) return outcome.error;
    if (parser.app->count("--keep") && parser.keep.empty()) return "--keep needs a folder";
    if (parser.app->count("--stems") && parser.stems.empty()) return "--stems needs a folder";
    if (parser.app->count("--length")) {
        char* end = nullptr;
        const double seconds = std::strtod(parser.length.c_str(), &end);
        if (end == parser.length.c_str() || *end != '\0' || !(seconds >= kDemoSongMinSeconds && seconds <= kDemoSongMaxSeconds))
            return "--length: expected seconds from 8 to 60, got '" + parser.length + "'";
        options.seconds = seconds;
    }
    options.stemsFolder = parser.stems;
    options.keepFolder = parser.keep;
    options.force = parser.force;
    options.json = parser.json;
    return {};
}

} // namespace sg::cli
