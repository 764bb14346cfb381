// `render --target … --album` through the CLI: the same gain on every track (a null test of each
// written track against the track rendered alone and gained by the reported album gain), the
// album's loudness on the target (libebur128 over the concatenation of the written tracks),
// the ceiling held over all tracks with each track's loudness relative to the others kept, the
// consistency table and report, and bad input.
#include "WavTesting.h"
#include "core/Buffer.h"
#include "host/io/AudioFile.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>
#include <ebur128.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

using namespace sg;
using sg::test::TempDir;
using Json = nlohmann::json;

namespace {

constexpr double kRate = 48000;
using Planar = std::vector<std::vector<float>>;

std::string q(const std::string& path) { return "'" + path + "'"; }

using test::readWav;
using test::writeWav;

/// libebur128 over the tracks played one after the other.
double concatenatedLoudness(const std::vector<Planar>& tracks, double* truePeakDbtp = nullptr) {
    ebur128_state* state = ebur128_init(2, static_cast<unsigned long>(kRate), EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    REQUIRE(state != nullptr);
    for (const Planar& x : tracks) {
        std::vector<float> interleaved(2 * x[0].size());
        for (std::size_t n = 0; n < x[0].size(); ++n)
            for (std::size_t c = 0; c < 2; ++c) interleaved[n * 2 + c] = x[c][n];
        REQUIRE(ebur128_add_frames_float(state, interleaved.data(), x[0].size()) == EBUR128_SUCCESS);
    }
    double lufs = 0, peak = 0;
    REQUIRE(ebur128_loudness_global(state, &lufs) == EBUR128_SUCCESS);
    for (unsigned c = 0; c < 2; ++c) {
        double p = 0;
        REQUIRE(ebur128_true_peak(state, c, &p) == EBUR128_SUCCESS);
        peak = std::max(peak, p);
    }
    ebur128_destroy(&state);
    if (truePeakDbtp) *truePeakDbtp = 20 * std::log10(peak);
    return lufs;
}

Planar noiseAt(double seconds, float amplitude, std::uint32_t seed) {
    const auto frames = std::int64_t(seconds * kRate);
    return {test::noise(frames, amplitude, seed), test::noise(frames, amplitude, seed + 1)};
}

const char* kEqGraph = R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {master: {channels: 2}}
nodes: {eq: {type: peak, freq: 1 kHz, gain: 2 dB, q: 1}, air: {type: highshelf, freq: 8 kHz, gain: -3 dB}}
connections: ["mix -> eq -> air -> master"]
)";

} // namespace

