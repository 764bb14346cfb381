// `stagegraph analyze`: figures of files written here (against the signals' known levels and
// against the meter run directly), the JSON keys and nulls, the table, an unreadable file
// named with exit 1 while the good files are still reported, and usage errors. Runs
// sg::cli::runAnalyze in-process with stdout and stderr captured.
#include "host/cli/Analyze.h"
#include "host/io/AudioFile.h"
#include "nodes/meters/LoudnessMeter.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <limits>
#include <numbers>
#include <optional>
#include <sstream>
#include <unistd.h>

using namespace sg;
using sg::test::TempDir;

namespace {

using Planar = std::vector<std::vector<float>>;

struct Captured {
    int status = -1;
    std::string out, err;
};

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Runs `stagegraph analyze ARGS` in this process with stdout and stderr sent to files.
Captured analyze(const std::vector<std::string>& args) {
    TempDir capture;
    const std::string outPath = capture.file("out"), errPath = capture.file("err");
    std::fflush(stdout);
    std::fflush(stderr);
    const int savedOut = ::dup(1), savedErr = ::dup(2);
    const int outFd = ::open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int errFd = ::open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(outFd, 1);
    ::dup2(errFd, 2);
    Captured result;
    result.status = sg::cli::runAnalyze(args);
    std::fflush(stdout);
    std::fflush(stderr);
    ::dup2(savedOut, 1);
    ::dup2(savedErr, 2);
    ::close(outFd);
    ::close(errFd);
    ::close(savedOut);
    ::close(savedErr);
    result.out = slurp(outPath);
    result.err = slurp(errPath);
    return result;
}

/// Writes `signal` as a 32-bit float WAV (exact samples).
std::string writeWav(const TempDir& dir, const std::string& name, const Planar& signal, double rate) {
    const std::string path = dir.file(name);
    io::AudioFileWriter writer;
    REQUIRE(writer.open(path, io::OutputFormat::Wav32f, rate, int(signal.size())) == "");
    const int frames = int(signal[0].size());
    AudioBuffer buffer(int(signal.size()), frames);
    for (std::size_t c = 0; c < signal.size(); ++c) std::copy(signal[c].begin(), signal[c].end(), buffer.channel(int(c)));
    REQUIRE(writer.write(buffer.view()) == "");
    REQUIRE(writer.commit() == "");
    return path;
}

std::vector<float> sineAt(double dbfs, double hz, double rate, double seconds, double offset = 0) {
    std::vector<float> x(static_cast<std::size_t>(std::llround(seconds * rate)));
    const double a = std::pow(10.0, dbfs / 20);
    for (std::size_t n = 0; n < x.size(); ++n) x[n] = float(offset + a * std::sin(2 * std::numbers::pi * hz * double(n) / rate));
    return x;
}

/// The objects of a JSON array printed one per line.
std::vector<std::string> jsonObjects(const std::string& json) {
    std::vector<std::string> objects;
    std::istringstream lines(json);
    std::string line;
    while (std::getline(lines, line)) {
        const auto open = line.find('{');
        const auto close = line.rfind('}');
        if (open != std::string::npos && close != std::string::npos) objects.push_back(line.substr(open, close - open + 1));
    }
    return objects;
}

/// A number of a flat JSON object; nullopt for null. Fails the test if the key is missing.
std::optional<double> jsonValue(const std::string& object, const std::string& key) {
    const std::string quoted = "\"" + key + "\": ";
    const auto at = object.find(quoted);
    INFO(object);
    REQUIRE(at != std::string::npos);
    const std::string rest = object.substr(at + quoted.size());
    if (rest.rfind("null", 0) == 0) return std::nullopt;
    std::size_t used = 0;
    const double value = std::stod(rest, &used);
    REQUIRE(used > 0);
    return value;
}

std::string jsonText(const std::string& object, const std::string& key) {
    const std::string quoted = "\"" + key + "\": \"";
    const auto at = object.find(quoted);
    REQUIRE(at != std::string::npos);
    const auto end = object.find('"', at + quoted.size());
    return object.substr(at + quoted.size(), end - at - quoted.size());
}

const char* kKeys[] = {"file",
                       "sample_rate",
                       "channels",
                       "duration_s",
                       "integrated_lufs",
                       "loudness_range_lu",
                       "true_peak_dbtp",
                       "sample_peak_dbfs",
                       "max_momentary_lufs",
                       "max_short_term_lufs",
                       "plr_db",
                       "dc_offset_dbfs",
                       "stereo_correlation",
                       "crest_factor_db"};

} // namespace

