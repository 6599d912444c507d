"""The real-time replay I/O: paced caller input and a sink that plays against the clock."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from livekit import rtc

from evals.replay.io import RealtimeAudioOutput, RecordingAudioInput


async def test_input_is_paced_in_real_time_then_silent() -> None:
    rate = 16000
    pcm = (np.ones(rate // 4) * 1000).astype(np.int16)  # 250 ms of "speech"
    inp = RecordingAudioInput(pcm, rate)
    start = time.time()
    frames = [await inp.__anext__() for _ in range(20)]  # 400 ms
    elapsed = time.time() - start
    assert 0.38 <= elapsed < 0.6, elapsed
    assert all(f.samples_per_channel == 320 for f in frames)
    assert inp.finished.is_set()
    levels = [np.abs(np.frombuffer(f.data, dtype=np.int16)).max() for f in frames]
    assert levels[:12] == [1000] * 12 and levels[-1] == 0  # audio, then silence
    inp.close()
    try:
        await inp.__anext__()
        raise AssertionError("closed input must stop")
    except StopAsyncIteration:
        pass


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
    started = asyncio.Event()
    out.on("playback_started", lambda _: started.set())
    for _ in range(50):
        await out.capture_frame(_frame(20))  # 1 s
    out.flush()
    # timed from the moment playback really started, so a busy machine cannot skew it
    await asyncio.wait_for(started.wait(), timeout=5)
    t = time.monotonic()
    await asyncio.sleep(0.2)
    out.clear_buffer()
    played = time.monotonic() - t
    ev = await out.wait_for_playout()
    assert ev.interrupted
    # cut where the barge-in came: what was played is what the clock says, not the full second
    assert 0.1 <= ev.playback_position < 0.9
    assert abs(ev.playback_position - played) <= 0.12, (ev.playback_position, played)
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
