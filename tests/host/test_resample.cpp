// Resampling (host/io/Resampler.h, render's input resampling and --output-rate): measured against
// the formulas (a sine's gain and phase, an impulse's position, round(frames * out/in)) and
// against sox's own conversion (`sox in.wav out.wav rate -v`), at 44.1, 48 and 96 kHz.
#include "host/io/AudioFile.h"
#include "host/io/Resampler.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <vector>

using namespace sg;
using namespace sg::test;

namespace {

constexpr double kPi = 3.14159265358979323846;

std::string q(const std::string& path) { return "'" + path + "'"; }

/// Resamples a mono signal through io::Resampler in chunks of `chunk` frames, flushed.
std::vector<float> resample(const std::vector<float>& in, double inRate, double outRate, io::ResampleQuality quality,
                            int chunk = 4096) {
    io::Resampler resampler;
    REQUIRE(resampler.prepare(inRate, outRate, 1, chunk, quality) == "");
    std::vector<float> out;
    AudioBuffer buffer(1, chunk);
    auto append = [&](const ConstAudioView& view) { out.insert(out.end(), view.channel(0), view.channel(0) + view.frames); };
    for (std::size_t at = 0; at < in.size(); at += std::size_t(chunk)) {
        const int n = int(std::min<std::size_t>(std::size_t(chunk), in.size() - at));
        std::copy(in.begin() + std::ptrdiff_t(at), in.begin() + std::ptrdiff_t(at) + n, buffer.channel(0));
        append(resampler.process(ConstAudioView(buffer.view().frameRange(0, n))));
    }
    for (ConstAudioView tail = resampler.flush(); tail.frames > 0; tail = resampler.flush()) append(tail);
    return out;
}

/// Least-squares fit of a sin(w m) + b cos(w m) over frames [from, to): amplitude and phase.
struct SineFit {
    double amplitude = 0, phase = 0;
};
SineFit fitSine(const std::vector<float>& y, double frequencyHz, double rate, std::size_t from, std::size_t to) {
    double ss = 0, cc = 0, sc = 0, ys = 0, yc = 0;
    for (std::size_t m = from; m < to; ++m) {
        const double w = 2 * kPi * frequencyHz * double(m) / rate;
        const double s = std::sin(w), c = std::cos(w);
        ss += s * s, cc += c * c, sc += s * c, ys += y[m] * s, yc += y[m] * c;
    }
    const double det = ss * cc - sc * sc;
    const double a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det;
    return {std::hypot(a, b), std::atan2(b, a)};
}

double rmsOf(const std::vector<float>& y, std::size_t from, std::size_t to) {
    double sum = 0;
    for (std::size_t i = from; i < to; ++i) sum += double(y[i]) * y[i];
    return std::sqrt(sum / double(to - from));
}

std::vector<float> readMono(const std::string& path, double* rate = nullptr) {
    io::AudioFileReader reader;
    REQUIRE(reader.open(path) == "");
    REQUIRE(reader.channels() == 1);
    if (rate) *rate = reader.sampleRate();
    AudioBuffer buffer(1, int(reader.frames()));
    REQUIRE(reader.read(buffer.view()) == reader.frames());
    return {buffer.channel(0), buffer.channel(0) + buffer.frames()};
}

struct RatePair {
    double in, out;
};
constexpr RatePair kPairs[] = {{48000, 44100}, {44100, 48000}, {96000, 44100}, {44100, 96000}, {48000, 96000}, {96000, 48000}};

} // namespace

TEST_CASE("resampled length is exactly round(frames * out / in)", "[resample]") {
    for (const RatePair& pair : kPairs)
        for (std::int64_t frames : {1, 7, 1001, 44101}) {
            INFO(pair.in << " -> " << pair.out << ", " << frames << " frames");
            const std::vector<float> in(std::size_t(frames), 0.25f);
            const auto out = resample(in, pair.in, pair.out, io::ResampleQuality::VeryHigh, 1000);
            CHECK(std::int64_t(out.size()) == std::llround(double(frames) * pair.out / pair.in));
            CHECK(std::int64_t(out.size()) == io::resampledFrames(frames, pair.in, pair.out));
        }
}

