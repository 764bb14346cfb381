// The `lv2` node: an installed LV2 plugin run as a node (docs/plugins.md).
//
// A graph names the plugin (`{type: lv2, plugin: URI, params: {symbol: value}}`); the provider
// makes one node type per plugin from its TTL: control inputs are parameters by symbol (range,
// default, integer/toggled/enumeration, units:db/hz/khz/ms/s/pc as our unit kinds), main audio
// inputs are `in`, lv2:isSideChain inputs `sidechain`, audio outputs `out`. A plugin with one
// input and one output runs one instance per channel. The plugin's reported latency (its
// lv2:reportsLatency control output after one run) is the node's latency, so the compiler
// compensates it. Kernels instantiate at prepare with the graph's rate and block size; the
// process path connects lane pointers and calls run(): no allocation, lock or log of ours.
#include "nodes/lv2/Lv2.h"

#include "core/DeclaredKernel.h"
#include "core/GraphDesc.h"
#include "core/Registry.h"
#include "nodes/lv2/Lv2World.h"

#include <lv2/atom/atom.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/units/units.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>

namespace sg {

namespace {

using lv2::World;

/// What one plugin port is connected to.
enum class Role { MainIn, SideIn, AudioOut, ControlIn, ControlOut, AtomIn, AtomOut, CvIn, CvOut, Unconnected };

struct PortSpec {
    Role role = Role::Unconnected;
    int ordinal = 0;           ///< audio: channel within its group; ControlIn: parameter index
    float initial = 0;         ///< control ports: the value before any parameter reaches it
    double scale = 1;          ///< ControlIn: our base unit per plugin unit (1000 for seconds -> ms)
    std::size_t atomBytes = 0; ///< atom ports: buffer capacity
};

/// Settling: after activation a plugin runs kSettleRuns blocks of at most kSettleFrames frames of
/// silence, so that settings it applies a cycle late (x42's nodelay applies a new delay in the
/// run after it reported it) are in force before the first real frame, and its reported latency
/// is read after them.
constexpr int kSettleFrames = 64;
constexpr int kSettleRuns = 4;
/// Atom buffer size when the plugin states none (rsz:minimumSize).
constexpr std::size_t kDefaultAtomBytes = 8192;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string nodeString(const LilvNode* node) { return node ? lilv_node_as_string(node) : ""; }

/// An audio input marked lv2:isSideChain, or in a port group that is pg:sideChainOf another
/// (LSP's sidechain compressors say it that way). Call under World::lock().
bool isSideChain(World& world, const LilvPlugin* plugin, const LilvPort* port) {
    const World::Nodes& n = world.nodes();
    if (lilv_port_has_property(plugin, port, n.isSideChain)) return true;
    LilvNode* group = lilv_port_get(plugin, port, n.group);
    const bool side = group && lilv_world_ask(world.world(), group, n.sideChainOf, nullptr);
    lilv_node_free(group);
    return side;
}

class Lv2PluginType;

/// One plugin instance and the buffers of its non-audio ports. Never moved: the features it
/// passed to the plugin point into it.
class Lv2Instance {
public:
    /// A new instance at `rate` for blocks of 1..maxBlockFrames, its non-audio ports connected and
    /// its controls at their defaults, not yet activated; nullptr with `error` set on failure.
    static std::unique_ptr<Lv2Instance> create(const Lv2PluginType& type, double rate, int maxBlockFrames, std::string& error);
    ~Lv2Instance() {
        if (active_) lilv_instance_deactivate(instance_);
        lilv_instance_free(instance_);
    }
    Lv2Instance(const Lv2Instance&) = delete;
    Lv2Instance& operator=(const Lv2Instance&) = delete;

