"""`agent.py replay --telephony`: the simulated SIP hop (8 kHz G.711 mu-law both ways over a
seeded lossy, jittery line, the caller a SIP participant) and a whole phone call replayed on
the offline brain over a clean line: transcribed, answered, ordered and recorded at 8 kHz."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from agents.brain import Caller, choose_brain
from agents.config import Settings
from evals.replay.answers import caller_turns, turn_answers
from evals.replay.recording import load_recording
from evals.replay.run import main as replay_main
from evals.replay.telephony import (
    DTMF_COLS,
    DTMF_KEYS,
    DTMF_ROWS,
    PACKET_SAMPLES,
    SIP_RATE,
    LineConditions,
    MulawCodec,
    PhoneCaller,
    PhoneLine,
    detect_dtmf,
    from_args,
    resample,
    telephone_audio,
)
from evals.turn_detection.real_speech import load_real_clip, real_clips
from tools import DtmfBuffer

ROOT = Path(__file__).resolve().parent.parent
CALL = ROOT / "samples" / "order_call.wav"
MANIFEST = json.loads((ROOT / "samples" / "order_call.json").read_text())
KEY_VARS = ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "CARTESIA_API_KEY", "OPENAI_BASE_URL", "BRAIN")


def _tone(rate: int, seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * 12000).astype(np.int16)


def _high_band_share(pcm: np.ndarray, rate: int, above: float = 4200.0) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(pcm), 1 / rate)
    return float(spectrum[freqs > above].sum() / max(spectrum.sum(), 1e-12))


def test_mulaw_codec_is_g711():
    codec = MulawCodec()
    x = _tone(SIP_RATE)
    payload = codec.encode(x)
    assert len(payload) == len(x)  # one byte per sample: 64 kbit/s at 8 kHz
    y = codec.decode(payload)
    snr = 10 * np.log10(np.mean(x.astype(float) ** 2) / np.mean((x - y.astype(float)) ** 2))
    assert 30 < snr < 45  # G.711 mu-law: ~38 dB on a loud tone, never lossless
    assert codec.decode(codec.encode(np.zeros(160, np.int16))).tolist() == [0] * 160


def test_the_uplink_is_8khz_band_limited_speech():
    wide = _tone(16000, freq=300) + _tone(16000, freq=6000) // 2
    assert _high_band_share(wide, 16000) > 0.1
    phone = telephone_audio(wide, 16000)
    assert len(phone) == SIP_RATE  # one second at 8 kHz
    back = resample(phone, SIP_RATE, 16000)
    assert _high_band_share(back, 16000) < 0.01


def test_loss_and_jitter_are_seeded_and_reproducible():
    pcm = resample(_tone(16000, seconds=20.0), 16000, SIP_RATE)
    packets = len(pcm) // PACKET_SAMPLES

    def dropped(**kw: float) -> list[int]:
        line = PhoneLine(LineConditions(**kw), stream=1)  # type: ignore[arg-type]
        out = line.carry(pcm)
        assert len(out) == len(pcm) and line.packets == packets
        for i in line.dropped:  # a lost packet is silence
            assert not out[i * PACKET_SAMPLES : (i + 1) * PACKET_SAMPLES].any()
        return line.dropped

    assert dropped() == []
    a = dropped(loss=0.05, seed=7)
    assert a == dropped(loss=0.05, seed=7)
    assert a != dropped(loss=0.05, seed=8)
    assert 0.02 < len(a) / packets < 0.09
    # jitter: packets later than the 60 ms buffer are dropped, P(|N(0, 40)| > 60) ~ 13 %
    late = dropped(jitter_ms=40.0, seed=1)
    assert 0.08 < len(late) / packets < 0.19
    assert dropped(jitter_ms=10.0, seed=1) == []


async def test_the_caller_is_a_sip_participant_and_gets_the_telephony_variant():
    caller = PhoneCaller(phone_number="+15550123456")
    room = caller.room()
    (participant,) = room.remote_participants.values()
    attrs = participant.attributes
    assert attrs["sip.phoneNumber"] == "+15550123456"
    assert attrs["sip.trunkPhoneNumber"] and attrs["sip.callID"].startswith("SCL_")
    choice = choose_brain(Settings(), caller=Caller.from_participant(participant))
    assert choice.profile.telephony and choice.profile.name == "local-telephony"
    phone = from_args(telephony=True, loss=0.0, jitter=0.0, seed=0, brain="local")
    assert phone is not None and json.loads(phone.job_metadata) == {"brain": "local"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--loss", "0.1"], "add --telephony"),
        (["--telephony", "--loss", "0.9"], "between 0 and 0.5"),
        (["--telephony", "--jitter", "-5"], "between 0 and 500"),
    ],
)
def test_bad_line_options_get_a_one_line_error(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert replay_main([str(CALL), "--out", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ a whole phone call


@pytest.fixture(scope="module")
def phone_call(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("phone")
    out, db = tmp / "out", tmp / "orders.sqlite"
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    env["ORDERS_DB"] = str(db)
    proc = subprocess.run(
        [sys.executable, "agent.py", "replay", str(CALL), "--out", str(out), "--telephony"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "local-telephony" in proc.stdout
    return out, db


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c == "'" else " " for c in text.lower()).split()


def _wer(ref: list[str], hyp: list[str]) -> float:
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)] / max(len(ref), 1)


@pytest.mark.slow
def test_the_phone_call_is_heard_answered_and_placed(phone_call: tuple[Path, Path]) -> None:
    out, db = phone_call
    rows = [json.loads(line) for line in (out / "transcript.jsonl").read_text().splitlines()]
    users = [r for r in rows if r["role"] == "user"]
    assert len(users) == len(MANIFEST["caller_turns"]), users
    ref = [w for t in MANIFEST["caller_turns"] for w in _words(t["text"])]
    hyp = [w for r in users for w in _words(r["text"])]
    assert _wer(ref, hyp) <= 0.15, (ref, hyp)
    # every ordering turn gets a spoken answer of its own, between it and the next caller turn
    # and not an apology (the goodbye overlaps the agent's last reply on a busy 2-core box, and
    # is covered by the call-control tests)
    answers = turn_answers(rows, caller_turns(rows))
    assert len(answers) == len(users)
    assert [a.status for a in answers[:-1]] == ["answered"] * (len(users) - 1), answers
    with sqlite3.connect(db) as conn:
        placed = conn.execute(
            "SELECT m.name FROM orders o JOIN order_items oi USING (order_id) "
            "JOIN menu_items m USING (menu_item_id) WHERE o.status = 'finished'"
        ).fetchall()
    assert sorted(n for (n,) in placed) == ["Hot Chocolate", "Latte"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["brain"] == "local-telephony"
    assert "SIP caller" in summary["brain_reason"]
    tel = summary["telephony"]
    assert tel["sample_rate"] == SIP_RATE and tel["caller"]["sip.phoneNumber"]
    duration = summary["recording"]["duration"]
    assert tel["uplink"]["packets"] == pytest.approx(duration / 0.02, abs=2)
    # a clean line (the codec only): loss is measured, not tested, end to end (a packet lost
    # inside "latte" turns it into "a lot ahead" on the local STT: README, phone hearing)
    assert tel["uplink"]["dropped"] == 0 and tel["line"]["loss"] == 0
    assert tel["downlink"]["packets"] > 0


@pytest.mark.slow
def test_the_phone_call_is_recorded_at_8khz_both_ways(phone_call: tuple[Path, Path]) -> None:
    out, _ = phone_call
    ogg = (out / "call.ogg").read_bytes()
    head = ogg.index(b"OpusHead")
    assert struct.unpack("<I", ogg[head + 12 : head + 16])[0] == SIP_RATE
    with av.open(str(out / "call.ogg")) as container:
        stereo = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
        rate = container.streams.audio[0].codec_context.sample_rate
    assert stereo.shape[0] == 2
    for channel in (0, 1):  # caller and agent: both heard through the 8 kHz codec
        audio = stereo[channel]
        assert np.sqrt(np.mean(audio**2)) > 1e-3
        assert _high_band_share(audio, rate) < 0.01


# ------------------------------------------------------------------ keypad tones


def _keypad(keys: str, rate: int, *, tone_s: float = 0.1, gap_s: float = 0.1) -> np.ndarray:
    """DTMF as a phone's keypad makes it: row + column tone per key, silence between."""
    parts = [np.zeros(int(rate * 0.3))]
    for key in keys:
        row = next(i for i, r in enumerate(DTMF_KEYS) if key in r)
        col = DTMF_KEYS[row].index(key)
        t = np.arange(int(rate * tone_s)) / rate
        tone = np.sin(2 * np.pi * DTMF_ROWS[row] * t) + np.sin(2 * np.pi * DTMF_COLS[col] * t)
        parts += [tone * 6000, np.zeros(int(rate * gap_s))]
    return np.concatenate(parts).astype(np.int16)


