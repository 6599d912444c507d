"""A simulated SIP hop for `agent.py replay --telephony`: what a phone call does to a call.

- **Uplink** (caller -> agent): the caller's recording is resampled to 8 kHz
  (`rtc.AudioResampler`), cut into 20 ms RTP packets of G.711 mu-law (FFmpeg's `pcm_mulaw`
  through PyAV), sent over a lossy, jittery line (`LineConditions`), and decoded back to 8 kHz
  PCM, which the session hears (a SIP bridge hands the agent the decoded audio).
- **Downlink** (agent -> caller): `MulawDownlink` sits above the recorder in the output chain
  with `sample_rate=8000` (LiveKit resamples the TTS audio to it), and passes every 20 ms of the
  agent's voice through the same codec and line before it is recorded, so `call.ogg` holds
  what the caller hears, at 8 kHz.
- **The caller** is a SIP participant (`PhoneCaller`): kind `PARTICIPANT_KIND_SIP` and the
  attributes LiveKit's SIP service sets (`sip.phoneNumber`, `sip.trunkPhoneNumber`,
  `sip.callID`, `sip.callStatus`, ...), in a room (`rtc.Room`, never connected) installed as
  the job's room by `fake_job_context`, so brain selection (telephony variant), the keypad
  buffer and the call-control tools see exactly what a phone call shows them.

Loss and jitter are drawn from `numpy.random.default_rng(seed)`, one stream per direction:
the same seed gives the same lost packets. Jitter is a per-packet delay |N(0, jitter)|; a
packet later than the jitter buffer (`jitter_buffer_ms`) is dropped like a lost one (its
fixed delay is not added to the timeline, so the transcript keeps the recording's times).
A lost packet is played as silence (no concealment), the worst case a bridge can deliver.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from livekit import rtc
from livekit.agents import JobContext
from livekit.agents.testing import fake_job_context
from livekit.agents.voice import io

from .recording import Recording

SIP_RATE = 8000
PACKET_SAMPLES = SIP_RATE * 20 // 1000
"""20 ms of 8 kHz audio: one RTP packet of G.711 (160 bytes)."""
MULAW_SILENCE = 0xFF
"""The mu-law byte for 0."""
_DTMF_CODES = {d: i for i, d in enumerate("0123456789*#ABCD")}
"""RFC 4733 event codes of the keypad keys."""


class MulawCodec:
    """G.711 mu-law (FFmpeg's pcm_mulaw through PyAV), 8 kHz mono, int16 <-> bytes."""

    def __init__(self) -> None:
        self._enc = av.CodecContext.create("pcm_mulaw", "w")
        self._enc.sample_rate = SIP_RATE  # type: ignore[attr-defined]
        self._enc.layout = "mono"  # type: ignore[attr-defined]
        self._enc.format = "s16"  # type: ignore[attr-defined]
        self._enc.open()
        self._dec = av.CodecContext.create("pcm_mulaw", "r")
        self._dec.sample_rate = SIP_RATE  # type: ignore[attr-defined]
        self._dec.layout = "mono"  # type: ignore[attr-defined]
        self._dec.open()

    def encode(self, pcm: np.ndarray) -> bytes:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SIP_RATE
        return b"".join(bytes(p) for p in self._enc.encode(frame))  # type: ignore[attr-defined]

    def decode(self, payload: bytes) -> np.ndarray:
        frames = self._dec.decode(av.Packet(payload))  # type: ignore[attr-defined]
        if not frames:
            return np.zeros(0, np.int16)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16)


@dataclass(frozen=True)
class LineConditions:
    loss: float = 0.0
    """Probability that a 20 ms packet is lost, 0 to 0.5."""
    jitter_ms: float = 0.0
    """Standard deviation of a packet's extra delay, 0 to 500 ms."""
    jitter_buffer_ms: float = 60.0
    """Packets delayed more than this miss their playout and are dropped."""
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss <= 0.5:
            raise ValueError(f"--loss {self.loss} must be between 0 and 0.5")
        if not 0.0 <= self.jitter_ms <= 500.0:
            raise ValueError(f"--jitter {self.jitter_ms} must be between 0 and 500 ms")

    def describe(self) -> dict[str, float]:
        return {
            "loss": self.loss,
            "jitter_ms": self.jitter_ms,
            "jitter_buffer_ms": self.jitter_buffer_ms,
            "seed": self.seed,
        }


