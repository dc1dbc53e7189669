"""The run registry: every run's spec, seed, backend, machine, versions, timings and results
in one SQLite file (``$SPIKESCOPE_HOME/registry.sqlite``, default ``~/.spikescope``).

A run is written twice, each time in one transaction: an ``incomplete`` row when it starts,
completed (or marked ``failed``) when it ends. A run killed midway therefore leaves a
consistent registry with its row ``incomplete``; the database runs in WAL mode, so the
parallel workers of a scan and a reader (the app) do not block each other.

From Python::

    from sim_core.io import registry
    with registry.record(spec, seed=1, t_presim=100.0) as run:   # 'incomplete' row written
        sim = run.attach(Simulation(spec, seed=1))
        sim.run(1100.0)
    # completed: timings, rates, CVs, a hash of the spikes
    df = registry.runs_frame(columns=["id", "seed", "rates_hz.*"])   # select and flatten

Same spec (by the SHA-256 of its canonical JSON), seed and backend: the same spikes, which
``spikes_sha256`` in the summary shows.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import sqlite3
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from . import provenance

HOME_ENV = "SPIKESCOPE_HOME"
SWITCH_ENV = "SPIKESCOPE_REGISTRY"  # "off" (or 0/false/no): record nothing
FILENAME = "registry.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS specs (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status TEXT NOT NULL DEFAULT 'incomplete' CHECK (status IN ('incomplete', 'complete', 'failed')),
    created TEXT NOT NULL,
    finished TEXT,
    kind TEXT NOT NULL,
    grp TEXT,
    model TEXT NOT NULL,
    spec_sha256 TEXT NOT NULL REFERENCES specs(sha256),
    seed INTEGER NOT NULL,
    backend TEXT NOT NULL,
    device TEXT,
    threads INTEGER,
    n_neurons INTEGER,
    n_synapses INTEGER,
    t_sim_ms REAL,
    t_presim_ms REAL,
    build_s REAL,
    sim_s REAL,
    rtf REAL,
    params TEXT,
    versions TEXT NOT NULL,
    host TEXT NOT NULL,
    git TEXT,
    phases TEXT,
    summary TEXT,
    spike_file TEXT,
    network_dir TEXT,
    command TEXT,
    pid INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_spec_seed ON runs (spec_sha256, seed);
CREATE INDEX IF NOT EXISTS runs_grp ON runs (grp);
"""
# columns holding JSON, and the key each has in a run's dict
_JSON_COLUMNS = {"params": "params", "versions": "versions", "host": "host", "git": "git",
                 "phases": "phases_s", "summary": "summary"}
# what complete() may set
_RESULT_COLUMNS = ("backend", "device", "threads", "n_neurons", "n_synapses", "t_sim_ms", "t_presim_ms",
                   "build_s", "sim_s", "rtf", "versions", "host", "git", "phases", "summary",
                   "spike_file", "network_dir")
# summary keys shown at the top level of a run's dict
# (a run recorded before a key existed, or by a command that does not compute it: None)
_SUMMARY_KEYS = ("rates_hz", "cv_isi", "synchrony", "network_synchrony", "n_spikes", "spikes_sha256",
                 "bytes_per_synapse")


def home() -> Path:
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".spikescope").expanduser()


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "").strip().lower() not in ("off", "0", "false", "no")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _dumps(value) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=_plain)


def _plain(x):  # NumPy scalars and arrays in summaries
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


