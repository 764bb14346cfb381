// The node contract.
//
// A node *type* declares statically what it is: name, family, description, ports, a parameter
// table, how output channel counts follow from input channel counts, its latency and tail as
// functions of its parameters and the sample rate, and how instances may be batched. The
// registry, `stagegraph nodes` and docs/nodes/ are generated from these declarations.
//
// A node *kernel* runs one or more instances of one type on lanes. A lane is one channel of one
// instance: a stereo EQ is 2 lanes; 32 batched mono EQs are 32 lanes in one call. Lanes of
// port p are the instances' channels of that port, concatenated in instance order. The same
// kernel code runs whatever the lane count, so batched and unbatched renders are
// bit-identical.
//
//   prepare(spec, instances)  may allocate, returns an error message or ""  (setup)
//   reset()                   clears state, real-time safe
//   process(context)          noexcept, no allocation, lock, log or throw
//   setParam(...)             noexcept, new target value from an absolute frame position
#pragma once

#include "core/Simd.h"
#include "core/Units.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sg {

/// One entry of a node type's parameter table. Values are in the unit kind's base unit.
struct ParamInfo {
    std::string id; ///< name used in YAML ("freq")
    UnitKind unit = UnitKind::Plain;
    double minValue = 0;         ///< inclusive, base unit
    double maxValue = 1;         ///< inclusive, base unit
    double defaultValue = 0;     ///< base unit
    double smoothingMs = 0;      ///< ramp time when changed while running, in ms (0 = immediate)
    std::string description;     ///< one line
    std::vector<double> choices; ///< if not empty, the only accepted values
};

/// A named port. Channel rules are stated in NodeTypeInfo::channelRule and enforced by
/// NodeType::resolveChannels.
struct PortInfo {
    std::string name; ///< "in", "out", "sidechain"
    std::string description;
    bool required = true; ///< inputs only: must be connected
};

/// Static declaration of a node type.
struct NodeTypeInfo {
    std::string name;        ///< YAML type ("peak")
    std::string family;      ///< filters, dynamics, mixing, stereo, meters, utility, ...
    std::string description; ///< one line
    std::vector<PortInfo> inputs;
    std::vector<PortInfo> outputs;
    std::vector<ParamInfo> params;
    std::string channelRule; ///< for docs: "out has the channels of in"
    bool batchable = false;  ///< instances with equal batchKey may share one kernel call
    bool inPlace = false;    ///< output lane i may alias input lane i of port 0
    /// Chain fusion: a series of nodes whose types name the same family (each one connection
    /// port 0 -> port 0, equal channels, no latency) runs as ONE instance of the chain head's
    /// kernel, the nodes as stages in series (InstanceSetup::stages). Such chains batch together
    /// when their total fusionUnits agree (key: family + total). "" = never fused.
    std::string fusionFamily = {};
    /// Latency compensation: this type can be the delay the compiler inserts on shorter paths;
    /// the named parameter sets the delay in frames. "" = not usable for compensation.
    std::string compensationParam = {};
    std::string reference; ///< formula / literature, for docs
};

/// Parameter values of one instance, indexed like NodeTypeInfo::params, in base units.
using ParamValues = std::vector<double>;

/// What a kernel is prepared with.
struct PrepareSpec {
    double sampleRate = 48000; ///< Hz
    int maxBlockFrames = 512;  ///< most frames any process() call gets
    SimdArch simd = SimdArch::Sse2;
};

/// One node of a fused chain (see InstanceSetup::stages).
struct InstanceStage {
    std::string type;   ///< node type name ("highpass")
    ParamValues params; ///< indexed like that type's parameter table
};

/// One instance handled by a kernel: its parameters and channel counts per port.
struct InstanceSetup {
    ParamValues params;
    std::vector<int> inputChannels;  ///< per input port (0 = unconnected optional port)
    std::vector<int> outputChannels; ///< per output port
    /// The instance's type name. Set by the compiler: instances of different types that share
    /// a batch key (peak + highshelf -> "biquad1") run in one kernel. "" = the kernel's own type.
    std::string type = {};
    /// Chain fusion (compiler, biquad family only): if not empty, the instance runs these nodes
    /// in series, each feeding the next, and `params` is their parameter lists concatenated.
    /// setParam's `param` counts through the stages by offset: stage k's parameter p is index
    /// (parameter counts of stages 0 .. k-1) + p.
    std::vector<InstanceStage> stages = {};
};

/// Arguments of one process() call.
struct ProcessContext {
    std::int64_t position = 0; ///< absolute frame index of the first frame
    int frames = 0;            ///< 1 .. maxBlockFrames
    /// inputs[port][lane]: lane pointers, aligned, padded; an unconnected optional port's lanes
    /// point at silence. Inputs may alias outputs when the type declares inPlace.
    const float* const* const* inputs = nullptr;
    /// outputs[port][lane]
    float* const* const* outputs = nullptr;
};

/// One figure a node reports (a meter's measurement): "integrated_lufs" = -14.2 "LUFS".
struct Measurement {
    std::string key; ///< snake_case, stable (used as a JSON key)
    double value = 0;
    std::string unit; ///< "LUFS", "LU", "dBTP", "dBFS", "", ...
};

