// io::quantize against an independent reference: the dither sequence from TpdfDither::next(),
// q = clamp(floor(x 2^(bits-1) + d + 0.5)) in double (exact there), the clip count from the
// definition; on hostile input, for any split of the stream into calls, on the baseline and the
// AVX2 copy of the fused loop. io::packLittleEndian against libsndfile's own int conversion.
#include "core/Simd.h"
#include "host/io/Dither.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>
#include <sndfile.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

using namespace sg;
using namespace sg::io;

namespace {

/// Hostile samples: +20 dB noise, clipped noise, a near-Nyquist full-scale tone, values on and
/// next to the rounding and clipping boundaries, infinities, denormals, signed zeros.
std::vector<float> hostileSamples(int bits) {
    std::vector<float> x = sg::test::noise(20011, 10.0f, 3);
    std::vector<float> clipped = sg::test::noise(9001, 4.0f, 8);
    for (float& v : clipped) v = std::max(-1.0f, std::min(1.0f, v));
    x.insert(x.end(), clipped.begin(), clipped.end());
    for (int n = 0; n < 5003; ++n) x.push_back(float(std::sin(std::numbers::pi * 0.994 * n)));
    const float lsb = std::ldexp(1.0f, 1 - bits);
    for (float k : {0.0f, 0.5f, 1.5f, -0.5f, -1.5f, 2.5f, 1e6f})
        for (float e : {-1.0f, 0.0f, 1.0f}) x.push_back(std::nextafter(k * lsb, k * lsb + e));
    for (float v : {1.0f, -1.0f, 1.0f - lsb, 1.0f - lsb / 2, -1.0f - lsb, std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::denorm_min(), -0.0f, 0.0f})
        x.push_back(v);
    return x;
}

struct Reference {
    std::vector<std::int32_t> q;
    std::uint64_t clipped = 0;
};

Reference reference(const std::vector<float>& x, int bits, std::uint64_t seed) {
    TpdfDither dither(seed);
    const double scale = std::ldexp(1.0, bits - 1);
    Reference r;
    for (float v : x) {
        const double d = dither.next();
        double q = std::floor(double(v) * scale + d + 0.5);
        q = std::max(-scale, std::min(scale - 1, q));
        r.q.push_back(std::int32_t(q) * (std::int32_t(1) << (32 - bits)));
        const double level = double(v) * scale;
        r.clipped += (level < -scale || level > scale - 1) ? 1 : 0;
    }
    return r;
}

/// quantize() over x in calls of the cycled sizes.
Reference quantized(const std::vector<float>& x, int bits, std::uint64_t seed, const std::vector<std::size_t>& calls) {
    TpdfDither dither(seed);
    Reference r;
    r.q.assign(x.size(), 0);
    std::vector<float> scratch(x.size());
    for (std::size_t at = 0, k = 0; at < x.size(); ++k) {
        const std::size_t n = std::min(calls[k % calls.size()], x.size() - at);
        r.clipped += quantize(x.data() + at, n, bits, r.q.data() + at, scratch.data(), dither);
        at += n;
    }
    return r;
}

/// Sets STAGEGRAPH_SIMD for its lifetime (io::quantize picks its loop per call).
class ForcedSimd {
public:
    explicit ForcedSimd(const char* arch) {
        if (const char* old = std::getenv("STAGEGRAPH_SIMD")) previous_ = old, hadPrevious_ = true;
        if (arch)
            ::setenv("STAGEGRAPH_SIMD", arch, 1);
        else
            ::unsetenv("STAGEGRAPH_SIMD");
    }
    ~ForcedSimd() {
        if (hadPrevious_)
            ::setenv("STAGEGRAPH_SIMD", previous_.c_str(), 1);
        else
            ::unsetenv("STAGEGRAPH_SIMD");
    }

private:
    std::string previous_;
    bool hadPrevious_ = false;
};

} // namespace

TEST_CASE("quantize: every sample is the rounded, clamped, dithered value; clips counted; any split, any SIMD", "[io]") {
    const std::vector<std::vector<std::size_t>> splits{{8192}, {1}, {3, 5, 4096, 7}, {4095, 2, 1}, {1 << 20}};
    for (const char* arch : {"sse2", static_cast<const char*>(nullptr)}) {
        ForcedSimd forced(arch);
        for (int bits : {8, 16, 24}) {
            const std::vector<float> x = hostileSamples(bits);
            const Reference expected = reference(x, bits, 77);
            REQUIRE(expected.clipped > 1000); // the material does clip
            for (const auto& calls : splits) {
                INFO((arch ? arch : simdArchName(detectSimdArch())) << ", " << bits << " bits, first call " << calls[0]);
                const Reference got = quantized(x, bits, 77, calls);
                CHECK(got.clipped == expected.clipped);
                std::size_t firstDifference = x.size();
                for (std::size_t i = 0; i < x.size() && firstDifference == x.size(); ++i)
                    if (got.q[i] != expected.q[i]) firstDifference = i;
                INFO("first difference at " << firstDifference);
                CHECK(firstDifference == x.size());
            }
        }
    }
}

