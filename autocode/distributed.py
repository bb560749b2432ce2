"""Embedding and suggestion scoring on a Dask cluster, for corpora past one machine.

``autocode add --cluster ADDRESS`` (or ``--cluster local``) sends the embedding to the
cluster's workers; ``autocode suggest --cluster ...`` sends the embedding and the scoring. The
results come back to this machine and go into the project store as usual, in the command's
transaction. Workers need autocode installed (with the same model); they never touch the
project, which stays on this machine.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Callable

import numpy as np

from . import progress
from .errors import AutocodeError

_client: ContextVar = ContextVar("autocode_dask_client", default=None)
PART_TEXTS = 2048  # texts per task: seconds of work, so scheduling costs little
CONNECT_TIMEOUT = "20s"  # how long to wait for a scheduler before telling the researcher


def active():
    """The Dask client in use, or None when work runs here."""
    return _client.get()


@contextmanager
def using(address: str | None, processes: bool = True, workers: int | None = None):
    """Run embedding and scoring on the cluster at ``address`` ('local': one started on this
    machine) until the block ends; with no address, everything runs here as usual."""
    if not address:
        yield None
        return
    client, cluster = _connect(address, processes, workers)
    token = _client.set(client)
    try:
        yield client
    finally:
        _client.reset(token)
        client.close()
        if cluster is not None:
            cluster.close()


def _connect(address: str, processes: bool, workers: int | None):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise AutocodeError("--cluster needs Dask, which is not installed",
                            "install it with: pip install \"autocode[cluster]\"") from None
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1 if processes else None,
                               processes=processes, dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(address, timeout=CONNECT_TIMEOUT), None
    except (OSError, TimeoutError) as exc:
        raise AutocodeError(f"could not reach the Dask scheduler at {address} ({exc})",
                            "check the address (tcp://HOST:8786) and that the scheduler is running, "
                            "or leave out --cluster to work on this machine") from None


def encode(texts: list[str], model: str | None, batch_size: int, backend: str) -> np.ndarray:
    """Embeddings of ``texts`` computed by the cluster's workers, in the order given."""
    parts = _parts(texts)
    work = partial(_encode_part, model=model, batch_size=batch_size, backend=backend)  # map() has its own batch_size
    futures = active().map(work, [[texts[i] for i in p] for p in parts], pure=False)
    vectors = _gather(futures, [len(p) for p in parts], "Embedding utterances on the cluster")
    if not vectors:
        return np.zeros((0, 0), dtype=np.float32)
    out = np.empty((len(texts), vectors[0].shape[1]), dtype=np.float32)
    for rows, v in zip(parts, vectors):
        out[rows] = v
    return out


def _encode_part(texts: list[str], model: str | None, batch_size: int, backend: str) -> np.ndarray:
    from .embed import encode as encode_here

    return encode_here(texts, model, batch_size, backend)


def _parts(texts: list[str]) -> list[np.ndarray]:
    """Row numbers in parts of similar length (longest first), so each part pads little."""
    order = np.argsort([-len(t) for t in texts], kind="stable")
    return [order[i:i + PART_TEXTS] for i in range(0, len(order), PART_TEXTS)]


def score(func: Callable, model, rows: list, inputs) -> list:
    """``func(model, rows, inputs)`` for the rows, in parts on the cluster when one is in use;
    ``inputs`` must have a ``rows(index)`` method. Results are concatenated in order."""
    parts = [np.arange(i, min(i + PART_TEXTS, len(rows))) for i in range(0, len(rows), PART_TEXTS)]
    client = active()
    if client is None:  # in parts here too: the feature matrix of 200,000 rows at once needs GBs
        return [r for p in parts for r in func(model, [rows[i] for i in p], inputs.rows(p))]
    shared = client.scatter(model, broadcast=True)
    futures = [client.submit(func, shared, [rows[i] for i in p], inputs.rows(p), pure=False) for p in parts]
    return [r for part in _gather(futures, [len(p) for p in parts], "Suggesting codes on the cluster") for r in part]


def _gather(futures: list, sizes: list[int], label: str) -> list:
    """Results in the futures' order, moving the progress bar as each part finishes."""
    from dask.distributed import as_completed

    size = dict(zip((f.key for f in futures), sizes))
    with progress.bar(label, sum(sizes)) as advance:
        for f in as_completed(futures):
            advance(size[f.key])
    return [f.result() for f in futures]
