#include "host/cli/Live.h"

#include "host/io/TerminalText.h"

#include "host/cli/CommandLine.h"
#include "host/cli/CommandParser.h"

#include "core/Units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace sg::cli {

namespace {

/// "-x" or "--xyz", but not a negative number such as "-6".
bool isOption(const std::string& arg) {
    return arg.size() > 1 && arg[0] == '-' && !std::isdigit(static_cast<unsigned char>(arg[1])) && arg[1] != '.';
}

/// "--set a.b=1 c.d=2": the words with '=' after a --set are --set values of their own, so
/// `--set` keeps one value per occurrence and a graph file after it stays a graph file.
std::vector<std::string> expandSets(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        out.push_back(args[i]);
        const bool set = args[i] == "--set" || args[i].rfind("--set=", 0) == 0;
        if (!set) continue;
        if (args[i] == "--set" && i + 1 < args.size()) out.push_back(args[++i]);
        while (i + 1 < args.size() && !isOption(args[i + 1]) && args[i + 1].find('=') != std::string::npos) {
            out.push_back("--set");
            out.push_back(args[++i]);
        }
    }
    return out;
}

/// The options of `live`, declared once for the parser and --help.
struct LiveArguments {
    std::vector<std::string> graphs, inputs, overrides, includeDirs;
    std::string inputDevice, device, api, rate, block, duration, crossfade, cycle, tee, format;
    bool loop = false, matchLoudness = false, listDevices = false, keepAwake = false;
    std::unique_ptr<CLI::App> app;

    LiveArguments() {
        app = makeCommandApp({"usage: stagegraph live GRAPH.yaml... [-i FILE | --input-device ID] [options]\n"
                              "       stagegraph live --list-devices [--api jack|alsa|pulse]",
                              "Plays a file (or an input device) through GRAPH.yaml on an audio device. With several graphs,\n"
                              "switch between them while they play: keys 1-9 on a terminal, or lines 'switch N' on standard\n"
                              "input. The switch is an equal-power crossfade, time-aligned across the graphs' latencies.",
                              "While playing, standard input takes: switch N, set NODE.PARAM VALUE, reload [N], level DB,\n"
                              "match on|off, status, help, quit. Without a terminal a summary is printed at the end.\n"
                              "Exit status: 0 success, 1 device, file or processing failure, 2 usage or graph error."});
        app->add_option("GRAPH.yaml", graphs, "the graphs to play and switch between (1-9 switch)");
        app->add_option("-i,--input", inputs,
                        "play FILE (ends at its end unless --loop); its channels feed the\n"
                        "graph's inputs in order")
            ->type_name("FILE")
            ->allow_extra_args(false);
        app->add_option("--input-device", inputDevice, "process a device's input instead (index, name, or 'default')")
            ->type_name("ID");
        app->add_option("--device", device, "the output device (index or name; default: the API's default)")->type_name("ID");
        app->add_option("--api", api, "the audio system (default: the first one with a device)")->type_name("jack|alsa|pulse");
        app->add_option("--rate", rate, "sample rate (default: the file's, or the device's)")->type_name("HZ");
        app->add_option("--block", block, "period in frames asked of the device, 1..8192 (default 256)")->type_name("N");
        app->add_option("--duration", duration, "stop after S seconds (also '500ms')")->type_name("S");
        app->add_option("--cycle", cycle,
                        "switch to the next graph every S seconds of played audio, round the list (A/B listening, soak runs)")
            ->type_name("S");
        app->add_flag("--loop", loop, "play the file again from the start at its end");
        app->add_flag("--match-loudness", matchLoudness, "gain each graph so that all play at the source's short-term loudness");
        app->add_option("--crossfade", crossfade, "crossfade length (default 50 ms; 0 = a cut)")->type_name("MS");
        app->add_option("--tee", tee, "also write exactly what is sent to the device to FILE")->type_name("FILE");
        app->add_option("--format", format, "tee format: wav32f (default for .wav), wav24, wav16, flac24, flac16")
            ->type_name("FORMAT");
        app->add_option("--set", overrides, "override a parameter in every graph that has the node (repeatable)")
            ->type_name("node.param=VALUE")
            ->allow_extra_args(false);
        app->add_option("--include-dir", includeDirs, "a folder 'use:' may also include graphs from (repeatable)")
            ->type_name("DIR")
            ->allow_extra_args(false);
        app->add_flag("--keep-awake", keepAwake,
                      "keep every CPU from idling while playing (a spinning thread per CPU at the idle\n"
                      "priority): for virtual machines whose idle CPUs wake late and cause xruns");
        app->add_flag("--list-devices", listDevices, "list the audio devices and exit");
    }
};

bool parseInt(const std::string& text, long long& value) {
    const auto [end, code] = std::from_chars(text.data(), text.data() + text.size(), value);
    return code == std::errc() && end == text.data() + text.size();
}

/// A time: a bare number in `bareUnitMs` units, or a number with ms / s.
bool parseTimeMs(const std::string& text, double bareUnitMs, double& ms) {
    char* end = nullptr;
    const double bare = std::strtod(text.c_str(), &end);
    if (end && end != text.c_str() && *end == '\0') {
        ms = bare * bareUnitMs;
        return std::isfinite(ms);
    }
    const ParsedQuantity parsed = parseQuantity(text, UnitKind::Time);
    if (!parsed.value) return false;
    ms = *parsed.value;
    return true;
}