TEST_CASE("very-high quality: passband flat within 0.01 dB and in phase, up to near the lower Nyquist", "[resample]") {
    for (const RatePair& pair : kPairs) {
        const double nyquist = std::min(pair.in, pair.out) / 2;
        for (double hz : {40.0, 1000.0, 6000.0, 12000.0, 0.88 * nyquist}) {
            INFO(pair.in << " -> " << pair.out << " Hz, tone " << hz << " Hz");
            const double phase = 0.3;
            std::vector<float> in(std::size_t(pair.in / 4));
            for (std::size_t n = 0; n < in.size(); ++n) in[n] = float(0.5 * std::sin(2 * kPi * hz * double(n) / pair.in + phase));
            const auto out = resample(in, pair.in, pair.out, io::ResampleQuality::VeryHigh, 777);
            const std::size_t edge = std::size_t(pair.out / 50); // away from the start and end transients
            const SineFit fit = fitSine(out, hz, pair.out, edge, out.size() - edge);
            CHECK(std::abs(20 * std::log10(fit.amplitude / 0.5)) < 0.01);
            // Alignment: the phase the formula gives at the output rate, within 0.01 frame.
            const double errorFrames = std::remainder(fit.phase - phase, 2 * kPi) / (2 * kPi * hz) * pair.out;
            CHECK(std::abs(errorFrames) < 0.01);
        }
    }
}

TEST_CASE("very-high quality rejects tones above the new Nyquist by more than 100 dB; quick does not", "[resample]") {
    for (const RatePair& pair : {RatePair{96000, 44100}, RatePair{48000, 44100}, RatePair{96000, 48000}}) {
        for (double hz : {pair.out / 2 * 1.04, (pair.out / 2 + pair.in / 2) / 2, pair.in / 2 * 0.97}) {
            INFO(pair.in << " -> " << pair.out << " Hz, tone " << hz << " Hz");
            std::vector<float> in(std::size_t(pair.in / 4));
            for (std::size_t n = 0; n < in.size(); ++n) in[n] = float(0.9 * std::sin(2 * kPi * hz * double(n) / pair.in));
            const auto veryHigh = resample(in, pair.in, pair.out, io::ResampleQuality::VeryHigh);
            const auto quick = resample(in, pair.in, pair.out, io::ResampleQuality::Quick);
            const std::size_t edge = std::size_t(pair.out / 50);
            const double inRms = 0.9 / std::sqrt(2.0);
            const double veryHighDb = 20 * std::log10(rmsOf(veryHigh, edge, veryHigh.size() - edge) / inRms + 1e-30);
            const double quickDb = 20 * std::log10(rmsOf(quick, edge, quick.size() - edge) / inRms + 1e-30);
            CHECK(veryHighDb < -100);
            CHECK(quickDb > veryHighDb + 20); // the quality setting is really applied
        }
    }
}

TEST_CASE("an impulse comes out where the formula puts it", "[resample]") {
    for (const RatePair& pair : kPairs) {
        INFO(pair.in << " -> " << pair.out);
        std::vector<float> in(std::size_t(pair.in / 10), 0.0f);
        const std::size_t at = 3001;
        in[at] = 1;
        const auto out = resample(in, pair.in, pair.out, io::ResampleQuality::VeryHigh, 500);
        std::size_t peak = 0;
        for (std::size_t i = 0; i < out.size(); ++i)
            if (std::abs(out[i]) > std::abs(out[peak])) peak = i;
        CHECK(std::abs(double(peak) - double(at) * pair.out / pair.in) <= 0.5);
    }
}

