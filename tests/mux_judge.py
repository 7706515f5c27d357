"""The official ``@mux/mux-node`` SDK as a judge: one long-lived node process.

``tests/node/mux_sdk.mjs`` runs the real SDK (``client.webhooks.unwrap``, with
``Date.now`` faked) and an independent ``node:crypto`` signer. Install it with
``npm ci --prefix tests/node``. Without node or the SDK the tests that use it FAIL:
a skipped cross-check looks like a passing one.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
SCRIPT = NODE_DIR / "mux_sdk.mjs"
SDK_DIR = NODE_DIR / "node_modules" / "@mux" / "mux-node"
INSTALL_HINT = "run `npm ci --prefix tests/node` (needs node on PATH)"
V1_BODY = b'{"test":"body"}'
V1_HEADER = "t=1565125718,v1=854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7"

Result = dict[str, Any]


class Judge:
    """One long-lived ``node mux_sdk.mjs``; each case is one JSON line out, one back."""

    def __init__(self, proc: subprocess.Popen[str], stderr_path: Path) -> None:
        self._proc = proc
        self._stderr_path = stderr_path

    def run(self, cases: list[Mapping[str, Any]]) -> list[Result]:
        return [self._one(case) for case in cases]

    def verify(self, body: bytes, header: str, secret: str, now: float) -> Result:
        return self._one(
            {"op": "verify", "body_b64": _b64(body), "header": header, "secret": secret, "now": now}
        )

    def sign(self, body: bytes, secret: str, t: str | int) -> str:
        result = self._one({"op": "sign", "body_b64": _b64(body), "secret": secret, "t": str(t)})
        header = result["header"]
        assert isinstance(header, str)
        return header

    def _one(self, case: Mapping[str, Any]) -> Result:
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(json.dumps(case) + "\n")
            stdin.flush()
            line = stdout.readline()
        except (BrokenPipeError, OSError) as exc:
            pytest.fail(f"mux_sdk.mjs died ({exc}): {self.stderr()}", pytrace=False)
        if not line:
            pytest.fail(
                f"mux_sdk.mjs exited (code {self._proc.poll()}): {self.stderr()}", pytrace=False
            )
        result: Result = json.loads(line)
        assert "harness_error" not in result, result["harness_error"]
        return result

    def stderr(self) -> str:
        return self._stderr_path.read_text(encoding="utf-8", errors="replace").strip()

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


def _b64(body: bytes) -> str:
    return base64.b64encode(body).decode("ascii")


def missing_prerequisite() -> str | None:
    if shutil.which("node") is None:
        return f"node is not on PATH: install Node >= 18, then {INSTALL_HINT}"
    if not (SDK_DIR / "package.json").is_file():
        return f"the Mux Node SDK is not installed at {SDK_DIR}: {INSTALL_HINT}"
    return None


@contextlib.contextmanager
def start_judge() -> Iterator[Judge]:
    """Start one node process running the official SDK; fail (never skip) without it."""
    problem = missing_prerequisite()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    node = shutil.which("node")
    assert node is not None
    with tempfile.TemporaryDirectory(prefix="mux_sdk_") as tmp:
        stderr_path = Path(tmp) / "stderr.txt"
        with stderr_path.open("w", encoding="utf-8") as err:
            proc = subprocess.Popen(
                [node, str(SCRIPT)],
                cwd=NODE_DIR,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        judge = Judge(proc, stderr_path)
        try:
            # A round trip proves the SDK imported (the script exits 2 if not).
            assert judge.verify(V1_BODY, V1_HEADER, "SuperSecret123", 1565125718)["ok"] is True
            yield judge
        finally:
            judge.close()


@contextlib.contextmanager
def sdk_receiver(secret: str, *, fail_type: str = "", port: int = 0) -> Iterator[str]:
    """A webhook receiver that verifies with the official SDK (tests/node/receiver.mjs).

    Yields its URL; answers 200 when the SDK accepts, 400 when it refuses, and 500 for
    events of ``fail_type``; on ``port`` when given (an app coming back where it was).
    Fails (never skips) when node or the SDK is missing.
    """
    import os
    import time

    problem = missing_prerequisite()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    node = shutil.which("node")
    assert node is not None
    env = {**os.environ, "MUX_WEBHOOK_SECRET": secret, "FAIL_TYPE": fail_type, "PORT": str(port)}
    proc = subprocess.Popen(
        [node, str(NODE_DIR / "receiver.mjs")],
        cwd=NODE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 20
        line = ""
        while not line.startswith("listening ") and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        if not line.startswith("listening "):
            stderr = proc.stderr.read() if proc.stderr else ""
            pytest.fail(f"receiver.mjs did not start: {stderr}", pytrace=False)
        yield f"http://127.0.0.1:{int(line.split()[1])}/webhooks/mux"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
