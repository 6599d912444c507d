"""The layout is the architecture: five places, dependencies pointing one way.

Reads every module's imports (ast, no import side effects) and checks the direction
documented in the README's component map:

    plugins/  ->  tools/  ->  agents/  ->  evals/

(a module may import from its own place and the places to its left, never to its right).
Inside agents/, the brain and the side channel are peers fed by the worker and the call
assembly: neither imports the worker, the call, or the other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
PLACES = ("plugins", "tools", "agents", "evals")
LOCAL_ENGINES = ("llama_cpp", "faster_whisper", "piper", "ctranslate2")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT)
    if rel.parts[0] == "plugins":
        rel = rel.relative_to(*rel.parts[:2])  # plugins/<dist>/livekit/plugins/x/...
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of everything `path` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)
    return out


def sources(place: str) -> list[Path]:
    return sorted(p for p in (ROOT / place).rglob("*.py") if "__pycache__" not in p.parts)


def place_of(name: str) -> str | None:
    top = name.split(".")[0]
    if top in ("tools", "agents", "evals"):
        return top
    if (
        name.startswith("livekit.plugins.")
        and (ROOT / "plugins" / f"livekit-plugins-{name.split('.')[2].replace('_', '-')}").is_dir()
    ):
        return "plugins"
    return None


@pytest.mark.parametrize("place", PLACES)
def test_dependencies_point_one_way(place: str) -> None:
    allowed = PLACES[: PLACES.index(place) + 1]
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources(place)
        for name in sorted(imports_of(path))
        if (target := place_of(name)) is not None and target not in allowed
    ]
    assert not bad, "imports pointing the wrong way:\n" + "\n".join(bad)


def test_generic_tool_runtime_does_not_import_the_domain() -> None:
    for name in ("runtime.py", "call_control.py"):
        names = imports_of(ROOT / "tools" / name)
        assert not [n for n in names if n.startswith("tools.coffee")], name


@pytest.mark.parametrize(
    ("peer", "forbidden"),
    [
        ("brain", ("agents.worker", "agents.call", "agents.side_channel", "agents.coffee_agent")),
        ("side_channel", ("agents.worker", "agents.call", "agents.brain")),
    ],
)
def test_brain_and_side_channel_are_fed_not_feeding(peer: str, forbidden: tuple[str, ...]) -> None:
    bad = [
        f"{p.relative_to(ROOT)} imports {n}"
        for p in sources(f"agents/{peer}")
        for n in imports_of(p)
        if n.startswith(forbidden)
    ]
    assert not bad, bad


def test_runtime_plugins_ship_inference_only() -> None:
    bad = [
        f"{p.relative_to(ROOT)} imports {n}"
        for p in sources("plugins")
        for n in imports_of(p)
        if n.split(".")[0] in ("sklearn", "scipy", "tqdm", "matplotlib")
    ]
    assert not bad, bad
    turn = ROOT / "plugins/livekit-plugins-semantic-turn/livekit/plugins/semantic_turn"
    assert not [m for m in ("train.py", "data.py", "synth.py") if (turn / m).exists()]


def test_every_place_says_what_it_owns_and_may_import() -> None:
    inits = [
        ROOT / "tools/__init__.py",
        ROOT / "tools/coffee/__init__.py",
        ROOT / "agents/__init__.py",
        ROOT / "agents/brain/__init__.py",
        ROOT / "agents/side_channel/__init__.py",
        ROOT / "evals/__init__.py",
        ROOT / "evals/replay/__init__.py",
    ]
    for path in inits:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert "import" in doc.lower(), (
            f"{path.relative_to(ROOT)}: docstring must say what it may import"
        )


def test_suite_packages_are_not_installed_under_clashing_names() -> None:
    """`agents`, `tools` and `evals` are also the import names of well-known packages
    (openai-agents, ...): the project installs none of them into site-packages; they run
    from the checkout, which is first on sys.path for agent.py, `python -m` and pytest."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert cfg["tool"]["setuptools"]["packages"] == []
    for name in ("agents", "tools", "evals"):
        mod = __import__(name)
        assert mod.__file__ is not None and Path(mod.__file__).resolve().parent == ROOT / name


def test_cloud_worker_needs_no_local_engine(tmp_path: Path) -> None:
    """A cloud-only install (no llama.cpp, faster-whisper or Piper) starts a cascade worker:
    the local engines are blocked from importing and the worker still checks its config,
    imports its plugins and builds the cascade brain."""
    script = textwrap.dedent(
        f"""
        import sys, importlib.abc
        BLOCKED = {LOCAL_ENGINES!r} + ("livekit.plugins.llamacpp", "livekit.plugins.fasterwhisper", "livekit.plugins.piper")
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.startswith(BLOCKED):
                    raise ImportError(f"{{name}} is not installed (blocked by the test)")
        sys.meta_path.insert(0, Block())
        import os
        os.environ.update(OPENAI_API_KEY="sk-test", DEEPGRAM_API_KEY="dg-test",
                          CARTESIA_API_KEY="ca-test", LIVEKIT_URL="ws://127.0.0.1:7880")
        from agents.worker import check_startup, settings
        from agents.brain import build_brain, choose_brain
        s = settings()
        check_startup(s, ["agent.py", "start"])
        brain = build_brain(choose_brain(s).profile, s)
        print("OK", brain.profile.name, type(brain.llm).__module__)
        assert not [m for m in sys.modules if m.startswith(BLOCKED)]
        """
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "OK cascade livekit.plugins.openai" in r.stdout


def test_worker_import_has_no_side_effects(tmp_path: Path) -> None:
    """Importing the worker reads no settings: a bad value only fails when the worker starts."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "LOCAL_LLM_THREADS": "zero",
    }
    r = subprocess.run(
        [sys.executable, "-c", "import agents.worker; print('imported')"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0 and "imported" in r.stdout, r.stderr[-2000:]
    r = subprocess.run(
        [sys.executable, str(ROOT / "agent.py"), "start"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("error: LOCAL_LLM_THREADS")
