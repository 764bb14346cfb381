// The node library: every built-in node type, registered explicitly (a static library would
// drop self-registering objects).
#include "core/Registry.h"
#include "nodes/dynamics/DynamicsCore.h"
#include "nodes/dynamics/Limiter.h"
#include "nodes/filters/Biquad.h"
#include "nodes/meters/LoudnessTap.h"
#include "nodes/mixing/Pan.h"
#include "nodes/utility/Delay.h"
#include "nodes/utility/Gain.h"

namespace sg {

void registerBuiltinNodes(Registry& registry) {
    registerGainNodes(registry);
    registerDelayNodes(registry);
    registerPanNodes(registry);
    registerBiquadNodes(registry);
    registerLoudnessTapNodes(registry);
    registerLimiterNodes(registry);
    registerDynamicsNodes(registry);
}

} // namespace sg
