// The options of `stagegraph demo`, declared once (CLI11) for parsing and `--help`.
#include "host/cli/CommandParser.h"
#include "host/cli/Demo.h"

namespace sg::cli {

namespace {

std::unique_ptr<CLI::App> demoApp(std::string& keepFolder) {
    auto app = makeCommandApp({"usage: stagegraph demo [--keep DIR]",
                               "Synthesises a 10 s stereo test mix, renders it through graphs/mastering/streaming.yaml\n"
                               "and prints what changed (peak and RMS per channel, latency).",
                               "Exit status: 0 success, 1 processing or I/O failure, 2 usage error."});
    app->add_option("--keep", keepFolder, "write demo-mix.wav and demo-master.wav to DIR and keep them")->type_name("DIR");
    return app;
}

} // namespace

const char* demoUsage() {
    static std::string unused;
    static const std::string text = helpText(*demoApp(unused));
    return text.c_str();
}

std::string parseDemoArguments(const std::vector<std::string>& args, std::string& keepFolder, bool& help) {
    std::string folder;
    auto app = demoApp(folder);
    const ParseOutcome outcome = parseCommandArguments(*app, args);
    help = outcome.help;
    if (!outcome.error.empty()) return outcome.error;
    if (app->count("--keep") && folder.empty()) return "--keep needs a folder";
    keepFolder = folder;
    return {};
}

} // namespace sg::cli