TEST_CASE("analyze: --json figures of known signals", "[analyze]") {
    TempDir dir;
    const std::vector<float> tone = sineAt(-23, 1000, 48000, 10);
    const std::string stereo = writeWav(dir, "stereo.wav", {tone, tone}, 48000);
    const std::vector<float> inverted = [&] {
        std::vector<float> x = tone;
        for (float& v : x) v = -v;
        return x;
    }();
    const std::string antiphase = writeWav(dir, "antiphase.wav", {tone, inverted}, 48000);
    const std::string mono = writeWav(dir, "mono.wav", {sineAt(-18, 1000, 44100, 6, 0.1)}, 44100);
    const std::string silent =
        writeWav(dir, "silent.wav", {std::vector<float>(48000, 0.0f), std::vector<float>(48000, 0.0f)}, 48000);

    const Captured r = analyze({"--json", stereo, antiphase, mono, silent});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out.front() == '[');
    CHECK(r.out.substr(r.out.size() - 2) == "]\n");
    const auto objects = jsonObjects(r.out);
    REQUIRE(objects.size() == 4);
    for (const std::string& o : objects)
        for (const char* key : kKeys) CHECK(o.find(std::string("\"") + key + "\": ") != std::string::npos);

    // A stereo 1 kHz sine at -23 dBFS: EBU Tech 3341 case 1.
    const std::string& s = objects[0];
    CHECK(jsonText(s, "file") == stereo);
    CHECK(jsonValue(s, "sample_rate") == 48000);
    CHECK(jsonValue(s, "channels") == 2);
    CHECK(*jsonValue(s, "duration_s") == Approx(10.0).margin(1e-6));
    CHECK(*jsonValue(s, "integrated_lufs") == Approx(-23).margin(0.1));
    CHECK(*jsonValue(s, "loudness_range_lu") == Approx(0).margin(0.05));
    CHECK(*jsonValue(s, "sample_peak_dbfs") == Approx(-23).margin(0.01));
    CHECK(*jsonValue(s, "true_peak_dbtp") == Approx(-23).margin(0.05));
    CHECK(*jsonValue(s, "max_momentary_lufs") == Approx(-23).margin(0.1));
    CHECK(*jsonValue(s, "max_short_term_lufs") == Approx(-23).margin(0.1));
    CHECK(*jsonValue(s, "plr_db") == Approx(*jsonValue(s, "true_peak_dbtp") - *jsonValue(s, "integrated_lufs")).margin(0.002));
    CHECK(*jsonValue(s, "crest_factor_db") == Approx(20 * std::log10(std::sqrt(2.0))).margin(0.01)); // a sine: 3.01 dB
    CHECK(*jsonValue(s, "stereo_correlation") == Approx(1.0).margin(1e-4));
    CHECK(*jsonValue(s, "dc_offset_dbfs") < -100);

    CHECK(*jsonValue(objects[1], "stereo_correlation") == Approx(-1.0).margin(1e-4));
    // Anti-phase L and R have the same loudness as in-phase ones: BS.1770 sums channel powers.
    CHECK(*jsonValue(objects[1], "integrated_lufs") == Approx(*jsonValue(s, "integrated_lufs")).margin(0.001));

    // Mono at 44.1 kHz: 3.01 LU below the same sine in stereo at -18 dBFS, a DC offset of 0.1.
    const std::string& m = objects[2];
    CHECK(jsonValue(m, "sample_rate") == 44100);
    CHECK(jsonValue(m, "channels") == 1);
    CHECK(*jsonValue(m, "integrated_lufs") == Approx(-18 - 3.01).margin(0.1));
    CHECK(*jsonValue(m, "dc_offset_dbfs") == Approx(-20).margin(0.01));
    CHECK_FALSE(jsonValue(m, "stereo_correlation").has_value());

    // Silence: every level is -inf, written as null; the range is 0.
    const std::string& z = objects[3];
    CHECK_FALSE(jsonValue(z, "integrated_lufs").has_value());
    CHECK_FALSE(jsonValue(z, "true_peak_dbtp").has_value());
    CHECK_FALSE(jsonValue(z, "sample_peak_dbfs").has_value());
    CHECK_FALSE(jsonValue(z, "max_momentary_lufs").has_value());
    CHECK_FALSE(jsonValue(z, "plr_db").has_value());
    CHECK_FALSE(jsonValue(z, "crest_factor_db").has_value());
    CHECK_FALSE(jsonValue(z, "stereo_correlation").has_value());
    CHECK(jsonValue(z, "loudness_range_lu") == 0);
    CHECK(r.out.find("inf") == std::string::npos);
    CHECK(r.out.find("nan") == std::string::npos);
}

