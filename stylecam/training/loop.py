"""The training loop every network shares: progress, checkpoints, SIGINT/SIGTERM, resume, NaN guard, samples.

A :class:`Task` says what one step computes; :func:`train` runs it. Checkpoints hold the model, optimiser,
scheduler and step; with deterministic batches (see :mod:`stylecam.training.data`) a resumed run reproduces
the uninterrupted one. Under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in
DistributedDataParallel and only rank 0 writes files.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import torch
from torch import nn
from tqdm import tqdm

from stylecam.errors import StylecamError, UsageError
from stylecam.log import is_quiet, notice
from stylecam.nets.transformer import TransformerConfig

CHECKPOINT_NAME = "checkpoint.pt"


class TrainingInterrupted(StylecamError):
    """SIGINT or SIGTERM arrived; the checkpoint was saved."""

    exit_code = 130


class TrainingDiverged(StylecamError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""

    exit_code = 70


class Task(Protocol):
    """What :func:`train` needs from a network type."""

    model: nn.Module

    def losses(self, model: nn.Module, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """Weighted loss terms for one batch (any randomness seeded from ``step``); :func:`train` sums them."""

    def samples(self, step: int) -> Any:
        """Write sample stylizations of the fixed validation photos (rank 0 only)."""

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        """The trainable parameters as optimiser groups, each with its learning rate."""


@dataclass
class LoopSettings:
    """How long to train and how often to save."""

    iterations: int
    lr: float
    lr_decay_every: int = 0
    lr_decay: float = 0.5
    checkpoint_every: int = 500
    sample_every: int = 500
    log_every: int = 10
    run_dir: Path = Path("runs/run")
    resume: bool = False
    new_schedule: bool = False  # on resume: the lr schedule above from the resumed step on, Adam's moments kept
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    bf16: bool = False
    max_seconds: float | None = None  # stop early (and finish normally) after this much time in this run


@dataclass
class Distributed:
    """This process's place in a torchrun job (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def bf16_supported(device: torch.device) -> bool:
    """Whether bfloat16 autocast is fast here: CUDA with bf16, or a CPU with AVX-512 BF16 or AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False


def init_distributed(device: torch.device) -> Distributed:
    """Join the torchrun process group when ``WORLD_SIZE`` > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Distributed(dist.get_rank(), dist.get_world_size())


class _StopFlag:
    """Turns SIGINT/SIGTERM into a flag checked between steps, so a checkpoint can be written first."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.signal = signum

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler, step: int, history: list[dict[str, float]],
                    wall_seconds: float) -> None:
    """Write a resumable checkpoint atomically (``wall_seconds``: training time so far, over all resumes; a
    Johnson network's architecture goes with it, see :func:`checkpoint_architecture`)."""
    tmp = path.with_name(f".{path.name}.tmp")
    architecture = {"config": model.config.to_dict()} if isinstance(getattr(model, "config", None),
                                                                   TransformerConfig) else {}
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "step": step, "history": history,
                "wall_seconds": wall_seconds, **architecture}, tmp)
    os.replace(tmp, path)


def checkpoint_architecture(run_dir: Path) -> dict[str, Any] | None:
    """The network configuration saved in ``run_dir``'s checkpoint; None without one (or from before they were
    saved)."""
    path = run_dir / CHECKPOINT_NAME
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=True).get("config")


def _load_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                     scheduler: torch.optim.lr_scheduler.LRScheduler) -> tuple[int, list[dict[str, float]], float]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    saved = state.get("config")
    if saved is not None and isinstance(getattr(model, "config", None), TransformerConfig):
        differ = {k: (v, saved.get(k)) for k, v in model.config.to_dict().items() if saved.get(k) != v}
        if differ:
            raise UsageError(f"{path} holds a network with " + ", ".join(
                f"{k}={theirs!r} (this run: {ours!r})" for k, (ours, theirs) in differ.items())
                + "; resume with the options it was started with")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return int(state["step"]), list(state["history"]), float(state.get("wall_seconds", 0.0))


def _step_schedule(optimizer: torch.optim.Optimizer, settings: LoopSettings) -> torch.optim.lr_scheduler.StepLR:
    """The settings' schedule from the optimizer's current rates: × ``lr_decay`` every ``lr_decay_every`` steps."""
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=settings.lr_decay_every or 10**12,
                                           gamma=settings.lr_decay)


def _restart_schedule(optimizer: torch.optim.Optimizer, fresh_groups: list[dict[str, Any]],
                      settings: LoopSettings) -> torch.optim.lr_scheduler.StepLR:
    """A new step schedule from now on, with each parameter group's rate as a fresh run would set it; Adam's
    moments stay."""
    for group, fresh in zip(optimizer.param_groups, fresh_groups, strict=True):
        group["lr"] = group["initial_lr"] = fresh["lr"]
    return _step_schedule(optimizer, settings)


@dataclass
class TrainResult:
    """What a finished run reports for the model card."""

    steps: int
    final_losses: dict[str, float]
    wall_seconds: float
    history: list[dict[str, float]]
    schedule_from: int | None = None  # the step this run's lr schedule started at, where it replaced the saved one


