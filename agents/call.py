"""One call's assembly, shared by the LiveKit job entrypoint and `agent.py replay`:
brain (from the chosen profile) + order store + tool runtime + the coffee agent."""

from __future__ import annotations

from dataclasses import dataclass

from livekit import rtc
from livekit.agents import AgentSession, llm, vad

from tools import DtmfBuffer, ToolRuntime, ToolRuntimeOptions, build_call_control_tools
from tools.coffee import MAX_TOOL_STEPS, OrderStore, build_coffee_tools

from .brain import Brain, BrainChoice, build_brain
from .brain.factories import openai_llm
from .brain.hybrid import build_reasoner_tool
from .call_limits import CallLimitOptions, CallLimits, limits_apply, user_away_timeout
from .caller_audio import aec_warmup
from .coffee_agent import CoffeeAgent
from .config import Settings
from .resilience import TurnGuard, attach_resilience, session_conn_options
from .side_channel import CallGuard, CallRecord, default_guardrails
from .side_channel.judge import LLMJudge
from .side_channel.usage import meter_call


@dataclass
class Call:
    choice: BrainChoice
    brain: Brain
    session: AgentSession
    agent: CoffeeAgent
    store: OrderStore
    runtime: ToolRuntime
    limits: CallLimits | None = None
    """Live and phone calls: maximum duration and silence timeout (`agents.call_limits`)."""
    record: CallRecord | None = None
    """The call's durable record (`agents.side_channel.records`); None when disabled."""
    guard: CallGuard | None = None
    turns: TurnGuard | None = None
    """No silent turn: apologies, the clean end of a failing call, realtime failover
    (`agents.resilience`); its `errors` go into replay's summary."""

    async def aclose(self) -> None:
        await self.store.close()
        if self.guard is not None:
            await self.guard.aclose()
        if self.record is not None:
            self.record.close("closed")


async def open_call(
    settings: Settings,
    choice: BrainChoice,
    *,
    vad_model: vad.VAD | None = None,
    room: rtc.Room | None = None,
    greet: bool = True,
    caller_kind: str = "",
    call_id: str | None = None,
) -> Call:
    """`room` (a live call) lets keypad digits typed before the first tool call count.
    `call_id` owns the call's orders (a live call's LiveKit room; None: a fresh id), so no
    other call can read or change them, and a retried job of the same room finds them."""
    brain = build_brain(choice.profile, settings, vad_model=vad_model)
    store = await OrderStore(settings.orders_db, owner=call_id).open()
    runtime = ToolRuntime(ToolRuntimeOptions.from_settings(settings))
    keypad = DtmfBuffer().attach(room) if room is not None else None
    tools: list[llm.FunctionTool | llm.RawFunctionTool] = [
        *build_coffee_tools(store, runtime),
        *build_call_control_tools(
            runtime,
            transfer_to=settings.transfer_to,
            dtmf=keypad,
        ),
    ]
    if brain.reasoner is not None:
        tools.append(build_reasoner_tool(brain.reasoner, store, runtime))
    # dataset turns chain up to six calls (look up, add, add-ons, details...)
    limit_opts = CallLimitOptions.from_settings(settings)
    caller_kind = caller_kind or ("room" if room is not None else "local")
    limited = limit_opts.active and limits_apply(
        telephony=choice.profile.telephony, caller_kind=caller_kind
    )
    session: AgentSession = AgentSession(
        **brain.session_kwargs(),
        max_tool_steps=MAX_TOOL_STEPS,
        conn_options=session_conn_options(settings),
        # LiveKit's away timer is the silence clock of a live call's limits
        user_away_timeout=user_away_timeout(limit_opts, limited=limited),
        # nothing the caller says over the greeting is lost where there is no echo to cancel
        aec_warmup_duration=aec_warmup(settings.aec_warmup, caller_kind),
    )
    if keypad is not None:  # typed entries (order numbers) reach every brain as a turn
        keypad.deliver_entries(session)
    record = None
    if settings.call_records_dir.lower() not in ("off", "none"):
        record = CallRecord.create(
            settings.call_records_dir,
            room=room.name if room is not None else "",
            caller_kind=caller_kind,
            brain=choice.profile.name,
            brain_reason=choice.explain(),
            brain_source=choice.source,
        ).attach(session)
    guardrails = default_guardrails(
        policy_file=settings.guardrail_policy, block_regex=settings.guardrail_block
    )
    if settings.guardrail_judge:
        judge = openai_llm(settings, settings.openai_model)
        guardrails.guardrails.append(LLMJudge(judge, settings.guardrail_judge))
    guard = CallGuard(guardrails, record=record, brain=choice.profile.name).attach(session)
    agent = CoffeeAgent(
        profile=choice.profile, tools=tools, greet=greet, audio_tap=brain.audio_tap, guard=guard
    )

    def agent_on(
        brain: Brain, *, greeting: str, chat_ctx: llm.ChatContext, answer_pending: bool
    ) -> CoffeeAgent:
        # the same call (tools, guardrails) on another brain: the realtime failover
        return CoffeeAgent(
            profile=brain.profile,
            tools=tools,
            greeting=greeting,
            answer_pending=answer_pending,
            audio_tap=brain.audio_tap,
            guard=guard,
            engines=brain.agent_engines(),
            chat_ctx=chat_ctx,
        )

    resilience = attach_resilience(
        session,
        settings,
        choice,
        make_agent=agent_on,
        vad_model=vad_model,
        record=record,
        chains=(brain.stt, brain.llm, brain.tts),
    )
    meter_call(session, settings, record, choice=choice, brain=brain, turns=resilience)
    return Call(
        choice=choice,
        brain=brain,
        session=session,
        agent=agent,
        store=store,
        runtime=runtime,
        limits=CallLimits(session, limit_opts).attach() if limited else None,
        record=record,
        guard=guard,
        turns=resilience,
    )
