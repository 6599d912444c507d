"""Option and add-on resolution: what the model chose -> the catalogue's canonical values.

Owns: `match_option` (`"oat"` -> `"Oat Milk"`, `"2%"` -> `"2% Milk"`), and `OptionResolver`:
`resolve_attributes([{attribute_id, option}], allowed=...)` -> `{attribute_id: option}` and
`resolve_addons([{addon_id, option: ADD|NO}], allowed=...)` -> the added add-on ids, each
checked against what the menu item (or the order) allows; anything else raises `StoreError`
with a message that lists the valid choices. Reads the catalogue through `tools.coffee.menu`.

May import: the standard library and `tools.coffee.menu` / `tools.coffee.validation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .menu import Menu
from .validation import MAX_CHOICES, MAX_NAME, StoreError, base_id, clean_text, norm


def match_option(option: str, options: Sequence[str]) -> str | None:
    want = norm(option)
    if not want:
        return None
    normed = {norm(o): o for o in options}
    if want in normed:
        return normed[want]
    for n, o in normed.items():  # "oat" -> "Oat Milk", "2%" -> "2% Milk"
        if n.startswith(want + " ") or want.startswith(n + " ") or n == want + " milk":
            return o
    for n, o in normed.items():
        if n.replace(" ", "") == want.replace(" ", "").replace("-", ""):
            return o
    return None


class OptionResolver:
    """Checks attribute and add-on choices against the menu's catalogue."""

    def __init__(self, menu: Menu) -> None:
        self._menu = menu

    async def resolve_attributes(
        self, choices: Sequence[dict[str, Any]] | None, *, allowed: Sequence[str]
    ) -> dict[str, str]:
        """[{attribute_id, option}] -> {attribute_id: canonical option}; StoreError if invalid."""
        if not choices:
            return {}
        if len(choices) > MAX_CHOICES:
            raise StoreError(f"At most {MAX_CHOICES} attributes per call.")
        catalogue = await self._menu.attributes()
        out: dict[str, str] = {}
        for ch in choices:
            raw_id = clean_text(
                ch.get("attribute_id"), field="attribute_id", limit=60, required=True
            )
            aid = base_id(raw_id)
            aid = {"milk": "milk-options", "shots": "espresso-shots", "caffine": "caffeine",
                   "iced": "hot-or-iced", "hot": "hot-or-iced", "temperature": "hot-or-iced",
                   "type": "order-type"}.get(aid, aid)  # fmt: skip
            if aid not in allowed or aid not in catalogue:
                raise StoreError(
                    f"Attribute {raw_id!r} does not apply here. Valid attribute ids: "
                    f"{', '.join(allowed) or 'none'}."
                )
            option = clean_text(ch.get("option"), field="option", limit=MAX_NAME, required=True)
            if aid == "name":
                out[aid] = option
                continue
            opts = catalogue[aid]["options"]
            match = match_option(option, opts)
            if match is None:
                raise StoreError(
                    f"{option!r} is not an option for {catalogue[aid]['attribute_name']}. "
                    f"Options: {', '.join(opts)}."
                )
            out[aid] = match
        return out

    async def resolve_addons(
        self, choices: Sequence[dict[str, Any]] | None, *, allowed: Sequence[str]
    ) -> list[str]:
        """[{addon_id, option: ADD|NO}] -> list of added addon ids (NO entries are dropped)."""
        if not choices:
            return []
        if len(choices) > MAX_CHOICES:
            raise StoreError(f"At most {MAX_CHOICES} add-ons per call.")
        catalogue = await self._menu.addons()
        by_name = {norm(a["name"]): k for k, a in catalogue.items()}
        added: list[str] = []
        for ch in choices:
            raw_id = clean_text(ch.get("addon_id"), field="addon_id", limit=60, required=True)
            aid = base_id(raw_id)
            if aid not in catalogue:
                aid = by_name.get(norm(raw_id), "") or next(
                    (k for k in catalogue if k in (f"{aid}-sweetener", f"{aid}-sauce")), aid
                )
            if aid not in allowed:
                names = [catalogue[a]["name"] for a in allowed if a in catalogue]
                raise StoreError(
                    f"Add-on {raw_id!r} is not available for this drink. "
                    f"Available: {', '.join(names) or 'none'}."
                )
            option = clean_text(ch.get("option") or "ADD", field="option", limit=10).upper()
            if option not in {"ADD", "NO", "REMOVE"}:
                raise StoreError(f"Add-on option must be ADD or NO, got {option!r}.")
            if option == "ADD" and aid not in added:
                added.append(aid)
            elif option in {"NO", "REMOVE"} and aid in added:
                added.remove(aid)
        return added
