"""A small spatial network with an LFP recorder (populations named as the shipped kernels'
L4E and L4I), shared by tests/lfp and tests/engine/test_lfp_backend.py."""


def spec(method="kernel", periodic=True, w_ee=40.0, delay_offset=0.5, grid=(4, 4), pitch=0.25, size=(400, 100),
         drawn=False):
    """``drawn``: weights drawn from normal distributions (10 % sd, sign kept) instead of constants."""
    pos = {"kind": "random", "extent": [1.0, 1.0], "periodic": periodic}

    def prj(s, t, w):
        if drawn:
            w = {"dist": "normal", "mean": w, "std": 0.1 * abs(w), **({"low": 0.0} if w >= 0 else {"high": 0.0})}
        return {"source": s, "target": t,
                "rule": {"rule": "pairwise_bernoulli", "p": {"spatial": "exponential", "p_center": 0.3, "beta": 0.15},
                         "mask": {"circular": {"radius": 0.45}}, "allow_autapses": False},
                "synapse": {"weight": w, "delay": {"spatial": "linear", "offset": delay_offset, "velocity": 0.3}}}

    return {"format": "spikescope/1", "name": "lfp-small", "dt": 0.1, "seed": 3,
            "populations": {"L4E": {"model": "iaf_psc_exp", "size": size[0], "positions": pos},
                            "L4I": {"model": "iaf_psc_exp", "size": size[1], "positions": pos}},
            "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 15000.0}}},
            "projections": [prj("L4E", "L4E", w_ee), prj("L4E", "L4I", 40.0), prj("L4I", "L4E", -160.0),
                            prj("L4I", "L4I", -160.0),
                            {"source": "bg", "target": "L4E", "rule": {"rule": "all_to_all"},
                             "synapse": {"weight": 40.0, "delay": 1.0}},
                            {"source": "bg", "target": "L4I", "rule": {"rule": "all_to_all"},
                             "synapse": {"weight": 40.0, "delay": 1.0}}],
            "recorders": {"spikes": "all", "lfp": {"method": method, "interval": 0.5,
                                                   "electrodes": {"grid": list(grid), "pitch": pitch, "depth": -0.4}}}}
