#include "host/cli/Live.h"

#include "host/cli/CommandLine.h"

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
    std::fprintf(console.err, "stagegraph live: error: %s\n(see 'stagegraph live --help')\n", message.c_str());
    return kExitUsage;
}

} // namespace

const char* liveUsage() {
    return "usage: stagegraph live GRAPH.yaml... [-i FILE | --input-device ID] [options]\n"
           "       stagegraph live --list-devices [--api jack|alsa|pulse]\n"
           "\n"
           "Plays a file (or an input device) through GRAPH.yaml on an audio device. With several graphs,\n"
           "switch between them while they play: keys 1-9 on a terminal, or lines 'switch N' on standard\n"
           "input. The switch is an equal-power crossfade, time-aligned across the graphs' latencies.\n"
           "\n"
           "  -i FILE                play FILE (ends at its end unless --loop); its channels feed the\n"
           "                         graph's inputs in order\n"
           "  --input-device ID      process a device's input instead (index, name, or 'default')\n"
           "  --device ID            the output device (index or name; default: the API's default)\n"
           "  --api jack|alsa|pulse  the audio system (default: the first one with a device)\n"
           "  --rate HZ              sample rate (default: the file's, or the device's)\n"
           "  --block N              period in frames asked of the device, 1..8192 (default 256)\n"
           "  --duration S           stop after S seconds (also '500ms')\n"
           "  --loop                 play the file again from the start at its end\n"
           "  --match-loudness       gain each graph so that all play at the source's short-term loudness\n"
           "  --crossfade MS         crossfade length (default 50 ms; 0 = a cut)\n"
           "  --tee FILE             also write exactly what is sent to the device to FILE\n"
           "  --format FORMAT        tee format: wav32f (default for .wav), wav24, wav16, flac24, flac16\n"
           "  --set node.param=VALUE override a parameter in every graph that has the node (repeatable)\n"
           "  --list-devices         list the audio devices and exit\n"
           "\n"
           "While playing, standard input takes: switch N, set NODE.PARAM VALUE, reload [N], level DB,\n"
           "match on|off, status, help, quit. Without a terminal a summary is printed at the end.\n"
           "Exit status: 0 success, 1 device, file or processing failure, 2 usage or graph error.\n";
}

std::string parseLiveArguments(const std::vector<std::string>& args, LiveRequest& request) {
    live::LiveOptions& options = request.options;
    bool inputDeviceGiven = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        const OptionArgument option = splitOption(arg);
        const std::string& name = option.name;
        const std::string& inlineValue = option.inlineValue;
        const bool hasInline = option.hasInlineValue;
        std::string value;
        auto takeOne = [&]() -> bool {
            if (hasInline)
                value = inlineValue;
            else if (i + 1 < args.size())
                value = args[++i];
            else
                return false;
            return true;
        };
        auto needs = [&](const char* what) { return name + " needs " + what; };

        if (name == "-h" || name == "--help") {
            request.help = true;
            return {};
        } else if (name == "-i" || name == "--input") {
            if (!takeOne()) return needs("a file");
            if (!options.inputFile.empty()) return "one input file only (-i is given twice)";
            options.inputFile = value;
        } else if (name == "--input-device") {
            if (!takeOne()) return needs("a device index or name");
            inputDeviceGiven = true;
            options.useInputDevice = true;
            options.inputDevice = value == "default" ? "" : value;
        } else if (name == "--device") {
            if (!takeOne()) return needs("a device index or name");
            options.outputDevice = value == "default" ? "" : value;
        } else if (name == "--api") {
            if (!takeOne()) return needs("jack, alsa or pulse");
            auto api = live::parseAudioApi(value);
            if (!api) return "--api: expected jack, alsa or pulse, got '" + value + "'";
            options.api = *api;
        } else if (name == "--rate") {
            if (!takeOne()) return needs("a rate in Hz");
            long long hz = 0;
            double parsedHz = 0;
            if (parseInt(value, hz))
                parsedHz = double(hz);
            else if (auto q = parseQuantity(value, UnitKind::Frequency); q.value)
                parsedHz = *q.value;
            if (!(parsedHz >= 8000 && parsedHz <= 768000) || parsedHz != std::floor(parsedHz))
                return "--rate: expected a whole rate from 8000 to 768000 Hz, got '" + value + "'";
            options.sampleRateHz = unsigned(parsedHz);
        } else if (name == "--block") {
            if (!takeOne()) return needs("a frame count");
            long long frames = 0;
            if (!parseInt(value, frames) || frames < live::kLiveMinBlockFrames || frames > live::kLiveMaxBlockFrames)
                return "--block: expected a frame count from " + std::to_string(live::kLiveMinBlockFrames) + " to " +
                       std::to_string(live::kLiveMaxBlockFrames) + ", got '" + value + "'";
            options.blockFrames = int(frames);
        } else if (name == "--duration") {
            if (!takeOne()) return needs("a time in seconds");
            double ms = 0;
            if (!parseTimeMs(value, 1000.0, ms) || !(ms > 0))
                return "--duration: expected a time above 0 (5, 2.5s, 500ms), got '" + value + "'";
            options.durationSeconds = ms / 1000.0;
        } else if (name == "--crossfade") {
            if (!takeOne()) return needs("a time in ms");
            double ms = 0;
            if (!parseTimeMs(value, 1.0, ms) || !(ms >= 0 && ms <= live::kLiveMaxCrossfadeMs))
                return "--crossfade: expected a time from 0 to 10000 ms (50, 80ms, 0.1s), got '" + value + "'";
            options.crossfadeMs = ms;
        } else if (name == "--loop") {
            options.loop = true;
        } else if (name == "--match-loudness") {
            options.matchLoudness = true;
        } else if (name == "--tee") {
            if (!takeOne()) return needs("a file");
            options.teePath = value;
        } else if (name == "--format") {
            if (!takeOne()) return needs("a format");
            options.teeFormat = io::parseOutputFormat(value);
            if (!options.teeFormat) return "--format: unknown format '" + value + "' (wav16, wav24, wav32f, flac16 or flac24)";
        } else if (name == "--set") {
            const std::size_t before = options.overrides.size();
            if (hasInline) options.overrides.push_back(inlineValue);
            while (i + 1 < args.size() && !isOption(args[i + 1]) && args[i + 1].find('=') != std::string::npos)
                options.overrides.push_back(args[++i]);
            if (options.overrides.size() == before) return "--set needs node.param=VALUE";
        } else if (name == "--list-devices") {
            request.listDevices = true;
        } else if (isOption(arg)) {
            return "unknown option '" + arg + "'";
        } else {
            options.graphPaths.push_back(arg);
        }
    }
    if (request.listDevices) return {};
    if (options.graphPaths.empty()) return "no graph file given";
    if (!options.inputFile.empty() && inputDeviceGiven) return "-i FILE and --input-device exclude each other";
    if (options.inputFile.empty() && !inputDeviceGiven)
        return "nothing to play: give -i FILE, or --input-device ID to process a device's input";
    if (options.loop && options.inputFile.empty()) return "--loop needs -i FILE";
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
