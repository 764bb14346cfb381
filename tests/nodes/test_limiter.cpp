// limiter: the output's true peak stays under the ceiling on hard material (measured here with
// an independent double-precision Annex 2 filter and a 16x windowed-sinc interpolator), it is
// the exact delayed input below the ceiling, its declared latency nulls against a direct path,
// and blocks, SIMD widths and batching change no bit.
#include "core/Denormals.h"
#include "core/Executor.h"
#include "nodes/dynamics/Limiter.h"
#include "nodes/utility/Oversampler.h"
#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>

using namespace sg;
using namespace sg::test;
using namespace sg::nodetest;

namespace {

constexpr double kRate = 48000;

/// BS.1770-5 Annex 2, typed again from the standard (phases 2, 3 = 1, 0 reversed).
constexpr double kPhase0[12] = {0.0017089843750,  0.0109863281250,  -0.0196533203125, 0.0332031250000,
                                -0.0594482421875, 0.1373291015625,  0.9721679687500,  -0.1022949218750,
                                0.0476074218750,  -0.0266113281250, 0.0148925781250,  -0.0083007812500};
constexpr double kPhase1[12] = {-0.0291748046875, 0.0292968750000,  -0.0517578125000, 0.0891113281250,
                                -0.1665039062500, 0.4650878906250,  0.7797851562500,  -0.2003173828125,
                                0.1015625000000,  -0.0582275390625, 0.0330810546875,  -0.0189208984375};

double tap(int phase, int j) {
    switch (phase) {
    case 0:
        return kPhase0[j];
    case 1:
        return kPhase1[j];
    case 2:
        return kPhase1[11 - j];
    default:
        return kPhase0[11 - j];
    }
}

double toDb(double linear) { return linear > 0 ? 20.0 * std::log10(linear) : -HUGE_VAL; }

/// True peak in dBTP by the Annex 2 filter, in double, over all lanes (max with sample peak).
double annex2PeakDb(const Lanes& lanes) {
    double peak = 0;
    for (const auto& x : lanes)
        for (std::size_t n = 0; n < x.size(); ++n) {
            peak = std::max(peak, std::fabs(double(x[n])));
            for (int k = 0; k < 4; ++k) {
                double v = 0;
                for (int j = 0; j < 12; ++j) v += tap(k, j) * (n >= std::size_t(j) ? double(x[n - std::size_t(j)]) : 0.0);
                peak = std::max(peak, std::fabs(v));
            }
        }
    return toDb(peak);
}

/// Peak of a 16x band-limited interpolation (Kaiser-windowed sinc, 32 taps each side, beta 9).
double oversampled16PeakDb(const Lanes& lanes) {
    constexpr int kFactor = 16, kHalf = 32;
    auto bessel0 = [](double x) {
        double sum = 1, term = 1;
        for (int k = 1; k < 40; ++k) {
            term *= (x / (2 * k)) * (x / (2 * k));
            sum += term;
        }
        return sum;
    };
    const double beta = 9.0;
    std::vector<double> kernel(std::size_t(kFactor) * 2 * kHalf);
    for (int f = 0; f < kFactor; ++f)
        for (int j = -kHalf + 1; j <= kHalf; ++j) {
            const double t = double(j) - double(f) / kFactor; // distance from sample n + j... in samples
            const double sinc = t == 0 ? 1.0 : std::sin(M_PI * t) / (M_PI * t);
            const double r = t / kHalf;
            const double window = std::fabs(r) < 1 ? bessel0(beta * std::sqrt(1 - r * r)) / bessel0(beta) : 0.0;
            kernel[std::size_t(f) * 2 * kHalf + std::size_t(j + kHalf - 1)] = sinc * window;
        }
    double peak = 0;
    for (const auto& x : lanes) {
        const auto size = std::int64_t(x.size());
        for (std::int64_t n = 0; n < size; ++n) {
            peak = std::max(peak, std::fabs(double(x[std::size_t(n)])));
            for (int f = 1; f < kFactor; ++f) { // the point n + f / 16
                double v = 0;
                const double* k = &kernel[std::size_t(f) * 2 * kHalf];
                for (int j = -kHalf + 1; j <= kHalf; ++j) {
                    const std::int64_t m = n + j;
                    if (m >= 0 && m < size) v += k[j + kHalf - 1] * double(x[std::size_t(m)]);
                }
                peak = std::max(peak, std::fabs(v));
            }
        }
    }
    return toDb(peak);
}

ParamValues limiterParams(double ceilingDbtp, double lookaheadMs = 5, double releaseMs = 50) {
    return paramsOf("limiter", {{"ceiling", ceilingDbtp}, {"lookahead", lookaheadMs}, {"release", releaseMs}});
}

int latencyOf(const ParamValues& p, double rate) { return Registry::builtin().find("limiter")->latencyFrames(p, rate); }

/// Renders `input` through one limiter instance; the output is trimmed by the latency (and the
/// input padded by as many zeros) so it lines up with the input.
Lanes limit(const Lanes& input, const ParamValues& p, double rate = kRate, SimdArch arch = detectSimdArch(),
            std::vector<int> blocks = {512}, std::vector<Measurement>* figures = nullptr) {
    const int channels = int(input.size());
    const int latency = latencyOf(p, rate);
    Lanes padded = input;
    for (auto& lane : padded) lane.resize(lane.size() + std::size_t(latency), 0.0f);
    auto kernel = preparedKernel("limiter", {rate, 512, arch}, {instanceOf("limiter", p, channels)});
    RenderPlan plan;
    plan.blockSizes = std::move(blocks);
    Lanes out = render(*kernel, padded, channels, 512, plan);
    for (auto& lane : out) lane.erase(lane.begin(), lane.begin() + latency);
    if (figures) kernel->measurements(0, *figures);
    return out;
}

double figure(const std::vector<Measurement>& figures, const std::string& key) {
    for (const auto& m : figures)
        if (m.key == key) return m.value;
    FAIL("no measurement " << key);
    return 0;
}

/// Hard material, `frames` long, stereo.
struct Material {
    const char* name;
    Lanes lanes;
    double maxHz = 0; ///< highest frequency in it; 0 = full band (squares, noise, impulses)
};

/// Sum of 40 sines from 50 Hz to 0.25 fs with random phases and 1/sqrt(f) amplitudes,
/// scaled to `peak` (sample peak), with a slow level swell: dense, band-limited, music-like.
std::vector<float> sineCluster(double rate, std::int64_t frames, double peak, std::uint32_t seed) {
    std::vector<double> x(std::size_t(frames), 0.0);
    std::uint32_t state = seed;
    auto uniform = [&state] { return double((state = state * 1664525u + 1013904223u) >> 8) / 16777216.0; };
    for (int k = 0; k < 40; ++k) {
        const double hz = 50.0 * std::pow(0.25 * rate / 50.0, uniform());
        const double phase = 2 * M_PI * uniform();
        for (std::int64_t n = 0; n < frames; ++n)
            x[std::size_t(n)] += std::sin(2 * M_PI * hz * double(n) / rate + phase) / std::sqrt(hz);
    }
    double most = 0;
    for (std::int64_t n = 0; n < frames; ++n) {
        x[std::size_t(n)] *= 0.6 + 0.4 * std::sin(2 * M_PI * 3.0 * double(n) / rate);
        most = std::max(most, std::fabs(x[std::size_t(n)]));
    }
    std::vector<float> out(static_cast<std::size_t>(frames));
    for (std::int64_t n = 0; n < frames; ++n) out[std::size_t(n)] = float(x[std::size_t(n)] * peak / most);
    return out;
}

std::vector<Material> hardMaterial(double rate, std::int64_t frames) {
    std::vector<Material> out;
    out.push_back({"noise +12 dB", {noise(frames, 4.0f, 101), noise(frames, 4.0f, 102)}});
    auto square = [&](double hz, double amplitude) {
        std::vector<float> x(static_cast<std::size_t>(frames));
        for (std::int64_t n = 0; n < frames; ++n)
            x[std::size_t(n)] = std::fmod(double(n) * hz / rate, 1.0) < 0.5 ? float(amplitude) : float(-amplitude);
        return x;
    };
    out.push_back({"square 997 Hz at +6 dBFS", {square(997, 2.0), square(1499, 2.0)}});
    out.push_back({"square fs/6 at 0 dBFS", {square(rate / 6, 1.0), square(rate / 6, 1.0)}});
    out.push_back({"fs/4 sine at 45 deg, +3 dBTP",
                   {sine(rate / 4, 1.41, rate, frames, M_PI / 4), sine(rate / 4, 1.41, rate, frames, M_PI / 4)},
                   rate / 4});
    out.push_back({"fs/4 sine at 45 deg, +12 dBTP",
                   {sine(rate / 4, 4.0, rate, frames, M_PI / 4), sine(rate / 4, 0.5, rate, frames, M_PI / 4)},
                   rate / 4});
    out.push_back({"band-limited sine clusters +10 dBFS",
                   {sineCluster(rate, frames, 3.16, 5), sineCluster(rate, frames, 3.16, 6)},
                   rate / 4});
    out.push_back({"0.45 fs sine +6 dBFS", {sine(0.45 * rate, 2.0, rate, frames), sine(0.45 * rate, 2.0, rate, frames, 1.0)}});
    Lanes impulses(2, std::vector<float>(std::size_t(frames), 0.0f));
    std::uint32_t seed = 12345;
    for (std::int64_t n = 500; n + 3 < frames; n += 997 + std::int64_t((seed = seed * 1664525u + 1013904223u) >> 22)) {
        const float a = 0.5f + float(seed >> 24) / 32.0f; // 0.5 .. 8.5
        impulses[0][std::size_t(n)] = a;
        impulses[1][std::size_t(n + 1)] = (seed & 1) ? a : -a; // pairs: +a +a or +a -a across channels
        impulses[0][std::size_t(n + 1)] = (seed & 2) ? a : -a; // adjacent samples: inter-sample overs
    }
    out.push_back({"impulses and adjacent pairs up to +18 dBFS", impulses});
    return out;
}

} // namespace

