// `stagegraph render` and `stagegraph demo` end to end: the command is run as a user runs it and
// its files are read back. Also the progress bar and the demo's signal helpers.
#include "host/cli/Demo.h"
#include "host/cli/Progress.h"
#include "host/cli/Render.h"
#include "host/io/AudioFile.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace sg;
using sg::test::runCli;
using sg::test::TempDir;

namespace {

const char* kGainGraph = R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes: {g: {type: gain, gain: -6 dB}}
connections: ["mix -> g -> out"]
)";

std::string q(const std::string& path) { return "'" + path + "'"; }

/// Writes planar `channels` as a 32-bit float WAV (exact).
void writeFloatWav(const std::string& path, const std::vector<std::vector<float>>& channels, double rate = 48000) {
    AudioBuffer buffer(int(channels.size()), int(channels[0].size()));
    for (std::size_t c = 0; c < channels.size(); ++c) std::copy(channels[c].begin(), channels[c].end(), buffer.channel(int(c)));
    io::AudioFileWriter writer;
    REQUIRE(writer.open(path, io::OutputFormat::Wav32f, rate, buffer.channels()) == "");
    REQUIRE(writer.write(buffer.view()) == "");
    REQUIRE(writer.commit() == "");
}

std::vector<std::vector<float>> stereoNoise(int frames, std::uint32_t seed = 11) {
    return {test::noise(frames, 0.5f, seed), test::noise(frames, 0.5f, seed + 1)};
}

struct FileContents {
    double rate = 0;
    std::string format;
    std::vector<std::vector<float>> channels;
};

FileContents readBack(const std::string& path) {
    io::AudioFileReader reader;
    REQUIRE(reader.open(path) == "");
    FileContents out;
    out.rate = reader.sampleRate();
    out.format = reader.formatDescription();
    AudioBuffer buffer(reader.channels(), int(reader.frames()));
    REQUIRE(reader.read(buffer.view()) == reader.frames());
    for (int c = 0; c < buffer.channels(); ++c) out.channels.emplace_back(buffer.channel(c), buffer.channel(c) + buffer.frames());
    return out;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// No temporary files left in `dir`.
bool noTemporaries(const TempDir& dir) {
    for (const auto& name : dir.list())
        if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") return false;
    return true;
}

double dbToLinear(double db) { return std::pow(10.0, db / 20.0); }

} // namespace

TEST_CASE("render runs a gain graph over a file, sample-aligned and at the file's rate", "[render]") {
    TempDir dir;
    const std::string graph = dir.write("gain.yaml", kGainGraph);
    const auto input = stereoNoise(44100 / 4 + 3);
    writeFloatWav(dir.file("in.wav"), input, 44100);

    SECTION("bare files, wav32f") {
        auto r =
            runCli("render " + q(graph) + " -i " + q(dir.file("in.wav")) + " -o " + q(dir.file("out.wav")) + " --format wav32f");
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK_THAT(r.out, Catch::Contains("11028 frames"));
        FileContents out = readBack(dir.file("out.wav"));
        CHECK(out.rate == 44100);
        REQUIRE(out.channels.size() == 2);
        REQUIRE(out.channels[0].size() == input[0].size());
        const double g = dbToLinear(-6);
        double worst = 0;
        for (int c = 0; c < 2; ++c)
            for (std::size_t i = 0; i < input[0].size(); ++i)
                worst = std::max(worst, std::abs(out.channels[c][i] - input[c][i] * g));
        CHECK(worst < 1e-6);
        CHECK(dir.list() == std::vector<std::string>{"gain.yaml", "in.wav", "out.wav"});
    }
    SECTION("NAME=FILE, --set, default format flac24 for .flac") {
        auto r = runCli("render " + q(graph) + " -i mix=" + q(dir.file("in.wav")) + " -o out=" + q(dir.file("out.flac")) +
                        " --set g.gain=-12dB");
        INFO(r.err);
        REQUIRE(r.status == 0);
        FileContents out = readBack(dir.file("out.flac"));
        CHECK_THAT(out.format, Catch::Contains("FLAC") && Catch::Contains("24 bit"));
        const double g = dbToLinear(-12), lsb = std::ldexp(1.0, -23);
        double worst = 0;
        for (std::size_t i = 0; i < input[0].size(); ++i) worst = std::max(worst, std::abs(out.channels[1][i] - input[1][i] * g));
        CHECK(worst <= 1.5 * lsb); // rounding + TPDF dither
    }
    SECTION("an input with a default file in the graph needs no -i") {
        std::string yaml = kGainGraph;
        yaml.replace(yaml.find("{mix: {channels: 2}}"), 20, "{mix: {channels: 2, file: in.wav}}");
        const std::string withDefault = dir.write("default.yaml", yaml);
        auto r = runCli("render " + q(withDefault) + " -o " + q(dir.file("out.wav")));
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(readBack(dir.file("out.wav")).channels[0].size() == input[0].size());
    }
}

