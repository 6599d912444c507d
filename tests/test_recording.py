"""Recordings `agent.py replay` accepts, and the one-line errors for the ones it cannot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from evals.replay.recording import RecordingError, load_recording

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000


def _tone(seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)


def _encode_av(path: Path, pcm: np.ndarray, rate: int, codec: str, fmt: str) -> None:
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.mark.parametrize(
    "name,subtype,rate",
    [
        ("pcm16.wav", "PCM_16", 16000),
        ("ulaw.wav", "ULAW", 8000),
        ("alaw.wav", "ALAW", 8000),
        ("cd.flac", "PCM_16", 44100),
    ],
)
def test_soundfile_formats(tmp_path: Path, name: str, subtype: str, rate: int) -> None:
    p = tmp_path / name
    sf.write(p, _tone(1.0, rate), rate, subtype=subtype)
    rec = load_recording(p)
    assert rec.sample_rate == rate
    assert abs(rec.duration - 1.0) < 0.01
    assert rec.pcm.dtype == np.int16 and np.abs(rec.pcm).max() > 5000


@pytest.mark.parametrize(
    "name,codec,fmt,rate",
    [("call.ogg", "libopus", "ogg", 48000), ("call.mp3", "libmp3lame", "mp3", 22050)],
)
def test_compressed_formats(tmp_path: Path, name: str, codec: str, fmt: str, rate: int) -> None:
    p = tmp_path / name
    _encode_av(p, _tone(1.0, rate), rate, codec, fmt)
    rec = load_recording(p)
    assert rec.sample_rate == rate
    assert 0.9 < rec.duration < 1.2


def test_stereo_takes_channel_0_as_caller(tmp_path: Path) -> None:
    caller = _tone(1.0)
    stereo = np.stack([caller, np.zeros_like(caller)], axis=1)
    p = tmp_path / "stereo.wav"
    sf.write(p, stereo, RATE, subtype="PCM_16")
    rec = load_recording(p)
    assert rec.channels == 2
    assert np.array_equal(rec.pcm, caller)


def test_sample_call_ships_and_loads() -> None:
    rec = load_recording(ROOT / "samples" / "coffee_call.wav")
    assert rec.sample_rate == 16000 and 40 < rec.duration < 60


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    good = tmp / "good.wav"
    sf.write(good, _tone(1.0), RATE, subtype="PCM_16")
    raw = good.read_bytes()
    truncated = tmp / "truncated.wav"
    truncated.write_bytes(raw[:20])
    empty = tmp / "empty.wav"
    empty.write_bytes(b"")
    wrong_ext = tmp / "actually_wav.mp3"
    wrong_ext.write_bytes(raw)
    text = tmp / "notes.txt"
    text.write_text("hello")
    garbage = tmp / "garbage.flac"
    garbage.write_bytes(b"\x00\x01not flac at all" * 10)
    zero = tmp / "zero.wav"
    sf.write(zero, np.zeros(0, dtype=np.int16), RATE, subtype="PCM_16")
    silent = tmp / "silent.wav"  # 3 s of digital silence: a recording with no audio in it
    sf.write(silent, np.zeros(3 * RATE, dtype=np.int16), RATE, subtype="PCM_16")
    return {
        "truncated header": (truncated, "truncated or corrupt"),
        "empty file": (empty, "empty file"),
        "wrong extension": (wrong_ext, "does not match its content"),
        "unsupported extension": (text, "unsupported extension"),
        "garbage": (garbage, "not a readable FLAC"),
        "0 s of audio": (zero, "no audio (0 s)"),
        "digital silence": (silent, "the caller channel is silent"),
        "missing": (tmp / "nope.wav", "no such file"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "truncated header",
        "empty file",
        "wrong extension",
        "unsupported extension",
        "garbage",
        "0 s of audio",
        "digital silence",
        "missing",
    ],
)
def test_bad_recordings_get_a_clear_error(tmp_path: Path, case: str) -> None:
    path, message = _bad_files(tmp_path)[case]
    with pytest.raises(RecordingError, match=re.escape(message)) as info:
        load_recording(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "case", ["truncated header", "empty file", "wrong extension", "0 s of audio", "digital silence"]
)
def test_replay_cli_exits_2_and_writes_nothing(tmp_path: Path, case: str) -> None:
    path, message = _bad_files(tmp_path)[case]
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "agent.py"), "replay", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith("error: ") and message in lines[-1]
    assert not out.exists()


def test_replay_cli_rejects_unknown_brain(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "agent.py"),
            "replay",
            str(ROOT / "samples" / "coffee_call.wav"),
            "--out",
            str(tmp_path / "o"),
            "--brain",
            "telepathy",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "unknown brain 'telepathy'" in proc.stderr


def _with_header(
    tmp: Path, name: str, *, rate: int | None = None, data_bytes: int | None = None
) -> Path:
    """A 1 s 16 kHz PCM16 WAV whose header claims another sample rate and/or data size."""
    p = tmp / name
    sf.write(p, _tone(1.0), RATE, subtype="PCM_16")
    raw = bytearray(p.read_bytes())
    assert raw[:4] == b"RIFF" and raw[36:40] == b"data"
    if rate is not None:
        raw[24:28] = rate.to_bytes(4, "little")
        raw[28:32] = (rate * 2).to_bytes(4, "little")
    if data_bytes is not None:
        raw[40:44] = data_bytes.to_bytes(4, "little")
    p.write_bytes(bytes(raw))
    return p


@pytest.mark.parametrize("rate", [1, 10, 4000, 500_000_000])
def test_a_sample_rate_out_of_range_is_refused(tmp_path: Path, rate: int) -> None:
    path = _with_header(tmp_path, f"r{rate}.wav", rate=rate)
    with pytest.raises(RecordingError, match=f"sample rate {rate} Hz is out of range") as info:
        load_recording(path)
    assert "(8000-192000 Hz)" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("rate", [8000, 192_000])
def test_the_rate_bounds_themselves_are_accepted(tmp_path: Path, rate: int) -> None:
    p = tmp_path / f"ok{rate}.wav"
    sf.write(p, _tone(0.5, rate), rate, subtype="PCM_16")
    assert load_recording(p).sample_rate == rate


def test_a_two_hour_file_is_refused_unread(tmp_path: Path) -> None:
    size = 2 * 3600 * RATE * 2  # two hours of 16 kHz PCM16 (a sparse file: no disk used)
    path = _with_header(tmp_path, "long.wav", data_bytes=size)
    with path.open("r+b") as f:
        f.truncate(44 + size)
    with pytest.raises(RecordingError, match=r"7200 s of audio; replay takes at most 1800 s"):
        load_recording(path)


def test_a_long_file_without_a_duration_stops_decoding_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evals.replay import recording

    p = tmp_path / "three.wav"
    sf.write(p, _tone(3.0), RATE, subtype="PCM_16")
    monkeypatch.setattr(recording, "MAX_DURATION_S", 2.0)
    assert recording._declared_duration is not None
    with pytest.raises(RecordingError, match=r"3 s of audio; replay takes at most 2 s"):
        load_recording(p)
    # a header that says nothing (or lies): the decoder stops once past the limit
    monkeypatch.setattr(recording, "_declared_duration", lambda *_: None)
    with pytest.raises(RecordingError, match=r"more than 2 s of audio; replay takes at most 2 s"):
        load_recording(p)
    monkeypatch.setattr(recording, "MAX_DURATION_S", 3.5)
    assert abs(load_recording(p).duration - 3.0) < 0.01


@pytest.mark.parametrize(("rate", "message"), [(1, "sample rate 1 Hz"), (10, "sample rate 10 Hz")])
def test_replay_cli_refuses_a_1_hz_header_at_once(tmp_path: Path, rate: int, message: str) -> None:
    """It looped forever before: the bound is checked before any model loads."""
    path = _with_header(tmp_path, f"r{rate}.wav", rate=rate)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "agent.py"), "replay", str(path), "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    last = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1]
    assert last.startswith("error: ") and message in last and not out.exists()


def test_a_colon_in_the_name_is_a_file_not_a_protocol(tmp_path: Path) -> None:
    p = tmp_path / "javascript:alert(1).wav"
    sf.write(p, _tone(1.0), RATE, subtype="PCM_16")
    assert load_recording(p).sample_rate == RATE