TEST_CASE("limiter: declaration", "[nodes][limiter]") {
    const NodeType* t = Registry::builtin().find("limiter");
    REQUIRE(t != nullptr);
    const NodeTypeInfo& info = t->info();
    CHECK(info.family == "dynamics");
    CHECK_FALSE(info.description.empty());
    CHECK_FALSE(info.reference.empty());
    const ParamInfo& ceiling = info.params.at(std::size_t(t->paramIndex("ceiling")));
    CHECK(ceiling.unit == UnitKind::TruePeak);
    CHECK(ceiling.minValue == -20);
    CHECK(ceiling.maxValue == 0);
    CHECK(ceiling.defaultValue == -1);
    const ParamInfo& lookahead = info.params.at(std::size_t(t->paramIndex("lookahead")));
    CHECK(lookahead.unit == UnitKind::Time);
    CHECK(lookahead.minValue == 0.5);
    CHECK(lookahead.maxValue == 20);
    const ParamInfo& release = info.params.at(std::size_t(t->paramIndex("release")));
    CHECK(release.unit == UnitKind::Time);
    CHECK(release.minValue == 1);
    CHECK(release.maxValue == 1000);
    for (const ParamInfo& p : info.params) CHECK_FALSE(p.description.empty());
    // The Annex 2 table the detector uses is the standard's: phase 2/3 mirror 1/0, and each
    // phase's taps sum to about 1 (unity gain at DC).
    for (int k = 0; k < 4; ++k) {
        double sum = 0;
        for (int j = 0; j < 12; ++j) {
            CHECK(double(kAnnex2Phases[k][j]) == tap(k, j));
            sum += tap(k, j);
        }
        CHECK(sum == Approx(1.0).margin(0.03));
    }
}

TEST_CASE("limiter: latency is the lookahead in frames, at least 220 (the detection filter's span + 46)", "[nodes][limiter]") {
    struct Case {
        double ms, rate;
        int frames;
    };
    for (const Case& c : {Case{5, 48000, 240}, Case{5, 44100, 221}, Case{3, 96000, 288}, Case{20, 48000, 960},
                          Case{0.5, 48000, 220}, Case{4.5, 44100, 220}, Case{0.5, 22050, 220}, Case{0.5, 8000, 220}}) {
        CAPTURE(c.ms, c.rate);
        CHECK(latencyOf(limiterParams(-1, c.ms), c.rate) == c.frames);
    }
}

TEST_CASE("limiter: below the ceiling the output is the input delayed by the latency, bit for bit", "[nodes][limiter]") {
    // A music-like signal whose true peak is about -3 dBTP, through a -1 dBTP ceiling.
    const std::int64_t frames = 24000;
    Lanes input{sine(220, 0.3, kRate, frames), sine(330, 0.3, kRate, frames, 0.5)};
    const auto hats = noise(frames, 0.1f, 7);
    for (std::int64_t n = 0; n < frames; ++n) {
        input[0][std::size_t(n)] += hats[std::size_t(n)];
        input[1][std::size_t(n)] += 0.5f * hats[std::size_t(n)] + float(0.2 * std::sin(2 * M_PI * 3000 * double(n) / kRate));
    }
    REQUIRE(annex2PeakDb(input) < -1.5);
    for (double lookahead : {0.5, 5.0, 20.0}) {
        CAPTURE(lookahead);
        std::vector<Measurement> figures;
        const Lanes out = limit(input, limiterParams(-1, lookahead), kRate, detectSimdArch(), {512}, &figures);
        REQUIRE(sameBits(out, input));
        CHECK(figure(figures, "max_gain_reduction_db") == 0.0);
        CHECK(figure(figures, "mean_gain_reduction_db") == 0.0);
        CHECK(figure(figures, "limited_percent") == 0.0);
    }
}

TEST_CASE("limiter: the output's true peak never exceeds the ceiling on hard material", "[nodes][limiter]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        for (const Material& m : hardMaterial(rate, std::int64_t(rate / 4))) {
            for (double ceiling : {-1.0, -6.0, -0.1}) {
                for (double lookahead : {0.5, 5.0}) {
                    CAPTURE(rate, m.name, ceiling, lookahead);
                    const Lanes out = limit(m.lanes, limiterParams(ceiling, lookahead, 20), rate);
                    const double annex2 = annex2PeakDb(out);
                    INFO("Annex 2 true peak " << annex2 << " dBTP");
                    CHECK(annex2 <= ceiling);
                    // A 4x grid can miss a sine's crest by up to 1 / cos(pi f / 4 fs) (0.17 dB at
                    // fs/4), and the Annex 2 filter attenuates content near fs/2 (full-band noise,
                    // squares at fs/6 read up to 2 dB higher with a 16x sinc interpolator); the
                    // limiter detects as the standard measures. Band-limited material must stay
                    // within that grid bound (+ 0.05 dB for the filter's passband ripple and the
                    // sidebands of the gain's movement) when read with 16x.
                    const double fine = oversampled16PeakDb(out);
                    if (m.maxHz > 0) {
                        const double gridDb = -20 * std::log10(std::cos(M_PI * m.maxHz / (4 * rate)));
                        INFO("16x peak " << fine << " dB, 4x grid bound " << gridDb << " dB");
                        CHECK(fine <= ceiling + gridDb + 0.05);
                    }
                    // And it limits no more than needed: the loudest moment reaches the ceiling (as
                    // a band-limited reconstruction reads it: Annex 2 reads full-band squares low).
                    CHECK(std::max(annex2, fine) >= ceiling - 0.5);
                }
            }
        }
    }
}

