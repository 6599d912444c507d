"""Benchmark turns for the end-of-turn bench: data model, decision points, and the two sources.

A *turn* is one complete user turn: 16 kHz audio (followed by enough trailing silence to reach
the longest policy timeout), the words with their end times, the assistant's previous turns as
context, and its silence *spans*. Following livekit/eot-bench, every silence of at least 100 ms
after the user has started speaking is a decision point: the last one (after the last word) is
labelled ``eot``, every earlier one ``hold``.

Sources:

- synthetic turns from held-out Taskmaster-4 dialogs (Google, CC BY 4.0, Byrne & Ganesh,
  "PERL", arXiv:2403.10704): user turns split at plausible pause points, rendered by
  ``synth.py`` with inserted 200-1200 ms pauses;
- real speech: the LibriVox / command clips shipped in Debian's ``pocketsphinx-testdata``
  (single-utterance clips with transcripts), silences found by an energy VAD (``floor_silences``).
"""

from __future__ import annotations

import glob
import json
import os
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from agents.config import taskmaster4_dir

SR = 16000
TASKMASTER_DIR = str(taskmaster4_dir())
TASKMASTER_ATTRIBUTION = (
    "Taskmaster-4 (Bill Byrne and Saravanan Ganesh, Google LLC), CC BY 4.0, "
    "https://creativecommons.org/licenses/by/4.0/ ; paper: PERL, arXiv:2403.10704"
)
POCKETSPHINX_DIR = "/usr/share/pocketsphinx/test/data"
POCKETSPHINX_ATTRIBUTION = (
    "Debian pocketsphinx-testdata (CMU Sphinx test data; LibriVox recordings are public domain)"
)

HOLD = "hold"
EOT = "eot"


@dataclass(frozen=True)
class Word:
    text: str
    end: float  # seconds from the start of the turn audio


@dataclass(frozen=True)
class Span:
    index: int
    start: float
    end: float
    label: str  # HOLD or EOT

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Turn:
    id: str
    set_name: str
    audio: np.ndarray  # float32 mono at 16 kHz, includes the trailing silence
    words: list[Word]
    spans: list[Span]
    context: tuple[str, ...] = ()  # previous assistant turns, most recent last
    meta: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


# --------------------------------------------------------------------------- decision points


def label_silences(
    silences: Iterable[tuple[float, float]],
    *,
    speech_start: float,
    min_silence_s: float = 0.1,
) -> list[Span]:
    """Turn raw silences into decision spans: >= ``min_silence_s`` after speech began.

    The final kept silence is the true end of the turn (``eot``); every earlier one is a
    mid-turn pause (``hold``). Silences before ``speech_start`` are not decisions (the user
    has not started talking yet).
    """
    kept = [
        (max(s, speech_start), e)
        for s, e in sorted(silences)
        if e > speech_start and e - max(s, speech_start) >= min_silence_s - 1e-9
    ]
    return [Span(i, s, e, EOT if i == len(kept) - 1 else HOLD) for i, (s, e) in enumerate(kept)]


def energy_silences(
    audio: np.ndarray, *, frame_s: float = 0.01, floor_db: float = -45.0
) -> list[tuple[float, float]]:
    """Silences of clean (synthetic) audio: 10 ms frames quieter than ``floor_db`` re peak."""
    n = int(round(frame_s * SR))
    frames = len(audio) // n
    if frames == 0:
        return [(0.0, len(audio) / SR)]
    rms = np.sqrt(np.mean(audio[: frames * n].reshape(frames, n) ** 2, axis=1) + 1e-20)
    peak = max(float(rms.max()), 1e-9)
    silent = 20 * np.log10(rms / peak + 1e-12) < floor_db
    return _runs(silent, frame_s, total_s=len(audio) / SR)


