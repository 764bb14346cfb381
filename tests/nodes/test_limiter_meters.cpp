// limiter: the ceiling holds on every honest meter. Hostile material at 44.1, 48 and 96 kHz is
// rendered through `limiter` at -1 dBTP by the stagegraph command into 24-bit and 16-bit
// (TPDF-dithered) WAV files, and each file's true peak is read by four independent meters:
//   libebur128 (in process, EBUR128_MODE_TRUE_PEAK), ffmpeg's ebur128 filter (peak=true),
//   `stagegraph analyze --oversampling 8`, and sox's very-high-quality resampler to 4x the rate
//   (`rate -v`, a near-ideal reconstruction) with the largest |sample| taken here.
// The first three must read at or below the ceiling, sox within 0.1 dB above it. Every reading
// is printed (STAGEGRAPH_PRINT_METERS=1) for the table in docs/nodes/notes/limiter.md.
#include "core/Buffer.h"
#include "host/io/AudioFile.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>
#include <ebur128.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

using namespace sg;
using namespace sg::test;

namespace {

constexpr double kCeiling = -1.0;
constexpr double kSeconds = 1.5;

using Planar2 = std::vector<std::vector<float>>;

std::uint32_t nextRandom(std::uint32_t& state) { return state = state * 1664525u + 1013904223u; }
double uniform(std::uint32_t& state) { return double(nextRandom(state) >> 8) / 16777216.0 * 2.0 - 1.0; }

/// Drums (kick with a falling pitch, snare of noise and a 190 Hz body, bright hats of
/// differentiated noise), a bass line of band-limited saws, sustained chords: a loud
/// music-like stereo mix scaled to a 0 dBFS sample peak, then `gainDb` over.
Planar2 musicLike(double rate, std::int64_t frames, double gainDb) {
    Planar2 x(2, std::vector<float>(std::size_t(frames), 0.0f));
    std::vector<double> l(std::size_t(frames), 0.0), r(std::size_t(frames), 0.0);
    std::uint32_t seed = 77;
    const double beat = 0.25; // seconds: 240 bpm sixteenths... eighths at 120
    double previousNoise = 0;
    for (std::int64_t n = 0; n < frames; ++n) {
        const double t = double(n) / rate;
        const double inBeat = std::fmod(t, 2 * beat), inHalf = std::fmod(t, beat);
        const int step = int(t / beat);
        double kick = 0, snare = 0, hat = 0;
        if (step % 2 == 0) { // kick: 150 -> 50 Hz
            const double phase = 2 * M_PI * (50 * inBeat + 100 * 0.03 * (1 - std::exp(-inBeat / 0.03)));
            kick = std::sin(phase) * std::exp(-inBeat / 0.12);
        } else {
            snare = (0.7 * uniform(seed) + 0.6 * std::sin(2 * M_PI * 190 * inHalf)) * std::exp(-inHalf / 0.06);
        }
        const double white = uniform(seed);
        const double bright = white - previousNoise; // first difference: energy up to fs/2
        previousNoise = white;
        hat = 0.35 * bright * std::exp(-std::fmod(t, beat / 2) / 0.015);
        double bass = 0;
        const double bassHz = (step / 4) % 2 ? 55.0 : 41.2;
        for (int k = 1; k * bassHz < 0.45 * rate && k <= 60; ++k)
            bass += std::sin(2 * M_PI * k * bassHz * t) / k * (k > 8 ? 0.5 : 1.0);
        double chord = 0;
        for (double hz : {261.63, 329.63, 392.0, 523.25})
            for (int k = 1; k <= 6; ++k) chord += 0.08 * std::sin(2 * M_PI * k * hz * t + k) / k;
        l[std::size_t(n)] = 0.9 * kick + 0.6 * snare + hat + 0.35 * bass + chord;
        r[std::size_t(n)] = 0.9 * kick + 0.5 * snare - 0.8 * hat + 0.35 * bass + 0.8 * chord;
    }
    double most = 0;
    for (std::int64_t n = 0; n < frames; ++n) most = std::max({most, std::fabs(l[std::size_t(n)]), std::fabs(r[std::size_t(n)])});
    const double scale = std::pow(10.0, gainDb / 20.0) / most;
    for (std::int64_t n = 0; n < frames; ++n) {
        x[0][std::size_t(n)] = float(l[std::size_t(n)] * scale);
        x[1][std::size_t(n)] = float(r[std::size_t(n)] * scale);
    }
    return x;
}

struct Signal {
    std::string name;
    Planar2 lanes;
};

std::vector<Signal> hostileSignals(double rate) {
    const auto frames = std::int64_t(kSeconds * rate);
    std::vector<Signal> out;
    auto square = [&](double hz, double amplitude, double offset) {
        std::vector<float> x(static_cast<std::size_t>(frames));
        for (std::int64_t n = 0; n < frames; ++n)
            x[std::size_t(n)] = std::fmod(double(n) * hz / rate + offset, 1.0) < 0.5 ? float(amplitude) : float(-amplitude);
        return x;
    };
    out.push_back({"full-scale square", {square(997, 1.0, 0), square(1499, 1.0, 0.25)}});
    Planar2 clipped{noise(frames, 10.0f, 11), noise(frames, 10.0f, 12)}; // +20 dB noise clipped at full scale
    for (auto& lane : clipped)
        for (float& v : lane) v = std::clamp(v, -1.0f, 1.0f);
    out.push_back({"clipped noise", clipped});
    out.push_back({"fs/4 sine 45 deg +20 dB",
                   {sine(rate / 4, 10.0, rate, frames, M_PI / 4), sine(rate / 4, 10.0, rate, frames, -M_PI / 4)}});
    out.push_back(
        {"0.45 fs sine +20 dB", {sine(0.45 * rate, 10.0, rate, frames, 0.3), sine(0.45 * rate + 7, 10.0, rate, frames, 1.1)}});
    out.push_back({"music-like +20 dB", musicLike(rate, frames, 20.0)});
    return out;
}

void writeWav32(const std::string& path, const Planar2& x, double rate) {
    io::AudioFileWriter writer;
    REQUIRE(writer.open(path, io::OutputFormat::Wav32f, rate, int(x.size())) == "");
    AudioBuffer buffer(int(x.size()), int(x[0].size()));
    for (std::size_t c = 0; c < x.size(); ++c) std::copy(x[c].begin(), x[c].end(), buffer.channel(int(c)));
    REQUIRE(writer.write(buffer.view()) == "");
    REQUIRE(writer.commit() == "");
}

Planar2 readAudio(const std::string& path, double& rate) {
    io::AudioFileReader reader;
    REQUIRE(reader.open(path) == "");
    rate = reader.sampleRate();
    AudioBuffer buffer(reader.channels(), int(reader.frames()));
    REQUIRE(reader.read(buffer.view()) == reader.frames());
    Planar2 x(std::size_t(reader.channels()));
    for (int c = 0; c < reader.channels(); ++c) x[std::size_t(c)].assign(buffer.channel(c), buffer.channel(c) + reader.frames());
    return x;
}

double toDb(double linear) { return linear > 0 ? 20.0 * std::log10(linear) : -HUGE_VAL; }

double libebur128Peak(const std::string& path) {
    double rate = 0;
    const Planar2 x = readAudio(path, rate);
    ebur128_state* st = ebur128_init(unsigned(x.size()), unsigned(rate), EBUR128_MODE_TRUE_PEAK);
    REQUIRE(st != nullptr);
    std::vector<float> interleaved(x.size() * x[0].size());
    for (std::size_t n = 0; n < x[0].size(); ++n)
        for (std::size_t c = 0; c < x.size(); ++c) interleaved[n * x.size() + c] = x[c][n];
    REQUIRE(ebur128_add_frames_float(st, interleaved.data(), x[0].size()) == EBUR128_SUCCESS);
    double peak = 0;
    for (unsigned c = 0; c < x.size(); ++c) {
        double p = 0;
        REQUIRE(ebur128_true_peak(st, c, &p) == EBUR128_SUCCESS);
        peak = std::max(peak, p);
    }
    ebur128_destroy(&st);
    return toDb(peak);
}

/// ffmpeg's ebur128 filter: the per-channel true peaks it publishes as frame metadata (linear,
/// "%f", running maxima), the largest of the last frame's values, in dB.
double ffmpegPeak(const std::string& path) {
    const CommandResult r = runShell("ffmpeg -hide_banner -nostats -i '" + path +
                                     "' -af ebur128=peak=true:metadata=1,ametadata=mode=print:file=- -f null - 2>/dev/null");
    REQUIRE(r.status == 0);
    const std::regex line(R"(lavfi\.r128\.true_peaks_ch(\d+)=(-?[0-9.]+|-inf))");
    double ch0 = -HUGE_VAL, ch1 = -HUGE_VAL;
    for (std::sregex_iterator it(r.out.begin(), r.out.end(), line), end; it != end; ++it) {
        const double v = (*it)[2].str() == "-inf" ? -HUGE_VAL : toDb(std::stod((*it)[2].str())); // linear
        ((*it)[1].str() == "0" ? ch0 : ch1) = v; // running maximum: the last value is the file's
    }
    REQUIRE(std::isfinite(ch0));
    return std::max(ch0, ch1);
}

double analyzePeak(const std::string& path) {
    const CommandResult r = runCli("analyze --json --oversampling 8 '" + path + "'");
    REQUIRE(r.status == 0);
    const std::regex key(R"("true_peak_dbtp"\s*:\s*(-?[0-9.eE+-]+))");
    std::smatch m;
    REQUIRE(std::regex_search(r.out, m, key));
    return std::stod(m[1].str());
}

double soxPeak(const std::string& path, double rate, const TempDir& dir) {
    const std::string raw = dir.file("sox.f32");
    const CommandResult r = runShell("sox -V1 '" + path + "' -t f32 '" + raw + "' rate -v " + std::to_string(int(4 * rate)));
    REQUIRE(r.status == 0);
    std::ifstream in(raw, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(bytes.size() >= sizeof(float));
    std::vector<float> samples(bytes.size() / sizeof(float));
    std::memcpy(samples.data(), bytes.data(), samples.size() * sizeof(float));
    double peak = 0;
    for (float v : samples) peak = std::max(peak, double(std::fabs(v)));
    return toDb(peak);
}

} // namespace

TEST_CASE("limiter: the -1 dBTP ceiling holds on libebur128, ffmpeg, our 8x meter and sox 4x, every rate and encoding",
          "[nodes][limiter][meters]") {
    REQUIRE(runShell("command -v ffmpeg && command -v sox").status == 0);
    TempDir dir;
    const std::string graph =
        dir.write("limit.yaml", "stagegraph: 1\ninputs:\n  in: {channels: 2}\noutputs:\n  out: {channels: 2}\n"
                                "nodes:\n  lim: {type: limiter, ceiling: -1 dBTP, lookahead: 5 ms, release: 50 ms}\n"
                                "connections:\n  - in -> lim -> out\n");
    const bool print = std::getenv("STAGEGRAPH_PRINT_METERS") != nullptr;
    if (print)
        std::printf("| rate | signal | encoding | libebur128 | ffmpeg | analyze 8x | sox 4x |\n|---|---|---|---|---|---|---|\n");
    double worst[4] = {-HUGE_VAL, -HUGE_VAL, -HUGE_VAL, -HUGE_VAL};
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        for (const Signal& s : hostileSignals(rate)) {
            const std::string input = dir.file("in.wav");
            writeWav32(input, s.lanes, rate);
            for (const char* format : {"wav24", "wav16"}) {
                const std::string output = dir.file(std::string("out-") + format + ".wav");
                const CommandResult r =
                    runCli("render '" + graph + "' -i '" + input + "' -o '" + output + "' --format " + format);
                INFO(r.out << r.err);
                REQUIRE(r.status == 0);
                const double readings[4] = {libebur128Peak(output), ffmpegPeak(output), analyzePeak(output),
                                            soxPeak(output, rate, dir)};
                for (int m = 0; m < 4; ++m) worst[m] = std::max(worst[m], readings[m]);
                if (print)
                    std::printf("| %.1f kHz | %s | %s | %.3f | %.2f | %.3f | %.3f |\n", rate / 1000, s.name.c_str(), format,
                                readings[0] - kCeiling, readings[1] - kCeiling, readings[2] - kCeiling, readings[3] - kCeiling);
                CAPTURE(rate, s.name, format, readings[0], readings[1], readings[2], readings[3]);
                CHECK(readings[0] <= kCeiling);
                CHECK(readings[1] <= kCeiling);
                CHECK(readings[2] <= kCeiling);
                CHECK(readings[3] <= kCeiling + 0.1);
                // It limits no more than it must: the loudest moment comes within 1 dB of the ceiling.
                CHECK(readings[3] >= kCeiling - 1.0);
            }
        }
    }
    if (print)
        std::printf("worst readings minus ceiling: libebur128 %.3f, ffmpeg %.2f, analyze 8x %.3f, sox 4x %.3f dB\n",
                    worst[0] - kCeiling, worst[1] - kCeiling, worst[2] - kCeiling, worst[3] - kCeiling);
}
