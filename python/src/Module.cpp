// The Python module `stagegraph._stagegraph`: Graph, Processor, analyze and the node registry
// over the engine (core/) and the analyze command's measurement (host/cli/Analyze.h).
//
// A Graph is made from text only: the YAML of its top-level file, the texts of the files it
// includes and its settings (Graph.set). Loaded from a file, it keeps the texts the loader read
// (GraphDesc::files) and compiles again from them (LoadOptions::fileTexts), never from the disk,
// so a pickled Graph is the same graph wherever it is unpickled.
//
// Graph.process runs the OfflineRunner as `stagegraph render` does (the same block of 1024
// frames, no tail): the output is sample-aligned with the input and as long as the longest
// input, bit-identical to a float WAV written by render. Prepared programs are pooled per sample
// rate, so a loop of short calls does not prepare the graph each time and threads that process
// at once each get their own. The GIL is released while a program is prepared and while audio
// is processed.
#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/OfflineRunner.h"
#include "core/Registry.h"
#include "host/cli/Analyze.h"
#include "host/io/AudioFile.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>

namespace py = pybind11;

namespace sg::python {

namespace {

/// Frames per runner block: the render command's default --block, so process() runs the very
/// same block plan as `stagegraph render` (the executor is block-size independent anyway).
constexpr int kRenderBlockFrames = 1024;
/// Prepared programs a Graph keeps for reuse (one per thread that processes at once).
constexpr std::size_t kPooledPrograms = 8;

/// Graph errors, translated into stagegraph.GraphError (every diagnostic with its position).
struct GraphFailure {
    std::vector<Diagnostic> diagnostics;
};
/// A run that failed (non-finite samples), translated into stagegraph.ProcessingError.
struct ProcessingFailure {
    std::string message;
};
/// An audio file that cannot be analysed, translated into stagegraph.AudioFileError (an OSError).
struct AudioFileFailure {
    std::string message;
};

[[noreturn]] void throwGraphErrors(const Diagnostics& diags) {
    GraphFailure failure;
    for (const Diagnostic& d : diags.all())
        if (d.severity == Diagnostic::Severity::Error) failure.diagnostics.push_back(d);
    throw failure;
}

const char* severityName(Diagnostic::Severity severity) {
    switch (severity) {
    case Diagnostic::Severity::Error:
        return "error";
    case Diagnostic::Severity::Warning:
        return "warning";
    case Diagnostic::Severity::Note:
        return "note";
    }
    return "error";
}

py::object diagnosticObject(const Diagnostic& d) {
    py::object type = py::module_::import("stagegraph._errors").attr("Diagnostic");
    return type(d.mark.file, d.mark.line, d.mark.column, d.message, severityName(d.severity));
}

/// A whole sample rate within the graph limits, or ValueError.
double checkedRate(double sampleRate) {
    const GraphLimits limits;
    if (!std::isfinite(sampleRate) || sampleRate != std::floor(sampleRate) || sampleRate < limits.minSampleRate ||
        sampleRate > limits.maxSampleRate) {
        std::ostringstream text;
        text << "sample_rate: expected a whole number of Hz from " << limits.minSampleRate << " to " << limits.maxSampleRate
             << ", got " << sampleRate;
        throw py::value_error(text.str());
    }
    return sampleRate;
}

std::string shapeText(const py::array& array) {
    std::string text = "(";
    for (py::ssize_t d = 0; d < array.ndim(); ++d) text += (d ? ", " : "") + std::to_string(array.shape(d));
    return text + (array.ndim() == 1 ? ",)" : ")");
}

/// One numpy array checked to be float32 (channels, frames) with `channels` channels, made
/// C-contiguous (a copy only if it was not). `what` names it in errors ("input 'mix'").
py::array_t<float, py::array::c_style> signalArray(const py::handle& value, int channels, const std::string& what) {
    if (!py::isinstance<py::array>(value))
        throw py::type_error(what + ": expected a numpy.ndarray of float32 shaped (channels, frames), got " +
                             std::string(py::str(py::type::of(value).attr("__name__"))));
    const py::array array = py::reinterpret_borrow<py::array>(value);
    if (!array.dtype().is(py::dtype::of<float>()))
        throw py::type_error(what + ": expected dtype float32, got " + std::string(py::str(array.dtype())) +
                             " (convert with x.astype(numpy.float32))");
    if (array.ndim() != 2)
        throw py::value_error(what + ": expected a 2-D array shaped (channels, frames), got shape " + shapeText(array) +
                              (array.ndim() == 1 ? " (a mono signal x is x[numpy.newaxis, :])" : ""));
    if (array.shape(0) != channels) {
        std::string hint;
        if (array.shape(1) == channels) hint = "; is it (frames, channels)? pass x.T";
        throw py::value_error(what + ": expected " + plural(channels, "channel", "channels") + ", got an array of shape " +
                              shapeText(array) + " (channels, frames)" + hint);
    }
    if (array.shape(1) > INT_MAX) throw py::value_error(what + ": more than " + std::to_string(INT_MAX) + " frames");
    return py::array_t<float, py::array::c_style>::ensure(array);
}

/// A C-contiguous (channels, frames) array as a view.
ConstAudioView viewOf(const py::array_t<float, py::array::c_style>& array) {
    return ConstAudioView{array.data(), std::size_t(array.shape(1)), int(array.shape(0)), int(array.shape(1))};
}

/// A new float32 (channels, frames) array.
py::array_t<float, py::array::c_style> newSignal(int channels, std::int64_t frames) {
    return py::array_t<float, py::array::c_style>({py::ssize_t(channels), py::ssize_t(frames)});
}

/// Frames from a view in memory.
class ViewSource final : public AudioSource {
public:
    explicit ViewSource(const ConstAudioView& view) : view_(view) {}
    int channels() const override { return view_.channels; }
    int read(const AudioView& block) override {
        const int frames = std::min(block.frames, view_.frames - position_);
        for (int c = 0; c < view_.channels; ++c)
            std::memcpy(block.channel(c), view_.channel(c) + position_, sizeof(float) * std::size_t(frames));
        position_ += frames;
        return frames;
    }

private:
    ConstAudioView view_;
    int position_ = 0;
};

/// Frames into a (channels, frames) buffer in memory.
class ViewSink final : public AudioSink {
public:
    ViewSink(float* data, int channels, std::int64_t frames) : data_(data), channels_(channels), frames_(frames) {}
    bool write(const ConstAudioView& block) override {
        if (position_ + block.frames > frames_) return false;
        for (int c = 0; c < channels_; ++c)
            std::memcpy(data_ + std::size_t(c) * std::size_t(frames_) + std::size_t(position_), block.channel(c),
                        sizeof(float) * std::size_t(block.frames));
        position_ += block.frames;
        return true;
    }

private:
    float* data_;
    int channels_;
    std::int64_t frames_;
    std::int64_t position_ = 0;
};

/// "output 'master'" or "one of the outputs 'a', 'b'", for errors about every output at once.
std::string outputsText(const std::vector<ExternalPort>& outputs) {
    std::string names;
    for (const auto& port : outputs) names += (names.empty() ? "'" : ", '") + port.name + "'";
    return (outputs.size() == 1 ? "output " : "one of the outputs ") + names;
}

std::string nonFiniteMessage(const std::vector<ExternalPort>& outputs, std::int64_t frame, double sampleRate) {
    char when[64];
    std::snprintf(when, sizeof when, " (%.3f s)", double(frame) / sampleRate);
    return "the graph produced non-finite samples (NaN or infinity) at " + outputsText(outputs) + ", first at frame " +
           std::to_string(frame) + when;
}

/// The inputs of one call, checked against the executor's ports, in the executor's order.
struct BoundInputs {
    std::vector<py::array_t<float, py::array::c_style>> arrays; ///< keeps them alive
    std::vector<ConstAudioView> views;
    std::int64_t longestFrames = 0;
};

/// x: an array (graphs with one input), a dict {name: array}, or None (graphs without inputs).
BoundInputs bindInputs(const py::object& x, const std::vector<ExternalPort>& inputs) {
    BoundInputs bound;
    std::string names;
    for (const auto& port : inputs) names += (names.empty() ? "'" : ", '") + port.name + "'";
    if (names.empty()) names = "none";
    if (x.is_none() || (py::isinstance<py::dict>(x) && py::len(x) == 0)) {
        if (!inputs.empty()) throw py::value_error("the graph has inputs (" + names + "): give their signals");
        return bound;
    }
    if (py::isinstance<py::dict>(x)) {
        const py::dict dict = py::reinterpret_borrow<py::dict>(x);
        for (const auto& item : dict) {
            if (!py::isinstance<py::str>(item.first))
                throw py::type_error("input names must be strings, got " +
                                     std::string(py::str(py::type::of(item.first).attr("__name__"))));
            const std::string key = item.first.cast<std::string>();
            const bool known = std::any_of(inputs.begin(), inputs.end(), [&](const ExternalPort& p) { return p.name == key; });
            if (!known) throw py::value_error("the graph has no input '" + key + "' (its inputs: " + names + ")");
        }
        for (const auto& port : inputs) {
            if (!dict.contains(port.name))
                throw py::value_error("no signal for graph input '" + port.name + "' (its inputs: " + names + ")");
            bound.arrays.push_back(signalArray(dict[py::str(port.name)], port.channels, "input '" + port.name + "'"));
        }
    } else {
        if (inputs.size() != 1)
            throw py::value_error(inputs.empty() ? "the graph has no inputs: pass None and frames="
                                                 : "the graph has " + std::to_string(inputs.size()) + " inputs (" + names +
                                                       "): pass a dict {name: array}");
        bound.arrays.push_back(signalArray(x, inputs[0].channels, "input '" + inputs[0].name + "'"));
    }
    for (const auto& array : bound.arrays) {
        bound.views.push_back(viewOf(array));
        bound.longestFrames = std::max<std::int64_t>(bound.longestFrames, array.shape(1));
    }
    return bound;
}

/// Output arrays in the executor's order: one array when the graph has one output, else a dict.
py::object outputsObject(const std::vector<ExternalPort>& outputs, std::vector<py::array_t<float, py::array::c_style>>& arrays) {
    if (outputs.size() == 1) return std::move(arrays[0]);
    py::dict dict;
    for (std::size_t o = 0; o < outputs.size(); ++o) dict[py::str(outputs[o].name)] = std::move(arrays[o]);
    return dict;
}

/// What a Graph is made from: texts and settings only (this is what pickles).
struct GraphSource {
    std::string path;                                          ///< top-level file as given ("" = from text)
    std::string text;                                          ///< from text: the YAML
    std::string name;                                          ///< from text: the name in marks
    std::string baseDir;                                       ///< from text: where `use:` paths start
    std::vector<GraphFileText> files;                          ///< every file the first load read
    std::vector<std::string> includeDirs;                      ///< more folders `use:` may read from
    std::vector<std::pair<std::string, std::string>> settings; ///< "node.param" -> value text
};

/// Loads and compiles `source`; with `fromTexts`, every file comes from source.files. Throws
/// GraphFailure with every error. `files` receives what the load read.
std::shared_ptr<const CompiledGraph> build(const GraphSource& source, bool fromTexts, std::vector<GraphFileText>* files) {
    LoadOptions load;
    load.includeDirs = source.includeDirs;
    if (fromTexts) load.fileTexts = source.files;
    Diagnostics diags;
    GraphDesc desc = source.path.empty() ? loadGraphFromString(source.text, source.name, source.baseDir, diags, load)
                                         : loadGraph(source.path, diags, load);
    std::vector<std::string> overrides;
    for (const auto& [key, value] : source.settings) overrides.push_back(key + "=" + value);
    if (!overrides.empty()) applyOverrides(desc, overrides, diags, "set");
    const bool loaded = !diags.hasErrors();
    // As loadAndCompile(): a graph the loader could not read whole is not compiled (follow-on
    // errors only); any other is, so one GraphError carries the loader's and the compiler's errors.
    auto compiled = desc.complete ? compile(desc, Registry::builtin(), diags) : nullptr;
    if (!loaded || diags.hasErrors() || !compiled) throwGraphErrors(diags);
    if (files) *files = std::move(desc.files);
    return compiled;
}

/// Prepared programs of one compiled graph, for reuse across calls and threads.
class ProgramPool {
public:
    /// A program at `sampleRate` (prepared now if none is free). Call without the GIL.
    std::unique_ptr<Program> take(const std::shared_ptr<const CompiledGraph>& compiled, double sampleRate, Diagnostics& diags) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (auto it = free_.begin(); it != free_.end(); ++it) {
                if (it->compiled != compiled || it->sampleRate != sampleRate) continue;
                std::unique_ptr<Program> program = std::move(it->program);
                free_.erase(it);
                return program;
            }
        }
        InstanceOptions options;
        options.sampleRate = sampleRate;
        options.maxBlockFrames = kRenderBlockFrames;
        return instantiate(*compiled, options, diags);
    }
    /// Gives a program back; the oldest is dropped beyond kPooledPrograms.
    void give(const std::shared_ptr<const CompiledGraph>& compiled, double sampleRate, std::unique_ptr<Program> program) {
        std::lock_guard<std::mutex> lock(mutex_);
        free_.push_back({compiled, sampleRate, std::move(program)});
        if (free_.size() > kPooledPrograms) free_.erase(free_.begin());
    }
    /// Drops every pooled program (the graph changed).
    void clear() {
        std::lock_guard<std::mutex> lock(mutex_);
        free_.clear();
    }

private:
    struct Entry {
        std::shared_ptr<const CompiledGraph> compiled;
        double sampleRate = 0;
        std::unique_ptr<Program> program;
    };
    std::mutex mutex_;
    std::vector<Entry> free_;
};