class PhoneLine:
    """One direction of the SIP hop: mu-law packets over a seeded lossy, jittery line."""

    def __init__(self, conditions: LineConditions, *, stream: int) -> None:
        self.conditions = conditions
        self._codec = MulawCodec()
        self._rng = np.random.default_rng([conditions.seed, stream])
        self.packets = 0
        self.dropped: list[int] = []
        """Indices of the packets that never arrived (lost or late)."""

    def _arrives(self) -> bool:
        c = self.conditions
        lost = c.loss > 0 and self._rng.random() < c.loss
        late = c.jitter_ms > 0 and abs(self._rng.normal(0.0, c.jitter_ms)) > c.jitter_buffer_ms
        return not (lost or late)

    def carry(self, pcm8k: np.ndarray) -> np.ndarray:
        """8 kHz int16 in, 8 kHz int16 out: packetised, encoded, carried, decoded."""
        out: list[np.ndarray] = []
        for start in range(0, len(pcm8k), PACKET_SAMPLES):
            chunk = pcm8k[start : start + PACKET_SAMPLES]
            payload = self._codec.encode(chunk)
            self.packets += 1
            if not self._arrives():
                self.dropped.append(self.packets - 1)
                payload = bytes([MULAW_SILENCE]) * len(payload)
            out.append(self._codec.decode(payload))
        return np.concatenate(out) if out else np.zeros(0, np.int16)

    def stats(self) -> dict[str, int]:
        return {"packets": self.packets, "dropped": len(self.dropped)}


