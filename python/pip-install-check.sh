#!/bin/sh
# Checks `pip install .` from the repository: a fresh venv (with Debian's numpy through
# --system-site-packages), pip install without network, then the installed package renders
# like the build tree's. Slow (a full Release build of the engine): not part of `make test`;
# run it with `make python-pip-check`.
#   python/pip-install-check.sh [PYTHON]      default: /usr/bin/python3 if present, else python3
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${1:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3 )}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
"$python" -m venv --system-site-packages "$work/venv"
(cd "$repo" && "$work/venv/bin/pip" install --no-build-isolation --no-deps -q .)
cd "$work"   # away from the repository: the installed package, not python/stagegraph
"$work/venv/bin/python" - "$repo" <<'PY'
import sys, numpy as np, stagegraph
repo = sys.argv[1]
assert stagegraph.__file__.startswith(sys.prefix), stagegraph.__file__
g = stagegraph.Graph.load(repo + "/graphs/mastering/streaming.yaml")
x = (np.random.default_rng(1).standard_normal((2, 48000)) * 0.2).astype(np.float32)
y = g.process(x, 48000)
assert y.shape == x.shape and np.isfinite(y).all()
print("pip install . ok:", stagegraph.__file__, stagegraph.__version__, len(stagegraph.nodes()), "node types")
PY