    void setControl(int port, float value) noexcept { controls_[std::size_t(port)] = value; }
    float control(int port) const noexcept { return controls_[std::size_t(port)]; }
    /// Connects audio port `port` to `data` (until the next connect).
    void connect(int port, const float* data) noexcept {
        lilv_instance_connect_port(instance_, std::uint32_t(port), const_cast<float*>(data)); // inputs are never written
    }
    void activate() noexcept {
        if (!active_) lilv_instance_activate(instance_);
        active_ = true;
    }
    /// Clears the plugin's state: deactivate, then activate (LV2's only way to do it).
    void restart() noexcept {
        if (active_) lilv_instance_deactivate(instance_);
        lilv_instance_activate(instance_);
        active_ = true;
    }
    /// Runs `frames` frames (audio ports connected by the caller).
    void run(int frames) noexcept {
        for (std::size_t k = 0; k < atomIn_.size(); ++k) {
            auto* seq = reinterpret_cast<LV2_Atom_Sequence*>(atomIn_[k].data());
            seq->atom.size = sizeof(LV2_Atom_Sequence_Body);
            seq->atom.type = sequenceUrid_;
            seq->body.unit = 0;
            seq->body.pad = 0;
        }
        for (std::size_t k = 0; k < atomOut_.size(); ++k) {
            auto* atom = reinterpret_cast<LV2_Atom*>(atomOut_[k].data());
            atom->size = std::uint32_t(atomOut_[k].size() * sizeof(std::uint64_t) - sizeof(LV2_Atom));
            atom->type = chunkUrid_;
        }
        lilv_instance_run(instance_, std::uint32_t(frames));
    }

private:
    Lv2Instance() = default;
    LilvInstance* instance_ = nullptr;
    bool active_ = false;
    std::vector<float> controls_;                    ///< per port index (control ports only used)
    std::vector<std::vector<std::uint64_t>> atomIn_; ///< 8-byte aligned atom buffers
    std::vector<std::vector<std::uint64_t>> atomOut_;
    std::vector<std::vector<float>> cv_; ///< CV ports: zeros in, scratch out
    LV2_URID sequenceUrid_ = 0, chunkUrid_ = 0;
    // Features (they point into this object).
    std::int32_t minBlock_ = 1, maxBlock_ = 1, nominalBlock_ = 1;
    float sampleRate_ = 48000;
    LV2_Options_Option options_[5]{};
    LV2_Feature optionsFeature_{};
    LV2_Feature boundedFeature_{};
    const LV2_Feature* features_[5]{};
};

/// The node type of one plugin.
class Lv2PluginType final : public NodeType {
public:
    /// The type of `plugin` (call under World::lock()); nullptr with `why` when we cannot run it.
    static std::unique_ptr<Lv2PluginType> make(const LilvPlugin* plugin, std::string& why);

