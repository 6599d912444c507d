"""A LiveKit worker process for the drain test: `python -m tests.drain_worker start`.

It is LiveKit's own production path: `cli.run_app(server)` with the `start` command (its
SIGTERM handler, `AgentServer.drain()`, then `aclose()`), a real job process from the
worker's process pool, and the health endpoint on `--port`-style `AgentServer(port=...)`.
Only two things differ from `agent.py start`, so that no LiveKit server is needed:
the server runs unregistered, and once it has started it dispatches one fake job to itself
(`simulate_job`), which is how `agent.py console` runs a call.

The job is a replay-like coffee call: a real `AgentSession` with a scripted LLM over the real
coffee tools and `OrderStore` (`ORDERS_DB`, owned by the room's sid). Turn 1 orders a latte;
the caller then takes `DRAIN_CALL_SECONDS` before saying yes; turn 2 finishes the order. The
call's outputs go to `DRAIN_OUT`: `started` (after turn 1), `transcript.jsonl` (every chat
item, written when the call ends) and `meta.json` (written by the job's shutdown callback,
after the store is closed: the record is closed).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, cli

from tests.fakes import Call, FakeLLM
from tools import ToolRuntime, ToolRuntimeOptions
from tools.coffee import COFFEE_INSTRUCTIONS, MAX_TOOL_STEPS, OrderStore, build_coffee_tools

OUT = Path(os.environ.get("DRAIN_OUT", "drain-out"))


def _order_id(ctx: Any) -> str:
    for item in reversed(ctx.items):
        if item.type == "function_call_output" and item.name == "add_order_item":
            return str(json.loads(item.output)["order_id"])
    raise AssertionError("no order yet")


async def entrypoint(ctx: JobContext) -> None:
    store = await OrderStore(os.environ["ORDERS_DB"], owner=ctx.job.room.sid).open()

    async def close_record(reason: str) -> None:
        await store.close()
        meta = {"room": ctx.job.room.name, "ended": time.time(), "reason": reason}
        (OUT / "meta.json").write_text(json.dumps(meta))

    ctx.add_shutdown_callback(close_record)
    fake = FakeLLM(
        [
            [Call("get_menu_items", {"query": "latte"})],
            [Call("add_order_item", {"menu_item_id": "latte", "quantity": 1})],
            "One latte. Shall I place it?",
            lambda c: [Call("finish_order", {"order_id": _order_id(c)})],
            "It will be ready shortly at the bar.",
        ]
    )
    runtime = ToolRuntime(ToolRuntimeOptions(filler_phrases=()))
    session: AgentSession[Any] = AgentSession(llm=fake, max_tool_steps=MAX_TOOL_STEPS)
    agent = Agent(
        instructions=COFFEE_INSTRUCTIONS, tools=list[Any](build_coffee_tools(store, runtime))
    )
    await session.start(agent, record=False)
    await session.run(user_input="a latte please")
    (OUT / "started").write_text(str(time.time()))
    await asyncio.sleep(float(os.environ.get("DRAIN_CALL_SECONDS", "6")))  # the caller thinks
    await session.run(user_input="yes, that's it")
    with open(OUT / "transcript.jsonl", "w") as fh:
        for item in session.history.items:
            fh.write(json.dumps(item.model_dump(mode="json", exclude_none=True)) + "\n")
    (OUT / "call_done").write_text(str(time.time()))
    await session.aclose()
    ctx.shutdown(reason="caller hung up")


class SelfDispatchingServer(AgentServer):
    """`AgentServer` that registers with no LiveKit server and gives itself one fake job."""

    async def run(self, *, devmode: bool = False, unregistered: bool = False) -> None:
        def dispatch() -> None:
            asyncio.ensure_future(self.simulate_job("drain-room", fake_job=True))

        self.once("worker_started", dispatch)
        await super().run(devmode=devmode, unregistered=True)


def build_server() -> AgentServer:
    server = SelfDispatchingServer(
        port=int(os.environ.get("DRAIN_HEALTH_PORT", "8081")),
        num_idle_processes=1,
        initialize_process_timeout=120.0,
        shutdown_process_timeout=60.0,
    )
    server.rtc_session(agent_name="drain-test")(entrypoint)
    return server


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    cli.run_app(build_server())