class Registry:
    """The registry file. Each call opens its own short connection, so one Registry may be
    used from several threads, and several processes may write at once."""

    def __init__(self, path=None, timeout: float = 60.0):
        self.path = Path(path) if path is not None else home() / FILENAME
        self.timeout = timeout
        self._ready = False

    # ------------------------------------------------------------------ connection
    @contextmanager
    def _connect(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA synchronous = NORMAL")  # with WAL: safe against a killed process
            if not self._ready:
                if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    con.execute("PRAGMA journal_mode = WAL")  # persistent: set once per file
                with _transaction(con):
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            con.execute(statement)
                    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self._ready = True
            con.row_factory = sqlite3.Row
            yield con
        finally:
            con.close()

    # ------------------------------------------------------------------ writing
    def begin(self, spec_data: dict, *, seed: int, backend: str, kind: str = "python",
              group: str | None = None, params: dict | None = None, t_sim_ms: float | None = None,
              t_presim_ms: float | None = None, n_neurons: int | None = None,
              command: str | None = None, env: dict | None = None) -> int:
        """Insert an 'incomplete' run (and its spec, once per hash); returns its id.
        ``spec_data`` is the spec as plain data (``to_plain(spec)``)."""
        env = env or provenance.environment(backend)
        sha = provenance.spec_sha256(spec_data)
        if command is None and sys.argv and sys.argv[0]:
            command = " ".join(sys.argv)
        if n_neurons is None:
            n_neurons = sum(int(p.get("size", 0)) for p in spec_data.get("populations", {}).values())
        with self._connect() as con, _transaction(con):
            con.execute("INSERT OR IGNORE INTO specs (sha256, name, json) VALUES (?, ?, ?)",
                        (sha, spec_data.get("name", ""), provenance.canonical_json(spec_data)))
            cur = con.execute(
                "INSERT INTO runs (status, created, kind, grp, model, spec_sha256, seed, backend, device, "
                "n_neurons, t_sim_ms, t_presim_ms, params, versions, host, git, command, pid) "
                "VALUES ('incomplete', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_now(), kind, group, spec_data.get("name", ""), sha, int(seed), backend, env["device"],
                 n_neurons, t_sim_ms, t_presim_ms, _dumps(params), _dumps(env["versions"]),
                 _dumps(env["host"]), _dumps(env["git"]), command, os.getpid()))
            return int(cur.lastrowid)

    def complete(self, run_id: int, **fields) -> None:
        """Complete a run in one transaction; ``fields`` are columns of ``_RESULT_COLUMNS``
        (dicts for versions, host, git, phases, summary)."""
        self._finish(run_id, "complete", None, fields)

    def fail(self, run_id: int, error: str, **fields) -> None:
        self._finish(run_id, "failed", error, fields)

    def _finish(self, run_id, status, error, fields):
        unknown = set(fields) - set(_RESULT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown run fields: {', '.join(sorted(unknown))}")
        cols = {k: (_dumps(v) if k in _JSON_COLUMNS else v) for k, v in fields.items() if v is not None}
        cols.update(status=status, finished=_now(), error=error)
        sets = ", ".join(f"{k} = ?" for k in cols)
        with self._connect() as con, _transaction(con):
            cur = con.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*cols.values(), int(run_id)))
            if cur.rowcount != 1:
                raise KeyError(f"no run {run_id} in {self.path}")

    # ------------------------------------------------------------------ reading
    def runs(self, *, ids=None, status=None, kind=None, group=None, model=None, spec=None, seed=None,
             backend=None, since=None, limit=None, with_spec: bool = False) -> list[dict]:
        """Runs as dicts, oldest first; every filter is optional. ``spec`` is a SHA-256
        prefix; ``since`` an ISO date."""
        where, args = [], []
        for col, value in (("status", status), ("kind", kind), ("grp", group), ("model", model),
                           ("seed", seed), ("backend", backend)):
            if value is not None:
                where.append(f"runs.{col} = ?")
                args.append(value)
        if ids is not None:
            ids = [int(i) for i in ids]
            where.append(f"runs.id IN ({', '.join('?' * len(ids))})" if ids else "0")
            args += ids
        if spec:
            where.append("runs.spec_sha256 LIKE ?")
            args.append(spec.lower() + "%")
        if since:
            where.append("runs.created >= ?")
            args.append(since)
        sql = "SELECT runs.*" + (", specs.json AS spec_json" if with_spec else "") + " FROM runs"
        if with_spec:
            sql += " JOIN specs ON specs.sha256 = runs.spec_sha256"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if limit:  # the latest ``limit`` runs, still oldest first
            sql = f"SELECT * FROM ({sql} ORDER BY runs.id DESC LIMIT {int(limit)}) ORDER BY id"
        else:
            sql += " ORDER BY runs.id"
        if not self.path.exists():
            return []
        with self._connect() as con:
            return [_row_dict(r) for r in con.execute(sql, args)]

    def get(self, run_id: int) -> dict:
        rows = self.runs(ids=[run_id], with_spec=True)
        if not rows:
            raise KeyError(f"no run {run_id} in {self.path}")
        return rows[0]

    def integrity_check(self) -> str:
        """SQLite's own check of the file: 'ok' when it is consistent."""
        with self._connect() as con:
            return "; ".join(r[0] for r in con.execute("PRAGMA integrity_check"))