    const NodeTypeInfo& info() const override { return decl_.info(); }
    std::string resolveChannels(const ParamValues& params, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override;
    int latencyFrames(const ParamValues& params, double sampleRate) const override;
    std::unique_ptr<NodeKernel> createKernel() const override;

    const NodeDecl& decl() const { return decl_; }
    const LilvPlugin* plugin() const { return plugin_; }
    const std::vector<PortSpec>& ports() const { return ports_; }
    /// One instance per channel: a plugin with one main input and one output.
    bool perChannel() const { return mainInputs_ == 1 && outputs_ == 1; }
    int mainInputs() const { return mainInputs_; }
    int sideInputs() const { return sideInputs_; }
    int outputs() const { return outputs_; }
    bool reportsLatency() const { return latencyPort_ >= 0; }
    /// The control port of parameter `param`.
    int paramPort(int param) const { return paramPorts_[std::size_t(param)]; }
    /// Parameter `param`'s value (our base unit) as the plugin's control value.
    float pluginValue(int param, double value) const { return float(value / ports_[std::size_t(paramPort(param))].scale); }
    /// Runs `instance` kSettleRuns times on `frames` frames of silence (`scratch`: frames per
    /// output); its audio ports stay connected to these buffers.
    void settle(Lv2Instance& instance, const float* silence, float* scratch, int frames) const noexcept;
    /// Sets every control input of `instance` from `params` (indexed like the parameter table).
    void applyParams(Lv2Instance& instance, const ParamValues& params) const {
        for (std::size_t p = 0; p < paramPorts_.size() && p < params.size(); ++p)
            instance.setControl(paramPorts_[p], pluginValue(int(p), params[p]));
    }

private:
    Lv2PluginType() = default;
    NodeDecl decl_{"lv2", "plugins"};
    const LilvPlugin* plugin_ = nullptr;
    std::vector<PortSpec> ports_;
    std::vector<int> paramPorts_;
    int mainInputs_ = 0, sideInputs_ = 0, outputs_ = 0, latencyPort_ = -1;
    mutable std::mutex latencyMutex_;
    mutable std::map<std::pair<double, ParamValues>, int> latencies_;
};

std::unique_ptr<Lv2Instance> Lv2Instance::create(const Lv2PluginType& type, double rate, int maxBlockFrames, std::string& error) {
    World& world = World::get();
    std::unique_ptr<Lv2Instance> self(new Lv2Instance);
    self->sequenceUrid_ = world.map(LV2_ATOM__Sequence);
    self->chunkUrid_ = world.map(LV2_ATOM__Chunk);
    self->maxBlock_ = maxBlockFrames;
    self->nominalBlock_ = maxBlockFrames;
    self->sampleRate_ = float(rate);
    const LV2_URID atomInt = world.map(LV2_ATOM__Int), atomFloat = world.map(LV2_ATOM__Float);
    self->options_[0] = {LV2_OPTIONS_INSTANCE, 0,       world.map(LV2_BUF_SIZE__minBlockLength),
                         sizeof(std::int32_t), atomInt, &self->minBlock_};
    self->options_[1] = {LV2_OPTIONS_INSTANCE, 0,       world.map(LV2_BUF_SIZE__maxBlockLength),
                         sizeof(std::int32_t), atomInt, &self->maxBlock_};
    self->options_[2] = {LV2_OPTIONS_INSTANCE, 0,       world.map(LV2_BUF_SIZE__nominalBlockLength),
                         sizeof(std::int32_t), atomInt, &self->nominalBlock_};
    self->options_[3] = {LV2_OPTIONS_INSTANCE, 0,         world.map("http://lv2plug.in/ns/ext/parameters#sampleRate"),
                         sizeof(float),        atomFloat, &self->sampleRate_};
    self->options_[4] = {LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, nullptr};
    self->optionsFeature_ = {LV2_OPTIONS__options, self->options_};
    self->boundedFeature_ = {LV2_BUF_SIZE__boundedBlockLength, nullptr};
    self->features_[0] = world.mapFeature();
    self->features_[1] = world.unmapFeature();
    self->features_[2] = &self->optionsFeature_;
    self->features_[3] = &self->boundedFeature_;
    self->features_[4] = nullptr;
    {
        auto lock = world.lock();
        self->instance_ = lilv_plugin_instantiate(type.plugin(), rate, self->features_);
        if (self->instance_) world.keepLoaded(type.plugin());
    }
    if (!self->instance_) {
        error = "LV2 plugin " + quoted(type.info().reference) + " failed to instantiate at " +
                std::to_string(int(std::lround(rate))) + " Hz";
        return nullptr;
    }
    const auto& ports = type.ports();
    self->controls_.assign(ports.size(), 0.0f);
    for (std::size_t p = 0; p < ports.size(); ++p) {
        const PortSpec& spec = ports[p];
        void* data = nullptr;
        switch (spec.role) {
        case Role::ControlIn:
        case Role::ControlOut:
            self->controls_[p] = spec.initial;
            data = &self->controls_[p];
            break;
        case Role::AtomIn:
        case Role::AtomOut: {
            auto& list = spec.role == Role::AtomIn ? self->atomIn_ : self->atomOut_;
            list.emplace_back((spec.atomBytes + 7) / 8, 0);
            data = list.back().data();
            break;
        }
        case Role::CvIn:
        case Role::CvOut:
            self->cv_.emplace_back(std::size_t(maxBlockFrames), 0.0f);
            data = self->cv_.back().data();
            break;
        default:
            break; // audio: connected before each run; Unconnected: optional, left null
        }
        lilv_instance_connect_port(self->instance_, std::uint32_t(p), data);
    }
    return self;
}

std::unique_ptr<Lv2PluginType> Lv2PluginType::make(const LilvPlugin* plugin, std::string& why) {
    World& world = World::get();
    const World::Nodes& n = world.nodes();
    std::unique_ptr<Lv2PluginType> type(new Lv2PluginType);
    type->plugin_ = plugin;
    const std::string uri = nodeString(lilv_plugin_get_uri(plugin));
    LilvNode* nameNode = lilv_plugin_get_name(plugin);
    const std::string name = nodeString(nameNode);
    lilv_node_free(nameNode);

    // Required features we do not provide.
    std::vector<std::string> missing;
    LilvNodes* required = lilv_plugin_get_required_features(plugin);
    LILV_FOREACH(nodes, it, required) {
        const std::string feature = nodeString(lilv_nodes_get(required, it));
        if (std::none_of(std::begin(lv2::kSupportedFeatures), std::end(lv2::kSupportedFeatures),
                         [&](const char* s) { return feature == s; }))
            missing.push_back(lv2::shortFeatureName(feature));
    }
    lilv_nodes_free(required);
    if (!missing.empty()) {
        std::string list, supported;
        for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
        for (const char* s : lv2::kSupportedFeatures) supported += (supported.empty() ? "" : ", ") + lv2::shortFeatureName(s);
        why = "LV2 plugin " + quoted(uri) + " requires " + (missing.size() == 1 ? "a feature" : "features") +
              " stagegraph does not provide: " + list + " (provided: " + supported + ")";
        return nullptr;
    }

    const std::uint32_t count = lilv_plugin_get_num_ports(plugin);
    type->ports_.resize(count);
    std::vector<std::string> unsupported;
    for (std::uint32_t p = 0; p < count; ++p) {
        const LilvPort* port = lilv_plugin_get_port_by_index(plugin, p);
        PortSpec& spec = type->ports_[p];
        const bool input = lilv_port_is_a(plugin, port, n.inputPort);
        const std::string symbol = nodeString(lilv_port_get_symbol(plugin, port));
        if (lilv_port_is_a(plugin, port, n.audioPort)) {
            if (!input)
                spec = {Role::AudioOut, type->outputs_++};
            else if (isSideChain(world, plugin, port))
                spec = {Role::SideIn, type->sideInputs_++};
            else
                spec = {Role::MainIn, type->mainInputs_++};
        } else if (lilv_port_is_a(plugin, port, n.controlPort)) {
            LilvNode *def = nullptr, *min = nullptr, *max = nullptr;
            lilv_port_get_range(plugin, port, &def, &min, &max);
            const double lo = min ? lilv_node_as_float(min) : std::numeric_limits<float>::lowest();
            const double hi = max ? lilv_node_as_float(max) : std::numeric_limits<float>::max();
            const double dflt = def ? lilv_node_as_float(def) : std::clamp(0.0, std::min(lo, hi), std::max(lo, hi));
            lilv_node_free(def);
            lilv_node_free(min);
            lilv_node_free(max);
            if (!input) {
                spec = {Role::ControlOut, 0, float(dflt)};
                if (lilv_port_has_property(plugin, port, n.reportsLatency)) type->latencyPort_ = int(p);
                continue;
            }
            // Units: those with a unit kind of ours take it (and its spellings: `-3 dB`, `1 kHz`).
            UnitKind unit = UnitKind::Plain;
            double scale = 1;
            LilvNodes* units = lilv_port_get_value(plugin, port, n.unit);
            // A unit declared inline (a blank node, as LSP does) has no URI to show: left out.
            const LilvNode* unitNode = units && lilv_nodes_size(units) ? lilv_nodes_get_first(units) : nullptr;
            const std::string unitUri = unitNode && lilv_node_is_uri(unitNode) ? nodeString(unitNode) : "";
            lilv_nodes_free(units);
            if (unitUri == LV2_UNITS__db)
                unit = UnitKind::Gain;
            else if (unitUri == LV2_UNITS__hz)
                unit = UnitKind::Frequency;
            else if (unitUri == LV2_UNITS__khz)
                unit = UnitKind::Frequency, scale = 1000;
            else if (unitUri == LV2_UNITS__ms)
                unit = UnitKind::Time;
            else if (unitUri == LV2_UNITS__s)
                unit = UnitKind::Time, scale = 1000;
            else if (unitUri == LV2_UNITS__pc)
                unit = UnitKind::Percent;
            const double low = std::min(lo, hi) * scale, high = std::max(lo, hi) * scale;
            LilvNode* portName = lilv_port_get_name(plugin, port);
            std::string description = nodeString(portName);
            lilv_node_free(portName);
            ParamBuilder param = type->decl_.param(symbol);
            std::vector<double> choices;
            if (lilv_port_has_property(plugin, port, n.toggled)) {
                choices = {low, high};
            } else if (lilv_port_has_property(plugin, port, n.enumeration)) {
                LilvScalePoints* points = lilv_port_get_scale_points(plugin, port);
                std::vector<std::pair<double, std::string>> labelled;
                LILV_FOREACH(scale_points, it, points) {
                    const LilvScalePoint* point = lilv_scale_points_get(points, it);
                    labelled.emplace_back(lilv_node_as_float(lilv_scale_point_get_value(point)) * scale,
                                          nodeString(lilv_scale_point_get_label(point)));
                }
                lilv_scale_points_free(points);
                std::sort(labelled.begin(), labelled.end());
                std::string labels;
                for (const auto& [v, label] : labelled) {
                    choices.push_back(v);
                    char text[32];
                    std::snprintf(text, sizeof text, "%g", v);
                    labels += (labels.empty() ? "" : "; ") + std::string(text) + " " + label;
                }
                if (!labels.empty()) description += " (" + labels + ")";
            }
            if (!unitUri.empty() && unit == UnitKind::Plain) description += " [" + lv2::shortFeatureName(unitUri) + "]";
            switch (unit) {
            case UnitKind::Gain:
                param.decibels(low, high);
                break;
            case UnitKind::Frequency:
                param.frequency(low, high);
                break;
            case UnitKind::Time:
                param.time(low, high);
                break;
            case UnitKind::Percent:
                param.percent(low, high);
                break;
            default:
                param.plain(low, high);
                break;
            }
            param.defaultValue(std::clamp(dflt * scale, low, high)).describe(description);
            if (!choices.empty()) param.choices(std::move(choices));
            if (lilv_port_has_property(plugin, port, n.integer)) param.wholeNumber();
            const SteppedParam handle = param.stepped(); // the plugin smooths (or not) by itself
            spec = {Role::ControlIn, handle.index, float(dflt), scale};
            type->paramPorts_.push_back(int(p));
        } else if (lilv_port_is_a(plugin, port, n.atomPort) || lilv_port_is_a(plugin, port, n.cvPort)) {
            const bool atom = lilv_port_is_a(plugin, port, n.atomPort);
            spec.role = atom ? (input ? Role::AtomIn : Role::AtomOut) : (input ? Role::CvIn : Role::CvOut);
            if (atom) {
                LilvNodes* size = lilv_port_get_value(plugin, port, n.minimumSize);
                spec.atomBytes = kDefaultAtomBytes;
                if (size && lilv_nodes_size(size))
                    spec.atomBytes = std::max(kDefaultAtomBytes, std::size_t(lilv_node_as_int(lilv_nodes_get_first(size))));
                lilv_nodes_free(size);
            }
        } else if (lilv_port_has_property(plugin, port, n.connectionOptional)) {
            spec.role = Role::Unconnected;
        } else {
            unsupported.push_back(symbol);
        }
    }
    if (!unsupported.empty()) {
        std::string list;
        for (const auto& s : unsupported) list += (list.empty() ? "" : ", ") + quoted(s);
        why = "LV2 plugin " + quoted(uri) + " has ports of a type stagegraph does not support: " + list +
              " (supported: audio, control, CV, atom)";
        return nullptr;
    }
    NodeDecl& d = type->decl_;
    d.describe(name + " (LV2 plugin)").reference(uri);
    if (type->mainInputs_ > 0) d.input("in", "the plugin's audio input" + std::string(type->mainInputs_ > 1 ? "s" : ""));
    if (type->sideInputs_ > 0) d.input("sidechain", "the plugin's sidechain input", false);
    if (type->outputs_ > 0) d.output("out", "the plugin's audio output" + std::string(type->outputs_ > 1 ? "s" : ""));
    d.channelRule(type->perChannel()
                      ? "out has the channels of in (one plugin instance per channel)"
                      : "in has " + std::to_string(type->mainInputs_) + " channels, out " + std::to_string(type->outputs_));
    return type;
}

std::string Lv2PluginType::resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                           std::vector<int>& outputChannels) const {
    outputChannels.clear();
    const int in = mainInputs_ > 0 && !inputChannels.empty() ? inputChannels[0] : 0;
    if (mainInputs_ > 0 && in == 0) return "in: not connected";
    if (sideInputs_ > 0 && inputChannels.size() > 1 && inputChannels[1] != 0 && inputChannels[1] != sideInputs_)
        return "sidechain: the plugin takes " + std::to_string(sideInputs_) + " channel" + (sideInputs_ == 1 ? "" : "s") +
               ", got " + std::to_string(inputChannels[1]);
    if (perChannel()) {
        outputChannels.push_back(in);
        return {};
    }
    if (in != mainInputs_)
        return "in: the plugin takes " + std::to_string(mainInputs_) + " channel" + (mainInputs_ == 1 ? "" : "s") + ", got " +
               std::to_string(in);
    if (outputs_ > 0) outputChannels.push_back(outputs_);
    return {};
}

void Lv2PluginType::settle(Lv2Instance& instance, const float* silence, float* scratch, int frames) const noexcept {
    for (std::size_t p = 0; p < ports_.size(); ++p) {
        if (ports_[p].role == Role::MainIn || ports_[p].role == Role::SideIn) instance.connect(int(p), silence);
        if (ports_[p].role == Role::AudioOut)
            instance.connect(int(p), scratch + std::size_t(ports_[p].ordinal) * std::size_t(frames));
    }
    for (int run = 0; run < kSettleRuns; ++run) instance.run(frames);
}

int Lv2PluginType::latencyFrames(const ParamValues& params, double sampleRate) const {
    if (latencyPort_ < 0) return 0;
    std::lock_guard<std::mutex> guard(latencyMutex_);
    const auto key = std::make_pair(sampleRate, params);
    if (auto it = latencies_.find(key); it != latencies_.end()) return it->second;
    // The latency port is valid after run(): one run of silence with these parameters.
    std::string error;
    auto instance = Lv2Instance::create(*this, sampleRate, kSettleFrames, error);
    if (!instance) return 0; // prepare reports the failure
    std::vector<float> silence(kSettleFrames, 0.0f), scratch(kSettleFrames * std::size_t(std::max(outputs_, 1)), 0.0f);
    applyParams(*instance, params);
    instance->activate();
    settle(*instance, silence.data(), scratch.data(), kSettleFrames);
    const float reported = instance->control(latencyPort_);
    const int frames = std::isfinite(reported) && reported > 0 ? int(std::lround(reported)) : 0;
    latencies_.emplace(key, frames);
    return frames;
}

/// Runs one plugin instance per node instance (per channel for a 1-in, 1-out plugin).
class Lv2Kernel final : public DeclaredKernel {
public:
    explicit Lv2Kernel(const Lv2PluginType& type) : DeclaredKernel(type.decl()), type_(type) {}

private:
    struct Copy {
        std::unique_ptr<Lv2Instance> plugin;
        int instance = 0; ///< the node instance it runs for
        int channel = 0;  ///< per-channel copies: its channel; else 0
    };
    struct Sidechain {
        int firstLane = 0;
        bool connected = false;
    };

