// `stagegraph compare` through the CLI: matched loudness against libebur128 over the candidates
// rendered by `stagegraph render`, the reported gains against the formula (reference minus each
// candidate's loudness), the A/B file against the candidates' own renders, null files of
// candidates that differ only by gain, latency and polarity, the balance figures against signals
// whose answer is known (a tone in one band, anti-phase channels, a bass that steps by 10 dB),
// gain reduction against render --report, and bad input.
#include "WavTesting.h"
#include "core/Buffer.h"
#include "host/io/AudioFile.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>
#include <ebur128.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <numbers>

using namespace sg;
using sg::test::TempDir;
using Json = nlohmann::json;

namespace {

constexpr double kRate = 48000;
using Planar = std::vector<std::vector<float>>;

std::string q(const std::string& path) { return "'" + path + "'"; }

using test::readWav;
using test::writeWav;

double ebur128Integrated(const Planar& x) {
    ebur128_state* state = ebur128_init(unsigned(x.size()), static_cast<unsigned long>(kRate), EBUR128_MODE_I);
    REQUIRE(state != nullptr);
    std::vector<float> interleaved(x.size() * x[0].size());
    for (std::size_t n = 0; n < x[0].size(); ++n)
        for (std::size_t c = 0; c < x.size(); ++c) interleaved[n * x.size() + c] = x[c][n];
    REQUIRE(ebur128_add_frames_float(state, interleaved.data(), x[0].size()) == EBUR128_SUCCESS);
    double lufs = 0;
    REQUIRE(ebur128_loudness_global(state, &lufs) == EBUR128_SUCCESS);
    ebur128_destroy(&state);
    return lufs;
}

/// A stereo mix with dynamics: noise whose level steps between two values every second.
Planar steppedNoise(double seconds, float loud, float quiet, std::uint32_t seed = 5) {
    const auto frames = std::int64_t(seconds * kRate);
    Planar x{test::noise(frames, 1.0f, seed), test::noise(frames, 1.0f, seed + 1)};
    for (auto& channel : x)
        for (std::int64_t n = 0; n < frames; ++n) channel[std::size_t(n)] *= (n / std::int64_t(kRate)) % 2 ? quiet : loud;
    return x;
}

/// A stereo graph: mix -> NODES -> master.
std::string chainGraph(const std::string& nodes, const std::string& chain) {
    return "stagegraph: 1\ninputs: {mix: {channels: 2}}\noutputs: {master: {channels: 2}}\nnodes: {" + nodes +
           "}\nconnections: [\"mix -> " + chain + " -> master\"]\n";
}

Json compareJson(const std::string& arguments) {
    const auto result = test::runCli("compare " + arguments + " --json");
    INFO(result.err);
    REQUIRE(result.status == 0);
    return Json::parse(result.out);
}

} // namespace