TEST_CASE("analyze: figures equal the meter's on the same samples, both oversampling factors", "[analyze]") {
    TempDir dir;
    Planar x{sg::test::noise(48000 * 8, 0.3f, 3), sg::test::noise(48000 * 8, 0.2f, 4)};
    const std::string path = writeWav(dir, "noise.wav", x, 48000);
    for (int oversampling : {4, 8}) {
        CAPTURE(oversampling);
        sg::cli::FileAnalysis a;
        sg::cli::AnalyzeOptions options;
        options.truePeakOversampling = oversampling;
        options.showProgress = false;
        REQUIRE(sg::cli::analyzeFile(path, options, a) == "");
        LoudnessMeter meter;
        LoudnessOptions meterOptions;
        meterOptions.truePeakOversampling = oversampling;
        REQUIRE(meter.prepare(48000, 2, meterOptions) == "");
        const float* pointers[2] = {x[0].data(), x[1].data()};
        meter.process(pointers, int(x[0].size()));
        CHECK(a.frames == std::int64_t(x[0].size()));
        CHECK(a.integratedLufs == meter.integratedLufs());
        CHECK(a.loudnessRangeLu == meter.loudnessRangeLu());
        CHECK(a.truePeakDbtp == meter.truePeakDbtp());
        CHECK(a.samplePeakDbfs == meter.samplePeakDbfs());
        CHECK(a.maxMomentaryLufs == meter.maxMomentaryLufs());
        CHECK(a.maxShortTermLufs == meter.maxShortTermLufs());
        CHECK(a.plrDb == meter.plrDb());
        CHECK(std::fabs(a.stereoCorrelation) < 0.02); // independent noises
    }
    const Captured r8 = analyze({"--json", "--oversampling", "8", path});
    REQUIRE(r8.status == 0);
    const Captured r4 = analyze({"--json", path});
    REQUIRE(r4.status == 0);
    CHECK(jsonValue(jsonObjects(r8.out).at(0), "integrated_lufs") == jsonValue(jsonObjects(r4.out).at(0), "integrated_lufs"));
}

TEST_CASE("analyze: an unreadable file is named, the others still reported, exit 1", "[analyze]") {
    TempDir dir;
    const std::vector<float> tone = sineAt(-20, 1000, 48000, 4);
    const std::string good = writeWav(dir, "good.wav", {tone, tone}, 48000);
    const std::string garbage = dir.write("garbage.wav", "this is not audio, just text pretending to be a WAV file\n");
    const std::string missing = dir.file("missing.flac");

    const Captured table = analyze({garbage, good, missing});
    INFO(table.out << table.err);
    CHECK(table.status == 1);
    CHECK(table.err.find(garbage) != std::string::npos);
    CHECK(table.err.find(missing) != std::string::npos);
    CHECK(table.out.find(good) != std::string::npos);
    CHECK(table.out.find(garbage) == std::string::npos);

    const Captured json = analyze({"--json", garbage, good});
    INFO(json.out << json.err);
    CHECK(json.status == 1);
    CHECK(json.err.find(garbage) != std::string::npos);
    const auto objects = jsonObjects(json.out);
    REQUIRE(objects.size() == 1);
    CHECK(jsonText(objects[0], "file") == good);
    CHECK(*jsonValue(objects[0], "integrated_lufs") == Approx(-20).margin(0.1));

    const Captured none = analyze({"--json", garbage});
    CHECK(none.status == 1);
    CHECK(none.out == "[]\n"); // still valid JSON
}