def resample(pcm: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    """int16 mono resampled with LiveKit's `rtc.AudioResampler` (same length in time)."""
    if rate == to_rate:
        return pcm.astype(np.int16, copy=False)
    resampler = rtc.AudioResampler(input_rate=rate, output_rate=to_rate, num_channels=1)
    out: list[np.ndarray] = []
    step = rate // 10
    for start in range(0, len(pcm), step):
        chunk = np.ascontiguousarray(pcm[start : start + step], dtype=np.int16)
        for f in resampler.push(rtc.AudioFrame(chunk.tobytes(), rate, 1, len(chunk))):
            out.append(np.frombuffer(f.data, dtype=np.int16))
    for f in resampler.flush():
        out.append(np.frombuffer(f.data, dtype=np.int16))
    y = np.concatenate(out) if out else np.zeros(0, np.int16)
    n = round(len(pcm) * to_rate / rate)
    return np.pad(y, (0, max(0, n - len(y))))[:n].astype(np.int16)


def telephone_audio(pcm: np.ndarray, rate: int, line: PhoneLine | None = None) -> np.ndarray:
    """What a SIP bridge delivers for `pcm`: 8 kHz int16 through G.711 mu-law (and `line`)."""
    return (line or PhoneLine(LineConditions(), stream=0)).carry(resample(pcm, rate, SIP_RATE))


class MulawDownlink(io.AudioOutput):
    """Agent audio through the phone line before the rest of the output chain (the recorder,
    the playout): LiveKit resamples TTS frames to 8 kHz for it (`sample_rate`)."""

    def __init__(self, line: PhoneLine, next_in_chain: io.AudioOutput) -> None:
        super().__init__(
            label="SipDownlink",
            capabilities=io.AudioOutputCapabilities(pause=True),
            next_in_chain=next_in_chain,
            sample_rate=SIP_RATE,
        )
        self._line = line

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if frame.sample_rate != SIP_RATE or frame.num_channels != 1:
            raise ValueError(f"the SIP downlink takes 8 kHz mono, got {frame.sample_rate} Hz")
        pcm = np.frombuffer(frame.data, dtype=np.int16)
        carried = self._line.carry(pcm)
        assert self.next_in_chain is not None
        await self.next_in_chain.capture_frame(
            rtc.AudioFrame(carried.tobytes(), SIP_RATE, 1, len(carried))
        )

    def flush(self) -> None:
        super().flush()
        if self.next_in_chain is not None:
            self.next_in_chain.flush()

    def clear_buffer(self) -> None:
        if self.next_in_chain is not None:
            self.next_in_chain.clear_buffer()


DTMF_ROWS = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")
DTMF_MIN_FRAMES = 2
"""A key is pressed for at least 40 ms (ITU-T Q.24 asks receivers to accept 40 ms)."""


def _goertzel(frames: np.ndarray, freq: float, rate: int) -> np.ndarray:
    """Power at `freq` of each row of `frames` (float64), by the Goertzel recurrence."""
    w = 2.0 * np.cos(2.0 * np.pi * freq / rate)
    s1 = np.zeros(len(frames))
    s2 = np.zeros(len(frames))
    for x in frames.T:
        s1, s2 = x + w * s1 - s2, s1
    return s1 * s1 + s2 * s2 - w * s1 * s2


@dataclass(frozen=True)
class KeyPress:
    start: float
    end: float
    """Seconds on the recording's timeline; the digit is reported at `end` (key release)."""
    digit: str


def detect_dtmf(pcm8k: np.ndarray) -> list[KeyPress]:
    """Keypad tones (DTMF) in 8 kHz audio, as a SIP bridge detects them and sends them on as
    `sip_dtmf_received` events: per 20 ms frame, one row and one column tone that together
    hold most of the frame's energy, each 8 dB above the other tones of its group."""
    n = len(pcm8k) // PACKET_SAMPLES
    if n == 0:
        return []
    frames = pcm8k[: n * PACKET_SAMPLES].astype(np.float64).reshape(n, PACKET_SAMPLES)
    frames = frames * np.hanning(PACKET_SAMPLES)
    energy = (frames**2).sum(axis=1) * PACKET_SAMPLES / 2 + 1e-9
    rows = np.stack([_goertzel(frames, f, SIP_RATE) for f in DTMF_ROWS], axis=1)
    cols = np.stack([_goertzel(frames, f, SIP_RATE) for f in DTMF_COLS], axis=1)
    keys: list[str] = []
    for i in range(n):
        r, c = rows[i], cols[i]
        ri, ci = int(r.argmax()), int(c.argmax())
        r_rest, c_rest = np.delete(r, ri).max(), np.delete(c, ci).max()
        tonal = (r[ri] + c[ci]) / energy[i]
        clear = r[ri] > 6.3 * r_rest and c[ci] > 6.3 * c_rest  # 8 dB
        keys.append(DTMF_KEYS[ri][ci] if tonal > 0.5 and clear and energy[i] > 1e6 else "")
    presses: list[KeyPress] = []
    i = 0
    while i < n:
        j = i
        while j < n and keys[j] and keys[j] == keys[i]:
            j += 1
        if keys[i] and j - i >= DTMF_MIN_FRAMES:
            frame_s = PACKET_SAMPLES / SIP_RATE
            presses.append(KeyPress(i * frame_s, j * frame_s, keys[i]))
        i = max(j, i + 1)
    return presses


def _sip_attributes(caller: PhoneCaller) -> dict[str, str]:
    return {
        "sip.phoneNumber": caller.phone_number,
        "sip.trunkPhoneNumber": caller.trunk_phone_number,
        "sip.callID": caller.call_id,
        "sip.callStatus": "active",
        "sip.trunkID": caller.trunk_id,
        "sip.ruleID": caller.rule_id,
        **caller.extra_attributes,
    }


@dataclass(frozen=True)
class PhoneCaller:
    """The caller as LiveKit's SIP service presents an inbound call."""

    phone_number: str = "+15550100123"
    trunk_phone_number: str = "+15550199000"
    call_id: str = field(default_factory=lambda: f"SCL_{uuid.uuid4().hex[:12]}")
    trunk_id: str = "ST_replay"
    rule_id: str = "SDR_replay"
    extra_attributes: dict[str, str] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        return f"sip_{self.phone_number}"

    def attributes(self) -> dict[str, str]:
        return _sip_attributes(self)

    def participant(self) -> rtc.RemoteParticipant:
        """A real `rtc.RemoteParticipant` (no native handle: it never joined a server)."""
        from livekit.rtc._proto import handle_pb2, participant_pb2

        info = participant_pb2.ParticipantInfo(
            sid=f"PA_{self.call_id[-8:]}",
            identity=self.identity,
            name=f"Phone {self.phone_number}",
            kind=rtc.ParticipantKind.PARTICIPANT_KIND_SIP,
            attributes=self.attributes(),
        )
        owned = participant_pb2.OwnedParticipant(handle=handle_pb2.FfiOwnedHandle(id=0), info=info)
        return rtc.RemoteParticipant(owned)

    def room(self, name: str = "") -> rtc.Room:
        """An unconnected room whose remote participants are this caller (as the agent sees
        the call's room once the caller has joined). Call it with an event loop running
        (`rtc.Room` binds to the current loop)."""
        room = rtc.Room()
        p = self.participant()
        room._remote_participants[p.identity] = p
        room._info.name = name or f"call-{self.call_id}"
        return room


@dataclass
class TelephonySim:
    """Everything `--telephony` changes in a replay."""

    conditions: LineConditions = dataclasses.field(default_factory=LineConditions)
    caller: PhoneCaller = dataclasses.field(default_factory=PhoneCaller)
    job_metadata: str = ""

    def __post_init__(self) -> None:
        self.uplink = PhoneLine(self.conditions, stream=1)
        self.downlink = PhoneLine(self.conditions, stream=2)
        self.room = self.caller.room()
        self.keypresses: list[KeyPress] = []
        self._timers: list[asyncio.TimerHandle] = []

    @property
    def sample_rate(self) -> int:
        return SIP_RATE

    def carry_recording(self, recording: Recording) -> Recording:
        """The caller's recording as the agent hears it on the phone (8 kHz, mu-law, line).
        Keypad tones in it become `keypresses` (sent as events by `start_keypad`) and are
        cut from the audio, as a bridge that relays DTMF out of band (RFC 4733) does."""
        pcm8k = resample(recording.pcm, recording.sample_rate, SIP_RATE)
        self.keypresses = detect_dtmf(pcm8k)
        for press in self.keypresses:
            pcm8k[round(press.start * SIP_RATE) : round(press.end * SIP_RATE)] = 0
        pcm = self.uplink.carry(pcm8k)
        return dataclasses.replace(recording, pcm=pcm, sample_rate=SIP_RATE)

    def start_keypad(self, t0: float) -> None:
        """Deliver the recording's key presses to the room as `sip_dtmf_received` events, each
        when its key is released; `t0` is the wall time of the recording's sample 0."""
        loop = asyncio.get_running_loop()
        for press in self.keypresses:
            event = rtc.SipDTMF(code=_DTMF_CODES[press.digit], digit=press.digit)
            delay = max(0.0, t0 + press.end - time.time())
            self._timers.append(loop.call_later(delay, self.room.emit, "sip_dtmf_received", event))

    def stop_keypad(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def output(self, next_in_chain: io.AudioOutput) -> io.AudioOutput:
        return MulawDownlink(self.downlink, next_in_chain)

    @contextlib.contextmanager
    def job(self) -> Iterator[JobContext]:
        """The call's (fake) LiveKit job: its room holds the SIP caller."""
        with fake_job_context(room=self.room, job_metadata=self.job_metadata) as ctx:
            yield ctx

    def describe(self) -> dict[str, Any]:
        return {
            "codec": "G.711 mu-law (pcm_mulaw)",
            "sample_rate": SIP_RATE,
            "caller": {"identity": self.caller.identity, **self.caller.attributes()},
            "line": self.conditions.describe(),
            "uplink": self.uplink.stats(),
            "downlink": self.downlink.stats(),
            "keypad": "".join(p.digit for p in self.keypresses),
        }


def from_args(
    *, telephony: bool, loss: float, jitter: float, seed: int, brain: str = ""
) -> TelephonySim | None:
    """The `--telephony [--loss P] [--jitter MS] [--seed N]` options of `agent.py replay`;
    `--brain` travels as the SIP dispatch rule's job metadata `{"brain": ...}`.
    Raises ValueError (one line) on bad values."""
    if not telephony:
        if loss or jitter:
            raise ValueError("--loss and --jitter simulate a phone line: add --telephony")
        return None
    conditions = LineConditions(loss=loss, jitter_ms=jitter, seed=seed)
    metadata = json.dumps({"brain": brain.lower()}) if brain else ""
    return TelephonySim(conditions=conditions, job_metadata=metadata)