TEST_CASE("limiter: a steady over is reduced by its excess, with one gain for all channels, and reported", "[nodes][limiter]") {
    // A 1 kHz sine at +6 dBFS and the same at 0 dBFS into a -1 dBTP ceiling: the steady gain
    // reduction is the true peak of the louder channel (about its amplitude, 2: +6.02 dBTP) + 1 dB, plus
    // the limiter's documented safety of 0.3 dB + 1 dB / (L - T + 2) frames.
    const std::int64_t frames = 48000;
    const Lanes input{sine(1000, 2.0, kRate, frames), sine(1000, 1.0, kRate, frames, 1.0)};
    std::vector<Measurement> figures;
    const Lanes out = limit(input, limiterParams(-1), kRate, detectSimdArch(), {512}, &figures);
    // The detector takes the larger of the Annex 2 reading (which over-reads a 1 kHz sine by
    // 0.007 dB, its passband ripple) and the band-limited one.
    const double expected =
        std::max(annex2PeakDb({input[0]}), 20 * std::log10(2.0)) + 1.0 + 0.3 + 1.0 / (240 - kLimiterDetectionSpan + 2);
    CHECK(figure(figures, "max_gain_reduction_db") == Approx(expected).margin(0.001));
    CHECK(figure(figures, "mean_gain_reduction_db") == Approx(expected).margin(0.02)); // the first 5 ms ramp
    CHECK(figure(figures, "limited_percent") == Approx(100.0).margin(0.01));
    const double factor = std::pow(10.0, -expected / 20.0);
    for (std::int64_t n = 24000; n < 24100; ++n) {
        CHECK(out[0][std::size_t(n)] == Approx(input[0][std::size_t(n)] * factor).margin(1e-5));
        CHECK(out[1][std::size_t(n)] == Approx(input[1][std::size_t(n)] * factor).margin(1e-5));
    }
}

TEST_CASE("limiter: the gain is down before a peak arrives and recovers with the release time constant", "[nodes][limiter]") {
    // A quiet DC level with one impulse: the gain seen on the DC is g[n] = out / in.
    const std::int64_t frames = 100000, at = 10000;
    const double releaseMs = 100;
    Lanes input(1, std::vector<float>(std::size_t(frames), 0.01f));
    input[0][std::size_t(at)] = 2.0f; // +6 dBFS, ceiling -1 dBTP -> gain <= 0.01 * ... at the impulse
    const Lanes out = limit(input, limiterParams(-1, 5, releaseMs));
    auto gainAt = [&](std::int64_t n) { return double(out[0][std::size_t(n)]) / double(input[0][std::size_t(n)]); };
    CHECK(std::fabs(out[0][std::size_t(at)]) <= std::pow(10.0, -1 / 20.0));
    CHECK(gainAt(at - 300) == 1.0); // before the lookahead window: untouched
    CHECK(gainAt(at - 100) < 1.0);  // inside it: already falling
    // Release: the gain reduction in dB decays by e every 100 ms (measured after the hold).
    const double first = -toDb(gainAt(at + 2000)), second = -toDb(gainAt(at + 2000 + 4800));
    REQUIRE(first > 0.01);
    CHECK(second / first == Approx(std::exp(-1.0)).epsilon(0.02));
    // Long after (7 dB * exp(-t / 100 ms) < 5e-7 dB, where it snaps to 0, after 1.65 s): exactly 1.
    CHECK(gainAt(at + 40000) < 1.0);
    CHECK(gainAt(at + 85000) == 1.0);
}

TEST_CASE("limiter: block splits, SIMD architectures, batching and in-place change no bit", "[nodes][limiter]") {
    const std::int64_t frames = 20000;
    Lanes input{noise(frames, 2.0f, 1), noise(frames, 1.0f, 2), sine(5000, 3.0, kRate, frames, 0.3)};
    const ParamValues a = limiterParams(-1, 3, 30), b = limiterParams(-3, 1, 200);
    const std::vector<InstanceSetup> setup{instanceOf("limiter", a, 2), instanceOf("limiter", b, 1)};
    // Ceiling and release changes while running, delivered between blocks.
    std::vector<ParamEvent> events{{4000, 0, 0, -6.0}, {9000, 1, 2, 5.0}, {12001, 0, 0, -0.5}};
    Lanes reference;
    for (SimdArch arch : availableArchs())
        for (const auto& sizes : splitPlans(4096))
            for (bool inPlace : {false, true}) {
                CAPTURE(simdArchName(arch), sizes.size(), inPlace);
                RenderPlan plan;
                plan.blockSizes = sizes;
                plan.events = events;
                plan.inPlace = inPlace;
                auto kernel = preparedKernel("limiter", {kRate, 4096, arch}, setup);
                const Lanes out = render(*kernel, input, 3, 4096, plan);
                if (reference.empty())
                    reference = out;
                else
                    REQUIRE(sameBits(out, reference));
            }
    // Batched = each instance alone.
    const std::vector<Lanes> inputs = splitLanes(input, {2, 1}), expected = splitLanes(reference, {2, 1});
    for (std::size_t i = 0; i < setup.size(); ++i) {
        auto alone = preparedKernel("limiter", {kRate, 512, detectSimdArch()}, {setup[i]});
        std::vector<ParamEvent> own;
        for (const auto& e : events)
            if (std::size_t(e.instance) == i) own.push_back({e.position, 0, e.param, e.value});
        RenderPlan plan;
        plan.events = own;
        REQUIRE(sameBits(render(*alone, inputs[i], setup[i].inputChannels[0], 512, plan), expected[i]));
    }
    // The lowered ceiling holds from its frame on (output frame 4000 + L on, trimmed here).
    const int latency = latencyOf(a, kRate);
    Lanes after(2);
    for (int l = 0; l < 2; ++l)
        after[std::size_t(l)].assign(reference[std::size_t(l)].begin() + 4000 + latency,
                                     reference[std::size_t(l)].begin() + 12001 + latency - 12);
    CHECK(annex2PeakDb(after) <= -6.0);
}

TEST_CASE("limiter: reset clears the state", "[nodes][limiter]") {
    const Lanes input{noise(5000, 3.0f, 9)};
    auto kernel = preparedKernel("limiter", {kRate, 512, detectSimdArch()}, {instanceOf("limiter", limiterParams(-2), 1)});
    const Lanes first = render(*kernel, input, 1, 512);
    kernel->reset();
    REQUIRE(sameBits(render(*kernel, input, 1, 512), first));
}

TEST_CASE("limiter: its declared latency nulls against a direct path in a compiled graph", "[nodes][limiter]") {
    // in -> limiter -> sum and in -> invert -> sum: the compiler delays the direct path by the
    // limiter's latency, and below the ceiling the two cancel to exact silence.
    for (double rate : {44100.0, 96000.0}) {
        CAPTURE(rate);
        const std::string yaml = "stagegraph: 1\ninputs:\n  in: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
                                 "  lim: {type: limiter, ceiling: -1 dBTP, lookahead: 7 ms, release: 50 ms}\n"
                                 "  inv: {type: gain, invert: 1}\n"
                                 "connections:\n  - in -> lim -> out\n  - in -> inv -> out\n";
        Diagnostics diags;
        CompileOptions options;
        options.sampleRate = rate;
        auto program = compileYaml(yaml, diags, options);
        INFO(diags.formatAll());
        REQUIRE(program);
        Executor& ex = program->executor();
        CHECK(ex.latencyFrames() == int(std::lround(0.007 * rate)));
        const std::int64_t frames = 20000;
        const Planar in{sine(440, 0.3, rate, frames), noise(frames, 0.3f, 3)};
        const auto out = renderFixed(ex, {in}, frames, 333);
        // The inverter's 20 ms ramp starts at -1 already (invert: 1 from the start).
        double worst = 0;
        for (const auto& lane : out[0])
            for (float v : lane) worst = std::max(worst, double(std::fabs(v)));
        CHECK(worst == 0.0);
    }
}

namespace {

/// Gain reduction in dB seen by a DC probe of 0.01 (out / in on a frame that carries only it).
double reductionAt(const Lanes& in, const Lanes& out, std::int64_t n) {
    return -toDb(double(out[0][std::size_t(n)]) / double(in[0][std::size_t(n)]));
}

ParamValues limiterParamsWith(double releaseMs, double hpfHz, double adaptivePercent) {
    return paramsOf("limiter", {{"ceiling", -1},
                                {"lookahead", 5},
                                {"release", releaseMs},
                                {"sidechain_hpf", hpfHz},
                                {"adaptive_release", adaptivePercent}});
}

} // namespace