def _out_of_time(settings: LoopSettings, started: float, dist: Distributed) -> bool:
    """Whether this run has used its ``max_seconds``; under torchrun all ranks agree (rank 0's clock decides)."""
    if settings.max_seconds is None:
        return False
    expired = time.monotonic() - started >= settings.max_seconds
    if dist.world == 1:
        return expired
    import torch.distributed as torch_dist

    flag = torch.tensor(float(expired), device=settings.device)
    torch_dist.broadcast(flag, src=0)
    return bool(flag.item())


def _mean_recent(history: list[dict[str, float]], last: int = 50) -> dict[str, float]:
    """Mean of each loss term over the last ``last`` steps (the terms of the last step: a warm-up has others)."""
    recent = [h for h in history[-last:] if h.keys() == history[-1].keys()]
    keys = recent[0].keys() if recent else []
    return {k: sum(h[k] for h in recent) / len(recent) for k in keys if k != "step"}


def train(task: Task, batches: Callable[[int], Iterator[torch.Tensor]], settings: LoopSettings,
          dist: Distributed) -> TrainResult:
    """Run ``settings.iterations`` optimisation steps of ``task`` on ``batches(start_step)``.

    ``batches`` is a callable taking the first step and returning an iterator, so that a resumed run starts
    where the checkpoint stopped. With ``settings.max_seconds`` the run ends early, as if finished, when that
    time is up. Raises :class:`TrainingInterrupted` after saving on SIGINT/SIGTERM and
    :class:`TrainingDiverged` (keeping the last good checkpoint) when a loss stops being finite.
    """
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = settings.run_dir / CHECKPOINT_NAME
    model = task.model.to(settings.device)
    optimizer = torch.optim.Adam(task.parameter_groups(settings.lr), lr=settings.lr)
    scheduler = _step_schedule(optimizer, settings)
    step, history, earlier_seconds = 0, [], 0.0
    schedule_from: int | None = None
    saved: int | None = None  # step of the last checkpoint this run wrote or resumed from
    if settings.resume and checkpoint.is_file():
        step, history, earlier_seconds = _load_checkpoint(checkpoint, model, optimizer, scheduler)
        saved = step
        notice(f"resumed from {checkpoint} at step {step}")
        if settings.new_schedule:
            scheduler = _restart_schedule(optimizer, task.parameter_groups(settings.lr), settings)
            schedule_from = step
            notice(f"learning rate {settings.lr:g} from step {step} on")
    elif settings.resume:
        notice(f"no checkpoint in {settings.run_dir}; starting fresh")
    trained: nn.Module = model
    if dist.world > 1:
        trained = nn.parallel.DistributedDataParallel(model)
    log_path = settings.run_dir / "train_log.jsonl"

    def diverged(what: str) -> TrainingDiverged:
        if saved is None:
            return TrainingDiverged(f"{what}; no checkpoint was saved yet (one is written every "
                                    f"{settings.checkpoint_every} steps); try a lower --lr")
        return TrainingDiverged(f"{what}; the last good checkpoint is {checkpoint} (step {saved}; "
                                "resume with --resume, perhaps with a lower --lr)")

    started = time.monotonic()
    data = batches(step)
    with _StopFlag() as stop, tqdm(total=settings.iterations, initial=step, unit="it", desc="train",
                                   disable=is_quiet() or not dist.is_main, dynamic_ncols=True) as progress:
        while step < settings.iterations:
            batch = next(data).to(settings.device)
            with torch.autocast(settings.device.type, dtype=torch.bfloat16, enabled=settings.bf16):
                terms = {name: t.float() for name, t in task.losses(trained, batch, step).items()}
            loss = sum(terms.values(), torch.tensor(0.0, device=settings.device))
            values = {name: t.item() for name, t in terms.items()}
            if not all(math.isfinite(v) for v in values.values()):
                raise diverged(f"loss became {values} at step {step + 1}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            history.append({"step": step, **values, "total": loss.item()})
            progress.update(1)
            progress.set_postfix({k: f"{v:.3g}" for k, v in values.items()}, refresh=False)
            if dist.is_main and step % settings.log_every == 0:
                with log_path.open("a") as log:
                    log.write(json.dumps(history[-1]) + "\n")
            if dist.is_main and step % settings.sample_every == 0:
                task.samples(step)
            timed_out = _out_of_time(settings, started, dist)
            if timed_out:
                notice(f"time limit reached at step {step} of {settings.iterations}")
            finishing = step == settings.iterations or stop.signal is not None or timed_out
            if step % settings.checkpoint_every == 0 or finishing:
                # A finite loss can still come with non-finite gradients: never save such weights as "good".
                if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
                    raise diverged(f"the weights became NaN or infinite at step {step}")
                if dist.is_main:
                    save_checkpoint(checkpoint, model, optimizer, scheduler, step, history,
                                    earlier_seconds + time.monotonic() - started)
                saved = step
            if stop.signal is not None and step < settings.iterations:
                raise TrainingInterrupted(f"stopped at step {step}; resume with --resume (checkpoint {checkpoint})")
            if timed_out:
                break
    return TrainResult(step, _mean_recent(history), earlier_seconds + time.monotonic() - started, history,
                       schedule_from)
