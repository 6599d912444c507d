"""`sip/inbound-trunk.json` and `sip/dispatch-rule.json` are what `lk sip inbound create` and
`lk sip dispatch create` take: they parse (strictly: an unknown or misspelt field fails) into
LiveKit's own protocol messages, give each call its own room, dispatch the worker's agent
name with `{"brain": ...}` metadata that the brain selection understands, and a SIP caller in
such a room gets that brain's telephony variant."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from google.protobuf import json_format
from livekit.protocol import sip

from agents.brain import PROFILES, Caller, choose_brain
from agents.config import Settings
from evals.replay.telephony import PhoneCaller

SIP_DIR = Path(__file__).resolve().parent.parent / "sip"
AGENT_NAME = "coffee-agent"
"""The `AGENT_NAME` the README tells the worker to register with."""


def _parse(name: str, message: sip.CreateSIPInboundTrunkRequest | sip.CreateSIPDispatchRuleRequest):
    return json_format.Parse((SIP_DIR / name).read_text(), message, ignore_unknown_fields=False)


def test_inbound_trunk_parses_into_livekits_request():
    req = _parse("inbound-trunk.json", sip.CreateSIPInboundTrunkRequest())
    trunk = req.trunk
    assert trunk.name
    assert trunk.numbers and all(re.fullmatch(r"\+[1-9][0-9]{6,14}", n) for n in trunk.numbers)
    assert trunk.krisp_enabled
    # the trunk's own limit is a backstop above the agent's MAX_CALL_DURATION
    assert trunk.max_call_duration.seconds > Settings().max_call_duration
    assert trunk.ringing_timeout.seconds >= 10


def test_dispatch_rule_gives_each_call_a_room_and_dispatches_the_agent():
    req = _parse("dispatch-rule.json", sip.CreateSIPDispatchRuleRequest())
    rule = req.dispatch_rule
    assert rule.rule.WhichOneof("rule") == "dispatch_rule_individual"
    assert rule.rule.dispatch_rule_individual.room_prefix == "call-"
    (agent,) = rule.room_config.agents
    assert agent.agent_name == AGENT_NAME
    brain = json.loads(agent.metadata)["brain"]
    assert brain in PROFILES


def test_a_call_through_the_rule_gets_the_telephony_variant_of_its_brain():
    (agent,) = _parse(
        "dispatch-rule.json", sip.CreateSIPDispatchRuleRequest()
    ).dispatch_rule.room_config.agents
    keys = Settings(openai_api_key="k", deepgram_api_key="k", cartesia_api_key="k")
    caller = Caller.from_participant(PhoneCaller().participant())
    choice = choose_brain(keys, job_metadata=agent.metadata, caller=caller)
    assert choice.source == "metadata"
    assert choice.profile.name == json.loads(agent.metadata)["brain"] + "-telephony"
    # without the brain's keys the call is still answered, by the offline brain's variant
    offline = choose_brain(Settings(), job_metadata=agent.metadata, caller=caller)
    assert offline.profile.name == "local-telephony"


@pytest.mark.parametrize(
    "broken",
    [
        '{"dispatch_rule": {"rule": {"dispatchRuleIndividul": {}}}}',
        '{"dispatch_rule": {"roomConfig": {"agents": [{"agent": "coffee-agent"}]}}}',
    ],
)
def test_a_misspelt_field_is_refused(broken: str):
    with pytest.raises(json_format.ParseError):
        json_format.Parse(broken, sip.CreateSIPDispatchRuleRequest())
