// Real-time safety of the limiter: process(), setParam() and reset() allocate nothing, at any
// block size, and neither does a compiled graph with a limiter.
// Allocations are counted by tests/support/RtAllocations.
#include "core/Buffer.h"
#include "core/Node.h"
#include "core/Registry.h"
#include "nodes/dynamics/Limiter.h"
#include "support/RtAllocations.h"
#include "support/RtBlocks.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace sg;

TEST_CASE("rt: the limiter allocates nothing while processing, changing parameters or resetting", "[rt][limiter]") {
    REQUIRE(sg::test::rtCountingAvailable());
    // The counter must see an allocation, or the zero counts below prove nothing.
    static int* volatile sink = nullptr; // volatile: the compiler may not elide the new
    CHECK(sg::test::allocationsDuring([] {
              sink = new int(1);
              delete sink;
          }) >= 1);
    const NodeType* type = Registry::builtin().find("limiter");
    REQUIRE(type != nullptr);
    auto kernel = type->createKernel();
    const ParamValues p = type->defaults();
    const std::vector<InstanceSetup> setup{{p, {2}, {2}, "limiter"}, {p, {1}, {1}, "limiter"}};
    REQUIRE(kernel->prepare({48000, 8192, detectSimdArch()}, setup) == "");
    AudioBuffer buffer(3, 8192);
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 8192; ++i) buffer.channel(c)[i] = float(4.0 * std::sin(i * 0.01 * (c + 1))); // +12 dB: limits
    const std::vector<float*> lanes{buffer.channel(0), buffer.channel(1), buffer.channel(2)};
    const float* const* in[] = {lanes.data()};
    float* const* out[] = {lanes.data()};
    const long count = sg::test::allocationsDuring([&] {
        sg::test::processBlocks(*kernel, in, out, {1, 7, 64, 512, 8192}, 30, [&](int k, std::int64_t position, int) {
            if (k != 3) return;
            kernel->setParam(0, 0, -6.0, position + 5);
            kernel->setParam(1, 2, 300.0, position + 2);
        });
    });
    CHECK(count == 0);
    std::vector<Measurement> figures;
    kernel->measurements(0, figures);
    REQUIRE(figures.size() == 3);
    CHECK(figures[0].value > 0); // it did limit
    CHECK(sg::test::allocationsDuring([&] { kernel->reset(); }) == 0);
}

TEST_CASE("rt: the limiter allocates nothing at rest, on quiet tiles, and in exhaustive detection", "[rt][limiter]") {
    REQUIRE(sg::test::rtCountingAvailable());
    const NodeType* type = Registry::builtin().find("limiter");
    REQUIRE(type != nullptr);
    const ParamValues p = type->defaults();
    const std::vector<InstanceSetup> setup{{p, {2}, {2}, "limiter"}};
    // Quiet (-30 dB: the gain computer at rest, tiles skipped), a +12 dB burst, quiet again.
    AudioBuffer source(2, 16384);
    for (int c = 0; c < 2; ++c)
        for (int i = 0; i < 16384; ++i)
            source.channel(c)[i] = float((i >= 6000 && i < 8000 ? 4.0 : 0.03) * std::sin(i * 0.7 * (c + 1)));
    for (const bool exhaustive : {false, true}) {
        CAPTURE(exhaustive);
        setLimiterExhaustiveDetection(exhaustive);
        auto kernel = type->createKernel();
        REQUIRE(kernel->prepare({48000, 8192, detectSimdArch()}, setup) == "");
        setLimiterExhaustiveDetection(false);
        AudioBuffer buffer(2, 8192);
        const std::vector<float*> lanes{buffer.channel(0), buffer.channel(1)};
        const float* const* in[] = {lanes.data()};
        float* const* out[] = {lanes.data()};
        const long count = sg::test::allocationsDuring([&] {
            sg::test::processBlocks(*kernel, in, out, {1, 7, 64, 512, 8192}, 8, [&](int, std::int64_t position, int block) {
                for (int c = 0; c < 2; ++c)
                    for (int i = 0; i < block; ++i) lanes[std::size_t(c)][i] = source.channel(c)[(position + i) % 16384];
            });
        });
        CHECK(count == 0);
        std::vector<Measurement> figures;
        kernel->measurements(0, figures);
        REQUIRE(figures.size() == 3);
        CHECK(figures[0].value > 0);  // it did limit
        CHECK(figures[2].value < 90); // and rested
    }
}
