"""One model trained by several processes: torchrun + DistributedDataParallel.

``fgsm-studio-cli train ... --ddp`` under ``torchrun --nproc_per_node N`` makes
one ``DistContext`` from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR/PORT), joins the process group (NCCL when every rank has a CUDA GPU,
gloo otherwise) and hands the context to ``core.training.loop.train``, which

* wraps the model in ``DistributedDataParallel`` for the training passes;
* takes each epoch's batches from a ``DistributedSampler`` (the same seeded
  permutation on every rank, each rank a disjoint shard; ``set_epoch`` reshuffles);
* makes each batch's FGSM example from its own shard (the clean backward runs
  under ``no_sync``, so a WR_FGSM step all-reduces once, after the FGSM pass);
* validates on every rank (the weights are identical after each step, so every
  rank reaches the same early-stopping decision without talking), and saves,
  logs and writes the card on rank 0 only.

Convention: ``--batch-size`` is per rank, so the global batch is
``batch_size * world_size``; the learning rate is not scaled for you (the linear
scaling rule, lr * world_size, is a choice: pass the ``--lr`` you want).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # torch is imported where it is used: `--help` stays fast
    import torch
    from torch import nn


class DistributedError(RuntimeError):
    """The process group could not be set up; the message is meant for the user."""


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, preference: str = "auto") -> str:
        """The device this rank trains on: its own GPU under NCCL, else the preference."""
        if self.backend == "nccl":
            return f"cuda:{self.local_rank}"
        return "cpu" if self.active and preference == "auto" else preference

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` wrapped for data-parallel training (``model`` itself when not active)."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.local_rank] if self.backend == "nccl" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def shard(self, n: int, batch_size: int, *, epoch: int, seed: int) -> Iterator[torch.Tensor]:
        """This rank's index batches for one epoch (a DistributedSampler's shard)."""
        import torch
        from torch.utils.data import Dataset, DistributedSampler

        indices = cast("Dataset[int]", range(n))  # a sampler only needs len()
        sampler: DistributedSampler[int] = DistributedSampler(
            indices, num_replicas=self.world_size, rank=self.rank, shuffle=True, seed=seed
        )
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler), dtype=torch.long)
        for i in range(0, len(order), batch_size):
            yield order[i : i + batch_size]

    def no_sync(self, net: nn.Module) -> AbstractContextManager:
        """DDP's ``no_sync()``: the next backward keeps its gradients local."""
        from torch.nn.parallel import DistributedDataParallel

        return cast(DistributedDataParallel, net).no_sync()

    def barrier(self) -> None:
        if self.active:
            import torch.distributed

            torch.distributed.barrier()


SINGLE = DistContext()


def init_from_env(prefer_nccl: bool = True) -> DistContext:
    """Join the process group torchrun describes in the environment."""
    import torch
    import torch.distributed

    missing = [
        v for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ
    ]
    if missing:
        raise DistributedError(
            "--ddp needs to be started by torchrun (e.g. torchrun --nproc_per_node 2 "
            f"-m fgsm_studio.core.cli train ... --ddp); missing {', '.join(missing)}."
        )
    try:
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
    except ValueError as exc:
        raise DistributedError(
            f"torchrun's RANK/WORLD_SIZE/LOCAL_RANK are not numbers: {exc}"
        ) from exc
    use_nccl = prefer_nccl and torch.cuda.is_available() and torch.cuda.device_count() > local_rank
    backend = "nccl" if use_nccl else "gloo"
    if use_nccl:
        torch.cuda.set_device(local_rank)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistContext(rank=rank, world_size=world, local_rank=local_rank, backend=backend)


def shutdown(ctx: DistContext) -> None:
    import torch.distributed

    if ctx.active and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