TEST_CASE("compare matches integrated loudness to the quietest candidate; libebur128 agrees", "[compare][cli]") {
    TempDir dir;
    const std::string mix = dir.file("mix.wav");
    writeWav(mix, steppedNoise(6, 0.3f, 0.05f));
    const std::string soft = dir.write("soft.yaml", chainGraph("lp: {type: lowpass, freq: 2 kHz}", "lp"));
    const std::string loud = dir.write("loud.yaml", chainGraph("g: {type: gain, gain: 9 dB}, lim: {type: limiter, ceiling: "
                                                               "-1 dBTP, lookahead: 5 ms, release: 50 ms}",
                                                               "g -> lim"));
    const Json json = compareJson(q(soft) + " " + q(loud) + " -i " + q(mix));
    REQUIRE(json["candidates"].size() == 2);
    CHECK(json["matched_to"] == "quietest");

    // The oracle: each candidate rendered by `render`, measured by libebur128.
    double oracle[2];
    const std::string graphs[2] = {soft, loud};
    for (int i = 0; i < 2; ++i) {
        const std::string out = dir.file(i == 0 ? "r0.wav" : "r1.wav");
        const auto render = test::runCli("render " + q(graphs[i]) + " -i " + q(mix) + " -o " + q(out) + " --format wav32f");
        REQUIRE(render.status == 0);
        oracle[i] = ebur128Integrated(readWav(out));
        const Json& c = json["candidates"][std::size_t(i)];
        CHECK(c["as_rendered_integrated_lufs"].get<double>() == Approx(oracle[i]).margin(0.05));
    }
    const double reference = std::min(oracle[0], oracle[1]);
    CHECK(json["reference_lufs"].get<double>() == Approx(reference).margin(0.05));
    for (int i = 0; i < 2; ++i) {
        const Json& c = json["candidates"][std::size_t(i)];
        CHECK(c["gain_db"].get<double>() == Approx(reference - oracle[i]).margin(0.05));
        CHECK(c["gain_db"].get<double>() <= 0.0); // the quietest is the reference: nothing is raised
        CHECK(c["integrated_lufs"].get<double>() == Approx(reference).margin(0.05));
    }
    CHECK(std::fabs(json["candidates"][0]["integrated_lufs"].get<double>() -
                    json["candidates"][1]["integrated_lufs"].get<double>()) < 0.1);
    // True peak after matching: the candidate's own true peak plus its gain.
    CHECK(json["candidates"][1]["true_peak_dbtp"].get<double>() <= -1 + json["candidates"][1]["gain_db"].get<double>() + 0.05);

    // --level: every candidate lands there; the table says so.
    const Json level = compareJson(q(soft) + " " + q(loud) + " -i " + q(mix) + " --level -30LUFS");
    for (const auto& c : level["candidates"]) CHECK(c["integrated_lufs"].get<double>() == Approx(-30).margin(0.05));
    // Options before the graphs: -i takes one value, the graphs stay candidates.
    const auto table = test::runCli("compare -i " + q(mix) + " " + q(soft) + " " + q(loud));
    REQUIRE(table.status == 0);
    CHECK(table.out.find("matched to") != std::string::npos);
    CHECK(table.out.find("harshness 2-8 kHz") != std::string::npos);
    CHECK(table.out.find("band 31.5 Hz") != std::string::npos);
}

TEST_CASE("compare --swap: one session, a candidate per swapped stage, equal to the swapped graphs", "[compare][cli][swap]") {
    TempDir dir;
    const std::string mix = dir.file("mix.wav");
    writeWav(mix, steppedNoise(4, 0.3f, 0.05f));
    const std::string soft = dir.write("soft.yaml", chainGraph("g: {type: gain, gain: -6 dB}", "g"));
    const std::string hard = dir.write("hard.yaml", chainGraph("g: {type: gain, gain: -12 dB}", "g"));
    const std::string session = dir.write("session.yaml", "stagegraph: 1\ninputs: {mix: {channels: 2}}\n"
                                                          "outputs: {master: {channels: 2}}\n"
                                                          "nodes: {stage: {use: soft.yaml}}\n"
                                                          "connections: [\"mix -> stage -> master\"]\n");
    const Json swapped =
        compareJson(q(session) + " -i " + q(mix) + " --no-match --swap stage=" + q(soft) + " --swap stage=" + q(hard));
    REQUIRE(swapped["candidates"].size() == 2);
    CHECK(swapped["candidates"][0]["label"] == "soft");
    CHECK(swapped["candidates"][1]["label"] == "hard");
    // The same figures as the two stage graphs compared directly.
    const Json direct = compareJson(q(soft) + " " + q(hard) + " -i " + q(mix) + " --no-match");
    for (std::size_t i = 0; i < 2; ++i)
        CHECK(swapped["candidates"][i]["integrated_lufs"].get<double>() ==
              direct["candidates"][i]["integrated_lufs"].get<double>());
    CHECK(swapped["candidates"][0]["integrated_lufs"].get<double>() - swapped["candidates"][1]["integrated_lufs"].get<double>() ==
          Approx(6).margin(0.01));
    // Usage: one graph only; NAME=FILE; an unknown stage is a graph error naming it.
    auto r = test::runCli("compare " + q(session) + " " + q(soft) + " -i " + q(mix) + " --swap stage=" + q(hard));
    CHECK(r.status == 2);
    CHECK(r.err.find("--swap makes the candidates of one graph") != std::string::npos);
    r = test::runCli("compare " + q(session) + " -i " + q(mix) + " --swap stage");
    CHECK(r.status == 2);
    CHECK(r.err.find("expected NAME=FILE") != std::string::npos);
    r = test::runCli("compare " + q(session) + " -i " + q(mix) + " --swap stag=" + q(hard));
    CHECK(r.status == 2);
    CHECK(r.err.find("'stag'") != std::string::npos);
}

