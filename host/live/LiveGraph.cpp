#include "host/live/LiveGraph.h"

#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Registry.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sg::live {

namespace {

std::string quoted(const std::string& text) { return "'" + text + "'"; }

std::string readText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

int findExternal(const std::vector<ExternalDesc>& ports, const std::string& name) {
    for (std::size_t i = 0; i < ports.size(); ++i)
        if (ports[i].name == name) return int(i);
    return -1;
}

/// "mix: 2, side: 1"
std::string portSummary(const std::vector<ExternalDesc>& ports) {
    std::string out;
    for (const auto& p : ports) out += (out.empty() ? "" : ", ") + p.name + ": " + std::to_string(p.channels);
    return out;
}

} // namespace

LiveGraph::LiveGraph() = default;
LiveGraph::~LiveGraph() = default;

std::unique_ptr<LiveGraph> LiveGraph::create(const std::string& path, const std::vector<std::string>& overrides,
                                             const LiveFormat& format, Diagnostics& diags, std::string& error,
                                             const LoadOptions& load) {
    std::unique_ptr<LiveGraph> graph(new LiveGraph());
    graph->path_ = path;
    graph->fileText_ = readText(path);
    graph->compiled_ = loadAndCompile(path, overrides, Registry::builtin(), diags, load, &graph->desc_);
    if (!graph->compiled_) return nullptr;
    graph->name_ = !graph->desc_.name.empty() ? graph->desc_.name : std::filesystem::path(path).stem().string();

    graph->sampleRate_ = format.sampleRate;
    graph->maxBlockFrames_ = format.maxBlockFrames;
    InstanceOptions options;
    options.sampleRate = format.sampleRate;
    options.maxBlockFrames = format.maxBlockFrames;
    graph->program_ = instantiate(*graph->compiled_, options, diags);
    if (!graph->program_ || diags.hasErrors()) return nullptr;
    graph->ownLatencyFrames_ = graph->program_->executor().latencyFrames();
    Executor& executor = graph->program_->executor();

    // Channel offsets of each external port, in declaration order.
    const GraphDesc& desc = graph->desc_;
    std::vector<int> inputOffset(desc.inputs.size()), outputOffset(desc.outputs.size());
    for (std::size_t i = 0; i < desc.inputs.size(); ++i) {
        inputOffset[i] = graph->inputChannels_;
        graph->inputChannels_ += desc.inputs[i].channels;
    }
    for (std::size_t o = 0; o < desc.outputs.size(); ++o) {
        outputOffset[o] = graph->outputChannels_;
        graph->outputChannels_ += desc.outputs[o].channels;
    }
    if (desc.inputs.empty()) {
        error = quoted(path) + " has no inputs: a live graph processes a file or an input device";
        return nullptr;
    }
    if (desc.outputs.empty()) {
        error = quoted(path) + " has no outputs: nothing to play";
        return nullptr;
    }
    if (graph->inputChannels_ != format.sourceChannels) {
        error = quoted(path) + " takes " + std::to_string(graph->inputChannels_) + " input channel" +
                (graph->inputChannels_ == 1 ? "" : "s") + " (" + portSummary(desc.inputs) + ") but the source has " +
                std::to_string(format.sourceChannels) + " (its channels feed the graph's inputs in order)";
        return nullptr;
    }
    if (format.outputChannels > 0 && graph->outputChannels_ != format.outputChannels) {
        error = quoted(path) + " has " + std::to_string(graph->outputChannels_) + " output channel" +
                (graph->outputChannels_ == 1 ? "" : "s") + " (" + portSummary(desc.outputs) + ") but the session plays " +
                std::to_string(format.outputChannels) + " (every graph of a session needs the same output channels)";
        return nullptr;
    }
    for (const auto& port : executor.inputs()) {
        const int i = findExternal(desc.inputs, port.name);
        if (i < 0 || desc.inputs[std::size_t(i)].channels != port.channels) {
            error = "internal: compiled input " + quoted(port.name) + " does not match the graph";
            return nullptr;
        }
        graph->inputFirstChannel_.push_back(inputOffset[std::size_t(i)]);
    }
    for (const auto& port : executor.outputs()) {
        const int o = findExternal(desc.outputs, port.name);
        if (o < 0 || desc.outputs[std::size_t(o)].channels != port.channels) {
            error = "internal: compiled output " + quoted(port.name) + " does not match the graph";
            return nullptr;
        }
        graph->outputFirstChannel_.push_back(outputOffset[std::size_t(o)]);
    }
    graph->inputViews_.resize(executor.inputs().size());
    graph->outputViews_.resize(executor.outputs().size());

    if (format.meters && graph->inputChannels_ <= kLoudnessMaxChannels && graph->outputChannels_ <= kLoudnessMaxChannels &&
        graph->inputMeter_.prepare(format.sampleRate, graph->inputChannels_).empty() &&
        graph->outputMeter_.prepare(format.sampleRate, graph->outputChannels_).empty()) {
        graph->metered_ = true;
        graph->inputPointers_.assign(std::size_t(graph->inputChannels_), nullptr);
        graph->outputPointers_.assign(std::size_t(graph->outputChannels_), nullptr);
    }
    return graph;
}

