"""The real LiveKit provider plugins against the loopback servers (offline, no models)."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
import numpy as np
import pytest
from livekit import rtc
from livekit.agents import llm, stt
from livekit.agents.utils import is_given
from livekit.plugins import cartesia, deepgram, openai

from tests.loopback import (
    CartesiaServer,
    DeepgramServer,
    OpenAIChatServer,
    OpenAIRealtimeServer,
    ToolCall,
    echo,
    sequence,
    tool_then_text,
)

TIMEOUT = 20.0


@pytest.fixture
async def http_session():
    async with aiohttp.ClientSession() as session:
        yield session


@llm.function_tool
async def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


# ------------------------------------------------------------------------- audio helpers


def voiced(seconds: float, sample_rate: int, f0: float = 150.0) -> np.ndarray:
    """A speech-like voiced signal: harmonics of f0 under a 4 Hz syllable envelope."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    sig = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    env = 0.25 + 0.75 * np.sin(np.pi * 4 * t) ** 2
    return (0.25 * sig * env).astype(np.float32)


def utterances(plan: list[tuple[str, float]], sample_rate: int) -> np.ndarray:
    parts = [
        voiced(d, sample_rate) if kind == "speech" else np.zeros(int(d * sample_rate), np.float32)
        for kind, d in plan
    ]
    return np.concatenate(parts)


def frames_of(signal: np.ndarray, sample_rate: int, ms: int = 20) -> list[rtc.AudioFrame]:
    pcm = (np.clip(signal, -1, 1) * 32767).astype(np.int16)
    n = sample_rate * ms // 1000
    out = []
    for i in range(0, len(pcm), n):
        chunk = pcm[i : i + n]
        if len(chunk) < n:
            chunk = np.pad(chunk, (0, n - len(chunk)))
        out.append(
            rtc.AudioFrame(
                data=chunk.tobytes(),
                sample_rate=sample_rate,
                num_channels=1,
                samples_per_channel=n,
            )
        )
    return out


def frames_duration(frames: list[rtc.AudioFrame]) -> float:
    return sum(f.samples_per_channel / f.sample_rate for f in frames)


def frames_rms(frames: list[rtc.AudioFrame]) -> float:
    data = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames]).astype(float)
    return float(np.sqrt(np.mean(data**2)))


# ------------------------------------------------------------------------- OpenAI chat


async def _collect_chat(stream: llm.LLMStream) -> tuple[str, list[llm.FunctionToolCall], list]:
    text, calls, usage = "", [], []
    async with stream:
        async for chunk in stream:
            if chunk.delta:
                text += chunk.delta.content or ""
                calls.extend(chunk.delta.tool_calls or [])
            if chunk.usage:
                usage.append(chunk.usage)
    return text, calls, usage


async def test_openai_chat_tool_call_then_text() -> None:
    script = tool_then_text("get_weather", {"city": "Paris"}, "It is sunny in Paris today.")
    async with OpenAIChatServer(script) as srv:
        model = openai.LLM(model="gpt-4.1-mini", base_url=srv.base_url, api_key="test")
        try:
            ctx = llm.ChatContext()
            ctx.add_message(role="user", content="What's the weather in Paris?")

            text, calls, usage = await _collect_chat(model.chat(chat_ctx=ctx, tools=[get_weather]))
            assert text == ""
            assert len(calls) == 1
            assert calls[0].name == "get_weather"
            assert json.loads(calls[0].arguments) == {"city": "Paris"}
            assert calls[0].call_id.startswith("call_")
            assert usage and usage[0].total_tokens > 0

            req = srv.requests[0]
            assert req["stream"] is True and req["stream_options"] == {"include_usage": True}
            assert [t["function"]["name"] for t in req["tools"]] == ["get_weather"]
            assert req["messages"][-1] == {
                "role": "user",
                "content": "What's the weather in Paris?",
            }

            # second round: the tool output goes back, the model answers in text
            ctx.insert(
                [
                    llm.FunctionCall(
                        call_id=calls[0].call_id, name=calls[0].name, arguments=calls[0].arguments
                    ),
                    llm.FunctionCallOutput(
                        call_id=calls[0].call_id, name="get_weather", output="sunny", is_error=False
                    ),
                ]
            )
            text, calls, _ = await _collect_chat(model.chat(chat_ctx=ctx, tools=[get_weather]))
            assert calls == []
            assert text == "It is sunny in Paris today."
            last = srv.requests[1]["messages"][-1]
            assert last["role"] == "tool" and last["content"] == "sunny"
            assert last["tool_call_id"] == srv.replies[0].tool_calls[0].call_id
        finally:
            await model.aclose()


