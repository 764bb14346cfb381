// docs/safety.md "Inputs": audio read from a FIFO, sample rates that are not whole numbers,
// files shorter than one 400 ms loudness block, and the cap on --target's gain. Truths: the
// frames written into the FIFO, libebur128-independent facts (a 0.2 s file has no 400 ms
// block, BS.1770), and the gain the summary reports against the levels the test wrote.
#include "SafetyTesting.h"
#include "core/Buffer.h"
#include "host/io/AudioFile.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>
#include <sndfile.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <thread>

namespace fs = std::filesystem;
using namespace sg;
using sg::test::CommandResult;
using sg::test::TempDir;

using namespace sg::test::safety;

namespace {

/// A stereo sine file: `seconds` long at peak `amplitude`, 24-bit PCM in `container` (libsndfile
/// directly: the project's writer makes WAV and FLAC only, and AIFF is wanted too).
void writeSine(const std::string& path, double seconds, double amplitude, int container = SF_FORMAT_WAV) {
    const int frames = int(std::lround(seconds * 48000));
    const auto tone = test::sine(997, amplitude, 48000, frames);
    std::vector<float> interleaved;
    for (const float x : tone) interleaved.insert(interleaved.end(), {x, x});
    SF_INFO info{};
    info.samplerate = 48000;
    info.channels = 2;
    info.format = container | SF_FORMAT_PCM_24;
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    REQUIRE(file != nullptr);
    REQUIRE(sf_writef_float(file, interleaved.data(), frames) == frames);
    REQUIRE(sf_close(file) == 0);
}

const char* kGainGraph = R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes: {g: {type: gain, gain: 0 dB}}
connections: ["mix -> g -> out"]
)";

} // namespace

TEST_CASE("safety: WAV and AIFF read from a FIFO are read whole, not called truncated", "[safety][inputs]") {
    TempDir dir;
    for (const char* name : {"tone.wav", "tone.aiff"}) {
        DYNAMIC_SECTION(name) {
            const std::string file = dir.file(std::string("file-") + name);
            writeSine(file, 0.5, 0.5, std::string(name).find(".aiff") != std::string::npos ? SF_FORMAT_AIFF : SF_FORMAT_WAV);
            const std::string fifo = dir.file(std::string("fifo-") + name);
            REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
            const std::string bytes = slurp(file);
            std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << bytes; });
            const auto r = run("analyze --json " + q(fifo));
            writer.join();
            INFO(r.err);
            CHECK(r.status == 0);
            CHECK(r.err.find("truncated") == std::string::npos);
            CHECK(r.out.find("\"duration_s\": 0.5,") != std::string::npos);
        }
    }
}

TEST_CASE("safety: --rate accepts whole rates only, in check and dot too", "[safety][inputs]") {
    TempDir dir;
    const std::string graph = dir.write("g.yaml", kGainGraph);
    for (const char* command : {"check", "dot"}) {
        for (const char* rate : {"nan", "inf", "-48000", "44100.5", "1e9", "0"}) {
            DYNAMIC_SECTION(command << " --rate " << rate) {
                const auto r = run(std::string(command) + " " + q(graph) + " --rate " + rate);
                CHECK(r.status == 2);
                CHECK(r.err.find("--rate") != std::string::npos);
            }
        }
        DYNAMIC_SECTION(command << " --rate 44100 still works") {
            CHECK(run(std::string(command) + " " + q(graph) + " --rate 44100").status == 0);
        }
    }
    CHECK(run("render " + q(graph) + " -i x.wav -o " + q(dir.file("o.wav")) + " --rate nan").status == 2);
    CHECK(run("render " + q(graph) + " -i x.wav -o " + q(dir.file("o.wav")) + " --rate 44100.5").status == 2);
}

TEST_CASE("safety: a file shorter than one 400 ms block has no loudness, which is not silence", "[safety][inputs]") {
    TempDir dir;
    const std::string shortFile = dir.file("short.wav");
    writeSine(shortFile, 0.2, 0.5); // -6 dBFS peak: anything but silent
    SECTION("analyze: no -inf figure for a loud file; a note says why the loudness is missing") {
        const auto r = run("analyze " + q(shortFile));
        INFO(r.out << r.err);
        REQUIRE(r.status == 0);
        CHECK(r.out.find("-inf") == std::string::npos);
        CHECK(r.err.find("400 ms") != std::string::npos);
    }
    SECTION("render --target: refused as too short, not as silent") {
        const std::string graph = dir.write("g.yaml", kGainGraph);
        const auto r = run("render " + q(graph) + " -i " + q(shortFile) + " -o " + q(dir.file("out.wav")) + " --target -14LUFS");
        CHECK(r.status == 1);
        CHECK(r.err.find("400 ms") != std::string::npos);
        CHECK(r.err.find("silent") == std::string::npos);
        CHECK_FALSE(fs::exists(dir.file("out.wav")));
    }
}

TEST_CASE("safety: --target's gain is capped by --max-gain (default 20 dB)", "[safety][inputs]") {
    TempDir dir;
    const std::string graph = dir.write("g.yaml", kGainGraph);
    // BS.1770: a 997 Hz sine at 0 dBFS peak in one channel reads -3.01 LUFS, so the same sine in
    // two channels at peak A reads 20 log10(A) LUFS: 0.005 -> -46.0 LUFS, 32 dB under -14.
    const std::string quiet = dir.file("quiet.wav");
    writeSine(quiet, 3, 0.005);
    const std::string render = "render " + q(graph) + " -i " + q(quiet) + " -o " + q(dir.file("out.wav")) + " --target -14LUFS";
    SECTION("default: refused, nothing written") {
        const auto r = run(render);
        CHECK(r.status == 1);
        CHECK(r.err.find("--max-gain") != std::string::npos);
        CHECK_FALSE(fs::exists(dir.file("out.wav")));
    }
    SECTION("--max-gain 40dB: delivered with about 32 dB of gain") {
        const auto r = run(render + " --max-gain 40dB");
        INFO(r.err);
        REQUIRE(r.status == 0);
        const auto at = r.out.find("gain +");
        REQUIRE(at != std::string::npos);
        const double gain = std::strtod(r.out.c_str() + at + 5, nullptr);
        CHECK(gain == Approx(-14 - 20 * std::log10(0.005)).margin(0.5));
    }
    SECTION("--max-gain out of range or without --target") {
        CHECK(run(render + " --max-gain 99dB").status == 2);
        CHECK(run(render + " --max-gain nan").status == 2);
        CHECK(run("render " + q(graph) + " -i " + q(quiet) + " -o " + q(dir.file("out.wav")) + " --max-gain 10dB").status == 2);
    }
}
