#!/usr/bin/env bash
# SpikeScope device check on a GPU machine, in one command of at most 9 minutes:
#
#   bash benchmarks/gpu/device_check.sh [OUT_DIR]
#
# OUT_DIR defaults to $OUT if set, else benchmarks/results/gpu. Writes OUT_DIR/device_check.json
# (rewritten after every step), OUT_DIR/microcircuit-gpu.json and
# benchmarks/results/microcircuit-gpu.json. Set SPIKESCOPE_COMMIT=<sha> where the copy has no .git.
# Extra arguments after OUT_DIR go to device_check.py (e.g. --steps versions,identity).
# See docs/device-check.md.
set -u

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO" || exit 1
OUT_DIR="${1:-${OUT:-benchmarks/results/gpu}}"
[ $# -gt 0 ] && shift
mkdir -p "$OUT_DIR"

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if command -v python3 >/dev/null 2>&1; then PY=python3; else PY=python; fi
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# No network on the lent machine: --no-index (fail fast instead of retrying a registry),
# --no-build-isolation (use the setuptools already installed); then plain --no-deps; then
# PYTHONPATH.
t0=$(date +%s)
if timeout 120 "$PY" -m pip install -q --no-deps --no-index --no-build-isolation -e . >"$OUT_DIR/pip.log" 2>&1 \
   || timeout 120 "$PY" -m pip install -q --no-deps -e . >>"$OUT_DIR/pip.log" 2>&1; then
    echo "installed: pip install --no-deps -e . ($(( $(date +%s) - t0 )) s)"
else
    export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
    echo "pip install failed (see $OUT_DIR/pip.log): using PYTHONPATH=$REPO"
fi

export NUMBA_CUDA_ARRAY_INTERFACE_SYNC=0
export NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS=0

# The script keeps its own budget (520 s, each step in a child process under a deadline);
# timeout is the backstop. SIGTERM reaches the script, which writes the report and exits 124.
timeout -k 10 530 "$PY" benchmarks/gpu/device_check.py --out "$OUT_DIR" "$@"
rc=$?
echo "device_check.py exit code $rc; report: $OUT_DIR/device_check.json"
exit $rc