/// A time series a node reports (gain reduction over time, a band's level): values[k] covers
/// frames [k * framesPerValue, (k + 1) * framesPerValue) of the render, 0-based from the node's
/// first processed frame. See core/SeriesRecorder.h for how nodes record one.
struct MeasurementSeries {
    std::string key;                 ///< snake_case, stable (JSON key): "gain_reduction_db"
    std::string unit;                ///< "dB", "LUFS", ...
    double sampleRate = 48000;       ///< Hz, of the frames counted
    std::int64_t framesPerValue = 0; ///< frames each value covers
    std::string reduction;           ///< how a value sums its frames: "max", "mean", "last"
    std::vector<float> values;
};

/// Runs one or more instances of one node type.
class NodeKernel {
public:
    virtual ~NodeKernel() = default;
    /// Allocates state for `instances`. Returns "" or an error message.
    virtual std::string prepare(const PrepareSpec& spec, std::span<const InstanceSetup> instances) = 0;
    /// Clears all signal state (delay lines, filter memories) and jumps smoothers to targets.
    virtual void reset() noexcept = 0;
    /// Processes ctx.frames frames of every lane.
    virtual void process(const ProcessContext& ctx) noexcept = 0;
    /// Sets a new target for parameter `param` of instance `instance`, effective at absolute
    /// frame `position` and smoothed over the parameter's smoothing time from there.
    virtual void setParam(int instance, int param, double value, std::int64_t position) noexcept {
        (void)instance;
        (void)param;
        (void)value;
        (void)position;
    }
    /// Appends what instance `instance` has measured so far (meters). Not real-time: call it
    /// between process() calls or after the render, from the thread that processes.
    virtual void measurements(int instance, std::vector<Measurement>& out) const {
        (void)instance;
        (void)out;
    }
    /// Appends the time series instance `instance` has recorded so far. Not real-time, like
    /// measurements().
    virtual void series(int instance, std::vector<MeasurementSeries>& out) const {
        (void)instance;
        (void)out;
    }
};

/// A node type: its declaration plus the functions of its parameters the compiler needs.
class NodeType {
public:
    virtual ~NodeType() = default;
    virtual const NodeTypeInfo& info() const = 0;
    /// Output channel counts from input channel counts (0 = unconnected). Returns "" or a
    /// message such as "in: expects 1 or 2 channels, got 6". Default: every output has the
    /// channels of input 0, which must be connected.
    virtual std::string resolveChannels(const ParamValues& params, std::span<const int> inputChannels,
                                        std::vector<int>& outputChannels) const;
    /// Cross-parameter checks after each value is in range. Returns "" or a message; one that
    /// starts with "<param id>:" is reported at that parameter's value when the graph sets it.
    virtual std::string validate(const ParamValues& params) const {
        (void)params;
        return {};
    }
    /// Latency in frames at `sampleRate`.
    virtual int latencyFrames(const ParamValues& params, double sampleRate) const {
        (void)params;
        (void)sampleRate;
        return 0;
    }
    /// How long output may continue after input stops, in seconds.
    virtual double tailSeconds(const ParamValues& params, double sampleRate) const {
        (void)params;
        (void)sampleRate;
        return 0;
    }
    /// Instances with equal keys can be batched into one kernel (only if info().batchable).
    virtual std::string batchKey(const ParamValues& params) const {
        (void)params;
        return info().name;
    }
    /// With info().fusionFamily: the size of this node in its family's kernel (biquads: second-
    /// order sections). A fused chain's batch key is the family followed by the chain's total.
    virtual int fusionUnits(const ParamValues& params) const {
        (void)params;
        return 1;
    }
    /// A fresh kernel. Setup time: may allocate.
    virtual std::unique_ptr<NodeKernel> createKernel() const = 0;

    /// Index of a parameter by id, or -1.
    int paramIndex(const std::string& id) const;
    /// Index of an input / output port by name, or -1.
    int inputIndex(const std::string& name) const;
    int outputIndex(const std::string& name) const;
    /// The default parameter values.
    ParamValues defaults() const;
};

/// The channel rule many types share: input port 0 connected with `minChannels` to
/// `maxChannels` channels; each of `outputPorts` outputs then gets `outputs` channels (0 = as
/// many as the input). Returns "" or the message ("in: expects 1 or 2 channels, got 6").
std::string channelsInRange(std::span<const int> inputChannels, int minChannels, int maxChannels, int outputs,
                            std::size_t outputPorts, std::vector<int>& outputChannels);
/// The message channelsInRange() gives for `channels` outside minChannels..maxChannels.
std::string channelRangeError(int channels, int minChannels, int maxChannels);

/// A NodeType whose declaration is held as data (most types need nothing more).
class DeclaredNodeType : public NodeType {
public:
    explicit DeclaredNodeType(NodeTypeInfo info) : info_(std::move(info)) {}
    const NodeTypeInfo& info() const override { return info_; }

private:
    NodeTypeInfo info_;
};

} // namespace sg
