// `stagegraph render --target / --ceiling / --report` end to end: the command is run as a user
// runs it and the written file is read back and measured independently (libebur128 when it is
// available, and our BS.1770 meter for the Annex 2 true peak).
#include "host/cli/Demo.h"
#include "host/cli/Target.h"
#include "host/io/AudioFile.h"
#include "nodes/meters/LoudnessMeter.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <sstream>

#include <ebur128.h>

namespace fs = std::filesystem;
using namespace sg;
using sg::test::runCli;
using sg::test::TempDir;

namespace {

constexpr double kRate = 48000;

const char* kPassGraph = R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes: {g: {type: gain, gain: 0 dB}}
connections: ["mix -> g -> out"]
)";

std::string q(const std::string& path) { return "'" + path + "'"; }

using Planar = std::vector<std::vector<float>>;

Planar readAll(const std::string& path, double* rate = nullptr) {
    io::AudioFileReader reader;
    REQUIRE(reader.open(path) == "");
    AudioBuffer buffer(reader.channels(), int(reader.frames()));
    REQUIRE(reader.read(buffer.view()) == reader.frames());
    if (rate) *rate = reader.sampleRate();
    Planar out;
    for (int c = 0; c < buffer.channels(); ++c) out.emplace_back(buffer.channel(c), buffer.channel(c) + buffer.frames());
    return out;
}

void writeFloatWav(const std::string& path, const Planar& x) {
    AudioBuffer buffer(int(x.size()), int(x[0].size()));
    for (std::size_t c = 0; c < x.size(); ++c) std::copy(x[c].begin(), x[c].end(), buffer.channel(int(c)));
    io::AudioFileWriter writer;
    REQUIRE(writer.open(path, io::OutputFormat::Wav32f, kRate, buffer.channels()) == "");
    REQUIRE(writer.write(buffer.view()) == "");
    REQUIRE(writer.commit() == "");
}

/// Integrated loudness and true peak of a signal, as an independent oracle sees them.
struct Reading {
    double integratedLufs = 0;
    double truePeakDbtp = 0;               ///< our BS.1770-5 Annex 2 meter
    double oracleTruePeakDbtp = -HUGE_VAL; ///< libebur128's own 4x interpolator (when built with it)
    bool fromOracle = false;
};

Reading measure(const Planar& x, double rate = kRate) {
    Reading r;
    LoudnessMeter meter;
    REQUIRE(meter.prepare(rate, int(x.size())) == "");
    std::vector<const float*> pointers;
    for (const auto& c : x) pointers.push_back(c.data());
    meter.process(pointers.data(), int(x[0].size()));
    r.integratedLufs = meter.integratedLufs();
    r.truePeakDbtp = meter.truePeakDbtp();
    ebur128_state* state =
        ebur128_init(unsigned(x.size()), static_cast<unsigned long>(rate), EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    REQUIRE(state != nullptr);
    std::vector<float> interleaved(x.size() * x[0].size());
    for (std::size_t n = 0; n < x[0].size(); ++n)
        for (std::size_t c = 0; c < x.size(); ++c) interleaved[n * x.size() + c] = x[c][n];
    REQUIRE(ebur128_add_frames_float(state, interleaved.data(), x[0].size()) == EBUR128_SUCCESS);
    double lufs = 0;
    REQUIRE(ebur128_loudness_global(state, &lufs) == EBUR128_SUCCESS);
    double peak = 0;
    for (unsigned c = 0; c < x.size(); ++c) {
        double p = 0;
        REQUIRE(ebur128_true_peak(state, c, &p) == EBUR128_SUCCESS);
        peak = std::max(peak, p);
    }
    ebur128_destroy(&state);
    r.integratedLufs = lufs;
    r.oracleTruePeakDbtp = peak > 0 ? 20 * std::log10(peak) : -HUGE_VAL;
    r.fromOracle = true;
    return r;
}

/// Scales every channel by 10^(db/20).
Planar scaled(Planar x, double db) {
    const double factor = std::pow(10.0, db / 20.0);
    for (auto& c : x)
        for (float& v : c) v = float(double(v) * factor);
    return x;
}

/// Music-like material: the demo mix (pad, kick, hats) with a loud snare-like noise burst every
/// 1.25 s, so its peak-to-loudness ratio (about 17 dB) makes -14 LUFS under -1 dBTP need limiting.
/// The bursts are low-passed (two one-pole sections at 6 kHz), like a drum's spectrum.
Planar dynamicMix(double seconds) {
    const AudioBuffer mix = cli::makeDemoMix(kRate, seconds);
    Planar x(2);
    for (int c = 0; c < 2; ++c) x[std::size_t(c)].assign(mix.channel(c), mix.channel(c) + mix.frames());
    auto burst = test::noise(mix.frames(), 3.0f, 99);
    const double a = 1.0 - std::exp(-2 * M_PI * 6000.0 / kRate);
    double s1 = 0, s2 = 0;
    for (float& v : burst) {
        s1 += a * (double(v) - s1);
        s2 += a * (s1 - s2);
        v = float(s2);
    }
    const int every = int(1.25 * kRate);
    for (int start = int(0.3 * kRate); start < mix.frames(); start += every)
        for (int n = 0; n < int(0.08 * kRate) && start + n < mix.frames(); ++n) {
            const float envelope = 0.9f * float(std::exp(-double(n) / (0.012 * kRate)));
            x[0][std::size_t(start + n)] += envelope * burst[std::size_t(start + n)];
            x[1][std::size_t(start + n)] += 0.8f * envelope * burst[std::size_t(start + n)];
        }
    return x;
}

/// `x` scaled to `lufs` integrated (by our meter; the oracle agrees within a few hundredths).
Planar atLoudness(const Planar& x, double lufs) {
    LoudnessMeter meter;
    REQUIRE(meter.prepare(kRate, int(x.size())) == "");
    std::vector<const float*> pointers;
    for (const auto& c : x) pointers.push_back(c.data());
    meter.process(pointers.data(), int(x[0].size()));
    return scaled(x, lufs - meter.integratedLufs());
}

bool noTemporaries(const TempDir& dir) {
    for (const auto& name : dir.list())
        if (name.find(".tmp") != std::string::npos || name.find("stagegraph-pass1") != std::string::npos) return false;
    return true;
}

using Json = nlohmann::json;

/// The report, parsed as strict JSON (RFC 8259: no NaN or infinities).
Json readJson(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    INFO(text);
    Json json;
    REQUIRE_NOTHROW(json = Json::parse(text));
    return json;
}

} // namespace

TEST_CASE("target values, presets and ceilings parse; bad ones are refused", "[render][target]") {
    cli::LoudnessTarget t;
    struct Good {
        const char* text;
        double lufs, ceiling;
        const char* name;
    };
    for (const Good& g :
         {Good{"spotify", -14, -1, "spotify"}, Good{"Apple", -16, -1, "apple"}, Good{"youtube", -14, -1, "youtube"},
          Good{"AMAZON", -14, -2, "amazon"}, Good{"ebu-r128", -23, -1, "ebu-r128"}, Good{"atsc-a85", -24, -2, "atsc-a85"},
          Good{"-14LUFS", -14, -1, ""}, Good{"-14 LUFS", -14, -1, ""}, Good{"-14", -14, -1, ""}, Good{"-24 LKFS", -24, -1, ""},
          Good{"-9.5lufs", -9.5, -1, ""}}) {
        CAPTURE(g.text);
        REQUIRE(cli::parseLoudnessTarget(g.text, t) == "");
        CHECK(t.integratedLufs == g.lufs);
        CHECK(t.ceilingDbtp == g.ceiling);
        CHECK(t.name == g.name);
    }
    for (const char* bad : {"", "loud", "14", "-14 dB", "-100LUFS", "spotifyy", "-14 LUFS extra"}) {
        CAPTURE(bad);
        CHECK_FALSE(cli::parseLoudnessTarget(bad, t).empty());
    }
    double ceiling = 0;
    CHECK(cli::parseCeiling("-1dBTP", ceiling) == "");
    CHECK(ceiling == -1);
    CHECK(cli::parseCeiling("-0.3 dBTP", ceiling) == "");
    CHECK(ceiling == -0.3);
    CHECK_THAT(cli::parseCeiling("-1", ceiling), Catch::Contains("unit"));
    CHECK_THAT(cli::parseCeiling("+1dBTP", ceiling), Catch::Contains("out of range"));
    CHECK_THAT(cli::parseCeiling("-21dBTP", ceiling), Catch::Contains("out of range"));
    CHECK_FALSE(cli::parseCeiling("-1 dB", ceiling).empty());
}