TEST_CASE("compare reports the limiter's gain reduction as render --report measures it", "[compare][cli]") {
    TempDir dir;
    const std::string mix = dir.file("mix.wav");
    writeWav(mix, steppedNoise(4, 0.5f, 0.1f));
    const std::string plain = dir.write("plain.yaml", chainGraph("g: {type: gain, gain: 0 dB}", "g"));
    const std::string limited = dir.write("limited.yaml", chainGraph("lim: {type: limiter, ceiling: -12 dBTP}", "lim"));
    const Json json = compareJson(q(plain) + " " + q(limited) + " -i " + q(mix));
    const auto render = test::runCli("render " + q(limited) + " -i " + q(mix) + " -o " + q(dir.file("o.wav")) + " --report " +
                                     q(dir.file("r.json")));
    REQUIRE(render.status == 0);
    std::ifstream in(dir.file("r.json"));
    const Json report = Json::parse(in);
    double maxDb = -1, meanDb = -1;
    for (const auto& tap : report["taps"])
        if (tap["type"] == "limiter") {
            maxDb = tap["values"]["max_gain_reduction_db"]["value"].get<double>();
            meanDb = tap["values"]["mean_gain_reduction_db"]["value"].get<double>();
        }
    REQUIRE(maxDb > 3);
    const Json& c = json["candidates"][1];
    CHECK(c["limiter_max_gain_reduction_db"].get<double>() == Approx(maxDb).margin(0.01));
    CHECK(c["limiter_mean_gain_reduction_db"].get<double>() == Approx(meanDb).margin(0.01));
    CHECK(c["gain_reduction"][0]["node"] == "lim");
    CHECK(json["candidates"][0]["limiter_max_gain_reduction_db"].is_null()); // no limiter there
}

TEST_CASE("compare --null: candidates that differ by gain, latency or polarity cancel after matching", "[compare][cli]") {
    TempDir dir;
    const std::string mix = dir.file("mix.wav");
    writeWav(mix, steppedNoise(3, 0.3f, 0.1f));
    const std::string a = dir.write("a.yaml", chainGraph("eq: {type: peak, freq: 1 kHz, gain: 3 dB, q: 1}", "eq"));
    const std::string quieter = dir.write("b.yaml", chainGraph("eq: {type: peak, freq: 1 kHz, gain: 3 dB, q: 1}, g: {type: "
                                                               "gain, gain: -7 dB}, d: {type: latency, time: 5 ms}",
                                                               "eq -> g -> d"));
    const std::string other = dir.write("c.yaml", chainGraph("eq: {type: peak, freq: 1 kHz, gain: -3 dB, q: 1}", "eq"));
    const std::string null = dir.file("null.wav");
    const Json json =
        compareJson(q(a) + " " + q(quieter) + " " + q(other) + " -i " + q(mix) + " --null " + q(null) + " --null-pair a,b");
    CHECK(json["null"]["first"] == "a");
    CHECK(json["null"]["second"] == "b");
    // Matched to within float precision and aligned: silence (-inf, null) or close to it.
    const Json& relative = json["null"]["relative_db"];
    CHECK((relative.is_null() || relative.get<double>() < -60));
    const Planar difference = readWav(null);
    double peak = 0;
    for (const auto& channel : difference)
        for (float v : channel) peak = std::max(peak, double(std::fabs(v)));
    CHECK(20 * std::log10(peak + 1e-30) < -50);
    if (json["null"]["peak_dbfs"].is_null())
        CHECK(20 * std::log10(peak + 1e-30) < -130); // an exact null: only the 24-bit file's dither
    else
        CHECK(json["null"]["peak_dbfs"].get<double>() == Approx(20 * std::log10(peak)).margin(0.5));

    // A real difference does not cancel: a against c (by numbers) is far from silent.
    const Json differs = compareJson(q(a) + " " + q(quieter) + " " + q(other) + " -i " + q(mix) + " --null " +
                                     q(dir.file("n2.wav")) + " --null-pair 1,3");
    CHECK(differs["null"]["relative_db"].get<double>() > -30);
    CHECK(test::runCli("compare " + q(a) + " " + q(other) + " -i " + q(mix) + " --null " + q(mix)).status == 2); // the input
    CHECK(readWav(mix).size() == 2);                                                                             // untouched
}

