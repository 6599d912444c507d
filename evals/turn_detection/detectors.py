"""Detector adapters for the end-of-turn bench, all scored on the same causal ``View``.

A ``View`` is everything a detector may know at decision time ``t``: the turn's audio up to
``t``, the words whose end time is ``<= t - transcript_lag`` (normalised like STT text), the
assistant's previous turns, and the silence elapsed so far. ``causal_view`` is the only place
that builds one, so no adapter can peek past ``t``.

Adapters (``DETECTORS``):

- ``ours-text``     ``livekit.plugins.semantic_turn.SemanticTurnDetector.predict_text``
- ``ours-text-closing`` the same, built as the worker builds it: with the ordering domain's
                    closing answers ("Yes, please place it.") as complete turns
- ``ours-v2-text``  the same with the second release's weights (no n-gram features), for reference
- ``ours-fusion``   ``TurnFusion.combine(ours-text, livekit-v1-mini, silence)``, default weights
- ``ours-fusion-prior``  the same with the first release's unfitted prior weights
- ``livekit-v1-mini``  ``livekit.local_inference.EOT`` on the last 1.2 s of 16 kHz audio
- ``smart-turn-v3``  Pipecat's Smart Turn v3.x ONNX, from a pipecat-ai wheel in the cache
- ``smollm2-zeroshot``  P(``<|im_end|>`` | chat so far) from SmolLM2-135M-Instruct (GGUF)
- ``vad-baseline``  silence only: ``p = silence / 3 s`` (a threshold is a fixed delay)

An adapter that cannot run here raises ``Unavailable(reason)`` from ``load()``; the bench then
reports it as ``n/a: reason``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .domains_cli import BASELINE_V2
from .pauses import normalize_transcript
from .turns import SR, Turn, to_int16


class Unavailable(RuntimeError):
    """The detector cannot run in this environment (reason in the message)."""


@dataclass(frozen=True)
class View:
    t: float  # seconds from the start of the turn audio
    audio: np.ndarray  # float32 16 kHz, audio[: t * SR]
    text: str  # transcript of words ended by t - lag
    n_words: int
    context: tuple[str, ...]
    silence_s: float


def causal_view(
    turn: Turn,
    t: float,
    silence_s: float,
    *,
    lag_s: float,
    audio: np.ndarray | None = None,
    keep_punctuation: bool = False,
) -> View:
    """The only constructor of a ``View``: audio up to ``t``, words ending by ``t - lag_s``."""
    src = turn.audio if audio is None else audio
    cutoff = t - lag_s + 1e-9
    words = [w.text for w in turn.words if w.end <= cutoff]
    return View(
        t=t,
        audio=src[: int(round(t * SR))],
        text=normalize_transcript(words, keep_punctuation),
        n_words=len(words),
        context=turn.context,
        silence_s=silence_s,
    )


class Detector:
    name = ""
    label = ""
    kind = ""  # text | audio | fusion | baseline
    _loaded = False

    def load(self) -> None:  # raise Unavailable
        pass

    def predict(self, view: View) -> float:
        raise NotImplementedError

    def cache_key(self, view: View) -> object | None:
        """Identical inputs give identical outputs: the bench memoises on this key."""
        return None

    def info(self) -> dict:
        return {}


# --------------------------------------------------------------------------- ours


def _import_semantic_turn():
    try:
        import livekit.plugins.semantic_turn as st
    except Exception as e:  # ImportError, or a half-built plugin
        raise Unavailable(f"livekit.plugins.semantic_turn not importable ({e})") from e
    return st


class OursText(Detector):
    name = "ours-text"
    label = "ours (text)"
    kind = "text"

    def __init__(self, model_path: str | None = None, name: str | None = None,
                 label: str | None = None,
                 complete: Callable[[str], bool] | None = None) -> None:  # fmt: skip
        self.model_path = model_path
        self.complete = complete
        if name:
            self.name = name
        if label:
            self.label = label

    def load(self) -> None:
        st = _import_semantic_turn()
        try:
            self._det = st.SemanticTurnDetector(model_path=self.model_path, complete=self.complete)
            self._det.predict_text("hello", ())
        except Exception as e:
            raise Unavailable(f"SemanticTurnDetector failed to load: {e}") from e

    def predict(self, view: View) -> float:
        return float(self._det.predict_text(view.text, view.context))

    def cache_key(self, view: View) -> object:
        return (view.text, view.context)


class LiveKitV1Mini(Detector):
    name = "livekit-v1-mini"
    label = "LiveKit v1-mini"
    kind = "audio"

    def load(self) -> None:
        try:
            from livekit.local_inference import EOT, EOT_MAX_SAMPLES
        except Exception as e:
            raise Unavailable(f"livekit-local-inference not importable ({e})") from e
        self._eot = EOT()
        self._max = int(EOT_MAX_SAMPLES)

    def _pcm(self, view: View) -> np.ndarray:
        return to_int16(view.audio[-self._max :])

    def predict(self, view: View) -> float:
        return float(self._eot.predict(self._pcm(view)))

    def cache_key(self, view: View) -> object:
        return hashlib.sha1(self._pcm(view).tobytes()).hexdigest()


class OursFusion(Detector):
    """``TurnFusion.combine(ours-text, v1-mini, silence)`` with the plugin's default fusion
    weights, or (``prior=True``) the first release's unfitted prior (1, 1, +2 logit/s)."""

    name = "ours-fusion"
    label = "ours (fusion)"
    kind = "fusion"

    def __init__(
        self,
        text: OursText,
        audio: LiveKitV1Mini,
        memo: Callable | None = None,
        *,
        prior: bool = False,
    ):
        self.text, self.audio = text, audio
        self._memo = memo  # the bench's memoised predict, so components are not recomputed
        self.prior = prior
        self.fitted: object | None = None  # a TurnFusion set by the bench's --fit-fusion
        if prior:
            self.name, self.label = "ours-fusion-prior", "ours (fusion, prior weights)"

    def load(self) -> None:
        st = _import_semantic_turn()
        for d in (self.text, self.audio):
            if not d._loaded:
                d.load()
                d._loaded = True
        self._fusion = st.TurnFusion.prior() if self.prior else st.TurnFusion()

    def set_fusion(self, fusion: object) -> None:
        """Use ``fusion`` (a ``TurnFusion``) from now on, e.g. one fitted by the bench."""
        self._fusion = fusion

    def info(self) -> dict:
        f = getattr(self, "_fusion", None)
        return {"fusion": f.to_dict()} if f is not None else {}

    def _component(self, det: Detector, view: View) -> float:
        return self._memo(det, view) if self._memo else det.predict(view)

    def predict(self, view: View) -> float:
        p_text = self._component(self.text, view)
        p_audio = self._component(self.audio, view)
        return float(self._fusion.combine(p_text, p_audio, view.silence_s))