class Processor;

/// stagegraph.Graph
class Graph {
public:
    static std::shared_ptr<Graph> load(const std::string& path, const std::vector<std::string>& includeDirs) {
        auto graph = std::make_shared<Graph>();
        graph->source_.path = path;
        graph->source_.includeDirs = includeDirs;
        graph->compiled_ = build(graph->source_, false, &graph->source_.files);
        return graph;
    }
    static std::shared_ptr<Graph> fromYaml(const std::string& text, const std::string& baseDir, const std::string& name,
                                           const std::vector<std::string>& includeDirs) {
        auto graph = std::make_shared<Graph>();
        graph->source_.text = text;
        graph->source_.baseDir = baseDir;
        graph->source_.name = name;
        graph->source_.includeDirs = includeDirs;
        graph->compiled_ = build(graph->source_, false, &graph->source_.files);
        return graph;
    }

    /// g.set("node.param", value): the graph compiled again with the setting; unchanged on error.
    void set(const std::string& target, const py::object& value) {
        std::string text;
        if (py::isinstance<py::bool_>(value)) throw py::type_error("set: expected a number or a string with a unit, got bool");
        if (py::isinstance<py::str>(value)) {
            text = value.cast<std::string>();
        } else if (py::isinstance<py::int_>(value) || py::isinstance<py::float_>(value) || py::hasattr(value, "__float__")) {
            const double number = value.cast<double>();
            if (!std::isfinite(number)) throw py::value_error("set " + target + ": expected a finite number");
            char buffer[64];
            std::snprintf(buffer, sizeof buffer, "%.17g", number);
            text = buffer;
        } else {
            throw py::type_error("set " + target + ": expected a number or a string with a unit (\"-3 dB\"), got " +
                                 std::string(py::str(py::type::of(value).attr("__name__"))));
        }
        if (target.find('=') != std::string::npos) throw py::value_error("set: expected 'node.param', got '" + target + "'");
        GraphSource changed = source_;
        auto existing = std::find_if(changed.settings.begin(), changed.settings.end(),
                                     [&](const auto& setting) { return setting.first == target; });
        if (existing != changed.settings.end())
            existing->second = text;
        else
            changed.settings.emplace_back(target, text);
        compiled_ = build(changed, true, nullptr);
        source_ = std::move(changed);
        pool_.clear();
    }

