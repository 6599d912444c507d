"""livekit-plugins-piper: offline Piper TTS, checked by ear (our own Whisper STT)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import tts as agents_tts
from livekit.plugins import fasterwhisper, piper

SENTENCE = "Would you like a large latte with oat milk today?"


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]+", " ", text.lower()).split()


async def synthesize(voice: piper.TTS, text: str) -> tuple[rtc.AudioFrame, int, float]:
    """Merged audio, number of events, seconds to the first frame."""
    frames: list[rtc.AudioFrame] = []
    started = time.perf_counter()
    first = 0.0
    async with voice.synthesize(text) as stream:
        async for ev in stream:
            if not frames:
                first = time.perf_counter() - started
            frames.append(ev.frame)
    return rtc.combine_audio_frames(frames), len(frames), first


def test_missing_voice_is_a_clear_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="voice"):
        piper.TTS(voice=tmp_path / "missing.onnx")
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"")
    with pytest.raises(ValueError, match="config_path"):
        piper.TTS(voice=model)  # no voice.onnx.json beside it


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"length_scale": 0}, "length_scale"),
        ({"length_scale": -1.0}, "length_scale"),
        ({"noise_scale": -0.1}, "noise_scale"),
        ({"noise_w_scale": -0.1}, "noise_w_scale"),
        ({"volume": 0}, "volume"),
        ({"speaker_id": 3}, "speaker_id"),  # joe has a single speaker
        ({"phrase_cache": -1}, "phrase_cache"),
    ],
)
def test_bad_options_name_the_option(kwargs: dict, option: str) -> None:
    with pytest.raises(ValueError, match=option):
        piper.TTS(**kwargs)


def test_sample_rate_comes_from_the_voice_config() -> None:
    voice = piper.TTS()
    assert voice.sample_rate == 22050
    assert voice.num_channels == 1
    assert voice.capabilities.streaming is False  # AgentSession adds tts.StreamAdapter
    assert voice.model == "en_US-joe-medium"


@pytest.mark.slow
def test_voice_is_loaded_once_per_process() -> None:
    first = piper.load_voice()
    assert piper.load_voice() is first
    piper.TTS().prewarm()  # outside a loop: blocking, served by the cache
    assert piper.load_voice() is first


@pytest.mark.slow
async def test_synthesizes_sane_non_silent_audio() -> None:
    audio, n_events, _ = await synthesize(piper.TTS(), SENTENCE)

    assert audio.sample_rate == 22050 and audio.num_channels == 1
    pcm = np.frombuffer(audio.data, dtype=np.int16).astype(np.float32) / 32768.0
    # ~10 words: between 1.5 and 6 seconds of speech
    assert 1.5 < audio.duration < 6.0, audio.duration
    assert n_events > 1  # emitted as frames, not one blob
    rms = float(np.sqrt(np.mean(pcm**2)))
    assert rms > 0.02, rms
    assert float(np.max(np.abs(pcm))) > 0.3


@pytest.mark.slow
async def test_length_scale_changes_the_speed() -> None:
    normal, _, _ = await synthesize(piper.TTS(noise_w_scale=0.0), SENTENCE)
    slow, _, _ = await synthesize(piper.TTS(length_scale=1.5, noise_w_scale=0.0), SENTENCE)
    assert slow.duration > normal.duration * 1.25


@pytest.mark.slow
async def test_round_trip_through_whisper_gives_the_words_back() -> None:
    # noise off: Piper samples its prosody at random otherwise, and this test must not be flaky
    audio, _, _ = await synthesize(piper.TTS(noise_scale=0.0, noise_w_scale=0.0), SENTENCE)
    event = await fasterwhisper.STT().recognize(audio)
    heard = words(event.alternatives[0].text)
    expected = words(SENTENCE)
    missing = [w for w in expected if w not in heard]
    # Whisper tiny.en mishears a word or two of synthetic speech ("oat milk" -> "note"),
    # differently from one CPU/thread layout to the next: 8 of 10 words is intelligible audio
    assert len(missing) <= 2, (event.alternatives[0].text, missing)


@pytest.mark.slow
async def test_first_sentence_is_audible_before_the_text_is_complete() -> None:
    """The session path for a non-streaming TTS: tts.StreamAdapter splits sentences."""
    adapter = agents_tts.StreamAdapter(tts=piper.TTS())
    stream = adapter.stream()
    stream.push_text("Hello there, welcome to the shop. ")
    stream.push_text("What can I")  # the rest of the reply has not been generated yet

    first = await asyncio.wait_for(stream.__anext__(), timeout=30)
    assert first.frame.samples_per_channel > 0

    stream.push_text(" get for you?")
    stream.end_input()
    frames = [first.frame] + [ev.frame async for ev in stream]
    await stream.aclose()
    total = sum(f.duration for f in frames)
    assert total > 2.0


# ---- the first phrase early (PhraseTokenizer) ----------------------------------------------


async def _stream_tokens(tokenizer: object, text: str, step: int = 3) -> list[str]:
    from livekit.agents import tokenize

    assert isinstance(tokenizer, tokenize.SentenceTokenizer)
    stream = tokenizer.stream()
    for i in range(0, len(text), step):  # as a model writes it: a few characters at a time
        stream.push_text(text[i : i + step])
    stream.end_input()
    return [ev.token async for ev in stream]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Sure, we have oat milk and almond milk. Anything else?", "Sure,"),
        ("We have hot chocolate and herbal tea. Would you like one?", "We have hot chocolate"),
        ("Yes. We open at seven.", "Yes."),
        ("It is 1,000 steps from the station; turn left.", "It is 1,000 steps from the station;"),
        ("one two three four five six seven eight nine ten eleven twelve", None),
    ],
)
async def test_the_first_phrase_is_cut_then_whole_sentences(text: str, first: str | None) -> None:
    tokens = await _stream_tokens(piper.PhraseTokenizer(), text)
    assert " ".join(tokens).split() == text.split()  # nothing lost, nothing repeated
    if first is None:  # no mark, no conjunction: cut after max_words
        assert tokens[0].split() == text.split()[:10]
    else:
        assert tokens[0].strip() == first
    assert piper.PhraseTokenizer().tokenize(text)[0].strip() == tokens[0].strip()


async def test_livekit_default_tokenizer_waits_for_the_sentence_the_phrase_one_does_not() -> None:
    """What the phrase tokenizer changes: given only the start of a sentence, LiveKit's
    default tokenizer has nothing to synthesize yet, this one has the first phrase."""
    from livekit.agents import tokenize

    partial = "Sure, we have oat milk and"
    for tokenizer, expected in (
        (tokenize.blingfire.SentenceTokenizer(retain_format=True), []),
        (piper.PhraseTokenizer(), ["Sure,"]),
    ):
        stream = tokenizer.stream()
        stream.push_text(partial)
        got = []
        while True:  # what it has emitted so far, without ending the input
            try:
                got.append(stream._event_ch.recv_nowait().token)  # type: ignore[attr-defined]
            except Exception:
                break
        await stream.aclose()
        assert [g.strip() for g in got] == expected


def test_a_flush_starts_a_new_phrase() -> None:
    async def run() -> list[str]:
        stream = piper.PhraseTokenizer().stream()
        stream.push_text("Okay, one latte. ")
        stream.flush()
        stream.push_text("Hello, how can I help you today?")
        stream.end_input()
        return [ev.token.strip() async for ev in stream]

    assert asyncio.run(run()) == ["Okay,", "one latte.", "Hello,", "how can I help you today?"]


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [({"min_words": 0}, "min_words"), ({"max_words": 0}, "max_words"),
     ({"conjunction_words": -1}, "conjunction_words")],
)  # fmt: skip
def test_bad_phrase_options_name_the_option(kwargs: dict, option: str) -> None:
    with pytest.raises(ValueError, match=option):
        piper.PhraseTokenizer(**kwargs)


@pytest.mark.slow
async def test_first_audio_starts_before_the_first_sentence_is_complete() -> None:
    """The offline brain's TTS (Piper behind the phrase tokenizer): audio of "Sure," exists
    while the sentence it starts has not been written yet. Nothing more is pushed until the
    first frame is out, so a tokenizer that waited for the sentence would never answer."""
    adapter = agents_tts.StreamAdapter(tts=piper.TTS(), sentence_tokenizer=piper.PhraseTokenizer())
    stream = adapter.stream()
    stream.push_text("Sure, ")
    stream.push_text("we have oat")  # the model has not written the rest yet
    first = await asyncio.wait_for(stream.__anext__(), timeout=60)
    assert first.frame.samples_per_channel > 0
    stream.push_text(" milk and almond milk.")
    stream.end_input()
    frames = [first.frame] + [ev.frame async for ev in stream]
    await stream.aclose()
    assert sum(f.duration for f in frames) > 1.5


async def test_a_short_phrase_is_synthesized_once_then_replayed_from_the_cache() -> None:
    piper.clear_phrase_cache()
    voice = piper.TTS()
    first, _, _ = await synthesize(voice, "Hmm.")
    again, _, _ = await synthesize(piper.TTS(), " Hmm. ")  # another TTS of the same process
    info = piper.phrase_cache_info()
    assert (info.hits, info.misses, info.size) == (1, 1, 1)
    assert bytes(again.data) == bytes(first.data) and first.duration > 0.1

    # a long sentence, other options, or the cache off: synthesized each time
    await synthesize(voice, SENTENCE)
    await synthesize(voice, SENTENCE)
    await synthesize(piper.TTS(length_scale=1.3), "Hmm.")
    await synthesize(piper.TTS(phrase_cache=0), "Hmm.")
    info = piper.phrase_cache_info()
    assert info.hits == 1 and info.size == 2  # "Hmm." twice: default and slower voice


def test_prewarm_puts_the_warm_phrases_in_the_cache() -> None:
    piper.clear_phrase_cache()
    piper.TTS(warm_phrases=("Hmm. ", "Got it,")).prewarm()  # outside a loop: blocking
    assert piper.phrase_cache_info().size == 2


def test_the_cache_keeps_the_most_recently_used_phrases() -> None:
    piper.clear_phrase_cache()
    piper.TTS(phrase_cache=2, warm_phrases=("One.", "Two.", "Three.")).prewarm()
    assert piper.phrase_cache_info().size == 2
    piper.TTS(phrase_cache=2, warm_phrases=("Three.",)).prewarm()  # still there: a hit
    assert piper.phrase_cache_info().hits == 1
