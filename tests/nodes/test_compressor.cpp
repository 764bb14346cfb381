// compressor: the static curve against the Giannoulis et al. formula (knee included) on steady
// sines, attack and release time constants measured on level steps of a full-scale square,
// sidechain keying, sidechain high-pass, stereo link, auto release, measurements and series
// against the gain actually applied, hostile inputs, and block splits / SIMD / batching.
#include "tests/nodes/DynamicsTesting.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

using namespace sg;
using namespace sg::nodetest;
using namespace sg::dyntest;

namespace {

const std::vector<double> kRates{44100.0, 48000.0, 96000.0};

std::vector<float> sineAt(double hz, double db, double rate, std::int64_t frames) {
    return sg::test::sine(hz, std::pow(10.0, db / 20), rate, frames);
}

} // namespace

TEST_CASE("compressor: static curve on steady sines from -60 to 0 dBFS matches the soft-knee formula", "[nodes][compressor]") {
    for (double rate : kRates)
        for (double detector : {0.0, 1.0}) {
            INFO("rate " << rate << ", detector " << detector);
            const double t = -30, r = 4, w = 12;
            const auto params = paramsOf("compressor", {{"threshold", t},
                                                        {"ratio", r},
                                                        {"knee", w},
                                                        {"attack", 2},
                                                        {"release", 50},
                                                        {"detector", detector},
                                                        {"window", 10}});
            std::vector<InstanceSetup> setup;
            Lanes in;
            const std::int64_t frames = std::int64_t(0.4 * rate);
            for (int db = -60; db <= 0; ++db) {
                setup.push_back(instanceOf("compressor", params, 1));
                in.push_back(sineAt(1000, db, rate, frames));
            }
            auto kernel = preparedKernel("compressor", {rate, 512, detectSimdArch()}, setup);
            const Lanes out = render(*kernel, in, int(in.size()), 512);
            const std::int64_t from = frames - std::int64_t(0.05 * rate);
            double worst = 0;
            for (std::size_t k = 0; k < in.size(); ++k) {
                // The detector's level: the sample peak, or the mean square over whole periods.
                double level = toDb(peakOf(in[k], from, frames));
                if (detector == 1.0) {
                    const std::int64_t window = std::llround(0.01 * rate);
                    double sum = 0;
                    for (std::int64_t n = frames - window; n < frames; ++n)
                        sum += double(in[k][std::size_t(n)]) * in[k][std::size_t(n)];
                    level = 10 * std::log10(sum / double(window));
                }
                const double measured = toDb(peakOf(out[k], from, frames) / peakOf(in[k], from, frames));
                const double expected = compressorCurveDb(level, t, r, w);
                INFO("input " << int(k) - 60 << " dBFS: level " << level << ", gain " << measured << " dB, formula " << expected);
                CHECK(std::fabs(measured - expected) < 0.05);
                worst = std::max(worst, std::fabs(measured - expected));
            }
            std::printf("compressor static curve, rate %.0f detector %.0f: worst error %.2e dB\n", rate, detector, worst);
        }
}

TEST_CASE("compressor: attack and release are one-pole time constants on the gain in dB", "[nodes][compressor]") {
    for (double rate : kRates)
        for (double attackMs : {1.0, 10.0})
            for (double releaseMs : {30.0, 200.0}) {
                INFO("rate " << rate << ", attack " << attackMs << " ms, release " << releaseMs << " ms");
                const auto params = paramsOf(
                    "compressor",
                    {{"threshold", -30}, {"ratio", 4}, {"knee", 0}, {"attack", attackMs}, {"release", releaseMs}, {"window", 0}});
                const std::int64_t up = std::int64_t(0.1 * rate), down = std::int64_t(1.2 * rate),
                                   frames = std::int64_t(3.0 * rate);
                std::vector<float> x = square(frames, 1.0f); // 0 dBFS square, -40 dBFS outside [up, down)
                scale(x, 0, up, 0.01f);
                scale(x, down, frames, 0.01f);
                auto kernel = preparedKernel("compressor", {rate, 512, detectSimdArch()}, {instanceOf("compressor", params, 1)});
                const Lanes y = render(*kernel, {x}, 1, 512);
                const double full = compressorCurveDb(0, -30, 4, 0); // -22.5 dB
                const double k = 1 - std::exp(-1.0);
                const std::int64_t a = crossing(x, y[0], up, 0, full, k), rl = crossing(x, y[0], down, full, 0, k);
                const double attackMeasured = double(a - up + 1) / rate * 1000,
                             releaseMeasured = double(rl - down + 1) / rate * 1000;
                INFO("attack measured " << attackMeasured << " ms, release measured " << releaseMeasured << " ms");
                CHECK(std::fabs(attackMeasured - attackMs) <= 1000 / rate + 0.005 * attackMs);
                CHECK(std::fabs(releaseMeasured - releaseMs) <= 1000 / rate + 0.005 * releaseMs);
                CHECK(gainDbAt(x, y[0], down - 1) == Approx(full).margin(0.01)); // settled before the fall
                // The tail of the release is the exponential: full * exp(-(n - down + 1) / (tau fs)).
                const std::int64_t last = frames - 1;
                CHECK(gainDbAt(x, y[0], last) ==
                      Approx(full * std::exp(-double(last - down + 1) / (releaseMs / 1000 * rate))).margin(2e-4));
            }
}

