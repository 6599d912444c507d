"""Mine the coffee-shop menu out of Taskmaster-4 into `tools/coffee/data/menu.json`.

    python -m tools.coffee.build_menu [--data DIR] [--out tools/coffee/data/menu.json]

`--data` defaults to `tools.coffee.taskmaster4.default_data_dir()` (the full dataset beside the
checkout, `../shared/data/taskmaster4`, else the slice shipped in the repo); the dialogs
are read through that module's `load_dialogs`. The API annotations are paired and parsed
here, strictly (`_ctx_groups`, `_loads`): `taskmaster4.api_calls` also repairs
doubled-quoted values, which would count a few more mentions than the committed menu.json
was built with.

Reproducible (no randomness, sorted output). Sources, all inside the dataset:

* the menus printed in each dialog's crowd-worker instructions (`*Latte* (12oz) (espresso +
  milk + foam)`, `*Earl Grey* (black tea)`): names, sizes, descriptions, categories;
* `get_menu_items` responses: which names the "API" returned (mention counts; a name the
  responses return often enough is kept even if no printed menu lists it, e.g. Espresso);
* `get_addons` responses, joined to the item through the dialog's own menu_item_id: which
  attributes (milk, hot/iced, shots, caffeine) and add-ons (syrups, sauces) each item takes;
* `add_order_item` requests: attributes actually chosen per item (to confirm applicability).

Taskmaster-4 is (c) Google LLC, Bill Byrne and Saravanan Ganesh, CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/); the menu is a derived work and carries that
attribution in its `source` field and in tools/README.md (NOTICE section). No prices exist in
the dataset, so none are invented: `price` is null.

Owns: the menu derivation (`build(data_dir)`) and its command line. May import: the standard
library and `tools.coffee.taskmaster4`; never `agents` or `evals`. Reads no environment
variables: the dataset folder comes from `--data` or `default_data_dir()`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from .taskmaster4 import data_files, default_data_dir, load_dialogs

DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "menu.json"

MIN_RESPONSE_MENTIONS = 10  # keep an unlisted name only when the API returned it this often
MIN_ADDON_MENTIONS = 20
MIN_ITEM_ATTRIBUTE_SUPPORT = 3

TEA_KINDS = {"herbal": "herbal tea", "green tea": "green tea", "oolong tea": "oolong tea",
             "black tea": "black tea"}  # fmt: skip

ATTRIBUTE_ALIASES = {
    "milk-options": "milk-options",
    "milk": "milk-options",
    "hot-or-iced": "hot-or-iced",
    "hot": "hot-or-iced",
    "iced": "hot-or-iced",
    "espresso-shots": "espresso-shots",
    "shots": "espresso-shots",
    "caffeine": "caffeine",
    "caffine": "caffeine",
    "order-type": "order-type",
    "name": "name",
}
ATTRIBUTE_NAMES = {
    "milk-options": "Milk",
    "hot-or-iced": "Hot or Iced",
    "espresso-shots": "Espresso Shots",
    "caffeine": "Caffeine",
    "order-type": "Order Type",
    "name": "Name",
}
# canonical option spellings (the dataset's most common spelling, typos folded)
OPTION_CANON = {
    "caff": "Caff",
    "caffe": "Caff",
    "decaf": "Decaf",
    "decafe": "Decaf",
    "togo": "To go",
    "to go": "To go",
}

ITEM_RE = re.compile(
    r"^\*?\s*(?P<name>[A-Z][A-Za-z' ]+?)\s*\*?\s*\((?P<size>\d+\s*oz)\)\s*\((?P<desc>[^)]*)\)$"
)
TEA_RE = re.compile(r"^\*?\s*(?P<name>[A-Z][A-Za-z' ]+?)\s*\*?\s*\((?P<kind>[a-z ]+)\)$")
LIST_RE = re.compile(r"\{\{LIST ([^}]*)\}\}")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def base_id(raw: str) -> str:
    """Dataset ids carry a worker-chosen number suffix: `latte-0371` -> `latte`."""
    s = slug(raw.strip().strip('"'))
    return re.sub(r"(-?\d+)+$", "", s).strip("-")


def norm_name(name: str) -> str:
    return " ".join(name.lower().split())


def _ctx_groups(annotations: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Pair each `api_call_N` (api_call + request) with its `api_response_N` (+ response)."""
    groups: dict[str, dict[str, str]] = {}
    for a in annotations:
        ctx = str(a.get("context", ""))
        key = ctx.rsplit("_", 1)[-1]
        groups.setdefault(key, {})[a.get("name", "")] = a.get("value", "")
    return list(groups.values())


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _canon_option(option: str) -> str:
    o = " ".join(option.split())
    return OPTION_CANON.get(o.lower(), o)


