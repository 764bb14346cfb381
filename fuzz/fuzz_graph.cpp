// libFuzzer target: the YAML loader and the compiler. Any text is loaded as a graph (includes
// confined to a folder holding nothing) and compiled; when it compiles, instantiated at 48 kHz
// with small limits, so one input stays fast. Must never crash, hang, leak or throw: every
// problem is a diagnostic.
#include "core/Compiler.h"
#include "core/GraphLoader.h"
#include "core/Registry.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    sg::LoadOptions load;
    load.limits.maxExpandedNodes = 2000; // keep one execution well under a second
    load.limits.maxExpandedConnections = 20000;
    load.limits.maxYamlNodes = 20000;
    load.includeDirs.clear();
    sg::Diagnostics diags;
    sg::GraphDesc graph = sg::loadGraphFromString(text, "fuzz.yaml", "/nonexistent-fuzz-dir", diags, load);
    for (const auto& d : diags.all()) (void)d.format();
    if (!graph.complete) return 0;
    // As loadAndCompile does: loader errors do not stop the compiler's checks.
    const bool loaded = !diags.hasErrors();
    auto compiled = sg::compile(graph, sg::Registry::builtin(), diags);
    sg::InstanceOptions options;
    options.maxBlockFrames = 64;
    options.limits.maxDelayMemoryBytes = std::size_t(16) << 20;
    if (!compiled || !loaded) {
        sg::checkAtRate(graph, sg::Registry::builtin(), options, diags); // as check and render --rate do
        return 0;
    }
    auto program = sg::instantiate(*compiled, options, diags);
    (void)program;
    return 0;
}
