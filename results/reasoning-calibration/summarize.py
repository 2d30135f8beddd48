"""Summarize the reasoning-suite calibration from its run records: README.md (per task and scheme, the
accuracy mean over init seeds with a 95 % CI) and figures/val-loss.{png,svg} (held-out loss per task
vs step, the learning curves). Usage from the repository root:
    .venv/bin/python results/reasoning-calibration/summarize.py
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.core import plotting
from bench.core.files import write_text
from bench.report.stats import summarize

HERE = Path(__file__).resolve().parent
SCHEMES = {"gamma0.5": "γ = 0.5", "gamma1.0": "γ = 1.0", "normal": "normal (σ = 0.02)"}
# (task, metric, what it tells); chance levels come from the records (the tasks' metadata.chance).
METRICS = [
    ("anchor_seen", "acc", "trained pairs, held-out key positions"),
    ("anchor_unseen", "acc_inferential", "unseen pair (4,3): composition"),
    ("anchor_unseen", "acc_symmetric", "unseen pair (4,3): mirrored trained answer (diagnostic)"),
    ("rsnmem", "acc_memory", "memory anchors: trained combinations recalled"),
    ("rsnmem", "acc_reasoning_train", "reasoning anchors, trained pairs, held-out positions"),
    ("rsnmem", "acc_reasoning_heldout", "reasoning anchors, never-trained pairs"),
    ("deduction_chain", "acc", "proof's rule lookup, hops 1-5"),
    *[("deduction_chain", f"acc_hop{h}", f"{h} hops" + (" (longer than trained)" if h > 3 else ""))
      for h in range(1, 6)],
    ("modadd", "acc", "held-out operand pairs"),
    ("recall", "acc", "held-out bindings, 6 pairs (as trained)"),
    ("recall", "acc_long", "held-out bindings, 10 pairs (longer than trained)"),
]
Z = 1.959963984540054


SOURCE = {"anchor_seen": "anchor", "anchor_unseen": "anchor", "rsnmem": "rsnmem",
          "deduction_chain": "deduction-chain", "modadd": "modadd", "recall": "recall"}
CURVES = [("anchor_seen", "acc"), ("anchor_unseen", "acc_inferential"), ("rsnmem", "acc_memory"),
          ("rsnmem", "acc_reasoning_train"), ("rsnmem", "acc_reasoning_heldout"), ("deduction_chain", "acc"),
          ("modadd", "acc"), ("recall", "acc"), ("recall", "acc_long")]
COLORS = {"gamma0.5": "C0", "gamma1.0": "C1", "normal": "C2"}


def load() -> dict[str, dict[str, dict[int, dict]]]:
    """{training source: {scheme: {seed: record}}} of the finished per-task runs, named
    <source>-<scheme>-s<seed>."""
    runs: dict[str, dict[str, dict[int, dict]]] = {}
    for path in sorted((HERE / "runs").glob("*-s[0-9]/record.json")):
        stem, seed = path.parent.name.rsplit("-s", 1)
        scheme = next((k for k in SCHEMES if stem.endswith(f"-{k}")), None)
        if scheme is None:
            continue
        source = stem.removesuffix(f"-{scheme}")
        record = json.loads(path.read_text(encoding="utf-8"))
        if source in SOURCE.values() and record.get("status") == "ok" and record.get("eval"):
            runs.setdefault(source, {}).setdefault(scheme, {})[int(seed)] = record
    return runs


def cell(records: dict[int, dict], task: str, metric: str, chance: float) -> tuple[str, float | None, bool]:
    """'mean [lo, hi] (seeds)' (t interval over seeds; one seed: the binomial ±1.96 stderr), the
    chance-normalized mean, and whether the interval lies above chance."""
    scored = [r["eval"][task] for r in records.values() if metric in r["eval"].get(task, {})]
    if not scored:
        return "—", None, False
    values = [t[metric] for t in scored]
    if len(values) == 1:
        half = Z * (scored[0].get(f"{metric}_stderr") or 0.0)
        m, lo, hi = values[0], values[0] - half, values[0] + half
    else:
        summary = summarize(values)
        m, lo, hi = summary.mean, summary.ci_low, summary.ci_high
    return f"{m:.3f} [{lo:.3f}, {hi:.3f}] ({len(values)})", (m - chance) / (1 - chance), lo > chance


def chance_of(records: list[dict], task: str, metric: str) -> float | None:
    """The chance level a record stores for `task` (one number, or one per metric)."""
    for r in records:
        chance = r.get("eval", {}).get(task, {}).get("chance")
        if isinstance(chance, dict):
            chance = chance.get(metric, chance.get("acc"))
        if isinstance(chance, (int, float)):
            return float(chance)
    return None


def table(runs: dict[str, dict[str, dict[int, dict]]]) -> list[str]:
    head = "| task | metric | chance | " + " | ".join(SCHEMES.values()) + " | best normalized | learned |"
    lines = [head, "|" + "---|" * (len(SCHEMES) + 5)]
    for task, metric, what in METRICS:
        by_scheme = runs.get(SOURCE[task], {})
        chance = chance_of([r for seeds in by_scheme.values() for r in seeds.values()], task, metric)
        if chance is None:
            lines.append(f"| {task} | {metric}: {what} | — |" + " — |" * (len(SCHEMES) + 2))
            continue
        cells, best = [], None
        for scheme in SCHEMES:
            text, norm, above = cell(by_scheme.get(scheme, {}), task, metric, chance)
            cells.append(text)
            if norm is not None and (best is None or norm > best[0]):
                best = (norm, above)
        verdict = ("n/a" if "symmetric" in metric else "—" if best is None
                   else "yes" if best[0] >= 0.2 and best[1] else "no")
        lines.append(f"| {task} | {metric}: {what} | {chance:.3f} | " + " | ".join(cells)
                     + f" | {'—' if best is None else f'{best[0]:.3f}'} | {verdict} |")
    return lines


def walls(runs: dict[str, dict[str, dict[int, dict]]]) -> list[str]:
    lines = ["| run | steps | tokens | train wall s | scoring wall s | threads |",
             "|---|---|---|---|---|---|"]
    for source, by_scheme in sorted(runs.items()):
        for scheme in SCHEMES:
            for seed, r in sorted(by_scheme.get(scheme, {}).items()):
                t, ev = r["train"], r.get("evaluation", {})
                lines.append(f"| {source} {scheme} s{seed} | {t['steps']} | {t['tokens']:,} | "
                             f"{t['wall_s']:.0f} | {ev.get('wall_s', float('nan')):.0f} | "
                             f"{r['env'].get('threads', '?')} |")
    return lines


def figure(runs: dict[str, dict[str, dict[int, dict]]]) -> None:
    """Accuracy vs step (eval.every points and the final score) per task metric, one line per run."""
    fig, axes = plotting.figure(ncols=3, nrows=3, width=3.6, height=2.8)
    for ax, (task, metric) in zip(axes, CURVES, strict=True):
        for scheme, label in SCHEMES.items():
            for i, (_, r) in enumerate(sorted(runs.get(SOURCE[task], {}).get(scheme, {}).items())):
                points = [(p["step"], p[task][metric]) for p in r["train"].get("eval_curve", [])
                          if metric in p.get(task, {})]
                points.append((r["train"]["steps"], r["eval"][task][metric]))
                ax.plot(*zip(*points, strict=True), marker=".", color=COLORS[scheme], alpha=0.8,
                        label=label if i == 0 else None)
        ax.set_title(f"{task} {metric}", fontsize=8)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("accuracy")
    axes[0].legend(fontsize=7)
    plotting.save(fig, HERE / "figures" / "accuracy-curves")


def mixture() -> list[str]:
    """The one run of the whole-suite mixture (`--preset reasoning`) at the same budget, if present."""
    path = HERE / "runs" / "reasoning-gamma0.5-s0" / "record.json"
    if not path.is_file():
        return []
    r = json.loads(path.read_text(encoding="utf-8"))
    lines = ["The whole suite in one run (`python -m bench run --preset reasoning --method gamma --gamma",
             f"0.5`, {r['train']['steps']} steps of 16 x 128 tokens on the mixture, {r['train']['tokens']:,} "
             f"tokens, {r['train']['wall_s']:.0f} s training): each task gets a fifth of the budget.", "",
             "| task | metric | chance | accuracy ± 1.96 stderr |", "|---|---|---|---|"]
    for task, metric, _ in METRICS:
        t, chance = r["eval"].get(task, {}), chance_of([r], task, metric)
        if metric in t and chance is not None:
            lines.append(f"| {task} | {metric} | {chance:.3f} | {t[metric]:.3f} ± "
                         f"{Z * (t.get(metric + '_stderr') or 0):.3f} |")
    return [*lines, ""]


def main() -> None:
    runs = load()
    done = sum(len(seeds) for by_scheme in runs.values() for seeds in by_scheme.values())
    text = [
        "# Reasoning-suite calibration",
        "",
        "One run per task: `configs/<task>.toml` (preset `reasoning`, a 4-layer d=128 decoder, trained on",
        "that task's training split alone, one example per row, loss on the answer tokens, about 2.6M",
        "training tokens — about 5 CPU-minutes at one thread), then the task scored on all its 2,000",
        "documents (per kind for rsnmem and recall). Three schemes (`--method gamma --gamma 0.5`,",
        "`--method gamma --gamma 1.0`, `--method normal`) x init seeds 0, 1, 2; data seed 0 (the same rows",
        "in the same order for every run). Commands: `run.sh` (one run at a time, resumable, every seed-0",
        "run first); this file and the figure: `summarize.py`.",
        "",
        f"Runs finished: {done} of 45.",
        "",
        "Cells: accuracy, mean over init seeds with a 95 % CI (t interval over seeds; with one seed the",
        "binomial interval ±1.96 stderr over the 2,000 documents), and the number of seeds. *Learned*: the",
        "best scheme's chance-normalized mean, (acc − chance)/(1 − chance), is ≥ 0.2 and its interval lies",
        "above chance.",
        "",
        *table(runs),
        "",
        *mixture(),
        "Wall times (shared 2-core machine under load from other jobs; one thread per run):",
        "",
        *walls(runs),
        "",
        "Learning curves: `figures/accuracy-curves.png` — accuracy on each task's full test documents every",
        "`eval.every` steps and at the end, one line per run. Each record also holds the held-out validation",
        "loss of the answer tokens every 100 steps (`train.val_curve`).",
        "",
    ]
    write_text(HERE / "README.md", "\n".join(text))
    if done:
        figure(runs)


if __name__ == "__main__":
    main()