def floor_silences(
    audio: np.ndarray, *, frame_s: float = 0.01, above_floor_db: float = 12.0
) -> list[tuple[float, float]]:
    """Energy VAD for real recordings: 10 ms frames within ``above_floor_db`` of the clip's
    noise floor (10th percentile of frame energy) are silence. Used for the real set because
    LiveKit's Silero build bridges pauses of up to ~0.4 s in these clips (its hangover), so it
    would find almost no mid-utterance pauses."""
    n = int(round(frame_s * SR))
    frames = len(audio) // n
    if frames == 0:
        return [(0.0, len(audio) / SR)]
    db = 10 * np.log10(np.mean(audio[: frames * n].reshape(frames, n) ** 2, axis=1) + 1e-12)
    floor = float(np.percentile(db, 10))
    return _runs(db < floor + above_floor_db, frame_s, total_s=len(audio) / SR)


def vad_silences(audio: np.ndarray, *, threshold: float = 0.5) -> list[tuple[float, float]]:
    """Silences by Silero VAD (LiveKit's local build, 32 ms windows)."""
    from livekit.local_inference import VAD, VAD_WINDOW_SAMPLES

    vad = VAD()
    pcm = to_int16(audio)
    n = len(pcm) // VAD_WINDOW_SAMPLES
    probs = np.array(
        [vad.predict(pcm[i * VAD_WINDOW_SAMPLES : (i + 1) * VAD_WINDOW_SAMPLES]) for i in range(n)]
    )
    vad.close()
    return _runs(probs < threshold, VAD_WINDOW_SAMPLES / SR, total_s=len(audio) / SR)


def _runs(silent: np.ndarray, frame_s: float, *, total_s: float) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    start = None
    for i, s in enumerate(silent):
        if s and start is None:
            start = i
        elif not s and start is not None:
            out.append((start * frame_s, i * frame_s))
            start = None
    if start is not None:
        out.append((start * frame_s, total_s))
    return out


def first_speech(silences: Sequence[tuple[float, float]]) -> float:
    return silences[0][1] if silences and silences[0][0] <= 0.05 else 0.0


def to_int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


# --------------------------------------------------------------------------- transcripts

_PUNCT_RE = re.compile(r"[^\w\s'’-]")


def normalize_transcript(words: Sequence[str], keep_punctuation: bool = False) -> str:
    """What a text detector is shown: by default lower-cased, punctuation removed.

    The Taskmaster text is *written* text: its final "." / "?" would be an oracle for the end
    of turn that no streaming STT has at a mid-turn pause, so it is stripped (as LiveKit's own
    text turn detector normalised STT text) unless ``keep_punctuation``.
    """
    text = " ".join(words)
    if keep_punctuation:
        return text
    return " ".join(_PUNCT_RE.sub(" ", text.lower()).split())


# --------------------------------------------------------------------------- pause points

FILLERS = frozenset({"um", "uh", "uhm", "umm", "er", "erm", "hmm", "well", "so", "like"})
CONJUNCTIONS = frozenset({"and", "but", "or", "because", "plus", "then", "also"})
PREPOSITIONS = frozenset(
    {"of", "for", "with", "to", "in", "on", "at", "from", "without", "about", "under", "as"}
)
DETERMINERS = frozenset({"a", "an", "the", "my", "some", "your"})
_DIGIT_WORDS = frozenset(
    [
        "zero",
        "oh",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "hundred",
    ]
)


def _bare(w: str) -> str:
    return re.sub(r"[^\w']", "", w.lower())


def _is_digitish(w: str) -> bool:
    b = _bare(w)
    return bool(b) and (b.isdigit() or b in _DIGIT_WORDS)


def pause_points(words: Sequence[str]) -> list[int]:
    """Indices ``i`` where a speaker plausibly pauses *after* ``words[i]`` (never the last).

    After a filler, a conjunction, a preposition, a determiner, a clause/sentence boundary
    (comma, full stop...), and inside digit strings.
    """
    out = []
    for i in range(len(words) - 1):
        w, b = words[i], _bare(words[i])
        if (
            b in FILLERS
            or b in CONJUNCTIONS
            or b in PREPOSITIONS
            or b in DETERMINERS
            or w[-1:] in {",", ".", "?", "!", ";", ":"}
            or (_is_digitish(w) and _is_digitish(words[i + 1]))
        ):
            out.append(i)
    return out