TEST_CASE("render --target lands every preset within 0.1 LU, under its ceiling, from quiet and loud material",
          "[render][target]") {
    TempDir dir;
    const std::string graph = dir.write("pass.yaml", kPassGraph);
    const Planar music = dynamicMix(10.0);
    const std::string quiet = dir.file("quiet.wav"), loud = dir.file("loud.wav");
    writeFloatWav(quiet, atLoudness(music, -30)); // needs gain up, and limiting for -14 / -16
    writeFloatWav(loud, atLoudness(music, -6));   // needs gain down (peaks above full scale)
    const Reading quietIn = measure(readAll(quiet));
    INFO("quiet material: " << quietIn.integratedLufs << " LUFS, " << quietIn.truePeakDbtp << " dBTP");
    REQUIRE(quietIn.truePeakDbtp - quietIn.integratedLufs > 14.5); // PLR: -14 under -1 dBTP needs a limiter

    double worstMiss = 0, worstOverCeiling = -HUGE_VAL, worstOracleOver = -HUGE_VAL;
    bool flip = false;
    for (const auto& preset : cli::loudnessPresets()) {
        flip = !flip; // each material is written as wav16 for half the presets, flac24 for the others
        for (const auto& [input, name] : {std::pair{quiet, "quiet"}, std::pair{loud, "loud"}}) {
            {
                const char* format = (std::string(name) == "quiet") == flip ? "wav16" : "flac24";
                CAPTURE(preset.name, name, format);
                const std::string out = dir.file(std::string(name) + "-" + preset.name + (format[0] == 'w' ? ".wav" : ".flac"));
                const auto r = runCli("render " + q(graph) + " -i " + q(input) + " -o " + q(out) + " --format " + format +
                                      " --target " + preset.name);
                INFO(r.out << r.err);
                REQUIRE(r.status == 0);
                CHECK_THAT(r.out, Catch::Contains("gain") && Catch::Contains("LUFS"));
                double rate = 0;
                const Planar written = readAll(out, &rate);
                CHECK(rate == kRate);
                CHECK(written[0].size() == music[0].size());
                const Reading got = measure(written);
                INFO(got.integratedLufs << " LUFS, true peak " << got.truePeakDbtp << " dBTP (oracle " << got.oracleTruePeakDbtp
                                        << ")");
                CHECK(std::fabs(got.integratedLufs - preset.integratedLufs) <= 0.1);
                CHECK(got.truePeakDbtp <= preset.ceilingDbtp);
                // libebur128's interpolator is not the Annex 2 filter; it may read a little higher.
                if (got.fromOracle) CHECK(got.oracleTruePeakDbtp <= preset.ceilingDbtp + 0.1);
                worstMiss = std::max(worstMiss, std::fabs(got.integratedLufs - preset.integratedLufs));
                worstOverCeiling = std::max(worstOverCeiling, got.truePeakDbtp - preset.ceilingDbtp);
                worstOracleOver = std::max(worstOracleOver, got.oracleTruePeakDbtp - preset.ceilingDbtp);
                // The quiet material at -14 / -16 LUFS had to be limited, and the summary says how much.
                if (std::string(name) == "quiet" && preset.integratedLufs >= -16)
                    CHECK_THAT(r.out, Catch::Contains("dB max") && Catch::Contains("dB mean gain reduction"));
            }
        }
    }
    std::printf("target presets: worst landing %.3f LU, worst true peak %+.3f dB vs ceiling (libebur128: %+.3f dB)\n", worstMiss,
                worstOverCeiling, worstOracleOver);
    CHECK(noTemporaries(dir));
}

TEST_CASE("render --target: a 16x interpolation of the limited file stays within the 4x grid's bound", "[render][target]") {
    // The Annex 2 true peak is the standard's; a 16x windowed-sinc reading of the same file may
    // exceed it by what a 4x grid can miss on this material (content mostly below 8 kHz).
    TempDir dir;
    const std::string graph = dir.write("pass.yaml", kPassGraph);
    writeFloatWav(dir.file("in.wav"), atLoudness(dynamicMix(3.0), -30));
    const auto r = runCli("render " + q(graph) + " -i " + q(dir.file("in.wav")) + " -o " + q(dir.file("out.wav")) +
                          " --target -12LUFS --ceiling -1.5dBTP --format wav32f --max-gain 30dB");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    const Planar x = readAll(dir.file("out.wav"));
    constexpr int kFactor = 16, kHalf = 24;
    double peak = 0;
    for (const auto& c : x) {
        const auto size = std::int64_t(c.size());
        for (std::int64_t n = 0; n < size; ++n) {
            peak = std::max(peak, std::fabs(double(c[std::size_t(n)])));
            if (std::fabs(c[std::size_t(n)]) < 0.5f) continue; // peaks only happen near loud samples
            for (int f = 1; f < kFactor; ++f) {
                double v = 0;
                for (int j = -kHalf + 1; j <= kHalf; ++j) {
                    const std::int64_t m = n + j;
                    if (m < 0 || m >= size) continue;
                    const double t = double(j) - double(f) / kFactor;
                    const double window = 0.5 + 0.5 * std::cos(M_PI * t / kHalf); // Hann
                    v += double(c[std::size_t(m)]) * std::sin(M_PI * t) / (M_PI * t) * window;
                }
                peak = std::max(peak, std::fabs(v));
            }
        }
    }
    const double peakDb = 20 * std::log10(peak);
    INFO("16x peak " << peakDb << " dB");
    CHECK(peakDb <= -1.5 + 0.1);
    CHECK(measure(x).truePeakDbtp <= -1.5);
}

TEST_CASE("render --target: heavy limiting is reported, an unreachable target fails and leaves nothing", "[render][target]") {
    TempDir dir;
    const std::string graph = dir.write("pass.yaml", kPassGraph);
    writeFloatWav(dir.file("in.wav"), atLoudness(dynamicMix(5.0), -20));
    const std::string io = " -i " + q(dir.file("in.wav")) + " -o " + q(dir.file("out.wav"));

    auto heavy = runCli("render " + q(graph) + io + " --target -8LUFS --max-gain 60dB");
    INFO(heavy.out << heavy.err);
    REQUIRE(heavy.status == 0);
    CHECK_THAT(heavy.out, Catch::Contains("hitting -8 LUFS needed heavy limiting"));
    CHECK_THAT(heavy.err, Catch::Contains("warning: hitting -8 LUFS needed heavy limiting")); // and as a warning
    CHECK(std::fabs(measure(readAll(dir.file("out.wav"))).integratedLufs + 8) <= 0.1);
    fs::remove(dir.file("out.wav"));

    auto impossible = runCli("render " + q(graph) + io + " --target -2LUFS --ceiling -6dBTP --max-gain 60dB");
    INFO(impossible.out << impossible.err);
    CHECK(impossible.status == 1);
    CHECK_THAT(impossible.err, Catch::Contains("cannot bring") && Catch::Contains("-2 LUFS"));
    CHECK_FALSE(fs::exists(dir.file("out.wav")));
    CHECK(noTemporaries(dir));
    CHECK(dir.list() == std::vector<std::string>{"in.wav", "pass.yaml"});

    // Silence has no loudness to move.
    writeFloatWav(dir.file("silent.wav"), Planar(2, std::vector<float>(48000, 0.0f)));
    auto silent =
        runCli("render " + q(graph) + " -i " + q(dir.file("silent.wav")) + " -o " + q(dir.file("out.wav")) + " --target spotify");
    CHECK(silent.status == 1);
    CHECK_THAT(silent.err, Catch::Contains("silent"));
    CHECK_FALSE(fs::exists(dir.file("out.wav")));
    CHECK(noTemporaries(dir));
}

TEST_CASE("render --target brings every output of a multi-output graph to the target", "[render][target]") {
    TempDir dir;
    // Two outputs of different widths and levels, each brought to the target on its own.
    const std::string monoGraph = dir.write("mono.yaml", R"(stagegraph: 1
inputs: {mix: {channels: 2}, side: {channels: 1}}
outputs: {main: {channels: 2}, solo: {channels: 1}}
nodes:
  down: {type: gain, gain: -15 dB}
connections: ["mix -> main", "side -> down -> solo"]
)");
    const Planar music = atLoudness(dynamicMix(6.0), -18);
    writeFloatWav(dir.file("mix.wav"), music);
    writeFloatWav(dir.file("side.wav"), Planar{music[0]});
    const auto r =
        runCli("render " + q(monoGraph) + " -i mix=" + q(dir.file("mix.wav")) + " side=" + q(dir.file("side.wav")) +
               " -o main=" + q(dir.file("main.flac")) + " solo=" + q(dir.file("solo.flac")) + " --target apple --max-gain 60dB");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    for (const char* file : {"main.flac", "solo.flac"}) {
        CAPTURE(file);
        const Reading got = measure(readAll(dir.file(file)));
        CHECK(std::fabs(got.integratedLufs + 16) <= 0.1);
        CHECK(got.truePeakDbtp <= -1.0);
    }
    CHECK(noTemporaries(dir));
}

