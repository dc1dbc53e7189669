"""Parameter scans: a grid over spec paths (or a preset's options), each point one simulation
on a Dask cluster, or several points batched into one network; Brunel's phase diagram
(``phase``) as such a grid."""
from .paths import get_path, parse_param, parse_path, set_path
from .phase import BRUNEL_ETA, BRUNEL_G, brunel_axes, brunel_network, brunel_params
from .runner import ScanResult, grid, point_specs, preset_points, run_batch, run_point, scan, scan_specs

__all__ = ["BRUNEL_ETA", "BRUNEL_G", "ScanResult", "brunel_axes", "brunel_network", "brunel_params", "get_path",
           "grid", "parse_param", "parse_path", "point_specs", "preset_points", "run_batch", "run_point", "scan",
           "scan_specs", "set_path"]
