// Using stagegraph as a library: compile a graph from YAML text, run a sine through it in
// host-sized blocks, and read what the compiler decided (steps, lanes, latency).
//
//   build/example_embed_engine
#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Registry.h"

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
    const char* yaml = R"(stagegraph: 1
name: telephone
stage: utility
inputs:  {voice: {channels: 1}}
outputs: {line: {channels: 1}}
nodes:
  low:  {type: highpass, freq: 300 Hz, slope: 24}
  high: {type: lowpass, freq: 3.4 kHz, slope: 24}
  trim: {type: gain, gain: -3 dB}
connections:
  - voice -> low -> high -> trim -> line
)";
    sg::Diagnostics diags;
    sg::GraphDesc graph = sg::loadGraphFromString(yaml, "telephone.yaml", ".", diags);
    sg::CompileOptions options;
    options.sampleRate = 48000;
    auto program = diags.hasErrors() ? nullptr : sg::compileGraph(graph, sg::Registry::builtin(), options, diags);
    if (!program) {
        std::fputs(diags.formatAll().c_str(), stderr);
        return 2;
    }
    std::fputs(program->schedule().describe().c_str(), stdout);

    // 1 kHz passes, 100 Hz and 10 kHz are cut: measure the RMS of each after the filters settle.
    sg::Executor& executor = program->executor();
    for (double frequency : {100.0, 1000.0, 10000.0}) {
        executor.reset();
        const int block = 256, blocks = 400;
        sg::AudioBuffer in(1, block), out(1, block);
        double sumIn = 0, sumOut = 0;
        for (int b = 0; b < blocks; ++b) {
            for (int n = 0; n < block; ++n)
                in.channel(0)[n] = float(0.5 * std::sin(2 * M_PI * frequency * double(b * block + n) / options.sampleRate));
            sg::ConstAudioView inView = in.view();
            sg::AudioView outView = out.view();
            executor.process({&inView, 1}, {&outView, 1});
            if (b < blocks / 2) continue; // let the filters settle
            for (int n = 0; n < block; ++n) {
                sumIn += double(in.channel(0)[n]) * in.channel(0)[n];
                sumOut += double(out.channel(0)[n]) * out.channel(0)[n];
            }
        }
        std::printf("%7.0f Hz: %+6.1f dB\n", frequency, 10 * std::log10(sumOut / sumIn));
    }
    return 0;
}