TEST_CASE("limiter: program-dependent release slows the recovery by 1 + 4 a d after sustained limiting", "[nodes][limiter]") {
    // 2 s of a +6 dBFS 1 kHz sine on a DC probe, then the probe alone. d, the one-pole (1 s)
    // average of "limiting", is 1 - exp(-2) = 0.865 when the sine stops (and rises by < 0.005
    // over the 40 ms measured), so at adaptive_release a the release time is 50 ms (1 + 4 a d).
    const std::int64_t frames = 2 * 48000 + 20000, stop = 2 * 48000;
    Lanes in(1, std::vector<float>(std::size_t(frames), 0.01f));
    for (std::int64_t n = 0; n < stop; ++n) in[0][std::size_t(n)] += float(2.0 * std::sin(2 * M_PI * 1000 * double(n) / kRate));
    for (double adaptive : {0.0, 50.0, 100.0}) {
        const Lanes out = limit(in, limiterParamsWith(50, 10, adaptive));
        const std::int64_t a = stop + 960, b = stop + 1920; // 20 and 40 ms after the sine ends (hold and attack passed)
        const double measuredMs = 20.0 / std::log(reductionAt(in, out, a) / reductionAt(in, out, b));
        const double d = 1 - std::exp(-2.0);
        const double expectedMs = 50 * (1 + 4 * adaptive / 100 * d);
        CAPTURE(adaptive, measuredMs, expectedMs);
        CHECK(measuredMs == Approx(expectedMs).epsilon(0.02));
    }
}

TEST_CASE("limiter: with the sidechain high-pass, bass releases at the guard's speed and the ceiling still holds",
          "[nodes][limiter]") {
    // A +6 dBFS 40 Hz burst on a DC probe. Without the high-pass the reduction decays with the
    // release (200 ms); with a 150 Hz high-pass only the full-band guard holds it, and the guard
    // releases with the lookahead (5 ms): the time constants measured 30 to 40 ms after the burst.
    const std::int64_t frames = 48000, stop = 24000;
    Lanes in(1, std::vector<float>(std::size_t(frames), 0.01f));
    for (std::int64_t n = 0; n < stop; ++n) in[0][std::size_t(n)] += float(2.0 * std::sin(2 * M_PI * 40 * double(n) / kRate));
    const std::int64_t a = stop + 1440, b = stop + 1920;
    const Lanes off = limit(in, limiterParamsWith(200, 10, 0));
    const double offMs = 10.0 / std::log(reductionAt(in, off, a) / reductionAt(in, off, b));
    CAPTURE(offMs);
    CHECK(offMs == Approx(200).epsilon(0.02));
    const Lanes on = limit(in, limiterParamsWith(200, 150, 0));
    const double onMs = 10.0 / std::log(reductionAt(in, on, a) / reductionAt(in, on, b));
    CAPTURE(onMs);
    CHECK(onMs == Approx(5).epsilon(0.03));
    // Both keep the ceiling, also on hard material with the high-pass on.
    CHECK(annex2PeakDb(on) <= -1.0);
    for (double rate : {44100.0, 96000.0})
        for (const Material& m : hardMaterial(rate, std::int64_t(rate / 4))) {
            CAPTURE(rate, m.name);
            const Lanes out =
                limit(m.lanes, paramsOf("limiter", {{"ceiling", -1}, {"sidechain_hpf", 120}, {"release", 80}}), rate);
            CHECK(annex2PeakDb(out) <= -1.0);
            if (m.maxHz > 0) CHECK(oversampled16PeakDb(out) <= -1.0 + 0.02);
        }
}

TEST_CASE("limiter: the gain_reduction_db series holds the largest reduction of every 100 ms", "[nodes][limiter]") {
    // 0.5 s quiet, 0.5 s of a +6 dBFS sine (steady reduction 6.02 + 1 dB + safety), 1 s quiet.
    const std::int64_t frames = 96000;
    Lanes in(1, std::vector<float>(std::size_t(frames), 0.0f));
    for (std::int64_t n = 24000; n < 48000; ++n)
        in[0][std::size_t(n)] = float(2.0 * std::sin(2 * M_PI * 1000 * double(n) / kRate));
    const ParamValues p = limiterParams(-1, 5, 50);
    const int latency = latencyOf(p, kRate);
    Lanes padded = in;
    padded[0].resize(std::size_t(frames + latency), 0.0f);
    auto kernel = preparedKernel("limiter", {kRate, 512, detectSimdArch()}, {instanceOf("limiter", p, 1)});
    render(*kernel, padded, 1, 512, RenderPlan{});
    std::vector<MeasurementSeries> series;
    kernel->series(0, series);
    REQUIRE(series.size() == 1);
    const MeasurementSeries& s = series[0];
    CHECK(s.key == "gain_reduction_db");
    CHECK(s.unit == "dB");
    CHECK(s.reduction == "max");
    CHECK(s.framesPerValue == 4800);
    REQUIRE(s.values.size() == 20); // 96000 counted frames (from frame L on) / 4800
    const double steady = std::max(annex2PeakDb(in), 20 * std::log10(2.0)) + 1.0 + 0.3 + 1.0 / (240 - kLimiterDetectionSpan + 2);
    for (int k = 0; k < 20; ++k) {
        CAPTURE(k, s.values[std::size_t(k)]);
        if (k < 4) CHECK(s.values[std::size_t(k)] == 0.0f); // before the sine's lookahead
        if (k >= 6 && k < 10) CHECK(double(s.values[std::size_t(k)]) == Approx(steady).margin(0.002));
        if (k >= 18) CHECK(s.values[std::size_t(k)] < 0.05f); // released: 7 dB exp(-0.8 s / 50 ms)
    }
    std::vector<Measurement> figures;
    kernel->measurements(0, figures);
    double most = 0;
    for (float v : s.values) most = std::max(most, double(v));
    CHECK(most == Approx(figure(figures, "max_gain_reduction_db")).margin(1e-5));
}

TEST_CASE("limiter: the attack's vector gains are libm's exp rounded down to a float, on every SIMD architecture",
          "[nodes][limiter]") {
    // The gain is the float below e^(sum / (2^36 A)) as std::exp gives it; attackGains() decides it
    // from a vector exp where that is safe and says -1 where std::exp must decide (Limiter.cpp,
    // gainCurve()). Over the whole range of ln g, [-23.03, 0], float boundaries (powers of two)
    // and their neighbours, every decided value must be libm's, and undecided ones rare.
    const double divisor = 68719476736.0 * 61; // 2^36 A with A = 61 (5 ms at 48 kHz)
    std::vector<double> sums{0.0};
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> logGain(-23.025850929940457, 0.0);
    for (int i = 0; i < 200000; ++i) sums.push_back(std::floor(logGain(rng) * divisor));
    for (double x : {-1e-9, -1e-6, -0.001, -0.1, -0.5, -1.0, -10.0, -23.0, -23.025850929940457})
        sums.push_back(std::floor(x * divisor));
    for (std::int64_t s = -1; s >= -70; --s) sums.push_back(double(s)); // the smallest reductions
    int boundaries = 0;
    for (int k = 1; k <= 33; ++k) {
        const double exact = std::floor(-double(k) * std::log(2.0) * divisor);
        for (double d = -3; d <= 3; ++d, ++boundaries) sums.push_back(exact + d);
    }
    const auto floorToFloat = [](double value) {
        float rounded = float(value);
        if (double(rounded) > value) rounded = std::nextafter(rounded, 0.0f);
        return rounded;
    };
    const int frames = int(sums.size());
    for (SimdArch arch : availableArchs()) {
        CAPTURE(simdArchName(arch));
        const auto kernel = SG_SIMD_PICK(arch, attackGains);
        std::vector<double> logs(sums.size()), floored(sums.size());
        kernel(sums.data(), frames, divisor, logs.data(), floored.data());
        int undecided = 0;
        for (int i = 0; i < frames; ++i) {
            CAPTURE(i, sums[std::size_t(i)]);
            const double expected = sums[std::size_t(i)] / divisor;
            REQUIRE(std::bit_cast<std::uint64_t>(logs[std::size_t(i)]) == std::bit_cast<std::uint64_t>(expected));
            if (floored[std::size_t(i)] == -1.0) {
                ++undecided;
                continue;
            }
            const float reference = sums[std::size_t(i)] == 0 ? 1.0f : floorToFloat(std::exp(expected));
            REQUIRE(std::bit_cast<std::uint64_t>(floored[std::size_t(i)]) == std::bit_cast<std::uint64_t>(double(reference)));
        }
        CHECK(undecided <= boundaries + 10);
    }
}

