// Every command's options, declared once with CLI11: --help lists each documented option,
// unknown options and missing values exit 2 naming the command and the option, --name=value and
// --name value are the same, negative values are values, repeated options accumulate; counts in
// output agree with their nouns; JSON strings are escaped as RFC 8259 says.
#include "core/Buffer.h"
#include "host/cli/Analyze.h"
#include "host/cli/CommandLine.h"
#include "host/cli/Live.h"
#include "host/cli/Render.h"
#include "host/io/AudioFile.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <regex>

using namespace sg;
using sg::test::runCli;
using sg::test::TempDir;

namespace {

std::string q(const std::string& path) { return "'" + path + "'"; }

const char* kOneNodeGraph = "stagegraph: 1\n"
                            "inputs:\n"
                            "  mix: {channels: 1}\n"
                            "outputs:\n"
                            "  out: {channels: 1}\n"
                            "nodes:\n"
                            "  trim: {type: gain, gain: 0 dB}\n"
                            "connections:\n"
                            "  - mix -> trim -> out\n";

void writeMonoWav(const std::string& path, const std::vector<float>& samples) {
    AudioBuffer buffer(1, int(samples.size()));
    std::copy(samples.begin(), samples.end(), buffer.channel(0));
    io::AudioFileWriter writer;
    REQUIRE(writer.open(path, io::OutputFormat::Wav32f, 48000, 1) == "");
    REQUIRE(writer.write(buffer.view()) == "");
    REQUIRE(writer.commit() == "");
}

/// The options each command documents (docs and design.md): the contract --help must show.
struct CommandOptions {
    const char* command;
    std::vector<const char*> options;
};
const std::vector<CommandOptions> kDocumentedOptions = {
    {"render",
     {"-h, --help", "-i, --input", "-o, --output", "--set", "--swap", "--target", "--ceiling", "--report", "--format", "--block",
      "--no-batch", "--threads"}},
    {"analyze", {"-h, --help", "--json", "--oversampling"}},
    {"check", {"-h, --help", "--schedule", "--rate", "--block", "--no-batch", "--set", "--threads"}},
    {"dot", {"-h, --help", "--rate", "--block", "--no-batch", "--set"}},
    {"nodes", {"-h, --help", "--markdown", "--out"}},
    {"demo", {"-h, --help", "--stems", "--keep", "--force", "--length", "--json"}},
    {"live",
     {"-h, --help", "-i, --input", "--input-device", "--device", "--api", "--rate", "--block", "--duration", "--loop",
      "--match-loudness", "--crossfade", "--cycle", "--tee", "--format", "--set", "--include-dir", "--keep-awake",
      "--list-devices"}},
};

} // namespace

TEST_CASE("cli options: --help of every command lists each documented option", "[cli]") {
    for (const auto& [command, options] : kDocumentedOptions) {
        const auto help = runCli(std::string(command) + " --help");
        INFO(command << "\n" << help.out << help.err);
        CHECK(help.status == 0);
        CHECK(help.out.rfind(std::string("usage: stagegraph ") + command, 0) == 0);
        CHECK(help.out.find("Exit status") != std::string::npos);
        for (const char* option : options) {
            INFO(option);
            // At the start of a help line, as the option list prints it.
            CHECK(help.out.find("\n  " + std::string(option)) != std::string::npos);
        }
    }
}

TEST_CASE("cli options: an unknown option exits 2 naming the command and the option", "[cli]") {
    for (const auto& entry : kDocumentedOptions) {
        const std::string command = entry.command;
        const auto r = runCli(command + " --bogus-option x.yaml");
        INFO(command << "\n" << r.err);
        CHECK(r.status == 2);
        CHECK(r.err.find("stagegraph " + command + ":") != std::string::npos);
        CHECK(r.err.find("unknown option '--bogus-option'") != std::string::npos);
    }
    // "--name=value" of an unknown option names it as typed.
    const auto inline_ = runCli("analyze --loud=3 x.wav");
    INFO(inline_.err);
    CHECK(inline_.status == 2);
    CHECK(inline_.err.find("'--loud=3'") != std::string::npos);
}

TEST_CASE("cli options: a value option at the end or before another option lacks its value", "[cli]") {
    cli::RenderRequest request;
    bool help = false;
    CHECK(cli::parseRenderArguments({"g.yaml", "-o", "--set", "a.b=1"}, request, help) == "-o needs a value");
    cli::RenderRequest other;
    CHECK(cli::parseRenderArguments({"g.yaml", "-o", "o.wav", "--block"}, other, help) == "--block needs a value");
    cli::LiveRequest live;
    CHECK(cli::parseLiveArguments({"g.yaml", "-i", "in.wav", "--duration"}, live) == "--duration needs a value");
    const auto demo = runCli("demo --keep");
    INFO(demo.err);
    CHECK(demo.status == 2);
    CHECK(demo.err.find("--keep needs a value") != std::string::npos);
}