    std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup> setups) override {
        copies_.clear();
        sidechains_.clear();
        firstCopy_.clear();
        settleFrames_ = std::min(kSettleFrames, spec.maxBlockFrames);
        silence_.assign(std::size_t(std::max(maxBlockFrames(), kSettleFrames)), 0.0f);
        scratch_.assign(std::size_t(settleFrames_) * std::size_t(std::max(type_.outputs(), 1)), 0.0f);
        int sideLane = 0;
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceSetup& setup = setups[std::size_t(i)];
            const int side = setup.inputChannels.size() > 1 ? setup.inputChannels[1] : 0;
            sidechains_.push_back({sideLane, side > 0});
            sideLane += side;
            std::vector<int> outs;
            if (std::string why = type_.resolveChannels(setup.params, setup.inputChannels, outs); !why.empty()) return why;
            firstCopy_.push_back(int(copies_.size()));
            const int copies = type_.perChannel() ? lanes(i).inputs : 1;
            for (int c = 0; c < copies; ++c) {
                std::string error;
                auto plugin = Lv2Instance::create(type_, spec.sampleRate, spec.maxBlockFrames, error);
                if (!plugin) return error;
                for (int p = 0; p < int(type_.info().params.size()); ++p)
                    plugin->setControl(type_.paramPort(p), type_.pluginValue(p, value(i, ParamRef{p})));
                plugin->activate();
                copies_.push_back({std::move(plugin), i, c});
            }
        }
        firstCopy_.push_back(int(copies_.size()));
        return {};
    }

