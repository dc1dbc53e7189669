#!/usr/bin/env python3
"""brunel: Brunel (2000) balanced E/I network as in NEST's brunel_alpha_nest.py (scale 2: 20000 E +
5000 I iaf_psc_alpha neurons, in-degrees 1000/250, g = 5, eta = 2, J = 0.1 mV PSP -> 20.68 pA).

PyNEST 3.x script written by SpikeScope (sim_core.io.nest_export) from the spec
`spikescope/1` 'brunel'. Example:

    python SCRIPT.py --t-sim 1000 --t-presim 100 --spikes-out spikes.npz
"""
import argparse
import json
import sys
import time

import nest
import numpy as np

SPEC_SEED = 143202461
DT = 0.1  # ms


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--t-sim", type=float, default=1000.0, metavar="MS",
                        help="recorded and measured time (default 1000)")
    parser.add_argument("--t-presim", type=float, default=0.0, metavar="MS",
                        help="warm-up before --t-sim, simulated but not recorded (default 0)")
    parser.add_argument("--seed", type=int, default=SPEC_SEED, help="default: the spec's seed")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--spikes-out", metavar="FILE.npz", help="P.times, P.senders per population P")
    parser.add_argument("--voltages-out", metavar="FILE.npz", help="P.times, P.senders, P.V_m")
    args = parser.parse_args(argv)
    # recorder start and simulated time must lie on NEST's time grid
    for name in ("t_sim", "t_presim"):
        steps = getattr(args, name) / DT
        if getattr(args, name) < 0 or abs(steps - round(steps)) > 1e-9:
            parser.error(f"--{name.replace('_', '-')} must be a non-negative multiple of {DT} ms")
    return args


def setup_kernel(seed, threads):
    """A fresh kernel: resolution, seed, threads."""
    nest.ResetKernel()
    # NEST 3.10 deprecates set_verbosity in favour of the verbosity property
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.local_num_threads = threads
    nest.resolution = DT
    # NEST wants a seed in [1, 2**32 - 2] and the spec allows 0: spec seed s is NEST seed s + 1
    nest.rng_seed = seed + 1


def create_populations():
    """The neuron populations, by name."""
    pops = {}
    pops["E"] = nest.Create("iaf_psc_alpha", 20000, params={
        "C_m": 250.0,
        "tau_m": 20.0,
        "tau_syn_ex": 0.5,
        "tau_syn_in": 0.5,
        "t_ref": 2.0,
        "E_L": 0.0,
        "V_reset": 0.0,
        "V_th": 20.0,
    })
    # initial state
    pops["E"].set({"V_m": 0.0})
    pops["I"] = nest.Create("iaf_psc_alpha", 5000, params={
        "C_m": 250.0,
        "tau_m": 20.0,
        "tau_syn_ex": 0.5,
        "tau_syn_in": 0.5,
        "t_ref": 2.0,
        "E_L": 0.0,
        "V_reset": 0.0,
        "V_th": 20.0,
    })
    # initial state
    pops["I"].set({"V_m": 0.0})
    return pops


def create_inputs():
    """The stimulating devices, by name."""
    inputs = {}
    inputs["ext"] = nest.Create("poisson_generator", params={"rate": 17789.007714721884})
    return inputs