TEST_CASE("limiter: the segment scans and chunk maxima give the scalar loops' answers on every SIMD architecture",
          "[nodes][limiter]") {
    // Limiter.cpp replaced these loops by vector scans; each must find exactly what the loop
    // found: at every position and length around the vector steps, with NaN, infinities, signed
    // zeros, denormals and values one float step around the threshold.
    const float threshold = 0.8912509f;
    const float below = std::nextafter(threshold, 0.0f), above = std::nextafter(threshold, 2.0f);
    const float specials[] = {0.0f,
                              -0.0f,
                              1.0f,
                              below,
                              above,
                              threshold,
                              std::numeric_limits<float>::quiet_NaN(),
                              1e-42f,
                              -1e-42f,
                              std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(),
                              0.5f,
                              2.0f};
    const auto firstNonzeroLoop = [](const double* x, int n) {
        int i = 0;
        while (i < n && x[i] == 0.0) ++i;
        return i;
    };
    const auto endOfNonzeroLoop = [](const double* x, int n) {
        int end = n;
        while (end > 0 && x[end - 1] == 0.0) --end;
        return end;
    };
    const auto firstAboveLoop = [](const float* x, int n, float t) {
        int i = 0;
        while (i < n && !(x[i] > t)) ++i;
        return i;
    };
    const auto allUnityLoop = [](const float* x, int n) {
        bool unity = true;
        for (int i = 0; i < n; ++i) unity = unity && x[i] == 1.0f;
        return unity;
    };
    std::mt19937 rng(11);
    for (SimdArch arch : availableArchs()) {
        CAPTURE(simdArchName(arch));
        const auto firstNonzero = SG_SIMD_PICK(arch, firstNonzero);
        const auto endOfNonzero = SG_SIMD_PICK(arch, endOfNonzero);
        const auto firstAbove = SG_SIMD_PICK(arch, firstAbove);
        const auto allUnity = SG_SIMD_PICK(arch, allUnity);
        const auto tileMaxima = SG_SIMD_PICK(arch, tileMaxima);
        for (int n : {0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200}) {
            for (const float special : specials) {
                for (int at = 0; at < n; at += std::max(1, n / 9)) {
                    CAPTURE(n, special, at);
                    // A background of zeros (or of ones, or of values under the threshold), one special value.
                    std::vector<double> sums(std::size_t(n) + 1, 0.0);
                    sums[std::size_t(at)] = double(special);
                    REQUIRE(firstNonzero(sums.data(), n) == firstNonzeroLoop(sums.data(), n));
                    REQUIRE(endOfNonzero(sums.data(), n) == endOfNonzeroLoop(sums.data(), n));
                    std::vector<float> gains(std::size_t(n) + 1, 1.0f);
                    gains[std::size_t(at)] = special;
                    REQUIRE(allUnity(gains.data(), n) == allUnityLoop(gains.data(), n));
                    std::vector<float> peaks(std::size_t(n) + 1);
                    for (auto& p : peaks) p = std::uniform_real_distribution<float>(0.0f, 1.0f)(rng) * below;
                    peaks[std::size_t(at)] = special;
                    REQUIRE(firstAbove(peaks.data(), n, threshold) == firstAboveLoop(peaks.data(), n, threshold));
                    // Tile maxima, in place as Limiter.cpp calls it.
                    std::vector<float> bounds = peaks;
                    const int tiles = (n + 15) / 16;
                    std::vector<float> expected(static_cast<std::size_t>(tiles));
                    for (int t = 0; t < tiles; ++t) {
                        float most = -std::numeric_limits<float>::infinity();
                        bool nan = false;
                        for (int i = 16 * t; i < std::min(n, 16 * t + 16); ++i) {
                            nan = nan || std::isnan(bounds[std::size_t(i)]);
                            most = std::max(most, bounds[std::size_t(i)]);
                        }
                        expected[std::size_t(t)] = nan ? std::numeric_limits<float>::quiet_NaN() : most;
                    }
                    tileMaxima(bounds.data(), n, bounds.data());
                    for (int t = 0; t < tiles; ++t) {
                        CAPTURE(t);
                        const float got = bounds[std::size_t(t)], want = expected[std::size_t(t)];
                        REQUIRE((std::isnan(got) ? std::isnan(want) : got == want));
                    }
                }
            }
        }
        // Chunk maxima: max |x| per 16 frames; with a NaN, at least the others' maximum (an upper
        // bound is what detect() needs; a NaN never reaches a peak).
        const auto chunkMagnitudes = SG_SIMD_PICK(arch, chunkMagnitudes);
        for (const float special : specials) {
            for (int at = 0; at < 48; at += 5) {
                CAPTURE(special, at);
                std::vector<float> x(48);
                for (auto& v : x) v = std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);
                x[std::size_t(at)] = special;
                float out[3];
                chunkMagnitudes(x.data(), 3, out);
                for (int c = 0; c < 3; ++c) {
                    float most = 0;
                    bool nan = false;
                    for (int i = 16 * c; i < 16 * c + 16; ++i) {
                        nan = nan || std::isnan(x[std::size_t(i)]);
                        if (!std::isnan(x[std::size_t(i)])) most = std::max(most, std::fabs(x[std::size_t(i)]));
                    }
                    if (nan)
                        REQUIRE(out[c] >= most);
                    else
                        REQUIRE(out[c] == most);
                }
            }
        }
        // All zeros, all ones, all under: the ends.
        std::vector<double> zeros(300, 0.0);
        CHECK(firstNonzero(zeros.data(), 300) == 300);
        CHECK(endOfNonzero(zeros.data(), 300) == 0);
        std::vector<float> ones(300, 1.0f), quiet(300, below);
        CHECK(allUnity(ones.data(), 300));
        CHECK(firstAbove(quiet.data(), 300, threshold) == 300);
        CHECK(firstAbove(quiet.data(), 300, below) == 300);
        CHECK(firstAbove(quiet.data(), 300, std::nextafter(below, 0.0f)) == 0);
    }
}

TEST_CASE("limiter: while it releases, the peaks it leaves undetected change no bit, with release changes and any "
          "block split",
          "[nodes][limiter]") {
    // Deep limiting (+16 dB noise bursts) then releases over material that rises to meet them
    // (noise and a 0.45 fs tone swelling to +8 dB): detect() then raises the level at which
    // tiles of 512- and 4096-frame blocks skip the exact 8x detection, while 1-frame blocks never
    // do. The release drops from 40 ms to 2 ms, and from 300 ms to 1 ms, in the middle of a hold,
    // where a bound taken across segments would break. Outputs and measurements must agree bit
    // for bit.
    const std::int64_t frames = 30000;
    Lanes input(3, std::vector<float>(std::size_t(frames)));
    const std::vector<float> loud = noise(frames, 6.0f, 11), bed = noise(frames, 0.9f, 12);
    const std::vector<float> tone = sine(0.45 * kRate, 1.33, kRate, frames, 0.3);
    for (std::int64_t n = 0; n < frames; ++n) {
        const bool burst = n % 3000 < 400;
        const float swell = 0.5f + 2.0f * float(n % 3000) / 3000.0f; // the bed rises to meet the release
        for (std::size_t l = 0; l < 3; ++l) {
            const float quiet = l == 1 ? tone[std::size_t(n)] : bed[std::size_t((n * 7 + std::int64_t(l) * 101) % frames)];
            input[l][std::size_t(n)] = burst ? loud[std::size_t((n + std::int64_t(l) * 977) % frames)] : swell * quiet;
        }
    }
    const ParamValues a = limiterParams(-1, 5, 40), b = limiterParams(-2, 8, 300);
    const std::vector<InstanceSetup> setup{instanceOf("limiter", a, 2), instanceOf("limiter", b, 1)};
    const int release = Registry::builtin().find("limiter")->paramIndex("release");
    const std::vector<ParamEvent> events{{7250, 0, release, 2.0}, {16100, 1, release, 1.0}, {22000, 0, release, 700.0}};
    Lanes reference;
    std::vector<Measurement> referenceFigures;
    for (const std::vector<int>& sizes :
         {std::vector<int>{1}, std::vector<int>{4096}, std::vector<int>{512}, std::vector<int>{4096, 7, 1000, 3, 2500}}) {
        CAPTURE(sizes.size(), sizes[0]);
        RenderPlan plan;
        plan.blockSizes = sizes;
        plan.events = events;
        auto kernel = preparedKernel("limiter", {kRate, 4096, detectSimdArch()}, setup);
        const Lanes out = render(*kernel, input, 3, 4096, plan);
        std::vector<Measurement> figures;
        for (int i = 0; i < 2; ++i) kernel->measurements(i, figures);
        if (reference.empty()) {
            reference = out;
            referenceFigures = figures;
            continue;
        }
        REQUIRE(sameBits(out, reference));
        REQUIRE(figures.size() == referenceFigures.size());
        for (std::size_t m = 0; m < figures.size(); ++m)
            CHECK(std::bit_cast<std::uint64_t>(figures[m].value) == std::bit_cast<std::uint64_t>(referenceFigures[m].value));
    }
    // It did limit hard: the material is up to 16 dB over.
    std::vector<Measurement> figures;
    limit({input[2]}, b, kRate, detectSimdArch(), {512}, &figures);
    CHECK(figure(figures, "max_gain_reduction_db") > 10.0);
}