int usageError(const live::LiveConsole& console, const std::string& message) {
    std::fprintf(console.err, "stagegraph live: error: %s\n(see 'stagegraph live --help')\n", io::terminalText(message).c_str());
    return kExitUsage;
}

} // namespace

const char* liveUsage() {
    static const std::string text = helpText(*LiveArguments().app);
    return text.c_str();
}

std::string parseLiveArguments(const std::vector<std::string>& args, LiveRequest& request) {
    live::LiveOptions& options = request.options;
    LiveArguments a;
    const ParseOutcome outcome = parseCommandArguments(*a.app, expandSets(args));
    if (outcome.help) {
        request.help = true;
        return {};
    }
    if (!outcome.error.empty()) return outcome.error;
    const auto given = [&](const char* name) { return a.app->count(name) > 0; };

    if (a.inputs.size() > 1) return "one input file only (-i is given twice)";
    if (!a.inputs.empty()) options.inputFile = a.inputs.front();
    const bool inputDeviceGiven = given("--input-device");
    if (inputDeviceGiven) {
        options.useInputDevice = true;
        options.inputDevice = a.inputDevice == "default" ? "" : a.inputDevice;
    }
    if (given("--device")) options.outputDevice = a.device == "default" ? "" : a.device;
    if (given("--api")) {
        auto api = live::parseAudioApi(a.api);
        if (!api) return "--api: expected jack, alsa or pulse, got '" + a.api + "'";
        options.api = *api;
    }
    if (given("--rate")) {
        long long hz = 0;
        double parsedHz = 0;
        if (parseInt(a.rate, hz))
            parsedHz = double(hz);
        else if (auto q = parseQuantity(a.rate, UnitKind::Frequency); q.value)
            parsedHz = *q.value;
        if (!(parsedHz >= 8000 && parsedHz <= 768000) || parsedHz != std::floor(parsedHz))
            return "--rate: expected a whole rate from 8000 to 768000 Hz, got '" + a.rate + "'";
        options.sampleRateHz = unsigned(parsedHz);
    }
    if (given("--block")) {
        long long frames = 0;
        if (!parseInt(a.block, frames) || frames < live::kLiveMinBlockFrames || frames > live::kLiveMaxBlockFrames)
            return "--block: expected a frame count from " + std::to_string(live::kLiveMinBlockFrames) + " to " +
                   std::to_string(live::kLiveMaxBlockFrames) + ", got '" + a.block + "'";
        options.blockFrames = int(frames);
    }
    if (given("--duration")) {
        double ms = 0;
        if (!parseTimeMs(a.duration, 1000.0, ms) || !(ms > 0))
            return "--duration: expected a time above 0 (5, 2.5s, 500ms), got '" + a.duration + "'";
        options.durationSeconds = ms / 1000.0;
    }
    if (given("--crossfade")) {
        double ms = 0;
        if (!parseTimeMs(a.crossfade, 1.0, ms) || !(ms >= 0 && ms <= live::kLiveMaxCrossfadeMs))
            return "--crossfade: expected a time from 0 to 10000 ms (50, 80ms, 0.1s), got '" + a.crossfade + "'";
        options.crossfadeMs = ms;
    }
    if (given("--cycle")) {
        double ms = 0;
        if (!parseTimeMs(a.cycle, 1000.0, ms) || !(ms >= 50 && ms <= 86400e3))
            return "--cycle: expected a time from 50 ms to 24 hours (4, 1.5s, 500ms), got '" + a.cycle + "'";
        options.cycleSeconds = ms / 1000.0;
    }
    if (a.loop) options.loop = true;
    if (a.keepAwake) options.keepAwake = true;
    if (a.matchLoudness) options.matchLoudness = true;
    if (given("--tee")) options.teePath = a.tee;
    if (given("--format")) {
        options.teeFormat = io::parseOutputFormat(a.format);
        if (!options.teeFormat) return "--format: unknown format '" + a.format + "' (wav16, wav24, wav32f, flac16 or flac24)";
    }
    options.overrides.insert(options.overrides.end(), a.overrides.begin(), a.overrides.end());
    options.includeDirs = a.includeDirs;
    options.graphPaths.insert(options.graphPaths.end(), a.graphs.begin(), a.graphs.end());
    request.listDevices = a.listDevices;

    if (request.listDevices) return {};
    if (options.graphPaths.empty()) return "no graph file given";
    if (!options.inputFile.empty() && inputDeviceGiven) return "-i FILE and --input-device exclude each other";
    if (options.inputFile.empty() && !inputDeviceGiven)
        return "nothing to play: give -i FILE, or --input-device ID to process a device's input";
    if (options.loop && options.inputFile.empty()) return "--loop needs -i FILE";
    if (options.cycleSeconds > 0 && options.graphPaths.size() < 2) return "--cycle needs two graphs or more to switch between";
    if (options.teeFormat && options.teePath.empty()) return "--format applies to --tee FILE, which is not given";
    return {};
}

int runLive(const std::vector<std::string>& args, const live::LiveConsole& console, live::LiveSummary* summary) {
    LiveRequest request;
    if (auto error = parseLiveArguments(args, request); !error.empty()) return usageError(console, error);
    if (request.help) {
        std::fputs(liveUsage(), console.out);
        return kExitOk;
    }
    if (request.listDevices) return live::printDevices(request.options.api, console.out, console.err);
    return live::runLiveSession(request.options, console, summary);
}

int runLive(const std::vector<std::string>& args) { return runLive(args, live::LiveConsole{}); }

} // namespace sg::cli
