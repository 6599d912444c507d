"""One call's assembly, shared by the LiveKit job entrypoint and `agent.py replay`:
brain (from the chosen profile) + order store + tool runtime + the coffee agent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from livekit import rtc
from livekit.agents import AgentSession, llm, vad

from tools import DtmfBuffer, ToolRuntime, ToolRuntimeOptions, build_call_control_tools
from tools.coffee import MAX_TOOL_STEPS, OrderStore, build_coffee_tools

from .brain import Brain, BrainChoice, build_brain
from .brain.hybrid import build_reasoner_tool
from .call_limits import CallLimitOptions, CallLimits
from .coffee_agent import CoffeeAgent
from .config import Settings


@dataclass
class Call:
    choice: BrainChoice
    brain: Brain
    session: AgentSession
    agent: CoffeeAgent
    store: OrderStore
    runtime: ToolRuntime
    limits: CallLimits | None = None
    """Phone calls: maximum duration and silence timeout (`agents.call_limits`)."""

    async def aclose(self) -> None:
        await self.store.close()


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
        tools.append(build_reasoner_tool(brain.reasoner, store, runtime))
    # dataset turns chain up to six calls (look up, add, add-ons, details...)
    limit_opts = CallLimitOptions.from_settings(settings)
    phone = choice.profile.telephony and limit_opts.active
    # LiveKit's away timer is the silence clock of a phone call's limits
    away = {"user_away_timeout": limit_opts.silence_timeout or None} if phone else {}
    session: AgentSession = AgentSession(
        **brain.session_kwargs(), max_tool_steps=MAX_TOOL_STEPS, **away
    )
    agent = CoffeeAgent(profile=choice.profile, tools=tools, greet=greet, audio_tap=brain.audio_tap)
    return Call(
        choice=choice,
        brain=brain,
        session=session,
        agent=agent,
        store=store,
        runtime=runtime,
        limits=CallLimits(session, limit_opts).attach() if phone else None,
    )
