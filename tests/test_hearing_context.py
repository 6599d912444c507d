"""The offline ears hear each caller turn as an answer to what the agent just said: the
session forwards every conversation item to an STT with LiveKit's `chat_context`
capability, and the local chain (Whisper inside the phone-digit normaliser, the speculative
stream and the fallback chain) passes it down to Whisper's prompt, before the menu words."""

from __future__ import annotations

from pathlib import Path

import pytest
from livekit.agents import Agent, AgentSession, llm, stt
from livekit.plugins import fasterwhisper

from agents.brain.assembly import silero_vad
from agents.brain.chains import build_stt
from agents.brain.factories import local_stt_prompt
from agents.brain.guided import GuidedLLM
from agents.config import Settings
from evals.hearing_context import whisper_inside
from tests.test_guided_follows_caller import ScriptedFallback
from tools import ToolRuntime, ToolRuntimeOptions
from tools.coffee import COFFEE_INSTRUCTIONS, MAX_TOOL_STEPS, OrderStore, build_coffee_tools


@pytest.mark.parametrize("telephony", [False, True], ids=["16k", "phone"])
async def test_the_agents_question_reaches_whispers_prompt_through_the_local_chain(
    tmp_path: Path, telephony: bool
) -> None:
    settings = Settings.from_env({})
    chain = build_stt(("local",), settings, telephony=telephony, vad_model=silero_vad(0.3))
    assert chain.capabilities.chat_context
    whisper = whisper_inside(chain)
    assert whisper.prompt == local_stt_prompt()  # before the call: the menu words only

    store = await OrderStore(tmp_path / "orders.sqlite").open()
    runtime = ToolRuntime(ToolRuntimeOptions(filler_phrases=(), emit_on_session=False))
    tools: list[llm.Tool | llm.Toolset] = [*build_coffee_tools(store, runtime)]
    session: AgentSession[None] = AgentSession(
        stt=chain, llm=GuidedLLM(ScriptedFallback()), max_tool_steps=MAX_TOOL_STEPS
    )
    try:
        await session.start(Agent(instructions=COFFEE_INSTRUCTIONS, tools=tools))
        await session.run(user_input="Could I get a cortato?")
        question = "Just to check: one Cortado, right?"
        assert whisper.prompt == f"{question} {local_stt_prompt()}", whisper.prompt
        await session.run(user_input="Yes.")
        assert whisper.prompt is not None and "place the order?" in whisper.prompt
    finally:
        await session.aclose()
        await store.close()


def test_agent_context_off_keeps_the_prompt_and_the_capability_off() -> None:
    whisper = fasterwhisper.STT(initial_prompt="menu words", agent_context=False)
    assert not whisper.capabilities.chat_context
    assert whisper.prompt == "menu words"
    assert stt.StreamAdapter(stt=whisper, vad=silero_vad(0.3)).capabilities.chat_context is False


@pytest.mark.slow
def test_the_hearing_context_bench_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    from evals import hearing_context

    assert hearing_context.main(["--voices", "flite:kal", "--rate", "16k"]) == 0
    out = capsys.readouterr().out
    assert "| 16 kHz (tiny.en) | menu prompt | " in out
    assert "| 16 kHz (tiny.en) | menu prompt + agent's words | " in out


@pytest.mark.slow
def test_the_hearing_context_bench_hears_the_phone_leg_with_the_model_asked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from evals import hearing_context

    args = ["--voices", "flite:kal", "--rate", "8k", "--phone-model", "tiny.en"]
    assert hearing_context.main(args) == 0
    out = capsys.readouterr().out
    assert "| 8 kHz mu-law (tiny.en) | menu prompt | " in out
    assert "(base)" not in out and "16 kHz" not in out


def test_the_hearing_context_bench_refuses_a_bad_voice(capsys: pytest.CaptureFixture[str]) -> None:
    from evals import hearing_context

    assert hearing_context.main(["--voices", "piper:joe"]) == 2
    assert "agent's own voice" in capsys.readouterr().err