TEST_CASE("render output does not depend on block size or batching, and dither is reproducible", "[render]") {
    TempDir dir;
    const std::string graph = dir.write("gain.yaml", kGainGraph);
    writeFloatWav(dir.file("in.wav"), stereoNoise(12000));
    const std::string base = "render " + q(graph) + " -i " + q(dir.file("in.wav")) + " --format wav16 -o ";
    for (const char* variant : {"a.wav", "b.wav --block 1", "c.wav --block 8192", "d.wav --block 37 --no-batch"}) {
        auto r = runCli(base + q(dir.path()) + "/" + variant);
        INFO(variant << "\n" << r.err);
        REQUIRE(r.status == 0);
    }
    const std::string reference = slurp(dir.file("a.wav"));
    CHECK(reference.size() > 48000);
    CHECK(slurp(dir.file("b.wav")) == reference);
    CHECK(slurp(dir.file("c.wav")) == reference);
    CHECK(slurp(dir.file("d.wav")) == reference);
}

TEST_CASE("render trims the graph's latency and pads shorter inputs", "[render]") {
    TempDir dir;
    SECTION("latency shorter and longer than a block and than the input") {
        const auto input = stereoNoise(1000);
        writeFloatWav(dir.file("in.wav"), input);
        for (int latency : {100, 3000}) {
            const std::string graph =
                dir.write("lat.yaml", "stagegraph: 1\ninputs: {mix: {channels: 2}}\noutputs: {out: {channels: 2}}\n"
                                      "nodes: {look: {type: latency, samples: " +
                                          std::to_string(latency) +
                                          "}}\n"
                                          "connections: [\"mix -> look -> out\"]\n");
            auto r = runCli("render " + q(graph) + " -i " + q(dir.file("in.wav")) + " -o " + q(dir.file("out.wav")) +
                            " --format wav32f --block 64");
            INFO(latency << "\n" << r.err);
            REQUIRE(r.status == 0);
            CHECK_THAT(r.out, Catch::Contains("latency: " + std::to_string(latency) + " frames"));
            FileContents out = readBack(dir.file("out.wav"));
            REQUIRE(out.channels[0].size() == input[0].size());
            CHECK(out.channels[0] == input[0]); // aligned to the sample, bit for bit
            CHECK(out.channels[1] == input[1]);
        }
    }
    SECTION("inputs of different lengths: the longest sets the length, the others end in silence") {
        writeFloatWav(dir.file("a.wav"), {std::vector<float>(1000, 0.25f)});
        writeFloatWav(dir.file("b.wav"), {std::vector<float>(1500, 0.5f)});
        const std::string graph = dir.write("sum.yaml", "stagegraph: 1\ninputs: {a: {channels: 1}, b: {channels: 1}}\n"
                                                        "outputs: {out: {channels: 1}}\nnodes: {g: {type: gain, gain: 0 dB}}\n"
                                                        "connections: [\"a -> g\", \"b -> g\", \"g -> out\"]\n");
        auto r = runCli("render " + q(graph) + " -i a=" + q(dir.file("a.wav")) + " b=" + q(dir.file("b.wav")) + " -o " +
                        q(dir.file("out.wav")) + " --format wav32f --block 300");
        INFO(r.err);
        REQUIRE(r.status == 0);
        FileContents out = readBack(dir.file("out.wav"));
        REQUIRE(out.channels[0].size() == 1500);
        CHECK(out.channels[0][0] == 0.75f);
        CHECK(out.channels[0][999] == 0.75f);
        CHECK(out.channels[0][1000] == 0.5f);
        CHECK(out.channels[0][1499] == 0.5f);
    }
}