TEST_CASE("render rejects bad --target, --ceiling and --report values with status 2", "[render][target]") {
    TempDir dir;
    const std::string graph = dir.write("pass.yaml", kPassGraph);
    writeFloatWav(dir.file("in.wav"), Planar(2, test::sine(997, 0.1, kRate, 48000)));
    const std::string io = " -i " + q(dir.file("in.wav")) + " -o " + q(dir.file("out.wav"));
    struct Case {
        std::string arguments, message;
    };
    const std::vector<Case> cases = {
        {"--target loud", "--target"},
        {"--target 14", "out of range"},
        {"--target -14dB", "--target"},
        {"--target -100LUFS", "out of range"},
        {"--target", "--target needs a value"},
        {"--target spotify --ceiling -1", "unit"},
        {"--target spotify --ceiling +2dBTP", "out of range"},
        {"--target spotify --ceiling -30 dBTP", "out of range"},
        {"--ceiling -1dBTP", "--ceiling needs --target"},
        {"--report " + q(dir.file("in.wav")), "refusing to overwrite input file"},
        {"--report " + q(dir.file("out.wav")), "also an output file"},
        {"--report", "--report needs a value"},
    };
    for (const auto& c : cases) {
        auto r = runCli("render " + q(graph) + io + " " + c.arguments);
        INFO(c.arguments << "\n" << r.err);
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::Contains(c.message));
    }
    CHECK(dir.list() == std::vector<std::string>{"in.wav", "pass.yaml"});
    // Units given as separate arguments are joined: --target -14 LUFS --ceiling -2 dBTP.
    auto spaced = runCli("render " + q(graph) + io + " --target -20 LUFS --ceiling -2 dBTP");
    INFO(spaced.err);
    CHECK(spaced.status == 0);
    CHECK_THAT(spaced.out, Catch::Contains("-20 LUFS, true peak <= -2 dBTP"));
}

TEST_CASE("render --report writes every tap's figures and each output's, as parseable JSON", "[render][target]") {
    TempDir dir;
    const std::string graph = dir.write("taps.yaml", R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes:
  before: {type: loudness}
  trim:   {type: gain, gain: -6 dB}
  limit:  {type: limiter, ceiling: -3 dBTP}
  after:  {type: loudness}
connections: ["mix -> before -> trim -> limit -> after -> out"]
)");
    const Planar music = atLoudness(dynamicMix(8.0), -16);
    writeFloatWav(dir.file("in.wav"), music);
    const Reading input = measure(music);
    const std::string io = " -i " + q(dir.file("in.wav")) + " -o " + q(dir.file("out.wav"));
    const char* analyzeKeys[] = {
        "file",           "sample_rate",      "channels",           "duration_s",          "integrated_lufs", "loudness_range_lu",
        "true_peak_dbtp", "sample_peak_dbfs", "max_momentary_lufs", "max_short_term_lufs", "plr_db"};

    for (bool target : {false, true}) {
        CAPTURE(target);
        const std::string report = dir.file(target ? "target.json" : "plain.json");
        auto r = runCli("render " + q(graph) + io + " --report " + q(report) + (target ? " --target ebu-r128" : ""));
        INFO(r.out << r.err);
        REQUIRE(r.status == 0);
        Json json = readJson(report);
        REQUIRE(json.is_object());
        CHECK(json["graph"].get<std::string>() == graph);
        CHECK(json["sample_rate"].get<double>() == kRate);
        CHECK(json["frames"].get<double>() == double(music[0].size()));
        CHECK(json["latency_frames"].get<double>() == 240); // the limiter's 5 ms
        REQUIRE(json["inputs"].size() == 1);
        CHECK(json["inputs"][0]["name"].get<std::string>() == "mix");

        // Outputs: the analyze --json keys, measured on the written file.
        REQUIRE(json["outputs"].size() == 1);
        Json& out = json["outputs"][0];
        for (const char* key : analyzeKeys) CHECK(out.contains(key));
        CHECK(out["file"].get<std::string>() == dir.file("out.wav"));
        CHECK(out["channels"].get<double>() == 2);
        CHECK(out["format"].get<std::string>() == "wav24");
        const Reading written = measure(readAll(dir.file("out.wav")));
        CHECK(out["integrated_lufs"].get<double>() == Approx(written.integratedLufs).margin(0.05));
        CHECK(out["true_peak_dbtp"].get<double>() == Approx(written.truePeakDbtp).margin(0.001));
        CHECK(out["plr_db"].get<double>() ==
              Approx(out["true_peak_dbtp"].get<double>() - out["integrated_lufs"].get<double>()).margin(1e-6));

        // Taps: both loudness meters and the limiter, in schedule order, values with units.
        REQUIRE(json["taps"].size() == 3);
        Json& before = json["taps"][0];
        CHECK(before["node"].get<std::string>() == "before");
        CHECK(before["type"].get<std::string>() == "loudness");
        CHECK(before["values"]["integrated_lufs"]["unit"].get<std::string>() == "LUFS");
        CHECK(before["values"]["integrated_lufs"]["value"].get<double>() == Approx(input.integratedLufs).margin(0.05));
        CHECK(before["values"]["true_peak_dbtp"]["unit"].get<std::string>() == "dBTP");
        CHECK(json["taps"][1]["node"].get<std::string>() == "limit");
        CHECK(json["taps"][1]["values"]["max_gain_reduction_db"]["unit"].get<std::string>() == "dB");
        CHECK(json["taps"][1]["values"]["max_gain_reduction_db"]["value"].get<double>() > 0);
        Json& after = json["taps"][2];
        CHECK(after["node"].get<std::string>() == "after");
        CHECK(after["values"]["true_peak_dbtp"]["value"].get<double>() <= -3.0);

        if (target) {
            CHECK(json["target"]["name"].get<std::string>() == "ebu-r128");
            CHECK(json["target"]["integrated_lufs"].get<double>() == -23);
            CHECK(json["target"]["ceiling_dbtp"].get<double>() == -1);
            CHECK(out["target"]["gain_db"].is_number());
            CHECK(out["target"]["pass2_runs"].get<double>() >= 1);
            CHECK(std::fabs(out["integrated_lufs"].get<double>() + 23) <= 0.1);
            // The taps are the graph's own figures, before the delivery gain.
            CHECK(after["values"]["integrated_lufs"]["value"].get<double>() ==
                  Approx(out["target"]["before_integrated_lufs"].get<double>()).margin(0.05));
        } else {
            CHECK(json["target"].is_null());
            CHECK_FALSE(out.contains("target"));
        }
    }
    CHECK(noTemporaries(dir));

    // A silent output: levels with nothing to measure are null, not -inf.
    writeFloatWav(dir.file("silence.wav"), Planar(2, std::vector<float>(48000, 0.0f)));
    auto r = runCli("render " + q(graph) + " -i " + q(dir.file("silence.wav")) + " -o " + q(dir.file("s.wav")) +
                    " --format wav32f --report " + q(dir.file("s.json"))); // float: no dither on the silence
    REQUIRE(r.status == 0);
    Json silent = readJson(dir.file("s.json"));
    CHECK(silent["outputs"][0]["integrated_lufs"].is_null());
    CHECK(silent["outputs"][0]["true_peak_dbtp"].is_null());
    CHECK(silent["taps"][0]["values"]["integrated_lufs"]["value"].is_null());

    // A report that cannot be written fails the render with status 1, before any work.
    auto bad = runCli("render " + q(graph) + " -i " + q(dir.file("in.wav")) + " -o " + q(dir.file("new.wav")) + " --report " +
                      q(dir.file("missing/folder/r.json")));
    CHECK(bad.status == 1);
    CHECK_THAT(bad.err, Catch::Contains("r.json"));
    CHECK_FALSE(fs::exists(dir.file("new.wav")));
    CHECK(noTemporaries(dir));
}

