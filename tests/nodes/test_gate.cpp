// gate: hold and hysteresis on bursts (exact frames), opening and closing time constants, the
// expander curve and range, sidechain keying, pass-through bit for bit while open, and block
// splits / batching.
#include "tests/nodes/DynamicsTesting.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace sg;
using namespace sg::nodetest;
using namespace sg::dyntest;

namespace {

float dbfs(double db) { return float(std::pow(10.0, db / 20)); }

} // namespace

TEST_CASE("gate: hysteresis keeps it open, hold delays the close by exactly hold frames, then release and attack",
          "[nodes][gate]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        INFO("rate " << rate);
        const double holdMs = 20, releaseMs = 50, attackMs = 2;
        const auto params = paramsOf("gate", {{"threshold", -50},
                                              {"hysteresis", 4},
                                              {"hold", holdMs},
                                              {"release", releaseMs},
                                              {"attack", attackMs},
                                              {"range", 60},
                                              {"window", 0}});
        // -20 dBFS burst, then -52 (inside the hysteresis band: stays open), then -60 (closes after
        // the hold), then -20 again (opens).
        const std::int64_t a = std::int64_t(0.1 * rate), b = std::int64_t(0.3 * rate), c = std::int64_t(0.6 * rate),
                           d = std::int64_t(1.2 * rate), frames = std::int64_t(1.5 * rate);
        std::vector<float> x = square(frames, 1.0f);
        scale(x, 0, a, dbfs(-70));
        scale(x, a, b, dbfs(-20));
        scale(x, b, c, dbfs(-52));
        scale(x, c, d, dbfs(-60));
        scale(x, d, frames, dbfs(-20));
        auto kernel = preparedKernel("gate", {rate, 512, detectSimdArch()}, {instanceOf("gate", params, 1)});
        const Lanes y = render(*kernel, {x}, 1, 512);
        const std::int64_t hold = std::llround(holdMs * rate / 1000);
        // Open (after the attack from the closed start) through the hysteresis band and the hold.
        const std::int64_t settled = a + std::int64_t(0.05 * rate);
        bool exact = true;
        for (std::int64_t n = settled; n < c + hold; ++n) exact = exact && y[0][std::size_t(n)] == x[std::size_t(n)];
        CHECK(exact);
        CHECK(y[0][std::size_t(c + hold)] < x[std::size_t(c + hold)] * 0.999f); // the first closed frame
        const double k = 1 - std::exp(-1.0);
        const std::int64_t closed = crossing(x, y[0], c + hold, 0, -60, k);
        CHECK(double(closed - (c + hold) + 1) / rate * 1000 == Approx(releaseMs).margin(1000 / rate));
        CHECK(gainDbAt(x, y[0], d - 1) == Approx(-60).margin(0.01)); // range
        const std::int64_t opened = crossing(x, y[0], d, -60, 0, k);
        CHECK(double(opened - d + 1) / rate * 1000 == Approx(attackMs).margin(1000 / rate));
        CHECK(y[0].back() == x.back());
    }
}

TEST_CASE("gate: as an expander (no hysteresis, no hold) it follows (R - 1)(X - T) down to the range", "[nodes][gate]") {
    const double rate = 48000;
    const auto params = paramsOf(
        "gate",
        {{"threshold", -40}, {"ratio", 2}, {"range", 30}, {"hysteresis", 0}, {"hold", 0}, {"release", 10}, {"window", 0}});
    std::vector<InstanceSetup> setup;
    Lanes in;
    const std::int64_t frames = 24000;
    for (int db = -80; db <= 0; db += 5) {
        setup.push_back(instanceOf("gate", params, 1));
        in.push_back(square(frames, dbfs(db)));
    }
    auto kernel = preparedKernel("gate", {rate, 512, detectSimdArch()}, setup);
    const Lanes y = render(*kernel, in, int(in.size()), 512);
    for (std::size_t k = 0; k < in.size(); ++k) {
        const double level = toDb(std::fabs(double(in[k][0])));
        const double expected = std::max(-30.0, std::min(0.0, (2 - 1) * (level - -40)));
        INFO("level " << level);
        CHECK(gainDbAt(in[k], y[k], frames - 1) == Approx(expected).margin(0.01));
    }
}

TEST_CASE("gate: keyed by its sidechain, and batching and block splits change no bit", "[nodes][gate]") {
    for (double rate : {44100.0, 96000.0}) {
        const std::int64_t frames = std::int64_t(0.5 * rate);
        const Lanes in = noiseLanes(2, frames, 4, 0.5f);
        std::vector<float> key(std::size_t(frames), 0.0f);
        for (std::int64_t n = frames / 3; n < 2 * frames / 3; ++n) key[std::size_t(n)] = 0.5f * float(std::sin(0.05 * double(n)));
        const auto params = paramsOf("gate", {{"threshold", -30}, {"hold", 5}, {"release", 10}, {"sidechain_hpf", 100}});
        auto kernel = preparedKernel("gate", {rate, 4096, detectSimdArch()}, {keyedInstance("gate", params, 2, 1)});
        const Lanes reference = renderKeyed(*kernel, in, {key}, 4096, {4096});
        // Closed (at the range) before the key, open while it sounds.
        CHECK(peakOf(reference[0], frames / 6, frames / 3) < 1.01e-4 * 0.5); // 80 dB range
        const std::int64_t mid = frames / 2;
        CHECK(reference[0][std::size_t(mid)] == in[0][std::size_t(mid)]);
        for (const auto& plan : splitPlans(4096)) {
            auto k2 = preparedKernel("gate", {rate, 4096, SimdArch::Sse2}, {keyedInstance("gate", params, 2, 1)});
            CHECK(sameBits(renderKeyed(*k2, in, {key}, 4096, plan), reference));
        }
        // Batched with a second, unkeyed instance: instance 0's lanes keep their bits.
        auto batched = preparedKernel("gate", {rate, 4096, detectSimdArch()},
                                      {keyedInstance("gate", params, 2, 1), keyedInstance("gate", params, 1, 0)});
        const Lanes both = renderKeyed(*batched, {in[0], in[1], in[0]}, {key}, 4096, {100});
        CHECK(sameBits(Lanes{both[0], both[1]}, reference));
    }
}
