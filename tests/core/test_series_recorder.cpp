// SeriesRecorder: each value is its window's max / mean / last, checked against a direct
// computation over the frames it covers, before and after the storage fills and merges.
#include "core/SeriesRecorder.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace sg;

namespace {

/// The value of the window [begin, end) of `x` under `reduction`.
float direct(const std::vector<float>& x, std::int64_t begin, std::int64_t end, const std::string& reduction) {
    if (reduction == "max") return *std::max_element(x.begin() + begin, x.begin() + end);
    if (reduction == "last") return x[std::size_t(end - 1)];
    return float(std::accumulate(x.begin() + begin, x.begin() + end, 0.0) / double(end - begin));
}

} // namespace

TEST_CASE("series recorder: values are their windows' reductions, also after merging", "[core][series]") {
    std::vector<float> x(100000);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(0.0011 * double(i)) * 10 + (i % 7 == 0 ? 3 : 0));
    for (auto reduction : {SeriesRecorder::Reduction::Max, SeriesRecorder::Reduction::Mean, SeriesRecorder::Reduction::Last}) {
        SeriesRecorder recorder;
        recorder.prepare(48000, 10, reduction, 8); // windows of 4800 frames, merged after 8 values
        for (float v : x) recorder.add(v);
        const MeasurementSeries s = recorder.snapshot("level", "dB");
        INFO("reduction " << s.reduction << ", frames per value " << s.framesPerValue);
        // 100000 frames: 20 windows of 4800 would not fit in 8 values, so the window doubled
        // twice (8 -> 4 at 38400 frames, again at 76800): 19200 frames per value.
        CHECK(s.framesPerValue == 19200);
        REQUIRE(s.values.size() == 6); // 5 whole windows + the partial one
        for (std::size_t k = 0; k < s.values.size(); ++k) {
            const std::int64_t begin = std::int64_t(k) * s.framesPerValue;
            const std::int64_t end = std::min<std::int64_t>(begin + s.framesPerValue, std::int64_t(x.size()));
            INFO("value " << k);
            CHECK(s.values[k] == Approx(direct(x, begin, end, s.reduction)).epsilon(1e-5));
        }
    }
}

TEST_CASE("series recorder: reset forgets, a short input gives its partial window", "[core][series]") {
    SeriesRecorder recorder;
    recorder.prepare(44100, 10, SeriesRecorder::Reduction::Max);
    for (int i = 0; i < 10000; ++i) recorder.add(float(i));
    recorder.reset();
    CHECK(recorder.snapshot("x", "").values.empty());
    for (int i = 0; i < 100; ++i) recorder.add(float(-i));
    const MeasurementSeries s = recorder.snapshot("x", "");
    CHECK(s.framesPerValue == 4410);
    REQUIRE(s.values.size() == 1);
    CHECK(s.values[0] == 0.0f);
}