# --------------------------------------------------------------------------- Smart Turn v3

PIPECAT_WHEEL_GLOB = "pipecat_ai-*.whl"
_ST_PREFIX = "pipecat/audio/turn/smart_turn/"


class SmartTurnV3(Detector):
    """Pipecat Smart Turn v3.x, run as pipecat's ``LocalSmartTurnAnalyzerV3`` does.

    The ONNX model and pipecat's own numpy Whisper log-mel extractor
    (``_whisper_features.py``) are read from a ``pipecat-ai`` wheel placed in the cache by
    ``pip download --no-deps pipecat-ai==1.14.0 -d <cache>/wheels`` (nothing is downloaded at
    run time and pipecat itself is not installed). Input: the last 8 s of 16 kHz audio,
    left-padded with zeros, as in ``local_smart_turn_v3.py``; onnxruntime on one thread.
    """

    name = "smart-turn-v3"
    label = "Smart Turn v3"
    kind = "audio"

    def __init__(self, cache_dir: str):
        self.cache_dir = cache_dir
        self._info: dict = {}

    def _wheel(self) -> str:
        import glob

        wheels = sorted(glob.glob(os.path.join(self.cache_dir, "wheels", PIPECAT_WHEEL_GLOB)))
        if not wheels:
            raise Unavailable(
                "no pipecat-ai wheel in the cache; once, with network: pip download --no-deps "
                f"pipecat-ai==1.14.0 -d {os.path.join(self.cache_dir, 'wheels')}"
            )
        return wheels[-1]

    def load(self) -> None:
        try:
            import onnxruntime as ort
        except Exception as e:
            raise Unavailable(f"onnxruntime not importable ({e})") from e
        wheel = self._wheel()
        out_dir = os.path.join(self.cache_dir, "smart-turn", os.path.basename(wheel)[:-4])
        with zipfile.ZipFile(wheel) as z:
            names = z.namelist()
            onnx = sorted(
                n for n in names if n.startswith(_ST_PREFIX + "data/") and n.endswith(".onnx")
            )
            cpu = [n for n in onnx if "cpu" in n] or onnx
            feats = _ST_PREFIX + "_whisper_features.py"
            if not cpu or feats not in names:
                raise Unavailable(f"{os.path.basename(wheel)} has no Smart Turn v3 ONNX/features")
            for n in (cpu[-1], feats):
                dest = os.path.join(out_dir, os.path.basename(n))
                if not os.path.exists(dest):
                    os.makedirs(out_dir, exist_ok=True)
                    with z.open(n) as src, open(dest + ".tmp", "wb") as dst:
                        dst.write(src.read())
                    os.replace(dest + ".tmp", dest)
        model_path = os.path.join(out_dir, os.path.basename(cpu[-1]))
        spec = importlib.util.spec_from_file_location(
            "_eot_bench_pipecat_whisper_features", os.path.join(out_dir, "_whisper_features.py")
        )
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        self._features = mod.compute_whisper_log_mel_features
        so = ort.SessionOptions()
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.inter_op_num_threads = 1
        so.intra_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            model_path, sess_options=so, providers=["CPUExecutionProvider"]
        )
        with open(model_path, "rb") as fh:
            sha = hashlib.sha256(fh.read()).hexdigest()
        self._info = {"wheel": os.path.basename(wheel), "onnx": os.path.basename(model_path)}
        self._info["onnx_sha256"] = sha
        self.label = "Smart Turn " + os.path.basename(model_path).split("-")[2].replace(".onnx", "")

    def _input(self, view: View) -> np.ndarray:
        n = 8 * SR
        a = view.audio[-n:].astype(np.float32)
        if len(a) < n:
            a = np.pad(a, (n - len(a), 0))
        return a

    def predict(self, view: View) -> float:
        feats = self._features(self._input(view), do_normalize=True)
        out = self._session.run(None, {"input_features": feats[None].astype(np.float32)})
        return float(np.asarray(out[0]).reshape(-1)[0])

    def cache_key(self, view: View) -> object:
        return hashlib.sha1(self._input(view).tobytes()).hexdigest()

    def info(self) -> dict:
        return self._info