TEST_CASE("compressor: a kick on the sidechain ducks a steady tone; a silent sidechain changes nothing", "[nodes][compressor]") {
    for (double rate : kRates) {
        INFO("rate " << rate);
        const std::int64_t frames = std::int64_t(2 * rate), period = std::int64_t(0.5 * rate);
        const std::vector<float> tone = sineAt(440, -12, rate, frames);
        std::vector<float> kick(std::size_t(frames), 0.0f);
        for (std::int64_t n = 0; n < frames; ++n) {
            const double t = double(n % period) / rate;
            kick[std::size_t(n)] = float(std::exp(-t / 0.05) * std::sin(2 * std::numbers::pi * 55 * t));
        }
        const auto params = paramsOf("compressor", {{"threshold", -30}, {"ratio", 10}, {"attack", 1}, {"release", 80}});
        auto kernel = preparedKernel("compressor", {rate, 512, detectSimdArch()}, {keyedInstance("compressor", params, 1, 1)});
        const Lanes ducked = renderKeyed(*kernel, {tone}, {kick}, 512, {512});
        // Tone alone would not be touched at -30 dB threshold? It is -12 dBFS: key on the kick only.
        double deepest = 0, atKickEnd = 0;
        for (std::int64_t n = 0; n < frames; ++n)
            if (tone[std::size_t(n)] != 0.0f && std::fabs(tone[std::size_t(n)]) > 0.1)
                deepest = std::min(deepest, gainDbAt(tone, ducked[0], n));
        const std::int64_t quiet = period - std::int64_t(0.01 * rate); // kick decayed by ~ -85 dB
        atKickEnd = toDb(peakOf(ducked[0], quiet - 200, quiet) / peakOf(tone, quiet - 200, quiet));
        INFO("deepest duck " << deepest << " dB, at the end of a kick period " << atKickEnd << " dB");
        CHECK(deepest < -20);
        CHECK(atKickEnd > -0.5);

        auto silentKernel =
            preparedKernel("compressor", {rate, 512, detectSimdArch()}, {keyedInstance("compressor", params, 1, 1)});
        const Lanes untouched = renderKeyed(*silentKernel, {tone}, {std::vector<float>(std::size_t(frames), 0.0f)}, 512, {512});
        CHECK(sameBits(untouched, Lanes{tone}));
    }
}

TEST_CASE("compressor: the sidechain high-pass keeps a low kick from keying", "[nodes][compressor]") {
    const double rate = 48000;
    const std::int64_t frames = std::int64_t(rate);
    const std::vector<float> tone = sineAt(1000, -30, rate, frames), bass = sineAt(50, 0, rate, frames);
    auto reduction = [&](double hpf) {
        const auto params = paramsOf("compressor", {{"threshold", -20}, {"ratio", 8}, {"knee", 0}, {"sidechain_hpf", hpf}});
        auto kernel = preparedKernel("compressor", {rate, 512, detectSimdArch()}, {keyedInstance("compressor", params, 1, 1)});
        const Lanes y = renderKeyed(*kernel, {tone}, {bass}, 512, {512});
        return toDb(peakOf(y[0], frames / 2, frames) / peakOf(tone, frames / 2, frames));
    };
    const double off = reduction(0), on = reduction(1000);
    // 50 Hz through a 2nd-order Butterworth high-pass at 1 kHz: |H| = (f/fc)^2 / sqrt(1 + (f/fc)^4) = -52 dB.
    INFO("reduction without high-pass " << off << " dB, with 1 kHz high-pass " << on << " dB");
    CHECK(off == Approx(compressorCurveDb(0, -20, 8, 0)).margin(0.1));
    CHECK(on == 0.0);
}

