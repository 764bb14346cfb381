// The declaration half of the node authoring kit: a node type's NodeTypeInfo built fluently,
// each parameter returning a typed handle that the kernel reads it by (no index constants).
//
//   NodeDecl decl{"gain", "utility"};
//   SmoothedParam gain = decl.param("gain").decibels(-120, 40).defaultValue(0)
//                            .describe("Level change ...").smoothingMs(20);
//
// The handle's type says how a running parameter follows NodeKernel::setParam, and so what a
// kernel may read of it (core/DeclaredKernel.h):
//   SmoothedParam  ramps linearly from its frame over the declared smoothing time (a LinearRamp)
//   SteppedParam   jumps to the new value at its frame
//   FixedParam     set when the graph is compiled; changes while running are ignored
// Every value reaching a kernel is first rounded (wholeNumber()) and clamped to the declared
// range. The declaration is data: NodeTypeInfo (for the registry, `stagegraph nodes`, docs/nodes/)
// plus a ParamBehaviour per parameter (for the kernel base).
#pragma once

#include "core/Node.h"

#include <initializer_list>
#include <string>
#include <vector>

namespace sg {

/// How a running parameter follows setParam.
enum class ParamMotion {
    Smoothed, ///< linear ramp from its frame over ParamInfo::smoothingMs
    Stepped,  ///< jumps at its frame
    Fixed,    ///< fixed when the graph is compiled (structure, latency); setParam ignored
};

/// A declared parameter, untyped: its index in NodeTypeInfo::params (-1 = none).
struct ParamRef {
    int index = -1; ///< index in the type's parameter table
    /// True when it names a parameter.
    bool valid() const { return index >= 0; }
};

/// A declared parameter whose handle type carries its motion (SmoothedParam, ...).
template <ParamMotion Motion> struct ParamHandle : ParamRef {
    static constexpr ParamMotion motion = Motion; ///< how it follows setParam
};
using SmoothedParam = ParamHandle<ParamMotion::Smoothed>;
using SteppedParam = ParamHandle<ParamMotion::Stepped>;
using FixedParam = ParamHandle<ParamMotion::Fixed>;

/// What the kernel base needs of a parameter beyond its ParamInfo.
struct ParamBehaviour {
    ParamMotion motion = ParamMotion::Fixed; ///< how it follows setParam
    bool wholeNumber = false;                ///< values are rounded to integers before clamping
};

/// The value of `p` in a parameter list indexed like the type's table (NodeType functions of
/// the parameters: latency, tail, batch key), or `fallback` when `p` is invalid or missing.
inline double paramValue(const ParamValues& values, ParamRef p, double fallback = 0) {
    return p.valid() && std::size_t(p.index) < values.size() ? values[std::size_t(p.index)] : fallback;
}

class NodeDecl;

/// One parameter being declared; ends with smoothingMs(), stepped() or fixed(), which add it
/// to the declaration and return its handle.
class ParamBuilder {
public:
    /// Range in Hz.
    ParamBuilder& frequency(double minHz, double maxHz) { return range(UnitKind::Frequency, minHz, maxHz); }
    /// Range in dB.
    ParamBuilder& decibels(double minDb, double maxDb) { return range(UnitKind::Gain, minDb, maxDb); }
    /// Range in ms.
    ParamBuilder& time(double minMs, double maxMs) { return range(UnitKind::Time, minMs, maxMs); }
    /// Range in %.
    ParamBuilder& percent(double minPercent, double maxPercent) { return range(UnitKind::Percent, minPercent, maxPercent); }
    /// Range in n (:1).
    ParamBuilder& ratio(double minRatio, double maxRatio) { return range(UnitKind::Ratio, minRatio, maxRatio); }
    /// Range in LUFS.
    ParamBuilder& loudness(double minLufs, double maxLufs) { return range(UnitKind::Loudness, minLufs, maxLufs); }
    /// Range in dBTP.
    ParamBuilder& truePeak(double minDbtp, double maxDbtp) { return range(UnitKind::TruePeak, minDbtp, maxDbtp); }
    /// Range of a plain number (no unit).
    ParamBuilder& plain(double minValue, double maxValue) { return range(UnitKind::Plain, minValue, maxValue); }
    /// The only accepted values (the range should span them).
    ParamBuilder& choices(std::initializer_list<double> values);
    /// The only accepted values, known at run time (an LV2 plugin's enumeration).
    ParamBuilder& choices(std::vector<double> values);
    /// The default, in the base unit.
    ParamBuilder& defaultValue(double value);
    /// Values are whole numbers: a change is rounded before it is clamped.
    ParamBuilder& wholeNumber();
    /// The one-line description (docs, `stagegraph nodes`).
    ParamBuilder& describe(std::string text);

    /// Ends the declaration: changes ramp linearly over `ms` milliseconds (> 0).
    SmoothedParam smoothingMs(double ms);
    /// Ends the declaration: changes jump at their frame.
    SteppedParam stepped();
    /// Ends the declaration: fixed when the graph is compiled, changes while running ignored.
    FixedParam fixed();

private:
    friend class NodeDecl;
    ParamBuilder(NodeDecl& decl, std::string id);
    ParamBuilder& range(UnitKind unit, double minValue, double maxValue);
    int add(ParamMotion motion, double smoothingMs);

    NodeDecl& decl_;
    ParamInfo info_;
    bool wholeNumber_ = false;
};

/// A node type's declaration, built fluently.
class NodeDecl {
public:
    /// A type named `name` (YAML `type:`) in `family`.
    NodeDecl(std::string name, std::string family);

    /// The one-line description.
    NodeDecl& describe(std::string text);
    /// Adds an input port.
    NodeDecl& input(std::string name, std::string description, bool required = true);
    /// Adds an output port.
    NodeDecl& output(std::string name, std::string description);
    /// How output channels follow input channels, for docs.
    NodeDecl& channelRule(std::string text);
    /// Instances with equal batch keys may share one kernel call.
    NodeDecl& batchable();
    /// Output lane i may alias input lane i of port 0.
    NodeDecl& inPlace();
    /// Chain fusion family (NodeTypeInfo::fusionFamily).
    NodeDecl& fusionFamily(std::string family);
    /// The parameter latency compensation sets (NodeTypeInfo::compensationParam).
    NodeDecl& compensationParam(std::string id);
    /// Formula and literature, for docs.
    NodeDecl& reference(std::string text);
    /// Starts declaring a parameter; the next one gets the next index.
    ParamBuilder param(std::string id) { return ParamBuilder(*this, std::move(id)); }

    /// The declaration as the registry, docs and compiler read it.
    const NodeTypeInfo& info() const { return info_; }
    /// Kit facts per parameter, indexed like info().params.
    const std::vector<ParamBehaviour>& behaviours() const { return behaviours_; }
    /// The parameter named `id` (invalid if none).
    ParamRef find(const std::string& id) const;
    /// The parameter named `id` if it has motion M (invalid otherwise): kernels that serve
    /// several types (a family) look their handles up by name.
    template <ParamMotion M> ParamHandle<M> handle(const std::string& id) const {
        const ParamRef ref = find(id);
        ParamHandle<M> h;
        if (ref.valid() && behaviours_[std::size_t(ref.index)].motion == M) h.index = ref.index;
        return h;
    }

private:
    friend class ParamBuilder;
    NodeTypeInfo info_;
    std::vector<ParamBehaviour> behaviours_;
};

/// The one instance of a node's declaration struct D (a NodeDecl member `decl` and the handles
/// of its parameters), built on first use, shared by its type and kernels.
template <class D> const D& declaration() {
    static const D instance;
    return instance;
}

} // namespace sg
