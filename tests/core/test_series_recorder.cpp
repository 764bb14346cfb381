// SeriesRecorder: each value is its window's max / mean / last, checked against a direct
// computation over the frames it covers, before and after the storage fills and merges.
#include "core/SeriesRecorder.h"

#include "core/Denormals.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
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

TEST_CASE("series recorder: values added a segment at a time are those added one by one, bit for bit, hostile values",
          "[core][series]") {
    // Segments of 1 to 97 frames across window borders; NaN (first in a window and later),
    // +-inf, +-0, denormals, large and small values: the max of each window must have the same
    // bits as the one-value add() gives (std::max order: a NaN first value wins, a later one is
    // ignored, equal values keep the earlier).
    std::vector<float> x(20000);
    std::uint32_t seed = 7;
    for (std::size_t i = 0; i < x.size(); ++i) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = float(std::ldexp(double(seed >> 8) / 8388608.0 - 1.0, int(seed % 40) - 20));
    }
    const float specials[] = {std::numeric_limits<float>::quiet_NaN(), -0.0f,  0.0f,   std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(), 1e-42f, -1e-42f};
    for (std::size_t i = 0; i < x.size(); i += 37) x[i] = specials[(i / 37) % 7];
    x[4410] = std::numeric_limits<float>::quiet_NaN();                        // the first frame of the second window
    for (std::size_t i = 8820; i < 13230; ++i) x[i] = (i % 2) ? 0.0f : -0.0f; // a window of zeros of both signs
    for (auto reduction : {SeriesRecorder::Reduction::Max, SeriesRecorder::Reduction::Mean, SeriesRecorder::Reduction::Last}) {
        for (const bool longSegments : {false, true}) {
            SeriesRecorder one, segments;
            one.prepare(44100, 10, reduction, 4); // merges after 4 values: the merged values too
            segments.prepare(44100, 10, reduction, 4);
            for (float v : x) one.add(v);
            // Segments of 1 to 97 frames, or long ones (whole and partial windows at once).
            for (std::size_t i = 0, size = 1; i < x.size(); i += size, size = longSegments ? size * 3 % 9001 + 17 : size % 97 + 1)
                segments.add(x.data() + i, std::min(size, x.size() - i));
            const MeasurementSeries a = one.snapshot("x", ""), b = segments.snapshot("x", "");
            INFO((longSegments ? "long segments" : "short segments"));
            INFO("reduction " << a.reduction);
            REQUIRE(a.values.size() == b.values.size());
            for (std::size_t k = 0; k < a.values.size(); ++k) {
                std::uint32_t bitsA = 0, bitsB = 0;
                std::memcpy(&bitsA, &a.values[k], 4);
                std::memcpy(&bitsB, &b.values[k], 4);
                INFO("value " << k << ": " << a.values[k] << " vs " << b.values[k]);
                // A NaN made by arithmetic (a mean over +inf and -inf) has no defined sign or
                // payload: which operand an add propagates is the compiler's choice of operand order.
                CHECK((bitsA == bitsB || (std::isnan(a.values[k]) && std::isnan(b.values[k]))));
            }
        }
    }
}

namespace {

/// The window maxima of `x`, frame after frame: a value replaces the window's maximum only when
/// it is larger (std::max's rule, compared in the current floating-point mode), and the bits
/// kept are that frame's, moved, never computed.
std::vector<std::uint32_t> frameOrderMaxima(const std::vector<float>& x, std::size_t window) {
    std::vector<std::uint32_t> out;
    std::uint32_t most = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        std::uint32_t bits = 0;
        std::memcpy(&bits, &x[i], 4);
        float current = 0;
        std::memcpy(&current, &most, 4);
        if (i % window == 0 || current < x[i]) most = bits;
        if (i % window == window - 1 || i + 1 == x.size()) out.push_back(most);
    }
    return out;
}

} // namespace