TEST_CASE("compressor: link 0 % keys each channel alone, 100 % on the loudest, 50 % halfway in dB", "[nodes][compressor]") {
    for (double rate : kRates) {
        const std::int64_t frames = std::int64_t(0.5 * rate);
        const Lanes in{square(frames, 1.0f), square(frames, float(std::pow(10.0, -30.0 / 20)))}; // 0 and -30 dBFS
        for (double link : {0.0, 50.0, 100.0}) {
            INFO("rate " << rate << ", link " << link);
            const auto params =
                paramsOf("compressor", {{"threshold", -20}, {"ratio", 4}, {"knee", 0}, {"window", 0}, {"link", link}});
            auto kernel = preparedKernel("compressor", {rate, 512, detectSimdArch()}, {instanceOf("compressor", params, 2)});
            const Lanes y = render(*kernel, in, 2, 512);
            const std::int64_t n = frames - 1;
            CHECK(gainDbAt(in[0], y[0], n) == Approx(compressorCurveDb(0, -20, 4, 0)).margin(0.001));
            const double keyR = -30 + link / 100 * 30; // X_R = L_R + k (max - L_R)
            CHECK(gainDbAt(in[1], y[1], n) == Approx(compressorCurveDb(keyR, -20, 4, 0)).margin(0.001));
            if (link == 0) CHECK(sameBits(Lanes{y[1]}, Lanes{in[1]})); // the quiet channel untouched, bit for bit
        }
    }
}

TEST_CASE("compressor: peak detector, link 100 %: bit for bit keyed on max(|l|, |r|), hostile stereo", "[nodes][compressor]") {
    // With full link every channel keys on the loudest channel's level, and the peak level of
    // the loudest is the peak level of max_c |d_c|: the same as one key channel carrying that.
    for (double rate : kRates) {
        const std::int64_t frames = std::int64_t(0.4 * rate);
        Lanes in{sg::test::noise(frames, 10.0f, 21), sineAt(0.497 * rate, 0, rate, frames)}; // +20 dB drive, near Nyquist
        for (float& v : in[1]) v = std::clamp(v * 1.5f, -1.0f, 1.0f);                        // clipped
        scale(in[0], frames / 3, 2 * frames / 3, 0.001f); // the right channel leads in the middle third
        std::vector<float> key(static_cast<std::size_t>(frames));
        for (std::size_t n = 0; n < key.size(); ++n) key[n] = std::max(std::fabs(in[0][n]), std::fabs(in[1][n]));
        for (double autoRelease : {0.0, 1.0}) {
            INFO("rate " << rate << ", auto release " << autoRelease);
            const auto params = paramsOf(
                "compressor",
                {{"threshold", -24}, {"ratio", 4}, {"knee", 6}, {"makeup", 2}, {"auto_release", autoRelease}, {"link", 100}});
            auto linked = preparedKernel("compressor", {rate, 512, detectSimdArch()}, {instanceOf("compressor", params, 2)});
            auto keyed = preparedKernel("compressor", {rate, 512, detectSimdArch()}, {keyedInstance("compressor", params, 2, 1)});
            const Lanes y = renderKeyed(*linked, in, {}, 512, {512, 61, 300});
            CHECK(sameBits(y, renderKeyed(*keyed, in, {key}, 512, {512})));
            CHECK(gainDbAt(in[0], y[0], frames - 1) == Approx(gainDbAt(in[1], y[1], frames - 1)).margin(1e-4));
        }
    }
}