TEST_CASE("analyze: the table", "[analyze]") {
    TempDir dir;
    const std::vector<float> tone = sineAt(-23, 1000, 48000, 5);
    const std::string a = writeWav(dir, "a.wav", {tone, tone}, 48000);
    const std::string b = writeWav(dir, "a-much-longer-name.wav", {std::vector<float>(4800, 0.0f)}, 48000);
    const Captured r = analyze({a, b});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    std::vector<std::string> lines;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line) && !line.empty();) lines.push_back(line);
    REQUIRE(lines.size() == 3); // header + one row per file; then the balance table
    std::vector<std::string> balance;
    for (std::string line; std::getline(in, line);) balance.push_back(line);
    REQUIRE(balance.size() == 4); // title, header, one row per file
    CHECK(balance[1].find("1 kHz") != std::string::npos);
    CHECK(balance[2].rfind(a, 0) == 0);
    CHECK(balance[3].rfind(b, 0) == 0);
    CHECK(balance[2].find("  -0.1 dB") != std::string::npos); // the tone's band: its Butterworth edges
    CHECK(lines[0].rfind("file", 0) == 0);
    CHECK(lines[0].find("integrated") != std::string::npos);
    CHECK(lines[0].find("true peak") != std::string::npos);
    CHECK(lines[1].rfind(a, 0) == 0);
    CHECK(lines[2].rfind(b, 0) == 0);
    CHECK(lines[1].find("-23.0 LUFS") != std::string::npos);
    CHECK(lines[2].find("-inf LUFS") != std::string::npos);
    // Aligned: every row's integrated figure ends in the header's column.
    const auto column = lines[0].find("integrated") + std::string("integrated").size();
    CHECK(lines[1].find("LUFS") + 4 == column);
    CHECK(lines[2].find("LUFS") + 4 == column);
}

TEST_CASE("analyze: usage", "[analyze]") {
    const Captured help = analyze({"--help"});
    CHECK(help.status == 0);
    CHECK(help.out.rfind("usage: stagegraph analyze", 0) == 0);
    CHECK(help.out.find("null") != std::string::npos); // documents how -inf is written
    CHECK(analyze({}).status == 2);
    CHECK(analyze({"--oversampling", "2", "x.wav"}).status == 2);
    CHECK(analyze({"--oversampling"}).status == 2);
    const Captured unknown = analyze({"--loud", "x.wav"});
    CHECK(unknown.status == 2);
    CHECK(unknown.err.find("--loud") != std::string::npos);
}

// ---- --figures loudness ---------------------------------------------------------------------------