    py::object process(const py::object& x, double sampleRate, const py::object& framesObject) {
        checkedRate(sampleRate);
        std::int64_t durationFrames = -1;
        if (!framesObject.is_none()) {
            if (py::isinstance<py::bool_>(framesObject) || !py::hasattr(framesObject, "__index__"))
                throw py::type_error("frames: expected a whole number of frames, got " +
                                     std::string(py::str(py::type::of(framesObject).attr("__name__"))));
            durationFrames = py::int_(framesObject.attr("__index__")()).cast<std::int64_t>();
            if (durationFrames < 0 || durationFrames > INT_MAX)
                throw py::value_error("frames: expected 0 to " + std::to_string(INT_MAX));
        }
        const std::shared_ptr<const CompiledGraph> compiled = compiled_;
        const CompiledPorts ports = compiledPorts(*compiled);
        std::vector<ExternalPort> inputs, outputs;
        for (std::size_t i = 0; i < ports.inputNames.size(); ++i) inputs.push_back({ports.inputNames[i], ports.inputChannels[i]});
        for (std::size_t o = 0; o < ports.outputNames.size(); ++o)
            outputs.push_back({ports.outputNames[o], ports.outputChannels[o]});
        if (inputs.empty() && durationFrames < 0) throw py::value_error("the graph has no inputs: give the length with frames=N");
        BoundInputs bound = bindInputs(x, inputs);
        const std::int64_t length = durationFrames >= 0 ? durationFrames : bound.longestFrames;
        std::vector<py::array_t<float, py::array::c_style>> arrays;
        for (const auto& port : outputs) arrays.push_back(newSignal(port.channels, length));
        std::vector<float*> outputData;
        for (auto& array : arrays) outputData.push_back(array.mutable_data());

        Diagnostics diags;
        RunResult result;
        std::string mismatch;
        {
            py::gil_scoped_release release;
            std::unique_ptr<Program> program = pool_.take(compiled, sampleRate, diags);
            if (program) {
                Executor& executor = program->executor();
                // The executor's port order, by name, to the declared order the arrays follow.
                std::vector<std::unique_ptr<ViewSource>> sourceStore;
                std::vector<std::unique_ptr<ViewSink>> sinkStore;
                std::vector<AudioSource*> sources;
                std::vector<AudioSink*> sinks;
                for (const auto& port : executor.inputs()) {
                    const auto at =
                        std::find_if(inputs.begin(), inputs.end(), [&](const auto& p) { return p.name == port.name; });
                    sourceStore.push_back(std::make_unique<ViewSource>(bound.views[std::size_t(at - inputs.begin())]));
                    sources.push_back(sourceStore.back().get());
                }
                for (const auto& port : executor.outputs()) {
                    const auto at =
                        std::find_if(outputs.begin(), outputs.end(), [&](const auto& p) { return p.name == port.name; });
                    const auto o = std::size_t(at - outputs.begin());
                    sinkStore.push_back(std::make_unique<ViewSink>(outputData[o], port.channels, length));
                    sinks.push_back(sinkStore.back().get());
                }
                RunnerOptions options;
                options.blockFrames = kRenderBlockFrames;
                options.durationFrames = durationFrames;
                OfflineRunner runner(executor, options);
                result = runner.run(sources, sinks);
                pool_.give(compiled, sampleRate, std::move(program));
            }
        }
        if (diags.hasErrors()) throwGraphErrors(diags);
        switch (result.status) {
        case RunStatus::Finished:
            break;
        case RunStatus::NonFinite:
            throw ProcessingFailure{nonFiniteMessage(outputs, result.nonFiniteFrame, sampleRate)};
        default:
            throw ProcessingFailure{"internal: the run stopped early (" + result.mismatch + ")"};
        }
        if (result.outputFrames != length)
            throw ProcessingFailure{"internal: " + std::to_string(result.outputFrames) + " frames written of " +
                                    std::to_string(length)};
        return outputsObject(outputs, arrays);
    }