namespace {

/// Limiters prepared in its lifetime detect every frame exactly (setLimiterExhaustiveDetection).
struct ExhaustiveDetection {
    ExhaustiveDetection() { setLimiterExhaustiveDetection(true); }
    ~ExhaustiveDetection() { setLimiterExhaustiveDetection(false); }
    ExhaustiveDetection(const ExhaustiveDetection&) = delete;
    ExhaustiveDetection& operator=(const ExhaustiveDetection&) = delete;
};

/// Hostile material whose level sweeps across the detector's bounds: every 24000 frames a ramp
/// of 8000 frames from -30 dB to +6 dB of `material`, then 16000 frames at -30 dB, so tiles fall
/// on both sides of the quiet test (max|x| x L1 against the ceiling) and of the estimates, and
/// the limiter limits, releases and rests in turn.
Lanes sweptLevels(Lanes material) {
    for (auto& lane : material)
        for (std::size_t n = 0; n < lane.size(); ++n) {
            const double ramp = std::min(1.0, double(n % 24000) / 8000.0) * (n % 24000 < 8000 ? 1.0 : 0.0);
            lane[n] = float(double(lane[n]) * std::pow(10.0, (-30.0 + 36.0 * ramp) / 20.0));
        }
    return material;
}

/// The worst case of the quiet test's bound: back-to-back copies of the signs of the 8x phase
/// with the largest L1 norm, in time order, so the frame each copy lines up with reaches
/// max|x| x L1 exactly; each copy 0.5 % louder than the one before, from 0.12 on. With `decay`,
/// each copy falls from its level to (1 - decay) of it, so chunk maxima differ across the window
/// (the bounds weigh the taps by the maxima of the chunks they read). Taps [holeFirst, holeEnd)
/// get silence instead: with the taps of one of detect()'s estimates (Limiter.cpp, kEstimates),
/// the estimate reads nothing and the exact value is the whole of the estimate's error bound.
std::vector<float> matchedSigns(std::int64_t frames, double decay = 0, int holeFirst = 0, int holeEnd = 0) {
    const OversamplerDesign design = detectionOversampling(8);
    const int taps = oversamplerTapsPerPhase(design);
    const std::vector<double> h = oversamplerPrototype(design);
    int widest = 0;
    double widestNorm = 0;
    for (int k = 0; k < 8; ++k) {
        double norm = 0;
        for (int j = 0; j < taps; ++j) norm += std::fabs(h[std::size_t(8 * j + k)]);
        if (norm > widestNorm) widest = k, widestNorm = norm;
    }
    std::vector<float> out(static_cast<std::size_t>(frames));
    double level = 0.12;
    for (std::int64_t n = 0; n < frames; ++n) {
        const int j = taps - 1 - int(n % taps); // input frame n - j meets tap j
        if (n % taps == 0) level *= 1.005;
        const double envelope = j >= holeFirst && j < holeEnd ? 0.0 : 1 - decay * double(n % taps) / double(taps);
        out[std::size_t(n)] = float(h[std::size_t(8 * j + widest)] >= 0 ? level * envelope : -level * envelope);
    }
    return out;
}

} // namespace

TEST_CASE("limiter: the detection's bounds change no bit: the same output and figures as detecting every frame "
          "exactly, on hostile material",
          "[nodes][limiter]") {
    // Skipped tiles (quiet: no 8x filter, no Annex 2 values), tiles cleared by the 16- and 48-tap
    // estimates, raised thresholds while releasing and the gain computer's runs at rest must
    // all leave the output exactly as the exhaustive detector gives it.
    for (const double rate : {44100.0, 48000.0}) {
        const std::int64_t frames = 48000;
        std::vector<std::pair<const char*, Lanes>> materials;
        // Full-scale near-Nyquist tones: the sample peak far under the true peak.
        materials.push_back(
            {"0.49 fs tones at 0 dBFS", {sine(0.49 * rate, 1.0, rate, frames, 0.3), sine(0.497 * rate, 1.0, rate, frames, 1.9)}});
        // fs/4 at 45 degrees: every sample at 0.707 of the peak; bursts of 700 frames.
        Lanes bursts{sine(rate / 4, 1.0, rate, frames, M_PI / 4), sine(rate / 4, 1.0, rate, frames, -M_PI / 4)};
        for (auto& lane : bursts)
            for (std::size_t n = 0; n < lane.size(); ++n)
                if (n % 1900 >= 700) lane[n] = 0.0f;
        materials.push_back({"fs/4 bursts at 45 degrees", bursts});
        // Noise driven 20 dB into a clipper: full-scale, broadband, flat tops.
        Lanes clipped{noise(frames, 10.0f, 41), noise(frames, 10.0f, 42)};
        for (auto& lane : clipped)
            for (float& x : lane) x = std::clamp(x, -1.0f, 1.0f);
        materials.push_back({"clipped noise +20 dB", clipped});
        materials.push_back({"noise +20 dB", {noise(frames, 10.0f, 43), noise(frames, 10.0f, 44)}});
        // Level sweeps of their own: the bound's worst cases, and fs/2 (no 8x overs, the Annex 2's).
        materials.push_back({"signs matched to the 8x filter", {matchedSigns(frames), matchedSigns(frames)}});
        materials.push_back({"matched signs, decaying", {matchedSigns(frames, 0.8), matchedSigns(frames, 0.5)}});
        materials.push_back({"matched signs around the estimates' taps",
                             {matchedSigns(frames, 0.0, 80, 96), matchedSigns(frames, 0.3, 63, 111)}});
        std::vector<float> nyquist(static_cast<std::size_t>(frames));
        for (std::int64_t n = 0; n < frames; ++n)
            nyquist[std::size_t(n)] = float((n % 2 ? -1.0 : 1.0) * double(n) / double(frames));
        materials.push_back({"fs/2 ramp to 0 dBFS", {nyquist, nyquist}});
        for (std::size_t m = 0; m < materials.size(); ++m) {
            const auto& [name, material] = materials[m];
            const Lanes input = m + 4 < materials.size() ? sweptLevels(material) : material;
            double leastLimited = 100;
            for (const ParamValues& p : {limiterParams(-1, 5, 50), limiterParams(-6, 20, 300), limiterParams(0, 0.5, 1)}) {
                const std::vector<InstanceSetup> setup{instanceOf("limiter", p, 2)};
                RenderPlan plan;
                plan.blockSizes = {4096, 7, 1000, 3, 2500, 512};
                Lanes reference;
                std::vector<Measurement> referenceFigures;
                {
                    const ExhaustiveDetection exhaustive;
                    auto kernel = preparedKernel("limiter", {rate, 4096, detectSimdArch()}, setup);
                    reference = render(*kernel, input, 2, 4096, plan);
                    kernel->measurements(0, referenceFigures);
                }
                CAPTURE(rate, name);
                REQUIRE(figure(referenceFigures, "limited_percent") > 1.0); // it did limit
                leastLimited = std::min(leastLimited, figure(referenceFigures, "limited_percent"));
                for (SimdArch arch : availableArchs())
                    for (const std::vector<int>& sizes :
                         {std::vector<int>{4096}, std::vector<int>{4096, 7, 1000, 3, 2500, 512}}) {
                        CAPTURE(rate, name, simdArchName(arch), sizes.size());
                        RenderPlan skipping;
                        skipping.blockSizes = sizes;
                        auto kernel = preparedKernel("limiter", {rate, 4096, arch}, setup);
                        REQUIRE(sameBits(render(*kernel, input, 2, 4096, skipping), reference));
                        std::vector<Measurement> figures;
                        kernel->measurements(0, figures);
                        REQUIRE(figures.size() == referenceFigures.size());
                        for (std::size_t f = 0; f < figures.size(); ++f)
                            CHECK(std::bit_cast<std::uint64_t>(figures[f].value) ==
                                  std::bit_cast<std::uint64_t>(referenceFigures[f].value));
                    }
            }
            CHECK(leastLimited < 80.0); // and rested
        }
    }
}

