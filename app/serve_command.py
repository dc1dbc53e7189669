"""``spikescope serve [--port P]``: the exploration app on 127.0.0.1 (imports Panel only
when the command runs)."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve the exploration app in the browser")
    p.add_argument("--port", type=int, default=5006)
    p.add_argument("--backend", default="auto", help="cpu | gpu | auto (default: the best available)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument("--threads", type=int, default=None, help="CPU threads per session's simulation (default: all cores)")
    p.set_defaults(handler=_serve)


def _serve(args) -> int:
    import sys

    from sim_core.backends import describe_gpu, resolve
    backend = resolve(args.backend)
    where = f"backend {backend}" + (f" on {describe_gpu()}" if backend == "gpu" else "")
    if args.backend == "auto":
        where += " (auto: " + ("GPU found)" if backend == "gpu" else "no GPU found)")
    print(f"SpikeScope on http://127.0.0.1:{args.port}/ ({where}); Ctrl-C stops",
          file=sys.stderr, flush=True)
    from .main import serve
    serve(port=args.port, show=args.show, backend=backend, threads=args.threads)
    return 0