TEST_CASE("render --album: one gain for every track, the album on the target", "[album][cli]") {
    TempDir dir;
    const std::string graph = dir.write("eq.yaml", kEqGraph);
    // Three tracks, 12 dB apart at most: an album where the quiet track must stay quiet.
    const std::vector<std::string> inputs = {dir.file("one.wav"), dir.file("two.wav"), dir.file("three.wav")};
    writeWav(inputs[0], noiseAt(4, 0.05f, 1));
    writeWav(inputs[1], noiseAt(3, 0.0125f, 3));
    writeWav(inputs[2], noiseAt(2, 0.025f, 5));
    REQUIRE(test::runShell("mkdir " + q(dir.file("out"))).status == 0);
    const std::string report = dir.file("album.json");
    const auto run =
        test::runCli("render " + q(graph) + " --target -18LUFS --album -i " + q(inputs[0]) + " -i " + q(inputs[1]) + " -i " +
                     q(inputs[2]) + " -o " + q(dir.file("out") + "/") + " --format wav32f --report " + q(report));
    INFO(run.err);
    REQUIRE(run.status == 0);
    // The consistency table: a row per track and the album's.
    CHECK(run.out.find("album: 3 tracks") != std::string::npos);
    CHECK(run.out.find("out/one.wav") != std::string::npos);
    CHECK(run.out.find("\nalbum ") != std::string::npos);
    CHECK(run.out.find("16 kHz") != std::string::npos);

    std::ifstream in(report);
    const Json json = Json::parse(in);
    const double gainDb = json["album"]["gain_db"].get<double>();
    REQUIRE(json["tracks"].size() == 3);
    std::vector<Planar> written;
    for (std::size_t i = 0; i < 3; ++i) {
        const Json& track = json["tracks"][i];
        CHECK(track["gain_db"].get<double>() == gainDb);            // one gain
        CHECK(track["max_gain_reduction_db"].get<double>() < 0.01); // peaks far under the ceiling: no limiting
        const std::string file = track["file"].get<std::string>();
        CHECK(file == dir.file("out") + "/" + std::string(i == 0 ? "one" : i == 1 ? "two" : "three") + ".wav");
        written.push_back(readWav(file));
        // Null test: the track rendered alone, times the album gain, is the written track.
        const std::string alone = dir.file("alone.wav");
        REQUIRE(test::runCli("render " + q(graph) + " -i " + q(inputs[i]) + " -o " + q(alone) + " --format wav32f").status == 0);
        const Planar reference = readWav(alone);
        const double g = std::pow(10.0, gainDb / 20);
        REQUIRE(reference[0].size() == written.back()[0].size());
        double residual = 0, energy = 0;
        for (std::size_t c = 0; c < 2; ++c)
            for (std::size_t n = 0; n < reference[c].size(); ++n) {
                const double d = double(written.back()[c][n]) - g * reference[c][n];
                residual += d * d;
                energy += g * g * double(reference[c][n]) * reference[c][n];
            }
        CHECK(10 * std::log10(residual / energy + 1e-30) < -100);
    }
    // The album (every written track in order) is on the target: libebur128 as the oracle.
    const double album = concatenatedLoudness(written);
    CHECK(album == Approx(-18).margin(0.1));
    CHECK(json["album"]["integrated_lufs"].get<double>() == Approx(album).margin(0.05));
    // Not every track on the target: the quiet one stays about 12 dB under the loud one.
    const double loud = json["tracks"][0]["integrated_lufs"].get<double>();
    const double quiet = json["tracks"][1]["integrated_lufs"].get<double>();
    CHECK(loud - quiet == Approx(20 * std::log10(4.0)).margin(0.2));
}

TEST_CASE("render --album: the ceiling holds over every track, which keeps its place in the album", "[album][cli]") {
    TempDir dir;
    const std::string graph = dir.write("eq.yaml", kEqGraph);
    const std::string a = dir.file("a.wav"), b = dir.file("b.wav");
    writeWav(a, noiseAt(3, 0.3f, 7));  // loud: the album gain takes its peaks over the ceiling
    writeWav(b, noiseAt(6, 0.15f, 9)); // 6 dB quieter, longer: pulls the album's loudness down
    const auto run =
        test::runCli("render " + q(graph) + " --target -8LUFS --ceiling -1dBTP --album -i " + q(a) + " -i " + q(b) + " -o " +
                     q(dir.file("a-out.wav")) + " -o " + q(dir.file("b-out.wav")) + " --report " + q(dir.file("r.json")));
    INFO(run.err);
    REQUIRE(run.status == 0);
    std::ifstream in(dir.file("r.json"));
    const Json json = Json::parse(in);
    const Json& loud = json["tracks"][0];
    const Json& quiet = json["tracks"][1];
    const double gainDb = json["album"]["gain_db"].get<double>();
    CHECK(gainDb == Approx(-8 - json["album"]["before_integrated_lufs"].get<double>()).margin(0.001));
    CHECK(loud["max_gain_reduction_db"].get<double>() > 0.2); // the loud track is limited…
    CHECK(loud["gain_db"].get<double>() >= gainDb);           // …and gets back what the limiter took
    CHECK(loud["gain_db"].get<double>() < gainDb + 0.5);
    CHECK(quiet["max_gain_reduction_db"].get<double>() < 0.01); // the quiet one is not: exactly G
    CHECK(quiet["gain_db"].get<double>() == Approx(gainDb).margin(1e-6));
    for (const auto& track : json["tracks"]) CHECK(track["true_peak_dbtp"].get<double>() <= -1.0);
    // Each track keeps its loudness relative to the other: both moved by G.
    CHECK(loud["integrated_lufs"].get<double>() - loud["before_integrated_lufs"].get<double>() == Approx(gainDb).margin(0.05));
    CHECK(quiet["integrated_lufs"].get<double>() - quiet["before_integrated_lufs"].get<double>() == Approx(gainDb).margin(0.05));
    double peak = 0;
    const double album = concatenatedLoudness({readWav(dir.file("a-out.wav")), readWav(dir.file("b-out.wav"))}, &peak);
    CHECK(album == Approx(-8).margin(0.1));
    CHECK(peak < -1 + 0.2); // libebur128's own true-peak interpolator: within its difference
}