namespace {

/// A LimiterGainTape in memory: each stretch as recorded (its frames, and its gains unless
/// copied). Replay hands the stretches back, cut to what each call asks for.
struct MemoryTape final : LimiterGainTape {
    struct Stretch {
        int frames = 0;
        std::vector<float> gains; ///< empty: copied
    };
    std::vector<Stretch> stretches;
    std::size_t next = 0;
    int offset = 0; ///< frames of stretches[next] already played
    void record(const float* gains, int frames) noexcept override {
        stretches.push_back({frames, gains ? std::vector<float>(gains, gains + frames) : std::vector<float>{}});
    }
    int replay(float* gains, int frames, bool& copied) noexcept override {
        if (next == stretches.size()) return 0;
        const Stretch& s = stretches[next];
        const int count = std::min(frames, s.frames - offset);
        copied = s.gains.empty();
        if (!copied) std::copy_n(s.gains.begin() + offset, count, gains);
        offset += count;
        if (offset == s.frames) ++next, offset = 0;
        return count;
    }
};

} // namespace

TEST_CASE("limiter: a gain tape plays the run back bit for bit at any block split, in place, on every SIMD architecture",
          "[nodes][limiter]") {
    // Hostile material: noise clipped at +20 dB, a near-Nyquist tone, silence, subnormals (which
    // a copied stretch keeps and a multiplied one would not under flush-to-zero, the engine's
    // mode, set here as the executor sets it), and ceiling and release changes while it runs.
    const ScopedFlushDenormals flush;
    const std::int64_t frames = 70000;
    Lanes input{noise(frames, 10.0f, 3), sine(23500, 2.0, kRate, frames, 0.1)};
    for (auto& lane : input) {
        for (std::int64_t n = 0; n < frames; ++n) lane[std::size_t(n)] = std::clamp(lane[std::size_t(n)], -10.0f, 10.0f);
        for (std::int64_t n = 10000; n < 50000; ++n) lane[std::size_t(n)] = n % 3 == 0 ? 1e-40f : 0.0f;
    }
    const std::vector<InstanceSetup> setup{instanceOf("limiter", limiterParams(-1, 5, 30), 2)};
    const std::vector<ParamEvent> events{{5000, 0, 0, -6.0}, {55000, 0, 2, 200.0}};
    MemoryTape tape;
    Lanes recorded;
    {
        const LimiterGainTapeScope scope(&tape, false);
        auto kernel = preparedKernel("limiter", {kRate, 4096, detectSimdArch()}, setup);
        RenderPlan plan;
        plan.blockSizes = {4096};
        plan.events = events;
        recorded = render(*kernel, input, 2, 4096, plan);
    }
    // The run went through the three kinds of stretch: limited, copied at rest, copied silence.
    std::int64_t taped = 0, copied = 0;
    for (const auto& s : tape.stretches) {
        taped += s.frames;
        copied += s.gains.empty() ? s.frames : 0;
    }
    REQUIRE(taped == frames);
    CHECK(copied >= 8192);
    CHECK(copied < frames / 2);
    // Without a tape, the same run gives the same bits (recording changes nothing).
    {
        auto kernel = preparedKernel("limiter", {kRate, 4096, detectSimdArch()}, setup);
        RenderPlan plan;
        plan.blockSizes = {4096};
        plan.events = events;
        REQUIRE(sameBits(render(*kernel, input, 2, 4096, plan), recorded));
    }
    for (SimdArch arch : availableArchs())
        for (const auto& sizes : splitPlans(4096, 11))
            for (bool inPlace : {false, true}) {
                CAPTURE(simdArchName(arch), sizes.size(), inPlace);
                tape.next = 0;
                tape.offset = 0;
                const LimiterGainTapeScope scope(&tape, true);
                auto kernel = preparedKernel("limiter", {kRate, 4096, arch}, setup);
                RenderPlan plan;
                plan.blockSizes = sizes;
                plan.events = events; // a replay ignores them: the gains are on the tape
                plan.inPlace = inPlace;
                REQUIRE(sameBits(render(*kernel, input, 2, 4096, plan), recorded));
                CHECK(tape.next == tape.stretches.size());
                std::vector<Measurement> figures;
                kernel->measurements(0, figures);
                for (const auto& m : figures) CHECK(m.value == 0); // it measured nothing: it did not detect
            }
    // A tape takes one limiter's gains: a batch of two is refused.
    {
        const LimiterGainTapeScope scope(&tape, false);
        auto kernel = Registry::builtin().find("limiter")->createKernel();
        const std::vector<InstanceSetup> two{instanceOf("limiter", limiterParams(-1), 1),
                                             instanceOf("limiter", limiterParams(-2), 1)};
        CHECK(kernel->prepare({kRate, 512, detectSimdArch()}, two).find("one limiter") != std::string::npos);
    }
    // A tape that runs out leaves the rest copied (the host reports the tape's error).
    {
        MemoryTape empty;
        const LimiterGainTapeScope scope(&empty, true);
        auto kernel = preparedKernel("limiter", {kRate, 512, detectSimdArch()}, setup);
        const Lanes out = render(*kernel, input, 2, 512);
        const int latency = latencyOf(limiterParams(-1, 5, 30), kRate);
        for (std::size_t l = 0; l < 2; ++l)
            REQUIRE(std::memcmp(out[l].data() + latency, input[l].data(), sizeof(float) * std::size_t(frames - latency)) == 0);
    }
}

