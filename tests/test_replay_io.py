"""The real-time replay I/O: paced caller input and a sink that plays against the clock."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import numpy as np
import pytest
from livekit import rtc
from livekit.agents.voice.io import PlaybackProgressedEvent

from evals.replay import io as replay_io
from evals.replay.io import RealtimeAudioOutput, RecordingAudioInput


class VirtualClock:
    """Stands in for the wall clock in `evals.replay.io`: `sleep` advances it at once and
    records what was asked, so the pacing schedule is checked exactly, whatever the load."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    clock = VirtualClock()
    monkeypatch.setattr(replay_io, "time", SimpleNamespace(time=clock.time))
    monkeypatch.setattr(
        replay_io, "asyncio", SimpleNamespace(sleep=clock.sleep, Event=asyncio.Event)
    )
    return clock


async def test_input_delivers_each_frame_once_captured_then_silence(clock: VirtualClock) -> None:
    rate = 16000
    pcm = (np.ones(rate // 4) * 1000).astype(np.int16)  # 250 ms of "speech"
    inp = RecordingAudioInput(pcm, rate)
    delivered = []
    frames = []
    for _ in range(20):  # 400 ms
        frames.append(await inp.__anext__())
        delivered.append(round(clock.now - 1000.0, 6))
    # frame k leaves once its 20 ms have been captured: never earlier, never later
    assert delivered == [round(0.02 * (k + 1), 6) for k in range(20)]
    assert all(f.samples_per_channel == 320 for f in frames)
    assert inp.finished.is_set()
    levels = [np.abs(np.frombuffer(f.data, dtype=np.int16)).max() for f in frames]
    assert levels[:12] == [1000] * 12 and levels[-1] == 0  # audio, then silence
    inp.close()
    with pytest.raises(StopAsyncIteration):
        await inp.__anext__()


async def test_late_input_catches_up_instead_of_drifting(clock: VirtualClock) -> None:
    """A stalled event loop delays frames; the schedule is anchored at sample 0, so the late
    frames then come without waiting and the recording's timeline does not drift."""
    inp = RecordingAudioInput(np.zeros(16000, dtype=np.int16), 16000, t0=clock.now - 0.1)
    for _ in range(5):  # 100 ms already "captured" while the loop was busy
        await inp.__anext__()
    assert clock.sleeps == []
    await inp.__anext__()
    assert clock.sleeps == [pytest.approx(0.02)]
    assert inp.t0 is not None and clock.now - inp.t0 == pytest.approx(0.12)


async def test_input_never_runs_ahead_of_the_real_clock() -> None:
    rate = 16000
    inp = RecordingAudioInput(np.zeros(rate, dtype=np.int16), rate)
    for k in range(10):
        await inp.__anext__()
        assert inp.t0 is not None
        # causality only (a busy machine may be late, never early); 2 ms of timer slack
        assert time.time() - inp.t0 >= 0.02 * (k + 1) - 0.002


def _frame(ms: int, rate: int = 24000) -> rtc.AudioFrame:
    n = rate * ms // 1000
    return rtc.AudioFrame(
        data=b"\x01\x00" * n, sample_rate=rate, num_channels=1, samples_per_channel=n
    )


async def test_output_plays_in_real_time_and_reports() -> None:
    out = RealtimeAudioOutput()
    events: list[str] = []
    out.on("playback_started", lambda ev: events.append("started"))
    out.on(
        "playback_finished",
        lambda ev: events.append(f"finished {ev.playback_position:.2f} {ev.interrupted}"),
    )
    t = time.time()
    for _ in range(10):
        await out.capture_frame(_frame(30))  # 300 ms, pushed faster than real time
    out.flush()
    ev = await out.wait_for_playout()
    assert time.time() - t >= 0.28
    assert not ev.interrupted and abs(ev.playback_position - 0.3) < 1e-6
    assert events == ["started", "finished 0.30 False"]


async def test_barge_in_cuts_playback() -> None:
    out = RealtimeAudioOutput()
    progressed: list[float] = []
    started_at: list[float] = []
    first_frame_heard = asyncio.Event()

    def on_progress(ev: PlaybackProgressedEvent) -> None:
        progressed.append(ev.duration)
        first_frame_heard.set()

    out.on("playback_started", lambda ev: started_at.append(ev.created_at))
    out.on("playback_progressed", on_progress)
    for _ in range(250):
        await out.capture_frame(_frame(20))  # 5 s
    out.flush()
    await asyncio.wait_for(first_frame_heard.wait(), timeout=10)
    out.clear_buffer()  # the caller talks over the agent
    cut_at = time.time()
    heard_before_cut = len(progressed)
    ev = await out.wait_for_playout()
    assert ev.interrupted
    # cut where the barge-in came: the position is what had been heard, nothing after the cut
    assert len(progressed) == heard_before_cut
    assert ev.playback_position == pytest.approx(sum(progressed))
    assert 0.02 <= ev.playback_position < 5.0
    # and never more than the wall clock allowed since playback started (real time, not faster)
    assert ev.playback_position <= cut_at - started_at[0] + 1e-3
    # the next segment plays normally
    await out.capture_frame(_frame(20))
    out.flush()
    ev = await out.wait_for_playout()
    assert not ev.interrupted and abs(ev.playback_position - 0.02) < 1e-6


async def test_pause_stops_the_clock_and_resume_continues() -> None:
    out = RealtimeAudioOutput()
    assert out.can_pause
    for _ in range(15):
        await out.capture_frame(_frame(20))  # 300 ms
    out.flush()
    t = time.time()
    await asyncio.sleep(0.1)
    out.pause()
    await asyncio.sleep(0.25)
    out.resume()
    ev = await out.wait_for_playout()
    elapsed = time.time() - t
    assert not ev.interrupted and abs(ev.playback_position - 0.3) < 1e-6
    assert elapsed >= 0.5, elapsed  # 300 ms of audio + 250 ms paused
