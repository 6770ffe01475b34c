"""Run a function in a fresh process under a time (and optionally memory) limit.

Uploaded files are parsed in one, so a hostile file can exhaust neither the server's memory nor its
time; re-indexing runs in one, so the server never loads the document embedder (torch, ~1 GB) and
returns to its serving footprint afterwards.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from rag.errors import CorpusError, RagError


def run_isolated(function: Callable[..., Any], *args: Any, timeout_s: float, memory_mb: int = 0,
                 progress: Callable[[str, int, int], None] | None = None) -> Any:
    """`function(*args)` in a spawned process; with `progress`, it is passed on as `progress=` and relayed here.

    Raises CorpusError when the limits are hit, the child's RagError as it was, RuntimeError for anything else.
    """
    context = multiprocessing.get_context("spawn")  # not fork: the server has threads and loaded models
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, function, args, memory_mb, progress is not None), daemon=True)
    child.start()
    sender.close()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not receiver.poll(left):
                raise CorpusError(f"处理超时：{timeout_s:.0f} 秒内未完成，已中止")
            try:
                kind, *payload = receiver.recv()
            except EOFError:
                child.join(5)
                raise CorpusError(f"处理中止：内存超出 {memory_mb} MB 或进程被终止（退出码 {child.exitcode}）") from None
            if kind == "progress" and progress is not None:
                progress(*payload)
            elif kind == "ok":
                return payload[0]
            elif kind == "error":
                raise payload[0]
            else:
                raise RuntimeError(payload[0])
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        receiver.close()


def _child(sender: Connection, function: Callable[..., Any], args: tuple[Any, ...], memory_mb: int,
           with_progress: bool) -> None:
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        kwargs = {"progress": lambda *step: sender.send(("progress", *step))} if with_progress else {}
        result = function(*args, **kwargs)
    except RagError as error:
        sender.send(("error", error))
    except MemoryError:
        sender.send(("error", CorpusError(f"处理中止：内存超出 {memory_mb} MB")))
    except Exception:  # reported to the parent, which logs it; the child ends either way
        sender.send(("crash", traceback.format_exc()))
    else:
        sender.send(("ok", result))
    finally:
        sender.close()