@contextmanager
def _transaction(con):
    """BEGIN IMMEDIATE takes the write lock at once (no deadlock on upgrade); all or nothing."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _row_dict(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["group"] = d.pop("grp")
    for col, key in _JSON_COLUMNS.items():
        raw = d.pop(col)
        d[key] = json.loads(raw) if raw is not None else None
    summary = d.pop("summary") or {}
    for key in _SUMMARY_KEYS:
        d[key] = summary.pop(key, None)
    d["extra"] = summary or None
    if "spec_json" in d:
        d["spec"] = json.loads(d.pop("spec_json"))
    return d


# ------------------------------------------------------------------ recording a run
def spikes_digest(sim) -> str:
    """SHA-256 over every recorded population's spike times and ids (equal runs, equal hash)."""
    h = hashlib.sha256()
    for name in sorted(sim.spike_record.recorded):
        times, ids = sim.spikes(name)
        h.update(name.encode() + b"\0")
        h.update(times.astype("<f8").tobytes())
        h.update(ids.astype("<i8").tobytes())
    return h.hexdigest()


def simulation_fields(sim, t_presim: float = 0.0, summary: dict | None = None) -> dict:
    """The result columns of a finished Simulation: timings, sizes, rates and CVs (computed
    after ``t_presim`` unless ``summary`` already has them) and the hash of its spikes."""
    from ..analysis.stats import population_summary
    summary = dict(summary or {})
    if "rates_hz" not in summary:
        summary["rates_hz"], summary["cv_isi"] = population_summary(sim, t_presim, sim.t)
    summary.setdefault("n_spikes", sim.spike_record.n_spikes)
    summary.setdefault("bytes_per_synapse", round(sim.bytes_per_synapse, 3))
    summary["spikes_sha256"] = spikes_digest(sim)
    t = sim.timers
    sim_s = t["simulate"]
    return {
        "backend": sim.backend_name, "device": provenance.device(sim.backend_name),
        "threads": getattr(sim.backend, "threads", None), "n_neurons": sim.spec.n_neurons,
        "n_synapses": sim.n_synapses, "t_sim_ms": sim.t - t_presim, "t_presim_ms": t_presim,
        "build_s": t["build"] + t["load"], "sim_s": sim_s, "rtf": sim_s / (sim.t / 1000.0) if sim.t else None,
        "phases": dict(t.seconds), "summary": summary,
    }


class RunRecord:
    """A run being recorded (see ``record``). ``attach(sim)`` the Simulation once built; put
    results the registry cannot compute in ``summary`` (merged) and, for runs without a
    Simulation (NEST), columns in ``fields``."""

    def __init__(self, registry: Registry | None, t_presim: float):
        self.registry = registry
        self.id: int | None = None
        self.sim = None
        self.t_presim = t_presim
        self.summary: dict = {}
        self.fields: dict = {}
        self.spike_file: str | None = None
        self.network_dir: str | None = None

    def attach(self, sim):
        self.sim = sim
        return sim

    def result_fields(self) -> dict:
        out = simulation_fields(self.sim, self.t_presim, self.summary) if self.sim is not None else {}
        if self.sim is None and self.summary:
            out["summary"] = dict(self.summary)
        out.update(self.fields)
        if self.spike_file:
            out["spike_file"] = str(Path(self.spike_file).resolve())
        if self.network_dir:
            out["network_dir"] = str(Path(self.network_dir).resolve())
        return out


