// bands: octave band energies against the analog Butterworth band shape (a tone at each midband
// lands in its band, neighbours attenuated as the formula says), equal octave energies for a
// pink multitone, +3.01 dB per octave for white noise within its statistics, the total
// level of a full-scale sine, split-independent readings, at three rates.
#include "tests/nodes/StereoTesting.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>

using namespace sg;
using namespace sg::stereotest;

namespace {

const char* kKeys[] = {"band_31_5hz_db", "band_63hz_db", "band_125hz_db", "band_250hz_db", "band_500hz_db",
                       "band_1khz_db",   "band_2khz_db", "band_4khz_db",  "band_8khz_db",  "band_16khz_db"};
const std::string kGraph = oneNodeGraph("{type: bands}", 1, 1);

double midband(int band) { return 1000 * std::pow(10.0, 0.3 * (band - 5)); }

/// Power response of band `band` at f: 6th-order Butterworth high-pass at the lower edge times
/// low-pass at the upper edge (IEC 61260-1 base-10 edges), bilinear-transformed with the edges
/// prewarped: |H|^2 = 1 / (1 + (tan(pi f/fs) / tan(pi fc/fs))^(+-12)). An edge at or above
/// 0.45 fs is not built (the band reaches Nyquist), as documented.
double bandPower(int band, double f, double rate) {
    const double edge = std::pow(10.0, 0.15), low = midband(band) / edge, high = midband(band) * edge;
    const auto warped = [&](double hz) { return std::tan(std::numbers::pi * hz / rate); };
    double power = 1;
    if (low < 0.45 * rate) power /= 1 + std::pow(warped(low) / warped(f), 12);
    if (high < 0.45 * rate) power /= 1 + std::pow(warped(f) / warped(high), 12);
    return power;
}

/// Sum of equal-amplitude sines at frequencies spaced evenly in log f (pink: equal energy per
/// octave), random phases, 10 Hz .. fmax; `pink` false spaces them evenly in f (white).
std::vector<float> multitone(bool pink, double rate, std::int64_t frames, double fmax) {
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> phase(0, 2 * std::numbers::pi);
    std::vector<double> sum(std::size_t(frames), 0.0);
    const int tones = 220;
    for (int k = 0; k < tones; ++k) {
        const double u = (k + 0.5) / tones;
        const double f = pink ? 10 * std::pow(fmax / 10, u) : 10 + (fmax - 10) * u;
        const double p = phase(rng), w = 2 * std::numbers::pi * f / rate;
        for (std::int64_t n = 0; n < frames; ++n) sum[std::size_t(n)] += std::sin(w * double(n) + p);
    }
    std::vector<float> out(sum.size());
    for (std::size_t n = 0; n < sum.size(); ++n) out[n] = float(sum[n] / 60);
    return out;
}

} // namespace

TEST_CASE("bands: a tone at a midband lands in its band; neighbours follow the Butterworth shape", "[bands]") {
    for (double rate : kRates)
        for (int band = 0; band < 10; ++band) {
            const double f = midband(band);
            const std::int64_t frames = std::int64_t(rate * 2);
            const GraphRun run = runGraph(kGraph, {{sg::test::sine(f, 1.0, rate, frames)}}, rate);
            INFO("rate " << rate << " band " << kKeys[band] << " at " << f << " Hz");
            const double ownDb = 10 * std::log10(bandPower(band, f, rate)); // -0.14 dB: both skirts reach in
            CHECK(measured(run, "n", kKeys[band]) ==
                  Approx(ownDb).margin(0.1)); // the readings include the filters' onset transient
            CHECK(ownDb > -0.15);
            CHECK(measured(run, "n", "total_db") == Approx(-3.0103).margin(0.01)); // full-scale sine
            for (int other : {band - 1, band + 1}) {
                if (other < 0 || other > 9) continue;
                const double formulaDb = 10 * std::log10(bandPower(other, f, rate));
                const double got = measured(run, "n", kKeys[other]);
                INFO("neighbour " << kKeys[other] << ": " << got << " dB, analog formula " << formulaDb);
                CHECK(got < -17.5);                                          // one octave off: -18.1 dB or more by the formula
                CHECK(got == Approx(formulaDb).margin(f < 100 ? 0.3 : 0.1)); // low bands: longer onset transients in 2 s
            }
        }
}

TEST_CASE("bands: pink multitone gives equal octaves, white noise +3.01 dB per octave within its statistics", "[bands]") {
    for (double rate : kRates) {
        const std::int64_t frames = std::int64_t(rate * 4);
        const GraphRun pink = runGraph(kGraph, {{multitone(true, rate, frames / 2, 20000)}}, rate);
        INFO("rate " << rate);
        const double pinkReference = measured(pink, "n", kKeys[5]);
        CHECK(pinkReference == Approx(10 * std::log10(1 / std::log2(20000 / 10.0))).margin(0.3)); // 1 of 11 octaves
        for (int band = 1; band <= 8; ++band) {
            INFO("band " << kKeys[band]);
            CHECK(measured(pink, "n", kKeys[band]) == Approx(pinkReference).margin(0.3));
        }
        // Real white noise, clipped at full scale (its spectrum stays white): bands from 250 Hz
        // have >= 700 degrees of freedom per channel-second; 0.5 dB is > 3 sigma.
        const GraphRun noise = runGraph(kGraph, {{clippedNoise(frames, 8)}}, rate);
        for (int band = 3; band <= 7; ++band)
            CHECK(measured(noise, "n", kKeys[band + 1]) - measured(noise, "n", kKeys[band]) ==
                  Approx(10 * std::log10(2.0)).margin(0.5));
        // Readings do not depend on the block split or batching; the audio passes unchanged.
        const Planar in{clippedNoise(std::int64_t(rate / 2), 2), square(std::int64_t(rate / 2), 3)};
        const std::string stereo = oneNodeGraph("{type: bands}");
        const GraphRun reference = runGraph(stereo, {in}, rate);
        std::string where;
        CHECK(sg::test::bitIdentical(reference.outputs, {in}, &where));
        for (const auto& plan : kBlockPlans)
            for (bool batch : {true, false}) {
                const GraphRun run = runGraph(stereo, {in}, rate, plan, batch);
                for (const char* key : kKeys) CHECK(measured(run, "n", key) == measured(reference, "n", key));
                CHECK(measured(run, "n", "total_db") == measured(reference, "n", "total_db"));
            }
    }
}