TEST_CASE("series recorder: a window's max is its first largest frame, bit for bit, at any segmentation; "
          "ties of +-0 and denormals too",
          "[core][series]") {
    // Windows of 4800 frames whose maximum is a zero or a denormal, reached by +0, -0 and
    // denormals of both signs at positions that fall in different accumulators and in either
    // order (where a combination of partial maxima could pick another of the equal values), with
    // and without denormals-are-zero (the engine's processing mode, under which denormals compare
    // equal to zero); windows of noise with NaN first and later; segments of 64 to 4800 frames,
    // of 1 to 63, and one frame at a time (add(value)). Every way gives the frame-order answer:
    // a render's series do not depend on its block size.
    const std::size_t window = 4800, frames = 40 * window;
    std::vector<float> x(frames);
    std::uint32_t seed = 11;
    const auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
    const float nan = std::numeric_limits<float>::quiet_NaN(), denormal = 3e-42f, smaller = 1e-44f;
    for (std::size_t w = 0; w < 40; ++w) {
        float* v = x.data() + w * window;
        for (std::size_t n = 0; n < window; ++n) v[n] = -float(next() >> 8) / 65536.0f - 1e-3f; // negative
        switch (w % 8) { // pairs 12 frames apart: in one chain, the later in an earlier accumulator
        case 0:
            for (std::size_t n = 5; n < 9; ++n) v[n] = -0.0f, v[n + 12] = 0.0f;
            break;
        case 1:
            for (std::size_t n = 300; n < 304; ++n) v[n] = 0.0f, v[n + 12] = -0.0f;
            break;
        case 2:
            for (std::size_t n = 5; n < 9; ++n) v[n] = smaller, v[n + 12] = denormal;
            v[4000] = -0.0f;
            break;
        case 3:
            for (std::size_t n = 2000; n < 2004; ++n) v[n] = -denormal, v[n + 12] = 0.0f, v[n + 24] = denormal;
            break;
        case 4:
            v[0] = -0.0f, v[40] = 0.0f;
            break; // the window's first value is the tie
        case 5:
            for (std::size_t n = 0; n < window; ++n) v[n] = float(next() >> 8);
            v[0] = nan;
            break;
        case 6:
            for (std::size_t n = 0; n < window; ++n) v[n] = float(next() >> 8);
            v[77] = nan, v[78] = -nan;
            break;
        case 7:
            v[1000] = 0.0f;
            break; // +0 only
        }
    }
    for (const bool daz : {false, true}) {
        for (const bool longSegments : {true, false}) {
            std::vector<std::size_t> sizes;
            if (longSegments)
                for (std::size_t s = 64; s <= window; s = s * 3 + 5) sizes.push_back(s);
            else
                for (std::size_t s = 1; s < 64; ++s) sizes.push_back(s);
            sizes.push_back(1024);
            std::vector<std::uint32_t> expected;
            MeasurementSeries got, single;
            const auto run = [&] {
                expected = frameOrderMaxima(x, window);
                SeriesRecorder recorder, oneByOne;
                recorder.prepare(48000, 10, SeriesRecorder::Reduction::Max);
                oneByOne.prepare(48000, 10, SeriesRecorder::Reduction::Max);
                for (std::size_t i = 0, s = 0; i < x.size(); ++s) {
                    const std::size_t count = std::min(x.size() - i, sizes[s % sizes.size()]);
                    recorder.add(x.data() + i, count);
                    i += count;
                }
                for (const float v : x) oneByOne.add(v);
                got = recorder.snapshot("x", "");
                single = oneByOne.snapshot("x", "");
            };
            if (daz) {
                ScopedFlushDenormals flush;
                run();
            } else {
                run();
            }
            INFO((daz ? "denormals-are-zero" : "IEEE") << (longSegments ? ", long segments" : ", short segments"));
            REQUIRE(got.values.size() == expected.size());
            REQUIRE(single.values.size() == expected.size());
            std::size_t mismatches = 0;
            for (std::size_t k = 0; k < expected.size(); ++k) {
                std::uint32_t a = 0, one = 0;
                std::memcpy(&a, &got.values[k], 4);
                std::memcpy(&one, &single.values[k], 4);
                const std::uint32_t b = expected[k];
                if ((a != b || one != b) && mismatches < 8)
                    UNSCOPED_INFO("window " << k << ": segments 0x" << std::hex << a << ", one by one 0x" << one
                                            << ", expected 0x" << b);
                mismatches += a != b || one != b ? 1 : 0;
            }
            CHECK(mismatches == 0);
        }
    }
}