std::string LiveGraph::alignTo(int sessionLatencyFrames) {
    const int alignment = std::max(0, sessionLatencyFrames - ownLatencyFrames_);
    if (alignment == alignFrames_) return {};
    alignFrames_ = alignment;
    return setMaxBlockFrames(maxBlockFrames_);
}

std::string LiveGraph::setMaxBlockFrames(int maxBlockFrames) {
    InstanceOptions options;
    options.sampleRate = sampleRate_;
    options.maxBlockFrames = maxBlockFrames;
    options.minLatencyFrames = ownLatencyFrames_ + alignFrames_;
    Diagnostics diags;
    auto program = instantiate(*compiled_, options, diags);
    if (!program) return diags.formatAll();
    program_ = std::move(program);
    maxBlockFrames_ = maxBlockFrames;
    return {};
}

std::vector<std::string> LiveGraph::paramTargets(const std::string& target) const {
    std::vector<std::string> targets;
    const auto dot = target.rfind('.');
    const std::string node = dot == std::string::npos ? target : target.substr(0, dot);
    if (std::none_of(desc_.nodes.begin(), desc_.nodes.end(), [&](const NodeDesc& n) { return n.name == node; }))
        for (const ParamBinding& b : desc_.paramBindings)
            if (b.path == target) targets.push_back(b.node + "." + b.key);
    if (targets.empty()) targets.push_back(target);
    return targets;
}

std::string LiveGraph::resolveParam(const std::string& target, const std::string& valueText, int& handle, double& value) const {
    const auto dot = target.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == target.size()) return "expected node.param, got " + quoted(target);
    const std::string node = target.substr(0, dot), param = target.substr(dot + 1);
    auto it = std::find_if(desc_.nodes.begin(), desc_.nodes.end(), [&](const NodeDesc& n) { return n.name == node; });
    if (it == desc_.nodes.end()) return "graph " + quoted(name_) + " has no node " + quoted(node);
    const NodeType* type = compiledNodeType(*compiled_, node); // an LV2 node's type is its plugin's
    const int index = type ? type->paramIndex(param) : -1;
    if (index < 0) return "node " + quoted(node) + " (" + it->type + ") has no parameter " + quoted(param);
    const ParamInfo& info = type->info().params[std::size_t(index)];
    const ParsedQuantity parsed = parseQuantity(valueText, info.unit);
    if (!parsed.value) return target + ": " + parsed.error;
    const double v = *parsed.value;
    if (!info.choices.empty()) {
        if (std::find(info.choices.begin(), info.choices.end(), v) == info.choices.end()) {
            std::string list;
            for (double c : info.choices) list += (list.empty() ? "" : ", ") + formatQuantity(c, info.unit);
            return target + ": " + formatQuantity(v, info.unit) + " is not one of " + list;
        }
    } else if (!(v >= info.minValue && v <= info.maxValue)) {
        return target + ": " + formatQuantity(v, info.unit) + " is out of range (" + formatQuantity(info.minValue, info.unit) +
               " .. " + formatQuantity(info.maxValue, info.unit) + ")";
    }
    std::string error;
    handle = program_->executor().findParam(node, param, error);
    if (handle < 0) return target + ": " + error;
    value = v;
    return {};
}