# --------------------------------------------------------------------------- SmolLM2 zero-shot


class SmolLM2ZeroShot(Detector):
    """LiveKit's older text method: P(end-of-turn token) of a small chat LM after the user text.

    The chat (assistant context turns, then the user's words so far) is written with SmolLM2's
    ChatML template *without* closing the last user message; the score is the softmax
    probability of ``<|im_end|>`` as the next token (llama-cpp-python, one thread).
    """

    name = "smollm2-zeroshot"
    label = "SmolLM2-135M zero-shot"
    kind = "text"

    def load(self) -> None:
        try:
            from llama_cpp import Llama
        except Exception as e:
            raise Unavailable(f"llama-cpp-python not importable ({e})") from e
        try:
            from livekit.plugins.llamacpp import default_model_path

            gguf = default_model_path()  # the same GGUF the local brain runs
        except (ImportError, ValueError) as e:
            raise Unavailable(f"SmolLM2 GGUF not available ({e})") from e
        if not gguf.is_file():
            raise Unavailable(f"no SmolLM2 GGUF at {gguf}")
        devnull = os.open(os.devnull, os.O_WRONLY)
        saved = os.dup(2)
        try:  # llama.cpp prints its load log on fd 2
            os.dup2(devnull, 2)
            self._llm = Llama(
                model_path=str(gguf),
                n_ctx=1024,
                n_threads=1,
                n_threads_batch=1,
                logits_all=True,  # so scores[n_tokens - 1] holds the last logits
                verbose=False,
            )
        finally:
            os.dup2(saved, 2)
            os.close(devnull)
            os.close(saved)
        toks = self._llm.tokenize(b"<|im_end|>", add_bos=False, special=True)
        if len(toks) != 1:
            raise Unavailable("SmolLM2 tokenizer has no single <|im_end|> token")
        self._eot_id = toks[0]
        self._info = {"gguf": gguf.name}

    def prompt(self, view: View) -> str:
        parts = [f"<|im_start|>assistant\n{c}<|im_end|>\n" for c in view.context]
        parts.append(f"<|im_start|>user\n{view.text}")
        return "".join(parts)

    def predict(self, view: View) -> float:
        toks = self._llm.tokenize(self.prompt(view).encode(), add_bos=False, special=True)
        toks = toks[-(self._llm.n_ctx() - 8) :]
        self._llm.reset()
        self._llm.eval(toks)
        logits = np.asarray(self._llm.scores[self._llm.n_tokens - 1], dtype=np.float64)
        logits -= logits.max()
        probs = np.exp(logits)
        return float(probs[self._eot_id] / probs.sum())

    def cache_key(self, view: View) -> object:
        return (view.text, view.context)

    def info(self) -> dict:
        return self._info