TEST_CASE("quantize: the fused loop leaves the dither sequence where next() would", "[io]") {
    // After quantising n samples, the generator continues with value n of the sequence.
    TpdfDither fused(9), alone(9);
    std::vector<float> x(1001, 0.25f), scratch(1001);
    std::vector<std::int32_t> q(1001);
    quantize(x.data(), 3, 16, q.data(), scratch.data(), fused);
    quantize(x.data(), 998, 16, q.data(), scratch.data(), fused);
    for (int i = 0; i < 1001; ++i) alone.next();
    bool same = true;
    for (int i = 0; i < 100; ++i) same = same && fused.next() == alone.next();
    CHECK(same);
}

TEST_CASE("packLittleEndian writes the bytes libsndfile writes for 16, 24 and 32-bit WAV", "[io]") {
    // The oracle: the same left-justified samples through sf_writef_int into a WAV file, whose
    // data chunk is compared byte for byte.
    test::TempDir dir;
    TpdfDither dither(3);
    std::vector<float> x = hostileSamples(24);
    x.resize(x.size() / 2 * 2); // whole stereo frames
    std::vector<float> scratch(x.size());
    for (int bits : {16, 24, 32}) {
        INFO(bits << " bits");
        std::vector<std::int32_t> q(x.size());
        if (bits == 32) // full 32-bit values: every byte matters
            for (std::size_t i = 0; i < q.size(); ++i) q[i] = std::int32_t(0x9E3779B9u * std::uint32_t(i + 1));
        else
            quantize(x.data(), x.size(), bits, q.data(), scratch.data(), dither);
        const std::string path = dir.path() + "/oracle" + std::to_string(bits) + ".wav";
        SF_INFO info{};
        info.samplerate = 48000;
        info.channels = 2;
        info.format = SF_FORMAT_WAV | (bits == 16 ? SF_FORMAT_PCM_16 : bits == 24 ? SF_FORMAT_PCM_24 : SF_FORMAT_PCM_32);
        SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
        REQUIRE(file != nullptr);
        REQUIRE(sf_writef_int(file, q.data(), sf_count_t(q.size() / 2)) == sf_count_t(q.size() / 2));
        sf_close(file);
        std::ifstream stream(path, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
        const std::size_t data = bytes.find("data");
        REQUIRE(data != std::string::npos);
        const std::size_t size = q.size() * std::size_t(bits / 8);
        REQUIRE(bytes.size() >= data + 8 + size);
        // Whole, none, one sample, and counts around the 16-sample steps of the vector path, on
        // every architecture (the AVX-512 one where the CPU has VBMI).
        for (const char* arch : {"sse2", "avx2", static_cast<const char*>(nullptr)}) {
            ForcedSimd forced(arch);
            for (std::size_t count : {q.size(), std::size_t(0), std::size_t(1), std::size_t(15), std::size_t(16), std::size_t(17),
                                      std::size_t(47), std::size_t(48), std::size_t(1001)}) {
                INFO((arch ? arch : simdArchName(detectSimdArch())) << ", " << count << " samples");
                std::vector<unsigned char> packed(size + 1, 0xA5);
                packLittleEndian(q.data(), count, bits / 8, packed.data());
                const std::size_t n = count * std::size_t(bits / 8);
                CHECK(std::memcmp(packed.data(), bytes.data() + data + 8, n) == 0);
                CHECK(packed[n] == 0xA5); // nothing written past the end
            }
        }
    }
}

TEST_CASE("interleave and deinterleave move every value, bit for bit, for any length and channel count, any SIMD", "[io]") {
    // Values with every bit pattern that matters: NaNs with payloads, signed zeros, denormals.
    std::vector<std::uint32_t> patterns;
    for (std::uint32_t i = 0; i < 4000; ++i) patterns.push_back(0x9E3779B9u * (i + 1));
    patterns[5] = 0x7FC01234u;  // a quiet NaN with a payload
    patterns[17] = 0x80000000u; // -0
    patterns[33] = 0x00000001u; // the smallest denormal
    for (const char* arch : {"sse2", "avx2", static_cast<const char*>(nullptr)}) {
        ForcedSimd forced(arch);
        for (int channels : {1, 2, 3})
            for (int frames : {0, 1, 15, 16, 17, 31, 32, 33, 1000}) {
                INFO((arch ? arch : simdArchName(detectSimdArch())) << ", " << channels << " channels, " << frames << " frames");
                AudioBuffer planar(channels, std::max(frames, 1)), back(channels, std::max(frames, 1));
                for (int c = 0; c < channels; ++c)
                    std::memcpy(planar.channel(c), patterns.data() + std::size_t(c) * 1000, sizeof(float) * std::size_t(frames));
                std::vector<float> interleaved(std::size_t(channels) * std::size_t(frames) + 1);
                std::memcpy(&interleaved.back(), &patterns[3999], sizeof(float));
                interleave(ConstAudioView(planar.view().frameRange(0, frames)), interleaved.data());
                std::size_t wrong = 0;
                for (int f = 0; f < frames; ++f)
                    for (int c = 0; c < channels; ++c)
                        wrong += std::memcmp(&interleaved[std::size_t(f) * std::size_t(channels) + std::size_t(c)],
                                             &patterns[std::size_t(c) * 1000 + std::size_t(f)], sizeof(float)) != 0;
                CHECK(wrong == 0);
                CHECK(std::memcmp(&interleaved.back(), &patterns[3999], sizeof(float)) == 0); // nothing past the end
                deinterleave(interleaved.data(), back.view().frameRange(0, frames));
                for (int c = 0; c < channels; ++c)
                    CHECK(std::memcmp(back.channel(c), planar.channel(c), sizeof(float) * std::size_t(frames)) == 0);
            }
    }
}

TEST_CASE("interleave with a factor is a float multiply, then interleave; deinterleaveStored reads quantize's integers "
          "as the values they store, for any length and channel count, any SIMD",
          "[io]") {
    // The oracle: the same multiply in scalar float (a gain node's), and q / 2^31 in double
    // (exact) rounded to float, on values from the whole float range (+20 dB noise, denormals,
    // infinities, signed zeros) and every left-justified 24- and 16-bit integer pattern that
    // matters (the extremes, ±1, zero).
    std::vector<float> values = sg::test::noise(4000, 10.0f, 17);
    values[3] = std::numeric_limits<float>::denorm_min();
    values[8] = -0.0f;
    values[13] = std::numeric_limits<float>::infinity();
    values[21] = -std::numeric_limits<float>::max();
    std::vector<std::int32_t> stored(4000);
    std::uint32_t state = 99;
    for (std::size_t i = 0; i < stored.size(); ++i) {
        state = state * 1664525u + 1013904223u;
        const int bits = i % 2 == 0 ? 24 : 16;
        stored[i] = std::int32_t(state) >> (32 - bits) << (32 - bits);
    }
    stored[1] = std::numeric_limits<std::int32_t>::min();
    stored[2] = std::int32_t(0x7FFFFF00);
    stored[4] = 256;
    stored[6] = -256;
    stored[10] = 0;
    for (const char* arch : {"sse2", "avx2", static_cast<const char*>(nullptr)}) {
        ForcedSimd forced(arch);
        for (float factor : {0.99056f, 1.0f, 3.7f, -0.5f, 1e-30f})
            for (int channels : {1, 2, 3})
                for (int frames : {0, 1, 15, 16, 17, 33, 1000}) {
                    INFO((arch ? arch : simdArchName(detectSimdArch()))
                         << ", factor " << factor << ", " << channels << " channels, " << frames << " frames");
                    AudioBuffer planar(channels, std::max(frames, 1));
                    for (int c = 0; c < channels; ++c) std::copy_n(values.begin() + c * 1000, frames, planar.channel(c));
                    std::vector<float> interleaved(std::size_t(channels) * std::size_t(frames) + 1, 0.25f);
                    interleave(ConstAudioView(planar.view().frameRange(0, frames)), factor, interleaved.data());
                    std::size_t wrong = 0;
                    for (int f = 0; f < frames; ++f)
                        for (int c = 0; c < channels; ++c) {
                            const float expected = values[std::size_t(c) * 1000 + std::size_t(f)] * factor;
                            wrong += std::memcmp(&interleaved[std::size_t(f) * std::size_t(channels) + std::size_t(c)], &expected,
                                                 sizeof(float)) != 0;
                        }
                    CHECK(wrong == 0);
                    CHECK(interleaved.back() == 0.25f); // nothing past the end

                    AudioBuffer back(channels, frames + 1);
                    for (int c = 0; c < channels; ++c) back.channel(c)[frames] = 0.25f;
                    deinterleaveStored(stored.data(), back.view().frameRange(0, frames));
                    wrong = 0;
                    for (int f = 0; f < frames; ++f)
                        for (int c = 0; c < channels; ++c) {
                            const std::int32_t q = stored[std::size_t(f) * std::size_t(channels) + std::size_t(c)];
                            const float value = back.channel(c)[f];
                            wrong +=
                                value != float(std::ldexp(double(q), -31)) || std::int32_t(double(value) * 2147483648.0) != q;
                        }
                    CHECK(wrong == 0);
                    for (int c = 0; c < channels; ++c) CHECK(back.channel(c)[frames] == 0.25f);
                }
    }
}