    std::unique_ptr<Processor> processor(double sampleRate, int blockFrames);

    int latencyFrames(double sampleRate) {
        checkedRate(sampleRate);
        Diagnostics diags;
        std::unique_ptr<Program> program;
        const std::shared_ptr<const CompiledGraph> compiled = compiled_; // set() may replace compiled_
        {
            py::gil_scoped_release release;
            program = pool_.take(compiled, sampleRate, diags);
        }
        if (!program) throwGraphErrors(diags);
        const int latency = program->executor().latencyFrames();
        pool_.give(compiled, sampleRate, std::move(program));
        return latency;
    }

    py::dict ports(bool inputs) const {
        const CompiledPorts ports = compiledPorts(*compiled_);
        py::dict out;
        const auto& names = inputs ? ports.inputNames : ports.outputNames;
        const auto& channels = inputs ? ports.inputChannels : ports.outputChannels;
        for (std::size_t i = 0; i < names.size(); ++i) out[py::str(names[i])] = channels[i];
        return out;
    }

    const GraphDesc& desc() const { return compiledDesc(*compiled_); }
    const GraphSource& source() const { return source_; }
    const std::shared_ptr<const CompiledGraph>& compiled() const { return compiled_; }

    py::dict getState() const {
        py::dict state;
        state["format"] = 1;
        state["path"] = source_.path;
        state["text"] = source_.text;
        state["name"] = source_.name;
        state["base_dir"] = source_.baseDir;
        py::list files;
        for (const auto& file : source_.files) files.append(py::make_tuple(file.path, file.text));
        state["files"] = files;
        state["include_dirs"] = source_.includeDirs;
        py::list settings;
        for (const auto& [key, value] : source_.settings) settings.append(py::make_tuple(key, value));
        state["settings"] = settings;
        return state;
    }
    static std::shared_ptr<Graph> fromState(const py::dict& state) {
        if (!state.contains("format") || state["format"].cast<int>() != 1)
            throw py::value_error("not a pickled stagegraph.Graph of format 1");
        auto graph = std::make_shared<Graph>();
        GraphSource& s = graph->source_;
        s.path = state["path"].cast<std::string>();
        s.text = state["text"].cast<std::string>();
        s.name = state["name"].cast<std::string>();
        s.baseDir = state["base_dir"].cast<std::string>();
        for (const auto& file : state["files"]) {
            const auto pair = file.cast<std::pair<std::string, std::string>>();
            s.files.push_back({pair.first, pair.second});
        }
        s.includeDirs = state["include_dirs"].cast<std::vector<std::string>>();
        for (const auto& setting : state["settings"]) s.settings.push_back(setting.cast<std::pair<std::string, std::string>>());
        graph->compiled_ = build(s, true, nullptr);
        return graph;
    }

private:
    GraphSource source_;
    std::shared_ptr<const CompiledGraph> compiled_;
    ProgramPool pool_;
};

