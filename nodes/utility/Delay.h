// delay and latency: a whole-frame delay line, y[n] = x[n - D],
//   D = round(time * sampleRate / 1000) + samples   (frames).
//
// `delay` is an intended delay: it reports no latency, so the compiler does not compensate it.
// The compiler also inserts `delay` instances (with `samples`) to compensate latency.
// `latency` runs the same kernel but reports D as its latency: it models a processor with
// latency (lookahead, linear phase) so that latency compensation can be tested.
//
// Each lane has its own ring buffer of D + maxBlockFrames frames, allocated in prepare().
// `delay` follows setParam with a jump (no glide) at the given frame, limited to the D it was
// prepared with (longer requests are clamped). `latency` ignores setParam: its latency is
// fixed when the graph is compiled.
#pragma once

namespace sg {

class Registry;

/// Registers `delay` and `latency`.
void registerDelayNodes(Registry& registry);

} // namespace sg
