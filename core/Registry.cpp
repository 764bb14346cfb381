#include "core/Registry.h"

#include <algorithm>
#include <stdexcept>

namespace sg {

void Registry::add(std::unique_ptr<NodeType> type) {
    if (find(type->info().name) || findProvider(type->info().name))
        throw std::logic_error("node type registered twice: " + type->info().name);
    types_.push_back(std::move(type));
}

const NodeType* Registry::find(const std::string& name) const {
    for (const auto& t : types_)
        if (t->info().name == name) return t.get();
    return nullptr;
}

void Registry::addProvider(std::unique_ptr<NodeTypeProvider> provider) {
    if (find(provider->typeName()) || findProvider(provider->typeName()))
        throw std::logic_error("node type registered twice: " + provider->typeName());
    providers_.push_back(std::move(provider));
}

const NodeTypeProvider* Registry::findProvider(const std::string& name) const {
    for (const auto& p : providers_)
        if (p->typeName() == name) return p.get();
    return nullptr;
}

std::vector<const NodeTypeProvider*> Registry::providers() const {
    std::vector<const NodeTypeProvider*> out;
    for (const auto& p : providers_) out.push_back(p.get());
    return out;
}

const NodeType* Registry::compensationDelay() const {
    for (const auto& t : types_)
        if (!t->info().compensationParam.empty() && t->paramIndex(t->info().compensationParam) >= 0) return t.get();
    return nullptr;
}

std::vector<const NodeType*> Registry::all() const {
    std::vector<const NodeType*> out;
    for (const auto& t : types_) out.push_back(t.get());
    std::sort(out.begin(), out.end(), [](const NodeType* a, const NodeType* b) {
        if (a->info().family != b->info().family) return a->info().family < b->info().family;
        return a->info().name < b->info().name;
    });
    return out;
}

int editDistance(const std::string& a, const std::string& b) {
    std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = int(j);
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = int(i);
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string Registry::closest(const std::string& name) const {
    std::string best;
    int bestDistance = 3; // suggest only near misses
    for (const auto& t : types_) {
        int d = editDistance(name, t->info().name);
        if (d < bestDistance) {
            bestDistance = d;
            best = t->info().name;
        }
    }
    for (const auto& p : providers_) {
        int d = editDistance(name, p->typeName());
        if (d < bestDistance) {
            bestDistance = d;
            best = p->typeName();
        }
    }
    return best;
}

const Registry& Registry::builtin() {
    static const Registry registry = [] {
        Registry r;
        registerBuiltinNodes(r);
        return r;
    }();
    return registry;
}

} // namespace sg