def connect(nodes):
    """The projections; nodes holds populations and inputs by name."""
    # projection 0: E -> E, fixed_indegree
    nest.Connect(nodes["E"], nodes["E"], {"rule": "fixed_indegree", "indegree": 1000}, {
        "synapse_model": "static_synapse",
        "weight": 20.68015524367846,
        "delay": 1.5,
    })
    # projection 1: E -> I, fixed_indegree
    nest.Connect(nodes["E"], nodes["I"], {"rule": "fixed_indegree", "indegree": 1000}, {
        "synapse_model": "static_synapse",
        "weight": 20.68015524367846,
        "delay": 1.5,
    })
    # projection 2: I -> E, fixed_indegree
    nest.Connect(nodes["I"], nodes["E"], {"rule": "fixed_indegree", "indegree": 250}, {
        "synapse_model": "static_synapse",
        "weight": -103.4007762183923,
        "delay": 1.5,
    })
    # projection 3: I -> I, fixed_indegree
    nest.Connect(nodes["I"], nodes["I"], {"rule": "fixed_indegree", "indegree": 250}, {
        "synapse_model": "static_synapse",
        "weight": -103.4007762183923,
        "delay": 1.5,
    })
    # projection 4: ext -> E, all_to_all
    nest.Connect(nodes["ext"], nodes["E"], {"rule": "all_to_all"}, {
        "synapse_model": "static_synapse",
        "weight": 20.68015524367846,
        "delay": 1.5,
    })
    # projection 5: ext -> I, all_to_all
    nest.Connect(nodes["ext"], nodes["I"], {"rule": "all_to_all"}, {
        "synapse_model": "static_synapse",
        "weight": 20.68015524367846,
        "delay": 1.5,
    })


def create_recorders(pops, start):
    """Spike recorders and voltmeters by population; they record (start, end], so the
    warm-up before start is simulated but not recorded."""
    spike_recorders, voltmeters = {}, {}
    for name in ["E", "I"]:
        spike_recorders[name] = nest.Create("spike_recorder", params={"start": start})
        nest.Connect(pops[name], spike_recorders[name])
    return spike_recorders, voltmeters


def population_events(recorder, population, keys=()):
    """A recorder's events sorted by time then sender, senders 0-based in the population."""
    events = recorder.get("events")
    times = np.asarray(events["times"], dtype=float)
    senders = np.asarray(events["senders"], dtype=np.int64) - population[0].global_id
    order = np.lexsort((senders, times))
    arrays = {"times": times[order], "senders": senders[order]}
    for key in keys:
        arrays[key] = np.asarray(events[key], dtype=float)[order]
    return arrays


def mean_cv_isi(times, senders):
    """Mean over neurons with >= 3 spikes of std(ISI) / mean(ISI); None if there are none."""
    order = np.lexsort((times, senders))
    times, senders = times[order], senders[order]
    cvs = []
    for train in np.split(times, np.flatnonzero(np.diff(senders)) + 1):
        if len(train) >= 3:
            isi = np.diff(train)
            cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else None


def save_npz(path, per_population):
    """Arrays as "P.key" entries, P the population."""
    np.savez(path, **{f"{name}.{key}": values for name, arrays in per_population.items()
                      for key, values in arrays.items()})


def main(argv=None):
    args = parse_args(argv)
    t0 = time.perf_counter()
    setup_kernel(args.seed, args.threads)
    pops = create_populations()
    connect({**pops, **create_inputs()})
    # n_synapses: the connections of the projections (between populations and from inputs),
    # read before the recorders are connected
    n_synapses = nest.GetKernelStatus("num_connections")
    spike_recorders, voltmeters = create_recorders(pops, args.t_presim)
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    nest.Simulate(args.t_presim + args.t_sim)
    sim_s = time.perf_counter() - t0

    spikes = {name: population_events(rec, pops[name]) for name, rec in spike_recorders.items()}
    if args.spikes_out:
        save_npz(args.spikes_out, spikes)
    if args.voltages_out:
        save_npz(args.voltages_out, {name: population_events(vm, pops[name], ("V_m",))
                                     for name, vm in voltmeters.items()})
    # the recorders start at t_presim, so every recorded spike lies in the measured window
    seconds = args.t_sim / 1000.0
    rates = {name: len(s["times"]) / (len(pops[name]) * seconds) if seconds > 0 else 0.0
             for name, s in spikes.items()}
    print(json.dumps({
        "simulator": "nest",
        "nest_version": nest.__version__,
        "n_neurons": sum(len(p) for p in pops.values()),
        "n_synapses": n_synapses,
        "build_s": build_s,
        "sim_s": sim_s,
        "rates_hz": rates,
        "cv_isi": {name: mean_cv_isi(s["times"], s["senders"]) for name, s in spikes.items()},
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
