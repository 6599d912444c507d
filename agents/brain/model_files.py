"""The offline models `scripts/install_models.py` installs, found and vouched for at run time.

The installer joins each model's chunks, checks the pinned sha256 and writes a stamp
(`<model>.sha256`: the verified hashes plus each file's size and mtime). At run time a model
is used only when its stamp still matches the files on disk, so a model that is partial,
edited or half-copied is never loaded; re-hashing 1 GB on every start would cost seconds, the
stamp costs a `stat`. Not installed at all means the engine's own wheel default is used.

Owns: the installed model names and `installed_model()`. Imports: `agents.config`, stdlib.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..config import ConfigError

LOCAL_LLM_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
"""Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0): the offline brain's language model."""
LOCAL_STT_DIR = "whisper-base-ct2"
"""Whisper base (MIT) for CTranslate2: the offline brain's ears (16 kHz and phone audio)."""
STAMP_VERSION = 1


def installed_model(models_dir: str | Path, name: str) -> Path | None:
    """`models_dir/name` when the installer verified it and it has not changed since; None
    when it is not installed. Raises ConfigError when it is there but not vouched for."""
    path = Path(models_dir) / name
    if not path.exists():
        return None
    repair = f"run `python scripts/install_models.py` to repair it (the model at {path}"
    try:
        stamp = json.loads((Path(models_dir) / f"{name}.sha256").read_text())
    except (OSError, ValueError):
        raise ConfigError(f"{repair} has no valid install stamp)") from None
    stats = stamp.get("stats") if isinstance(stamp, dict) else None
    if stamp.get("version") != STAMP_VERSION or not isinstance(stats, dict) or not stats:
        raise ConfigError(f"{repair} has no valid install stamp)")
    for rel, want in stats.items():
        f = path / rel if rel else path
        try:
            st = f.stat()
        except OSError:
            raise ConfigError(f"{repair} is missing {rel or name})") from None
        if [st.st_size, st.st_mtime_ns] != want:
            raise ConfigError(f"{repair} changed after it was verified: {rel or name})")
    return path
