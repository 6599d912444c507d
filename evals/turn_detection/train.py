"""Train the semantic end-of-turn model of ``livekit-plugins-semantic-turn`` (scikit-learn for
fitting; the plugin's inference is pure numpy)::

    python -m evals.turn_detection train --data ../shared/data/taskmaster4 \
        --out plugins/livekit-plugins-semantic-turn/livekit/plugins/semantic_turn/resources/semantic_turn_v1.npz \
        --splits-out evals/turn_detection/resources/semantic_turn_v1.splits.json

Writes ``<out>`` (weights, deterministic bytes for a given data/seed), ``<out stem>.metrics.json``
(figures + timings) and the split record (``--splits-out``, default ``<out stem>.splits.json``:
dialog ids per split, see ``split_record.py``). Needs scikit-learn and scipy (the project's
``dev`` extra). Examples: ``examples.py``; split: ``evals.splits.split_of`` (by dialog, seeded).

Data: Taskmaster-4 (Google LLC, Byrne & Ganesh), CC BY 4.0.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from livekit.plugins.semantic_turn.features import featurize, hash_features
from livekit.plugins.semantic_turn.model import TurnModel

from evals.splits import SCHEME, split_of
from tools.coffee.taskmaster4 import load_dialogs

from .domain_templates import RELATED, domain_names, template_examples
from .examples import (
    Example,
    augment_styles,
    restyle,
    synth_examples,
    tm4_examples,
    with_trailing_period,
)
from .multidomain import load_set
from .slot_dialogs import synth_dialogs
from .split_record import splits_path

MAX_FALSE_CUTOFF = 0.05


def _matrix(examples: Sequence[Example], n_features: int) -> Any:
    from scipy.sparse import csr_matrix

    indptr = [0]
    indices: list[int] = []
    for ex in examples:
        indices.extend(hash_features(featurize(ex.text, ex.context), n_features))
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float64)
    m = csr_matrix(
        (data, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
        shape=(len(examples), n_features),
    )
    m.sum_duplicates()
    return m


def _labels(examples: Sequence[Example]) -> np.ndarray:
    return np.asarray([ex.label for ex in examples], dtype=np.int64)


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else float("nan")


def choose_threshold(p: np.ndarray, y: np.ndarray, max_false_cutoff: float) -> float:
    """Lowest threshold whose false cut-off rate (incomplete prefixes with P >= t) is <= budget."""
    neg = np.sort(p[y == 0])
    if len(neg) == 0:
        return 0.5
    k = int(np.floor(max_false_cutoff * len(neg)))  # negatives allowed at or above t
    t = float(neg[len(neg) - k - 1]) + 1e-6 if k < len(neg) else 0.0
    return min(max(t, 0.0), 1.0)


def fit_calibrated(
    xtr: Any,
    ytr: np.ndarray,
    xdv: Any,
    ydv: np.ndarray,
    c: float,
    n_features: int,
    max_false_cutoff: float,
    init: TurnModel | None = None,
) -> TurnModel:
    """Logistic regression at ``C=c`` + Platt on dev + the dev threshold, from matrices.

    ``init``: warm-start L-BFGS from this model's weights (same optimum, far fewer iterations
    when the data changed a little, as in leave-one-domain-out folds)."""
    from sklearn.linear_model import LogisticRegression

    used = np.flatnonzero(np.asarray(xtr.getnnz(axis=0)) > 0)
    clf = LogisticRegression(C=c, max_iter=1000, tol=1e-5, warm_start=init is not None)
    if init is not None:
        clf.coef_ = init.w[used].astype(np.float64)[None, :]
        clf.intercept_ = np.array([init.b], dtype=np.float64)
    clf.fit(xtr[:, used], ytr)
    zdv = clf.decision_function(xdv[:, used])
    platt = LogisticRegression(C=1e6, max_iter=1000, tol=1e-8).fit(zdv.reshape(-1, 1), ydv)
    w = np.zeros(n_features, dtype=np.float32)
    w[used] = clf.coef_[0]
    model = TurnModel(
        w=w,
        b=float(clf.intercept_[0]),
        platt_a=float(platt.coef_[0, 0]),
        platt_c=float(platt.intercept_[0]),
    )
    pdv = 1.0 / (1.0 + np.exp(-(model.platt_a * zdv + model.platt_c)))
    model.threshold = choose_threshold(pdv, ydv, max_false_cutoff)
    return model


def leave_one_domain_out(
    train: Sequence[Example], dev: Sequence[Example], xtr: Any, ytr: np.ndarray, xdv: Any,
    ydv: np.ndarray, c: float, args: argparse.Namespace, full: TurnModel,
) -> None:  # fmt: skip
    """One model per dev-set domain, fitted without that domain's (and its relatives')
    templated exchanges, saved as ``<lodo-out>/<domain>.npz``."""
    os.makedirs(args.lodo_out, exist_ok=True)
    tr_dom = [e.dialog_id.split(":")[1] if e.source == "tpl" else "" for e in train]
    dv_dom = [e.dialog_id.split(":")[1] if e.source == "tpl" else "" for e in dev]
    for name in sorted({c.domain for c in load_set("dev")} & set(domain_names())):
        drop = {name, *RELATED.get(name, ())}
        keep_tr = np.asarray([d not in drop for d in tr_dom])
        keep_dv = np.asarray([d not in drop for d in dv_dom])
        t0 = time.perf_counter()
        model = fit_calibrated(xtr[keep_tr], ytr[keep_tr], xdv[keep_dv], ydv[keep_dv], c,
                               args.n_features, args.max_false_cutoff, init=full)  # fmt: skip
        model.meta = {**full.meta, "excluded_domains": sorted(drop)}
        model.save(os.path.join(args.lodo_out, name.replace(" ", "_") + ".npz"))
        print(f"  lodo {name}: without {sorted(drop)} in {time.perf_counter() - t0:.0f}s",
              file=sys.stderr)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.turn_detection train")
    ap.add_argument("--data", required=True, help="Taskmaster-4 folder with data_0*.json")
    ap.add_argument("--out", required=True, help="weights path (.npz)")
    ap.add_argument(
        "--splits-out", default=None, help="split record (default: <out stem>.splits.json)"
    )
    ap.add_argument("--limit-dialogs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-features", type=int, default=1 << 18)
    ap.add_argument(
        "--synth", type=int, default=None, help="synthetic slot dialogs (default 0.7 x dialogs)"
    )
    ap.add_argument(
        "--templates",
        type=int,
        default=None,
        help="templated multi-domain exchanges (domain_templates.py; default 3 x dialogs)",
    )
    ap.add_argument(
        "--exclude-domains",
        default="",
        help="comma list of template domains to leave out (leave-one-domain-out runs)",
    )
    ap.add_argument(
        "--C", type=float, default=None, help="L2 inverse strength (default: picked on dev)"
    )
    ap.add_argument("--max-false-cutoff", type=float, default=MAX_FALSE_CUTOFF)
    ap.add_argument(
        "--lodo-out",
        default=None,
        help="also write leave-one-domain-out models (<dir>/<domain>.npz, same C) for "
        "`domains --lodo-dir`",
    )
    args = ap.parse_args(argv)
    if args.n_features & (args.n_features - 1):
        ap.error("--n-features must be a power of two")

    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    try:
        dialogs = load_dialogs(args.data, args.limit_dialogs)
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    split_ids: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    for d in dialogs:
        split_ids[split_of(d["conversation_id"], args.seed)].append(d["conversation_id"])
    n_synth = args.synth if args.synth is not None else int(round(0.7 * len(dialogs)))
    n_tpl = args.templates if args.templates is not None else int(round(3.0 * len(dialogs)))
    excluded = [d for d in args.exclude_domains.split(",") if d.strip()]
    base = (
        tm4_examples(dialogs, args.seed)
        + synth_examples(synth_dialogs(n_synth, args.seed), args.seed)
        + template_examples(n_tpl, args.seed, exclude=excluded)
    )
    by_split: dict[str, list[Example]] = {"train": [], "dev": [], "test": []}
    for ex in base:
        by_split[split_of(ex.dialog_id, args.seed)].append(ex)
    train = augment_styles(by_split["train"], args.seed, copies=2)
    dev = augment_styles(by_split["dev"], args.seed + 1, copies=3)
    xtr, ytr = _matrix(train, args.n_features), _labels(train)
    xdv, ydv = _matrix(dev, args.n_features), _labels(dev)
    print(
        f"dialogs={len(dialogs)} synth={n_synth} examples train={len(train)} dev={len(dev)} "
        f"test(base)={len(by_split['test'])} pos_rate={ytr.mean():.3f}",
        file=sys.stderr,
    )

    # fit only on the hash buckets the training set uses (an unused bucket's weight is 0 under
    # L2 anyway): a far smaller problem for L-BFGS, same solution
    used = np.flatnonzero(np.asarray(xtr.getnnz(axis=0)) > 0)
    xtr_u, xdv_u = xtr[:, used], xdv[:, used]
    grid = [args.C] if args.C is not None else [0.1, 0.3, 1.0]
    best: tuple[float, float, Any] | None = None
    for c in grid:
        clf = LogisticRegression(C=c, max_iter=1000, tol=1e-5)
        clf.fit(xtr_u, ytr)
        auc = _auc(ydv, clf.decision_function(xdv_u))
        print(f"  C={c:g} dev AUC={auc:.4f}", file=sys.stderr)
        if best is None or auc > best[0] + 1e-9:
            best = (auc, c, clf)
    assert best is not None
    _, c_best, clf = best

    # Platt scaling on dev
    zdv = clf.decision_function(xdv_u).reshape(-1, 1)
    platt = LogisticRegression(C=1e6, max_iter=1000, tol=1e-8).fit(zdv, ydv)
    w = np.zeros(args.n_features, dtype=np.float32)
    w[used] = clf.coef_[0]
    model = TurnModel(
        w=w,
        b=float(clf.intercept_[0]),
        platt_a=float(platt.coef_[0, 0]),
        platt_c=float(platt.intercept_[0]),
    )
    pdv = np.asarray([model.predict(ex.text, ex.context) for ex in dev])
    model.threshold = choose_threshold(pdv, ydv, args.max_false_cutoff)
    dev_fcr = float(np.mean(pdv[ydv == 0] >= model.threshold))
    dev_held = float(np.mean(pdv[ydv == 1] < model.threshold))

    # held-out test figures
    test = by_split["test"]
    sets = {
        "clean": test,
        "trailing_period": with_trailing_period(test),
        "lowercase_nopunct": [
            Example(e.dialog_id, e.context, restyle(e.text, "lower", e.label), e.label, e.source)
            for e in test
        ],
        "whisper": [
            Example(e.dialog_id, e.context, restyle(e.text, "whisper", e.label), e.label, e.source)
            for e in test
        ],
    }
    figures: dict[str, Any] = {}
    for name, exs in sets.items():
        for src in ("tm4", "synth", "tpl"):
            sub = [e for e in exs if e.source == src]
            if not sub:
                continue
            y = _labels(sub)
            p = np.asarray([model.predict(e.text, e.context) for e in sub])
            figures[f"test_auc_{name}_{src}"] = round(_auc(y, p), 4)
            figures[f"test_false_cutoff_{name}_{src}"] = round(
                float(np.mean(p[y == 0] >= model.threshold)), 4
            )
            figures[f"test_held_complete_{name}_{src}"] = round(
                float(np.mean(p[y == 1] < model.threshold)), 4
            )
    figures["test_n_tm4"] = sum(e.source == "tm4" for e in test)
    figures["test_n_synth"] = sum(e.source == "synth" for e in test)
    figures["test_n_tpl"] = sum(e.source == "tpl" for e in test)
    train_s = time.perf_counter() - t0

    model.meta = {
        "seed": args.seed,
        "limit_dialogs": args.limit_dialogs,
        "n_dialogs": len(dialogs),
        "n_synth": n_synth,
        "n_templates": n_tpl,
        "excluded_domains": excluded,
        "C": c_best,
        "n_train": len(train),
        "n_dev": len(dev),
        "max_false_cutoff": args.max_false_cutoff,
        "dev_auc": round(best[0], 4),
        "dev_false_cutoff": round(dev_fcr, 4),
        "dev_held_complete": round(dev_held, 4),
        "figures": figures,
        "data": "Taskmaster-4 (Google LLC, Byrne & Ganesh), CC BY 4.0; templated "
        "multi-domain exchanges written for this repo (evals/turn_detection/domain_templates.py)",
    }
    model.save(args.out)
    if args.lodo_out:
        leave_one_domain_out(train, dev, xtr, ytr, xdv, ydv, c_best, args, model)
    record = args.splits_out or splits_path(args.out)
    os.makedirs(os.path.dirname(os.path.abspath(record)), exist_ok=True)
    with open(record, "w", encoding="utf-8") as fh:
        json.dump(
            {"seed": args.seed, "scheme": SCHEME, **split_ids},
            fh,
            indent=0,
        )
        fh.write("\n")

    # latency on one core (figures only; not part of the weights)
    texts = [(e.text, e.context) for e in test[:2000]] or [("hello", ())]
    lat = []
    for text, ctx in texts:
        s = time.perf_counter()
        model.predict(text, ctx)
        lat.append((time.perf_counter() - s) * 1000.0)
    with open(args.out, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    metrics = {
        **model.meta,
        "threshold": model.threshold,
        "platt": [model.platt_a, model.platt_c],
        "predict_ms_p50": round(float(np.percentile(lat, 50)), 4),
        "predict_ms_p95": round(float(np.percentile(lat, 95)), 4),
        "train_seconds": round(train_s, 1),
        "weights_bytes": os.path.getsize(args.out),
        "weights_sha256": digest,
    }
    root, _ = os.path.splitext(args.out)
    with open(root + ".metrics.json", "w", encoding="utf-8") as fh:
        json.dump(metrics, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print(json.dumps(metrics, indent=1, sort_keys=True), file=sys.stderr)
    print(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
