"""One call's assembly, shared by the LiveKit job entrypoint and `agent.py replay`:
brain (from the chosen profile) + order store + tool runtime + the coffee agent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from livekit import rtc
from livekit.agents import AgentSession, RunContext, llm, vad

from tools import (
    MAX_TOOL_STEPS,
    DtmfBuffer,
    OrderStore,
    ToolRuntime,
    ToolRuntimeOptions,
    build_call_control_tools,
    build_coffee_tools,
)

from .brains import Brain, build_brain
from .coffee_agent import CoffeeAgent
from .config import Settings
from .hybrid import MAX_QUESTION_CHARS, ask_reasoner
from .selection import BrainChoice


@dataclass
class Call:
    choice: BrainChoice
    brain: Brain
    session: AgentSession
    agent: CoffeeAgent
    store: OrderStore
    runtime: ToolRuntime

    async def aclose(self) -> None:
        await self.store.close()


def _reasoner_tool(brain: Brain, store: OrderStore, runtime: ToolRuntime) -> llm.FunctionTool:
    reasoner = brain.reasoner
    assert reasoner is not None

    async def consult_expert(ctx: RunContext, question: str) -> str:
        """Ask the shop's back-office expert a question that needs thought: a recommendation
        under constraints (dairy-free, low caffeine, under a price), comparing drinks, or
        checking what a complicated order adds up to. Returns an answer to say to the caller.

        Args:
            question: The caller's question in full, with every constraint they gave.
        """
        question = question.strip()
        if not question:
            raise llm.ToolError("question must not be empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise llm.ToolError(f"question is longer than {MAX_QUESTION_CHARS} characters")

        async def facts() -> dict[str, object]:
            return {"menu": await store.menu()}

        return await ask_reasoner(reasoner, question, context=facts)

    return runtime.tool(consult_expert)


async def open_call(
    settings: Settings,
    choice: BrainChoice,
    *,
    vad_model: vad.VAD | None = None,
    room: rtc.Room | None = None,
    greet: bool = True,
) -> Call:
    """`room` (a live call) lets keypad digits typed before the first tool call count."""
    brain = build_brain(choice.profile, settings, vad_model=vad_model)
    Path(settings.orders_db).parent.mkdir(parents=True, exist_ok=True)
    store = await OrderStore(settings.orders_db).open()
    runtime = ToolRuntime(ToolRuntimeOptions.from_settings(settings))
    tools: list[llm.FunctionTool | llm.RawFunctionTool] = [
        *build_coffee_tools(store, runtime),
        *build_call_control_tools(
            runtime,
            transfer_to=settings.transfer_to,
            dtmf=DtmfBuffer().attach(room) if room is not None else None,
        ),
    ]
    if brain.reasoner is not None:
        tools.append(_reasoner_tool(brain, store, runtime))
    # dataset turns chain up to six calls (look up, add, add-ons, details...)
    session: AgentSession = AgentSession(**brain.session_kwargs(), max_tool_steps=MAX_TOOL_STEPS)
    agent = CoffeeAgent(profile=choice.profile, tools=tools, greet=greet, audio_tap=brain.audio_tap)
    return Call(
        choice=choice, brain=brain, session=session, agent=agent, store=store, runtime=runtime
    )
