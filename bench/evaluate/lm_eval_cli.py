"""lm-eval's own command line with the `bench` model (docs/evaluation.md).

    python -m bench lm-eval --model bench --model_args run=results/runs/<run-id> --tasks anchor_seen
    initbench-lm-eval --model bench --model_args run=results/runs/<run-id> --tasks anchor_seen --limit 50

The launcher defaults `--device auto` (lm-eval's CLI default is `cuda:0`), `--batch_size 32` (its default
is 1), `--include_path` to the project's `tasks/` folder, and indexes only the included tasks (pass
`--stock-tasks` to also index lm-eval's ~14k stock tasks, ~10 s). Model arguments (`run=...,batch_size=16,
device=cpu,max_length=...`) win over the CLI's `--batch_size` / `--device`. It runs inside
`bench.evaluate.suite.eval_environment` (offline hub, no request caches), as in-process suites do.
"""

from __future__ import annotations

import contextlib
import sys

from bench.core.errors import BenchError
from bench.evaluate import catalog

# Importing the adapter also registers the `bench` model with lm-eval: that is what `--model bench` finds.
from bench.evaluate.adapter import DEFAULT_BATCH_SIZE
from bench.evaluate.suite import eval_environment, only_included_tasks


def lm_eval_cli(argv: list[str] | None = None) -> int:
    """lm-eval's own command line with the `bench` model registered (importing this module did that).

    `argv` as for `lm_eval` without the program name (`run` may be left out, as with `lm_eval`). Added
    defaults: `--include_path <project tasks/>` (every subcommand), and for `run` `--device auto` and
    `--batch_size 32`. Only included tasks are indexed unless `--stock-tasks` is given.
    Returns the exit status (a BenchError, or lm-eval's ValueError for e.g. an unknown task, prints one line
    and gives 2).
    """
    from lm_eval.__main__ import cli_evaluate

    args = list(sys.argv[1:] if argv is None else argv)
    stock = "--stock-tasks" in args
    args = [a for a in args if a != "--stock-tasks"]
    if args and args[0] not in ("run", "ls", "validate", "-h", "--help"):
        args.insert(0, "run")  # lm-eval's legacy form: options without a subcommand
    given = {a.split("=", 1)[0] for a in args if a.startswith("-")}
    if args and args[0] in ("run", "ls", "validate") and not given & {"-h", "--help"}:
        if "--include_path" not in given:
            with contextlib.suppress(BenchError):
                args += ["--include_path", str(catalog.tasks_dir())]
        if args[0] == "run" and "--device" not in given:
            args += ["--device", "auto"]
        if args[0] == "run" and not given & {"--batch_size", "-b"}:
            args += ["--batch_size", str(DEFAULT_BATCH_SIZE)]
    saved = sys.argv
    sys.argv = ["lm-eval", *args]
    try:
        with eval_environment(), contextlib.nullcontext() if stock else only_included_tasks():
            cli_evaluate()
    except (BenchError, ValueError) as exc:  # lm-eval reports user mistakes as ValueError
        print(f"lm-eval: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    finally:
        sys.argv = saved
    return 0