TEST_CASE("render --album: bad input is a clear error and writes nothing", "[album][cli]") {
    TempDir dir;
    const std::string graph = dir.write("eq.yaml", kEqGraph);
    const std::string a = dir.file("a.wav"), b = dir.file("b.wav"), c44 = dir.file("c44.wav"), silent = dir.file("s.wav");
    writeWav(a, noiseAt(1, 0.1f, 1));
    writeWav(b, noiseAt(1, 0.1f, 2));
    writeWav(c44, noiseAt(1, 0.1f, 3), 44100);
    writeWav(silent, {std::vector<float>(48000, 0.0f), std::vector<float>(48000, 0.0f)});
    auto render = [&](const std::string& arguments) { return test::runCli("render " + q(graph) + " " + arguments); };
    const auto noTarget =
        render("--album -i " + q(a) + " -i " + q(b) + " -o " + q(dir.file("o1.wav")) + " -o " + q(dir.file("o2.wav")));
    CHECK(noTarget.status == 2);
    CHECK(noTarget.err.find("--album needs --target") != std::string::npos);
    const auto count = render("--target -16LUFS --album -i " + q(a) + " -i " + q(b) + " -o " + q(dir.file("o1.wav")));
    CHECK(count.status == 2);
    CHECK(count.err.find("one -o per input") != std::string::npos);
    CHECK(render("--target -16LUFS --album -i " + q(a) + " -i " + q(b) + " -o " + q(dir.file("nowhere") + "/")).status == 2);
    const auto onto =
        render("--target -16LUFS --album -i " + q(a) + " -i " + q(b) + " -o " + q(dir.file("o1.wav")) + " -o " + q(a));
    CHECK(onto.status == 2);
    CHECK(onto.err.find("refusing to overwrite") != std::string::npos);
    const auto rates = render("--target -16LUFS --album -i " + q(a) + " -i " + q(c44) + " -o " + q(dir.file("o1.wav")) + " -o " +
                              q(dir.file("o2.wav")));
    CHECK(rates.status == 1);
    CHECK(rates.err.find("c44.wav") != std::string::npos);
    const auto quiet = render("--target -16LUFS --album -i " + q(silent) + " -i " + q(silent) + " -o " + q(dir.file("o1.wav")) +
                              " -o " + q(dir.file("o2.wav")));
    CHECK(quiet.status == 1);
    CHECK(quiet.err.find("silent") != std::string::npos);
    const std::string twoInputs = dir.write("two.yaml", "stagegraph: 1\ninputs: {a: {channels: 2}, b: {channels: 2}}\noutputs: "
                                                        "{out: {channels: 2}}\nnodes: {}\nconnections: [\"a -> out\", \"b -> "
                                                        "out\"]\n");
    const auto shape = test::runCli("render " + q(twoInputs) + " --target -16LUFS --album -i a=" + q(a) + " -i b=" + q(b) +
                                    " -o " + q(dir.file("o1.wav")) + " -o " + q(dir.file("o2.wav")));
    CHECK(shape.status == 2);
    for (const auto& name : dir.list()) {
        CHECK(name.rfind("o", 0) != 0); // no output
        CHECK(name.find(".tmp") == std::string::npos);
    }
}