TEST_CASE("cli options: --name=value and --name value parse the same", "[cli]") {
    cli::RenderRequest spaced, joined;
    bool help = false;
    REQUIRE(cli::parseRenderArguments({"g.yaml", "-o", "o.wav", "--block", "64", "--format", "flac16", "--report", "r.json"},
                                      spaced, help) == "");
    REQUIRE(cli::parseRenderArguments({"g.yaml", "--output=o.wav", "--block=64", "--format=flac16", "--report=r.json"}, joined,
                                      help) == "");
    CHECK(spaced.blockFrames == 64);
    CHECK(joined.blockFrames == spaced.blockFrames);
    CHECK(joined.format == spaced.format);
    CHECK(joined.reportPath == "r.json");
    CHECK(joined.outputs == spaced.outputs);

    cli::LiveRequest liveSpaced, liveJoined;
    REQUIRE(cli::parseLiveArguments({"g.yaml", "-i", "in.wav", "--block", "128", "--crossfade", "80ms"}, liveSpaced) == "");
    REQUIRE(cli::parseLiveArguments({"g.yaml", "--input=in.wav", "--block=128", "--crossfade=80ms"}, liveJoined) == "");
    CHECK(liveSpaced.options.blockFrames == 128);
    CHECK(liveJoined.options.blockFrames == 128);
    CHECK(liveJoined.options.crossfadeMs == Approx(80));
    CHECK(liveJoined.options.inputFile == "in.wav");

    TempDir dir;
    const std::string graph = dir.write("one.yaml", kOneNodeGraph);
    const auto check = runCli("check " + q(graph) + " --rate=44100 --block=64");
    INFO(check.err);
    CHECK(check.status == 0);
    CHECK(check.out.find("at 44100 Hz") != std::string::npos);
}

TEST_CASE("cli options: negative numbers are values, not options", "[cli]") {
    cli::RenderRequest request;
    bool help = false;
    REQUIRE(
        cli::parseRenderArguments({"g.yaml", "-o", "o.wav", "--target", "-14LUFS", "--ceiling", "-2dBTP", "--set", "x.gain=-6dB"},
                                  request, help) == "");
    REQUIRE(request.target.has_value());
    CHECK(request.target->integratedLufs == -14);
    CHECK(request.target->ceilingDbtp == -2);
    CHECK(request.overrides == std::vector<std::string>{"x.gain=-6dB"});

    cli::RenderRequest joined;
    REQUIRE(cli::parseRenderArguments({"g.yaml", "-o", "o.wav", "--target=-16LUFS", "--ceiling=-1.5dBTP"}, joined, help) == "");
    REQUIRE(joined.target.has_value());
    CHECK(joined.target->integratedLufs == -16);
    CHECK(joined.target->ceilingDbtp == -1.5);

    // A negative value is parsed and then rejected by its own range check, naming the option.
    cli::LiveRequest live;
    const std::string error = cli::parseLiveArguments({"g.yaml", "-i", "in.wav", "--block", "-5"}, live);
    INFO(error);
    CHECK(error.find("--block: expected a frame count") != std::string::npos);
    CHECK(error.find("'-5'") != std::string::npos);
    cli::LiveRequest liveSet;
    REQUIRE(cli::parseLiveArguments({"g.yaml", "-i", "in.wav", "--set", "x.gain=-6dB"}, liveSet) == "");
    CHECK(liveSet.options.overrides == std::vector<std::string>{"x.gain=-6dB"});
}

TEST_CASE("cli options: live --keep-awake is a flag, off unless given", "[cli]") {
    cli::LiveRequest plain, awake, bad;
    REQUIRE(cli::parseLiveArguments({"g.yaml", "-i", "in.wav"}, plain) == "");
    CHECK_FALSE(plain.options.keepAwake);
    REQUIRE(cli::parseLiveArguments({"g.yaml", "-i", "in.wav", "--keep-awake"}, awake) == "");
    CHECK(awake.options.keepAwake);
    // A flag takes no word of its own: a value that is not a boolean is refused, naming the option.
    const std::string error = cli::parseLiveArguments({"g.yaml", "-i", "in.wav", "--keep-awake=banana"}, bad);
    INFO(error);
    CHECK(error.find("--keep-awake") != std::string::npos);
}

TEST_CASE("cli options: live --cycle takes a time and two graphs or more", "[cli]") {
    cli::LiveRequest ok;
    REQUIRE(cli::parseLiveArguments({"a.yaml", "b.yaml", "-i", "in.wav", "--cycle", "1.5s"}, ok) == "");
    CHECK(ok.options.cycleSeconds == 1.5);
    cli::LiveRequest bare;
    REQUIRE(cli::parseLiveArguments({"a.yaml", "b.yaml", "-i", "in.wav", "--cycle=4"}, bare) == "");
    CHECK(bare.options.cycleSeconds == 4);
    for (const char* bad : {"0", "-1", "10ms", "nan", "inf", "3 dB", "x", "100000"}) {
        cli::LiveRequest request;
        const std::string error = cli::parseLiveArguments({"a.yaml", "b.yaml", "-i", "in.wav", "--cycle", bad}, request);
        INFO(bad << ": " << error);
        CHECK(error.rfind("--cycle: expected a time from 50 ms to 24 hours", 0) == 0);
    }
    cli::LiveRequest one;
    CHECK(cli::parseLiveArguments({"a.yaml", "-i", "in.wav", "--cycle", "2"}, one) ==
          "--cycle needs two graphs or more to switch between");
}