TEST_CASE("compressor: link stepping to and from 100 % mid-stream keeps each detector's history", "[nodes][compressor]") {
    // Instant attack: a rising gain reduction follows the level at once, so entering link 100 %
    // (whose shared maximum over the window is exact) must give the bits of link 100 % all
    // along. Leaving it, each channel's own level is back one window later; the release (>= 1 ms)
    // then carries a memory of the earlier levels that decays by e per ms.
    const double rate = 48000;
    const std::int64_t frames = 24000, change = 9001, window = 480; // window 10 ms
    Lanes in = noiseLanes(2, frames, 5, 2.0f);
    scale(in[1], 0, frames, 0.05f);
    scale(in[1], 8800, 9100, 40.0f); // the quiet channel peaks just around the change
    const NodeType* type = Registry::builtin().find("compressor");
    auto renderWith = [&](double first, double then) {
        const auto params =
            paramsOf("compressor", {{"threshold", -20}, {"ratio", 3}, {"attack", 0}, {"release", 1}, {"link", first}});
        auto kernel = preparedKernel("compressor", {rate, 1024, detectSimdArch()}, {instanceOf("compressor", params, 2)});
        RenderPlan plan;
        plan.blockSizes = {1024, 333};
        if (then != first) plan.events = {{change, 0, type->paramIndex("link"), then}};
        return render(*kernel, in, 2, 1024, plan);
    };
    auto sameFrom = [](const Lanes& a, const Lanes& b, std::int64_t from, std::int64_t to) {
        for (std::size_t l = 0; l < a.size(); ++l)
            for (std::int64_t n = from; n < to; ++n)
                if (std::memcmp(&a[l][std::size_t(n)], &b[l][std::size_t(n)], sizeof(float)) != 0) return false;
        return true;
    };
    const Lanes half = renderWith(50, 50), full = renderWith(100, 100);
    REQUIRE(!sameFrom(half, full, change, frames)); // the link matters on this material
    const Lanes entering = renderWith(50, 100), leaving = renderWith(100, 50);
    CHECK(sameFrom(entering, half, 0, change));
    CHECK(sameFrom(entering, full, change, frames));
    CHECK(sameFrom(leaving, full, 0, change));
    double worstDb = 0;
    for (int c = 0; c < 2; ++c)
        for (std::int64_t n = change + window + 1000; n < frames; ++n) // 1000 frames: ~20 release times
            if (in[std::size_t(c)][std::size_t(n)] != 0.0f)
                worstDb = std::max(worstDb, std::fabs(gainDbAt(in[std::size_t(c)], leaving[std::size_t(c)], n) -
                                                      gainDbAt(in[std::size_t(c)], half[std::size_t(c)], n)));
    INFO("largest gain difference after leaving link 100 %: " << worstDb << " dB");
    CHECK(worstDb < 1e-4);
}

TEST_CASE("compressor: leaving a shared level, each channel goes on from the gain it had, without a step",
          "[nodes][compressor]") {
    // At link 100 % with the peak detector the channels share one level, and only the first
    // channel's recursion runs (the others are copies); on leaving, every channel continues from
    // the shared state, the gain it was given. A quiet channel keyed on the loud one for 50 ms
    // (under the 100 ms attack, so its own recursion would have lagged far behind) must release
    // from the loud channel's reduction, not jump to a state of its own. Auto release on and off.
    const double rate = 48000;
    const std::int64_t frames = 24000, enter = 4800, leave = 7200;
    const Lanes in{square(frames, 1.0f), square(frames, 0.001f)}; // 0 dBFS and -60 dBFS
    const NodeType* type = Registry::builtin().find("compressor");
    for (double autoRelease : {0.0, 1.0}) {
        INFO("auto release " << autoRelease);
        const auto params = paramsOf("compressor", {{"threshold", -20},
                                                    {"ratio", 4},
                                                    {"knee", 0},
                                                    {"attack", 100},
                                                    {"release", 500},
                                                    {"link", 0},
                                                    {"auto_release", autoRelease}});
        auto kernel = preparedKernel("compressor", {rate, 512, detectSimdArch()}, {instanceOf("compressor", params, 2)});
        RenderPlan plan;
        plan.blockSizes = {512, 333};
        plan.events = {{enter, 0, type->paramIndex("link"), 100}, {leave, 0, type->paramIndex("link"), 0}};
        const Lanes y = render(*kernel, in, 2, 512, plan);
        const double shared = gainDbAt(in[0], y[0], leave - 1);
        CHECK(shared < -10);                                                    // the loud channel's reduction
        CHECK(gainDbAt(in[1], y[1], leave - 1) == Approx(shared).margin(1e-4)); // given to the quiet one
        double largestStep = 0;
        for (std::int64_t n = leave - 10; n < leave + 480; ++n)
            largestStep = std::max(largestStep, std::fabs(gainDbAt(in[1], y[1], n) - gainDbAt(in[1], y[1], n - 1)));
        INFO("largest step of the quiet channel's gain around leaving: " << largestStep << " dB");
        CHECK(largestStep < 0.01);
        CHECK(gainDbAt(in[1], y[1], frames - 1) > shared + 5); // and it releases
    }
}