TEST_CASE("compare --ab alternates the matched candidates with an equal-power crossfade", "[compare][cli]") {
    TempDir dir;
    const std::string mix = dir.file("mix.wav");
    writeWav(mix, steppedNoise(5, 0.3f, 0.3f));
    const std::string low = dir.write("low.yaml", chainGraph("f: {type: lowpass, freq: 800 Hz}", "f"));
    const std::string high =
        dir.write("high.yaml", chainGraph("f: {type: highpass, freq: 3 kHz}, g: {type: gain, gain: -4 dB}", "f -> g"));
    const std::string ab = dir.file("ab.wav");
    const Json json = compareJson(q(low) + " " + q(high) + " -i " + q(mix) + " --ab " + q(ab) + " --ab-seconds 1 --crossfade 20");
    const Json& segments = json["ab"]["segments"];
    REQUIRE(segments.size() == 5);
    Planar renders[2];
    double gains[2];
    const std::string graphs[2] = {low, high};
    for (int i = 0; i < 2; ++i) {
        const std::string out = dir.file(i == 0 ? "r0.wav" : "r1.wav");
        REQUIRE(test::runCli("render " + q(graphs[i]) + " -i " + q(mix) + " -o " + q(out) + " --format wav32f").status == 0);
        renders[i] = readWav(out);
        gains[i] = std::pow(10.0, json["candidates"][std::size_t(i)]["gain_db"].get<double>() / 20);
    }
    const Planar file = readWav(ab); // .wav: 24-bit with dither, so compare within 2^-20
    REQUIRE(file[0].size() == renders[0][0].size());
    for (std::size_t s = 0; s < segments.size(); ++s) {
        const int who = segments[s]["candidate"] == "low" ? 0 : 1;
        CHECK(who == int(s % 2));
        CHECK(segments[s]["start_s"].get<double>() == Approx(double(s)));
        // Away from the crossfades the file is the matched candidate itself.
        const auto from = std::size_t((double(s) + 0.05) * kRate), to = std::size_t((double(s) + 0.95) * kRate);
        double worst = 0;
        for (int c = 0; c < 2; ++c)
            for (std::size_t n = from; n < to; ++n)
                worst =
                    std::max(worst, std::fabs(double(file[std::size_t(c)][n]) - gains[who] * renders[who][std::size_t(c)][n]));
        CHECK(worst < 1e-5);
    }
    // At a boundary (1 s) both candidates weigh cos(pi/4) = sin(pi/4): equal power.
    const std::size_t boundary = std::size_t(kRate);
    for (std::size_t n = boundary - 2; n < boundary + 2; ++n) {
        const double wa = (n + 0.5 - (boundary - 480)) / 960.0; // fade position
        const double expected = std::cos(wa * std::numbers::pi / 2) * gains[0] * renders[0][0][n] +
                                std::sin(wa * std::numbers::pi / 2) * gains[1] * renders[1][0][n];
        CHECK(file[0][n] == Approx(expected).margin(1e-5));
    }
}

