"""The verdict manifest (`results/verdict.toml`, docs/verdict.md): the sweeps that produce the evidence,
the preregistered claims and their comparison lines, and the compute budget. Everything here is fixed
before any record exists: a line names its runs by config selectors, its metric, the expected
direction and, optionally, the smallest effect of interest, so no definition depends on data.

Loading checks every key and type and refers each line to a declared sweep, so a bad manifest fails in
one line (exit 2) before anything is read, run or written. Paths (`out`, `table`, `leaderboard`) are
relative to the manifest's folder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import Config, flat
from bench.core.compat import tomllib
from bench.core.errors import BenchError
from bench.report.metrics import METRIC

DEFAULT_MANIFEST = Path("results/verdict.toml")
KINDS = ("compare", "contrast", "bucket_contrast", "trajectory", "critical_gamma")
EXPECT = ("higher", "lower")
# Structural measures of `record.probes.structure` (bench/probes/structure.py) that a trajectory reads,
# each a {role: mean over the role's matrices} mapping per snapshot.
MEASURES = ("condensation", "effective_rank")
STATISTICS = ("peak", "trough", "final", "peak_minus_final", "final_minus_trough")
# Flags `verdict --run` sets itself on each sweep: the manifest may not fix them.
RESERVED_SWEEP_FLAGS = ("--out", "--name", "--dry-run", "--jobs")


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: its name, output folder (relative to the manifest) and `python -m bench sweep` arguments."""

    name: str
    out: str
    args: tuple[str, ...]
    jobs: int = 2


@dataclass(frozen=True)
class Line:
    """One preregistered comparison of a claim (docs/verdict.md#lines)."""

    setting: str
    sweep: str
    kind: str = "compare"
    metric: str | None = None
    minus: str | None = None  # contrast: the second metric of the same runs
    scheme: tuple[tuple[str, Any], ...] = ()
    reference: tuple[tuple[str, Any], ...] | None = None
    expect: str | None = None
    sesoi: float | None = None
    min_seeds: int = 2
    measure: str | None = None  # trajectory
    statistic: str | None = None  # trajectory
    gammas: tuple[float, ...] = ()  # critical_gamma: the swept γ values


@dataclass(frozen=True)
class Claim:
    id: str
    source: str
    claim: str
    budget_h: float
    cut: str
    gpu: str
    lines: tuple[Line, ...] = ()
    table: str | None = None  # the claim's own table file
    leaderboard: str | None = None  # a table-only claim: the leaderboard file its sweep produces
    sweep: str | None = None  # a table-only claim: that sweep


@dataclass(frozen=True)
class Manifest:
    path: Path
    machine: str
    total_h: float
    gpu: str
    sweeps: dict[str, SweepSpec]
    claims: tuple[Claim, ...] = field(default_factory=tuple)

    @property
    def base(self) -> Path:
        return self.path.parent

    def out_dir(self, sweep: str) -> Path:
        return self.base / self.sweeps[sweep].out

    def claim_sweeps(self, claim: Claim) -> list[str]:
        """The sweeps a claim reads, in manifest order."""
        used = {line.sweep for line in claim.lines} | ({claim.sweep} if claim.sweep else set())
        return [name for name in self.sweeps if name in used]

    def claims_sweeps(self, claims: Sequence[Claim]) -> list[str]:
        """The sweeps any of `claims` reads, each once, in the order the claims name them."""
        return list(dict.fromkeys(n for c in claims for n in self.claim_sweeps(c)))

    def sweep_owners(self, claims: Sequence[Claim]) -> dict[str, str]:
        """The claim each sweep's compute counts under, so a sweep several claims read counts once: the
        table-only claim it feeds, else the first claim that reads it."""
        owner = {c.sweep: c.id for c in claims if c.sweep is not None}
        for claim in claims:
            for name in self.claim_sweeps(claim):
                owner.setdefault(name, claim.id)
        return owner

    def owned_sweeps(self, claim: Claim, owners: dict[str, str]) -> list[str]:
        return [n for n in self.claim_sweeps(claim) if owners[n] == claim.id]


CONFIG_KEYS = frozenset(flat(Config().to_dict()))