TEST_CASE("an input at another rate is resampled on reading; analyze keeps the file's own rate", "[resample]") {
    TempDir dir;
    const std::string in = dir.file("in44.wav");
    REQUIRE(runShell("sox -n -r 44100 -c 1 -b 24 " + q(in) + " synth 0.5 sine 997 gain -6").status == 0);
    io::AudioFileReader reader;
    REQUIRE(reader.open(in) == "");
    REQUIRE(reader.resampleTo(96000) == "");
    CHECK(reader.sampleRate() == 96000);
    CHECK(reader.fileSampleRate() == 44100);
    CHECK(reader.frames() == 48000);
    AudioBuffer buffer(1, 48000 + 100);
    CHECK(reader.read(buffer.view()) == 48000);
    CHECK(reader.seek(0) != ""); // refused while resampling
    const std::vector<float> out(buffer.channel(0), buffer.channel(0) + 48000);
    const SineFit fit = fitSine(out, 997, 96000, 2000, 46000);
    CHECK(std::abs(20 * std::log10(fit.amplitude) + 6) < 0.05); // 24-bit dither and sox's own gain rounding

    const auto analyze = runCli("analyze --json " + q(in));
    REQUIRE(analyze.status == 0);
    CHECK(analyze.out.find("\"sample_rate\": 44100") != std::string::npos);
}

TEST_CASE("render resamples inputs and outputs like sox's own conversion (rate -v), sample-aligned", "[resample]") {
    TempDir dir;
    const std::string graph = dir.write("g.yaml", "stagegraph: 1\ninputs: {mix: {channels: 1}}\noutputs: {out: {channels: 1}}\n"
                                                  "nodes: {g: {type: gain}}\nconnections: [mix -> g -> out]\n");
    struct Case {
        int in, out;
        bool viaInput; // resampled on the way in (--rate) or out (--output-rate)
    };
    for (const Case c : {Case{48000, 44100, false}, Case{44100, 48000, true}, Case{96000, 44100, false}, Case{44100, 96000, true},
                         Case{48000, 96000, false}}) {
        INFO(c.in << " -> " << c.out << (c.viaInput ? " (input)" : " (output)"));
        const std::string source = dir.file("src.wav"), ours = dir.file("ours.wav"), theirs = dir.file("sox.wav");
        // Clipped noise (hard-clipped at +3 dB), band-limited to 18 kHz where both filters are
        // flat (they differ near Nyquist), 8 dB under full scale so sox's output never clips; an
        // odd length.
        REQUIRE(runShell("sox -R -n -r " + std::to_string(c.in) + " -c 1 -e float -b 32 " + q(source) +
                         " synth 1.0001 whitenoise gain 3 sinc -18000 gain -8 2>/dev/null")
                    .status == 0);
        const std::string rate = c.viaInput ? " --rate " : " --output-rate ";
        const auto r = runCli("render " + q(graph) + " -i " + q(source) + " -o " + q(ours) + " --format wav32f" + rate +
                              std::to_string(c.out));
        REQUIRE(r.status == 0);
        REQUIRE(runShell("sox -R " + q(source) + " -e float -b 32 " + q(theirs) + " rate -v " + std::to_string(c.out)).status ==
                0);
        double rateOurs = 0;
        const auto a = readMono(ours, &rateOurs), b = readMono(theirs);
        CHECK(rateOurs == c.out);
        const auto expected = std::size_t(std::llround(double(readMono(source).size()) * c.out / c.in));
        CHECK(a.size() == expected);
        REQUIRE(std::abs(double(a.size()) - double(b.size())) <= 1);
        const std::size_t n = std::min(a.size(), b.size()), edge = std::size_t(c.out / 20);
        double diff = 0, power = 0;
        for (std::size_t i = edge; i < n - edge; ++i) diff += double(a[i] - b[i]) * (a[i] - b[i]), power += double(a[i]) * a[i];
        CHECK(10 * std::log10(diff / power) < -80); // same timing and response: any offset would cost tens of dB
    }
}

