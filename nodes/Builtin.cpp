// The node library: every built-in node type, registered explicitly (a static library would
// drop self-registering objects).
#include "core/Registry.h"
#include "nodes/dynamics/Limiter.h"
#include "nodes/filters/Biquad.h"
#include "nodes/meters/LoudnessTap.h"
#include "nodes/mixing/Pan.h"
#include "nodes/sources/Noise.h"
#include "nodes/sources/Sine.h"
#include "nodes/sources/Sweep.h"
#include "nodes/space/Echo.h"
#include "nodes/space/Reverb.h"
#include "nodes/utility/Delay.h"
#include "nodes/utility/Dither.h"
#include "nodes/utility/Gain.h"

namespace sg {

void registerBuiltinNodes(Registry& registry) {
    registerGainNodes(registry);
    registerDelayNodes(registry);
    registerPanNodes(registry);
    registerBiquadNodes(registry);
    registerLoudnessTapNodes(registry);
    registerLimiterNodes(registry);
    registerDitherNodes(registry);
    registerEchoNodes(registry);
    registerReverbNodes(registry);
    registerNoiseNodes(registry);
    registerSineNodes(registry);
    registerSweepNodes(registry);
}

} // namespace sg