TEST_CASE("compare: band balance, harshness, correlation and low-end stability of known signals", "[compare][cli]") {
    TempDir dir;
    const auto frames = std::int64_t(8 * kRate);
    const std::string pass = dir.write("pass.yaml", chainGraph("g: {type: gain, gain: 0 dB}", "g"));
    const std::string invert = dir.write("invert.yaml", chainGraph("p: {type: polarity, right: 1}", "p"));

    // A 4 kHz tone, the same on both channels: all its energy in the 4 kHz band and in the
    // harshness band; through `invert` the channels are in anti-phase.
    // Expected in-band level: the analog 6th-order Butterworth edges of the band at the tone.
    auto inBand = [](double hz, double midbandHz) {
        const double lowHz = midbandHz / std::pow(10.0, 0.15), highHz = midbandHz * std::pow(10.0, 0.15);
        return -10 * std::log10(1 + std::pow(lowHz / hz, 12)) - 10 * std::log10(1 + std::pow(hz / highHz, 12));
    };
    const auto tone = test::sine(4000, 0.25, kRate, frames);
    const std::string toneFile = dir.file("tone.wav");
    writeWav(toneFile, {tone, tone});
    const Json json = compareJson(q(pass) + " " + q(invert) + " -i " + q(toneFile));
    for (const auto& c : json["candidates"]) {
        CHECK(c["band_4khz_db"].get<double>() == Approx(inBand(4000, 3981.07)).margin(0.03));
        CHECK(c["band_1khz_db"].get<double>() < -40);
        CHECK(c["band_16khz_db"].get<double>() < -40);
        CHECK(c["harshness_db"].get<double>() == Approx(0).margin(0.1));
        CHECK(c["crest_factor_db"].get<double>() == Approx(3.01).margin(0.02)); // a sine's peak / RMS
        CHECK(c["low_end_stability_lu"].is_null());                             // nothing below 120 Hz
    }
    CHECK(json["candidates"][0]["correlation_mean"].get<double>() == Approx(1).margin(1e-4));
    CHECK(json["candidates"][1]["correlation_mean"].get<double>() == Approx(-1).margin(1e-4));
    CHECK(json["candidates"][1]["correlation_min"].get<double>() == Approx(-1).margin(1e-4));

    // A 60 Hz bass that steps between two levels 10 dB apart every 4 s: its short-term loudness
    // spends about half of the time at each level, so its standard deviation is about 5 LU, while
    // a steady bass reads about 0; a 500 Hz tone reads no harshness.
    std::vector<float> stepped = test::sine(60, 0.5, kRate, 2 * frames), steady = test::sine(60, 0.5, kRate, 2 * frames);
    for (std::int64_t n = 0; n < 2 * frames; ++n)
        if ((n / std::int64_t(4 * kRate)) % 2) stepped[std::size_t(n)] *= float(std::pow(10.0, -10.0 / 20));
    const std::string steppedFile = dir.file("stepped.wav"), steadyFile = dir.file("steady.wav");
    writeWav(steppedFile, {stepped, stepped});
    writeWav(steadyFile, {steady, steady});
    const Json stepping = compareJson(q(pass) + " " + q(pass) + " -i " + q(steppedFile) + " --no-match");
    const Json still = compareJson(q(pass) + " " + q(pass) + " -i " + q(steadyFile) + " --no-match");
    CHECK(stepping["candidates"][0]["label"] == "pass");
    CHECK(stepping["candidates"][1]["label"] == "pass#2");
    CHECK(stepping["matched_to"] == "none");
    const double sd = stepping["candidates"][0]["low_end_stability_lu"].get<double>();
    CHECK(sd > 3.5);
    CHECK(sd < 5.5);
    CHECK(stepping["candidates"][0]["low_end_range_lu"].get<double>() == Approx(10).margin(1.0));
    CHECK(still["candidates"][0]["low_end_stability_lu"].get<double>() < 0.05);
    CHECK(still["candidates"][0]["band_63hz_db"].get<double>() == Approx(inBand(60, 63.0957)).margin(0.03));
    CHECK(still["candidates"][0]["harshness_db"].get<double>() < -60);
}