    void clearState() noexcept override {
        for (Copy& c : copies_) {
            c.plugin->restart();
            type_.settle(*c.plugin, silence_.data(), scratch_.data(), settleFrames_);
        }
    }

    void paramChanged(int stage, int param, std::int64_t) noexcept override {
        const float v = type_.pluginValue(param, value(stage, ParamRef{param}));
        const int port = type_.paramPort(param);
        for (int k = firstCopy_[std::size_t(stage)]; k < firstCopy_[std::size_t(stage) + 1]; ++k)
            copies_[std::size_t(k)].plugin->setControl(port, v);
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const auto& ports = type_.ports();
        for (Copy& copy : copies_) {
            const InstanceLanes& l = lanes(copy.instance);
            const Sidechain& side = sidechains_[std::size_t(copy.instance)];
            for (std::size_t p = 0; p < ports.size(); ++p) {
                const PortSpec& spec = ports[p];
                switch (spec.role) {
                case Role::MainIn:
                    copy.plugin->connect(int(p), ctx.inputs[0][l.firstInput + copy.channel + spec.ordinal] + start);
                    break;
                case Role::SideIn:
                    copy.plugin->connect(int(p),
                                         side.connected ? ctx.inputs[1][side.firstLane + spec.ordinal] + start : silence_.data());
                    break;
                case Role::AudioOut:
                    copy.plugin->connect(int(p), ctx.outputs[0][l.firstOutput + copy.channel + spec.ordinal] + start);
                    break;
                default:
                    break;
                }
            }
            copy.plugin->run(frames);
        }
    }