namespace {

/// Two doubles that are the same figure: equal bits, or both NaN.
bool sameFigure(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

/// Every figure the loudness-only analysis reports, equal between `loud` and `all`.
void checkSameLoudnessFigures(const sg::cli::FileAnalysis& loud, const sg::cli::FileAnalysis& all) {
    CHECK(loud.figures == sg::cli::AnalyzeFigures::Loudness);
    CHECK(all.figures == sg::cli::AnalyzeFigures::All);
    CHECK(loud.frames == all.frames);
    CHECK(loud.channels == all.channels);
    CHECK(loud.durationSeconds == all.durationSeconds);
    CHECK(loud.shorterThanLoudnessBlock == all.shorterThanLoudnessBlock);
    CHECK(sameFigure(loud.integratedLufs, all.integratedLufs));
    CHECK(sameFigure(loud.loudnessRangeLu, all.loudnessRangeLu));
    CHECK(sameFigure(loud.truePeakDbtp, all.truePeakDbtp));
    CHECK(sameFigure(loud.samplePeakDbfs, all.samplePeakDbfs));
    CHECK(sameFigure(loud.maxMomentaryLufs, all.maxMomentaryLufs));
    CHECK(sameFigure(loud.maxShortTermLufs, all.maxShortTermLufs));
    CHECK(sameFigure(loud.plrDb, all.plrDb));
    CHECK(sameFigure(loud.dcOffsetDbfs, all.dcOffsetDbfs));
    CHECK(sameFigure(loud.stereoCorrelation, all.stereoCorrelation));
    CHECK(sameFigure(loud.crestFactorDb, all.crestFactorDb));
}

/// The signal in a buffer, for analyzeSignal().
AudioBuffer bufferOf(const Planar& signal) {
    AudioBuffer buffer(int(signal.size()), int(signal[0].size()));
    for (std::size_t c = 0; c < signal.size(); ++c) std::copy(signal[c].begin(), signal[c].end(), buffer.channel(int(c)));
    return buffer;
}

/// White noise `overDb` over full scale, clipped to +-1.
std::vector<float> clippedNoise(int frames, double overDb, std::uint32_t seed) {
    std::vector<float> x = sg::test::noise(frames, float(std::pow(10.0, overDb / 20)), seed);
    for (float& v : x) v = std::clamp(v, -1.0f, 1.0f);
    return x;
}

} // namespace

TEST_CASE("analyze --figures loudness: the same figures as the full analysis, bit for bit, on hostile material",
          "[analyze][analyze-loudness]") {
    struct Case {
        const char* name;
        double rate;
        Planar signal;
        int oversampling;
    };
    const int n48 = 48000 * 5 + 1234, n44 = 44100 * 4 + 77;
    std::vector<Case> cases;
    cases.push_back({"clipped noise +20 dB, stereo", 48000, {clippedNoise(n48, 20, 1), clippedNoise(n48, 20, 2)}, 4});
    cases.push_back({"0.49 fs tone over quiet noise, 44.1 kHz",
                     44100,
                     {sineAt(-0.5, 0.49 * 44100, 44100, 4.2), sineAt(-3, 0.4999 * 44100, 44100, 4.2, 0.01)},
                     4});
    cases.push_back({"mono near-Nyquist, 8x", 48000, {sineAt(-1, 23900, 48000, 3.3)}, 8});
    Planar surround;
    for (int c = 0; c < 6; ++c) surround.push_back(clippedNoise(n44, c == 3 ? 6 : -6.0 * c, std::uint32_t(10 + c)));
    cases.push_back({"5.1 at 44.1 kHz", 44100, surround, 4});
    cases.push_back({"silence", 48000, {std::vector<float>(48000 * 2, 0.0f), std::vector<float>(48000 * 2, 0.0f)}, 4});
    cases.push_back({"shorter than 400 ms", 48000, {sineAt(-6, 997, 48000, 0.25), sineAt(-9, 1500, 48000, 0.25)}, 4});
    cases.push_back({"one frame", 44100, {std::vector<float>(1, 0.5f)}, 4});
    Planar offset{sineAt(-20, 50, 48000, 2.5, 0.25), sineAt(-20, 50, 48000, 2.5, -0.25)};
    cases.push_back({"DC offset, anti-phase", 48000, offset, 4});
    std::vector<float> denormal(48000);
    for (std::size_t n = 0; n < denormal.size(); ++n) denormal[n] = n % 3 ? 1e-40f : -3e-39f;
    cases.push_back({"denormal samples", 48000, {denormal, sineAt(-30, 440, 48000, 1.0)}, 4});
    for (const Case& c : cases) {
        CAPTURE(c.name);
        const AudioBuffer buffer = bufferOf(c.signal);
        const AudioView view = buffer.view();
        std::vector<const float*> pointers;
        for (const auto& channel : c.signal) pointers.push_back(channel.data());
        sg::cli::AnalyzeOptions options;
        options.showProgress = false;
        options.truePeakOversampling = c.oversampling;
        sg::cli::FileAnalysis all, loud;
        REQUIRE(sg::cli::analyzeSignal(view, c.rate, options, all) == "");
        options.figures = sg::cli::AnalyzeFigures::Loudness;
        REQUIRE(sg::cli::analyzeSignal(view, c.rate, options, loud) == "");
        checkSameLoudnessFigures(loud, all);
        // And the one-thread meter on the whole signal in one call (an independent cut).
        LoudnessMeter meter;
        LoudnessOptions meterOptions;
        meterOptions.truePeakOversampling = c.oversampling;
        REQUIRE(meter.prepare(c.rate, view.channels, meterOptions) == "");
        meter.process(pointers.data(), view.frames);
        CHECK(sameFigure(loud.truePeakDbtp, meter.truePeakDbtp()));
        CHECK(sameFigure(loud.samplePeakDbfs, meter.samplePeakDbfs()));
        CHECK(sameFigure(loud.loudnessRangeLu, meter.loudnessRangeLu()));
        CHECK(sameFigure(loud.maxShortTermLufs, meter.maxShortTermLufs()));
        if (!loud.shorterThanLoudnessBlock) CHECK(sameFigure(loud.integratedLufs, meter.integratedLufs()));
        // The JSON: the same text up to the balance keys, which are left out.
        const std::string jsonAll = sg::cli::analysisJson(all), jsonLoud = sg::cli::analysisJson(loud);
        const auto cut = jsonAll.find(", \"band_31_5hz_db\"");
        REQUIRE(cut != std::string::npos);
        CHECK(jsonLoud == jsonAll.substr(0, cut) + "}");
    }
}

TEST_CASE("analyze --figures loudness: DC offset, crest factor and correlation against their formulas",
          "[analyze][analyze-loudness]") {
    // L = 0.25 + 0.1 sin, R = -L: DC 0.25 (-12.04 dBFS), correlation -1, crest factor from the
    // exact mean square 0.25^2 + 0.1^2 / 2 over whole periods.
    const double rate = 48000;
    Planar x{sineAt(-20, 100, rate, 3.0, 0.25), {}};
    for (float v : x[0]) x[1].push_back(-v);
    const AudioBuffer buffer = bufferOf(x);
    sg::cli::AnalyzeOptions options;
    options.showProgress = false;
    options.figures = sg::cli::AnalyzeFigures::Loudness;
    sg::cli::FileAnalysis a;
    REQUIRE(sg::cli::analyzeSignal(buffer.view(), rate, options, a) == "");
    CHECK(a.dcOffsetDbfs == Approx(20 * std::log10(0.25)).margin(1e-4));
    CHECK(a.stereoCorrelation == Approx(-1).margin(1e-9));
    CHECK(a.crestFactorDb == Approx(20 * std::log10(0.35) - 10 * std::log10(0.0625 + 0.005)).margin(1e-3));
    CHECK(a.samplePeakDbfs == Approx(20 * std::log10(0.35)).margin(1e-4));
}

TEST_CASE("analyze --figures loudness: the command line", "[analyze][analyze-loudness]") {
    TempDir dir;
    const std::string tone = writeWav(dir, "tone.wav", {sineAt(-20, 997, 44100, 3), sineAt(-26, 997, 44100, 3)}, 44100);
    const std::string quiet = writeWav(dir, "quiet.wav", {std::vector<float>(48000, 0.0f)}, 48000);
    const Captured r = analyze({"--json", "--figures", "loudness", tone, dir.file("missing.wav"), quiet});
    CHECK(r.status == 1); // the missing file, named; the others still reported
    CHECK(r.err.find("missing.wav") != std::string::npos);
    const auto objects = jsonObjects(r.out);
    REQUIRE(objects.size() == 2);
    for (const std::string& object : objects) {
        for (const char* key : kKeys) CHECK(object.find(std::string("\"") + key + "\"") != std::string::npos);
        CHECK(object.find("band_") == std::string::npos);
        CHECK(object.find("harshness") == std::string::npos);
        CHECK(object.find("low_end") == std::string::npos);
        CHECK(object.find("correlation_min") == std::string::npos);
    }
    // -20 dBFS 997 Hz in L and -26 in R: the full analysis's values.
    const Captured full = analyze({"--json", tone});
    REQUIRE(full.status == 0);
    for (const char* key : kKeys)
        if (std::string(key) != "file") CHECK(jsonValue(objects[0], key) == jsonValue(jsonObjects(full.out).at(0), key));
    CHECK_FALSE(jsonValue(objects[1], "integrated_lufs").has_value()); // silence: null
    CHECK_FALSE(jsonValue(objects[1], "true_peak_dbtp").has_value());

    const Captured table = analyze({"--figures", "loudness", tone});
    CHECK(table.status == 0);
    CHECK(table.out.find("tone.wav") != std::string::npos);
    CHECK(table.out.find("band balance") == std::string::npos);
    CHECK(analyze({"--figures", "all", tone}).out.find("band balance") != std::string::npos);

    const Captured bad = analyze({"--figures", "bands", tone});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("--figures") != std::string::npos);
    const Captured html = analyze({"--figures", "loudness", "--html", dir.file("r.html"), tone});
    CHECK(html.status == 2);
    CHECK(html.err.find("--html") != std::string::npos);
    CHECK(analyze({"--help"}).out.find("--figures") != std::string::npos);
}

