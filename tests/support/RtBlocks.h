// The real-time tests' block loop: a kernel processed in blocks of several sizes, one size after
// another, with something done before each block (parameter changes, the next input frames).
#pragma once

#include "core/Node.h"

#include <cstdint>
#include <initializer_list>

namespace sg::test {

/// `repeats` blocks of each size in `blocks`, in turn, through `kernel` (ports as
/// ProcessContext takes them); `before(k, position, block)` runs before each block, k counting
/// the blocks of the current size.
template <class Before>
void processBlocks(NodeKernel& kernel, const float* const* const* inputs, float* const* const* outputs,
                   std::initializer_list<int> blocks, int repeats, Before before) {
    std::int64_t position = 0;
    for (int block : blocks)
        for (int k = 0; k < repeats; ++k) {
            before(k, position, block);
            ProcessContext ctx;
            ctx.position = position;
            ctx.frames = block;
            ctx.inputs = inputs;
            ctx.outputs = outputs;
            kernel.process(ctx);
            position += block;
        }
}

} // namespace sg::test
