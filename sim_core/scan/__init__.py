"""Parameter scans: a grid over spec paths, each point one simulation on a Dask cluster."""
from .paths import get_path, parse_param, parse_path, set_path
from .runner import ScanResult, grid, point_specs, run_point, scan

__all__ = ["ScanResult", "get_path", "grid", "parse_param", "parse_path", "point_specs", "run_point", "scan",
           "set_path"]