TEST_CASE("render --target reaches past the gain and limiter nodes' ranges: +50 dB of gain, a -20 dBTP ceiling",
          "[render][target]") {
    // Pass 2 is a compiled graph, so its gain (-120..+40 dB per node) and the limiter's ceiling
    // (-20..0 dBTP) have ranges; the target has not. The figures come from the written file.
    TempDir dir;
    const std::string graph = dir.write("pass.yaml", kPassGraph);
    const Planar music = dynamicMix(6.0);
    SECTION("very quiet material to -14 LUFS: about +46 dB") {
        const std::string input = dir.file("faint.wav"), out = dir.file("out.wav");
        writeFloatWav(input, atLoudness(music, -60));
        const auto r = runCli("render " + q(graph) + " -i " + q(input) + " -o " + q(out) +
                              " --format wav32f --target -14LUFS --max-gain 60dB");
        INFO(r.out << r.err);
        REQUIRE(r.status == 0);
        const Reading got = measure(readAll(out));
        INFO(got.integratedLufs << " LUFS, true peak " << got.truePeakDbtp << " dBTP");
        CHECK(std::fabs(got.integratedLufs - -14) <= cli::kAcceptToleranceLu);
        CHECK(got.truePeakDbtp <= -1);
    }
    SECTION("a -20 dBTP ceiling (the limiter aims 0.02 dB under it)") {
        const std::string input = dir.file("mix.wav"), out = dir.file("out.wav");
        writeFloatWav(input, atLoudness(music, -14));
        const auto r = runCli("render " + q(graph) + " -i " + q(input) + " -o " + q(out) +
                              " --format wav32f --target -28LUFS --ceiling -20dBTP");
        INFO(r.out << r.err);
        REQUIRE(r.status == 0);
        const Reading got = measure(readAll(out));
        INFO(got.integratedLufs << " LUFS, true peak " << got.truePeakDbtp << " dBTP");
        CHECK(std::fabs(got.integratedLufs - -28) <= cli::kAcceptToleranceLu);
        CHECK(got.truePeakDbtp <= -20);
        INFO("the limiter had work to do: the material's crest factor is above 8 dB");
        CHECK_THAT(r.out, Catch::Contains("dB max"));
    }
    CHECK(noTemporaries(dir));
}

TEST_CASE("TempSampleFile gives back every sample, in memory and spilled to its file, and can be reused",
          "[render][target][scratch]") {
    TempDir dir;
    constexpr int kChannels = 3;
    constexpr int kFrames = 50000;
    Planar x(kChannels);
    for (int c = 0; c < kChannels; ++c) x[std::size_t(c)] = test::noise(kFrames, 1.0f, 7u + unsigned(c));
    x[1][17] = std::numeric_limits<float>::denorm_min(); // bits, not values: odd floats survive
    x[2][99] = -0.0f;
    // Memory limits: everything in memory, spilling part way through, always a file.
    for (std::size_t limit : {cli::TempSampleFile::kInMemorySamples, std::size_t(kChannels) * 10007, std::size_t(0)}) {
        CAPTURE(limit);
        cli::TempSampleFile file;
        REQUIRE(file.create(dir.path(), kChannels, limit) == "");
        for (int round = 0; round < 2; ++round) { // the second round after clear(): reuse
            CAPTURE(round);
            if (round == 1) REQUIRE(file.clear() == "");
            CHECK(file.frames() == 0);
            AudioBuffer block(kChannels, 4096);
            std::uint32_t seed = 12345u + unsigned(round);
            for (int done = 0; done < kFrames;) {
                seed = seed * 1664525u + 1013904223u;
                const int frames = std::min(kFrames - done, 1 + int(seed >> 20) % 4096); // ragged blocks
                for (int c = 0; c < kChannels; ++c) std::copy_n(x[std::size_t(c)].begin() + done, frames, block.channel(c));
                REQUIRE(file.write(ConstAudioView(block.view().frameRange(0, frames))) == "");
                done += frames;
            }
            CHECK(file.frames() == kFrames);
            CHECK(file.onDisk() == (limit < std::size_t(kChannels) * kFrames));
            REQUIRE(file.rewind() == "");
            Planar back(kChannels, std::vector<float>(kFrames));
            for (int done = 0; done < kFrames;) {
                const std::int64_t got = file.read(block.view().frameRange(0, std::min(3000, kFrames - done)));
                REQUIRE(got > 0);
                for (int c = 0; c < kChannels; ++c) std::copy_n(block.channel(c), got, back[std::size_t(c)].begin() + done);
                done += int(got);
            }
            CHECK(file.read(block.view()) == 0); // the end
            for (int c = 0; c < kChannels; ++c)
                CHECK(std::memcmp(back[std::size_t(c)].data(), x[std::size_t(c)].data(), sizeof(float) * kFrames) == 0);
            // readAt, after flush(): stretches within a block, across blocks, at the end.
            REQUIRE(file.flush() == "");
            for (std::int64_t at : {std::int64_t(0), std::int64_t(16380), std::int64_t(32000), std::int64_t(kFrames - 700)}) {
                CAPTURE(at);
                REQUIRE(file.readAt(at, block.view()) == std::min<std::int64_t>(4096, kFrames - at));
                for (int c = 0; c < kChannels; ++c)
                    CHECK(std::memcmp(block.channel(c), x[std::size_t(c)].data() + at,
                                      sizeof(float) * std::size_t(std::min<std::int64_t>(4096, kFrames - at))) == 0);
            }
        }
    }
    CHECK(dir.list().empty()); // the file was unlinked when it was created
}

TEST_CASE("TempSampleFile: a scratch file flushed part way is written on, and read, again", "[render][target][scratch]") {
    // The file holds blocks of 16384 frames: flushes and reads that end inside a block, on a
    // block's edge and just past it, with writes going on after each.
    TempDir dir;
    constexpr int kFrames = 300000;
    const Planar x = {test::noise(kFrames, 1.0f, 31), test::noise(kFrames, 1.0f, 32)};
    for (std::size_t limit : {std::size_t(0), std::size_t(2) * 100000}) { // a file from the start; spilled on the way
        CAPTURE(limit);
        cli::TempSampleFile file;
        REQUIRE(file.create(dir.path(), 2, limit) == "");
        AudioBuffer block(2, 5000);
        int written = 0;
        const auto readBack = [&](std::int64_t from) {
            REQUIRE(file.seek(from) == "");
            for (std::int64_t at = from; at < written;) {
                const std::int64_t got = file.read(block.view());
                REQUIRE(got == std::min<std::int64_t>(5000, written - at));
                for (int c = 0; c < 2; ++c)
                    REQUIRE(std::memcmp(block.channel(c), x[std::size_t(c)].data() + at, sizeof(float) * std::size_t(got)) == 0);
                at += got;
            }
            CHECK(file.read(block.view()) == 0);
        };
        for (const int until : {20000, 20001, 70000, 131072, 131073, kFrames}) {
            CAPTURE(until);
            while (written < until) {
                const int n = std::min(until - written, 4099);
                for (int c = 0; c < 2; ++c) std::copy_n(x[std::size_t(c)].data() + written, n, block.channel(c));
                REQUIRE(file.write(ConstAudioView(block.view().frameRange(0, n))) == "");
                written += n;
            }
            REQUIRE(file.flush() == "");
            const std::int64_t tail = std::max(0, written - 3000);
            REQUIRE(file.readAt(tail, block.view()) == written - tail);
            for (int c = 0; c < 2; ++c)
                CHECK(std::memcmp(block.channel(c), x[std::size_t(c)].data() + tail,
                                  sizeof(float) * std::size_t(written - tail)) == 0);
            readBack(0);
            readBack(written / 3);
        }
        CHECK(file.onDisk());
        CHECK(file.fileBytes() == std::uint64_t(kFrames) * 2 * sizeof(float));
    }
}

namespace {

/// Hostile material for delivery: the dynamic mix with inter-sample peaks (fs/4 bursts at 45°,
/// which read 3 dB over their samples), a DC offset, a full-scale click, 2 s of digital silence
/// (gated out) and dense noise, at `lufs`.
Planar hostileMix(double seconds, double lufs) {
    Planar x = dynamicMix(seconds);
    const auto frames = std::int64_t(x[0].size());
    const auto isp = test::sine(kRate / 4, 0.7, kRate, frames, M_PI / 4);
    const auto dense = test::noise(frames, 0.3f, 4242);
    for (std::int64_t n = 0; n < frames; ++n) {
        const double t = double(n) / kRate;
        const auto i = std::size_t(n);
        const bool ispBurst = std::fmod(t, 2.0) < 0.05;
        const bool noisy = t > seconds * 0.6 && t < seconds * 0.75;
        const bool silent = t > seconds * 0.3 && t < seconds * 0.3 + 2.0;
        for (int c = 0; c < 2; ++c) {
            float& v = x[std::size_t(c)][i];
            v += 0.02f; // DC
            if (ispBurst) v += isp[i];
            if (noisy) v += dense[i];
            if (silent) v = 0.0f;
        }
    }
    x[0][std::size_t(frames / 2)] = 1.0f; // a click
    x[1][std::size_t(frames / 2) + 1] = -1.0f;
    return atLoudness(x, lufs);
}

} // namespace

