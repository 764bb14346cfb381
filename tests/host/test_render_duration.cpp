// render --duration / --rate: a graph of sources only renders exactly round(SECONDS * rate)
// frames at --rate (48 kHz by default) and needs --duration; with inputs, --duration fixes the
// length (padding with silence or cutting) and --rate must match them; the output does not
// depend on --block.
#include "core/Buffer.h"
#include "host/io/AudioFile.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace sg;
using namespace sg::test;

namespace {

const char* kSourceGraph = R"(stagegraph: 1
outputs: {out: {channels: 2}}
nodes:
  tone: {type: sine, freq: 440 Hz, level: -6 dB, channels: 2}
  hiss: {type: noise, color: 1, level: -30 dB, channels: 2}
connections: ["tone -> out", "hiss -> out"]
)";

const char* kGainGraph = R"(stagegraph: 1
inputs: {mix: {channels: 1}}
outputs: {out: {channels: 1}}
nodes: {g: {type: gain, gain: 0 dB}}
connections: ["mix -> g -> out"]
)";

struct Contents {
    double rate = 0;
    std::vector<std::vector<float>> channels;
};

Contents readBack(const std::string& path) {
    io::AudioFileReader reader;
    REQUIRE(reader.open(path) == "");
    Contents out;
    out.rate = reader.sampleRate();
    AudioBuffer buffer(reader.channels(), int(reader.frames()));
    REQUIRE(reader.read(buffer.view()) == reader.frames());
    for (int c = 0; c < buffer.channels(); ++c) out.channels.emplace_back(buffer.channel(c), buffer.channel(c) + buffer.frames());
    return out;
}

std::string q(const std::string& path) { return "'" + path + "'"; }

} // namespace

TEST_CASE("render --duration: a graph of sources renders exactly the duration at --rate", "[host][render][duration]") {
    TempDir dir;
    const std::string graph = dir.write("sources.yaml", kSourceGraph);
    struct Case {
        std::string args;
        double rate;
        std::int64_t frames;
    };
    for (const Case& c : {Case{"--duration 1.5 --rate 44100", 44100, 66150}, Case{"--duration 2s", 48000, 96000},
                          Case{"--duration 250ms --rate 96kHz", 96000, 24000}, Case{"--duration 0.00001", 48000, 0}}) {
        const std::string out = dir.path() + "/out.wav";
        const CommandResult r = runCli("render " + q(graph) + " -o " + q(out) + " --format wav32f " + c.args);
        INFO(c.args << "\n" << r.err);
        if (c.frames == 0) { // shorter than a frame
            CHECK(r.status == 2);
            continue;
        }
        REQUIRE(r.status == 0);
        const Contents contents = readBack(out);
        CHECK(contents.rate == c.rate);
        REQUIRE(contents.channels.size() == 2);
        CHECK(std::int64_t(contents.channels[0].size()) == c.frames);
        // The tone is there: peak near -6 dBFS (0.5) plus the -30 dB RMS pink noise.
        float peak = 0;
        for (float v : contents.channels[0]) peak = std::max(peak, std::abs(v));
        CHECK(peak > 0.45f);
        CHECK(peak < 0.7f); // pink noise peaks stay within 6 sigma (0.19)
    }
    // The same render with host blocks 1 and 4096: the same samples.
    const std::string a = dir.path() + "/a.wav", b = dir.path() + "/b.wav";
    REQUIRE(runCli("render " + q(graph) + " -o " + q(a) + " --format wav32f --duration 0.3 --block 1").status == 0);
    REQUIRE(runCli("render " + q(graph) + " -o " + q(b) + " --format wav32f --duration 0.3 --block 4096").status == 0);
    CHECK(readBack(a).channels == readBack(b).channels);
}

TEST_CASE("render --duration: required without inputs; bad values are usage errors", "[host][render][duration]") {
    TempDir dir;
    const std::string graph = dir.write("sources.yaml", kSourceGraph);
    const std::string out = dir.path() + "/out.wav";
    CommandResult r = runCli("render " + q(graph) + " -o " + q(out));
    CHECK(r.status == 2);
    CHECK(r.err.find("--duration") != std::string::npos);
    for (const char* bad :
         {"--duration 0", "--duration -1", "--duration soon", "--duration 1 --rate 100", "--duration 1 --rate 44100.5"}) {
        r = runCli("render " + q(graph) + " -o " + q(out) + " " + bad);
        INFO(bad << ": " << r.err);
        CHECK(r.status == 2);
    }
    CHECK(dir.list().size() == 1); // nothing written but the graph
    r = runCli("render --help");
    CHECK(r.out.find("--duration") != std::string::npos);
    CHECK(r.out.find("--rate") != std::string::npos);
}

TEST_CASE("render --duration with inputs: exactly the duration, padded or cut; --rate must match", "[host][render][duration]") {
    TempDir dir;
    const std::string graph = dir.write("gain.yaml", kGainGraph);
    const std::string in = dir.path() + "/in.wav";
    {
        const std::vector<float> signal = noise(48000, 0.5f, 4);
        AudioBuffer buffer(1, 48000);
        std::copy(signal.begin(), signal.end(), buffer.channel(0));
        io::AudioFileWriter writer;
        REQUIRE(writer.open(in, io::OutputFormat::Wav32f, 48000, 1) == "");
        REQUIRE(writer.write(buffer.view()) == "");
        REQUIRE(writer.commit() == "");
    }
    const std::vector<float> original = readBack(in).channels[0];
    const std::string out = dir.path() + "/out.wav";
    // Cut: the first half second, unchanged.
    REQUIRE(runCli("render " + q(graph) + " -i " + q(in) + " -o " + q(out) + " --format wav32f --duration 0.5").status == 0);
    Contents cut = readBack(out);
    REQUIRE(cut.channels[0].size() == 24000);
    CHECK(std::equal(cut.channels[0].begin(), cut.channels[0].end(), original.begin()));
    // Padded: the input, then silence up to 2 s.
    REQUIRE(
        runCli("render " + q(graph) + " -i " + q(in) + " -o " + q(out) + " --format wav32f --duration 2 --block 333").status ==
        0);
    Contents padded = readBack(out);
    REQUIRE(padded.channels[0].size() == 96000);
    CHECK(std::equal(original.begin(), original.end(), padded.channels[0].begin()));
    CHECK(std::all_of(padded.channels[0].begin() + 48000, padded.channels[0].end(), [](float v) { return v == 0.0f; }));
    // --rate equal to the input's is accepted; another resamples the input to it (issue 12).
    CHECK(runCli("render " + q(graph) + " -i " + q(in) + " -o " + q(out) + " --rate 48000").status == 0);
    const CommandResult r = runCli("render " + q(graph) + " -i " + q(in) + " -o " + q(out) + " --rate 44100");
    CHECK(r.status == 0);
    CHECK(readBack(out).channels[0].size() == 44100);
}