TEST_CASE("compressor: auto release is slower after sustained compression than after a short peak", "[nodes][compressor]") {
    const double rate = 48000, releaseMs = 50;
    const auto params =
        paramsOf("compressor",
                 {{"threshold", -30}, {"ratio", 4}, {"knee", 0}, {"window", 0}, {"release", releaseMs}, {"auto_release", 1}});
    auto releaseAfter = [&](double burstSeconds) {
        const std::int64_t up = 4800, down = up + std::int64_t(burstSeconds * rate), frames = down + std::int64_t(3 * rate);
        std::vector<float> x = square(frames, 1.0f);
        scale(x, 0, up, 0.01f);
        scale(x, down, frames, 0.01f);
        auto kernel = preparedKernel("compressor", {rate, 512, detectSimdArch()}, {instanceOf("compressor", params, 1)});
        const Lanes y = render(*kernel, {x}, 1, 512);
        const double start = gainDbAt(x, y[0], down - 1);
        return double(crossing(x, y[0], down, start, 0, 1 - std::exp(-1.0)) - down + 1) / rate * 1000;
    };
    const double shortPeak = releaseAfter(0.02), sustained = releaseAfter(2.0);
    INFO("release after 20 ms: " << shortPeak << " ms, after 2 s: " << sustained << " ms");
    CHECK(shortPeak < 2 * releaseMs);
    CHECK(sustained > 5 * releaseMs);
}

TEST_CASE("compressor: measurements and the 10 Hz series match the gain applied", "[nodes][compressor]") {
    const double rate = 44100;
    const std::int64_t frames = std::int64_t(1.5 * rate);
    std::vector<float> x = square(frames, 1.0f, 11);
    for (std::int64_t n = 0; n < frames; ++n)
        x[std::size_t(n)] *= float(0.05 + 0.95 * std::fabs(std::sin(3.0 * double(n) / rate)));
    const auto params = paramsOf("compressor", {{"threshold", -24}, {"ratio", 3}, {"window", 0}, {"attack", 5}, {"release", 60}});
    auto kernel = preparedKernel("compressor", {rate, 512, detectSimdArch()}, {instanceOf("compressor", params, 1)});
    const Lanes y = render(*kernel, {x}, 1, 333);
    double maxDb = 0, sumDb = 0;
    std::vector<double> windows;
    const std::int64_t perValue = 4410;
    for (std::int64_t n = 0; n < frames; ++n) {
        const double reduction = -gainDbAt(x, y[0], n);
        maxDb = std::max(maxDb, reduction);
        sumDb += reduction;
        if (n % perValue == 0) windows.push_back(reduction);
        windows.back() = std::max(windows.back(), reduction);
    }
    std::vector<Measurement> m;
    kernel->measurements(0, m);
    REQUIRE(m.size() == 2);
    CHECK(m[0].key == "max_gain_reduction_db");
    CHECK(m[0].value == Approx(maxDb).margin(1e-3));
    CHECK(m[1].key == "mean_gain_reduction_db");
    CHECK(m[1].value == Approx(sumDb / double(frames)).margin(1e-3));
    std::vector<MeasurementSeries> s;
    kernel->series(0, s);
    REQUIRE(s.size() == 1);
    CHECK(s[0].key == "gain_reduction_db");
    CHECK(s[0].framesPerValue == perValue);
    REQUIRE(s[0].values.size() == windows.size());
    for (std::size_t k = 0; k < windows.size(); ++k) CHECK(s[0].values[k] == Approx(windows[k]).margin(1e-3));
}