TEST_CASE("render fails on unreadable or truncated input with status 1 and leaves no output", "[render]") {
    TempDir dir;
    const std::string graph = dir.write("gain.yaml", kGainGraph);
    SECTION("truncated WAV") {
        writeFloatWav(dir.file("cut.wav"), stereoNoise(48000));
        REQUIRE(::truncate(dir.file("cut.wav").c_str(), 200000) == 0);
        auto r = runCli("render " + q(graph) + " -i " + q(dir.file("cut.wav")) + " -o " + q(dir.file("out.wav")));
        CHECK(r.status == 1);
        CHECK_THAT(r.err, Catch::Contains(dir.file("cut.wav")) && Catch::Contains("truncated"));
    }
    SECTION("garbage") {
        dir.write("cut.wav", std::string(3000, 'x'));
        auto r = runCli("render " + q(graph) + " -i " + q(dir.file("cut.wav")) + " -o " + q(dir.file("out.wav")));
        CHECK(r.status == 1);
        CHECK_THAT(r.err, Catch::Contains("cannot open '" + dir.file("cut.wav") + "'"));
    }
    SECTION("missing file") {
        auto r = runCli("render " + q(graph) + " -i " + q(dir.file("cut.wav")) + " -o " + q(dir.file("out.wav")));
        CHECK(r.status == 1);
        CHECK_THAT(r.err, Catch::Contains(dir.file("cut.wav")));
    }
    SECTION("non-finite samples: named with their frame, nothing written") {
        auto input = stereoNoise(4000);
        input[1][1000] = std::numeric_limits<float>::quiet_NaN();
        writeFloatWav(dir.file("cut.wav"), input);
        auto r = runCli("render " + q(graph) + " -i " + q(dir.file("cut.wav")) + " -o " + q(dir.file("out.wav")));
        CHECK(r.status == 1);
        CHECK_THAT(r.err, Catch::Contains("'out'") && Catch::Contains("frame 1000"));
    }
    CHECK_FALSE(fs::exists(dir.file("out.wav")));
    CHECK(noTemporaries(dir));
}

TEST_CASE("render resamples an input at another rate and names the file on a channel mismatch", "[render]") {
    TempDir dir;
    const std::string twoInputs = dir.write("two.yaml", "stagegraph: 1\ninputs: {a: {channels: 2}, b: {channels: 2}}\n"
                                                        "outputs: {out: {channels: 2}}\nnodes: {g: {type: gain}}\n"
                                                        "connections: [\"a -> g\", \"b -> g\", \"g -> out\"]\n");
    writeFloatWav(dir.file("a48.wav"), stereoNoise(100), 48000);
    writeFloatWav(dir.file("b44.wav"), stereoNoise(100), 44100);
    writeFloatWav(dir.file("mono.wav"), {test::noise(100, 0.5f, 3)}, 48000);

    auto rate = runCli("render " + q(twoInputs) + " -i a=" + q(dir.file("a48.wav")) + " b=" + q(dir.file("b44.wav")) + " -o " +
                       q(dir.file("out.wav")));
    // Another rate is resampled to the first input's (issue 12): 100 frames at 44.1 kHz last 109 at 48 kHz.
    CHECK(rate.status == 0);
    io::AudioFileReader resampled;
    REQUIRE(resampled.open(dir.file("out.wav")) == "");
    CHECK(resampled.sampleRate() == 48000);
    CHECK(resampled.frames() == 109);
    resampled.close();
    fs::remove(dir.file("out.wav"));

    auto channels = runCli("render " + q(twoInputs) + " -i a=" + q(dir.file("a48.wav")) + " b=" + q(dir.file("mono.wav")) +
                           " -o " + q(dir.file("out.wav")));
    CHECK(channels.status == 1);
    CHECK_THAT(channels.err, Catch::Contains("'" + dir.file("mono.wav") + "' has 1 channel") && Catch::Contains("'b' expects 2"));

    auto missing = runCli("render " + q(twoInputs) + " -i a=" + q(dir.file("a48.wav")) + " -o " + q(dir.file("out.wav")));
    CHECK(missing.status == 2);
    CHECK_THAT(missing.err, Catch::Contains("graph input 'b'"));

    auto ambiguous = runCli("render " + q(twoInputs) + " -i " + q(dir.file("a48.wav")) + " -o " + q(dir.file("out.wav")));
    CHECK(ambiguous.status == 2);
    CHECK_THAT(ambiguous.err, Catch::Contains("'a', 'b'"));

    auto unknown = runCli("render " + q(twoInputs) + " -i a=" + q(dir.file("a48.wav")) + " c=" + q(dir.file("a48.wav")) + " -o " +
                          q(dir.file("out.wav")));
    CHECK(unknown.status == 2);
    CHECK_THAT(unknown.err, Catch::Contains("no input 'c'"));
    CHECK_FALSE(fs::exists(dir.file("out.wav")));
    CHECK(noTemporaries(dir));
}

