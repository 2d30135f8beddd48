"""`python -m bench inits`: the scheme registry, and with --check the coordinate (scale) check."""

from __future__ import annotations

import argparse
from typing import Any

from bench.cli.common import int_list
from bench.config import names
from bench.core.errors import BenchError


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    p.set_defaults(func=cmd)


def cmd(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from bench.model.schemes import SCHEMES

    if not args.check:
        rows = [(s.name, s.formula, s.source, ", ".join(s.knobs) or "-") for s in SCHEMES.values()]
        print(tabulate(rows, headers=["scheme", "rule", "source", "knobs"], tablefmt="github"))
        print("\nEvery scheme: norm gains 1, biases 0 (torch-default: linear biases U(±1/√d_in), as in "
              "PyTorch). A parameter no rule claims is an error. Interpretations of each source: "
              "docs/schemes.md.")
        return 0
    return run_scale_check(args)


def run_scale_check(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from bench.config import build_config, dotted
    from bench.data.corpus import load_corpus
    from bench.model.schemes import SCHEMES
    from bench.train.scale_check import at_width, check_scheme, flags

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
    for cfg in configs:
        for width in widths:
            at_width(cfg, width)  # every width is checked before data is loaded
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