def test_keypad_tones_are_detected_and_speech_is_not() -> None:
    presses = detect_dtmf(resample(_keypad("6304412#", 16000), 16000, SIP_RATE))
    assert "".join(p.digit for p in presses) == "6304412#"
    assert presses[0].start == pytest.approx(0.3, abs=0.03)
    assert all(p.end - p.start == pytest.approx(0.1, abs=0.03) for p in presses)
    # real speech (LibriVox) holds no key press; nor does the sample call's synthetic voice
    clips = real_clips()
    assert clips
    for clip in clips[:5]:
        pcm = (np.clip(load_real_clip(clip), -1, 1) * 32767).astype(np.int16)
        assert detect_dtmf(resample(pcm, 16000, SIP_RATE)) == []
    caller = load_recording(CALL)
    assert detect_dtmf(resample(caller.pcm, caller.sample_rate, SIP_RATE)) == []


async def test_replayed_key_presses_reach_the_room_as_sip_dtmf(tmp_path: Path) -> None:
    phone = from_args(telephony=True, loss=0.0, jitter=0.0, seed=0)
    assert phone is not None
    keys = _keypad("28740#", 16000)
    speech = load_recording(CALL)
    rec = dataclasses.replace(speech, pcm=np.concatenate([keys, speech.pcm[: 16000 * 2]]))
    carried = phone.carry_recording(rec)
    assert "".join(p.digit for p in phone.keypresses) == "28740#"
    # the tones are relayed out of band: cut from the audio the agent hears
    first = phone.keypresses[0]
    cut = carried.pcm[int(first.start * SIP_RATE) : int(first.end * SIP_RATE)]
    assert not cut.any()
    keypad = DtmfBuffer().attach(phone.room)
    t0 = time.time()
    phone.start_keypad(t0)
    assert await keypad.collect(max_digits=10, wait=3.0) == "28740"
    assert time.time() - t0 >= phone.keypresses[-1].end - 0.05  # in time with the recording
    assert phone.describe()["keypad"] == "28740#"
    phone.stop_keypad()