/// stagegraph.Processor: one prepared program, fed block by block.
class Processor {
public:
    Processor(std::shared_ptr<const CompiledGraph> compiled, std::unique_ptr<Program> program, int blockFrames)
        : compiled_(std::move(compiled)), program_(std::move(program)), blockFrames_(blockFrames) {
        Executor& executor = program_->executor();
        const CompiledPorts ports = compiledPorts(*compiled_);
        for (std::size_t i = 0; i < ports.inputNames.size(); ++i)
            inputs_.push_back({ports.inputNames[i], ports.inputChannels[i]});
        for (std::size_t o = 0; o < ports.outputNames.size(); ++o)
            outputs_.push_back({ports.outputNames[o], ports.outputChannels[o]});
        for (const auto& port : executor.inputs()) {
            const auto at = std::find_if(inputs_.begin(), inputs_.end(), [&](const auto& p) { return p.name == port.name; });
            inputSlot_.push_back(std::size_t(at - inputs_.begin()));
            silence_.emplace_back(port.channels, blockFrames_);
            silence_.back().view().clear();
        }
        for (const auto& port : executor.outputs()) {
            const auto at = std::find_if(outputs_.begin(), outputs_.end(), [&](const auto& p) { return p.name == port.name; });
            outputSlot_.push_back(std::size_t(at - outputs_.begin()));
            outputBlocks_.emplace_back(port.channels, blockFrames_);
        }
        inputViews_.resize(inputSlot_.size());
        outputViews_.resize(outputSlot_.size());
        latency_ = executor.latencyFrames();
    }

    py::object process(const py::object& x) {
        if (flushed_) throw py::value_error("the processor was flushed: call reset() to start a new stream");
        BoundInputs bound = bindInputs(x, inputs_);
        std::int64_t frames = bound.longestFrames;
        for (const auto& view : bound.views)
            if (view.frames != frames) throw py::value_error("every input of one block must have the same number of frames");
        if (inputs_.empty()) throw py::value_error("the graph has no inputs: use Graph.process(None, rate, frames=N)");
        return run(&bound, frames);
    }

    py::object flush() {
        if (flushed_) throw py::value_error("the processor was flushed already: call reset() to start a new stream");
        flushed_ = true;
        return run(nullptr, latency_);
    }

