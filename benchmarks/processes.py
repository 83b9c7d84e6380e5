"""The parent's side of the worker processes: spawn, ask, notice a crash, respawn."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MEMORY_CAP_VARIABLE = "GRADWALK_BENCH_MEMORY_CAP"


class EngineProcess:
    """A long-lived `python -m benchmarks.worker ENGINE` that answers requests in order."""

    def __init__(self, engine: str, peer_dir: Path | None = None, stderr: Any = None,
                 memory_cap: int | None = None) -> None:
        self.engine = engine
        self.peer_dir = peer_dir
        self.stderr = stderr
        self.memory_cap = memory_cap  # bytes of address space the worker may take
        self.proc: subprocess.Popen | None = None

    def _spawn(self) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "benchmarks.worker", self.engine]
        if self.peer_dir is not None:
            cmd.append(str(self.peer_dir))
        env = None
        if self.memory_cap:  # the worker caps itself first thing (see worker.main)
            env = {**os.environ, MEMORY_CAP_VARIABLE: str(self.memory_cap)}
        return subprocess.Popen(
            cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, text=True, bufsize=1, env=env,
        )

    def ask(self, timeout: float = 900, **request: Any) -> dict[str, Any]:
        """Send one request; the answer, or {"ok": False, "crash": why} if the worker died or
        did not answer in time (the next request starts a fresh worker)."""
        if self.proc is None:
            self.proc = self._spawn()
        proc = self.proc
        try:
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:
            return self._crashed()
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline() if ready else ""
        if not ready:
            self.close()
            return {"ok": False, "crash": f"no answer within {timeout:.0f} s"}
        if not line:
            return self._crashed()
        return json.loads(line)

    def _crashed(self) -> dict[str, Any]:
        proc, self.proc = self.proc, None
        code = proc.wait() if proc else None
        if code is not None and code < 0:
            try:
                why = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                why = f"killed by signal {-code}"
        else:
            why = f"exited with status {code}"
        return {"ok": False, "crash": why}

    def close(self) -> None:
        if self.proc is not None:
            proc, self.proc = self.proc, None
            try:
                proc.stdin.close()
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()


def failure(answer: dict[str, Any]) -> str:
    """"" for a good answer, else a short reason."""
    if answer.get("ok"):
        return ""
    return answer.get("skip") or answer.get("error") or answer.get("crash") or "failed"