TEST_CASE("compressor: hostile inputs stay finite and never gain without makeup", "[nodes][compressor]") {
    const double rate = 44100;
    const std::int64_t frames = 44100;
    std::vector<float> drive = sg::test::noise(frames, 10.0f, 3); // +20 dB
    std::vector<float> clipped = sg::test::noise(frames, 4.0f, 5);
    for (float& v : clipped) v = std::clamp(v, -1.0f, 1.0f);
    const Lanes inputs{drive,
                       clipped,
                       square(frames, 1.0f, 1),
                       std::vector<float>(std::size_t(frames), 0.0f),
                       std::vector<float>(std::size_t(frames), 0.7f),
                       sineAt(0.497 * rate, 0, rate, frames)};
    for (double detector : {0.0, 1.0}) {
        const auto params = paramsOf("compressor", {{"threshold", -40}, {"ratio", 100}, {"attack", 0}, {"detector", detector}});
        std::vector<InstanceSetup> setup(inputs.size(), instanceOf("compressor", params, 1));
        auto kernel = preparedKernel("compressor", {rate, 512, detectSimdArch()}, setup);
        const Lanes y = render(*kernel, inputs, int(inputs.size()), 512);
        for (std::size_t l = 0; l < inputs.size(); ++l)
            for (std::int64_t n = 0; n < frames; ++n) {
                const float v = y[l][std::size_t(n)];
                if (!std::isfinite(v) || std::fabs(v) > std::fabs(inputs[l][std::size_t(n)])) {
                    FAIL("lane " << l << " frame " << n << ": " << v);
                }
            }
        CHECK(sameBits(Lanes{y[3]}, Lanes{inputs[3]})); // silence stays exact silence
        // DC at -3 dBFS with a -40 dB threshold, 100:1 and attack 0: settles at the curve.
        CHECK(gainDbAt(inputs[4], y[4], frames - 1) == Approx(compressorCurveDb(toDb(0.7), -40, 100, 6)).margin(0.01));
    }
}

TEST_CASE("compressor: auto release switched on mid-stream starts from the reduction of that moment", "[nodes][compressor]") {
    // Hot noise at +20 dB with quiet gaps: the compressor works hard and releases. Before the
    // switch the output is the one without auto release, bit for bit; at the switch the gain moves
    // by no more than one frame of the recursion (no step from a slow path that ran unseen); after
    // it, the slow path only ever holds more reduction, and in the last gap it does.
    const double rate = 44100;
    const std::int64_t frames = std::int64_t(2 * rate), at = 40000;
    Lanes in = noiseLanes(2, frames, 21, 10.0f);
    for (auto& lane : in) {
        scale(lane, 30000, 36000, 0.001f); // a gap before the switch: the fast path has released
        scale(lane, 70000, frames, 0.001f);
    }
    const auto params = paramsOf("compressor", {{"threshold", -30}, {"ratio", 8}, {"release", 200}});
    const NodeType* type = Registry::builtin().find("compressor");
    auto kernelOff = preparedKernel("compressor", {rate, 512, detectSimdArch()}, {instanceOf("compressor", params, 2)});
    auto kernelOn = preparedKernel("compressor", {rate, 512, detectSimdArch()}, {instanceOf("compressor", params, 2)});
    const Lanes off = renderKeyed(*kernelOff, in, {}, 512, {512, 100, 7});
    const Lanes on = renderKeyed(*kernelOn, in, {}, 512, {512, 100, 7}, {{at, 0, type->paramIndex("auto_release"), 1}});
    for (int c = 0; c < 2; ++c) {
        const auto& x = in[std::size_t(c)];
        CHECK(std::memcmp(on[std::size_t(c)].data(), off[std::size_t(c)].data(), sizeof(float) * std::size_t(at)) == 0);
        CHECK(std::fabs(gainDbAt(x, on[std::size_t(c)], at) - gainDbAt(x, off[std::size_t(c)], at)) < 0.01);
        std::int64_t deeper = 0, shallower = 0;
        for (std::int64_t n = at; n < frames; ++n) {
            if (std::fabs(x[std::size_t(n)]) < 1e-3f) continue;
            const double gOn = gainDbAt(x, on[std::size_t(c)], n), gOff = gainDbAt(x, off[std::size_t(c)], n);
            deeper += gOn < gOff - 1e-3 ? 1 : 0;
            shallower += gOn > gOff + 1e-3 ? 1 : 0;
        }
        CHECK(shallower == 0);
        CHECK(deeper > 1000); // the slow path does hold the reduction
    }
}