TEST_CASE("compare --through matches loudness after the playback model", "[compare][cli]") {
    TempDir dir;
    const std::string mix = dir.file("mix.wav");
    Planar x = steppedNoise(4, 0.02f, 0.02f); // quiet noise under a loud 100 Hz tone
    const auto bass = test::sine(100, 0.3, kRate, std::int64_t(x[0].size()));
    for (auto& channel : x)
        for (std::size_t n = 0; n < channel.size(); ++n) channel[n] += bass[n];
    writeWav(mix, x);
    const std::string bassy = dir.write("bassy.yaml", chainGraph("s: {type: lowshelf, freq: 200 Hz, gain: 12 dB}", "s"));
    const std::string flat = dir.write("flat.yaml", chainGraph("g: {type: gain, gain: 0 dB}", "g"));
    const std::string phone = dir.write("phone.yaml", "stagegraph: 1\ninputs: {in: {channels: 2}}\noutputs: {out: {channels: "
                                                      "1}}\nnodes: {m: {type: monosum}, hp: {type: highpass, freq: 400 "
                                                      "Hz, slope: 48}}\nconnections: [\"in -> m -> hp -> out\"]\n");
    const Json json = compareJson(q(bassy) + " " + q(flat) + " -i " + q(mix) + " --through " + q(phone));
    CHECK(json["through"] == phone);
    const double a = json["candidates"][0]["integrated_lufs"].get<double>();
    const double b = json["candidates"][1]["integrated_lufs"].get<double>();
    CHECK(std::fabs(a - b) < 0.1);
    CHECK(json["candidates"][0]["correlation_mean"].is_null()); // the phone is mono
    // Without the model the bass-heavy candidate is turned down far more, relative to the flat
    // one, than through the phone, which cannot play its bass.
    const Json direct = compareJson(q(bassy) + " " + q(flat) + " -i " + q(mix));
    auto spread = [](const Json& j) {
        return j["candidates"][0]["gain_db"].get<double>() - j["candidates"][1]["gain_db"].get<double>();
    };
    CHECK(spread(direct) < -6);
    CHECK(std::fabs(spread(json)) < 2);
    CHECK(json["candidates"][1]["gain_db"].get<double>() == Approx(0).margin(0.01)); // the quietest through the phone
}