TEST_CASE("limiter: peaks detected ahead by a detect-only copy change no bit, whichever lanes it takes and wherever the "
          "feed ends",
          "[nodes][limiter]") {
    // render --target's pass 2 (LimiterPeakFeed): a detect-only limiter on another thread detects
    // the first lanes at the ceiling, the limiter of the run detects the others at its own
    // thresholds (raised while it releases) and takes the maximum. Material: deep limiting
    // (+16 dB noise bursts), then releases over a bed that rises to meet them, a 0.45 fs tone,
    // dense material around the ceiling, a ceiling change (the detect-only copy gets it too: same
    // chain, same parameters) and release changes. Outputs and measurements must agree bit for bit with a limiter that
    // detects everything itself.
    const ScopedFlushDenormals flush;
    const std::int64_t frames = 48000;
    Lanes input(3, std::vector<float>(std::size_t(frames)));
    const std::vector<float> loud = noise(frames, 6.0f, 21), bed = noise(frames, 0.9f, 22);
    const std::vector<float> tone = sine(0.45 * kRate, 1.33, kRate, frames, 0.3);
    std::vector<std::vector<float>> dense;
    for (std::uint32_t l = 0; l < 3; ++l) dense.push_back(sineCluster(kRate, frames, 0.75, 31 + l));
    const float ceilingThen = float(std::pow(10.0, -4.0 / 20.0));
    for (std::int64_t n = 0; n < frames; ++n) {
        const bool burst = n % 3000 < 400;
        const float swell = 0.5f + 2.0f * float(n % 3000) / 3000.0f;
        for (std::size_t l = 0; l < 3; ++l) {
            const float quiet = l == 1 ? tone[std::size_t(n)] : bed[std::size_t((n * 7 + std::int64_t(l) * 101) % frames)];
            input[l][std::size_t(n)] = burst ? loud[std::size_t((n + std::int64_t(l) * 977) % frames)] : swell * quiet;
            // Then dense band-limited material whose true peaks hover around the ceiling (-4 dBTP
            // by then), and isolated short bursts at 0.37 and 0.48 fs from 0.97 to 1.25 times the
            // ceiling, one lane at a time, each alone in its hold, after a fast release has let the
            // gain come back to 1: there a peak detected against a threshold above the ceiling
            // (left at its lower bound, or at the Annex 2 value, which misses near-Nyquist crests)
            // changes the gain. Checked by mutation: detect-only thresholds raised 1.5 times fail
            // this test (before the release change, with the gain still down from the 700 ms
            // release, only 3 times did); up to 1.2 times the bounds' own slack runs the exact
            // filter on every tile with an over, so nothing changes.
            if (n >= 30000 && n < 35000) input[l][std::size_t(n)] = dense[l][std::size_t(n)];
            if (n >= 35000) {
                const std::int64_t cell = (n - 35000) / 400, at = (n - 35000) % 400;
                const bool mine = std::size_t(cell % 3) == l && at < 24;
                const double window = 0.5 - 0.5 * std::cos(2 * M_PI * double(at) / 24.0);
                constexpr double kOver[8] = {0.97, 1.0, 1.02, 1.04, 1.07, 1.1, 1.15, 1.25};
                const double amplitude = ceilingThen * kOver[cell % 8];
                input[l][std::size_t(n)] =
                    mine ? float(amplitude * window *
                                 std::sin(2 * M_PI * (cell % 2 ? 0.48 : 0.37) * double(n) + 0.7 * double(cell)))
                         : 1e-3f * bed[std::size_t(n)];
            }
        }
    }
    const std::vector<InstanceSetup> setup{instanceOf("limiter", limiterParams(-1, 5, 40), 3)};
    const int release = Registry::builtin().find("limiter")->paramIndex("release");
    const int ceiling = Registry::builtin().find("limiter")->paramIndex("ceiling");
    const std::vector<ParamEvent> events{
        {7250, 0, release, 2.0}, {12000, 0, ceiling, -4.0}, {22000, 0, release, 700.0}, {35000, 0, release, 2.0}};
    RenderPlan referencePlan;
    referencePlan.blockSizes = {4096};
    referencePlan.events = events;
    auto referenceKernel = preparedKernel("limiter", {kRate, 4096, detectSimdArch()}, setup);
    const Lanes reference = render(*referenceKernel, input, 3, 4096, referencePlan);
    std::vector<Measurement> referenceFigures;
    referenceKernel->measurements(0, referenceFigures);
    REQUIRE(figure(referenceFigures, "max_gain_reduction_db") > 10);

    // The detect-only copy over the first `detectedFrames` frames, in `sizes` blocks: it outputs
    // silence and measures nothing.
    const auto detectAhead = [&](LimiterPeakFeed& feed, std::int64_t detectedFrames, const std::vector<int>& sizes) {
        const LimiterPeakFeedScope scope(&feed, true);
        auto kernel = preparedKernel("limiter", {kRate, 4096, detectSimdArch()}, setup);
        Lanes head = input;
        for (auto& lane : head) lane.resize(std::size_t(detectedFrames));
        RenderPlan plan;
        plan.blockSizes = sizes;
        plan.events = events;
        const Lanes out = render(*kernel, head, 3, 4096, plan);
        for (const auto& lane : out) CHECK(std::all_of(lane.begin(), lane.end(), [](float v) { return v == 0.0f; }));
        std::vector<Measurement> figures;
        kernel->measurements(0, figures);
        for (const auto& m : figures) CHECK(m.value == 0);
    };
    struct Case {
        double lanesAhead;
        std::int64_t detectedFrames; ///< the feed ends here: the rest is detected by the limiter itself
        std::vector<int> producerSizes, consumerSizes;
    };
    // Fractional shares: one more lane in some of the producer's blocks, whose edges fall
    // anywhere in the consumer's (the feed keeps each frame's count).
    for (const Case& c : {Case{1, frames, {4096}, {4096}}, Case{2, frames, {512}, {4096, 7, 1000, 3, 2500}},
                          Case{3, frames, {1000, 3}, {1}}, Case{1, 23456, {4096}, {333}}, Case{2, 4096 * 3, {4096}, {4096}},
                          Case{1.75, frames, {4096}, {4096}}, Case{0.5, frames, {1000, 24}, {4096, 7, 1000}},
                          Case{2.625, frames, {333}, {512}}, Case{0.125, 30000, {4096}, {1500}}}) {
        for (SimdArch arch : availableArchs()) {
            CAPTURE(c.lanesAhead, c.detectedFrames, c.producerSizes.size(), c.consumerSizes.size(), simdArchName(arch));
            LimiterPeakFeed feed(int(frames), c.lanesAhead);
            detectAhead(feed, c.detectedFrames, c.producerSizes);
            const LimiterPeakFeedScope scope(&feed, false);
            auto kernel = preparedKernel("limiter", {kRate, 4096, arch}, setup);
            RenderPlan plan;
            plan.blockSizes = c.consumerSizes;
            plan.events = events;
            REQUIRE(sameBits(render(*kernel, input, 3, 4096, plan), reference));
            std::vector<Measurement> figures;
            kernel->measurements(0, figures);
            REQUIRE(figures.size() == referenceFigures.size());
            for (std::size_t m = 0; m < figures.size(); ++m) CHECK(figures[m].value == referenceFigures[m].value);
            // It took the feed's peaks for most of what the feed held (a block across its end
            // is detected here).
            CHECK(feed.framesTaken() > c.detectedFrames - 4096);
            CHECK(feed.framesTaken() <= c.detectedFrames);
        }
    }
}

TEST_CASE("limiter: a peak feed hands frames over in order, and stops rather than overwrite or skip", "[nodes][limiter]") {
    LimiterPeakFeed feed(8, 1);
    const float a[] = {1, 2, 3, 4, 5, 6};
    float out[8] = {};
    int lanes = -1;
    CHECK(feed.put(0, a, 6, 1));
    CHECK_FALSE(feed.take(4, out, 3, lanes)); // not all written yet: the consumer detects 4..6 itself
    CHECK(lanes == 0);
    CHECK(feed.put(6, a, 2, 2));        // frames 6, 7 with two lanes detected
    CHECK(feed.put(8, a + 2, 4, 3));    // the consumer is past 7: 12 - 7 <= 8, nothing untaken is overwritten
    CHECK(feed.take(7, out, 5, lanes)); // frames 7..11 = a[1..5]
    CHECK((out[0] == 2 && out[4] == 6));
    CHECK(lanes == 2); // the fewest of frames 7 (2) and 8..11 (3)
    CHECK(feed.framesTaken() == 5);
    CHECK_FALSE(feed.put(13, a, 1, 1)); // a gap: the feed stops
    CHECK_FALSE(feed.take(12, out, 1, lanes));
    LimiterPeakFeed small(4, 1);
    CHECK_FALSE(small.put(0, a, 5, 1)); // more than it holds
    CHECK_FALSE(small.take(0, out, 1, lanes));
    // The producer's lanes, block by block: 1.75 = one lane always, a second in 3 blocks of 4.
    LimiterPeakFeed shared(8, 1.75);
    std::vector<int> blocks;
    for (int k = 0; k < 8; ++k) blocks.push_back(shared.nextLanes());
    CHECK(blocks == std::vector<int>{1, 2, 2, 2, 1, 2, 2, 2});
    LimiterPeakFeed whole(8, 2);
    CHECK((whole.nextLanes() == 2 && whole.nextLanes() == 2));
    // A limiter that takes a feed takes one instance's peaks.
    const LimiterPeakFeedScope scope(&feed, false);
    auto kernel = Registry::builtin().find("limiter")->createKernel();
    const std::vector<InstanceSetup> two{instanceOf("limiter", limiterParams(-1), 1),
                                         instanceOf("limiter", limiterParams(-2), 1)};
    CHECK(kernel->prepare({kRate, 512, detectSimdArch()}, two).find("one limiter") != std::string::npos);
}
