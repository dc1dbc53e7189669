#!/usr/bin/env bash
# SpikeScope device check on a GPU machine, in one command of at most 9 minutes:
#
#   bash benchmarks/gpu/device_check.sh [OUT_DIR]
#
# OUT_DIR defaults to $OUT if set, else benchmarks/results/gpu. Writes OUT_DIR/device_check.json
# (rewritten after every step), OUT_DIR/microcircuit-gpu.json and
# benchmarks/results/microcircuit-gpu.json. Set SPIKESCOPE_COMMIT=<sha> where the copy has no .git.
# Extra arguments after OUT_DIR go to device_check.py (e.g. --steps versions,identity).
# The full-size mesocircuit does not fit beside the other steps: it is a second device run of its
# own, with the same limit (writes OUT_DIR/mesocircuit-gpu.json and
# benchmarks/results/mesocircuit-gpu.json):
#
#   bash benchmarks/gpu/device_check.sh OUT_DIR --steps mesocircuit
#
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

LIMIT="${DEVICE_CHECK_LIMIT_S:-540}"  # seconds for this whole command, install included
t_start=$(date +%s)

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# No network on the lent machine: first --no-index --no-build-isolation (fails fast, uses the
# setuptools already installed), then plain --no-deps with no retries, then PYTHONPATH.
if timeout 60 "$PY" -m pip install -q --no-deps --no-index --no-build-isolation -e . >"$OUT_DIR/pip.log" 2>&1 \
   || timeout 30 "$PY" -m pip install -q --no-deps --retries 0 --timeout 5 -e . >>"$OUT_DIR/pip.log" 2>&1; then
    echo "installed: pip install --no-deps -e . ($(( $(date +%s) - t_start )) s)"
else
    export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
    echo "pip install failed (see $OUT_DIR/pip.log): using PYTHONPATH=$REPO"
fi

export NUMBA_CUDA_ARRAY_INTERFACE_SYNC=0
export NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS=0

# timeout 530 is the backstop (less if the install took long); the script keeps its own budget
# 10 s inside it, each step group in a child process under a deadline. On SIGTERM the script
# writes the report and exits 124.
left=$(( LIMIT - ($(date +%s) - t_start) - 10 ))
tmo=$(( left < 530 ? left : 530 ))
[ "$tmo" -lt 60 ] && tmo=60
timeout -k 10 "$tmo" "$PY" benchmarks/gpu/device_check.py --out "$OUT_DIR" --budget "$(( tmo - 10 ))" "$@"
rc=$?
echo "device_check.py exit code $rc; report: $OUT_DIR/device_check.json"
exit $rc
