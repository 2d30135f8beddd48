"""One run across processes (docs/cluster.md): `torchrun --nproc_per_node N -m bench run ...` trains the
run with DDP (every preset) or FSDP2 (`run --fsdp`, `torch.distributed.fsdp.fully_shard`).

What a distributed run computes is the single-process run: every rank builds the same initial weights from
the init seed (checked by a hash of them, `init_hash`, recorded), draws the step's whole global batch
(`Corpus.batch`, a function of the step only) and trains on its contiguous block of rows
[r·B/N, (r+1)·B/N). The loss each rank back-propagates is its block's summed token loss divided by the
global token count, times N, so that DDP's (and FSDP2's) gradient average is exactly the gradient of the
global batch's mean loss; the logged loss is the all-reduced sum over the global token count. Only the
order of floating-point sums differs from one process (docs/cluster.md states the measured tolerance).

How a run is executed is not part of its config: the world size comes from torchrun's environment
(WORLD_SIZE, RANK, LOCAL_RANK), the strategy from `run --fsdp`; both go to the record's `distributed`
section and the checkpoint, never into `config` (so run ids do not change). Without torchrun (or with one
process) nothing here is used and a run is byte-for-byte the single-process run.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from dataclasses import dataclass
from typing import Any, Literal

import torch

from bench.core.errors import BenchError

Strategy = Literal["none", "ddp", "fsdp2"]
# Rank 0 alone scores, probes and writes after training while the others wait at a barrier; a process
# group's default timeout (30 min) would fail them during a long evaluation. A rank that dies still ends
# the run at once: torchrun stops every worker when one fails.
TIMEOUT = datetime.timedelta(hours=12)
# How each rank takes its slice of the global batch (recorded, and stated in docs/cluster.md).
ROWS = "contiguous"


@dataclass(frozen=True)
class Dist:
    """Where this process stands in the run: `world_size` processes, this one `rank` (`local_rank` on its
    node), training under `strategy` ("none": a plain single-process run)."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    strategy: Strategy = "none"

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def writer(self) -> bool:
        """Whether this process writes files (checkpoints, metrics, record, figures): rank 0 only."""
        return self.rank == 0

    def rows(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous block of the global batch's rows."""
        per = x.shape[0] // self.world_size
        return x[self.rank * per:(self.rank + 1) * per]


SINGLE = Dist()


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise BenchError(f"{name}={value!r} in the environment is not an integer") from None


def from_env(fsdp: bool = False) -> Dist:
    """This process's place, from torchrun's environment; a single process without it. Checks what can be
    checked without any data or model: `--fsdp` needs at least two processes and a torch with FSDP2."""
    world = _env_int("WORLD_SIZE", 1)
    rank, local = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if world < 1 or not 0 <= rank < world:
        raise BenchError(f"WORLD_SIZE={world}, RANK={rank} in the environment is not a valid process group")
    if fsdp:
        if world < 2:
            raise BenchError("--fsdp shards a run across processes: launch it with torchrun "
                             "--nproc_per_node N (N >= 2), e.g. torchrun --nproc_per_node 2 -m bench run "
                             "--fsdp")
        if not fsdp2_available():
            raise BenchError(f"--fsdp needs torch.distributed.fsdp.fully_shard (FSDP2), which torch "
                             f"{torch.__version__} lacks; use DDP (drop --fsdp)")
    if world == 1:
        return SINGLE
    return Dist(world, rank, local, "fsdp2" if fsdp else "ddp")


def fsdp2_available() -> bool:
    try:
        from torch.distributed.fsdp import fully_shard  # noqa: F401
    except ImportError:
        return False
    return torch.distributed.is_available()


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def check(dist: Dist, device: torch.device, batch_size: int, periodic: bool = False) -> None:
    """Refuse, in one line, a distributed run this machine or config cannot do (before anything is built).
    `periodic`: the run probes or scores the model during training (probe.every, eval.every)."""
    if not dist.active:
        return
    if batch_size % dist.world_size:
        raise BenchError(f"train.batch_size {batch_size} is not divisible by the world size "
                         f"{dist.world_size}: every rank takes an equal block of each global batch")
    if dist.strategy == "fsdp2" and periodic:
        raise BenchError("--fsdp: probe.every and eval.every probe and score the whole model on rank 0 "
                         "during training, which FSDP2 shards; set them to 0 or train with DDP (no --fsdp)")
    backend = backend_for(device)
    available = {"gloo": torch.distributed.is_gloo_available(), "nccl": torch.distributed.is_nccl_available()}
    if not available[backend]:
        raise BenchError(f"device {device} needs the {backend} backend, which this torch build lacks")
    if device.type == "cuda" and dist.local_rank >= torch.cuda.device_count():
        raise BenchError(f"LOCAL_RANK {dist.local_rank} but this node has {torch.cuda.device_count()} "
                         "GPU(s): use --nproc_per_node <= the GPU count")


def local_device(dist: Dist, device: torch.device) -> torch.device:
    """A rank's device: its own GPU (cuda:LOCAL_RANK) when training on CUDA, else the CPU."""
    return torch.device("cuda", dist.local_rank) if dist.active and device.type == "cuda" else device


def setup(dist: Dist, device: torch.device) -> None:
    """Join torchrun's process group (env:// rendezvous)."""
    if not dist.active or torch.distributed.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.distributed.init_process_group(backend_for(device), timeout=TIMEOUT)


def teardown(dist: Dist) -> None:
    if dist.active and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def barrier(dist: Dist) -> None:
    if dist.active:
        torch.distributed.barrier()


def init_hash(model: torch.nn.Module) -> str:
    """sha256 over every entry of the state dict (name, dtype, shape, bytes), in name order: equal for equal
    initial weights, whatever process computed it."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return f"sha256:{h.hexdigest()}"


def agree(dist: Dist, value: Any, what: str) -> None:
    """Raise unless every rank holds the same `value` (e.g. the init hash)."""
    if not dist.active:
        return
    values: list[Any] = [None] * dist.world_size
    torch.distributed.all_gather_object(values, value)
    if any(v != values[0] for v in values):
        raise BenchError(f"the ranks disagree on {what}: {values}")


def wrap(dist: Dist, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The module the training forward pass runs through: DDP around `model`, or `model` itself sharded in
    place by FSDP2 (each transformer block, then the root)."""
    if dist.strategy == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        # No buffer sync in the forward pass: the buffers are deterministic functions of the config on
        # every rank, and rank 0's validation forward passes (without the wrapper) wait for no other rank.
        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                       forward_sync_buffers=False)
    if dist.strategy == "fsdp2":
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        mesh = init_device_mesh(device.type, (dist.world_size,))
        for block in getattr(model, "blocks", []):
            fully_shard(block, mesh=mesh)
        fully_shard(model, mesh=mesh)
        return model
    return model