@dataclass(frozen=True)
class Chunk:
    text: str
    pause_after_s: float  # 0 for the last chunk


def plan_pauses(
    text: str,
    rng: random.Random,
    *,
    p_pause: float = 0.5,
    max_pauses: int = 3,
    pause_range_s: tuple[float, float] = (0.2, 1.2),
    p_filler: float = 0.2,
) -> list[Chunk]:
    """Split a written user turn into spoken chunks separated by natural mid-turn pauses.

    Each plausible pause point is taken with probability ``p_pause`` (at most ``max_pauses``);
    sometimes the speaker says "um" / "uh" before pausing. Pause lengths are uniform in
    ``pause_range_s``.
    """
    words = text.split()
    if not words:
        return []
    points = [i for i in pause_points(words) if rng.random() < p_pause]
    points = sorted(rng.sample(points, max_pauses)) if len(points) > max_pauses else points
    chunks: list[Chunk] = []
    prev = 0
    for i in points:
        piece = words[prev : i + 1]
        if rng.random() < p_filler and _bare(piece[-1]) not in FILLERS:
            piece = [*piece, rng.choice(["um", "uh"])]
        chunks.append(Chunk(" ".join(piece), round(rng.uniform(*pause_range_s), 3)))
        prev = i + 1
    chunks.append(Chunk(" ".join(words[prev:]), 0.0))
    return chunks


# --------------------------------------------------------------------------- Taskmaster-4


@dataclass(frozen=True)
class DialogTurn:
    id: str  # "<conversation_id>#<utterance index>"
    text: str
    context: tuple[str, ...]


def load_taskmaster(data_dir: str = TASKMASTER_DIR) -> dict[str, dict]:
    files = sorted(glob.glob(os.path.join(data_dir, "data_0*.json")))
    if not files:
        raise FileNotFoundError(f"no Taskmaster-4 data_0*.json under {data_dir}")
    out: dict[str, dict] = {}
    for f in files:
        with open(f) as fh:
            for d in json.load(fh):
                out[d["conversation_id"]] = d
    return out


def user_turns(dialog: dict, *, max_context: int = 3) -> list[DialogTurn]:
    """The user turns of one dialog, each with the preceding assistant turns as context."""
    out = []
    assistant: list[str] = []
    for i, u in enumerate(dialog.get("utterances", [])):
        text = " ".join(str(u.get("text", "")).split())
        if u.get("speaker") == "assistant":
            if text:
                assistant.append(text)
        elif u.get("speaker") == "user" and text:
            ctx = tuple(assistant[-max_context:]) if max_context else ()
            out.append(DialogTurn(f"{dialog['conversation_id']}#{i}", text, ctx))
    return out


def select_dialogs(ids: Iterable[str], n: int, seed: int) -> list[str]:
    pool = sorted(set(ids))
    random.Random(seed).shuffle(pool)
    return pool[:n]


# --------------------------------------------------------------------------- real speech


@dataclass(frozen=True)
class RealClip:
    id: str
    path: str
    text: str
    raw: bool = False  # headerless 16 kHz s16le


def real_clips(root: str = POCKETSPHINX_DIR) -> list[RealClip]:
    """Clips of ``pocketsphinx-testdata`` whose transcript is known."""
    clips: list[RealClip] = []
    pat = re.compile(r"<s>(.*?)</s>\s*\(([^)\s]+)\)")
    for sub in ("librivox", "cards"):
        tr = os.path.join(
            root, sub, "transcription" if sub == "librivox" else "cards.transcription"
        )
        if not os.path.exists(tr):
            continue
        with open(tr) as fh:
            for line in fh:
                m = pat.search(line)
                if m:
                    path = os.path.join(root, sub, m.group(2) + ".wav")
                    if os.path.exists(path):
                        clips.append(RealClip(f"{sub}/{m.group(2)}", path, m.group(1).strip()))
    gf = os.path.join(root, "goforward.raw")
    if os.path.exists(gf):  # transcript from goforward.gram / pocketsphinx's own tests
        clips.append(RealClip("goforward", gf, "go forward ten meters", raw=True))
    return clips