# --------------------------------------------------------------------------- VAD baseline


class VADBaseline(Detector):
    """Silence timing alone: ``p`` rises linearly to 1 at ``full_s`` of silence."""

    name = "vad-baseline"
    label = "VAD baseline"
    kind = "baseline"

    def __init__(self, full_s: float = 3.0):
        self.full_s = full_s

    def predict(self, view: View) -> float:
        return float(min(1.0, view.silence_s / self.full_s))

    def cache_key(self, view: View) -> object:
        return round(view.silence_s, 6)


DETECTORS = (
    "ours-text",
    "ours-text-closing",
    "ours-v2-text",
    "ours-fusion",
    "ours-fusion-prior",
    "livekit-v1-mini",
    "smart-turn-v3",
    "smollm2-zeroshot",
    "vad-baseline",
)


def _closing_answer(text: str) -> bool:
    """The predicate the worker gives its detector (agents/brain/factories.py)."""
    from agents.brain.guided.understanding import is_closing_answer

    return is_closing_answer(text)


def build_detectors(
    names: Sequence[str], *, cache_dir: str, memo: Callable | None = None
) -> dict[str, Detector]:
    """Adapters by name; fusion shares the text and v1-mini adapters (and the memo)."""
    text, mini = OursText(), LiveKitV1Mini()
    table: dict[str, Detector] = {
        "ours-text": text,
        # as the worker builds it: the ordering domain's closing answers end the turn
        "ours-text-closing": OursText(
            None, "ours-text-closing", "ours (text) + closing answers", _closing_answer
        ),
        "ours-v2-text": OursText(str(BASELINE_V2), "ours-v2-text", "ours v2 (text, no n-gram)"),
        "ours-fusion": OursFusion(text, mini, memo),
        "ours-fusion-prior": OursFusion(text, mini, memo, prior=True),
        "livekit-v1-mini": mini,
        "smart-turn-v3": SmartTurnV3(cache_dir),
        "smollm2-zeroshot": SmolLM2ZeroShot(),
        "vad-baseline": VADBaseline(),
    }
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown detector(s): {', '.join(unknown)}")
    return {n: table[n] for n in names}


def load_all(detectors: dict[str, Detector]) -> dict[str, str]:
    """Load each adapter; return ``{name: reason}`` for those that cannot run here."""
    bad: dict[str, str] = {}
    for name, det in detectors.items():
        if getattr(det, "_loaded", False):
            continue
        try:
            det.load()
            det._loaded = True  # type: ignore[attr-defined]
        except Unavailable as e:
            bad[name] = str(e)
        except Exception as e:  # a broken model should not take the whole bench down
            bad[name] = f"{type(e).__name__}: {e}"
            print(f"[eot-bench] {name} failed to load: {e!r}", file=sys.stderr)
    return bad