TEST_CASE("render --target decodes once and encodes once: the runs of pass 2 reuse cached samples", "[render][target]") {
    TempDir dir;
    const std::string graph = dir.write("pass.yaml", kPassGraph);
    writeFloatWav(dir.file("in.wav"), hostileMix(12.0, -30));
    int multiRun = 0, mostRuns = 0;
    std::string runCounts;
    for (const char* format : {"wav24", "flac16", "wav32f"}) {
        for (const auto& preset : {cli::loudnessPresets()[0], cli::loudnessPresets()[3]}) { // spotify, amazon (-2 dBTP)
            CAPTURE(format, preset.name);
            const std::string out = dir.file(std::string("out-") + format + (format[0] == 'f' ? ".flac" : ".wav"));
            const std::string report = dir.file("r.json");
            auto r = runCli("render " + q(graph) + " -i " + q(dir.file("in.wav")) + " -o " + q(out) + " --format " + format +
                            " --target " + preset.name + " --report " + q(report));
            INFO(r.out << r.err);
            REQUIRE(r.status == 0);
            Json json = readJson(report);
            Json& o = json["outputs"][0];
            const int runs = int(o["target"]["pass2_runs"].get<double>());
            if (runs >= 2) ++multiRun;
            mostRuns = std::max(mostRuns, runs);
            runCounts += ' ';
            runCounts += std::to_string(runs);
            CHECK(o["target"]["output_encodes"].get<double>() == 1);
            // The written file is exactly what the last run measured (same quantisation and dither),
            // and an independent meter finds it on target and under the ceiling.
            const Reading got = measure(readAll(out));
            INFO(runs << " runs: " << got.integratedLufs << " LUFS, " << got.truePeakDbtp << " dBTP (oracle "
                      << got.oracleTruePeakDbtp << ")");
            CHECK(o["true_peak_dbtp"].get<double>() == Approx(got.truePeakDbtp).margin(0.001));
            CHECK(o["integrated_lufs"].get<double>() == Approx(got.integratedLufs).margin(0.02));
            CHECK(std::fabs(got.integratedLufs - preset.integratedLufs) <= 0.1);
            CHECK(got.truePeakDbtp <= preset.ceilingDbtp);
            CHECK(got.oracleTruePeakDbtp <= preset.ceilingDbtp + 0.1);
            fs::remove(out);
        }
    }
    std::printf("target on hostile material: runs of pass 2:%s\n", runCounts.c_str());
    CHECK(multiRun >= 4); // the material made pass 2 search: the runs did not each encode
    CHECK(noTemporaries(dir));
}

namespace {

/// `x` as a TempSampleFile (in memory).
void toScratch(const Planar& x, cli::TempSampleFile& file, const std::string& folder,
               std::size_t memorySamples = cli::TempSampleFile::kInMemorySamples) {
    REQUIRE(file.create(folder, int(x.size()), memorySamples) == "");
    AudioBuffer buffer(int(x.size()), int(x[0].size()));
    for (std::size_t c = 0; c < x.size(); ++c) std::copy(x[c].begin(), x[c].end(), buffer.channel(int(c)));
    REQUIRE(file.write(ConstAudioView(buffer.view())) == "");
}

/// Pass 1's figures of `x` at kRate, as deliverToTarget() takes them (measure()).
cli::OutputFigures figuresBefore(const Planar& x) {
    const Reading in = measure(x);
    cli::OutputFigures before;
    before.sampleRate = kRate;
    before.channels = int(x.size());
    before.frames = std::int64_t(x[0].size());
    before.integratedLufs = in.integratedLufs;
    before.truePeakDbtp = in.truePeakDbtp;
    return before;
}

} // namespace

TEST_CASE("LoudnessPredictor: exact where nothing is limited, close and reading high where the limiter works",
          "[render][target][predictor]") {
    TempDir dir;
    const Planar x = hostileMix(12.0, -30);

    // Nothing limited: y = g x. The prediction at d dB more is the oracle's reading of y + d.
    {
        const double gainDb = 3;
        const Planar y = scaled(x, gainDb);
        cli::TempSampleFile source, result;
        toScratch(x, source, dir.path());
        toScratch(y, result, dir.path());
        cli::LoudnessPredictor predictor;
        REQUIRE(predictor.measure(source, result, gainDb, kRate) == "");
        const Reading oracle = measure(y);
        CHECK(predictor.integratedLufs(0) == Approx(oracle.integratedLufs).margin(0.01));
        for (double d : {-4.0, -0.5, 0.7, 2.5})
            CHECK(predictor.integratedLufs(d) == Approx(predictor.integratedLufs(0) + d).margin(1e-6));
        const auto delta = predictor.deltaFor(oracle.integratedLufs + 1.25);
        REQUIRE(delta.has_value());
        CHECK(*delta == Approx(1.25).margin(0.02));
    }

    // Heavy limiting: real renders through gain -> limiter at g and at g + 1 dB.
    const std::string graph = dir.write("limit.yaml", R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes:
  g: {type: gain, gain: 0 dB}
  limit: {type: limiter, ceiling: -1 dBTP, lookahead: 5 ms, release: 50 ms}
connections: ["mix -> g -> limit -> out"]
)");
    writeFloatWav(dir.file("x.wav"), x);
    const double gainDb = 15;
    auto renderAt = [&](double db, const std::string& name) {
        auto r = runCli("render " + q(graph) + " -i " + q(dir.file("x.wav")) + " -o " + q(dir.file(name)) +
                        " --format wav32f --set g.gain=" + std::to_string(db) + "dB");
        INFO(r.out << r.err);
        REQUIRE(r.status == 0);
        return readAll(dir.file(name));
    };
    const Planar y = renderAt(gainDb, "y.wav");
    const Planar further = renderAt(gainDb + 1, "y1.wav");
    cli::TempSampleFile source, result;
    toScratch(x, source, dir.path());
    toScratch(y, result, dir.path());
    cli::LoudnessPredictor predictor;
    REQUIRE(predictor.measure(source, result, gainDb, kRate) == "");
    const double now = measure(y).integratedLufs, actual = measure(further).integratedLufs;
    const double predicted = predictor.integratedLufs(1);
    INFO("at +15 dB " << now << " LUFS; +1 dB more: " << actual << " LUFS, predicted " << predicted << ", naive " << now + 1);
    REQUIRE(actual - now < 0.9); // the limiter holds back a good part of the dB
    CHECK(predictor.integratedLufs(0) == Approx(now).margin(0.01));
    CHECK(predicted >= actual - 0.01);                                        // reads high: new peaks are not in the model
    CHECK(std::fabs(predicted - actual) < 0.5 * std::fabs(now + 1 - actual)); // far better than +1 dB
}