TEST_CASE("resample: --target with --output-rate measures and limits what is delivered, at the output rate", "[resample]") {
    TempDir dir;
    const std::string graph = dir.write("g.yaml", "stagegraph: 1\ninputs: {mix: {channels: 2}}\noutputs: {out: {channels: 2}}\n"
                                                  "nodes: {g: {type: gain}}\nconnections: [mix -> g -> out]\n");
    const std::string in = dir.file("in96.wav"), out = dir.file("out44.wav");
    // Pink noise with a near-Nyquist (of 44.1 kHz) tone at 96 kHz: inter-sample peaks at the new rate.
    REQUIRE(runShell("sox -R -n -r 96000 -c 2 -e float -b 32 " + q(in) + " synth 3 pinknoise synth 3 sine mix 21500 gain -10")
                .status == 0);
    const auto r = runCli("render " + q(graph) + " -i " + q(in) + " -o " + q(out) + " --output-rate 44100 --target -16LUFS");
    REQUIRE(r.status == 0);
    const auto a = runCli("analyze --json " + q(out));
    REQUIRE(a.status == 0);
    CHECK(a.out.find("\"sample_rate\": 44100") != std::string::npos);
    auto number = [&](const std::string& key) {
        const auto at = a.out.find("\"" + key + "\": ");
        REQUIRE(at != std::string::npos);
        return std::stod(a.out.substr(at + key.size() + 4));
    };
    CHECK(std::abs(number("integrated_lufs") + 16) <= 0.1);
    CHECK(number("true_peak_dbtp") <= -1.0 + 0.05);
    CHECK(number("duration_s") == Approx(3.0).margin(1e-6));
}

TEST_CASE("a truncated input is still an error naming the file when it is resampled; a FIFO is read once", "[resample]") {
    TempDir dir;
    const std::string graph = dir.write("g.yaml", "stagegraph: 1\ninputs: {mix: {channels: 1}}\noutputs: {out: {channels: 1}}\n"
                                                  "nodes: {g: {type: gain}}\nconnections: [mix -> g -> out]\n");
    const std::string in = dir.file("cut44.wav");
    REQUIRE(runShell("sox -R -n -r 44100 -c 1 -b 16 " + q(in) + " synth 2 sine 440").status == 0);
    REQUIRE(runShell("truncate -s 100000 " + q(in)).status == 0);
    const auto r = runCli("render " + q(graph) + " -i " + q(in) + " -o " + q(dir.file("out.wav")) + " --rate 48000");
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("cut44.wav") && Catch::Contains("truncated"));
    CHECK_FALSE(std::ifstream(dir.file("out.wav")).good());

    // A WAV from a FIFO at 44.1 kHz, resampled to 48 kHz: complete, not reported truncated (issue 13).
    const std::string fifo = dir.file("fifo.wav");
    REQUIRE(runShell("mkfifo " + q(fifo)).status == 0);
    const auto piped =
        runShell("(timeout 30 sox -R -n -r 44100 -c 1 -b 16 -t wav - synth 1 sine 440 > " + q(fifo) + " &) ; '" + cliPath() +
                 "' render " + q(graph) + " -i " + q(fifo) + " -o " + q(dir.file("fifo-out.wav")) + " --rate 48000");
    CHECK(piped.status == 0);
    CHECK(readMono(dir.file("fifo-out.wav")).size() == 48000);

    const auto twice = runCli("render " +
                              q(dir.write("two.yaml", "stagegraph: 1\ninputs: {a: {channels: 1}, b: {channels: 1}}\n"
                                                      "outputs: {out: {channels: 1}}\nnodes: {g: {type: gain}}\n"
                                                      "connections: [a -> g, b -> g, g -> out]\n")) +
                              " -i a=- -i b=- -o " + q(dir.file("x.wav")) + " < /dev/null");
    CHECK(twice.status == 2);
    CHECK_THAT(twice.err, Catch::Contains("standard input"));
}