    void reset() {
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mutex_);
        program_->executor().reset();
        flushed_ = false;
        reportedNonFinite_ = 0;
    }

    int latencyFrames() const { return latency_; }
    double sampleRate() const { return program_->executor().sampleRate(); }
    int blockFrames() const { return blockFrames_; }
    std::int64_t position() const { return program_->executor().position(); }

private:
    /// Feeds `frames` frames (of `bound`, or silence) and returns the output past the latency.
    py::object run(const BoundInputs* bound, std::int64_t frames) {
        Executor& executor = program_->executor();
        const std::int64_t start = executor.position();
        const std::int64_t outputFrames =
            std::max<std::int64_t>(0, start + frames - latency_) - std::max<std::int64_t>(0, start - latency_);
        std::vector<py::array_t<float, py::array::c_style>> arrays;
        for (const auto& port : outputs_) arrays.push_back(newSignal(port.channels, outputFrames));
        std::vector<float*> outputData;
        for (auto& array : arrays) outputData.push_back(array.mutable_data());
        std::uint64_t nonFinite = 0;
        std::int64_t firstNonFinite = 0;
        {
            py::gil_scoped_release release;
            std::lock_guard<std::mutex> lock(mutex_);
            std::int64_t written = 0;
            for (std::int64_t done = 0; done < frames;) {
                const int n = int(std::min<std::int64_t>(blockFrames_, frames - done));
                const std::int64_t position = executor.position();
                for (std::size_t k = 0; k < inputViews_.size(); ++k)
                    inputViews_[k] = bound ? bound->views[inputSlot_[k]].frameRange(int(done), n)
                                           : ConstAudioView(silence_[k].view().frameRange(0, n));
                for (std::size_t o = 0; o < outputViews_.size(); ++o) outputViews_[o] = outputBlocks_[o].view().frameRange(0, n);
                executor.process(inputViews_, outputViews_);
                const int skip = int(std::clamp<std::int64_t>(latency_ - position, 0, n));
                for (std::size_t o = 0; o < outputViews_.size(); ++o) {
                    const ExternalPort& port = outputs_[outputSlot_[o]];
                    for (int c = 0; c < port.channels; ++c)
                        std::memcpy(outputData[outputSlot_[o]] + std::size_t(c) * std::size_t(outputFrames) +
                                        std::size_t(written),
                                    outputViews_[o].channel(c) + skip, sizeof(float) * std::size_t(n - skip));
                }
                written += n - skip;
                done += n;
            }
            nonFinite = executor.nonFiniteSamples();
            firstNonFinite = executor.firstNonFiniteFrame();
        }
        if (nonFinite > reportedNonFinite_) {
            reportedNonFinite_ = nonFinite;
            throw ProcessingFailure{
                nonFiniteMessage(outputs_, std::max<std::int64_t>(0, firstNonFinite - latency_), sampleRate()) +
                " (replaced by silence in this block's output)"};
        }
        return outputsObject(outputs_, arrays);
    }

    std::shared_ptr<const CompiledGraph> compiled_;
    std::unique_ptr<Program> program_;
    int blockFrames_;
    int latency_ = 0;
    bool flushed_ = false;
    std::uint64_t reportedNonFinite_ = 0;
    std::vector<ExternalPort> inputs_, outputs_;      ///< declared order
    std::vector<std::size_t> inputSlot_, outputSlot_; ///< executor port -> declared port
    std::vector<AudioBuffer> silence_, outputBlocks_;
    std::vector<ConstAudioView> inputViews_;
    std::vector<AudioView> outputViews_;
    std::mutex mutex_;
};

std::unique_ptr<Processor> Graph::processor(double sampleRate, int blockFrames) {
    checkedRate(sampleRate);
    if (blockFrames < 1 || blockFrames > 8192)
        throw py::value_error("block: expected a frame count from 1 to 8192, got " + std::to_string(blockFrames));
    InstanceOptions options;
    options.sampleRate = sampleRate;
    options.maxBlockFrames = blockFrames;
    Diagnostics diags;
    std::unique_ptr<Program> program;
    const auto compiled = compiled_;
    {
        py::gil_scoped_release release;
        program = instantiate(*compiled, options, diags);
    }
    if (!program) throwGraphErrors(diags);
    return std::make_unique<Processor>(compiled, std::move(program), blockFrames);
}

int checkedOversampling(int oversampling) {
    if (oversampling != 4 && oversampling != 8)
        throw py::value_error("oversampling: expected 4 or 8, got " + std::to_string(oversampling));
    return oversampling;
}

cli::AnalyzeFigures checkedFigures(const std::string& figures) {
    if (figures == "all") return cli::AnalyzeFigures::All;
    if (figures == "loudness") return cli::AnalyzeFigures::Loudness;
    throw py::value_error("figures: expected 'loudness' or 'all', got '" + figures + "'");
}