async def test_openai_chat_non_stream_and_parallel_calls() -> None:
    script = sequence(
        [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Rome"})],
        echo("You said: "),
    )
    async with OpenAIChatServer(script) as srv:
        model = openai.LLM(base_url=srv.base_url, api_key="test")
        try:
            ctx = llm.ChatContext()
            ctx.add_message(role="user", content="Paris and Rome?")
            _, calls, _ = await _collect_chat(model.chat(chat_ctx=ctx, tools=[get_weather]))
            assert [json.loads(c.arguments)["city"] for c in calls] == ["Paris", "Rome"]
            assert len({c.call_id for c in calls}) == 2

            res = await model._client.chat.completions.create(
                model="gpt-4.1", messages=[{"role": "user", "content": "hi there"}]
            )
            assert res.choices[0].message.content == "You said: hi there"
            assert res.choices[0].finish_reason == "stop"
            assert srv.requests[-1].get("stream") in (None, False)
        finally:
            await model.aclose()


# ------------------------------------------------------------------------- Deepgram


async def test_deepgram_stream_segments_by_energy(http_session: aiohttp.ClientSession) -> None:
    scripted = ["Hello there.", "What's the weather in Paris?", "Thanks, bye!"]
    plan = [
        ("silence", 0.5),
        ("speech", 0.9),
        ("silence", 1.3),
        ("speech", 1.6),
        ("silence", 1.3),
        ("speech", 0.7),
        ("silence", 1.5),
    ]
    input_rate = 48000  # the plugin resamples to its 16 kHz
    signal = utterances(plan, input_rate)
    async with DeepgramServer(scripted) as dg:
        model = deepgram.STT(
            base_url=dg.base_url, api_key="test", http_session=http_session, utterance_end_ms=1000
        )
        stream = model.stream()
        events: list[stt.SpeechEvent] = []

        async def consume() -> None:
            async for ev in stream:
                events.append(ev)

        consumer = asyncio.create_task(consume())
        for frame in frames_of(signal, input_rate):
            stream.push_frame(frame)
            await asyncio.sleep(0)
        stream.end_input()  # flush (Finalize) then CloseStream

        async def closed() -> None:
            while not any(m.get("type") == "CloseStream" for m in dg.control_messages):
                await asyncio.sleep(0.02)

        await asyncio.wait_for(closed(), TIMEOUT)
        await asyncio.sleep(0.1)
        # the plugin's keepalive task sleeps 5 s before it notices the close: don't wait for it
        await stream.aclose()
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer

    finals = [e for e in events if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT]
    assert [f.alternatives[0].text for f in finals] == scripted
    kinds = [e.type for e in events if e.type != stt.SpeechEventType.RECOGNITION_USAGE]
    assert kinds.count(stt.SpeechEventType.START_OF_SPEECH) == 3
    assert kinds.count(stt.SpeechEventType.END_OF_SPEECH) == 3
    assert stt.SpeechEventType.INTERIM_TRANSCRIPT in kinds
    # each final comes after its own start and before its end of speech
    for i, f in enumerate(finals):
        idx = events.index(f)
        starts = [j for j, e in enumerate(events) if e.type == stt.SpeechEventType.START_OF_SPEECH]
        assert starts[i] < idx

    q = dg.connections[0]
    assert q["encoding"] == "linear16" and q["sample_rate"] == "16000"
    assert q["vad_events"] == "true" and q["interim_results"] == "true"
    # 16 kHz mono int16 of the whole signal (+- one 50 ms chunk)
    assert abs(dg.received_audio_bytes / 32000 - len(signal) / input_rate) < 0.06
    assert [m["type"] for m in dg.control_messages if m["type"] != "KeepAlive"] == [
        "Finalize",
        "CloseStream",
    ]
    assert dg.sent[-1]["type"] == "Metadata"
    assert sum(1 for m in dg.sent if m["type"] == "UtteranceEnd") == 3

    # word timings follow the audio: the 2nd utterance starts at 0.5 + 0.9 + 1.3 = 2.7 s
    words = finals[1].alternatives[0].words
    assert words is not None and [str(w) for w in words][0] == "What's"
    start, end = words[0].start_time, words[-1].end_time
    assert is_given(start) and is_given(end)
    assert abs(start - 2.7) < 0.15 and abs(end - 4.3) < 0.15
    assert finals[1].alternatives[0].confidence > 0.9


async def test_deepgram_prerecorded(http_session: aiohttp.ClientSession) -> None:
    rate = 16000
    signal = utterances([("silence", 0.3), ("speech", 1.0), ("silence", 0.3)], rate)
    async with DeepgramServer(["Good morning."]) as dg:
        model = deepgram.STT(base_url=dg.base_url, api_key="test", http_session=http_session)
        ev = await model.recognize(frames_of(signal, rate))
    assert ev.type == stt.SpeechEventType.FINAL_TRANSCRIPT
    assert ev.alternatives[0].text == "Good morning."
    assert abs(ev.alternatives[0].start_time - 0.3) < 0.1
    assert dg.recognize_requests[0]["model"] == "nova-3"


# ------------------------------------------------------------------------- Cartesia


async def _collect_tts(stream) -> list[rtc.AudioFrame]:
    frames = []
    async with stream:
        async for ev in stream:
            frames.append(ev.frame)
    return frames


async def test_cartesia_synthesize_and_stream(http_session: aiohttp.ClientSession) -> None:
    async with CartesiaServer() as cs:
        model = cartesia.TTS(base_url=cs.base_url, api_key="test", http_session=http_session)
        try:
            text = "Hello there, this is a loopback test."
            frames = await asyncio.wait_for(_collect_tts(model.synthesize(text)), TIMEOUT)
            assert frames[0].sample_rate == 24000
            assert abs(frames_duration(frames) - cs.expected_duration(text)) < 0.03
            assert frames_rms(frames) > 1000
            assert cs.transcripts == [text]
            assert cs.requests[0]["output_format"] == {
                "container": "raw",
                "encoding": "pcm_s16le",
                "sample_rate": 24000,
            }

            stream = model.stream()
            stream.push_text("The weather in Paris is sunny. ")
            stream.push_text("Enjoy your day!")
            stream.end_input()
            frames = await asyncio.wait_for(_collect_tts(stream), TIMEOUT)
            ws_msgs = [r for r in cs.requests if "context_id" in r]
            assert ws_msgs and ws_msgs[-1]["continue"] is False
            assert all(m["context_id"] == ws_msgs[0]["context_id"] for m in ws_msgs)
            sent = "".join(m["transcript"] for m in ws_msgs)
            assert sent.split() == [
                "The",
                "weather",
                "in",
                "Paris",
                "is",
                "sunny.",
                "Enjoy",
                "your",
                "day!",
            ]
            expected = sum(cs.expected_duration(m["transcript"]) for m in ws_msgs)
            assert abs(frames_duration(frames) - expected) < 0.1
            assert expected > 2.0
            assert cs.connections[0]["cartesia_version"]
        finally:
            await model.aclose()


async def test_cartesia_sample_rate(http_session: aiohttp.ClientSession) -> None:
    async with CartesiaServer(seconds_per_char=0.05) as cs:
        model = cartesia.TTS(
            base_url=cs.base_url, api_key="test", http_session=http_session, sample_rate=16000
        )
        try:
            frames = await asyncio.wait_for(_collect_tts(model.synthesize("abcdefghij")), TIMEOUT)
        finally:
            await model.aclose()
    assert frames[0].sample_rate == 16000
    assert abs(frames_duration(frames) - 0.5) < 0.02


# ------------------------------------------------------------------------- OpenAI realtime


async def _drain_message(gen: llm.GenerationCreatedEvent) -> tuple[str, list[rtc.AudioFrame], list]:
    text, audio, calls = "", [], []

    async def read_messages() -> None:
        nonlocal text
        async for msg in gen.message_stream:

            async def read_audio(m=msg) -> None:
                async for f in m.audio_stream:
                    audio.append(f)

            task = asyncio.create_task(read_audio())
            async for delta in msg.text_stream:
                text += delta
            await task

    async def read_calls() -> None:
        async for fc in gen.function_stream:
            calls.append(fc)

    await asyncio.wait_for(asyncio.gather(read_messages(), read_calls()), TIMEOUT)
    return text, audio, calls


async def test_openai_realtime_audio_turn_tool_call_and_spoken_reply(
    http_session: aiohttp.ClientSession,
) -> None:
    final_text = "It is sunny in Paris today."
    async with OpenAIRealtimeServer(
        tool_then_text("get_weather", {"city": "Paris"}, final_text),
        user_transcripts=["What's the weather in Paris?"],
    ) as rt:
        model = openai.realtime.RealtimeModel(
            base_url=rt.base_url, api_key="test", http_session=http_session
        )
        session = model.session()
        transcripts: list[llm.InputTranscriptionCompleted] = []
        generations: asyncio.Queue[llm.GenerationCreatedEvent] = asyncio.Queue()
        speech: list[str] = []
        session.on("input_audio_transcription_completed", transcripts.append)
        session.on("generation_created", generations.put_nowait)
        session.on("input_speech_started", lambda _: speech.append("started"))
        session.on("input_speech_stopped", lambda _: speech.append("stopped"))
        try:
            await session.update_tools([get_weather])
            rate = 48000
            signal = utterances([("silence", 0.3), ("speech", 1.2), ("silence", 1.0)], rate)
            for frame in frames_of(signal, rate):
                session.push_audio(frame)
            gen = await asyncio.wait_for(generations.get(), TIMEOUT)
            assert gen.user_initiated is False  # created by the server VAD
            text, audio, calls = await _drain_message(gen)
            assert text == "" and audio == []
            assert len(calls) == 1 and calls[0].name == "get_weather"
            assert json.loads(calls[0].arguments) == {"city": "Paris"}
            assert speech == ["started", "stopped"]
            finals = [t for t in transcripts if t.is_final]
            assert [t.transcript for t in finals] == ["What's the weather in Paris?"]

            # send the tool output, then ask for the spoken answer
            chat_ctx = session.chat_ctx.copy()
            chat_ctx.insert(
                llm.FunctionCallOutput(
                    call_id=calls[0].call_id, name="get_weather", output="sunny", is_error=False
                )
            )
            await session.update_chat_ctx(chat_ctx)
            gen = await asyncio.wait_for(session.generate_reply(), TIMEOUT)
            assert gen.user_initiated is True
            text, audio, calls = await _drain_message(gen)
            assert calls == []
            assert text == final_text
            assert audio and audio[0].sample_rate == 24000
            assert abs(frames_duration(audio) - rt.expected_duration(final_text)) < 0.06
            assert frames_rms(audio) > 1000

            # what the server saw
            assert rt.connections[0]["model"] == "gpt-realtime"
            assert rt.sessions[0]["tools"][0]["name"] == "get_weather"
            assert rt.sessions[0]["audio"]["input"]["turn_detection"]["type"] == "semantic_vad"
            assert abs(rt.received_audio_bytes / 48000 - len(signal) / rate) < 0.15
            assert [r["trigger"] for r in rt.responses] == ["server_vad", "client"]
            assert [it["type"] for it in rt.items] == [
                "message",
                "function_call",
                "function_call_output",
                "message",
            ]
            assert rt.items[0]["content"][0]["transcript"] == "What's the weather in Paris?"
            assert rt.items[-1]["content"][0] == {"type": "output_audio", "transcript": final_text}
            # the plugin's mirror of the conversation matches
            roles = [(i.type, getattr(i, "role", None)) for i in session.chat_ctx.items]
            assert roles[-1] == ("message", "assistant")
        finally:
            await session.aclose()
            await model.aclose()


async def test_openai_realtime_text_modality_and_instructions(
    http_session: aiohttp.ClientSession,
) -> None:
    def script(request: dict) -> str:
        return "Hi! " + request["instructions"].splitlines()[-1]

    async with OpenAIRealtimeServer(script) as rt:
        model = openai.realtime.RealtimeModel(
            base_url=rt.base_url,
            api_key="test",
            http_session=http_session,
            modalities=["text"],
            turn_detection=None,
        )
        session = model.session()
        try:
            await session.update_instructions("You are a test.")
            gen = await asyncio.wait_for(
                session.generate_reply(instructions="Greet the user."), TIMEOUT
            )
            text, audio, _ = await _drain_message(gen)
            assert text == "Hi! Greet the user."
            assert audio == []
            sess = rt.sessions[0]
            assert sess["output_modalities"] == ["text"]
            assert sess["audio"]["input"]["turn_detection"] is None
            assert rt.responses[0]["request"]["instructions"] == "You are a test.\nGreet the user."
            assert rt.items[-1]["content"][0] == {"type": "output_text", "text": text}
        finally:
            await session.aclose()
            await model.aclose()


async def test_openai_realtime_interrupt_cancels_response(
    http_session: aiohttp.ClientSession,
) -> None:
    long_text = "This is a long answer that keeps going for a while. " * 4
    async with OpenAIRealtimeServer(lambda request: long_text, realtime_factor=1.0) as rt:
        model = openai.realtime.RealtimeModel(
            base_url=rt.base_url, api_key="test", http_session=http_session, turn_detection=None
        )
        session = model.session()
        try:
            gen = await asyncio.wait_for(session.generate_reply(), TIMEOUT)
            drain = asyncio.create_task(_drain_message(gen))
            await asyncio.sleep(0.3)
            session.interrupt()
            text, audio, _ = await drain
            assert 0 < len(text) < len(long_text)
            assert frames_duration(audio) < rt.expected_duration(long_text) / 2
            done = [e for e in rt.server_events if e["type"] == "response.done"]
            assert done[-1]["response"]["status"] == "cancelled"
            assert done[-1]["response"]["status_details"]["reason"] == "client_cancelled"
        finally:
            await session.aclose()
            await model.aclose()


async def test_openai_realtime_barge_in_cancels_and_answers_next_turn(
    http_session: aiohttp.ClientSession,
) -> None:
    script = sequence("word " * 60, "Short answer.")
    async with OpenAIRealtimeServer(
        script, user_transcripts=["first turn", "second turn"], realtime_factor=1.0
    ) as rt:
        model = openai.realtime.RealtimeModel(
            base_url=rt.base_url, api_key="test", http_session=http_session
        )
        session = model.session()
        generations: asyncio.Queue[llm.GenerationCreatedEvent] = asyncio.Queue()
        session.on("generation_created", generations.put_nowait)
        turn = utterances([("speech", 0.6), ("silence", 0.8)], 24000)
        try:
            for frame in frames_of(turn, 24000):
                session.push_audio(frame)
            gen = await asyncio.wait_for(generations.get(), TIMEOUT)
            drain = asyncio.create_task(_drain_message(gen))
            await asyncio.sleep(0.4)
            for frame in frames_of(turn, 24000):  # the user talks over the answer
                session.push_audio(frame)
            text, _, _ = await drain
            assert 0 < len(text) < len("word " * 60)
            gen = await asyncio.wait_for(generations.get(), TIMEOUT)
            text, audio, _ = await _drain_message(gen)
            assert text == "Short answer." and audio
            assert [r["status"] for r in rt.responses] == ["cancelled", "completed"]
            done = [e for e in rt.server_events if e["type"] == "response.done"]
            assert done[0]["response"]["status_details"]["reason"] == "turn_detected"
            assert rt.user_transcripts_sent == ["first turn", "second turn"]
            assert rt.items[1]["status"] == "incomplete"
        finally:
            await session.aclose()
            await model.aclose()