def load_real_clip(clip: RealClip) -> np.ndarray:
    if clip.raw:
        pcm = np.fromfile(clip.path, dtype="<i2")
        return (pcm.astype(np.float32) / 32768.0).copy()
    import soundfile as sf

    audio, sr = sf.read(clip.path, dtype="float32", always_2d=False)
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if sr != SR:
        from scipy.signal import resample_poly

        g = np.gcd(sr, SR)
        audio = resample_poly(audio, SR // g, sr // g).astype(np.float32)
    return audio


def speech_word_ends(
    words: Sequence[str],
    start: float,
    end: float,
    silences: Sequence[tuple[float, float]],
) -> list[float]:
    """Estimated word end times within ``[start, end]``: proportional to characters, laid
    over the *speech* time only (silences inside the interval are skipped)."""
    if not words:
        return []
    # speech sub-intervals of [start, end]
    pieces = []
    cur = start
    for s, e in sorted(silences):
        if e <= cur or s >= end:
            continue
        if s > cur:
            pieces.append((cur, min(s, end)))
        cur = max(cur, e)
    if cur < end:
        pieces.append((cur, end))
    if not pieces:
        pieces = [(start, end)]
    total = sum(e - s for s, e in pieces)
    lens = np.array([len(w) + 1 for w in words], dtype=float)
    fracs = np.cumsum(lens) / lens.sum()
    ends = []
    for f in fracs:
        target = f * total
        acc = 0.0
        t = pieces[-1][1]
        for s, e in pieces:
            if acc + (e - s) >= target - 1e-9:
                t = s + (target - acc)
                break
            acc += e - s
        ends.append(min(float(t), end))
    ends[-1] = end
    # a silence inside the interval is a word boundary: snap the nearest word end onto it
    for (_, gap_start), (gap_end, _) in zip(pieces[:-1], pieces[1:], strict=True):
        cands = [j for j in range(len(words) - 1)]
        if not cands:
            break
        j = min(cands, key=lambda j: min(abs(ends[j] - gap_start), abs(ends[j] - gap_end)))
        ends[j] = gap_start
        for k in range(j):
            ends[k] = min(ends[k], gap_start)
        for k in range(j + 1, len(ends)):
            ends[k] = max(ends[k], min(gap_end + 0.02, end))
    return ends


def build_real_turn(clip: RealClip, *, tail_s: float, seed: int) -> Turn:
    """A real clip as one turn: VAD silences, trailing noise-floor padding to ``tail_s``."""
    audio = load_real_clip(clip)
    sil = floor_silences(audio)
    speech_start = first_speech(sil)
    last_speech = sil[-1][0] if sil and sil[-1][1] >= len(audio) / SR - 1e-6 else len(audio) / SR
    # pad with noise at the clip's own floor so the trailing silence lasts tail_s
    frame = 160
    nfr = len(audio) // frame
    rms = np.sqrt(np.mean(audio[: nfr * frame].reshape(nfr, frame) ** 2, axis=1))
    floor = float(np.percentile(rms, 10)) if nfr else 1e-4
    need = max(0, int((last_speech + tail_s) * SR) - len(audio))
    rng = np.random.default_rng(seed)
    audio = np.concatenate([audio, (rng.standard_normal(need) * floor).astype(np.float32)])
    sil = [(s, e) for s, e in sil if e < last_speech + 1e-6] + [(last_speech, len(audio) / SR)]
    words = clip.text.split()
    ends = speech_word_ends(words, speech_start, last_speech, sil)
    spans = label_silences(sil, speech_start=speech_start)
    return Turn(
        id=clip.id,
        set_name="real",
        audio=audio,
        words=[Word(w, e) for w, e in zip(words, ends, strict=True)],
        spans=spans,
        context=(),
        meta={"source": clip.path, "word_times": "estimated (chars over speech frames)"},
    )
