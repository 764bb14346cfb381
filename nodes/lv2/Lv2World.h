// The lilv world and the host features every plugin instance gets. Internal to nodes/lv2/.
//
// One world per process, loaded on first use (lilv_world_load_all: LV2_PATH or the system's
// folders). lilv is not thread-safe: every call that reads the world's data (plugin queries,
// instantiation) is made under World::lock(). Instances run without it.
#pragma once

#include <lilv/lilv.h>
#include <lv2/options/options.h>
#include <lv2/urid/urid.h>

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace sg::lv2 {

/// Host features we provide; a plugin requiring any other is refused (docs/plugins.md).
inline constexpr const char* kSupportedFeatures[] = {
    LV2_URID__map,
    LV2_URID__unmap,
    LV2_OPTIONS__options,
    "http://lv2plug.in/ns/ext/buf-size#boundedBlockLength",
    "http://lv2plug.in/ns/lv2core#hardRTCapable",
    "http://lv2plug.in/ns/lv2core#inPlaceBroken", // we never run in place
};

class World {
public:
    /// The process's world, loaded on first call.
    static World& get();
    /// Held around every call that reads the world's data.
    std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mutex_); }

    LilvWorld* world() const { return world_; }
    const LilvPlugins* plugins() const { return plugins_; }
    /// The plugin named `uri`, or nullptr (call under lock()).
    const LilvPlugin* find(const std::string& uri) const;

    /// Keeps `plugin`'s library loaded until the process ends (call under lock(), after an
    /// instance of it exists): instantiating it again (latency probes, live reloads) reuses the
    /// code, and state a plugin library keeps in its globals is never unloaded under it (leak
    /// checkers then see it as reachable, which it is).
    void keepLoaded(const LilvPlugin* plugin);

    /// URID map / unmap (their own lock: plugins may call them from instantiate).
    LV2_URID map(const char* uri);
    const char* unmap(LV2_URID urid);
    LV2_Feature* mapFeature() { return &mapFeature_; }
    LV2_Feature* unmapFeature() { return &unmapFeature_; }

    /// Class and property nodes, made once.
    struct Nodes {
        LilvNode *audioPort, *controlPort, *cvPort, *atomPort, *inputPort, *outputPort;
        LilvNode *reportsLatency, *connectionOptional, *isSideChain, *toggled, *integer, *enumeration;
        LilvNode *unit, *minimumSize, *name;
        LilvNode *group, *sideChainOf; ///< port groups: a group that is pg:sideChainOf another
    };
    const Nodes& nodes() const { return nodes_; }

    ~World();
    World(const World&) = delete;
    World& operator=(const World&) = delete;

private:
    World();
    std::mutex mutex_;
    LilvWorld* world_ = nullptr;
    const LilvPlugins* plugins_ = nullptr;
    Nodes nodes_{};
    std::vector<std::string> keptLibraries_;

    std::mutex uridMutex_;
    std::unordered_map<std::string, LV2_URID> urids_;
    std::vector<const std::string*> uris_; ///< by urid - 1 (keys of urids_, stable)
    LV2_URID_Map map_{};
    LV2_URID_Unmap unmap_{};
    LV2_Feature mapFeature_{};
    LV2_Feature unmapFeature_{};
};

/// "urid:map" for "http://lv2plug.in/ns/ext/urid#map": the short names docs/plugins.md uses.
std::string shortFeatureName(const std::string& uri);

} // namespace sg::lv2