/// The analyze --json object of a signal in memory ("file": null).
std::string analyzeArray(const py::object& x, double sampleRate, int oversampling, const std::string& figures) {
    checkedRate(sampleRate);
    cli::AnalyzeOptions options;
    options.truePeakOversampling = checkedOversampling(oversampling);
    options.figures = checkedFigures(figures);
    options.showProgress = false;
    if (!py::isinstance<py::array>(x))
        throw py::type_error("expected a numpy.ndarray of float32 shaped (channels, frames), got " +
                             std::string(py::str(py::type::of(x).attr("__name__"))));
    const py::array array = py::reinterpret_borrow<py::array>(x);
    const int channels = array.ndim() == 2 ? int(std::min<py::ssize_t>(array.shape(0), INT_MAX)) : 0;
    const auto signal = signalArray(x, channels, "signal");
    cli::FileAnalysis analysis;
    std::string error;
    {
        py::gil_scoped_release release;
        error = cli::analyzeSignal(viewOf(signal), sampleRate, options, analysis);
    }
    if (!error.empty()) throw py::value_error(error);
    return cli::analysisJson(analysis);
}

std::string analyzePath(const std::string& path, int oversampling, const std::string& figures) {
    cli::AnalyzeOptions options;
    options.truePeakOversampling = checkedOversampling(oversampling);
    options.figures = checkedFigures(figures);
    options.showProgress = false;
    cli::FileAnalysis analysis;
    std::string error;
    {
        py::gil_scoped_release release;
        error = cli::analyzeFile(path, options, analysis);
    }
    if (!error.empty()) throw AudioFileFailure{error};
    return cli::analysisJson(analysis);
}

/// (x, sample_rate) of an audio file: float32 (channels, frames), full scale 1.0.
py::tuple readAudio(const std::string& path) {
    io::AudioFileReader reader;
    std::string error = reader.open(path);
    if (!error.empty()) throw AudioFileFailure{error};
    if (!reader.lengthKnown()) throw AudioFileFailure{"'" + path + "' is a stream that declares no length"};
    if (reader.frames() > INT_MAX) throw AudioFileFailure{"'" + path + "' is longer than " + std::to_string(INT_MAX) + " frames"};
    auto signal = newSignal(reader.channels(), reader.frames());
    std::int64_t got = 0;
    {
        py::gil_scoped_release release;
        const AudioView view{signal.mutable_data(), std::size_t(reader.frames()), reader.channels(), int(reader.frames())};
        for (std::int64_t done = 0; done < reader.frames() && got >= 0; done += got) {
            got = reader.read(view.frameRange(int(done), int(std::min<std::int64_t>(1 << 16, reader.frames() - done))));
            if (got == 0) break;
        }
    }
    if (got < 0) throw AudioFileFailure{reader.error()};
    return py::make_tuple(std::move(signal), reader.sampleRate());
}

/// Writes x (float32 (channels, frames)) through a temporary file renamed over `path` when
/// complete, as render writes its outputs. `format`: wav16|wav24|wav32f|flac16|flac24, or ""
/// for the file name's default (wav24, flac24).
void writeAudio(const std::string& path, const py::object& x, double sampleRate, const std::string& formatName) {
    checkedRate(sampleRate);
    std::optional<io::OutputFormat> format =
        formatName.empty() ? io::defaultFormatForPath(path) : io::parseOutputFormat(formatName);
    if (!format)
        throw py::value_error(formatName.empty()
                                  ? "cannot tell the format of '" + path +
                                        "' from its name; pass format='wav16'|'wav24'|'wav32f'|'flac16'|'flac24'"
                                  : "format: expected wav16, wav24, wav32f, flac16 or flac24, got '" + formatName + "'");
    if (!io::formatMatchesPath(*format, path))
        throw py::value_error(std::string("format ") + io::outputFormatName(*format) + " does not fit the name '" + path + "'");
    if (!py::isinstance<py::array>(x) || py::reinterpret_borrow<py::array>(x).ndim() != 2)
        (void)signalArray(x, 0, "x"); // the TypeError or ValueError that explains it
    const auto signal = signalArray(x, int(std::min<py::ssize_t>(py::reinterpret_borrow<py::array>(x).shape(0), INT_MAX)), "x");
    if (signal.shape(0) < 1) throw py::value_error("x: no channels");
    std::string error;
    {
        py::gil_scoped_release release;
        error = io::writeAudioFile(path, *format, sampleRate, viewOf(signal));
    }
    if (!error.empty()) throw AudioFileFailure{error};
}

py::list nodeList() {
    py::list out;
    for (const NodeType* type : Registry::builtin().all()) {
        const NodeTypeInfo& info = type->info();
        py::dict node;
        node["name"] = info.name;
        node["family"] = info.family;
        node["description"] = info.description;
        node["channel_rule"] = info.channelRule;
        auto ports = [](const std::vector<PortInfo>& list) {
            py::list result;
            for (const PortInfo& p : list) {
                py::dict port;
                port["name"] = p.name;
                port["description"] = p.description;
                port["required"] = p.required;
                result.append(port);
            }
            return result;
        };
        node["inputs"] = ports(info.inputs);
        node["outputs"] = ports(info.outputs);
        py::list params;
        for (const ParamInfo& p : info.params) {
            py::dict param;
            param["id"] = p.id;
            param["unit"] = baseUnitSymbol(p.unit);
            param["min"] = p.minValue;
            param["max"] = p.maxValue;
            param["default"] = p.defaultValue;
            param["smoothing_ms"] = p.smoothingMs;
            param["description"] = p.description;
            param["choices"] = p.choices;
            params.append(param);
        }
        node["params"] = params;
        out.append(node);
    }
    return out;
}

} // namespace

} // namespace sg::python

