#include "nodes/lv2/Lv2World.h"

#include <lv2/atom/atom.h>
#include <lv2/core/lv2.h>
#include <lv2/port-props/port-props.h>
#include <lv2/resize-port/resize-port.h>
#include <lv2/units/units.h>

#include <algorithm>
#include <dlfcn.h>

namespace sg::lv2 {

World& World::get() {
    static World world;
    return world;
}

World::World() {
    world_ = lilv_world_new();
    lilv_world_load_all(world_);
    plugins_ = lilv_world_get_all_plugins(world_);
    auto uri = [&](const char* text) { return lilv_new_uri(world_, text); };
    nodes_.audioPort = uri(LV2_CORE__AudioPort);
    nodes_.controlPort = uri(LV2_CORE__ControlPort);
    nodes_.cvPort = uri(LV2_CORE__CVPort);
    nodes_.atomPort = uri(LV2_ATOM__AtomPort);
    nodes_.inputPort = uri(LV2_CORE__InputPort);
    nodes_.outputPort = uri(LV2_CORE__OutputPort);
    nodes_.reportsLatency = uri(LV2_CORE__reportsLatency);
    nodes_.connectionOptional = uri(LV2_CORE__connectionOptional);
    nodes_.isSideChain = uri(LV2_CORE_PREFIX "isSideChain");
    nodes_.toggled = uri(LV2_CORE__toggled);
    nodes_.integer = uri(LV2_CORE__integer);
    nodes_.enumeration = uri(LV2_CORE__enumeration);
    nodes_.unit = uri(LV2_UNITS__unit);
    nodes_.minimumSize = uri(LV2_RESIZE_PORT__minimumSize);
    nodes_.name = uri(LV2_CORE__name);
    nodes_.group = uri("http://lv2plug.in/ns/ext/port-groups#group");
    nodes_.sideChainOf = uri("http://lv2plug.in/ns/ext/port-groups#sideChainOf");

    map_.handle = this;
    map_.map = [](LV2_URID_Map_Handle handle, const char* text) { return static_cast<World*>(handle)->map(text); };
    unmap_.handle = this;
    unmap_.unmap = [](LV2_URID_Unmap_Handle handle, LV2_URID urid) { return static_cast<World*>(handle)->unmap(urid); };
    mapFeature_ = {LV2_URID__map, &map_};
    unmapFeature_ = {LV2_URID__unmap, &unmap_};
}

World::~World() {
    for (LilvNode* n : {nodes_.audioPort, nodes_.controlPort, nodes_.cvPort, nodes_.atomPort, nodes_.inputPort, nodes_.outputPort,
                        nodes_.reportsLatency, nodes_.connectionOptional, nodes_.isSideChain, nodes_.toggled, nodes_.integer,
                        nodes_.enumeration, nodes_.unit, nodes_.minimumSize, nodes_.name, nodes_.group, nodes_.sideChainOf})
        lilv_node_free(n);
    lilv_world_free(world_);
}

const LilvPlugin* World::find(const std::string& uri) const {
    LilvNode* node = lilv_new_uri(world_, uri.c_str());
    const LilvPlugin* plugin = node ? lilv_plugins_get_by_uri(plugins_, node) : nullptr;
    lilv_node_free(node);
    return plugin;
}

void World::keepLoaded(const LilvPlugin* plugin) {
    const LilvNode* library = lilv_plugin_get_library_uri(plugin);
    char* path = library ? lilv_file_uri_parse(lilv_node_as_uri(library), nullptr) : nullptr;
    if (!path) return;
    if (std::find(keptLibraries_.begin(), keptLibraries_.end(), path) == keptLibraries_.end() &&
        dlopen(path, RTLD_NOW | RTLD_NOLOAD)) // one more reference: lilv's dlclose no longer unloads it
        keptLibraries_.push_back(path);
    lilv_free(path);
}

LV2_URID World::map(const char* uri) {
    std::lock_guard<std::mutex> guard(uridMutex_);
    auto [it, inserted] = urids_.emplace(uri, LV2_URID(urids_.size() + 1));
    if (inserted) uris_.push_back(&it->first);
    return it->second;
}

const char* World::unmap(LV2_URID urid) {
    std::lock_guard<std::mutex> guard(uridMutex_);
    return urid >= 1 && urid <= uris_.size() ? uris_[urid - 1]->c_str() : nullptr;
}

std::string shortFeatureName(const std::string& uri) {
    static const std::pair<const char*, const char*> prefixes[] = {
        {"http://lv2plug.in/ns/ext/", ""}, {"http://lv2plug.in/ns/lv2core#", "lv2:"}, {"http://lv2plug.in/ns/extensions/", ""}};
    for (const auto& [prefix, replacement] : prefixes) {
        const std::string p = prefix;
        if (uri.rfind(p, 0) == 0) {
            std::string rest = replacement + uri.substr(p.size());
            if (const auto hash = rest.find('#'); hash != std::string::npos) rest[hash] = ':';
            return rest;
        }
    }
    return uri;
}

} // namespace sg::lv2