    const Lv2PluginType& type_;
    std::vector<Copy> copies_;
    std::vector<int> firstCopy_; ///< per instance + 1
    std::vector<Sidechain> sidechains_;
    std::vector<float> silence_; ///< unconnected sidechains, settling
    std::vector<float> scratch_; ///< outputs while settling
    int settleFrames_ = kSettleFrames;
};

std::unique_ptr<NodeKernel> Lv2PluginType::createKernel() const { return std::make_unique<Lv2Kernel>(*this); }

/// `{type: lv2, plugin: URI}`: one type per plugin, made on first use and kept.
class Lv2Provider final : public NodeTypeProvider {
public:
    const std::string& typeName() const override { return name_; }
    const std::string& description() const override { return description_; }

    const NodeType* typeFor(NodeDesc& node, Diagnostics& diags) const override {
        auto it = std::find_if(node.params.begin(), node.params.end(), [](const ParamDesc& p) { return p.key == "plugin"; });
        if (it == node.params.end()) {
            diags.error(node.mark, "node " + quoted(node.name) +
                                       ": an lv2 node needs 'plugin: <URI>' (the installed plugins: 'stagegraph nodes --lv2')");
            return nullptr;
        }
        const ValueDesc uri = it->value;
        node.params.erase(it);
        std::lock_guard<std::mutex> guard(mutex_);
        auto cached = types_.find(uri.text);
        if (cached == types_.end()) {
            Entry entry;
            World& world = World::get();
            auto lock = world.lock();
            if (const LilvPlugin* plugin = world.find(uri.text))
                entry.type = Lv2PluginType::make(plugin, entry.error);
            else
                entry.error = "LV2 plugin " + quoted(uri.text) + " is not installed" + suggestion(world, uri.text) +
                              " (the installed plugins: 'stagegraph nodes --lv2')";
            cached = types_.emplace(uri.text, std::move(entry)).first;
        }
        if (!cached->second.type) diags.error(uri.mark, "node " + quoted(node.name) + ": " + cached->second.error);
        return cached->second.type.get();
    }

private:
    struct Entry {
        std::unique_ptr<Lv2PluginType> type;
        std::string error;
    };
    /// " (did you mean 'URI'?)" for a near miss among the installed plugins, else "".
    static std::string suggestion(World& world, const std::string& uri) {
        std::string best;
        int bestDistance = std::max(3, int(uri.size() / 8));
        LILV_FOREACH(plugins, it, world.plugins()) {
            const std::string candidate = nodeString(lilv_plugin_get_uri(lilv_plugins_get(world.plugins(), it)));
            const int d = editDistance(uri, candidate);
            if (d < bestDistance) {
                bestDistance = d;
                best = candidate;
            }
        }
        return best.empty() ? "" : " (did you mean " + quoted(best) + "?)";
    }