TEST_CASE("cli options: repeated options accumulate in order", "[cli]") {
    cli::RenderRequest request;
    bool help = false;
    REQUIRE(cli::parseRenderArguments({"g.yaml", "-i", "a.wav", "-i", "b.wav", "-o", "o.wav", "--set", "x.gain=1dB", "--set",
                                       "y.gain=2dB", "--set=z.gain=3dB"},
                                      request, help) == "");
    CHECK(request.inputs == std::vector<std::string>{"a.wav", "b.wav"});
    CHECK(request.overrides == std::vector<std::string>{"x.gain=1dB", "y.gain=2dB", "z.gain=3dB"});

    // live: one value per --set, further NAME=VALUE words continue it, a graph file after it stays a graph.
    cli::LiveRequest live;
    REQUIRE(cli::parseLiveArguments({"a.yaml", "--set", "x.gain=1dB", "y.gain=2dB", "b.yaml", "--set=z.q=2", "-i", "in.wav"},
                                    live) == "");
    CHECK(live.options.overrides == std::vector<std::string>{"x.gain=1dB", "y.gain=2dB", "z.q=2"});
    CHECK(live.options.graphPaths == std::vector<std::string>{"a.yaml", "b.yaml"});
    cli::LiveRequest twice;
    CHECK(cli::parseLiveArguments({"a.yaml", "-i", "x.wav", "-i", "y.wav"}, twice) == "one input file only (-i is given twice)");
}

TEST_CASE("cli options: counts agree with their nouns", "[cli]") {
    CHECK(cli::plural(0, "step", "steps") == "0 steps");
    CHECK(cli::plural(1, "step", "steps") == "1 step");
    CHECK(cli::plural(2, "step", "steps") == "2 steps");
    CHECK(cli::plural(1, "switch", "switches") == "1 switch");

    // One node, no latency, no delays: the check summary says "1 step", the render summary of a
    // one-frame file "1 frame".
    TempDir dir;
    const std::string graph = dir.write("one.yaml", kOneNodeGraph);
    const std::regex wrongPlural("\\b1 (steps|frames|channels|lanes|compensation delays|runs|clipped samples)\\b");
    const auto check = runCli("check " + q(graph));
    INFO(check.out << check.err);
    CHECK(check.status == 0);
    CHECK(check.out.find("1 step\n") != std::string::npos);
    CHECK(check.out.find("0 compensation delays") != std::string::npos);
    CHECK_FALSE(std::regex_search(check.out, wrongPlural));

    writeMonoWav(dir.file("one.wav"), {0.25f});
    const auto render = runCli("render " + q(graph) + " -i " + q(dir.file("one.wav")) + " -o " + q(dir.file("out.wav")));
    INFO(render.out << render.err);
    CHECK(render.status == 0);
    CHECK(render.out.find(": 1 frame,") != std::string::npos);
    CHECK(render.out.find("0 clipped samples") != std::string::npos);
    CHECK_FALSE(std::regex_search(render.out, wrongPlural));
}

TEST_CASE("cli options: analyze --json escapes strings as RFC 8259 and writes non-finite figures as null", "[cli][analyze]") {
    cli::FileAnalysis analysis;
    analysis.file = "a\"b\\c\nd\te\x01.wav";
    analysis.sampleRate = 48000;
    analysis.channels = 1;
    analysis.durationSeconds = 1.5;
    analysis.integratedLufs = -23.0004; // rounds to 3 decimals
    analysis.truePeakDbtp = -std::numeric_limits<double>::infinity();
    analysis.stereoCorrelation = std::numeric_limits<double>::quiet_NaN();
    const std::string json = cli::analysisJson(analysis);
    INFO(json);
    // RFC 8259 section 7: '"' and '\' escaped, control characters as \n, \t or \u00XX.
    CHECK(json.rfind(R"({"file": "a\"b\\c\nd\te\u0001.wav", )", 0) == 0);
    CHECK(json.find(R"("sample_rate": 48000, "channels": 1, "duration_s": 1.5, "integrated_lufs": -23, )") != std::string::npos);
    CHECK(json.find(R"("true_peak_dbtp": null)") != std::string::npos);
    CHECK(json.find(R"("stereo_correlation": null)") != std::string::npos);
    CHECK(json.find('\n') == std::string::npos); // one object per line
}