TEST_CASE("render rejects bad usage with status 2", "[render]") {
    TempDir dir;
    const std::string graph = dir.write("gain.yaml", kGainGraph);
    writeFloatWav(dir.file("in.wav"), stereoNoise(100));
    const std::string before = slurp(dir.file("in.wav"));
    const std::string io = " -i " + q(dir.file("in.wav")) + " -o " + q(dir.file("out.wav"));
    struct Case {
        std::string arguments;
        std::string message;
    };
    const std::vector<Case> cases = {
        {"render " + q(graph) + io + " --block 0", "--block"},
        {"render " + q(graph) + io + " --block 8193", "--block"},
        {"render " + q(graph) + io + " --block x", "--block"},
        {"render " + q(graph) + io + " --format mp4", "unknown format 'mp4'"},
        {"render " + q(graph) + io + " --format flac16", "does not fit"},
        {"render " + q(graph) + io + " --target loudest", "--target: expected a loudness"},
        {"render " + q(graph) + io + " --bogus", "unknown option '--bogus'"},
        {"render " + q(graph) + " -i " + q(dir.file("in.wav")), "no output file"},
        {"render " + q(graph) + " -i " + q(dir.file("in.wav")) + " -o " + q(dir.file("in.wav")),
         "refusing to overwrite input file"},
        {"render " + q(graph) + " -i " + q(dir.file("in.wav")) + " -o " + q(dir.file("out.xyz")), "cannot tell the format"},
        {"render " + q(graph) + io + " --set g.nothing=1", "nothing"},
    };
    for (const auto& c : cases) {
        auto r = runCli(c.arguments);
        INFO(c.arguments << "\n" << r.err);
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::Contains(c.message));
    }
    CHECK(slurp(dir.file("in.wav")) == before);
    CHECK(dir.list() == std::vector<std::string>{"gain.yaml", "in.wav"});

    // Graph errors are compiler-style diagnostics with file:line:col.
    const std::string broken =
        dir.write("broken.yaml", "stagegraph: 1\ninputs: {mix: {channels: 2}}\noutputs: {out: {channels: 2}}\n"
                                 "nodes: {g: {type: gainn}}\nconnections: [\"mix -> g -> out\"]\n");
    auto r = runCli("render " + q(broken) + io);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains(broken + ":4:"));
}

TEST_CASE("render warns about clipped samples in integer output", "[render]") {
    TempDir dir;
    const std::string graph = dir.write("gain.yaml", kGainGraph);
    writeFloatWav(dir.file("in.wav"), {std::vector<float>(1000, 0.9f), std::vector<float>(1000, 0.1f)});
    auto r =
        runCli("render " + q(graph) + " -i " + q(dir.file("in.wav")) + " -o " + q(dir.file("out.wav")) + " --set g.gain=+6dB");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.err, Catch::Contains("1000 samples clipped"));
    CHECK_THAT(r.out, Catch::Contains("1000 clipped samples"));
}