PYBIND11_MODULE(_stagegraph, m) {
    using namespace sg::python;
    m.doc() = "stagegraph engine bindings (use the stagegraph package)";
#ifdef STAGEGRAPH_VERSION
    m.attr("__version__") = STAGEGRAPH_VERSION;
#endif

    py::register_exception_translator([](std::exception_ptr pointer) {
        try {
            if (pointer) std::rethrow_exception(pointer);
        } catch (const GraphFailure& failure) {
            py::list diagnostics;
            for (const auto& d : failure.diagnostics) diagnostics.append(diagnosticObject(d));
            py::object error = py::module_::import("stagegraph._errors").attr("GraphError")(diagnostics);
            PyErr_SetObject(error.get_type().ptr(), error.ptr());
        } catch (const ProcessingFailure& failure) {
            py::object type = py::module_::import("stagegraph._errors").attr("ProcessingError");
            PyErr_SetString(type.ptr(), failure.message.c_str());
        } catch (const AudioFileFailure& failure) {
            py::object type = py::module_::import("stagegraph._errors").attr("AudioFileError");
            PyErr_SetString(type.ptr(), failure.message.c_str());
        }
    });

    py::class_<Processor>(m, "Processor")
        .def("process", &Processor::process, py::arg("x"))
        .def("flush", &Processor::flush)
        .def("reset", &Processor::reset)
        .def_property_readonly("latency_frames", &Processor::latencyFrames)
        .def_property_readonly("sample_rate", &Processor::sampleRate)
        .def_property_readonly("block", &Processor::blockFrames)
        .def_property_readonly("position", &Processor::position)
        .def("__reduce_ex__", [](const Processor&, py::object) -> py::object {
            throw py::type_error("a stagegraph Processor is not picklable: it holds running state (filter memories, delay "
                                 "lines, reverb tails) that is not pickled; pickle the Graph and make a processor from it");
        });

    py::class_<Graph, std::shared_ptr<Graph>>(m, "Graph")
        .def_static("load", &Graph::load, py::arg("path"), py::arg("include_dirs") = std::vector<std::string>{})
        .def_static("from_yaml", &Graph::fromYaml, py::arg("text"), py::arg("base_dir") = ".", py::arg("name") = "<string>",
                    py::arg("include_dirs") = std::vector<std::string>{})
        .def("set", &Graph::set, py::arg("target"), py::arg("value"))
        .def("process", &Graph::process, py::arg("x"), py::arg("sample_rate"), py::arg("frames") = py::none())
        .def("processor", &Graph::processor, py::arg("sample_rate"), py::arg("block") = 1024)
        .def("latency_frames", &Graph::latencyFrames, py::arg("sample_rate"))
        .def_property_readonly("inputs", [](const Graph& g) { return g.ports(true); })
        .def_property_readonly("outputs", [](const Graph& g) { return g.ports(false); })
        .def_property_readonly("name", [](const Graph& g) { return g.desc().name; })
        .def_property_readonly("stage", [](const Graph& g) { return g.desc().stage; })
        .def_property_readonly("description", [](const Graph& g) { return g.desc().description; })
        .def_property_readonly(
            "path", [](const Graph& g) { return g.source().path.empty() ? py::object(py::none()) : py::str(g.source().path); })
        .def_property_readonly("settings",
                               [](const Graph& g) {
                                   py::dict out;
                                   for (const auto& [key, value] : g.source().settings) out[py::str(key)] = value;
                                   return out;
                               })
        .def_property_readonly("files",
                               [](const Graph& g) {
                                   py::list out;
                                   for (const auto& file : g.source().files) out.append(file.path);
                                   return out;
                               })
        .def_property_readonly("nodes",
                               [](const Graph& g) {
                                   py::dict out;
                                   for (const auto& node : g.desc().nodes) out[py::str(node.name)] = node.type;
                                   return out;
                               })
        .def(py::pickle([](const Graph& g) { return g.getState(); },
                        [](const py::dict& state) { return Graph::fromState(state); }));

    m.def("_analyze", &analyzeArray, py::arg("x"), py::arg("sample_rate"), py::arg("oversampling") = 4,
          py::arg("figures") = "all");
    m.def("_analyze_file", &analyzePath, py::arg("path"), py::arg("oversampling") = 4, py::arg("figures") = "all");
    m.def("read_audio", &readAudio, py::arg("path"));
    m.def("write_audio", &writeAudio, py::arg("path"), py::arg("x"), py::arg("sample_rate"), py::arg("format") = "");
    m.def("nodes", &nodeList, "Every node type of the registry: name, family, description, ports and parameters.");
}
