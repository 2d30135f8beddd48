"""`bench sweep --executor submitit`: a sweep's runs as SLURM job arrays through submitit (docs/cluster.md).

Each phase of a sweep (the first runs; each round of LR-grid extensions; the chosen trials' completion;
the other seeds at the chosen LRs) is one job array (`map_array`): with `--lr-grid off` the whole sweep is
one array. Every array task runs exactly the command the local executor's child runs, `python -m bench run
--config <out>/<run-id>.config.json ...`, or with `--gpus-per-run N` the same under
`python -m torch.distributed.run --standalone --nproc_per_node N` (one node, N GPUs, DDP). Its output goes
to `<out>/<run-id>.log` as with the local executor, so skip/resume/failure handling and `sweep.json` are
the local executor's: a task that SLURM kills or that fails is a failed run, and the next invocation of the
same sweep resumes it from its checkpoint. The submitit folder (`--slurm-folder`, default
`<out>/.submitit`) holds the pickled tasks and SLURM's own logs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError

CLUSTERS = ("slurm", "local", "debug")
POLL_S = 1.0  # how often a waiting sweep asks submitit about its array's tasks


def run_command(command: list[str], log: str, env: dict[str, str]) -> tuple[int, float]:
    """One array task: run `command` with its output in `log`; (exit code, wall seconds). Runs on the node
    SLURM picked, from the pickle submitit wrote; imports nothing of bench."""
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        code = subprocess.call(command, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, **env})
    return code, time.perf_counter() - t0


@dataclass
class Submitit:
    """The submitit executor of a sweep: where and how its array tasks run."""

    cluster: str
    folder: Path
    gpus_per_run: int
    cpus_per_run: int
    parallelism: int  # tasks of one array that run at once (SLURM's %N)
    timeout_min: int
    mem_gb: float | None
    slurm: dict[str, Any] = field(default_factory=dict)  # partition, account, qos, constraint, setup

    def command(self, bench_argv: list[str]) -> list[str]:
        """A run's command: `python -m bench run ...`, or under torchrun for several GPUs."""
        if self.gpus_per_run <= 0:
            return [sys.executable, "-m", "bench", *bench_argv]
        return [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node", str(self.gpus_per_run), "-m", "bench", *bench_argv]

    def threads(self) -> int:
        """OMP threads of each process of a run."""
        return max(1, self.cpus_per_run // max(1, self.gpus_per_run))

    def executor(self, name: str) -> Any:
        import submitit

        ex = submitit.AutoExecutor(folder=self.folder, cluster=self.cluster)
        params: dict[str, Any] = {"name": name, "timeout_min": self.timeout_min, "nodes": 1,
                                  "tasks_per_node": 1, "cpus_per_task": self.cpus_per_run}
        if self.gpus_per_run:
            params["gpus_per_node"] = self.gpus_per_run
        if self.mem_gb is not None:
            params["mem_gb"] = self.mem_gb
        if self.cluster == "slurm":
            params["slurm_array_parallelism"] = self.parallelism
            params.update({f"slurm_{k}": v for k, v in self.slurm.items() if v})
        ex.update_parameters(**params)
        return ex

    def run_array(self, name: str, tasks: list[tuple[list[str], Path]],
                  done: Callable[[int, int, float], None], stopped: Callable[[], int | None]) -> None:
        """Submit `tasks` ((command, log) each) as one array and call `done(index, exit code, wall_s)` as
        each ends. When `stopped()` returns a signal number, cancel what is left and report those tasks as
        ended by it (128 + signal: interrupted, resumed by the next invocation)."""
        if not tasks:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        env = {"OMP_NUM_THREADS": str(self.threads())}
        ex = self.executor(name)
        t0 = time.perf_counter()
        jobs = ex.map_array(run_command, [c for c, _ in tasks], [str(log) for _, log in tasks],
                            [env] * len(tasks))
        print(f"submitted {len(jobs)} run(s) as job array {jobs[0].job_id.split('_')[0]} "
              f"({self.cluster}, folder {self.folder})", file=sys.stderr, flush=True)
        pending = dict(enumerate(jobs))
        while pending:
            signum = stopped()
            if signum is not None:
                for i, job in pending.items():
                    job.cancel(check=False)
                    done(i, 128 + signum, time.perf_counter() - t0)
                return
            for i, job in list(pending.items()):
                if not job.done():
                    continue
                del pending[i]
                try:
                    code, wall = job.result()
                except Exception as exc:  # the task itself failed (SLURM killed it, node failure...)
                    code, wall = 1, time.perf_counter() - t0
                    message = str(exc).strip().splitlines()
                    with open(tasks[i][1], "a") as fh:
                        fh.write(f"\nsubmitit: job {job.job_id} failed: "
                                 f"{message[-1] if message else type(exc).__name__}\n")
                done(i, code, wall)
            if pending:
                time.sleep(POLL_S)


def from_args(args: argparse.Namespace, out: Path) -> Submitit | None:
    """The submitit executor `--executor` asks for (None: local child processes), or a one-line refusal."""
    gpus = getattr(args, "gpus_per_run", 0) or 0
    if gpus < 0:
        raise BenchError(f"--gpus-per-run must be >= 0, got {gpus}")
    if getattr(args, "executor", "local") == "local":
        if gpus:
            raise BenchError("--gpus-per-run launches torchrun runs through SLURM: add --executor submitit")
        return None
    try:
        import submitit  # noqa: F401
    except ImportError:
        raise BenchError("--executor submitit needs the submitit package: pip install 'initbench[cluster]' "
                         "(or pip install submitit)") from None
    cluster = args.submitit_cluster
    if cluster == "slurm" and shutil.which("sbatch") is None:
        raise BenchError("--executor submitit: no sbatch on PATH, so this machine cannot submit to SLURM "
                         "(--submitit-cluster local runs the array's tasks as local processes)")
    if args.slurm_time <= 0 or args.cpus_per_run < 1:
        raise BenchError("--slurm-time and --cpus-per-run must be positive")
    slurm = {"partition": args.slurm_partition, "account": args.slurm_account, "qos": args.slurm_qos,
             "constraint": args.slurm_constraint, "setup": list(args.slurm_setup) or None}
    return Submitit(cluster, args.slurm_folder or out / ".submitit", gpus, args.cpus_per_run,
                    args.jobs, args.slurm_time, args.slurm_mem_gb, slurm)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`bench sweep`'s executor options."""
    g = p.add_argument_group("executor (docs/cluster.md)")
    g.add_argument("--executor", choices=("local", "submitit"), default="local",
                   help="local (default): child processes on this machine, --jobs at once; submitit: one "
                        "SLURM job array per sweep phase, --jobs tasks at once")
    g.add_argument("--gpus-per-run", type=int, default=0, metavar="N",
                   help="submitit: each run gets N GPUs of one node and trains under torchrun "
                        "--nproc_per_node N (DDP); 0 (default): one plain process")
    g.add_argument("--cpus-per-run", type=int, default=8,
                   help="submitit: CPUs of each task (default %(default)s)")
    g.add_argument("--slurm-time", type=int, default=24 * 60, metavar="MINUTES",
                   help="submitit: time limit of each task (default %(default)s)")
    g.add_argument("--slurm-mem-gb", type=float, help="submitit: memory of each task")
    g.add_argument("--slurm-partition", help="SLURM partition")
    g.add_argument("--slurm-account", help="SLURM account")
    g.add_argument("--slurm-qos", help="SLURM QOS")
    g.add_argument("--slurm-constraint", help="SLURM constraint, e.g. a GPU type")
    g.add_argument("--slurm-setup", action="append", default=[], metavar="LINE",
                   help="shell line run before each task, e.g. 'module load cuda' (repeatable)")
    g.add_argument("--slurm-folder", type=Path,
                   help="submitit's folder of pickled tasks and SLURM logs (default <out>/.submitit)")
    g.add_argument("--submitit-cluster", choices=CLUSTERS, default="slurm",
                   help="slurm (default); local: submitit's local executor, the array's tasks as processes "
                        "on this machine (for trying a cluster sweep out); debug: in this process")
