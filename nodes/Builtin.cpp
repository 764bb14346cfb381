// The node library: every built-in node type, registered explicitly (a static library would
// drop self-registering objects).
#include "core/Registry.h"
#include "nodes/dynamics/DynamicsCore.h"
#include "nodes/dynamics/Limiter.h"
#include "nodes/filters/Biquad.h"
#include "nodes/filters/Crossover.h"
#include "nodes/filters/DcBlocker.h"
#include "nodes/filters/Tilt.h"
#include "nodes/lv2/Lv2.h"
#include "nodes/meters/BandMeter.h"
#include "nodes/meters/Correlation.h"
#include "nodes/meters/LevelHistory.h"
#include "nodes/meters/LoudnessTap.h"
#include "nodes/mixing/Pan.h"
#include "nodes/saturation/Saturation.h"
#include "nodes/sources/Noise.h"
#include "nodes/sources/Sine.h"
#include "nodes/sources/Sweep.h"
#include "nodes/space/Echo.h"
#include "nodes/space/Reverb.h"
#include "nodes/stereo/Balance.h"
#include "nodes/stereo/Channels.h"
#include "nodes/stereo/MidSide.h"
#include "nodes/stereo/MonoBass.h"
#include "nodes/stereo/Polarity.h"
#include "nodes/stereo/Width.h"
#include "nodes/utility/Delay.h"
#include "nodes/utility/Dither.h"
#include "nodes/utility/Gain.h"

namespace sg {

void registerBuiltinNodes(Registry& registry) {
    registerGainNodes(registry);
    registerDelayNodes(registry);
    registerPanNodes(registry);
    registerBiquadNodes(registry);
    registerCrossoverNodes(registry);
    registerTiltNodes(registry);
    registerDcBlockerNodes(registry);
    registerLoudnessTapNodes(registry);
    registerLimiterNodes(registry);
    registerMidSideNodes(registry);
    registerWidthNodes(registry);
    registerMonoBassNodes(registry);
    registerBalanceNodes(registry);
    registerPolarityNodes(registry);
    registerChannelNodes(registry);
    registerCorrelationNodes(registry);
    registerBandMeterNodes(registry);
    registerLevelHistoryNodes(registry);
    registerSaturationNodes(registry);
    registerDynamicsNodes(registry);
    registerDitherNodes(registry);
    registerEchoNodes(registry);
    registerReverbNodes(registry);
    registerNoiseNodes(registry);
    registerSineNodes(registry);
    registerSweepNodes(registry);
    registerLv2Nodes(registry);
}

} // namespace sg
