// The hand-off between threads shared by the render pipeline and --target (ChunkStream,
// ChunkProducer, ChunkConsumer), TempSampleFile::readAt from several threads, and
// WrittenSampleMeter split over two threads.
#include "host/cli/ChunkStream.h"
#include "host/cli/Target.h"
#include "host/io/AudioFile.h"
#include "nodes/meters/LoudnessMeter.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

using namespace sg;
using sg::test::TempDir;

namespace {

using Planar = std::vector<std::vector<float>>;

/// Ragged block sizes from a seed: 1 .. `most` frames.
int raggedFrames(std::uint32_t& seed, int most) {
    seed = seed * 1664525u + 1013904223u;
    return 1 + int(seed >> 20) % most;
}

/// Hostile stereo material: clipped noise bursts, a full-scale tone near Nyquist, silence.
Planar hostile(int frames, double rate) {
    Planar x(2, std::vector<float>(std::size_t(frames)));
    const auto noise = test::noise(frames, 1.0f, 99);
    const auto nyquist = test::sine(0.47 * rate, 1.0, rate, frames, 0.3);
    for (int n = 0; n < frames; ++n) {
        const auto i = std::size_t(n);
        const double t = double(n) / rate;
        double l = 0.2 * std::sin(2 * M_PI * 110 * t), r = l;
        if (std::fmod(t, 1.3) < 0.2) l += std::clamp(4.0 * double(noise[i]), -1.0, 1.0), r -= l; // clipped
        if (std::fmod(t, 0.9) < 0.1) l = nyquist[i], r = -nyquist[i];
        if (t > 2.0 && t < 2.5) l = r = 0;
        x[0][i] = float(l);
        x[1][i] = float(std::clamp(r, -1.0, 1.0));
    }
    return x;
}

std::string fileBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

TEST_CASE("ChunkProducer and ChunkConsumer hand every frame over in order, whatever the block sizes, copied or in place",
          "[render][target][chunks]") {
    constexpr int kChannels = 3, kFrames = 100003, kChunk = 1000;
    Planar x(kChannels);
    for (int c = 0; c < kChannels; ++c) x[std::size_t(c)] = test::noise(kFrames, 1.0f, 11u + unsigned(c));
    std::int64_t produced = 0;
    std::uint32_t produceSeed = 7;
    // The producer fills whole chunks until the end, as a file reader does (ragged inside a chunk
    // would be the end).
    cli::ChunkProducer producer(kChannels, kChunk, [&](const AudioView& view, std::string&) {
        const int n = int(std::min<std::int64_t>(view.frames, kFrames - produced));
        for (int c = 0; c < kChannels; ++c) std::copy_n(x[std::size_t(c)].begin() + produced, n, view.channel(c));
        produced += n;
        (void)raggedFrames(produceSeed, 10);
        return std::int64_t(n);
    });
    Planar back(kChannels);
    cli::ChunkConsumer consumer(kChannels, 7777, [&](const ConstAudioView& view) {
        for (int c = 0; c < kChannels; ++c)
            back[std::size_t(c)].insert(back[std::size_t(c)].end(), view.channel(c), view.channel(c) + view.frames);
        return std::string();
    });
    AudioBuffer block(kChannels, 5000);
    std::uint32_t seed = 3;
    int reserved = 0;
    for (;;) {
        const int want = raggedFrames(seed, 5000);
        const int got = producer.source().read(block.view().frameRange(0, want));
        REQUIRE(got >= 0);
        // Every other block written in place when the sink's chunk holds it whole (as the
        // runner's executor does), else copied.
        AudioView in;
        if (got > 0 && (seed & 1) && consumer.sink().reserve(got, in)) {
            REQUIRE((in.frames == got && in.channels == kChannels));
            cli::copyFrames(ConstAudioView(block.view()), 0, in, 0, got);
            REQUIRE(consumer.sink().commit(got));
            ++reserved;
        } else if (got > 0) {
            REQUIRE(consumer.sink().write(ConstAudioView(block.view().frameRange(0, got))));
        }
        if (got < want) break;
    }
    CHECK(reserved > 5);
    CHECK(producer.source().read(block.view()) == 0); // the end, again
    REQUIRE(consumer.finish() == "");
    for (int c = 0; c < kChannels; ++c) {
        REQUIRE(back[std::size_t(c)].size() == std::size_t(kFrames));
        CHECK(std::memcmp(back[std::size_t(c)].data(), x[std::size_t(c)].data(), sizeof(float) * kFrames) == 0);
    }
}

TEST_CASE("ChunkProducer reports a failure at the frame where it happened; ChunkConsumer stops taking after one",
          "[render][target][chunks]") {
    SECTION("producer") {
        int calls = 0;
        cli::ChunkProducer producer(1, 1000, [&](const AudioView& view, std::string& error) -> std::int64_t {
            if (++calls == 3) {
                error = "disk on fire";
                return -1;
            }
            std::fill_n(view.channel(0), view.frames, 0.5f);
            return view.frames;
        });
        AudioBuffer block(1, 700);
        // 2000 good frames: two reads of 700, then 600 good ones and the failure in the block.
        CHECK(producer.source().read(block.view()) == 700);
        CHECK(producer.source().read(block.view()) == 700);
        CHECK(producer.source().read(block.view()) == -1);
        CHECK(producer.source().error() == "disk on fire");
    }
    SECTION("consumer") {
        int taken = 0;
        cli::ChunkConsumer consumer(1, 100,
                                    [&](const ConstAudioView&) { return ++taken == 2 ? std::string("full") : std::string(); });
        AudioBuffer block(1, 100);
        std::fill_n(block.channel(0), 100, 0.25f);
        bool refused = false;
        for (int i = 0; i < 1000 && !refused; ++i) refused = !consumer.sink().write(ConstAudioView(block.view()));
        CHECK(refused); // the sink says no once the consumer has failed
        CHECK(consumer.finish() == "full");
        CHECK(taken == 2); // nothing consumed after the failure
    }
    SECTION("a producer abandoned part way stops and joins") {
        cli::ChunkProducer producer(2, 64, [&](const AudioView& view, std::string&) { return std::int64_t(view.frames); });
        AudioBuffer block(2, 10);
        CHECK(producer.source().read(block.view()) == 10);
    }
}

TEST_CASE("ChunkFanOut hands every frame to every consumer, in order, from one copy; one failure stops all",
          "[render][target][chunks]") {
    constexpr int kChannels = 2, kFrames = 54321, kChunk = 1000;
    Planar x(kChannels);
    for (int c = 0; c < kChannels; ++c) x[std::size_t(c)] = test::noise(kFrames, 1.0f, 21u + unsigned(c));
    SECTION("every consumer sees every frame") {
        std::vector<Planar> back(3, Planar(kChannels));
        std::vector<cli::ChunkConsume> consumers;
        for (std::size_t k = 0; k < back.size(); ++k)
            consumers.emplace_back([&back, k](const ConstAudioView& view) {
                // Slow consumers in turn, so that the others run ahead and slots wait for the last.
                if (view.frames > 0 && (int(back[k][0].size()) / kChunk) % 3 == int(k))
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
                for (int c = 0; c < kChannels; ++c)
                    back[k][std::size_t(c)].insert(back[k][std::size_t(c)].end(), view.channel(c), view.channel(c) + view.frames);
                return std::string();
            });
        cli::ChunkFanOut fan(kChannels, kChunk, std::move(consumers));
        std::uint32_t seed = 5;
        for (int done = 0; done < kFrames;) {
            const int n = std::min(raggedFrames(seed, kChunk), kFrames - done);
            AudioView out;
            REQUIRE(fan.reserve(n, out));
            REQUIRE(out.frames == n);
            for (int c = 0; c < kChannels; ++c) std::copy_n(x[std::size_t(c)].begin() + done, n, out.channel(c));
            fan.commit(n);
            done += n;
        }
        REQUIRE(fan.finish() == "");
        for (const Planar& b : back)
            for (int c = 0; c < kChannels; ++c) {
                REQUIRE(b[std::size_t(c)].size() == std::size_t(kFrames));
                CHECK(std::memcmp(b[std::size_t(c)].data(), x[std::size_t(c)].data(), sizeof(float) * kFrames) == 0);
            }
    }
    SECTION("a consumer that fails stops the producer and the others") {
        int taken = 0, others = 0;
        std::vector<cli::ChunkConsume> consumers{
            [&](const ConstAudioView&) { return ++taken == 2 ? std::string("full") : std::string(); },
            [&](const ConstAudioView&) {
                ++others;
                return std::string();
            }};
        cli::ChunkFanOut fan(1, 100, std::move(consumers));
        bool refused = false;
        for (int i = 0; i < 1000 && !refused; ++i) {
            AudioView out;
            refused = !fan.reserve(100, out);
            if (!refused) {
                std::fill_n(out.channel(0), 100, 0.25f);
                fan.commit(100);
            }
        }
        CHECK(refused);
        CHECK(fan.finish() == "full");
        CHECK(taken == 2);
        CHECK(others <= 2 + cli::kChunkSlots); // what was in flight at most
    }
    SECTION("integers: every consumer sees every frame, interleaved as written; one failure stops all") {
        std::vector<std::int32_t> samples(std::size_t(kFrames) * kChannels);
        for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = std::int32_t(0x9E3779B9u * std::uint32_t(i + 1));
        std::vector<std::vector<std::int32_t>> back(3);
        std::vector<cli::QuantisedConsume> consumers;
        for (std::size_t k = 0; k < back.size(); ++k)
            consumers.emplace_back([&back, k](const std::int32_t* values, int frames) {
                if (frames > 0 && (int(back[k].size()) / (kChunk * kChannels)) % 3 == int(k))
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
                back[k].insert(back[k].end(), values, values + std::size_t(frames) * kChannels);
                return std::string();
            });
        cli::ChunkFanOut fan(kChannels, kChunk, std::move(consumers));
        AudioView planar;
        CHECK_FALSE(fan.reserve(1, planar)); // integers only
        std::uint32_t seed = 7;
        for (int done = 0; done < kFrames;) {
            const int n = std::min(raggedFrames(seed, kChunk), kFrames - done);
            std::int32_t* out = nullptr;
            int count = 0;
            REQUIRE(fan.reserveQuantised(n, out, count));
            REQUIRE(count >= 1);
            REQUIRE(count <= n);
            std::copy_n(samples.begin() + std::ptrdiff_t(done) * kChannels, count * kChannels, out);
            fan.commit(count);
            done += count;
        }
        REQUIRE(fan.finish() == "");
        for (const auto& b : back) CHECK(b == samples);

        int taken = 0;
        cli::ChunkFanOut failing(1, 100,
                                 std::vector<cli::QuantisedConsume>{
                                     [&](const std::int32_t*, int) { return ++taken == 2 ? std::string("full") : std::string(); },
                                     [](const std::int32_t*, int) { return std::string(); }});
        bool refused = false;
        for (int i = 0; i < 1000 && !refused; ++i) {
            std::int32_t* out = nullptr;
            int count = 0;
            refused = !failing.reserveQuantised(100, out, count);
            if (!refused) {
                std::fill_n(out, count, 1);
                failing.commit(count);
            }
        }
        CHECK(refused);
        CHECK(failing.finish() == "full");
    }
    SECTION("no consumer") {
        cli::ChunkFanOut fan(1, 10, std::vector<cli::ChunkConsume>{});
        for (int i = 0; i < 20; ++i) {
            AudioView out;
            REQUIRE(fan.reserve(10, out));
            fan.commit(10);
        }
        CHECK(fan.finish() == "");
    }
}

TEST_CASE("TempSampleFile::readAt reads any frames from several threads at once, in memory and spilled",
          "[render][target][scratch]") {
    TempDir dir;
    constexpr int kFrames = 60000;
    const Planar x = hostile(kFrames, 44100);
    for (std::size_t limit : {cli::TempSampleFile::kInMemorySamples, std::size_t(0)}) {
        CAPTURE(limit);
        cli::TempSampleFile file;
        REQUIRE(file.create(dir.path(), 2, limit) == "");
        AudioBuffer buffer(2, kFrames);
        for (int c = 0; c < 2; ++c) std::copy(x[std::size_t(c)].begin(), x[std::size_t(c)].end(), buffer.channel(c));
        REQUIRE(file.write(ConstAudioView(buffer.view())) == "");
        REQUIRE(file.flush() == "");
        // Two readers over interleaved stretches, a third with the ordinary read() at the same time.
        std::vector<int> mismatches(3, 0);
        auto reader = [&](int which) {
            AudioBuffer block(2, 997);
            for (std::int64_t at = which * 997; at < kFrames; at += 2 * 997) {
                const std::int64_t got = file.readAt(at, block.view());
                if (got != std::min<std::int64_t>(997, kFrames - at)) ++mismatches[std::size_t(which)];
                for (int c = 0; c < 2; ++c)
                    if (std::memcmp(block.channel(c), x[std::size_t(c)].data() + at, sizeof(float) * std::size_t(got)) != 0)
                        ++mismatches[std::size_t(which)];
            }
        };
        std::thread second(reader, 1);
        reader(0);
        second.join();
        CHECK(mismatches[0] == 0);
        CHECK(mismatches[1] == 0);
        AudioBuffer block(2, 100);
        CHECK(file.readAt(kFrames - 40, block.view()) == 40); // the end
        CHECK(file.readAt(kFrames, block.view()) == 0);
        CHECK(file.readAt(-1, block.view()) == -1);
        // The sequential read position is untouched by readAt.
        REQUIRE(file.rewind() == "");
        CHECK(file.read(block.view()) == 100);
        CHECK(std::memcmp(block.channel(1), x[1].data(), sizeof(float) * 100) == 0);
    }
}

TEST_CASE("WrittenSampleMeter::stored gives what the writer stores, bit for bit; split over two threads it reads as process()",
          "[render][target][written]") {
    // Hostile material at 44.1 kHz and +20 dB of drive (clipping in the writer), in ragged blocks;
    // the oracle is the file the writer stores, read back. The stored values written again with
    // writeStored() (what --target's encoding does) must give the same bytes and clip count.
    TempDir dir;
    constexpr double kRate44 = 44100;
    constexpr int kFrames = 4 * 44100;
    Planar x = hostile(kFrames, kRate44);
    for (auto& channel : x)
        for (float& v : channel) v *= 10.0f; // +20 dB: most of it clips
    for (io::OutputFormat format : {io::OutputFormat::Wav16, io::OutputFormat::Wav24, io::OutputFormat::Wav32f,
                                    io::OutputFormat::Flac16, io::OutputFormat::Flac24}) {
        CAPTURE(io::outputFormatName(format));
        cli::WrittenSampleMeter whole, split, halves; // halves: loudness and peaks measured apart, then merged
        // ints: quantised() and its integers measured and written (--target's encoding); scaled:
        // quantised() with a trim, against stored() of the samples times the trim.
        cli::WrittenSampleMeter ints, scaled, scaledOracle;
        REQUIRE(whole.prepare(kRate44, 2, format) == "");
        REQUIRE(split.prepare(kRate44, 2, format) == "");
        REQUIRE(halves.prepare(kRate44, 2, format) == "");
        REQUIRE(ints.prepare(kRate44, 2, format) == "");
        REQUIRE(scaled.prepare(kRate44, 2, format) == "");
        REQUIRE(scaledOracle.prepare(kRate44, 2, format) == "");
        constexpr float kTrim = 0.990601f; // -0.082 dB
        const bool flac = format == io::OutputFormat::Flac16 || format == io::OutputFormat::Flac24;
        const std::string path = dir.file(flac ? "written.flac" : "written.wav");
        const std::string again = dir.file(flac ? "again.flac" : "again.wav");
        const std::string packed = dir.file(flac ? "packed.flac" : "packed.wav");
        io::AudioFileWriter writer, storedWriter, intWriter;
        REQUIRE(writer.open(path, format, kRate44, 2) == "");
        REQUIRE(storedWriter.open(again, format, kRate44, 2) == "");
        REQUIRE(intWriter.open(packed, format, kRate44, 2) == "");
        CHECK(storedWriter.takesStoredValues() == (format != io::OutputFormat::Wav32f));
        std::uint64_t clipped = 0;
        AudioBuffer block(2, 20000), stored(2, 20000), trimmed(2, 20000), oracle(2, 20000), converted(2, 20000);
        std::vector<std::int32_t> q(2 * 20000), qScaled(2 * 20000);
        std::size_t scaledWrong = 0;
        Planar storedAll(2);
        std::uint32_t seed = 5;
        for (int done = 0; done < kFrames;) {
            const int frames = std::min(kFrames - done, raggedFrames(seed, 20000));
            for (int c = 0; c < 2; ++c) std::copy_n(x[std::size_t(c)].begin() + done, frames, block.channel(c));
            const ConstAudioView view(block.view().frameRange(0, frames));
            REQUIRE(writer.write(view) == "");
            whole.process(view);
            const std::uint64_t blockClips = split.stored(view, stored.view().frameRange(0, frames));
            clipped += blockClips;
            split.measureStored(ConstAudioView(stored.view().frameRange(0, frames)));
            halves.measureStoredPeaks(ConstAudioView(stored.view().frameRange(0, frames)));
            halves.measureStoredLoudness(ConstAudioView(stored.view().frameRange(0, frames)));
            if (storedWriter.takesStoredValues())
                REQUIRE(storedWriter.writeStored(ConstAudioView(stored.view().frameRange(0, frames)), blockClips) == "");
            else
                CHECK(storedWriter.writeStored(ConstAudioView(stored.view().frameRange(0, frames)), blockClips) != "");
            if (storedWriter.takesStoredValues()) {
                const std::uint64_t intClips = ints.quantised(view, 1.0f, q.data());
                CHECK(intClips == blockClips);
                ints.measureQuantisedLoudness(q.data(), frames);
                ints.measureQuantisedPeaks(q.data(), frames);
                REQUIRE(intWriter.writeQuantised(q.data(), frames, 2, intClips) == "");
                // the trim folded into quantised() is a float multiply before stored()
                for (int c = 0; c < 2; ++c)
                    for (int f = 0; f < frames; ++f) trimmed.channel(c)[f] = view.channel(c)[f] * kTrim;
                scaled.quantised(view, kTrim, qScaled.data());
                scaledOracle.stored(ConstAudioView(trimmed.view().frameRange(0, frames)), oracle.view().frameRange(0, frames));
                io::deinterleaveStored(qScaled.data(), converted.view().frameRange(0, frames));
                for (int c = 0; c < 2; ++c)
                    scaledWrong += std::memcmp(converted.channel(c), oracle.channel(c), sizeof(float) * std::size_t(frames)) != 0;
            } else {
                CHECK(intWriter.writeQuantised(q.data(), frames, 2, 0) != "");
            }
            for (int c = 0; c < 2; ++c)
                storedAll[std::size_t(c)].insert(storedAll[std::size_t(c)].end(), stored.channel(c), stored.channel(c) + frames);
            done += frames;
        }
        CHECK(scaledWrong == 0);
        REQUIRE(writer.commit() == "");
        if (storedWriter.takesStoredValues()) {
            CHECK(clipped > 0);
            CHECK(storedWriter.clippedSamples() == writer.clippedSamples());
            CHECK(storedWriter.clippedSamples() == clipped);
            REQUIRE(storedWriter.commit() == "");
            CHECK(fileBytes(again) == fileBytes(path));
            CHECK(intWriter.clippedSamples() == clipped);
            REQUIRE(intWriter.commit() == "");
            CHECK(fileBytes(packed) == fileBytes(path));
            ints.mergePeaks();
            CHECK(ints.meter().integratedLufs() == whole.meter().integratedLufs());
            CHECK(ints.meter().truePeakDbtp() == whole.meter().truePeakDbtp());
            CHECK(ints.meter().samplePeakDbfs() == whole.meter().samplePeakDbfs());
            CHECK(ints.meter().loudnessRangeLu() == whole.meter().loudnessRangeLu());
            CHECK(ints.meter().maxMomentaryLufs() == whole.meter().maxMomentaryLufs());
        }
        io::AudioFileReader reader;
        REQUIRE(reader.open(path) == "");
        AudioBuffer back(2, kFrames);
        REQUIRE(reader.read(back.view()) == kFrames);
        for (int c = 0; c < 2; ++c)
            CHECK(std::memcmp(back.channel(c), storedAll[std::size_t(c)].data(), sizeof(float) * kFrames) == 0);
        CHECK(split.meter().integratedLufs() == whole.meter().integratedLufs());
        CHECK(split.meter().truePeakDbtp() == whole.meter().truePeakDbtp());
        CHECK(split.meter().samplePeakDbfs() == whole.meter().samplePeakDbfs());
        CHECK(split.meter().loudnessRangeLu() == whole.meter().loudnessRangeLu());
        halves.mergePeaks();
        CHECK(halves.meter().integratedLufs() == whole.meter().integratedLufs());
        CHECK(halves.meter().truePeakDbtp() == whole.meter().truePeakDbtp());
        CHECK(halves.meter().samplePeakDbfs() == whole.meter().samplePeakDbfs());
        CHECK(halves.meter().loudnessRangeLu() == whole.meter().loudnessRangeLu());
        CHECK(halves.meter().maxMomentaryLufs() == whole.meter().maxMomentaryLufs());
    }
}
