#include "nodes/stereo/Width.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "nodes/stereo/StereoRules.h"

#include <cstring>
#include <string>
#include <vector>

namespace sg {

namespace {

struct WidthDecl {
    NodeDecl decl{"width", "stereo"};
    SmoothedParam width = decl.param("width")
                              .percent(0, 200)
                              .defaultValue(100)
                              .describe("Side level: 0 % mono (L = R = M), 100 % unchanged (bit for bit), 200 % double "
                                        "side. The mid is never changed. Ramps over 20 ms.")
                              .smoothingMs(20);

    WidthDecl() {
        decl.describe("Narrows or widens a stereo signal by scaling its side (L - R)/2, leaving its mid untouched.")
            .input("in", "stereo signal, L R")
            .output("out", "stereo signal, L R")
            .channelRule("in has 2 channels; out has 2")
            .batchable()
            .reference("M = (L + R)/2, S = (L - R)/2, w = width/100: L' = M + w S = a L + b R, R' = M - w S = b L + "
                       "a R with a = (1 + w)/2, b = (1 - w)/2, in float (two products and a sum). At 100 % the "
                       "input is copied. Mid/side stereo: Blumlein (1931); Eargle, The Microphone Book, ch. 13.");
    }
};

class WidthKernel final : public DeclaredKernelOf<WidthDecl> {
    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        for (int i = 0; i < instanceCount(); ++i)
            if (lanes(i).inputs != 2) return "in: expects 2 channels, got " + std::to_string(lanes(i).inputs);
        return {};
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const std::int64_t position = ctx.position + start;
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& l = lanes(i);
            const float* left = ctx.inputs[0][l.firstInput] + start;
            const float* right = ctx.inputs[0][l.firstInput + 1] + start;
            float* outLeft = ctx.outputs[0][l.firstOutput] + start;
            float* outRight = ctx.outputs[0][l.firstOutput + 1] + start;
            const LinearRamp& width = ramp(i, p().width);
            if (width.settledAt(position)) {
                const double w = width.target() / 100.0;
                if (w == 1.0) {
                    std::memcpy(outLeft, left, sizeof(float) * std::size_t(frames));
                    std::memcpy(outRight, right, sizeof(float) * std::size_t(frames));
                } else {
                    const float a = float((1 + w) / 2), b = float((1 - w) / 2);
                    elementwise().mix(left, a, right, b, outLeft, frames);
                    elementwise().mix(left, b, right, a, outRight, frames);
                }
                continue;
            }
            // Frame by frame while the ramp runs; each frame rounds exactly as the settled path
            // would (one product per term, then the sum), so splits do not change the bits.
            for (int n = 0; n < frames; ++n) {
                const double w = width.valueAt(position + n) / 100.0;
                const float x = left[n], y = right[n];
                if (w == 1.0 && width.settledAt(position + n)) {
                    outLeft[n] = x;
                    outRight[n] = y;
                } else {
                    const float a = float((1 + w) / 2), b = float((1 - w) / 2);
                    const float ax = a * x, by = b * y, bx = b * x, ay = a * y;
                    outLeft[n] = ax + by;
                    outRight[n] = bx + ay;
                }
            }
        }
    }
};

class WidthType final : public DeclaredTypeOf<WidthDecl, WidthKernel> {
public:
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        return stereo::requireChannels(inputChannels, 2, 2, 1, outputChannels);
    }
};

} // namespace

void registerWidthNodes(Registry& registry) { registry.add(std::make_unique<WidthType>()); }

} // namespace sg