def _get(entry: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str,
         required: bool = True) -> Any:
    if key not in entry:
        if required:
            raise BenchError(f"{where}: `{key}` is required")
        return None
    value = entry[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise BenchError(f"{where}: `{key}` has the wrong type")
    if not isinstance(value, kind):
        raise BenchError(f"{where}: `{key}` has the wrong type")
    if isinstance(value, float) and not math.isfinite(value):
        raise BenchError(f"{where}: `{key}` must be finite")
    return value


def _keys(entry: Any, allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise BenchError(f"{where}: expected a table")
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise BenchError(f"{where}: unknown keys {', '.join(unknown)} (allowed: {', '.join(allowed)})")
    return entry


def _selector(value: Any, where: str) -> tuple[tuple[str, Any], ...]:
    """A mapping of flattened config keys to values (docs/verdict.md#selectors), as sorted pairs."""
    if not isinstance(value, dict) or not value:
        raise BenchError(f"{where}: expected a non-empty table of config keys, e.g. {{\"init.gamma\" = 1.0}}")
    unknown = sorted(k for k in value if k not in CONFIG_KEYS)
    if unknown:
        raise BenchError(f"{where}: unknown config key {unknown[0]!r}")
    return tuple(sorted(value.items()))


LINE_KEYS = ("setting", "sweep", "kind", "metric", "minus", "scheme", "reference", "expect", "sesoi",
             "min_seeds", "measure", "statistic", "gammas")


def _line(entry: Any, sweeps: dict[str, SweepSpec], where: str) -> Line:
    e = _keys(entry, LINE_KEYS, where)
    kind = _get(e, "kind", str, where, required=False) or "compare"
    if kind not in KINDS:
        raise BenchError(f"{where}: unknown kind {kind!r} (choose from {', '.join(KINDS)})")
    sweep = _get(e, "sweep", str, where)
    if sweep not in sweeps:
        raise BenchError(f"{where}: sweep {sweep!r} is not a [[sweep]] of the manifest")
    min_seeds = _get(e, "min_seeds", int, where, required=False)
    if min_seeds is not None and min_seeds < 2:
        raise BenchError(f"{where}: `min_seeds` must be >= 2 (a paired test needs two pairs)")
    sesoi = _get(e, "sesoi", (int, float), where, required=False)
    if sesoi is not None and sesoi <= 0:
        raise BenchError(f"{where}: `sesoi` must be > 0")
    line = Line(setting=_get(e, "setting", str, where), sweep=sweep, kind=kind,
                metric=_get(e, "metric", str, where, required=False),
                minus=_get(e, "minus", str, where, required=False),
                scheme=_selector(e.get("scheme"), f"{where} scheme"),
                reference=_selector(e["reference"], f"{where} reference") if "reference" in e else None,
                expect=_get(e, "expect", str, where, required=False),
                sesoi=None if sesoi is None else float(sesoi), min_seeds=min_seeds or 2,
                measure=_get(e, "measure", str, where, required=False),
                statistic=_get(e, "statistic", str, where, required=False),
                gammas=tuple(float(g) for g in _get(e, "gammas", list, where, required=False) or ()))
    _check_kind(line, where)
    return line


def _check_kind(line: Line, where: str) -> None:
    """What each kind needs (docs/verdict.md#lines): a known metric, a reference where Δ is between
    two schemes, a direction except for the critical γ."""
    needs_metric = line.kind in ("compare", "contrast", "critical_gamma")
    if needs_metric and line.metric not in METRIC:
        raise BenchError(f"{where}: unknown metric {line.metric!r} (a key of bench/report/metrics.py)")
    if line.kind == "contrast" and line.minus not in METRIC:
        raise BenchError(f"{where}: a contrast needs `minus`, a second metric of the same runs")
    if line.kind in ("compare", "bucket_contrast") and line.reference is None:
        raise BenchError(f"{where}: kind {line.kind} needs a `reference` selector")
    if line.kind == "contrast" and line.reference is not None:
        raise BenchError(f"{where}: a contrast compares two metrics of the `scheme` runs; drop `reference`")
    if line.kind == "trajectory" and (line.measure not in MEASURES or line.statistic not in STATISTICS):
        raise BenchError(f"{where}: a trajectory needs `measure` ({', '.join(MEASURES)}) and `statistic` "
                         f"({', '.join(STATISTICS)})")
    if line.kind == "critical_gamma":
        if len(line.gammas) < 3 or len(set(line.gammas)) != len(line.gammas):
            raise BenchError(f"{where}: a critical_gamma line needs `gammas`, three or more distinct values")
        if line.expect is not None or line.sesoi is not None:
            raise BenchError(f"{where}: a critical_gamma line has no `expect` or `sesoi` (its rule is fixed)")
    elif line.expect not in EXPECT:
        raise BenchError(f"{where}: `expect` must be one of {', '.join(EXPECT)}")
    if line.kind != "contrast" and line.minus is not None:
        raise BenchError(f"{where}: `minus` belongs to kind contrast")


def _sweep(entry: Any, where: str) -> SweepSpec:
    e = _keys(entry, ("name", "out", "args", "jobs"), where)
    args = _get(e, "args", list, where)
    if not args or not all(isinstance(a, str) for a in args):
        raise BenchError(f"{where}: `args` must be a non-empty list of strings")
    reserved = [a for a in args if a.split("=")[0] in RESERVED_SWEEP_FLAGS]
    if reserved:
        raise BenchError(f"{where}: `args` may not set {reserved[0].split('=')[0]} (verdict sets it)")
    jobs = _get(e, "jobs", int, where, required=False)
    if jobs is not None and jobs < 1:
        raise BenchError(f"{where}: `jobs` must be >= 1")
    return SweepSpec(_get(e, "name", str, where), _get(e, "out", str, where), tuple(args), jobs or 2)


CLAIM_KEYS = ("id", "source", "claim", "budget_h", "cut", "gpu", "line", "table", "leaderboard", "sweep")


def _claim(entry: Any, sweeps: dict[str, SweepSpec], where: str) -> Claim:
    e = _keys(entry, CLAIM_KEYS, where)
    cid = _get(e, "id", str, where)
    lines = tuple(_line(x, sweeps, f"{where} ({cid}) line {i + 1}")
                  for i, x in enumerate(_get(e, "line", list, where, required=False) or []))
    leaderboard, sweep = (_get(e, k, str, where, required=False) for k in ("leaderboard", "sweep"))
    if (leaderboard is None) != (sweep is None):
        raise BenchError(f"{where} ({cid}): `leaderboard` and `sweep` go together (a table-only claim)")
    if sweep is not None and sweep not in sweeps:
        raise BenchError(f"{where} ({cid}): sweep {sweep!r} is not a [[sweep]] of the manifest")
    if not lines and leaderboard is None:
        raise BenchError(f"{where} ({cid}): a claim needs [[claim.line]] entries or a leaderboard")
    budget = _get(e, "budget_h", (int, float), where)
    if budget < 0:
        raise BenchError(f"{where} ({cid}): `budget_h` must be >= 0")
    return Claim(cid, _get(e, "source", str, where), _get(e, "claim", str, where), float(budget),
                 _get(e, "cut", str, where), _get(e, "gpu", str, where), lines,
                 _get(e, "table", str, where, required=False), leaderboard, sweep)


def load_manifest(path: Path) -> Manifest:
    """The manifest at `path`, fully checked (module docstring)."""
    if not path.is_file():
        raise BenchError(f"no verdict manifest {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: invalid TOML ({exc})") from None
    _keys(data, ("budget", "sweep", "claim"), str(path))
    budget = _keys(data.get("budget"), ("total_h", "machine", "gpu"), f"{path} [budget]")
    sweeps: dict[str, SweepSpec] = {}
    for i, entry in enumerate(data.get("sweep") or []):
        spec = _sweep(entry, f"{path} sweep {i + 1}")
        if spec.name in sweeps:
            raise BenchError(f"{path}: two sweeps are named {spec.name!r}")
        if spec.out in {s.out for s in sweeps.values()}:
            raise BenchError(f"{path}: two sweeps write {spec.out!r}")
        sweeps[spec.name] = spec
    claims = tuple(_claim(c, sweeps, f"{path} claim {i + 1}") for i, c in enumerate(data.get("claim") or []))
    if not claims:
        raise BenchError(f"{path}: no [[claim]] entries")
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise BenchError(f"{path}: two claims share an id")
    files = [f for c in claims for f in (c.table, c.leaderboard) if f]
    if len(set(files)) != len(files):
        raise BenchError(f"{path}: two claims write one file")
    total = _get(budget, "total_h", (int, float), f"{path} [budget]")
    return Manifest(path, _get(budget, "machine", str, f"{path} [budget]"), float(total),
                    _get(budget, "gpu", str, f"{path} [budget]"), sweeps, claims)


def select_claims(manifest: Manifest, text: str | None) -> list[Claim]:
    """`--claims C1,C5`: those claims in manifest order; every claim when None."""
    if text is None:
        return list(manifest.claims)
    wanted = [t.strip() for t in text.split(",") if t.strip()]
    known = {c.id for c in manifest.claims}
    unknown = [w for w in wanted if w not in known]
    if not wanted or unknown:
        raise BenchError(f"--claims: unknown claim {unknown[0] if unknown else text!r} "
                         f"(the manifest has {', '.join(sorted(known))})")
    return [c for c in manifest.claims if c.id in wanted]