def build(data_dir: Path) -> dict[str, Any]:
    dialogs = load_dialogs(data_dir)
    listed: dict[str, dict[str, Any]] = {}
    listed_count: Counter[str] = Counter()
    response_names: Counter[str] = Counter()
    spelling: dict[str, Counter[str]] = defaultdict(Counter)
    item_attrs: dict[str, Counter[str]] = defaultdict(Counter)
    attr_options: dict[str, Counter[tuple[str, ...]]] = defaultdict(Counter)
    item_addons: dict[str, Counter[str]] = defaultdict(Counter)
    addon_spelling: dict[str, Counter[str]] = defaultdict(Counter)
    chosen_attrs: dict[str, Counter[str]] = defaultdict(Counter)

    for dlg in dialogs:
        for lst in LIST_RE.findall(dlg.get("instructions") or ""):
            for raw in lst.split(","):
                raw = raw.strip()
                m = ITEM_RE.match(raw)
                if m:
                    key = norm_name(m["name"])
                    listed_count[key] += 1
                    listed.setdefault(
                        key,
                        {
                            "name": m["name"].strip(),
                            "size": m["size"].replace(" ", ""),
                            "description": m["desc"].strip(),
                            "kind": "drink",
                        },
                    )
                    continue
                m = TEA_RE.match(raw)
                if m and m["kind"] in TEA_KINDS:
                    key = norm_name(m["name"])
                    listed_count[key] += 1
                    listed.setdefault(
                        key,
                        {
                            "name": m["name"].strip(),
                            "size": None,
                            "description": TEA_KINDS[m["kind"]],
                            "kind": "tea",
                        },
                    )

        id_to_name: dict[str, str] = {}
        for utt in dlg.get("utterances", []):
            for g in _ctx_groups(utt.get("annotations", [])):
                api = g.get("api_response") or g.get("api_call")
                resp = _loads(g.get("response"))
                req = _loads(g.get("request"))
                if api == "get_menu_items" and isinstance(resp, dict):
                    for mi in resp.get("menu_items") or []:
                        if not isinstance(mi, dict) or not isinstance(mi.get("name"), str):
                            continue
                        key = norm_name(mi["name"])
                        response_names[key] += 1
                        spelling[key][mi["name"].strip()] += 1
                        if isinstance(mi.get("menu_item_id"), str):
                            id_to_name[base_id(mi["menu_item_id"])] = key
                if g.get("api_call") == "get_addons" and isinstance(resp, dict):
                    item = None
                    if isinstance(req, dict) and isinstance(req.get("menu_item_id"), str):
                        item = id_to_name.get(base_id(req["menu_item_id"]))
                    for at in resp.get("attributes") or []:
                        if not isinstance(at, dict):
                            continue
                        aid = ATTRIBUTE_ALIASES.get(slug(str(at.get("attribute_id", ""))))
                        if aid is None:
                            continue
                        opts = tuple(_canon_option(str(o)) for o in at.get("options") or [])
                        if opts:
                            attr_options[aid][opts] += 1
                        if item:
                            item_attrs[item][aid] += 1
                    for ad in resp.get("addons") or []:
                        if not isinstance(ad, dict) or not isinstance(ad.get("name"), str):
                            continue
                        name = " ".join(ad["name"].split())
                        key = slug(
                            name.replace("Sweetner", "Sweetener").replace("sweetner", "sweetener")
                        )
                        addon_spelling[key][name] += 1
                        if item:
                            item_addons[item][key] += 1
                if g.get("api_call") == "add_order_item" and isinstance(req, dict):
                    mid = req.get("menu_item_id")
                    item = id_to_name.get(base_id(mid)) if isinstance(mid, str) else None
                    if item:
                        for at in req.get("attributes") or []:
                            if isinstance(at, dict):
                                aid = ATTRIBUTE_ALIASES.get(slug(str(at.get("attribute_id", ""))))
                                if aid:
                                    chosen_attrs[item][aid] += 1

    # addons: fold aliases (`hazelnut` -> `hazelnut-sweetener`) and keep the well-attested ones
    addon_total = Counter({k: sum(v.values()) for k, v in addon_spelling.items()})
    addons: dict[str, dict[str, Any]] = {}
    for key, n in sorted(addon_total.items()):
        if n < MIN_ADDON_MENTIONS:
            continue
        name = addon_spelling[key].most_common(1)[0][0]
        name = " ".join(w if w.isupper() else w.capitalize() for w in name.split())
        addons[key] = {"addon_id": key, "name": name, "default": "NO", "options": ["NO", "ADD"],
                       "mentions": n}  # fmt: skip
    # short names ("Hazelnut", "Vanilla") are the same syrups: merge into "<name> sweetener/sauce"
    for key in list(addons):
        longer = [k for k in addons if k in (key + "-sweetener", key + "-sauce")]
        if longer:
            target = max(longer, key=lambda k: addon_total[k])
            addons[target]["mentions"] += addons.pop(key)["mentions"]
            for per_item in item_addons.values():
                per_item[target] += per_item.pop(key, 0)

    attributes: dict[str, dict[str, Any]] = {}
    for aid, opt_counts in attr_options.items():
        merged: list[str] = []
        for tup, _n in opt_counts.most_common():
            for o in tup:
                if o.lower() not in {m.lower() for m in merged}:
                    merged.append(o)
        if aid == "hot-or-iced":
            merged = sorted({o.capitalize() for o in merged}, key=["Hot", "Iced"].index)
        attributes[aid] = {
            "attribute_id": aid,
            "attribute_name": ATTRIBUTE_NAMES[aid],
            "options": merged,
            "mentions": sum(opt_counts.values()),
        }
    attributes.setdefault(
        "name", {"attribute_id": "name", "attribute_name": "Name", "options": [], "mentions": 0}
    )

    keys = set(listed) | {k for k, n in response_names.items() if n >= MIN_RESPONSE_MENTIONS}
    items: list[dict[str, Any]] = []
    for key in sorted(keys):
        info = listed.get(key, {})
        name = info.get("name") or spelling[key].most_common(1)[0][0].title()
        kind = info.get("kind", "drink")
        desc = info.get("description")
        if kind == "tea" or "tea" in key.split() or "earl grey" in key:
            category = "tea"
        elif "espresso" in (desc or "espresso") or key in {"espresso"} or "coffee" in (desc or ""):
            category = "coffee"
        else:
            category = "other drinks"
        item_attr_ids = sorted(
            a
            for a in attributes
            if a not in {"order-type", "name"}
            and item_attrs[key][a] + chosen_attrs[key][a] >= MIN_ITEM_ATTRIBUTE_SUPPORT
        )
        item_addon_ids = sorted(
            a for a in addons if item_addons[key][a] >= MIN_ITEM_ATTRIBUTE_SUPPORT
        )
        items.append(
            {
                "menu_item_id": slug(name),
                "name": name,
                "category": category,
                "size": info.get("size"),
                "description": desc,
                "price": None,
                "attributes": item_attr_ids,
                "addons": item_addon_ids,
                "mentions": response_names.get(key, 0) + listed_count.get(key, 0),
            }
        )
    return {
        "source": (
            "Derived from Taskmaster-4 (Bill Byrne and Saravanan Ganesh, Google LLC), "
            "CC BY 4.0, https://creativecommons.org/licenses/by/4.0/ ; built by "
            "`python -m tools.coffee.build_menu` from instructions menus and API annotations."
        ),
        "dialogs": len(dialogs),
        "menu_items": items,
        "attributes": sorted(attributes.values(), key=lambda a: a["attribute_id"]),
        "addons": sorted(addons.values(), key=lambda a: a["addon_id"]),
        "order_attributes": ["name", "order-type"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tools.coffee.build_menu", description=__doc__.split("\n")[0]
    )
    p.add_argument("--data", type=Path, default=None, help="default: default_data_dir()")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = p.parse_args(argv)
    data = a.data if a.data is not None else default_data_dir()
    if not data_files(data):
        print(f"error: no data_*.json under {data}", file=sys.stderr)
        return 2
    menu = build(data)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(menu, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {a.out}: {len(menu['menu_items'])} items, {len(menu['addons'])} add-ons")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