TEST_CASE("analyze: non-finite samples are named with their channel in both modes, exit 1", "[analyze][analyze-loudness]") {
    TempDir dir;
    Planar x{sg::test::noise(48000 * 3, 0.3f, 5), sg::test::noise(48000 * 3, 0.3f, 6)};
    x[1][100000] = std::numeric_limits<float>::infinity();
    const std::string path = writeWav(dir, "inf.wav", x, 48000);
    for (const char* figures : {"all", "loudness"}) {
        CAPTURE(figures);
        const Captured r = analyze({"--json", "--figures", figures, path});
        CHECK(r.status == 1);
        CHECK(r.err.find("inf.wav") != std::string::npos);
        CHECK(r.err.find("non-finite samples (NaN or infinity) in channel 2") != std::string::npos);
    }
}

TEST_CASE("analyze: the per-channel sums do not depend on how the stream is cut", "[analyze][analyze-loudness]") {
    Planar x{clippedNoise(10007, 10, 7), clippedNoise(10007, -10, 8)};
    const auto sumsOf = [&](const std::vector<int>& cuts) {
        sg::cli::ChannelSums sums;
        sums.prepare(2);
        std::size_t at = 0;
        for (std::size_t i = 0; at < x[0].size(); ++i) {
            const int n = int(std::min<std::size_t>(std::size_t(cuts[i % cuts.size()]), x[0].size() - at));
            const float* pointers[2] = {x[0].data() + at, x[1].data() + at};
            sums.add(pointers, n);
            at += std::size_t(n);
        }
        return sums;
    };
    const sg::cli::ChannelSums whole = sumsOf({10007});
    long double s[2] = {}, q[2] = {}, lr = 0; // the formula, in long double
    for (std::size_t n = 0; n < x[0].size(); ++n) {
        for (int c = 0; c < 2; ++c) {
            s[c] += x[std::size_t(c)][n];
            q[c] += (long double)x[std::size_t(c)][n] * x[std::size_t(c)][n];
        }
        lr += (long double)x[0][n] * x[1][n];
    }
    for (int c = 0; c < 2; ++c) {
        CHECK(whole.sum(c) == Approx(double(s[c])).epsilon(1e-12).margin(1e-9));
        CHECK(whole.squares(c) == Approx(double(q[c])).epsilon(1e-12));
    }
    CHECK(whole.cross() == Approx(double(lr)).epsilon(1e-10).margin(1e-9));
    for (const std::vector<int>& cuts : {std::vector<int>{1}, {3, 5, 7}, {4096}, {4800, 1}, {2, 8192}}) {
        const sg::cli::ChannelSums cut = sumsOf(cuts);
        for (int c = 0; c < 2; ++c) {
            CHECK(cut.sum(c) == whole.sum(c));
            CHECK(cut.squares(c) == whole.squares(c));
        }
        CHECK(cut.cross() == whole.cross());
        CHECK(cut.nonFiniteChannel() == -1);
    }
}