    std::string name_ = "lv2";
    std::string description_ = "An installed LV2 plugin: {type: lv2, plugin: URI, params: {symbol: value}} "
                               "(docs/plugins.md; list them with 'stagegraph nodes --lv2').";
    mutable std::mutex mutex_;
    mutable std::map<std::string, Entry> types_;
};

} // namespace

void registerLv2Nodes(Registry& registry) { registry.addProvider(std::make_unique<Lv2Provider>()); }

std::vector<Lv2PluginSummary> installedLv2Plugins(const std::string& filter) {
    std::vector<Lv2PluginSummary> out;
    World& world = World::get();
    auto lock = world.lock();
    LILV_FOREACH(plugins, it, world.plugins()) {
        const LilvPlugin* plugin = lilv_plugins_get(world.plugins(), it);
        Lv2PluginSummary s;
        s.uri = nodeString(lilv_plugin_get_uri(plugin));
        // By URI only: the URI is in the bundles' manifests, a name would load every plugin's data.
        if (!filter.empty() && s.uri.find(filter) == std::string::npos) continue;
        LilvNode* name = lilv_plugin_get_name(plugin);
        s.name = nodeString(name);
        lilv_node_free(name);
        auto type = Lv2PluginType::make(plugin, s.unsupported);
        if (type) {
            s.audioInputs = type->mainInputs();
            s.sidechainInputs = type->sideInputs();
            s.audioOutputs = type->outputs();
            s.reportsLatency = type->reportsLatency();
            s.params = type->info().params;
        }
        out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.uri < b.uri; });
    return out;
}

} // namespace sg
