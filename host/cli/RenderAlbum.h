// `stagegraph render GRAPH.yaml --target VALUE --album -i a.wav -i b.wav… -o DIR/ | -o A -o B…`
//
// Album mode: every input is one track, rendered through the same graph (one input, one
// output). The album's integrated loudness is measured as one stream — every track's output in
// order through one meter, gated over all tracks together (BS.1770-5; the Replay Gain album
// idea) — and gives ONE gain G = target - I_album. Each track is then delivered by --target's
// own pass 2 (host/cli/Target.h, deliverToTarget: gain -> true-peak limiter at the album's
// ceiling -> file) to its own loudness plus G: where the limiter takes no loudness off, its gain
// is exactly G; where it does, the track gets back what the limiter took, so every track keeps
// its loudness relative to the others and the album lands on the target. Outputs: `-o DIR/` (an
// existing folder, or a path ending in '/') writes DIR/<input's file name> (with --format's
// extension if given; a name whose extension names no output format gets .wav), or one
// `-o FILE` per input, paired in order.
//
// Printed: a consistency table, one row per track and one for the album: loudness before and
// after, true peak, loudness range and the octave-band balance of the written files (read back),
// harshness. --report FILE.json writes the same as JSON (docs/reports.md); --html a page with
// every track. Nothing is committed unless every track was delivered.
#pragma once

#include "host/cli/Render.h"

namespace sg::cli {

/// Runs an album render (`request.album`). Returns the exit status (errors printed).
int renderAlbum(const RenderRequest& request);

} // namespace sg::cli
