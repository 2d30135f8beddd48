"""results/VERDICT.md and each claim's table, as text from templates over the numbers of
bench.verdict.evidence: nothing in them is typed by hand, and the same records give the same bytes."""

from __future__ import annotations

import math
import os
import posixpath
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bench.report.gamma import CRITICAL_ABS_TOL, CRITICAL_REL_TOL, trainable
from bench.verdict.evidence import BUCKET_PAIR, VERDICTS, LineResult, describe_selector, metric_header
from bench.verdict.manifest import Claim, Line, Manifest, SweepSpec
from bench.verdict.plan import SweepPlan

RULE = ("Δ = scheme − reference, paired by init seed (and by document where the runs kept per-document "
        "outputs: the leaderboard's paired bootstrap over seeds × documents; otherwise a paired t-test "
        "over seeds); 95 % CI; two-sided p, Holm-adjusted across the lines of one claim. **refuted**: the"
        " CI inside ±SESOI (the smallest effect of interest, where the line sets one; decided first), or "
        "Holm p < 0.05 and Δ against the claimed direction; **reproduced**: otherwise Holm p < 0.05 and Δ"
        " in the claimed direction; **inconclusive**: neither (the MDE, the effect the test would detect "
        "with 80 % power, says what it could have seen); **pending**: fewer finished seed pairs than the "
        "line's minimum. A critical γ is reproduced when the 95 % bootstrap CI over seeds excludes both "
        "ends of the swept range, refuted when the whole CI sits on one end.")


def display_path(manifest: Manifest, relative: str) -> str:
    """A manifest path as commands show it: relative to the working directory the manifest was named
    from, normalized, so the text does not depend on how the manifest path was spelled."""
    return Path(os.path.normpath(manifest.base / relative)).as_posix()


def sweep_argv(manifest: Manifest, spec: SweepSpec, jobs: int | None = None) -> list[str]:
    """The exact `python -m bench sweep` command of a manifest sweep (resumes when rerun)."""
    return ["python", "-m", "bench", "sweep", *spec.args, "--out", display_path(manifest, spec.out),
            "--name", spec.name, "--jobs", str(jobs or spec.jobs)]


def sweep_command(manifest: Manifest, name: str) -> str:
    return shlex.join(sweep_argv(manifest, manifest.sweeps[name]))


def number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.3g}"


def measure(line: Line) -> str:
    """What the line's Δ is a difference of, without the runs it compares (the figure's axis, too)."""
    if line.kind == "compare":
        return metric_header(line.metric)
    if line.kind == "contrast":
        return f"{metric_header(line.metric)} − {metric_header(line.minus)}"
    if line.kind == "bucket_contrast":
        a, b = (bucket.replace("_", "-") for bucket in BUCKET_PAIR)
        return f"Δloss {a} − Δloss {b} (nats)"
    if line.kind == "trajectory":
        return f"{line.statistic} of {line.measure} (mean over roles)"
    return f"critical γ by {metric_header(line.metric)}"


def quantity(line: Line) -> str:
    """What Δ measures, in words, from the line's fields."""
    scheme = describe_selector(line.scheme)
    reference = describe_selector(line.reference) if line.reference else None
    if line.kind == "contrast":
        return f"{measure(line)} of [{scheme}]"
    if line.kind == "critical_gamma":
        gammas = ", ".join(f"{g:g}" for g in line.gammas)
        return f"{measure(line)} over γ {gammas} of [{scheme}]"
    if line.kind == "trajectory" and reference is None:
        return f"{measure(line)} of [{scheme}], vs 0"
    return f"{measure(line)}: [{scheme}] − [{reference}]"


def interval(line: Line, r: LineResult) -> str:
    """The 95 % CI as text ("none" for a critical-γ bound where resamples had no critical γ)."""
    assert r.result is not None
    if line.kind == "critical_gamma":
        low = "none" if r.result.ci_low == -math.inf else f"{r.result.ci_low:g}"
        return f"[{low}, {r.result.ci_high:g}]"
    return f"[{signed(r.result.ci_low)}, {signed(r.result.ci_high)}]"


