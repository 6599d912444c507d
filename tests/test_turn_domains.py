"""The semantic turn detector beyond coffee (issue 13): cross-domain behaviour in every STT style,
the hand-written multi-domain sets, the ``domains`` CLI on bad input, the fusion fit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from livekit.plugins.semantic_turn import SemanticTurnDetector, TurnFusion

from evals.turn_detection.domain_templates import domain_names, template_examples
from evals.turn_detection.fusion_fit import fit_rows, fusion_rows
from evals.turn_detection.multidomain import (
    STYLES,
    SetFormatError,
    auc,
    domains,
    load_set,
    parse_lines,
    render,
)
from evals.turn_detection.sweep import SpanScores

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def det() -> SemanticTurnDetector:
    return SemanticTurnDetector()


# --- cross-domain behaviour -------------------------------------------------------------------

GREETINGS = [
    "Thanks for calling Riverside Clinic, how can I help you?",
    "First National Bank, what can I do for you today?",
    "Thank you for calling the airline. How may I help?",
    "City Water and Power, how can I help you?",
    "Hi, you've reached the leasing office. What can I do for you?",
]
CUT_OFFS = [
    "I'd like to make an appointment for",
    "Um, I need to talk to someone about my",
    "I was wondering if I could",
    "Yeah, so the problem is that the",
]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("cut", CUT_OFFS)
def test_same_cut_off_is_held_in_every_domain(
    det: SemanticTurnDetector, cut: str, style: str
) -> None:
    text = render(cut, style, 0)  # type: ignore[arg-type]
    for greeting in GREETINGS:
        assert det.predict_text(text, [greeting]) < det.threshold, (greeting, text)


ONE_WORD = [
    ("Which day works best for your appointment?", "Tuesday."),
    ("Is this a new problem?", "Yes."),
    ("Do you want us to mail the new card?", "No."),
    ("Where are you flying from?", "Boston."),
    ("How many guests will be staying?", "Three."),
    ("Would you like a window or an aisle seat?", "Aisle."),
]


# Known limit, kept visible: a bare lower-case "yes"/"no" after a yes/no question stays just
# under the threshold (in Taskmaster-4 they usually go on: "No, I want to change..."); the
# fused detector's silence term commits them (test_fused_one_word_yes_commits_after_a_pause).
_RAW_YES_NO = {("Is this a new problem?", "raw"), ("Do you want us to mail the new card?", "raw")}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("question,answer", ONE_WORD)
def test_finished_one_word_answer_commits(
    det: SemanticTurnDetector, question: str, answer: str, style: str
) -> None:
    text = render(answer, style, 1)  # type: ignore[arg-type]
    p = det.predict_text(text, [question])
    if (question, style) in _RAW_YES_NO:  # near the threshold, far above the same word + "but"
        assert p > det.threshold - 0.2, (question, text, p)
        assert p > det.predict_text(text + " but", [question]) + 0.2
    else:
        assert p > det.threshold, (question, text, p)


@pytest.mark.parametrize("style", STYLES)
def test_digits_read_out_are_held_until_the_number_is_complete(
    det: SemanticTurnDetector, style: str
) -> None:
    q = ["Can I have the phone number on the account?"]
    part = det.predict_text(render("Five five five, two one", style, 0), q)  # type: ignore[arg-type]
    full = det.predict_text(render("555 201 7784.", style, 1), q)  # type: ignore[arg-type]
    assert part < det.threshold < full


# --- the sets and their renderings -------------------------------------------------------------


def test_dev_set_is_multi_domain_balanced_and_coffee_free() -> None:
    dev = load_set("dev")
    assert len(dev) >= 300
    assert len(domains(dev)) >= 10
    assert sum(c.label for c in dev) * 2 == len(dev)  # half complete, half cut
    text = " ".join(c.text + " " + " ".join(c.context) for c in dev).lower()
    for coffee in ("latte", "coffee", "espresso", "barista", "mocha"):
        assert coffee not in text
    test = load_set("test")
    assert not set(domains(test)) & set(domains(dev))
    # the templated training data never covers a test-set domain
    assert not set(domains(test)) & set(domain_names())


def test_renderings() -> None:
    assert render("Um, it's 555, two one", "raw", 0) == "um it's 555 two one"
    assert render("Um, it's 555, two one,", "whisper", 0) == "Um, it's 555, two one."
    assert render("Is it Tuesday?", "whisper", 1) == "Is it Tuesday?"
    assert render("Um, it's 555, two one,", "deepgram", 0) == "Um, it's 555, two one"
    assert render("Tuesday.", "deepgram", 1) == "Tuesday."


def test_parse_lines_cuts_and_errors() -> None:
    lines = parse_lines(["## bank", "Q: How much?", "A: Two | hundred | dollars."])
    assert lines[0].full == "Two hundred dollars." and lines[0].cut(2) == "Two hundred"
    with pytest.raises(SetFormatError, match="<set>:1"):
        parse_lines(["A: orphan answer"])
    with pytest.raises(SetFormatError, match="empty piece"):
        parse_lines(["## x", "Q: q?", "A: a || b"])


def test_templates_label_cuts_by_segment() -> None:
    ex = template_examples(200, seed=3)
    assert {e.source for e in ex} == {"tpl"}
    assert template_examples(200, seed=3) == ex  # deterministic
    full: dict[str, str] = {}
    for e in ex:  # each exchange's full answer comes first, as a positive
        if e.dialog_id not in full:
            assert e.label == 1
            full[e.dialog_id] = e.text
        else:  # then its cuts: strict prefixes
            assert full[e.dialog_id].startswith(e.text) and full[e.dialog_id] != e.text
    assert not [e for e in template_examples(50, exclude=["bank"]) if ":bank:" in e.dialog_id]


def test_shipped_model_out_of_domain_auc_on_dev(det: SemanticTurnDetector) -> None:
    """The dev-set figure the README reports, pinned with a floor so a regression shows."""
    dev = load_set("dev")
    y = [c.label for c in dev]
    for style in STYLES:
        p = [det.predict_text(render(c.text, style, c.label), c.context) for c in dev]
        assert auc(y, p) >= 0.96, style


# --- the domains CLI ---------------------------------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evals.turn_detection", "domains", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_domains_cli_bad_input(tmp_path: Path) -> None:
    r = _run("--detectors", "ours,gpt9")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("error: unknown")
    bad = tmp_path / "bad.txt"
    bad.write_text("## clinic\nA: no question yet\n")
    r = _run("--set-file", str(bad))
    assert r.returncode == 2 and f"{bad}:2:" in r.stderr and r.stdout == ""
    r = _run("--model", str(tmp_path / "missing.npz"))
    assert r.returncode == 2 and "no model file" in r.stderr
    r = _run("--lodo-dir", str(tmp_path), "--detectors", "ours")
    assert r.returncode == 2 and "no leave-one-domain-out model" in r.stderr
    r = _run("--train-lodo", "--lodo-dir", str(tmp_path))
    assert r.returncode == 2 and "needs --lodo-dir and --data" in r.stderr


def test_domains_cli_scores_a_set_file(tmp_path: Path) -> None:
    f = tmp_path / "mini.txt"
    f.write_text(
        "## bank\nQ: What's your account number?\nA: It's four | four | one | nine | two.\n"
        "Q: Anything else?\nA: No, that's all.\nA: Yes, I wanted to ask about | my fees.\n"
    )
    out = tmp_path / "r.json"
    r = _run("--set-file", str(f), "--detectors", "ours", "--json-out", str(out))
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert res["n"] == 6 and res["domains"] == ["bank"]
    assert set(res["detectors"]["ours"]) == set(STYLES)


# --- fusion fitted reproducibly ------------------------------------------------------------------


def _spans(seed: int) -> tuple[list[SpanScores], list[SpanScores]]:
    rng = np.random.default_rng(seed)
    text, audio = [], []
    for i in range(60):
        label = "eot" if i % 3 == 0 else "hold"
        e = np.round(np.arange(1, 9) * 0.1, 6)
        base = 0.8 if label == "eot" else 0.25
        text.append(SpanScores(label, 0.8, e, np.clip(base + rng.normal(0, 0.2, 8), 0.01, 0.99)))
        audio.append(SpanScores(label, 0.8, e, np.clip(base + rng.normal(0, 0.3, 8), 0.01, 0.99)))
    return text, audio


def test_fusion_fit_is_reproducible_and_beats_text_alone_on_its_rows() -> None:
    rows = fusion_rows(*_spans(0))
    f1, info1 = fit_rows(*rows)
    f2, info2 = fit_rows(*fusion_rows(*_spans(0)))
    assert f1 == f2 and info1 == info2
    assert f1.w_text > 0 and f1.w_audio > 0
    assert info1["dev_row_auc"]["fitted_fusion"] > info1["dev_row_auc"]["text"]
    with pytest.raises(ValueError, match="aligned"):
        fusion_rows(*_spans(0)[:1], _spans(0)[1][:-1] + [_spans(0)[0][0]])


def test_default_fusion_is_the_one_that_measured_better() -> None:
    """The record of the fusion fit. ``TurnFusion()`` is the fit, chosen on dev rows only (it
    beats the prior there); the session's default detector is the one with the fewest false
    cut-offs at 300 ms on the spoken test set -- text alone, which the brains' profiles use."""
    from agents.brain.profiles import PROFILES
    from evals.turn_detection.fusion_fit import SHIPPED_FIT

    record = json.loads(SHIPPED_FIT.read_text())
    default = TurnFusion()
    assert record["default"] == "fitted"
    for k, v in record["weights"].items():
        assert getattr(default, k) == pytest.approx(v, abs=1e-3), k
    fitted = record["fitted"]
    assert fitted["weights"]["w_text"] == pytest.approx(default.w_text, abs=1e-3)
    assert fitted["dev_row_auc"]["fitted_fusion"] > fitted["dev_row_auc"]["prior_fusion"]
    assert TurnFusion.prior() != default
    bench = record["bench_md_test"]
    for s in ("md-test", "md-test-8k"):
        fc = {n: bench[n][s]["cutoff_at_300ms"] for n in ("ours-text", "ours-fusion",
                                                           "ours-fusion-prior")}  # fmt: skip
        assert fc["ours-text"] == min(fc.values()), (s, fc)
    # the brains that run our detector at all run it as text alone
    ours = [p.turn_detector for p in PROFILES.values() if p.turn_detector in ("semantic", "fusion")]
    assert ours and set(ours) == {"semantic"}


def test_fused_one_word_yes_commits_after_a_pause(det: SemanticTurnDetector) -> None:
    """The shipped fusion: a bare "yes" commits by the time the caller has been silent a moment
    (and grows more certain with the silence), "yes but" does not, whatever the silence up to
    the cap."""
    from livekit.plugins.semantic_turn import FusedTurnDetector

    fused = FusedTurnDetector(audio_eot=None)
    q = ["Is this a new problem?"]
    assert fused.predict_offline("yes", q, None, 0.0) < fused.predict_offline("yes", q, None, 0.7)
    assert fused.predict_offline("yes", q, None, 0.7) > fused.threshold
    for silence in (0.0, 0.7, 1.0):
        assert fused.predict_offline("yes but", q, None, silence) < fused.threshold


def test_speed_cli_bad_input(tmp_path: Path) -> None:
    for args, msg in (
        (["--repeat", "0"], "--repeat must be >= 1"),
        (["--model", str(tmp_path / "none.npz")], "no model file"),
        (["--train"], "--train needs --data"),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "evals.turn_detection", "speed", *args],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert r.returncode == 2 and r.stderr.strip().startswith(f"error: {msg}"), r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