namespace {

/// Hostile material at 44.1 kHz for the probe and the trim: a music-like bed (chords, a decaying
/// kick every 0.5 s), bursts of noise driven 12 dB into full-scale clipping, a 21 kHz tone near
/// Nyquist at full scale (inter-sample peaks), 1.5 s of digital silence, and a quiet stretch,
/// scaled to `lufs` (-34 LUFS needs about +20 dB).
Planar hostile44k(double seconds, double lufs, double rate) {
    const auto frames = std::int64_t(seconds * rate);
    Planar x(2, std::vector<float>(std::size_t(frames), 0.0f));
    const auto bed1 = test::sine(220, 0.12, rate, frames), bed2 = test::sine(277.2, 0.1, rate, frames, 1.0);
    const auto bed3 = test::sine(329.6, 0.08, rate, frames, 2.0);
    const auto nyquist = test::sine(21000, 1.0, rate, frames, M_PI / 3);
    const auto hiss = test::noise(frames, 1.0f, 777);
    for (std::int64_t n = 0; n < frames; ++n) {
        const auto i = std::size_t(n);
        const double t = double(n) / rate;
        const double beat = std::fmod(t, 0.5);
        const double kick = 0.9 * std::exp(-beat / 0.06) * std::sin(2 * M_PI * 55 * beat);
        double l = bed1[i] + bed2[i] + kick, r = bed1[i] + bed3[i] + 0.8 * kick;
        if (std::fmod(t, 3.7) < 0.25) { // clipped noise: 4x over full scale, clipped
            const double v = std::clamp(4.0 * double(hiss[i]), -1.0, 1.0);
            l += v, r -= v;
        }
        if (std::fmod(t, 5.3) < 0.1) l += nyquist[i], r += nyquist[i];  // near Nyquist, full scale
        if (t > seconds * 0.4 && t < seconds * 0.4 + 1.5) l = r = 0;    // digital silence
        if (t > seconds * 0.7 && t < seconds * 0.8) l *= 0.1, r *= 0.1; // a quiet stretch
        x[0][i] = float(l);
        x[1][i] = float(r);
    }
    LoudnessMeter meter;
    REQUIRE(meter.prepare(rate, 2) == "");
    const float* pointers[] = {x[0].data(), x[1].data()};
    meter.process(pointers, int(frames));
    return scaled(x, lufs - meter.integratedLufs());
}

void writeFloatWavAt(const std::string& path, const Planar& x, double rate) {
    AudioBuffer buffer(int(x.size()), int(x[0].size()));
    for (std::size_t c = 0; c < x.size(); ++c) std::copy(x[c].begin(), x[c].end(), buffer.channel(int(c)));
    io::AudioFileWriter writer;
    REQUIRE(writer.open(path, io::OutputFormat::Wav32f, rate, buffer.channels()) == "");
    REQUIRE(writer.write(buffer.view()) == "");
    REQUIRE(writer.commit() == "");
}

} // namespace

TEST_CASE("render --target: the probe sets the first run, a trim after the limiter lands it (44.1 kHz, hostile, +20 dB)",
          "[render][target][probe]") {
    // Long enough for the probe (48 s): it measures what the limiter takes off on a sample and
    // the first run makes up for it; the trim (a gain after the limiter) then lands the run
    // exactly. Every landing is checked by libebur128 and our Annex 2 meter on the written file.
    TempDir dir;
    constexpr double kRate44 = 44100;
    const std::string graph = dir.write("pass.yaml", kPassGraph);
    const std::string input = dir.file("in.wav");
    writeFloatWavAt(input, hostile44k(60.0, -34, kRate44), kRate44);
    int trimmed = 0, single = 0, cases = 0;
    for (const char* target : {"spotify", "amazon", "-10LUFS"}) {
        for (const char* format : {"wav16", "wav24"}) {
            CAPTURE(target, format);
            ++cases;
            const std::string out = dir.file(std::string("out-") + format + ".wav"), report = dir.file("r.json");
            auto r = runCli("render " + q(graph) + " -i " + q(input) + " -o " + q(out) + " --format " + format + " --target " +
                            target + " --max-gain 40dB --report " + q(report));
            INFO(r.out << r.err);
            REQUIRE(r.status == 0);
            Json json = readJson(report);
            Json& t = json["outputs"][0]["target"];
            const double lufs = json["target"]["integrated_lufs"].get<double>(),
                         ceiling = json["target"]["ceiling_dbtp"].get<double>();
            CHECK(t["probe_runs"].get<double>() >= 1);
            CHECK(t["output_encodes"].get<double>() == 1);
            CHECK(t["gain_db"].get<double>() > 20); // +20 dB and more: the limiter works hard
            CHECK(std::fabs(t["trim_db"].get<double>()) <= cli::kMaxTrimDb);
            if (t["trim_db"].get<double>() != 0) ++trimmed;
            if (t["pass2_runs"].get<double>() == 1) ++single;
            double rate = 0;
            const Planar written = readAll(out, &rate);
            CHECK(rate == kRate44);
            const Reading got = measure(written, kRate44);
            INFO(t["pass2_runs"].get<double>()
                 << " runs, trim " << t["trim_db"].get<double>() << " dB: " << got.integratedLufs << " LUFS, " << got.truePeakDbtp
                 << " dBTP (libebur128 " << got.oracleTruePeakDbtp << ")");
            CHECK(std::fabs(got.integratedLufs - lufs) <= cli::kAcceptToleranceLu);
            CHECK(got.truePeakDbtp <= ceiling);
            CHECK(got.oracleTruePeakDbtp <= ceiling + 0.1);
            CHECK(json["outputs"][0]["true_peak_dbtp"].get<double>() == Approx(got.truePeakDbtp).margin(0.001));
        }
    }
    std::printf("target with a probe (44.1 kHz hostile, +20 dB): %d of %d landed by one run, %d trimmed\n", single, cases,
                trimmed);
    CHECK(trimmed >= 1); // the trim path was taken
    CHECK(single >= cases / 2);
    CHECK(noTemporaries(dir));
}

TEST_CASE("deliverToTarget writes what a plain render of its chain (gain, limiter, trim) gives, bit for bit",
          "[render][target][probe]") {
    // The delivered file against an independent render of targetChainYaml with the gains the
    // delivery chose, at another block size: the same bits (float output, no dither). Stereo,
    // mono and three channels: the run of pass 2 shares the limiter's detection between two
    // threads by channels (the first half detected ahead), and one limiter detecting every
    // channel itself must give the same bits.
    TempDir dir;
    const Planar stereo = hostileMix(50.0, -26); // long enough for the probe
    Planar three = stereo;
    three.push_back(stereo[0]);
    for (std::size_t n = 0; n < three[2].size(); ++n) three[2][n] = 0.7f * stereo[0][n] - 0.5f * stereo[1][n];
    // And a quiet input brought to a low ceiling: a gain spread over two gain nodes, a limiter
    // ceiling below the node's floor (pass2GraphYaml's shift), both applied by the runs' reading
    // threads rather than by gain nodes.
    const Planar quiet = hostileMix(50.0, -76);
    struct Case {
        const char* target;
        Planar x;
        double ceilingDbtp = 0; // 0: the preset's
    };
    const std::vector<Case> cases{
        {"spotify", stereo}, {"apple", stereo}, {"spotify", Planar{stereo[1]}}, {"apple", three}, {"-30", quiet, -20}};
    for (const auto& [preset, x, ceilingDbtp] : cases) {
        CAPTURE(preset, x.size());
        const std::string input = dir.file("in.wav");
        writeFloatWav(input, x);
        cli::LoudnessTarget target;
        REQUIRE(cli::parseLoudnessTarget(preset, target) == "");
        if (ceilingDbtp != 0) {
            target.ceilingDbtp = ceilingDbtp;
            target.maxGainDb = 60;
        }
        cli::TempSampleFile source;
        toScratch(x, source, dir.path());
        const cli::OutputFigures before = figuresBefore(x);
        io::AudioFileWriter writer;
        cli::TargetResult result;
        const std::string out = dir.file("delivered.wav");
        REQUIRE(cli::deliverToTarget(source, before, target, out, io::OutputFormat::Wav32f, {}, writer, result, false, nullptr) ==
                "");
        REQUIRE(writer.commit() == "");
        INFO("gain " << result.gainDb << " dB, trim " << result.trimDb << " dB, " << result.pass2Runs << " runs");
        if (ceilingDbtp == 0)
            CHECK(result.probeRuns >= 1);
        else
            CHECK(result.gainDb > 40);        // two gain nodes (and no probe: the input is under the absolute gate)
        CHECK(result.maxGainReductionDb > 1); // the limiter works: its detection decides the output
        const std::string chain =
            dir.write("chain.yaml", cli::targetChainYaml(int(x.size()), result.gainDb, result.limiterCeilingDbtp, result.trimDb));
        const std::string plain = dir.file("plain.wav");
        auto r = runCli("render " + q(chain) + " -i " + q(input) + " -o " + q(plain) + " --format wav32f --block 777");
        INFO(r.out << r.err);
        REQUIRE(r.status == 0);
        const Planar a = readAll(out), b = readAll(plain);
        REQUIRE(a.size() == b.size());
        for (std::size_t c = 0; c < a.size(); ++c) {
            REQUIRE(a[c].size() == b[c].size());
            CHECK(std::memcmp(a[c].data(), b[c].data(), sizeof(float) * a[c].size()) == 0);
        }
        const Reading got = measure(a);
        CHECK(std::fabs(got.integratedLufs - target.integratedLufs) <= cli::kAcceptToleranceLu);
        CHECK(got.truePeakDbtp <= target.ceilingDbtp);
        fs::remove(out);
        fs::remove(plain);
        fs::remove(input);
    }
}

