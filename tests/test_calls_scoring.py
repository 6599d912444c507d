"""`python -m evals.calls score`: turn logic, every input shape and codec, bad inputs, the
checks file, report.json's schema, and report.html rendered by headless Chromium.

Short synthetic calls (espeak-ng lines placed at known times by `evals.calls.labelled`),
timings only (`--no-stt`); the Whisper-based tests are in test_calls_slow.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from evals.calls.audio import RATE, CallInputError, load_pair, load_stereo
from evals.calls.cli import main
from evals.calls.labelled import CallScript, espeak, write_call_audio
from evals.calls.score import ScoreOptions, score_call
from evals.calls.turns import TurnOptions, analyse
from evals.calls.vad import Segment

# ---------- turn logic on hand-made segments ----------


def seg(a: float, b: float) -> Segment:
    return Segment(a, b)


def test_ordinary_turns_latency_and_dead_air() -> None:
    caller = [seg(3.0, 5.0), seg(9.0, 10.0), seg(10.4, 11.0)]
    agent = [seg(0.5, 2.0), seg(5.8, 7.0), seg(14.2, 16.0)]
    tt = analyse(caller, agent, TurnOptions(dead_air=2.0))
    assert [(r.caller_end, r.agent_start, r.latency) for r in tt.responses] == [
        (5.0, 5.8, 0.8),
        (11.0, 14.2, 3.2),  # the caller's 0.4 s pause stays inside its turn
    ]
    assert tt.agent_interruptions == [] and tt.barge_ins == []
    assert [(g.start, g.end, g.waiting_on) for g in tt.dead_air] == [(11.0, 14.2, "agent")]


def test_agent_interruption_gives_negative_latency() -> None:
    tt = analyse([seg(1.0, 4.0)], [seg(3.5, 6.0)], TurnOptions())
    assert [r.latency for r in tt.responses] == [-0.5]
    assert [(i.at, i.caller_end) for i in tt.agent_interruptions] == [(3.5, 4.0)]
    assert [(o.start, o.end) for o in tt.overlaps] == [(3.5, 4.0)]


def test_caller_barge_in_yielded_or_not() -> None:
    yielded = analyse([seg(3.0, 5.0)], [seg(0.0, 3.3), seg(6.0, 7.0)], TurnOptions())
    assert [(b.at, b.yielded, b.yield_after) for b in yielded.barge_ins] == [(3.0, True, 0.3)]
    assert [r.latency for r in yielded.responses] == [1.0]
    talked_on = analyse([seg(3.0, 5.0)], [seg(0.0, 4.5), seg(6.0, 7.0)], TurnOptions())
    assert [(b.yielded, b.yield_after) for b in talked_on.barge_ins] == [(False, 1.5)]
    # the agent's own line going on is not an answer; its next turn is
    assert [(r.agent_start, r.latency) for r in talked_on.responses] == [(6.0, 1.0)]


def test_unanswered_last_turn() -> None:
    tt = analyse([seg(2.0, 3.0), seg(6.0, 7.0)], [seg(0.0, 1.0), seg(3.5, 5.0)], TurnOptions())
    assert [r.caller_end for r in tt.responses] == [3.0]
    assert [(t.start, t.end) for t in tt.unanswered] == [(6.0, 7.0)]


# ---------- short synthetic calls with known times ----------


@pytest.fixture(scope="module")
def script() -> CallScript:
    s = CallScript(name="short", fmt="pcm16")
    hi = "Thanks for calling, what can I get you?"
    s.put("agent", espeak(hi, "en-us+m3"), hi, 0.3)
    s.caller_after(espeak("A large mocha please.", "en-us+f3"), "A large mocha please.", gap=0.8)
    s.answer(espeak("Sure, anything else?", "en-us+m3"), "Sure, anything else?", latency=0.7)
    s.caller_after(espeak("No that is all thanks.", "en-us+f3"), "No that is all thanks.", gap=0.6)
    s.agent_interrupts(
        espeak("Great, it is ready soon.", "en-us+m3"), "Great, it is ready soon.", 0.4
    )
    return s


@pytest.fixture(scope="module")
def stereo(script: CallScript) -> np.ndarray:
    return script.mix(seed=1)


FORMATS = {"pcm16": ".wav", "mulaw8k": ".wav", "opus": ".ogg", "aac": ".m4a", "webm": ".webm"}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_codec_scores_the_same_turns(
    fmt: str, stereo: np.ndarray, script: CallScript, tmp_path: Path
) -> None:
    path = tmp_path / f"call-{fmt}{FORMATS[fmt]}"
    write_call_audio(path, stereo, fmt)
    call = load_stereo(path)
    assert call.narrowband == (fmt == "mulaw8k")
    report = score_call(call, ScoreOptions(stt=None))
    want = script.labels()["turns"]
    got = report["turns"]
    assert len(got) == len(want) == 2
    for g, w in zip(got, want, strict=True):
        assert abs(g["latency"] - w["latency"]) <= 0.1, (fmt, g, w)
    assert report["interruptions"] == {"agent": 1, "caller": 0}
    assert report["turns"][1]["latency"] < 0 and report["turns"][1]["agent_interrupted"]


def test_caller_and_agent_files(stereo: np.ndarray, script: CallScript, tmp_path: Path) -> None:
    import soundfile as sf

    sf.write(tmp_path / "caller.wav", stereo[0], RATE, subtype="PCM_16")
    # the agent's track as 8 kHz mono mu-law, as a phone leg may be recorded
    write_call_audio(tmp_path / "agent2ch.wav", np.stack([stereo[1], stereo[1]]), "mulaw8k")
    call = load_pair(tmp_path / "caller.wav", tmp_path / "agent2ch.wav", name="pair")
    report = score_call(call, ScoreOptions(stt=None))
    want = script.labels()["turns"]
    assert len(report["turns"]) == len(want)
    for got, w in zip(report["turns"], want, strict=True):
        assert abs(got["latency"] - w["latency"]) <= 0.1


def test_mono_file_is_refused(tmp_path: Path) -> None:
    import soundfile as sf

    sf.write(tmp_path / "mono.wav", np.zeros(RATE, dtype=np.float32), RATE)
    with pytest.raises(CallInputError, match="mono recording"):
        load_stereo(tmp_path / "mono.wav")


# ---------- the command ----------


@pytest.fixture
def calls_dir(stereo: np.ndarray, tmp_path: Path) -> Path:
    d = tmp_path / "calls"
    (d / "sub").mkdir(parents=True)
    write_call_audio(d / "a.wav", stereo, "pcm16")
    write_call_audio(d / "sub" / "b.ogg", stereo, "opus")
    (d / "notes.txt").write_text("not audio")
    return d


def test_folder_expands_and_bad_file_exits_2(
    calls_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.ogg"
    bad.write_bytes(b"OggS" + b"\x00" * 100)
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    rc = main(
        [
            "score",
            str(calls_dir),
            str(bad),
            str(tmp_path / "missing.wav"),
            str(tmp_path / "empty"),
            "--out",
            str(out),
            "--no-stt",
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": ", 2)[2] for line in err if line.startswith("error: ")] == [
        "not a readable audio file (End of file)",
        "no such file",
        "folder holds no recordings (.aac, .flac, .m4a, .mka, .mp3, .mp4, .oga, .ogg, .opus, .wav, .webm)",
    ]
    summary = json.loads((out / "summary.json").read_text())
    names = [c["name"] for c in summary["calls"]]
    assert names == ["a", "b", "broken", "missing", "empty"]
    assert summary["across"]["calls"] == 2 and summary["across"]["errors"] == 3
    for name in ("a", "b"):
        report = json.loads((out / name / "report.json").read_text())
        assert report["schema"] == "evals.calls/report/v1"
        assert {"speech", "turns", "interruptions", "metrics"} <= set(report)
        assert all(set(s) >= {"channel", "start", "end", "text"} for s in report["speech"])
        assert all(set(t) >= {"caller_end", "agent_start", "latency"} for t in report["turns"])
    assert (out / "summary.html").is_file()


def test_checks_file_fails_the_run(
    calls_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checks = tmp_path / "checks.yaml"
    checks.write_text(
        "checks:\n"
        "  - max_latency: 5.0\n"
        "  - all_turns_answered: true\n"
        "  - max_dead_air: 3.0\n"
        "calls:\n"
        "  'a*':\n"
        "    - max_agent_interruptions: 0\n"
        "    - tool_called: finish_order\n"
    )
    out = tmp_path / "out"
    rc = main(
        [
            "score",
            str(calls_dir / "a.wav"),
            str(calls_dir / "sub"),
            "--out",
            str(out),
            "--no-stt",
            "--checks",
            str(checks),
        ]
    )
    assert rc == 1
    a = json.loads((out / "a" / "report.json").read_text())
    verdicts = {c["check"]: c["passed"] for c in a["checks"]}
    assert verdicts == {
        "max_latency: 5.0": True,
        "all_turns_answered: True": True,
        "max_dead_air: 3.0": True,
        "max_agent_interruptions: 0": False,
        "tool_called: finish_order": False,  # no call records beside it
    }
    b = json.loads((out / "b" / "report.json").read_text())
    assert b["passed"] and len(b["checks"]) == 3
    assert "checks failed" in capsys.readouterr().out


def test_tool_checks_read_the_call_records(calls_dir: Path, tmp_path: Path) -> None:
    (calls_dir / "transcript.jsonl").write_text(
        json.dumps({"role": "user", "text": "a mocha"})
        + "\n"
        + json.dumps(
            {
                "role": "tool",
                "type": "function_call",
                "name": "add_order_item",
                "arguments": "{}",
                "at": 3.0,
            }
        )
        + "\n"
    )
    checks = tmp_path / "checks.yaml"
    checks.write_text("- tool_called: add_order_item\n- tool_not_called: transfer_to_human\n")
    out = tmp_path / "out"
    assert (
        main(
            [
                "score",
                str(calls_dir / "a.wav"),
                "--out",
                str(out),
                "--no-stt",
                "--checks",
                str(checks),
            ]
        )
        == 0
    )
    report = json.loads((out / "a" / "report.json").read_text())
    assert report["tools"]["calls"][0]["name"] == "add_order_item"
    checks.write_text("- tool_called: finish_order\n")
    assert (
        main(
            [
                "score",
                str(calls_dir / "a.wav"),
                "--out",
                str(out),
                "--no-stt",
                "--checks",
                str(checks),
            ]
        )
        == 1
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- max_latency: fast\n", "bad value 'fast' for max_latency"),
        ("- speak_nicely: true\n", "unknown check 'speak_nicely'"),
        ("- agent_says: '(unclosed'\n", "bad regex"),
        ("checks: [\n", "not valid YAML"),
        # types are strict: a quoted "false" is not false, true is not a number
        ("- barge_ins_yielded: 'false'\n", "bad value 'false' for barge_ins_yielded"),
        ("- all_turns_answered: 'yes'\n", "bad value 'yes' for all_turns_answered"),
        ("- max_latency: true\n", "bad value True for max_latency"),
        ("- max_latency: -1\n", "bad value -1 for max_latency"),
        ("- max_agent_interruptions: 1.5\n", "bad value 1.5 for max_agent_interruptions"),
        ("- max_dead_air: {seconds: 3, waiting_on: nobody}\n", "bad value {'seconds'"),
        ("- max_dead_air: {secs: 3}\n", "bad value {'secs': 3}"),
        ("- agent_says: 42\n", "bad value 42 for agent_says"),
        ("- tool_called: [end_call]\n", "bad value ['end_call'] for tool_called"),
    ],
)
def test_bad_checks_file_is_one_line_exit_2(
    text: str, message: str, calls_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checks = tmp_path / "c.yaml"
    checks.write_text(text)
    rc = main(
        [
            "score",
            str(calls_dir / "a.wav"),
            "--out",
            str(tmp_path / "o"),
            "--no-stt",
            "--checks",
            str(checks),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and message in err and "\n" not in err


def test_checks_take_booleans_and_numbers_as_written(tmp_path: Path) -> None:
    from evals.calls.checks import load_checks, run_checks

    checks = tmp_path / "c.yaml"
    checks.write_text(
        "- barge_ins_yielded: false\n- all_turns_answered: true\n- max_latency: 2\n"
        "- max_dead_air: {seconds: 3.5, waiting_on: agent}\n- max_agent_interruptions: 0\n"
    )
    loaded = load_checks(checks).common
    assert [c.arg for c in loaded] == [
        False, True, 2, {"seconds": 3.5, "waiting_on": "agent"}, 0,
    ]  # fmt: skip
    # `false` asks nothing of barge-ins: a call that talked over the caller passes it
    report = {"barge_ins": [{"yielded": False, "yield_after": 1.2, "at": 3.0}]}
    assert run_checks(report, loaded[:1])[0]["passed"]


def test_a_yaml_alias_bomb_is_one_short_line(
    calls_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nine levels of nine aliases stand for 9**9 strings: refused before anything expands."""
    levels = ["&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"&l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    checks = tmp_path / "bomb.yaml"
    checks.write_text(f"checks:\n  - agent_says: [{', '.join(levels)}]\n")
    rc = main(
        ["score", str(calls_dir / "a.wav"), "--out", str(tmp_path / "o"), "--no-stt",
         "--checks", str(checks)]
    )  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "aliases" in err and "\n" not in err and len(err) < 300, err[:500]


def test_names_stay_inside_out_and_links_stay_links(
    stereo: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`score ../call.wav --out out` writes under `out` (named after the folder the call is
    really in); a file named `javascript:...` is a plain relative link in summary.html."""
    rec = tmp_path / "rec"
    work = rec / "work"
    work.mkdir(parents=True)
    write_call_audio(rec / "call.wav", stereo, "pcm16")
    write_call_audio(work / "javascript:alert(1).wav", stereo, "pcm16")
    write_call_audio(work / "..wav", stereo, "pcm16")
    monkeypatch.chdir(work)
    assert main(["score", "../call.wav", "javascript:alert(1).wav", "..wav", "--out", "out",
                 "--no-stt"]) == 0  # fmt: skip
    assert sorted(p.name for p in (work / "out").iterdir()) == [
        "call", "javascript_alert_1", "rec", "summary.html", "summary.json",
    ]  # fmt: skip
    assert not (rec / "report.json").exists() and not (work / "report.json").exists()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("report.json")) == [
        f"rec/work/out/{n}/report.json" for n in ("call", "javascript_alert_1", "rec")
    ]
    html = (work / "out" / "summary.html").read_text()
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert len(hrefs) == 3 and all(h.startswith("./") and ":" not in h for h in hrefs), hrefs


def test_summary_links_are_relative_whatever_the_name() -> None:
    from evals.calls.html import _href

    assert _href("javascript:alert(1)") == "./javascript%3Aalert%281%29/report.html"
    assert _href('x" onclick="y') == "./x%22%20onclick%3D%22y/report.html"


def test_caller_without_agent_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", "--caller", "x.wav", "--out", str(tmp_path)]) == 2
    assert "--caller and --agent go together" in capsys.readouterr().err


# ---------- report.html in a real browser ----------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_html_renders_every_turn_in_chromium(calls_dir: Path, tmp_path: Path) -> None:
    assert CHROMIUM, "headless Chromium is missing: Debian package chromium (scripts/bootstrap.sh)"
    out = tmp_path / "out"
    main(["score", str(calls_dir / "a.wav"), "--out", str(out), "--no-stt"])
    report = json.loads((out / "a" / "report.json").read_text())
    html = out / "a" / "report.html"
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert dom.count('class="turn"') == len(report["turns"]) == 2
    for i, t in enumerate(report["turns"], 1):
        assert f'id="turn-{i}"' in dom
        assert f"turn {i}: latency {t['latency']:.3f} s" in dom  # the latency mark on the timeline
    assert dom.count('class="bar"') == len(report["speech"])
    assert "agent interrupted the caller" in dom
    assert "<script" not in html.read_text() and "http" not in html.read_text()


def test_tool_calls_from_the_call_records_events(tmp_path: Path) -> None:
    from evals.calls.records import tool_calls_beside

    rec = tmp_path / "20261125T212732Z-a32e376a"
    rec.mkdir()
    (rec / "events.jsonl").write_text(
        '{"t": 0.0, "at": "2026-11-25T21:27:33+00:00", "kind": "brain", "brain": "local"}\n'
        '{"t": 10.5, "at": "2026-11-25T21:27:43+00:00", "kind": "tool_call", "name": "add_order_item", "status": "ok"}\n'
        "not json\n"
    )
    calls, source = tool_calls_beside(rec / "call.ogg")
    assert source == str(rec / "events.jsonl")
    assert calls is not None and [(c.name, c.at) for c in calls] == [("add_order_item", 10.5)]
    assert tool_calls_beside(tmp_path / "elsewhere" / "call.ogg") == (None, None)


def test_tracks_that_started_apart_are_aligned(
    stereo: np.ndarray, script: CallScript, tmp_path: Path
) -> None:
    import soundfile as sf

    # the agent's egress track began 0.25 s into the call (before the greeting at 0.3 s)
    sf.write(tmp_path / "caller.wav", stereo[0], RATE, subtype="PCM_16")
    write_call_audio(
        tmp_path / "agent.webm", np.stack([stereo[1], stereo[1]])[:, RATE // 4 :], "webm"
    )
    out = tmp_path / "out"
    argv = [
        "score",
        "--caller",
        str(tmp_path / "caller.wav"),
        "--agent",
        str(tmp_path / "agent.webm"),
    ]
    assert main([*argv, "--out", str(out), "--no-stt", "--agent-offset", "0.25"]) == 0
    report = json.loads((out / "caller" / "report.json").read_text())
    for got, want in zip(report["turns"], script.labels()["turns"], strict=True):
        assert abs(got["agent_start"] - want["agent_start"]) <= 0.05
        assert abs(got["latency"] - want["latency"]) <= 0.1
