"""The peer engines: each installed on first use into its own `pip install --target` folder
under benchmarks/peers/ (the micrograd engines all install a top-level package named
`micrograd`, so each gets a folder of its own; JAX comes with its dependencies)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS_DIR = HERE / "peers"
BUILD_TOOLS = PEERS_DIR / "_buildtools"
# micrograd-cpp-engine builds only with an old scikit-build-core and no build isolation.
BUILD_REQUIREMENTS = [
    "scikit-build-core<0.8", "pyproject-metadata", "pathspec", "pybind11", "cmake", "ninja",
]


@dataclass
class Peer:
    name: str
    requirement: str
    build_from_source: bool = False
    module: str = "micrograd"  # the top-level package it installs
    with_deps: bool = False  # micrograd's have none; JAX needs jaxlib and friends
    notes: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return PEERS_DIR / self.name

    @property
    def failed_marker(self) -> Path:
        return PEERS_DIR / f"{self.name}.failed"

    def installed(self) -> bool:
        version = self.requirement.split("==")[1]
        dist = self.requirement.split("==")[0].replace("-", "_")
        return (self.folder / self.module / "__init__.py").exists() and any(
            self.folder.glob(f"{dist}-{version}.dist-info")
        )


PEERS = [
    Peer("micrograd", "micrograd==0.1.0"),
    Peer("micrograd-cpp-engine", "micrograd-cpp-engine==0.1.1", build_from_source=True),
    # Its folder goes last on sys.path, so the NumPy it brings along never shadows the
    # project's own.
    Peer("jax", "jax==0.10.2", module="jax", with_deps=True),
]


def peer(name: str) -> Peer:
    return next(p for p in PEERS if p.name == name)


def _pip(args: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> str:
    """Run pip; return "" on success, else the last lines of its output."""
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"pip timed out after {timeout:.0f} s"
    if done.returncode == 0:
        return ""
    lines = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()] or lines
    return " | ".join(errors[-3:])[:400]


def _build_env() -> tuple[dict[str, str], str]:
    """An environment whose PYTHONPATH and PATH hold the build tools (installed once into
    their own folder, so the project's virtual environment is not touched)."""
    if not (BUILD_TOOLS / "scikit_build_core").exists():
        problem = _pip(["--target", str(BUILD_TOOLS), *BUILD_REQUIREMENTS])
        if problem:
            return {}, f"could not install its build tools: {problem}"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BUILD_TOOLS), env.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join([str(BUILD_TOOLS / "bin"), env.get("PATH", "")])
    return env, ""


def ensure(peer: Peer, retry_failed: bool = False, log: object = print) -> str:
    """Install `peer` if needed. Returns "" when it is usable, else a one-line reason."""
    if peer.installed():
        return ""
    if peer.failed_marker.exists() and not retry_failed:
        return peer.failed_marker.read_text().strip() + " (--reinstall tries again)"
    PEERS_DIR.mkdir(exist_ok=True)
    log(f"installing {peer.requirement} into {peer.folder.relative_to(HERE.parent)} ...")
    env, problem = None, ""
    args = ["--target", str(peer.folder), "--upgrade"]
    if not peer.with_deps:
        args.append("--no-deps")
    if peer.build_from_source:
        env, problem = _build_env()
        args.append("--no-build-isolation")
    if not problem:
        problem = _pip([*args, peer.requirement], env=env)
    if problem or not peer.installed():
        reason = f"{peer.requirement} did not install: {problem or f'no {peer.module} package'}"
        peer.failed_marker.write_text(reason + "\n")
        return reason
    peer.failed_marker.unlink(missing_ok=True)
    return ""
