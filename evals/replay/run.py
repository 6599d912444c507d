"""`python agent.py replay RECORDING --out DIR [--brain NAME] [--telephony [--loss P] [--jitter MS]]`

Plays a caller recording into the same agent a live call gets (same brain selection, same
`open_call`, same Agent and tools), in real time, with no LiveKit server, and writes:

- `DIR/transcript.jsonl`: one JSON object per conversation item (`role` user / assistant /
  tool, `text`, and `start`/`end` in seconds on the recording's timeline for speech);
- `DIR/call.ogg`: stereo Opus, left = caller, right = agent, one timeline (LiveKit's
  RecorderIO writes it, as in a recorded room);
- `DIR/summary.json`: the brain and per-turn latencies.

`--telephony` replays it as a phone call (`evals.replay.telephony`): 8 kHz G.711 mu-law both
ways over an optionally lossy, jittery line, the caller a SIP participant in the job's room;
`call.ogg` is then recorded at 8 kHz and `summary.json` gains `telephony`.

Outputs are staged in a hidden directory and moved into DIR only when all three are
complete, so a failed replay never leaves DIR half-written.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from livekit.agents import Agent, AgentSession, utils
from livekit.agents.voice.recorder_io import RecorderIO
from livekit.agents.voice.transcription.synchronizer import TranscriptSynchronizer

from agents.brain import BrainChoice, Caller, choose_brain, get_profile
from agents.brain.local_models import prewarm_local_models, wants_local_models
from agents.call import Call, open_call
from agents.config import ConfigError, Settings, load_env
from agents.log import logger
from agents.side_channel import (
    install_log_redaction,
    masked_rows,
    record_for,
    transcript_items,
    turn_latencies,
)
from agents.side_channel.cost import load_prices
from agents.side_channel.usage import usage_for
from tools.sensitive import mask_value

from .io import RealtimeAudioOutput, RecordingAudioInput
from .recording import Recording, RecordingError, load_recording
from .telephony import TelephonySim, from_args

OUTPUT_FILES = ("transcript.jsonl", "call.ogg", "summary.json")
SETTLE_S = 2.0
"""After the recording ends, the session must stay idle this long before the replay stops."""
MAX_TAIL_S = 60.0
"""Hard cap on how long the agent may keep working after the recording ends."""


class ReplayError(RuntimeError):
    pass


@dataclasses.dataclass
class ReplayResult:
    out_dir: Path
    brain: str
    transcript: list[dict[str, Any]]
    summary: dict[str, Any]


async def _wait_until_done(
    session: AgentSession, inp: RecordingAudioInput, closed: asyncio.Event
) -> None:
    """Until the recording has been played and the agent has settled, or the call ended
    (the agent hung up with `end_call`: the rest of the recording has no one to talk to)."""
    ended = asyncio.ensure_future(closed.wait())
    played = asyncio.ensure_future(inp.finished.wait())
    try:
        await asyncio.wait({ended, played}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        played.cancel()
        ended.cancel()
    deadline = time.monotonic() + MAX_TAIL_S
    idle_since: float | None = None
    while time.monotonic() < deadline and not closed.is_set():
        idle = session.agent_state in ("listening", "idle") and session.user_state != "speaking"
        now = time.monotonic()
        if idle:
            idle_since = idle_since or now
            if now - idle_since >= SETTLE_S:
                return
        else:
            idle_since = None
        await asyncio.sleep(0.1)
    if not closed.is_set():
        logger.warning("agent still busy %.0f s after the recording ended; stopping", MAX_TAIL_S)


async def play_into_session(
    session: AgentSession,
    agent: Agent,
    recording: Recording,
    *,
    ogg_path: Path,
    phone: TelephonySim | None = None,
) -> float:
    """Start `session` with `agent` on the recording (paced in real time) and a real-time
    sink, record both sides to `ogg_path`, wait until the agent is done, close the session.
    Returns the wall time of the recording's sample 0 (the timeline's zero)."""
    inp = RecordingAudioInput(recording.pcm, recording.sample_rate)
    # a phone call is recorded at 8 kHz, the agent's side after the SIP downlink
    rate: dict[str, Any] = {"sample_rate": phone.sample_rate} if phone else {}
    recorder = RecorderIO(agent_session=session, **rate)
    session.input.audio = recorder.record_input(inp)
    out = recorder.record_output(RealtimeAudioOutput())
    # words paced by the audio, as a room does it: an interrupted reply is kept in the
    # transcript only as far as the caller heard it
    synced = TranscriptSynchronizer(
        next_in_chain_audio=phone.output(out) if phone else out, next_in_chain_text=None
    )
    session.output.audio = synced.audio_output
    session.output.transcription = synced.text_output
    await recorder.start(output_path=ogg_path)
    # one timeline: sample 0 of the recording is the recorder's time zero
    t0 = recorder.recording_started_at
    assert t0 is not None
    inp.t0 = t0
    if phone:
        phone.start_keypad(t0)  # keypad tones in the recording arrive as SIP DTMF events
    if (record := record_for(session)) is not None:
        record.t0 = t0  # the call record shares the recording's timeline
    closed = asyncio.Event()
    session.on("close", lambda _: closed.set())
    # provider plugins need an HTTP session; outside a LiveKit job nobody else opens one
    async with utils.http_context.open():
        try:
            await session.start(agent=agent)
            await _wait_until_done(session, inp, closed)
            if record is not None:
                record.end("recording_ended")  # unless the agent hung up first
        finally:
            inp.close()
            if phone:
                phone.stop_keypad()
            await session.aclose()
            await recorder.aclose()
    return t0


async def replay_call(
    settings: Settings,
    choice: BrainChoice,
    recording: Recording,
    *,
    ogg_path: Path,
    phone: TelephonySim | None = None,
) -> tuple[Call, float]:
    """`open_call` (what a live job builds) played through `play_into_session`; returns the
    finished call and its timeline's zero. `phone`: over a simulated SIP hop, in a job whose
    room holds the SIP caller (`evals.replay.telephony`)."""
    with phone.job() if phone else contextlib.nullcontext():
        if phone:
            recording = phone.carry_recording(recording)
        call = await open_call(
            settings,
            choice,
            room=phone.room if phone else None,
            caller_kind="replay-sip" if phone else "replay",
        )
        try:
            t0 = await play_into_session(
                call.session, call.agent, recording, ogg_path=ogg_path, phone=phone
            )
        except BaseException:
            if call.record is not None:
                call.record.end("error")
            raise
        finally:
            if call.record is not None:
                call.record.save_audio(ogg_path)
            await call.aclose()
    return call, t0


async def run_replay(
    recording: Recording,
    out_dir: Path,
    settings: Settings,
    choice: BrainChoice,
    phone: TelephonySim | None = None,
) -> ReplayResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".replay-partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        call, t0 = await replay_call(
            settings, choice, recording, ogg_path=staging / "call.ogg", phone=phone
        )
        session = call.session
        # every string masked, the caller's turns as one stream (agents.side_channel)
        rows = masked_rows(transcript_items(session.history, t0))
        summary: dict[str, Any] = {
            "brain": choice.profile.name,
            "brain_reason": choice.explain(),
            "recording": {
                "path": str(recording.path),
                "duration": round(recording.duration, 3),
                "sample_rate": recording.sample_rate,
                "channels": recording.channels,
                "codec": recording.codec,
            },
            "turns": turn_latencies(session.history, t0),
        }
        if (meter := usage_for(session)) is not None:
            summary.update(meter.report())  # usage per engine and what the call cost
        if phone:
            summary["telephony"] = phone.describe()
        if call.turns is not None:
            # what failed and what the caller heard instead (agents.resilience)
            summary["errors"] = [e.as_dict() for e in call.turns.errors]
            summary["ended_by"] = call.turns.ended_by
            failover = call.turns.failover_to
            if failover:
                summary["failover_to"] = failover
        with open(staging / "transcript.jsonl", "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        (staging / "summary.json").write_text(json.dumps(mask_value(summary), indent=2) + "\n")
        missing = [n for n in OUTPUT_FILES if not (staging / n).is_file()]
        if missing:
            raise ReplayError(f"replay produced no {', '.join(missing)}")
        for name in OUTPUT_FILES:
            os.replace(staging / name, out_dir / name)
        return ReplayResult(
            out_dir=out_dir, brain=choice.profile.name, transcript=rows, summary=summary
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="agent.py replay",
        description="Replay a caller recording into the agent in real time, offline.",
    )
    p.add_argument(
        "recording",
        help="WAV (PCM16/mu-law/A-law), FLAC, OGG/Opus or MP3; stereo = channel 0 is the caller",
    )
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--brain", default="", help="brain profile (default: the selection policy)")
    p.add_argument(
        "--telephony",
        action="store_true",
        help="as a phone call: 8 kHz G.711 mu-law both ways, the caller a SIP participant",
    )
    p.add_argument("--loss", type=float, default=0.0, help="--telephony: packet loss, 0-0.5")
    p.add_argument("--jitter", type=float, default=0.0, help="--telephony: jitter (ms)")
    p.add_argument("--seed", type=int, default=0, help="--telephony: loss/jitter seed")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    load_env()
    install_log_redaction()
    try:
        settings = Settings.from_env()
        load_prices(settings.price_table)  # a bad PRICE_TABLE: one line, before the call
        if args.brain:
            get_profile(args.brain)  # validates the name
            settings = dataclasses.replace(settings, brain=args.brain.lower())
        recording = load_recording(args.recording)
        phone = from_args(
            telephony=args.telephony,
            loss=args.loss,
            jitter=args.jitter,
            seed=args.seed,
            brain=args.brain,
        )
        caller = Caller.from_participant(phone.caller.participant()) if phone else None
        metadata = phone.job_metadata if phone else ""
        choice = choose_brain(settings, job_metadata=metadata, caller=caller)
        if args.brain and choice.profile.name.removesuffix("-telephony") != args.brain.lower():
            raise ConfigError(f"brain {args.brain!r} cannot run here: {choice.explain()}")
    except (RecordingError, ConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        print(f"error: --out {out_dir} exists and is not a directory", file=sys.stderr)
        return 2
    logger.info(choice.explain())
    print(
        f"replaying {recording.path} ({recording.duration:.1f} s) on brain "
        f"{choice.profile.name!r} in real time...",
        file=sys.stderr,
    )
    try:
        if wants_local_models(settings, choice.profile):
            # as the worker's prewarm does: load the models before the call, not during it
            prewarm_local_models(settings)
        result = asyncio.run(run_replay(recording, out_dir, settings, choice, phone))
    except Exception as e:  # report one line, keep the traceback in the log
        logger.exception("replay failed")
        print(
            f"error: replay failed ({type(e).__name__}: {e}); nothing was written to {out_dir}",
            file=sys.stderr,
        )
        return 1
    turns = result.summary["turns"]
    answered = sum(1 for t in turns if t["agent_start"] is not None)
    print(f"brain: {result.brain}; {answered} caller turn(s) answered")
    errors = result.summary.get("errors") or []
    if errors:
        stages = sorted({e["stage"] for e in errors})
        print(f"{len(errors)} provider error(s) ({', '.join(stages)}): see summary.json")
    for name in OUTPUT_FILES:
        print(f"wrote {out_dir / name}")
    return 0