def all_sum(dist: Dist, values: list[float]) -> list[float]:
    """The element-wise sum of `values` over the ranks (in float64)."""
    t = torch.tensor(values, dtype=torch.float64)
    if torch.distributed.get_backend() == "nccl":
        t = t.cuda()
    torch.distributed.all_reduce(t)
    return t.cpu().tolist()


def any_rank(dist: Dist, flag: bool) -> bool:
    """True on every rank when `flag` is true on any (all ranks stop at the same step after a signal)."""
    if not dist.active:
        return flag
    return all_sum(dist, [float(flag)])[0] > 0


def full_norm(norm: torch.Tensor) -> float:
    """A gradient norm as a float; FSDP2's `clip_grad_norm_` returns a DTensor."""
    full = getattr(norm, "full_tensor", None)
    return (full() if full is not None else norm).item()


def _options() -> Any:
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=True)


def full_state(dist: Dist, model: torch.nn.Module, opt: torch.optim.Optimizer
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Model and optimizer state dicts as one process would hold them (collective under FSDP2: every
    rank must call it; rank 0 receives the full dicts, the others empty ones)."""
    if dist.strategy != "fsdp2":
        return model.state_dict(), opt.state_dict()
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict

    return (get_model_state_dict(model, options=_options()),
            get_optimizer_state_dict(model, opt, options=_options()))


def full_model_state(model: torch.nn.Module) -> dict[str, Any]:
    """The FSDP2-sharded model's whole state dict on rank 0 (empty elsewhere; collective)."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    return get_model_state_dict(model, options=_options())


def load_full_state(dist: Dist, model: torch.nn.Module, opt: torch.optim.Optimizer,
                    model_sd: dict[str, Any], opt_sd: dict[str, Any]) -> None:
    """Load what `full_state` returned (every rank read the same checkpoint)."""
    if dist.strategy != "fsdp2":
        model.load_state_dict(model_sd)
        opt.load_state_dict(opt_sd)
        return
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        set_model_state_dict,
        set_optimizer_state_dict,
    )

    options = StateDictOptions(full_state_dict=True)
    set_model_state_dict(model, model_sd, options=options)
    set_optimizer_state_dict(model, opt, opt_sd, options=options)


def info(dist: Dist, device: torch.device, init: str) -> dict[str, Any]:
    """The record's and the checkpoint's `distributed` section."""
    return {"world_size": dist.world_size, "backend": backend_for(device), "strategy": dist.strategy,
            "rows": ROWS, "init_hash": init}


def check_resume(dist: Dist, saved: dict[str, Any] | None, path: Any) -> None:
    """A checkpoint resumes only at the world size and strategy it was written under (a single-process
    checkpoint has no `distributed` entry: world size 1)."""
    world = (saved or {}).get("world_size", 1)
    strategy = (saved or {}).get("strategy", "none")
    if world != dist.world_size:
        raise BenchError(f"--resume {path}: the checkpoint was trained with world size {world}, this launch "
                         f"has {dist.world_size}; resume with torchrun --nproc_per_node {world}"
                         if world > 1 else f"--resume {path}: the checkpoint was trained by one process, "
                         f"this launch has world size {dist.world_size}; resume without torchrun")
    if strategy != dist.strategy:
        raise BenchError(f"--resume {path}: the checkpoint was trained under {strategy}, this launch uses "
                         f"{dist.strategy}; " + ("add --fsdp" if strategy == "fsdp2" else "drop --fsdp"))