TEST_CASE("render argument parsing", "[render]") {
    cli::RenderRequest request;
    bool help = false;
    CHECK(cli::parseRenderArguments({"-i", "a.wav", "b=c.wav", "g.yaml", "-o", "o.wav", "--set", "x.y=-3dB", "z.w=2",
                                     "--block=64", "--no-batch", "--format", "flac16"},
                                    request, help) == "");
    CHECK(request.graphPath == "g.yaml");
    CHECK(request.inputs == std::vector<std::string>{"a.wav", "b=c.wav"});
    CHECK(request.outputs == std::vector<std::string>{"o.wav"});
    CHECK(request.overrides == std::vector<std::string>{"x.y=-3dB", "z.w=2"});
    CHECK(request.blockFrames == 64);
    CHECK_FALSE(request.batch);
    CHECK(request.format == io::OutputFormat::Flac16);
    CHECK_FALSE(help);
    cli::RenderRequest other;
    CHECK(cli::parseRenderArguments({"--help"}, other, help) == "");
    CHECK(help);
    CHECK_THAT(cli::parseRenderArguments({"g.yaml", "extra.yaml", "-o", "x.wav"}, other, help), Catch::Contains("extra.yaml"));
    CHECK_THAT(cli::parseRenderArguments({"g.yaml", "-o"}, other, help), Catch::Contains("-o needs a value"));
}

TEST_CASE("the progress bar stays quiet off a terminal and redraws at most 10 times a second", "[render]") {
    std::FILE* sink = std::tmpfile();
    REQUIRE(sink);
    CHECK_FALSE(cli::ProgressBar::isTerminal(sink));
    {
        cli::ProgressBar quiet("work", 100, sink); // decides by isatty: a file is no terminal
        CHECK_FALSE(quiet.enabled());
        for (int i = 0; i <= 100; ++i) quiet.update(i);
    }
    CHECK(std::ftell(sink) == 0);
    {
        cli::ProgressBar bar("work", 1000, sink, true);
        const auto start = std::chrono::steady_clock::now();
        int updates = 0;
        while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(350)) {
            bar.update(updates % 1000);
            ++updates;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        CHECK(updates > 100);
        CHECK(bar.redraws() >= 2);
        CHECK(bar.redraws() <= 4); // 350 ms at most 10 per second
    }
    std::fflush(sink);
    CHECK(std::ftell(sink) > 0);
    std::rewind(sink);
    char text[4096] = {};
    const std::size_t size = std::fread(text, 1, sizeof text - 1, sink);
    CHECK(std::string(text, size).find("work [") != std::string::npos);
    std::fclose(sink);
}

TEST_CASE("the demo mix and its level measurements", "[render]") {
    const AudioBuffer mix = cli::makeDemoMix(48000, 2.0);
    REQUIRE(mix.channels() == 2);
    REQUIRE(mix.frames() == 96000);
    const double peak = std::max(cli::peakDbfs(mix.channel(0), mix.frames()), cli::peakDbfs(mix.channel(1), mix.frames()));
    CHECK(peak == Approx(-6.0).margin(1e-4));
    bool differs = false;
    for (int i = 0; i < mix.frames(); ++i) differs = differs || mix.channel(0)[i] != mix.channel(1)[i];
    CHECK(differs);
    // A kick every 0.5 s: the 100 ms after each beat carry more energy than the 100 ms before it.
    for (int beat = 1; beat < 4; ++beat) {
        const int at = beat * 24000;
        CHECK(cli::rmsDbfs(mix.channel(0) + at, 4800) > cli::rmsDbfs(mix.channel(0) + at - 4800, 4800) + 3);
    }
    // Full-scale sine: peak 0 dBFS, RMS 20 log10(1/sqrt 2) = -3.01 dBFS.
    auto sine = test::sine(1000, 1.0, 48000, 48000, M_PI / 2);
    CHECK(cli::peakDbfs(sine.data(), 48000) == Approx(0).margin(1e-6));
    CHECK(cli::rmsDbfs(sine.data(), 48000) == Approx(-3.0103).margin(1e-3));
    std::vector<float> silence(100, 0.0f);
    CHECK(std::isinf(cli::peakDbfs(silence.data(), 100)));
}