@contextmanager
def record(spec, *, seed: int | None = None, backend: str | None = None, t_sim: float | None = None,
           t_presim: float = 0.0, kind: str = "python", group: str | None = None,
           params: dict | None = None, registry: Registry | str | Path | None = None, off: bool = False):
    """Record one run: an 'incomplete' row now, completed in one transaction when the block
    ends (or 'failed' with the error if it raises). ``spec`` is a NetworkSpec or a
    Simulation. The registry never stops a run: if it cannot be written, a warning goes to
    stderr and the run goes on unrecorded (``run.id`` is None), as it does with ``off`` or
    ``SPIKESCOPE_REGISTRY=off``."""
    from ..spec import to_plain
    sim = spec if hasattr(spec, "spike_record") else None
    spec = sim.spec if sim is not None else spec
    seed = (sim.seed if sim is not None else spec.seed) if seed is None else seed
    backend = backend or (sim.backend_name if sim is not None else "cpu")
    reg = None if off or not enabled() else registry if isinstance(registry, Registry) else Registry(registry)
    run = RunRecord(reg, t_presim)
    if sim is not None:
        run.attach(sim)
    if reg is not None:
        try:
            run.id = reg.begin(to_plain(spec), seed=seed, backend=backend, kind=kind, group=group,
                               params=params, t_sim_ms=t_sim, t_presim_ms=t_presim)
        except (sqlite3.Error, OSError) as exc:
            _warn(reg, exc)
    try:
        yield run
    except BaseException as exc:
        if run.id is not None:
            try:
                reg.fail(run.id, f"{type(exc).__name__}: {exc}".strip().rstrip(":"))
            except (sqlite3.Error, OSError) as exc2:
                _warn(reg, exc2)
        raise
    if run.id is not None:
        try:
            reg.complete(run.id, **run.result_fields())
        except (sqlite3.Error, OSError) as exc:
            _warn(reg, exc)


def _warn(reg: Registry, exc: Exception) -> None:
    print(f"spikescope: warning: run registry {reg.path} not written ({exc})", file=sys.stderr)


# ------------------------------------------------------------------ select and flatten
def runs_frame(registry: Registry | str | Path | None = None, *, columns=None, **filters):
    """Runs as a pandas DataFrame, one row per run, nested metadata flattened to dotted
    columns (``host.cpu``, ``versions.numba``, ``rates_hz.E``, ``params.inputs.bg.params.rate``).
    ``filters`` are those of ``Registry.runs``; ``columns`` a list of names or glob patterns
    (``"rates_hz.*"``) selecting and ordering the columns."""
    import pandas as pd
    reg = registry if isinstance(registry, Registry) else Registry(registry)
    rows = reg.runs(**filters)
    for r in rows:  # params are keyed by spec paths, which contain dots: keep them whole
        r["params"] = {f"params.{k}": v for k, v in (r.get("params") or {}).items()} or None
        r.update(r.pop("params") or {})
    df = pd.json_normalize(rows, sep=".") if rows else pd.DataFrame(columns=["id"])
    if columns is not None:
        chosen = []
        for pattern in columns:
            for c in df.columns:
                if fnmatch.fnmatchcase(c, pattern) and c not in chosen:
                    chosen.append(c)
        df = df[chosen]
    return df


def compare(a: dict, b: dict) -> dict:
    """What two runs share and where they differ: same spec, seed, backend, spikes; then
    every differing field (versions and host key by key) and the rates side by side."""
    def flat(d, prefix=""):
        out = {}
        for k, v in (d or {}).items():
            if isinstance(v, dict):
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
        return out
    keys = ("status", "model", "spec_sha256", "seed", "backend", "device", "threads", "n_neurons",
            "n_synapses", "t_sim_ms", "t_presim_ms", "build_s", "sim_s", "rtf", "n_spikes", "spikes_sha256")
    diff = {k: [a.get(k), b.get(k)] for k in keys if a.get(k) != b.get(k)}
    for section in ("versions", "host", "git", "params"):
        fa, fb = flat(a.get(section)), flat(b.get(section))
        for k in sorted(set(fa) | set(fb)):
            if fa.get(k) != fb.get(k):
                diff[f"{section}.{k}"] = [fa.get(k), fb.get(k)]
    rates = {}
    for pop in sorted(set(a.get("rates_hz") or {}) | set(b.get("rates_hz") or {})):
        ra, rb = (a.get("rates_hz") or {}).get(pop), (b.get("rates_hz") or {}).get(pop)
        rel = (rb - ra) / ra if ra and rb is not None else None
        rates[pop] = {"a": ra, "b": rb, "relative_difference": rel}
    same_spec = a["spec_sha256"] == b["spec_sha256"]
    spikes = (a.get("spikes_sha256") == b.get("spikes_sha256")
              if a.get("spikes_sha256") and b.get("spikes_sha256") else None)
    return {"a": a["id"], "b": b["id"], "same_spec": same_spec, "same_seed": a["seed"] == b["seed"],
            "same_backend": a["backend"] == b["backend"], "identical_spikes": spikes,
            "differences": diff, "rates_hz": rates}
