"""What the LFP recorder costs: the mesocircuit at one scale simulated for 1 s after 200 ms of
warm-up, with and without ``recorders.lfp`` (kernel method), each built afresh.

    python benchmarks/lfp_cost.py 0.05      # prints a JSON line (docs/lfp.md, "Costs")
"""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim_core.engine.simulation import Simulation  # noqa: E402
from sim_core.models import mesocircuit  # noqa: E402
from sim_core.spec import from_dict  # noqa: E402

scale = float(sys.argv[1]); T = 1000.0
out = {}
for lfp in (True, False):
    spec = mesocircuit.build(scale)
    if not lfp:
        del spec["recorders"]["lfp"]
    sim = Simulation(from_dict(spec))
    sim.run(200.0)
    t0 = time.perf_counter(); sim.run(T); sim_s = time.perf_counter() - t0
    t1 = time.perf_counter(); r = sim.lfp.data() if lfp else None; read = time.perf_counter() - t1
    out["with" if lfp else "without"] = {"sim_s": sim_s, "read_s": read, "phases": {k: round(v, 2) for k, v in sim.timers.seconds.items()}}
    del sim
print(json.dumps(out))
