"""fasterwhisper.SpeculativeSTT: a segment transcribed in the background when the caller
pauses, used when only silence followed, dropped when the caller spoke again. Real Whisper,
real Silero; the assertions are on what was transcribed and counted, never on a clock."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import stt as agents_stt
from livekit.plugins import fasterwhisper

from agents.brain.chains import build_stt
from agents.brain.model_files import LOCAL_STT_DIR, STAMP_VERSION
from agents.brain.second_listen import SecondListenSTT
from agents.config import ConfigError, Settings
from agents.phone_digits import PhoneDigitsSTT
from tests.test_plugin_fasterwhisper import (
    LIBRIVOX,
    as_10ms_frames,
    needs_testdata,
    normalize_words,
    read_wav_frame,
    reference_transcript,
    word_error_rate,
)

FIRST = "sense_and_sensibility_01_austen_64kb-0930"
SECOND = "sense_and_sensibility_01_austen_64kb-0920"
VAD_SILENCE = 0.3
"""The local profile's Silero end-of-speech silence (agents/brain/profiles.py)."""
PAUSE = 0.15
"""A caller's pause between two sentences: with the clips' own quiet edges, long enough for
Silero to count 0.1 s of silence (a pass starts), too short for its 0.3 s end of speech."""


def _vad(silence: float = VAD_SILENCE):  # noqa: ANN202
    from livekit.plugins import silero

    return silero.VAD.load(min_silence_duration=silence)


def _silence(seconds: float, rate: int = 16000) -> rtc.AudioFrame:
    n = int(seconds * rate)
    return rtc.AudioFrame(bytes(n * 2), rate, 1, n)


def _speech_only(frame: rtc.AudioFrame, pad: float = 0.05) -> rtc.AudioFrame:
    """The clip without its leading and trailing quiet (10 ms windows under a tenth of its
    loudest), `pad` seconds kept on each side: the pause between two clips is then ours."""
    pcm = np.frombuffer(frame.data, dtype=np.int16)
    win = frame.sample_rate // 100
    rms = np.sqrt(
        [np.mean(pcm[i : i + win].astype(np.float64) ** 2) for i in range(0, len(pcm), win)]
    )
    loud = np.nonzero(rms > 0.1 * rms.max())[0]
    start = max(0, int(loud[0] * win - pad * frame.sample_rate))
    end = min(len(pcm), int((loud[-1] + 1) * win + pad * frame.sample_rate))
    kept = pcm[start:end]
    return rtc.AudioFrame(kept.tobytes(), frame.sample_rate, 1, len(kept))


async def _finals(
    stt: fasterwhisper.SpeculativeSTT, frames: list[rtc.AudioFrame]
) -> tuple[list[str], fasterwhisper.SpeculationStats]:
    texts: list[str] = []
    stream = stt.stream()
    async with stream:
        for f in frames:
            stream.push_frame(f)
        stream.end_input()
        async for ev in stream:
            if ev.type == agents_stt.SpeechEventType.FINAL_TRANSCRIPT:
                texts.append(ev.alternatives[0].text)
        stats = stream.stats
    return texts, stats