std::optional<double> LiveGraph::calibrateMatchGain(const AudioBuffer& source) {
    if (source.channels() != inputChannels_ || source.channels() > kLoudnessMaxChannels || outputChannels_ > kLoudnessMaxChannels)
        return std::nullopt;
    const double rate = program_->executor().sampleRate();
    LoudnessMeter inputMeter, outputMeter;
    if (!inputMeter.prepare(rate, inputChannels_).empty() || !outputMeter.prepare(rate, outputChannels_).empty())
        return std::nullopt;
    AudioBuffer out(outputChannels_, maxBlockFrames_);
    std::vector<const float*> in(static_cast<std::size_t>(inputChannels_)), outs(static_cast<std::size_t>(outputChannels_));
    restart();
    for (int start = 0; start < source.frames(); start += maxBlockFrames_) {
        const int frames = std::min(maxBlockFrames_, source.frames() - start);
        const AudioView block = source.view().frameRange(start, frames);
        const AudioView outBlock = out.view().frameRange(0, frames);
        process(block, outBlock);
        for (int c = 0; c < inputChannels_; ++c) in[std::size_t(c)] = block.channel(c);
        for (int c = 0; c < outputChannels_; ++c) outs[std::size_t(c)] = outBlock.channel(c);
        inputMeter.process(in.data(), frames);
        outputMeter.process(outs.data(), frames);
    }
    restart();
    const double input = inputMeter.integratedLufs(), output = outputMeter.integratedLufs();
    if (!std::isfinite(input) || !std::isfinite(output)) return std::nullopt;
    return input - output;
}

void LiveGraph::warmUp() {
    constexpr int kBlocks = 8;
    AudioBuffer in(inputChannels_, maxBlockFrames_), out(outputChannels_, maxBlockFrames_);
    std::uint32_t seed = 0x2545f491u;
    for (int b = 0; b < kBlocks; ++b) {
        // Noise at about -10 dBFS with a loud first block: compressors and limiters reach gain
        // reduction, so their slow paths run too.
        const float level = b == 0 ? 1.0f : 0.3f;
        for (int c = 0; c < inputChannels_; ++c)
            for (int n = 0; n < maxBlockFrames_; ++n) {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                in.channel(c)[n] = level * (float(seed) * (2.0f / 4294967296.0f) - 1.0f);
            }
        process(in.view(), out.view());
        measure(in.view(), out.view());
    }
    restart();
}

void LiveGraph::restart() noexcept {
    program_->executor().reset();
    if (metered_) {
        inputMeter_.reset();
        outputMeter_.reset();
    }
    playedFrames_ = 0;
}

void LiveGraph::process(const AudioView& source, const AudioView& out) noexcept {
    const int frames = source.frames;
    const AudioView& in = source;
    const auto& inputs = program_->executor().inputs();
    const auto& outputs = program_->executor().outputs();
    for (std::size_t i = 0; i < inputViews_.size(); ++i)
        inputViews_[i] = in.channelRange(inputFirstChannel_[i], inputs[i].channels);
    for (std::size_t o = 0; o < outputViews_.size(); ++o)
        outputViews_[o] = out.channelRange(outputFirstChannel_[o], outputs[o].channels);
    program_->executor().process(inputViews_, outputViews_);
    playedFrames_ += frames;
}

void LiveGraph::measure(const ConstAudioView& source, const ConstAudioView& out) noexcept {
    if (!metered_) return;
    for (int c = 0; c < inputChannels_; ++c) inputPointers_[std::size_t(c)] = source.channel(c);
    for (int c = 0; c < outputChannels_; ++c) outputPointers_[std::size_t(c)] = out.channel(c);
    inputMeter_.process(inputPointers_.data(), source.frames);
    outputMeter_.process(outputPointers_.data(), out.frames);
}

void LiveGraph::setParam(int handle, double value) noexcept {
    Executor& executor = program_->executor();
    executor.setParam(handle, value, executor.position());
}

std::uint64_t LiveGraph::nonFiniteSamples() const noexcept { return program_->executor().nonFiniteSamples(); }

bool LiveGraph::releasedByEngine() const {
    // Counters first (acquire), then uses: the engine raises `engineUses` before it counts the
    // command that made it take the graph, so a consumed command is never missed here.
    return commandsConsumed.load(std::memory_order_acquire) == commandsPosted && engineUses.load(std::memory_order_acquire) == 0;
}

} // namespace sg::live