TEST_CASE("deliverToTarget: the probe's two threads give the same delivery from a scratch in memory and spilled, every time",
          "[render][target][probe]") {
    // The probe's halves run on two threads reading the pass-1 scratch at once (pread when it is a
    // file): where the samples live and how the threads interleave must not change a bit.
    TempDir dir;
    const Planar x = hostileMix(64.0, -32); // probe on (48 s and more), about +18 dB
    cli::LoudnessTarget target;
    REQUIRE(cli::parseLoudnessTarget("spotify", target) == "");
    const cli::OutputFigures before = figuresBefore(x);
    std::vector<std::vector<float>> first;
    double firstGain = 0, firstTrim = 0;
    int round = 0;
    for (std::size_t limit : {cli::TempSampleFile::kInMemorySamples, std::size_t(0), std::size_t(0)}) {
        CAPTURE(limit, round);
        cli::TempSampleFile source;
        REQUIRE(source.create(dir.path(), 2, limit) == "");
        AudioBuffer buffer(2, int(x[0].size()));
        for (std::size_t c = 0; c < 2; ++c) std::copy(x[c].begin(), x[c].end(), buffer.channel(int(c)));
        REQUIRE(source.write(ConstAudioView(buffer.view())) == "");
        CHECK(source.onDisk() == (limit == 0));
        io::AudioFileWriter writer;
        cli::TargetResult result;
        const std::string out = dir.file("delivered.wav");
        REQUIRE(cli::deliverToTarget(source, before, target, out, io::OutputFormat::Wav24, {}, writer, result, false, nullptr) ==
                "");
        REQUIRE(writer.commit() == "");
        CHECK(result.probeRuns == 2);
        CHECK(result.encodes == 1);
        const Planar written = readAll(out);
        const Reading got = measure(written);
        CHECK(std::fabs(got.integratedLufs - target.integratedLufs) <= cli::kAcceptToleranceLu);
        CHECK(got.truePeakDbtp <= target.ceilingDbtp);
        CHECK(got.oracleTruePeakDbtp <= target.ceilingDbtp + 0.1);
        if (round == 0) {
            first = written;
            firstGain = result.gainDb, firstTrim = result.trimDb;
        } else {
            CHECK(result.gainDb == firstGain);
            CHECK(result.trimDb == firstTrim);
            REQUIRE(written.size() == first.size());
            for (std::size_t c = 0; c < written.size(); ++c) {
                REQUIRE(written[c].size() == first[c].size());
                CHECK(std::memcmp(written[c].data(), first[c].data(), sizeof(float) * written[c].size()) == 0);
            }
        }
        fs::remove(out);
        ++round;
    }
}

TEST_CASE("TempSampleFile::seek reads from any frame, in memory and spilled", "[render][target][scratch]") {
    TempDir dir;
    const Planar x = {test::noise(30000, 1.0f, 5), test::noise(30000, 1.0f, 6)};
    for (std::size_t limit : {cli::TempSampleFile::kInMemorySamples, std::size_t(0)}) {
        CAPTURE(limit);
        cli::TempSampleFile file;
        REQUIRE(file.create(dir.path(), 2, limit) == "");
        AudioBuffer buffer(2, 30000);
        for (int c = 0; c < 2; ++c) std::copy(x[std::size_t(c)].begin(), x[std::size_t(c)].end(), buffer.channel(c));
        REQUIRE(file.write(ConstAudioView(buffer.view())) == "");
        AudioBuffer block(2, 500);
        for (std::int64_t at : {std::int64_t(12345), std::int64_t(0), std::int64_t(29600), std::int64_t(7)}) {
            CAPTURE(at);
            REQUIRE(file.seek(at) == "");
            const std::int64_t got = file.read(block.view());
            CHECK(got == std::min<std::int64_t>(500, 30000 - at));
            for (int c = 0; c < 2; ++c)
                CHECK(std::memcmp(block.channel(c), x[std::size_t(c)].data() + at, sizeof(float) * std::size_t(got)) == 0);
        }
        CHECK(file.seek(30000) == "");
        CHECK(file.read(block.view()) == 0);
        CHECK_FALSE(file.seek(30001).empty());
        CHECK_FALSE(file.seek(-1).empty());
    }
}

TEST_CASE("GainTapeFile plays back what was recorded, stretch by stretch, in memory and spilled, for any request size",
          "[render][target]") {
    TempDir dir;
    struct Stretch {
        int frames = 0;
        std::vector<float> gains; ///< empty: copied
    };
    std::mt19937 random(5);
    for (std::int64_t expected : {std::int64_t(100000), std::int64_t(1) << 40}) { // memory; straight to the file
        CAPTURE(expected);
        cli::GainTapeFile tape;
        REQUIRE(tape.create(dir.path(), expected) == "");
        for (int take = 0; take < 2; ++take) { // the second recording replaces the first
            CAPTURE(take);
            REQUIRE(tape.clear() == "");
            std::vector<Stretch> recorded;
            std::int64_t total = 0;
            // A copied run longer than one length holds (2^24 frames: 5000 blocks of 4096), then
            // stretches of every kind and length: gains of 1 and of the deepest reduction among them.
            const int blocks = take == 0 ? 5000 : 3;
            for (int b = 0; b < blocks; ++b) {
                tape.record(nullptr, 4096);
                recorded.push_back({4096, {}});
                total += 4096;
            }
            for (int s = 0; s < 400; ++s) {
                const int frames = 1 + int(random() % 4096);
                Stretch stretch{frames, {}};
                if (random() % 3 != 0) {
                    stretch.gains.resize(std::size_t(frames));
                    for (auto& g : stretch.gains)
                        g = random() % 7 == 0 ? 1.0f : random() % 11 == 0 ? 1e-10f : float(random() % 1000000) / 1e6f;
                    // Runs of exactly 1 (kept as marks): at the ends, inside, of every length around 8.
                    const int kind = int(random() % 4);
                    const int first = kind == 0 ? 0 : int(random() % std::uint32_t(frames));
                    const int length = kind == 3 ? frames - first : int(random() % 20);
                    std::fill(stretch.gains.begin() + first, stretch.gains.begin() + std::min(frames, first + length), 1.0f);
                }
                tape.record(stretch.gains.empty() ? nullptr : stretch.gains.data(), frames);
                recorded.push_back(std::move(stretch));
                total += frames;
            }
            REQUIRE(tape.finish() == "");
            CHECK(tape.frames() == total);
            if (expected > 1000000) CHECK(tape.fileBytes() > 0);
            // Frame by frame, the expected gains (0: copied), against the replay at random request sizes.
            REQUIRE(tape.rewind() == "");
            std::size_t at = 0;
            int into = 0; // frames of recorded[at] played
            std::vector<float> gains(5000);
            std::int64_t played = 0;
            while (played < total) {
                const int ask = 1 + int(random() % 5000);
                bool copied = false;
                const int got = tape.replay(gains.data(), ask, copied);
                REQUIRE(got >= 1);
                REQUIRE(got <= ask);
                for (int f = 0; f < got;) { // the stretch may span recorded stretches of its kind
                    REQUIRE(at < recorded.size());
                    const Stretch& s = recorded[at];
                    REQUIRE(copied == s.gains.empty());
                    const int n = std::min(got - f, s.frames - into);
                    if (!copied)
                        REQUIRE(std::memcmp(gains.data() + f, s.gains.data() + into, sizeof(float) * std::size_t(n)) == 0);
                    f += n;
                    into += n;
                    if (into == s.frames) ++at, into = 0;
                }
                played += got;
            }
            CHECK(played == total);
            CHECK(tape.atEnd());
            CHECK(tape.error().empty());
            bool copied = false;
            CHECK(tape.replay(gains.data(), 10, copied) == 0); // nothing more: an error the host reports
            CHECK(tape.error().find("ends early") != std::string::npos);
        }
    }
}

