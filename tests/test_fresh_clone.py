"""A user's fresh clone has no `../shared` beside it: the README's test command must pass there.

Clones this repository into an empty folder (so nothing is beside it) and runs the fast tests
inside the clone with this environment's interpreter and models. Every test that reads
Taskmaster-4 then runs on the slice shipped in `data/taskmaster4/`. The slow model tests are
left to the outer run (they read no dataset beyond what the fast ones do)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INNER = "VOICE_SUITE_FRESH_CLONE_TEST"


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get(INNER)), reason="already inside the fresh clone")
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_fast_tests_pass_in_a_fresh_clone_without_shared(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    # the working tree's uncommitted files too, so a developer's run tests what they have
    changed = subprocess.run(
        ["git", "ls-files", "--modified", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for rel in changed:
        src = ROOT / rel
        if src.is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, clone / rel)
    assert not (clone.parent / "shared").exists()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TASKMASTER4_DIR", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST")
    }
    env.update({INNER: "1", "VOICE_SUITE_MODELS": str(ROOT / ".cache" / "models")})
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    tail = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and "error" not in proc.stdout.splitlines()[-1], tail
