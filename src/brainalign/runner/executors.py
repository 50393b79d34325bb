"""Where the groups of a run execute, behind one small interface: `Executor.submit` then `Executor.wait`.

`LocalExecutor`: a pool of worker processes sized to the machine (one worker: a thread of this process, so
models and benchmarks registered here are visible). `SlurmExecutor`: one SLURM array task per group via
``submitit``, at most ``max_concurrent`` at once, with CPU/GPU/memory requests, a log per job in ``folder`` and
requeueing on preemption or timeout (the job resubmits itself; the results store makes it resume).

>>> executor = make_executor(kind="local", workers=1)
>>> handles = executor.submit(pow, [(2, 3), (3, 2)])
>>> executor.wait(handles), [h.result() for h in handles]
([None, None], [8, 9])
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from brainalign.core.errors import InvalidInputError


class Handle(Protocol):
    """A submitted task: `concurrent.futures.Future` and `submitit.Job` both are."""

    def done(self) -> bool: ...

    def result(self) -> Any: ...


class Executor(ABC):
    """Runs ``fn(*args)`` for each ``args`` of a list of tasks; `wait` polls until all are done."""

    poll_s: float = 1.0

    @abstractmethod
    def submit(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> list[Handle]:
        """Start every task; one handle per task, in order."""

    def wait(self, handles: Sequence[Handle], tick: Callable[[], None] | None = None) -> list[str | None]:
        """Block until every handle is done, calling ``tick`` every ``poll_s`` seconds; per handle ``None`` or the
        error message of a task that failed. Interrupting (Ctrl-C) cancels what has not started."""
        try:
            while not all(h.done() for h in handles):
                if tick is not None:
                    tick()
                time.sleep(self.poll_s)
        except KeyboardInterrupt:
            self.cancel(handles)
            raise
        finally:
            self.close()
        return [_error(h) for h in handles]

    def cancel(self, handles: Sequence[Handle]) -> None:
        """Stop what has not finished (rows already stored stay)."""
        for handle in handles:
            cancel = getattr(handle, "cancel", None)
            if cancel is not None:
                cancel()

    @abstractmethod
    def close(self) -> None:
        """Release the workers this executor holds."""


def _error(handle: Handle) -> str | None:
    try:
        handle.result()
    except Exception as error:  # a failed group is reported, the run goes on
        return f"{type(error).__name__}: {str(error).strip()[-2000:]}"
    return None


def available_cpus() -> int:
    """CPU cores this process may use (its affinity mask, else the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _limit_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


class LocalExecutor(Executor):
    """``workers`` processes (default: one per available core), each using ``cores // workers`` torch threads;
    ``workers=1`` runs tasks one after another in a thread of this process."""

    def __init__(self, workers: int | None = None, poll_s: float = 0.5):
        if workers is not None and workers < 1:
            raise InvalidInputError(f"workers must be >= 1; got {workers}")
        self.workers = workers or available_cpus()
        self.poll_s = poll_s
        self._pool: concurrent.futures.Executor | None = None

    def submit(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> list[Handle]:
        workers = min(self.workers, max(len(tasks), 1))
        if workers == 1:
            self._pool = concurrent.futures.ThreadPoolExecutor(1)
        else:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"), initializer=_limit_threads,
                initargs=(max(1, available_cpus() // workers),))
        return [self._pool.submit(fn, *args) for args in tasks]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class SlurmExecutor(Executor):
    """One SLURM array task per group through ``submitit``; logs in ``folder/<job id>_<task>_log.{out,err}``.

    ``max_concurrent`` caps the running array tasks; ``cpus_per_task``, ``gpus_per_node``, ``mem_gb`` and
    ``timeout_min`` are the requests; ``partition`` None uses the cluster's default. A task killed for
    preemption or timeout is requeued (submitit's checkpointing) and skips the cells it already stored.
    """

    def __init__(self, folder: str | Path = "brainalign-slurm", *, partition: str | None = None,
                 max_concurrent: int = 8, cpus_per_task: int = 1, gpus_per_node: int = 0, mem_gb: float = 4,
                 timeout_min: int = 60, poll_s: float = 2.0):
        try:
            import submitit
        except ImportError as error:
            raise InvalidInputError("the SLURM executor needs submitit: pip install 'brainalign[slurm]'") from error

        if max_concurrent < 1:
            raise InvalidInputError(f"max_concurrent must be >= 1; got {max_concurrent}")
        self.folder = Path(folder)
        self.poll_s = poll_s
        self._executor = submitit.AutoExecutor(folder=self.folder / "%j", cluster="slurm")
        self._executor.update_parameters(
            name="brainalign", slurm_array_parallelism=max_concurrent, cpus_per_task=cpus_per_task,
            gpus_per_node=gpus_per_node, mem_gb=mem_gb, timeout_min=timeout_min,
            **({"slurm_partition": partition} if partition else {}))

    def close(self) -> None:
        """Nothing to release: the cluster owns the jobs."""

    def submit(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> list[Handle]:
        job = Requeueable(fn)
        with self._executor.batch():
            return [self._executor.submit(job, *args) for args in tasks]


class Requeueable:
    """``fn`` as a submitit job that requeues itself (same arguments) when SLURM preempts or times it out."""

    def __init__(self, fn: Callable[..., Any]):
        self.fn = fn

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)

    def checkpoint(self, *args: Any) -> Any:
        """Called by submitit on preemption/timeout: resubmit unchanged (finished cells are in the store)."""
        import submitit

        return submitit.helpers.DelayedSubmission(self, *args)


EXECUTORS = {"local": LocalExecutor, "slurm": SlurmExecutor}


def make_executor(kind: str = "local", **options: Any) -> Executor:
    """An executor by name (``local`` or ``slurm``) with its options (``workers`` only applies to local)."""
    if kind not in EXECUTORS:
        raise InvalidInputError(f"executor kind {kind!r} is not one of {sorted(EXECUTORS)}")
    if kind == "local":
        unknown = sorted(set(options) - {"workers", "poll_s"})
        if unknown:
            raise InvalidInputError(f"option(s) {unknown} do not apply to the local executor (valid: workers)")
    elif "workers" in options:
        raise InvalidInputError("workers applies to the local executor; for slurm set max_concurrent")
    return EXECUTORS[kind](**options)