# --- options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (fasterwhisper.SpeculationOptions(after_silence=0), "after_silence must be > 0"),
        (fasterwhisper.SpeculationOptions(after_silence=-0.1), "after_silence must be > 0"),
        (fasterwhisper.SpeculationOptions(min_speech=-1), "min_speech must be >= 0"),
        (fasterwhisper.SpeculationOptions(pad_silence=-0.1), "pad_silence must be between"),
        (fasterwhisper.SpeculationOptions(pad_silence=60), "pad_silence must be between"),
        (
            fasterwhisper.SpeculationOptions(after_silence=0.3),
            r"after_silence \(0.3 s\) must be shorter than the VAD's end-of-speech silence",
        ),
        (fasterwhisper.SpeculationOptions(enabled="yes"), "enabled must be True or False"),  # type: ignore[arg-type]
    ],
)
def test_options_out_of_range_are_clear_errors(
    options: fasterwhisper.SpeculationOptions, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fasterwhisper.SpeculativeSTT(stt=fasterwhisper.STT(), vad=_vad(), options=options)


def test_options_type_and_a_streaming_inner_stt_are_refused() -> None:
    with pytest.raises(ValueError, match="options must be a SpeculationOptions"):
        fasterwhisper.SpeculativeSTT(
            stt=fasterwhisper.STT(),
            vad=_vad(),
            options={"after_silence": 0.1},  # type: ignore[arg-type]
        )
    adapter = agents_stt.StreamAdapter(stt=fasterwhisper.STT(), vad=_vad())
    with pytest.raises(ValueError, match="streams already"):
        fasterwhisper.SpeculativeSTT(stt=adapter, vad=_vad())


def test_defaults_are_documented_and_valid() -> None:
    opts = fasterwhisper.SpeculationOptions()
    assert (opts.enabled, opts.after_silence, opts.min_speech, opts.pad_silence) == (
        True,
        0.1,
        0.25,
        0.2,
    )
    opts.validate(vad_silence=VAD_SILENCE)
    stt = fasterwhisper.SpeculativeSTT(stt=fasterwhisper.STT(), vad=_vad())
    assert stt.capabilities.streaming and not stt.capabilities.interim_results
    assert stt.options == opts


# --- where the local brains get it ---------------------------------------------------------


def _base_installed(tmp_path: Path) -> Settings:
    """Settings whose models dir holds a Whisper base install the way
    scripts/install_models.py leaves one (a model.bin and its stamp), on any machine."""
    base = tmp_path / LOCAL_STT_DIR
    base.mkdir(parents=True)
    (base / "model.bin").write_bytes(b"not loaded: building an STT does not load it")
    st = (base / "model.bin").stat()
    stamp = {"version": STAMP_VERSION, "stats": {"model.bin": [st.st_size, st.st_mtime_ns]}}
    (tmp_path / f"{LOCAL_STT_DIR}.sha256").write_text(json.dumps(stamp))
    return dataclasses.replace(Settings(), models_dir=str(tmp_path))


def test_both_legs_get_the_speculative_stt_and_wideband_hears_with_tiny_en_first(
    tmp_path: Path,
) -> None:
    vad_model = _vad()
    settings = _base_installed(tmp_path)
    wide = build_stt(("local",), settings, telephony=False, vad_model=vad_model)
    assert isinstance(wide, fasterwhisper.SpeculativeSTT)
    # tiny.en hears first; the phone leg's base only hears again what tiny.en's words
    # cannot place (agents.brain.second_listen), inside the same speculative pass
    assert isinstance(wide.wrapped_stt, SecondListenSTT)
    assert _whisper(wide).model == "whisper-tiny.en"
    assert wide.wrapped_stt.second.model == LOCAL_STT_DIR
    off_second = dataclasses.replace(settings, local_stt_second_listen="off")
    wide = build_stt(("local",), off_second, telephony=False, vad_model=vad_model)
    assert isinstance(wide, fasterwhisper.SpeculativeSTT)
    assert isinstance(wide.wrapped_stt, fasterwhisper.STT)
    # the phone leg's Whisper base is speculated by default (measured sooner, same accuracy)
    phone = build_stt(("local",), settings, telephony=True, vad_model=vad_model)
    assert isinstance(phone, fasterwhisper.SpeculativeSTT)
    assert isinstance(phone.wrapped_stt, PhoneDigitsSTT)  # digits normalised on every pass
    wideband = dataclasses.replace(settings, local_stt_speculate="wideband")
    phone = build_stt(("local",), wideband, telephony=True, vad_model=vad_model)
    assert isinstance(phone, agents_stt.StreamAdapter)
    off = dataclasses.replace(Settings(), local_stt_speculate="off")
    plain = build_stt(("local",), off, telephony=False, vad_model=vad_model)
    assert isinstance(plain, agents_stt.StreamAdapter)
    assert Settings.from_env({}).local_stt_speculate == "all"
    with pytest.raises(ConfigError, match="LOCAL_STT_SPECULATE"):
        Settings.from_env({"LOCAL_STT_SPECULATE": "maybe"})


def _whisper(engine: agents_stt.STT) -> fasterwhisper.STT:
    inner = getattr(engine, "wrapped_stt", engine)
    inner = getattr(inner, "inner", inner)  # the phone-digit normaliser
    assert isinstance(inner, fasterwhisper.STT)
    return inner


def test_the_phone_leg_s_whisper_is_chosen_apart_and_speculated_when_it_is_tiny_en(
    tmp_path: Path,
) -> None:
    vad_model = _vad()
    base = _base_installed(tmp_path / "models")
    tiny = dataclasses.replace(base, local_phone_stt="tiny.en")

    def phone(s: Settings) -> agents_stt.STT:
        return build_stt(("local",), s, telephony=True, vad_model=vad_model)

    def wide(s: Settings) -> agents_stt.STT:
        return build_stt(("local",), s, telephony=False, vad_model=vad_model)

    assert _whisper(phone(base)).model == LOCAL_STT_DIR  # LOCAL_PHONE_STT=base, the default
    assert isinstance(phone(base), fasterwhisper.SpeculativeSTT)  # under the default `all`
    base_wideband = dataclasses.replace(base, local_stt_speculate="wideband")
    assert isinstance(phone(base_wideband), agents_stt.StreamAdapter)
    # tiny.en on the phone leg: speculated under `wideband` too, digits normalised
    on_tiny = phone(dataclasses.replace(tiny, local_stt_speculate="wideband"))
    assert isinstance(on_tiny, fasterwhisper.SpeculativeSTT)
    assert isinstance(on_tiny.wrapped_stt, PhoneDigitsSTT)
    assert _whisper(on_tiny).model == "whisper-tiny.en"
    assert isinstance(phone(dataclasses.replace(tiny, local_stt_speculate="off")),
                      agents_stt.StreamAdapter)  # fmt: skip
    assert isinstance(phone(dataclasses.replace(tiny, local_stt_speculate="all")),
                      fasterwhisper.SpeculativeSTT)  # fmt: skip
    # the wideband leg is the same whichever the phone leg gets
    for s in (base, tiny):
        assert isinstance(wide(s), fasterwhisper.SpeculativeSTT)
        assert _whisper(wide(s)).model == "whisper-tiny.en"
    # base asked for but not installed: the phone leg falls back to tiny.en, speculated
    missing = dataclasses.replace(base, models_dir=str(tmp_path / "empty"))
    assert _whisper(phone(missing)).model == "whisper-tiny.en"
    assert isinstance(phone(missing), fasterwhisper.SpeculativeSTT)
    # LOCAL_STT_MODEL is both legs' Whisper, whatever LOCAL_PHONE_STT says; not tiny.en, so
    # the phone leg is not speculated under `wideband`
    own = dataclasses.replace(
        tiny,
        local_stt_model=str(tmp_path / "models" / LOCAL_STT_DIR),
        local_stt_speculate="wideband",
    )
    assert _whisper(phone(own)).model == LOCAL_STT_DIR
    assert _whisper(wide(own)).model == LOCAL_STT_DIR
    assert isinstance(phone(own), agents_stt.StreamAdapter)


# --- behaviour on real speech --------------------------------------------------------------


@pytest.mark.slow
@needs_testdata
async def test_the_background_pass_is_the_final_transcript_when_only_silence_followed() -> None:
    speech = read_wav_frame(LIBRIVOX / f"{FIRST}.wav")
    stt = fasterwhisper.SpeculativeSTT(stt=fasterwhisper.STT(), vad=_vad())
    frames = as_10ms_frames(_silence(0.5)) + as_10ms_frames(speech)
    frames += as_10ms_frames(_silence(1.0))

    texts, stats = await _finals(stt, frames)

    assert stats.segments == 1
    assert stats.passes == 1  # one pass, started in the pause
    assert stats.used == 1 and stats.stale == 0  # ... and it is the final transcript
    assert len(texts) == 1
    assert word_error_rate(reference_transcript(FIRST), texts[0]) < 0.2, texts


@pytest.mark.slow
@needs_testdata
async def test_the_background_pass_is_dropped_when_the_caller_speaks_again() -> None:
    first = _speech_only(read_wav_frame(LIBRIVOX / f"{FIRST}.wav"))
    second = _speech_only(read_wav_frame(LIBRIVOX / f"{SECOND}.wav"))
    stt = fasterwhisper.SpeculativeSTT(stt=fasterwhisper.STT(), vad=_vad())
    # a pause long enough to start a pass (0.1 s of VAD silence), too short to end the
    # segment (0.3 s): the caller goes on with the second sentence
    frames = as_10ms_frames(_silence(0.5)) + as_10ms_frames(first)
    frames += as_10ms_frames(_silence(PAUSE)) + as_10ms_frames(second)
    frames += as_10ms_frames(_silence(1.0))

    texts, stats = await _finals(stt, frames)

    assert stats.segments == 1, texts  # one segment: the pause did not end it
    assert stats.stale >= 1  # a pass had started in the pause and was dropped
    said = normalize_words(" ".join(texts))
    later = normalize_words(reference_transcript(SECOND))
    # the final transcript holds the words said after the pause
    assert len(set(later[-4:]) & set(said)) >= 3, texts
    both = f"{reference_transcript(FIRST)} {reference_transcript(SECOND)}"
    assert word_error_rate(both, " ".join(texts)) < 0.25, texts


@pytest.mark.slow
@needs_testdata
async def test_disabled_speculation_transcribes_after_the_end_of_speech_only() -> None:
    speech = read_wav_frame(LIBRIVOX / f"{FIRST}.wav")
    stt = fasterwhisper.SpeculativeSTT(
        stt=fasterwhisper.STT(),
        vad=_vad(),
        options=fasterwhisper.SpeculationOptions(enabled=False),
    )
    frames = as_10ms_frames(_silence(0.5)) + as_10ms_frames(speech)
    frames += as_10ms_frames(_silence(1.0))

    texts, stats = await _finals(stt, frames)

    assert (stats.segments, stats.passes, stats.used) == (1, 0, 0)
    assert word_error_rate(reference_transcript(FIRST), texts[0]) < 0.2, texts


@pytest.mark.slow
@needs_testdata
async def test_phone_rate_audio_through_the_telephony_stt() -> None:
    """8 kHz in (what a SIP caller's track carries), the telephony variant's STT chain."""
    speech = read_wav_frame(LIBRIVOX / f"{FIRST}.wav")
    resampler = rtc.AudioResampler(16000, 8000, num_channels=1)
    narrow = rtc.combine_audio_frames(resampler.push(speech) + resampler.flush())
    everywhere = dataclasses.replace(Settings(), local_stt_speculate="all")
    stt = build_stt(("local",), everywhere, telephony=True, vad_model=_vad())
    assert isinstance(stt, fasterwhisper.SpeculativeSTT)
    frames = as_10ms_frames(_silence(0.5, 8000)) + as_10ms_frames(narrow)
    frames += as_10ms_frames(_silence(1.0, 8000))

    texts, stats = await _finals(stt, frames)

    assert stats.used == 1
    assert word_error_rate(reference_transcript(FIRST), texts[0]) < 0.25, texts