def effect(line: Line, r: LineResult) -> str:
    if r.result is None:
        return "—"
    if line.kind == "critical_gamma":
        return f"γ* = {number(r.critical)} {interval(line, r)}"
    return f"{signed(r.result.delta)} {interval(line, r)}"


def expectation(line: Line) -> str:
    if line.kind == "critical_gamma":
        return "interior γ*"
    sesoi = f", SESOI {line.sesoi:g}" if line.sesoi is not None else ""
    return ("Δ > 0" if line.expect == "higher" else "Δ < 0") + sesoi


def tuned(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")


def sentence(claim: Claim, line: Line, r: LineResult) -> str:
    """The line's verdict in one templated sentence."""
    if r.verdict == "pending":
        return (f"pending: {r.pairs} of {line.min_seeds} seed pairs finished; continue with "
                f"`python -m bench verdict --run --claims {claim.id}` (sweep `{line.sweep}`, whose command "
                "is listed under Sweeps).")
    assert r.result is not None
    test = r.result.test if r.result.test != "t" else "paired t-test over seeds"
    if r.result.test == "bootstrap":
        test = f"paired bootstrap over {r.result.seeds} seeds × {r.result.documents} documents"
    if line.kind == "critical_gamma":
        return (f"{r.verdict}: critical γ {number(r.critical)}, 95 % CI {interval(line, r)} over {r.pairs} "
                f"seeds ({test}); no p, so no MDE: the CI's width is the resolution{gamma_curve(line, r)}.")
    if r.result.se == 0.0 and r.result.p is None:
        return (f"{r.verdict}: Δ = {signed(r.result.delta)} at every one of {r.pairs} seeds ({test}), so "
                f"there is no variation to test: no p and no MDE{side_means(r)}.")
    return (f"{r.verdict}: Δ = {signed(r.result.delta)}, 95 % CI {interval(line, r)}, "
            f"p = {number(r.result.p)}, Holm p = {number(r.p_holm)}, "
            f"MDE = {number(r.mde)} at {r.pairs} seeds ({test}){side_means(r)}.")


def gamma_curve(line: Line, r: LineResult) -> str:
    """What a critical γ was chosen from: each γ's seed means of final training loss and score, and which
    γ values train (bench.report.gamma.trainable)."""
    if not r.curve:
        return ""
    trains = {p.gamma for p in trainable(r.curve)}
    points = ", ".join(f"{p.gamma:g}: {number(p.loss, 3)} / {number(p.score, 3)}"
                       + ("" if p.diverged == 0 else f" ({p.diverged} diverged)") for p in r.curve)
    rule = f"loss within max({CRITICAL_REL_TOL * 100:g} %, {CRITICAL_ABS_TOL:g} nats) of the best"
    return (f". Seed means per γ, final training loss / {metric_header(line.metric)}: {points}; γ that "
            f"train ({rule}, no seed diverged): "
            + (", ".join(f"{g:g}" for g in sorted(trains)) or "none"))


def side_means(r: LineResult) -> str:
    """The seed means of both sides (a line tested against zero has one side, its mean is Δ), four
    digits so that a side at the ceiling (1) stands apart from one just below it (0.9993)."""
    if r.means is None or r.means[1] is None:
        return ""
    scheme, reference = r.means
    return f"; seed means {number(scheme, 4)} (scheme) vs {number(reference, 4)} (reference)"


def has_figure(results: Sequence[LineResult]) -> bool:
    """Whether a claim has a figure: some line is decided (has a result). One rule for the figure files
    (generate.py) and the link to them (claim_section); a table-only or all-pending claim has none."""
    return any(r.result is not None for r in results)


def figure_stem(claim: Claim) -> str:
    """A claim's figure without its .png/.svg suffix, relative to the manifest's folder: beside the
    claim's table (the table's path without its suffix, `verdict/C1.md` -> `verdict/C1`), else
    `verdict/<id>`."""
    return str(PurePosixPath(claim.table).with_suffix("")) if claim.table else f"verdict/{claim.id}"


# Per sweep: the devices its counted runs trained on, with run counts (bench.verdict.evidence.machines).
Devices = dict[str, list[tuple[str, int]]]

HEADER = "| # | setting | Δ of | expected | Δ [95 % CI] | p (Holm) | MDE | seeds | LR tuned | verdict |"


def claim_rows(manifest: Manifest, claim: Claim, results: Sequence[LineResult]) -> list[str]:
    rows = [HEADER, "|" + "---|" * 10]
    for i, (line, r) in enumerate(zip(claim.lines, results, strict=True)):
        cells = [f"{claim.id}.{i + 1}", line.setting, quantity(line), expectation(line), effect(line, r),
                 number(r.p_holm), number(r.mde), f"{r.pairs}/{line.min_seeds}", tuned(r.lr_tuned),
                 f"**{r.verdict}**"]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return rows


def machines_sentence(sweeps: Sequence[str], devices: Devices) -> str | None:
    """Which devices ran each sweep's counted runs, by device; None before any ran."""
    by_device: dict[str, list[str]] = {}
    for n in sweeps:
        for name, count in devices.get(n, ()):
            by_device.setdefault(name, []).append(f"`{n}` ({count} run{'s' * (count != 1)})")
    if not by_device:
        return None
    mixed = any(len(devices.get(n, ())) > 1 for n in sweeps)
    return ("Machines: " + "; ".join(f"{name} ran {', '.join(ran)}" for name, ran in by_device.items()) + "."
            + (" A sweep that ran on several CPUs compares runs that would differ at float rounding if "
               "trained on one (training is bit-identical on one machine, not across CPU types; "
               "docs/protocol.md, Resuming)." if mixed else ""))


IN_PROGRESS = "in progress, not final"  # said of a table whose sweep is unfinished


@dataclass(frozen=True)
class BoardState:
    """A table-only claim's leaderboard, built by the leaderboard renderer from the records its sweep has
    so far: final once `plan` (the sweep's runs, counted as `--plan` counts them) is complete; until then
    its rows stand on fewer seeds than planned, and the text says how far the sweep is."""

    plan: SweepPlan

    def summary(self) -> str:
        """The claim's cell in VERDICT.md's summary table."""
        return "table" if self.plan.complete else f"table, {IN_PROGRESS}"

    def words(self) -> str:
        """Where the table comes from and, while the sweep is unfinished, how far it is."""
        plan = self.plan
        source = "generated from the sweep's records by the leaderboard renderer"
        if plan.complete:
            return source
        runs = f"{plan.runs_min}" if plan.runs_min == plan.runs_max else f"{plan.runs_min}-{plan.runs_max}"
        return (f"{source}; {IN_PROGRESS}: {plan.finished} of {runs} runs trained, "
                f"{plan.scored_finished} of {plan.scored} scored")


def claim_section(manifest: Manifest, claim: Claim, results: Sequence[LineResult], board: BoardState | None,
                  spent: float, devices: Devices, level: str = "##", here: str = ".") -> list[str]:
    """A claim: source and text, its lines as a table and as sentences, a link to its figure when it has
    one, its budget (and the wall hours its sweeps' records took), cut and GPU plan, and the devices its
    sweeps' runs trained on. `here`: the folder of the document the section goes in, relative to the
    manifest's folder, which the figure's link is relative to."""
    out = [f"{level} {claim.id}: {claim.source}", "", f"Claim: {claim.claim}", ""]
    if claim.lines:
        out += claim_rows(manifest, claim, results)
        out += [""] + [f"- {claim.id}.{i + 1} {sentence(claim, line, r)}"
                       for i, (line, r) in enumerate(zip(claim.lines, results, strict=True))]
        out.append("")
    if has_figure(results):
        png = f"{figure_stem(claim)}.png"
        out += [f"Figure: [{display_path(manifest, png)}]({posixpath.relpath(png, here)})", ""]
    if claim.leaderboard is not None and claim.sweep is not None:
        command = sweep_command(manifest, claim.sweep)
        state = board.words() if board else f"pending: no finished record yet; run `{command}`"
        out += [f"Table: `{display_path(manifest, claim.leaderboard)}` ({state}).", ""]
    sweeps = manifest.claim_sweeps(claim)
    owners = manifest.sweep_owners(manifest.claims)
    shared = [n for n in sweeps if owners[n] != claim.id]
    reads = f"; it reads {', '.join(f'`{n}` ({owners[n]})' for n in shared)}, counted there" if shared else ""
    out += [f"Budget: {claim.budget_h:g} h on {manifest.machine}; spent so far {spent:.1f} h (its sweeps' "
            f"records: training and scoring time over each sweep's jobs){reads}. Cut: {claim.cut}", "",
            f"GPU: {claim.gpu}", "", "Sweeps:", ""]
    for name in sweeps:
        out.append(f"- `{name}`: `{sweep_command(manifest, name)}`")
    ran_on = machines_sentence(sweeps, devices)
    return [*out, "", *([ran_on, ""] if ran_on else [])]


def counts(results: Sequence[LineResult]) -> str:
    found = [(v, sum(r.verdict == v for r in results)) for v in VERDICTS]
    return ", ".join(f"{n} {v}" for v, n in found if n) or "no lines"


def verdict_document(manifest: Manifest, claims: Sequence[Claim], results: dict[str, list[LineResult]],
                     boards: dict[str, BoardState | None], spent: dict[str, float], devices: Devices) -> str:
    """results/VERDICT.md."""
    total = sum(c.budget_h for c in claims)
    all_lines = [r for c in claims for r in results[c.id]]
    out = ["# Verdict: the seed papers' claims at CPU scale", "",
           f"Generated by `python -m bench verdict` from `{display_path(manifest, manifest.path.name)}` "
           "(preregistered claims, lines and sweeps) and the run records the sweeps write; never edited by "
           "hand. `python -m bench verdict --check` verifies it, `--plan` estimates the compute, "
           "`--run [--claims C1,C5] [--jobs N]` runs or resumes the sweeps and regenerates "
           "(docs/verdict.md).", "",
           f"Rule. {RULE}", "",
           f"Budget: {total:g} h over the claims (stated budget {manifest.total_h:g} h) on "
           f"{manifest.machine}; spent so far {sum(spent.values()):.1f} h (the finished runs' records: "
           "training and scoring time over each sweep's jobs; a sweep several claims read counts once). "
           f"GPU: {manifest.gpu}", "",
           f"State: {len(claims)} claims, {len(all_lines)} lines: {counts(all_lines)}.", "",
           "| claim | source | lines | budget (h) | spent (h) |", "|---|---|---|---|---|"]
    for c in claims:
        board = boards.get(c.id)
        state = counts(results[c.id]) if c.lines else board.summary() if board else "table, pending"
        out.append(f"| {c.id} | {c.source} | {state} | {c.budget_h:g} | {spent[c.id]:.1f} |")
    out.append("")
    for c in claims:
        out += claim_section(manifest, c, results[c.id], boards.get(c.id), spent[c.id], devices)
    return "\n".join(out).rstrip("\n") + "\n"


def claim_document(manifest: Manifest, claim: Claim, results: Sequence[LineResult],
                   board: BoardState | None, spent: float, devices: Devices) -> str:
    """A claim's own table file (`table` in the manifest)."""
    source = display_path(manifest, manifest.path.name)
    assert claim.table is not None
    here = posixpath.dirname(claim.table) or "."
    lines = [f"<!-- generated by `python -m bench verdict` from {source}; do not edit -->", "",
             *claim_section(manifest, claim, results, board, spent, devices, level="#", here=here)]
    return "\n".join(lines).rstrip("\n") + "\n"
