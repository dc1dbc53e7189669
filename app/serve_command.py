"""``spikescope serve [--port P]``: the exploration app on 127.0.0.1 (imports Panel only
when the command runs)."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve the exploration app in the browser")
    p.add_argument("--port", type=int, default=5006)
    p.add_argument("--backend", default="auto", help="cpu | gpu | auto (default: the best available)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument("--threads", type=int, default=None, help="CPU threads per session's simulation (default: all cores)")
    p.add_argument("--address", default="127.0.0.1",
                   help="interface to listen on (default: this machine only; 0.0.0.0 for a course network)")
    p.add_argument("--max-sessions", type=_positive(int), default=12,
                   help="browser sessions open at once; more get a 'server busy' page (default 12)")
    p.add_argument("--max-neurons", type=_positive(int), default=200_000, help="neurons per session (default 200,000)")
    p.add_argument("--max-synapses", type=_positive(float), default=1e8, help="synapses per session (default 1e8)")
    p.add_argument("--max-upload-mb", type=_positive(float), default=8.0,
                   help="largest message a browser may send, an upload included (default 8 MB; specs stop at 4 MiB)")
    p.set_defaults(handler=_serve)


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0:
            import argparse
            raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
        return value
    return parse


def _serve(args) -> int:
    import sys

    from sim_core.backends import describe_gpu, resolve
    backend = resolve(args.backend)
    where = f"backend {backend}" + (f" on {describe_gpu()}" if backend == "gpu" else "")
    if args.backend == "auto":
        where += " (auto: " + ("GPU found)" if backend == "gpu" else "no GPU found)")
    print(f"SpikeScope on http://{args.address}:{args.port}/ ({where}; up to {args.max_sessions} sessions of "
          f"{args.max_neurons:,} neurons and {args.max_synapses:,.0f} synapses); Ctrl-C stops",
          file=sys.stderr, flush=True)
    from widgets.state import SessionLimits

    from .main import ServerLimits, serve
    limits = ServerLimits(max_sessions=args.max_sessions, max_upload_mb=args.max_upload_mb,
                          session=SessionLimits(max_neurons=args.max_neurons, max_synapses=args.max_synapses))
    serve(port=args.port, address=args.address, show=args.show, backend=backend, threads=args.threads, limits=limits)
    return 0