TEST_CASE("compressor: block splits, SIMD architectures and batching change no bit", "[nodes][compressor]") {
    for (double rate : kRates) {
        const std::int64_t frames = std::int64_t(0.3 * rate);
        const Lanes in = noiseLanes(3, frames, 11, 3.0f);
        Lanes key = noiseLanes(1, frames, 99, 1.0f);
        scale(key[0], 0, frames / 2, 0.01f);
        const std::vector<InstanceSetup> setup{
            keyedInstance("compressor", paramsOf("compressor", {{"auto_release", 1}, {"sidechain_hpf", 200}, {"makeup", 6}}), 2,
                          0),
            keyedInstance("compressor", paramsOf("compressor", {{"detector", 1}, {"link", 30}}), 1, 1)};
        const NodeType* type = Registry::builtin().find("compressor");
        // Auto release is switched on in the instance without it and off and on again in the
        // other: its slow path rests while no lane of the batch uses it and restarts on a switch.
        const std::vector<ParamEvent> events{
            {1001, 0, type->paramIndex("threshold"), -40},  {2003, 1, type->paramIndex("ratio"), 20},
            {2500, 1, type->paramIndex("auto_release"), 1}, {3007, 0, type->paramIndex("makeup"), -3},
            {4000, 0, type->paramIndex("auto_release"), 0}, {4500, 0, type->paramIndex("auto_release"), 1},
            {5000, 1, type->paramIndex("attack"), 0}};
        // Batched: both instances in one kernel; keys only on instance 1's port (lanes 0).
        auto render2 = [&](SimdArch arch, const std::vector<int>& blocks) {
            auto kernel = preparedKernel("compressor", {rate, 4096, arch}, setup);
            return renderKeyed(*kernel, in, key, 4096, blocks, events);
        };
        const Lanes reference = render2(SimdArch::Sse2, {4096});
        for (SimdArch arch : availableArchs())
            for (const auto& plan : splitPlans(4096)) {
                INFO("rate " << rate << ", " << simdArchName(arch) << ", " << plan.size() << " block sizes, first " << plan[0]);
                CHECK(sameBits(render2(arch, plan), reference));
            }
        // Unbatched: each instance alone gives the same bits as its lanes in the batch.
        auto alone0 = preparedKernel("compressor", {rate, 4096, SimdArch::Sse2}, {setup[0]});
        std::vector<ParamEvent> events0, events1;
        for (auto e : events) {
            if (e.instance == 0)
                events0.push_back(e);
            else {
                e.instance = 0;
                events1.push_back(e);
            }
        }
        const Lanes y0 = renderKeyed(*alone0, {in[0], in[1]}, {}, 4096, {777}, events0);
        auto alone1 = preparedKernel("compressor", {rate, 4096, SimdArch::Sse2}, {setup[1]});
        const Lanes y1 = renderKeyed(*alone1, {in[2]}, key, 4096, {64}, events1);
        CHECK(sameBits(Lanes{y0[0], y0[1], y1[0]}, reference));
    }
}

// Not run by default (hidden tag): a quick cost figure for the report, 32 batched mono compressors.
TEST_CASE("compressor: cost per sample and channel", "[.][perf]") {
    const double rate = 48000;
    const std::int64_t frames = std::int64_t(10 * rate);
    for (double detector : {0.0, 1.0}) {
        const auto params = paramsOf("compressor", {{"detector", detector}, {"threshold", -30}});
        const std::vector<InstanceSetup> setup(32, instanceOf("compressor", params, 1));
        const Lanes in = noiseLanes(32, frames, 1, 1.0f);
        auto kernel = preparedKernel("compressor", {rate, 512, detectSimdArch()}, setup);
        const auto start = std::chrono::steady_clock::now();
        const Lanes y = render(*kernel, in, 32, 512);
        const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
        std::printf("compressor detector %.0f: %.2f ns per sample per channel (32 lanes, render harness copies included)\n",
                    detector, ns / double(frames) / 32);
    }
}