TEST_CASE("compare: bad input is named, every graph error in one run, nothing written", "[compare][cli]") {
    TempDir dir;
    const std::string mix = dir.file("mix.wav");
    writeWav(mix, steppedNoise(1, 0.2f, 0.2f));
    const std::string good = dir.write("good.yaml", chainGraph("g: {type: gain, gain: 0 dB}", "g"));
    const std::string bad1 = dir.write("bad1.yaml", chainGraph("g: {type: gain, gain: 3 ms}", "g"));
    const std::string bad2 = dir.write("bad2.yaml", chainGraph("g: {type: gian}", "g"));
    auto run = [&](const std::string& arguments) { return test::runCli("compare " + arguments); };

    const auto errors = run(q(bad1) + " " + q(good) + " " + q(bad2) + " -i " + q(mix) + " --ab " + q(dir.file("ab.wav")));
    CHECK(errors.status == 2);
    CHECK(errors.err.find("bad1.yaml:4:") != std::string::npos);
    CHECK(errors.err.find("bad2.yaml:4:") != std::string::npos);
    CHECK(errors.err.find("error:") != std::string::npos);

    const auto missing = run(q(good) + " " + q(good) + " -i " + q(dir.file("nope.wav")));
    CHECK(missing.status == 1);
    CHECK(missing.err.find("nope.wav") != std::string::npos);
    CHECK(missing.err.find("stagegraph compare: error:") != std::string::npos);

    const std::string silence = dir.file("silence.wav");
    writeWav(silence, {std::vector<float>(48000, 0.0f), std::vector<float>(48000, 0.0f)});
    const auto silent = run(q(good) + " " + q(good) + " -i " + q(silence));
    CHECK(silent.status == 1);
    CHECK(silent.err.find("nothing to match") != std::string::npos);

    CHECK(run(q(good) + " -i " + q(mix) + " --null " + q(dir.file("n.wav"))).status == 2);               // one candidate
    CHECK(run(q(good) + " " + q(good) + " " + q(good) + " -i " + q(mix) + " --null x.wav").status == 2); // which two?
    CHECK(run(q(good) + " " + q(good) + " -i " + q(mix) + " --null " + q(dir.file("n.wav")) + " --null-pair good,zz").status ==
          2);
    CHECK(run(q(good) + " " + q(good) + " -i " + q(mix) + " --ab " + q(dir.file("a.xyz"))).status == 2);
    CHECK(run(q(good) + " " + q(good) + " -i " + q(mix) + " --level loud").status == 2);
    CHECK(run(q(good) + " " + q(good) + " -i " + q(mix) + " --level -14LUFS --no-match").status == 2);
    CHECK(run(q(good) + " " + q(good)).status == 2); // no input
    const std::string monoIn = dir.write("mono.yaml", "stagegraph: 1\ninputs: {in: {channels: 1}}\noutputs: {out: {channels: "
                                                      "1}}\nnodes: {g: {type: gain}}\nconnections: [\"in -> g -> out\"]\n");
    const auto through = run(q(good) + " " + q(good) + " -i " + q(mix) + " --through " + q(monoIn));
    CHECK(through.status == 2);
    CHECK(through.err.find("takes 1 channels") != std::string::npos);
    const auto entries = dir.list();
    for (const auto& name : entries) CHECK(name.find(".tmp") == std::string::npos);
    CHECK(std::find(entries.begin(), entries.end(), "ab.wav") == entries.end());
}

TEST_CASE("analyze --json gains the balance figures, the same as compare measures", "[compare][analyze][cli]") {
    TempDir dir;
    const std::string mix = dir.file("mix.wav");
    Planar x = steppedNoise(4, 0.2f, 0.05f);
    const auto bass = test::sine(80, 0.3, kRate, std::int64_t(x[0].size()));
    for (std::size_t n = 0; n < x[0].size(); ++n) x[1][n] += bass[n];
    writeWav(mix, x);
    const auto analyzed = test::runCli("analyze --json " + q(mix));
    REQUIRE(analyzed.status == 0);
    const Json a = Json::parse(analyzed.out)[0];
    for (const char* key :
         {"integrated_lufs", "loudness_range_lu", "true_peak_dbtp", "plr_db", "stereo_correlation", "crest_factor_db",
          "band_31_5hz_db", "band_16khz_db", "harshness_db", "low_end_stability_lu", "low_end_range_lu", "correlation_min"})
        CHECK(a.contains(key));
    const std::string pass = dir.write("pass.yaml", chainGraph("g: {type: gain, gain: 0 dB}", "g"));
    const Json c = compareJson(q(pass) + " -i " + q(mix))["candidates"][0];
    for (const char* key : {"band_31_5hz_db", "band_63hz_db", "band_1khz_db", "band_16khz_db", "harshness_db",
                            "low_end_stability_lu", "correlation_min", "integrated_lufs", "crest_factor_db"})
        CHECK(a[key].get<double>() == Approx(c[key].get<double>()).margin(0.01));
    // The bass sits in the 63 Hz band: it holds most of the energy there.
    CHECK(a["band_63hz_db"].get<double>() > a["band_1khz_db"].get<double>() + 10);
}