namespace {

/// The probe's plain loudness worked out here from the samples: each stretch the probe measures
/// (2 s out of every 16 s, from 7 s into each 16 s window) K-weighted from rest 0.2 s before it by
/// two direct-form biquads in double, summed in 100 ms steps, gated over the 400 ms blocks that
/// lie within one stretch (BS.1770: -70 LUFS absolute, -10 LU relative), L and R weighted 1.
double probeStretchesOracle(const Planar& x, double rate) {
    KWeightingStage shelf, highPass;
    kWeightingStages(rate, shelf, highPass);
    const auto step = std::int64_t(std::llround(rate / 10));
    const auto spacing = std::int64_t(std::llround(16 * rate)), length = std::int64_t(std::llround(2 * rate));
    const auto warmup = std::int64_t(std::llround(0.2 * rate));
    const auto frames = std::int64_t(x[0].size());
    std::vector<double> blocks;
    for (std::int64_t window = 0; window + spacing <= frames; window += spacing) {
        const std::int64_t start = window + (spacing - length) / 2;
        std::vector<double> steps(std::size_t(length / step), 0.0);
        for (const auto& channel : x) {
            double x1 = 0, x2 = 0, y1 = 0, y2 = 0, z1 = 0, z2 = 0;
            for (std::int64_t n = start - warmup; n < start + length; ++n) {
                const double in = channel[std::size_t(n)];
                const double y = shelf.b0 * in + shelf.b1 * x1 + shelf.b2 * x2 - shelf.a1 * y1 - shelf.a2 * y2;
                x2 = x1, x1 = in;
                const double z = highPass.b0 * y + highPass.b1 * y1 + highPass.b2 * y2 - highPass.a1 * z1 - highPass.a2 * z2;
                y2 = y1, y1 = y, z2 = z1, z1 = z;
                if (n >= start) steps[std::size_t((n - start) / step)] += z * z;
            }
        }
        for (std::size_t j = 3; j < steps.size(); ++j)
            blocks.push_back((steps[j - 3] + steps[j - 2] + steps[j - 1] + steps[j]) / (4.0 * double(step)));
    }
    const auto level = [](double energy) { return -0.691 + 10 * std::log10(energy); };
    double sum = 0;
    int count = 0;
    for (double e : blocks)
        if (level(e) > -70) sum += e, ++count;
    if (count == 0) return -HUGE_VAL;
    const double relative = level(sum / count) - 10;
    double kept = 0;
    int keptCount = 0;
    for (double e : blocks)
        if (level(e) > -70 && level(e) > relative) kept += e, ++keptCount;
    return keptCount == 0 ? -HUGE_VAL : level(kept / keptCount);
}

/// Runs an offline meter with `reference`'s tap over x in blocks of `block` frames (a reset after
/// `resetAt` frames when given).
void keepReference(cli::ProbeReference& reference, const Planar& x, double rate, std::int64_t roomFrames, int block = 4096,
                   std::int64_t resetAt = -1) {
    reference.reserve(roomFrames, rate);
    LoudnessOptions options;
    options.offline = true;
    options.stepTap = &cli::ProbeReference::tap;
    options.stepTapContext = &reference;
    LoudnessMeter meter;
    REQUIRE(meter.prepare(rate, int(x.size()), options) == "");
    const auto frames = std::int64_t(x[0].size());
    for (std::int64_t at = 0; at < frames;) {
        if (at == resetAt) meter.reset();
        std::int64_t n = std::min<std::int64_t>(block, frames - at);
        if (resetAt > at) n = std::min(n, resetAt - at);
        std::vector<const float*> pointers;
        for (const auto& c : x) pointers.push_back(c.data() + at);
        meter.process(pointers.data(), int(n));
        at += n;
    }
    meter.integratedLufs(); // the readers finish the last batch's steps
}

/// 50 s of hostile stereo at `rate`: sections of clipped noise, a near-Nyquist tone at +20 dB
/// drive (clipped), near-silence under the gate and a quiet tone, 12 dB apart.
Planar hostileAt(double rate, double seconds) {
    const auto frames = std::int64_t(std::llround(seconds * rate));
    Planar x(2, std::vector<float>(std::size_t(frames)));
    std::mt19937 random(77);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (std::int64_t n = 0; n < frames; ++n) {
        const double t = double(n) / rate;
        const int section = int(t / 3.1) % 4;
        for (int c = 0; c < 2; ++c) {
            double v = 0;
            if (section == 0) v = std::clamp(4.0 * uniform(random), -1.0, 1.0);                           // clipped noise
            if (section == 1) v = std::clamp(10.0 * std::sin(2 * M_PI * 0.49 * rate * t + c), -1.0, 1.0); // near Nyquist
            if (section == 2) v = 1e-5 * uniform(random);                                                 // under the gate
            if (section == 3) v = 0.25 * std::sin(2 * M_PI * 997 * t);
            x[std::size_t(c)][std::size_t(n)] = float(v);
        }
    }
    return x;
}

} // namespace

TEST_CASE("ProbeReference: pass 1's meter keeps the probe's plain loudness, or nothing when it cannot",
          "[render][target][probe]") {
    struct Case {
        const char* name;
        double rate;
        Planar x;
    };
    const std::vector<Case> cases{{"hostile mix, 48 kHz", kRate, hostileMix(70.0, -23)},
                                  {"hostile sections, 44.1 kHz", 44100, hostileAt(44100, 50.0)},
                                  {"hostile sections, 96 kHz", 96000, hostileAt(96000, 49.0)}};
    for (const auto& c : cases) {
        CAPTURE(c.name);
        const auto frames = std::int64_t(c.x[0].size());
        const double expected = probeStretchesOracle(c.x, c.rate);
        REQUIRE(std::isfinite(expected));
        for (int block : {4096, 1000, 65536}) {
            CAPTURE(block);
            cli::ProbeReference reference;
            keepReference(reference, c.x, c.rate, frames, block);
            const auto got = reference.lufs(frames, c.rate);
            REQUIRE(got.has_value());
            CHECK(std::fabs(*got - expected) < 1e-9);
            // Room for a longer output is fine; an output of another length or rate is not answered
            // from stretches it lacks.
            cli::ProbeReference roomy;
            keepReference(roomy, c.x, c.rate, frames * 3, block);
            CHECK(roomy.lufs(frames, c.rate) == got);
            CHECK_FALSE(reference.lufs(frames + std::int64_t(16 * c.rate), c.rate).has_value());
            CHECK_FALSE(reference.lufs(frames, c.rate / 2).has_value());
        }
        // Too little room: the last stretch is not kept, and nothing is answered.
        cli::ProbeReference cramped;
        keepReference(cramped, c.x, c.rate, frames - std::int64_t(16 * c.rate));
        CHECK_FALSE(cramped.lufs(frames, c.rate).has_value());
        // A meter reset part way: its steps start again, and nothing is answered.
        cli::ProbeReference restarted;
        keepReference(restarted, c.x, c.rate, frames, 4096, frames / 2);
        CHECK_FALSE(restarted.lufs(frames, c.rate).has_value());
    }
    // A rate whose 100 ms is not a whole number of frames: nothing is kept.
    const Planar odd = hostileAt(11025, 50.0);
    cli::ProbeReference reference;
    keepReference(reference, odd, 11025, std::int64_t(odd[0].size()));
    CHECK_FALSE(reference.lufs(std::int64_t(odd[0].size()), 11025).has_value());
}

TEST_CASE("deliverToTarget: the probe's plain loudness kept from pass 1 delivers the same file as reading it back",
          "[render][target][probe]") {
    TempDir dir;
    const Planar x = hostileMix(64.0, -32); // probe on (48 s and more), about +18 dB
    const auto frames = std::int64_t(x[0].size());
    cli::LoudnessTarget target;
    REQUIRE(cli::parseLoudnessTarget("spotify", target) == "");
    const cli::OutputFigures before = figuresBefore(x);
    cli::ProbeReference kept;
    keepReference(kept, x, kRate, frames);
    REQUIRE(kept.lufs(frames, kRate).has_value());
    std::vector<Planar> written;
    std::vector<cli::TargetResult> results;
    for (const cli::ProbeReference* reference : std::vector<const cli::ProbeReference*>{nullptr, &kept}) {
        cli::TempSampleFile source;
        toScratch(x, source, dir.path(), 0);
        io::AudioFileWriter writer;
        cli::TargetResult result;
        const std::string out = dir.file(reference ? "kept.wav" : "read-back.wav");
        REQUIRE(cli::deliverToTarget(source, before, target, out, io::OutputFormat::Wav24, {}, writer, result, false, nullptr,
                                     nullptr, reference) == "");
        REQUIRE(writer.commit() == "");
        CHECK(result.probeRuns == 2);
        written.push_back(readAll(out));
        results.push_back(result);
    }
    CHECK(results[1].gainDb == Approx(results[0].gainDb).margin(1e-9)); // the same to the last bits that matter
    CHECK(results[1].trimDb == results[0].trimDb);
    CHECK(results[1].probeLossDb == Approx(results[0].probeLossDb).margin(1e-9));
    for (std::size_t c = 0; c < 2; ++c)
        CHECK(std::memcmp(written[1][c].data(), written[0][c].data(), sizeof(float) * written[0][c].size()) == 0);
}
