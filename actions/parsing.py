"""Pure parsing of what shoppers type: order numbers, proofs, item and slot choices, reasons.

Nothing here does I/O; every function takes text (and the options on offer) and returns a
normalised value or None. Button payloads use the same functions: buttons send stable keys
(`item-3`, `2026-11-27|morning`, `refund`), typed text goes through the fuzzy paths.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

# --- order numbers, emails, postcodes, RMAs ----------------------------------------------------

_ORDER_PREFIXED = re.compile(
    r"(?:#|\bord(?:er)?\b\s*(?:no\.?|nr\.?|num(?:ber)?|#|id)?\s*[-:#.]?\s*|\bord-?)\s*(\d{4,12})\b",
    re.IGNORECASE,
)
_DIGIT_RUN = re.compile(r"(?<![\w@.\-/])(\d{5,12})(?![\w@])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_POSTCODES = (
    re.compile(r"\b(\d{5})(?:-(\d{4}))?\b"),  # US ZIP, ZIP+4, DE, FR, ...
    re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})\b", re.IGNORECASE),  # UK
    re.compile(r"\b([A-Z]\d[A-Z])\s?(\d[A-Z]\d)\b", re.IGNORECASE),  # Canada
    re.compile(r"\b(\d{4})\s?([A-Z]{2})\b", re.IGNORECASE),  # Netherlands
    re.compile(r"\b(\d{4})\b"),  # AT, CH, BE, DK, AU, ...
)
_RMA = re.compile(r"\bRMA[-\s]?([0-9A-F]{8})\b", re.IGNORECASE)


def parse_order_number(text: str | None) -> str | None:
    """`#100231`, `ORD-100231`, `order no. 100231`, `my order is 100231` -> `100231`."""
    if not text:
        return None
    cleaned = _EMAIL.sub(" ", str(text))
    if match := _ORDER_PREFIXED.search(cleaned):
        return match.group(1)
    if match := _DIGIT_RUN.search(cleaned):
        return match.group(1)
    return None


def parse_email(text: str | None) -> str | None:
    if not text:
        return None
    match = _EMAIL.search(str(text))
    return match.group(0).strip(".").lower() if match else None


def parse_postcode(text: str | None) -> str | None:
    """A postcode in common formats, upper-cased with one space where the format has one."""
    if not text:
        return None
    cleaned = _EMAIL.sub(" ", str(text)).strip()
    for pattern in _POSTCODES:
        if match := pattern.search(cleaned):
            parts = [p for p in match.groups() if p]
            if pattern is _POSTCODES[0]:
                return "-".join(parts)
            return " ".join(p.upper() for p in parts)
    return None


def parse_proof(text: str | None) -> tuple[str, str] | None:
    """("email", value) or ("postcode", value): what the shopper offered as ownership proof."""
    if email := parse_email(text):
        return "email", email
    if postcode := parse_postcode(text):
        return "postcode", postcode
    return None


def parse_rma(text: str | None) -> str | None:
    if not text:
        return None
    match = _RMA.search(str(text))
    return f"RMA-{match.group(1).upper()}" if match else None


# --- words ---------------------------------------------------------------------------------------

# Words that never name an item or a size.
_STOPWORDS = frozenset(
    re.findall(
        r"\S+",
        "a an the my me i it its this that those these one ones item items please want wanna would like "
        "to return send back and or of for with just only pls plz thanks thx ok okay yes yeah is are was "
        "were do does choose pick option number no first second third last",
    )
)
_ORDINALS = {
    "first": 1,
    "1st": 1,
    "one": 1,
    "second": 2,
    "2nd": 2,
    "two": 2,
    "third": 3,
    "3rd": 3,
    "three": 3,
    "fourth": 4,
    "4th": 4,
    "four": 4,
    "fifth": 5,
    "5th": 5,
    "five": 5,
    "sixth": 6,
    "6th": 6,
    "six": 6,
}
_NUMBER_WORDS = frozenset({"one", "two", "three", "four", "five", "six"})
_ALL_WORDS = re.compile(r"\b(all|both|everything|every item|all of them|the whole order|entire order)\b")
_SPLIT = re.compile(r"\s*(?:,|&|\+|/|\band\b|\bplus\b)\s*")


def _fold(text: str) -> str:
    """Lower case, accents removed, punctuation to spaces."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9\s-]", " ", text.lower()).replace("-", " ")


def _words(text: str) -> list[str]:
    return [w for w in _fold(text).split() if w]


def _stem(word: str) -> str:
    for suffix in ("es", "s"):
        if len(word) > 3 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def _content_words(text: str) -> set[str]:
    return {_stem(w) for w in _words(text) if w not in _STOPWORDS}


def _index_choice(text: str, count: int) -> int | None:
    """1-based position from "2", "#2", "item 2", "the second one", "last"."""
    words = _words(text)
    if not words:
        return None
    if "last" in words and count:
        return count
    digits = {int(w) for w in words if w.isdigit()}
    ordinals = {_ORDINALS[w] for w in words if w in _ORDINALS and w not in _NUMBER_WORDS}
    numbers = {_ORDINALS[w] for w in words if w in _NUMBER_WORDS}
    picks = digits | ordinals or numbers  # "the second one": "one" is not a number there
    if len(picks) == 1 and 1 <= (pick := next(iter(picks))) <= count:
        return pick
    return None


def _similar(word: str, vocabulary: Iterable[str]) -> bool:
    return bool(difflib.get_close_matches(word, list(vocabulary), n=1, cutoff=0.8))


def _match_by_name(text: str, names: Sequence[str]) -> list[int]:
    """Indexes of the names best matching the words of text (typos allowed)."""
    wanted = _content_words(text)
    if not wanted:
        return []
    scores = []
    for name in names:
        vocab = _content_words(name)
        score = sum(1.0 if w in vocab else 0.8 if _similar(w, vocab) else 0.0 for w in wanted)
        scores.append(score)
    best = max(scores)
    if best <= 0:
        return []
    return [i for i, s in enumerate(scores) if s == best]


# --- item choice ---------------------------------------------------------------------------------


def item_key(item_id: Any) -> str:
    """The stable key item buttons send: `item-<order item id>`."""
    return f"item-{item_id}"


def parse_item_choice(values: str | Sequence[str] | None, items: Sequence[Mapping[str, Any]]) -> list[str]:
    """Order item ids (as strings) the shopper picked among `items` (the ones offered, in order).

    Accepts button keys (`item-3`), "all"/"both", positions ("2", "first one", "1 and 3"), and
    names ("the vase", "shoes and t-shirt", typos included). An empty list: not understood.
    """
    if values is None:
        return []
    texts = [values] if isinstance(values, str) else [str(v) for v in values]
    ids = [str(item["id"]) for item in items]
    names = [str(item.get("name", "")) for item in items]
    chosen: list[str] = []

    def add(item_id: str) -> None:
        if item_id not in chosen:
            chosen.append(item_id)

    for text in texts:
        keys = re.findall(r"item-(\d+)", text)
        if keys:
            for key in keys:
                if key in ids:
                    add(key)
            continue
        if text.strip().startswith("/"):
            continue  # an intent payload without item keys
        if _ALL_WORDS.search(_fold(text)):
            for item_id in ids:
                add(item_id)
            continue
        for part in _SPLIT.split(text):
            if not part.strip():
                continue
            position = _index_choice(part, len(items))
            if position is not None and not _content_words(part) - {"item"}:
                add(ids[position - 1])
                continue
            matches = _match_by_name(part, names)
            if len(matches) == 1:
                add(ids[matches[0]])
            elif position is not None:
                add(ids[position - 1])
    return chosen


# --- reasons -------------------------------------------------------------------------------------

REASON_CODES = (
    "damaged_on_arrival",
    "defective",
    "wrong_item",
    "doesnt_fit",
    "not_as_described",
    "changed_mind",
    "arrived_late",
    "other",
)

# Most specific first: the first reason with a matching alternative decides.
_REASON_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "wrong_item",
        (
            r"\b(sent|got|received|gave|shipped|delivered)\b.{0,20}\bwrong\b",
            r"\bwrong (item|product|colou?r|model|one|thing|order)\b",
            r"\bnot what i (ordered|bought)\b",
            r"\bdifferent (item|product|colou?r|model)\b",
            r"\bsomeone else'?s\b",
            r"\bmix(ed)? ?up\b",
        ),
    ),
    (
        "doesnt_fit",
        (
            r"\btoo (small|big|large|tight|loose|short|long|narrow|wide|baggy)\b",
            r"\b(does ?n[o']?t|didn'?t|dont|doesnt|do not|did not|won'?t) fit\b",
            r"\bfit(s|ting)? (bad|badly|poorly|wrong)\b",
            r"\bwrong size\b|\bsize (is )?(wrong|off)\b|\bnot (my|the right) size\b",
            r"\b(smaller|bigger|larger) size\b|\bsizing\b|\bfit\b|\bsize\b",
        ),
    ),
    (
        "damaged_on_arrival",
        (
            r"\b(arrived|came|delivered|showed up|received it)\b.{0,25}\b(broken|damaged|cracked|smashed"
            r"|shattered|dented|scratched|torn|ripped|crushed|chipped|leaking|in pieces|destroyed)\b",
            r"\b(broken|damaged|cracked|smashed|shattered|dented|crushed|chipped)\b.{0,20}"
            r"\b(arrival|delivery|transit|shipping|box|package|parcel)\b",
            r"\b(cracked|smashed|shattered|dented|crushed|chipped|in pieces|damaged|broken|scratched"
            r"|torn|ripped)\b",
        ),
    ),
    (
        "defective",
        (
            r"\b(defective|faulty|malfunction\w*|broke after|stopped working|stops working|not working)\b",
            r"\b(isn'?t working|doesn'?t work|does not work|don'?t work|dead on arrival|doa)\b",
            r"\b(glitch\w*|buggy)\b",
            r"\bwon'?t (turn|switch|power|charge|connect|work)\b|\bno sound\b|\bnot charging\b",
            r"\bkeeps (crashing|disconnecting|turning off)\b",
        ),
    ),
    (
        "not_as_described",
        (
            r"\bnot (as|like|what was) (described|advertised|pictured|shown|in the (photo|picture|pic)s?)\b",
            r"\b(looks?|is|was) (different|nothing like)\b",
            r"\bdifferent (from|than) (the )?(photo|picture|pic|description|website|site|listing)s?\b",
            r"\bmisleading\b|\b(poor|bad|cheap|low) quality\b|\bcolou?r (is|was) (off|different)\b",
            r"\bfake\b|\bnot as expected\b",
        ),
    ),
    (
        "arrived_late",
        (
            r"\b(arrived|came|delivered|got here)\b.{0,15}\b(late|too late|after)\b|\btoo late\b",
            r"\b(late|delayed) (delivery|arrival|shipping|parcel|package)\b|\btook (too|so) long\b",
            r"\bmissed (the|my) (event|date|occasion|party|wedding|birthday)\b|\blate\b|\bdelayed\b",
        ),
    ),
    (
        "changed_mind",
        (
            r"\bchanged? (my|her|his|our) mind\b|\bchange of (heart|mind)\b",
            r"\b(don'?t|do not|no longer|didn'?t|did not|dont) (want|need|like|love)\b",
            r"\bnot needed\b|\bno longer (want|need)ed\b|\bfound (it )?(cheaper|better)\b",
            r"\b(ordered|bought) (it |this |them )?(by )?(mistake|accident)\b|\bby mistake\b",
            r"\baccident(al)?ly ordered\b|\bunwanted\b|\bgift\b.{0,20}\b(not|didn'?t)\b|\bregret\b",
        ),
    ),
    (
        "other",
        (r"\b(other|something else|another reason|different reason|none of (these|those|the above))\b",),
    ),
)
_REASON_REGEXES = tuple((code, re.compile("|".join(patterns))) for code, patterns in _REASON_PATTERNS)


def parse_reason(text: str | None, catalogue: Sequence[Mapping[str, Any]] | None = None) -> str | None:
    """A reason code from a button payload, a code, a catalogue label or free text; None if unclear."""
    if not text:
        return None
    raw = str(text).strip()
    if raw.startswith("/"):
        found = re.search(r'"return_reason"\s*:\s*"([a-z_]+)"', raw)
        raw = found.group(1) if found else ""
    folded = _fold(raw).strip()
    compact = folded.replace(" ", "_")
    if compact in REASON_CODES:
        return compact
    if catalogue:
        for entry in catalogue:
            label = _fold(str(entry.get("label", ""))).strip()
            if label and folded == label:
                return str(entry["code"])
    folded = folded.replace(" nt ", "nt ").replace("n t ", "nt ")
    original = _fold(raw.replace("'", ""))
    for code, regex in _REASON_REGEXES:
        if regex.search(folded) or regex.search(original) or regex.search(raw.lower()):
            return code
    return None


# --- resolutions, variants, pickup slots -----------------------------------------------------

RESOLUTION_WORDS: dict[str, tuple[str, ...]] = {
    "store_credit": ("store credit", "credit", "voucher", "gift card", "giftcard", "coupon", "shop credit"),
    "exchange": (
        "exchange",
        "swap",
        "replace",
        "replacement",
        "another size",
        "different size",
        "other size",
        "new one",
        "bigger",
        "smaller",
    ),
    "refund": ("refund", "money back", "my money", "reimburse", "pay me back", "cash"),
}


def parse_resolution(text: str | None, allowed: Sequence[str] | None = None) -> str | None:
    if not text:
        return None
    folded = _fold(text).strip()
    compact = folded.replace(" ", "_")
    candidates = list(allowed) if allowed else list(RESOLUTION_WORDS)
    if compact in candidates:
        return compact
    for resolution, words in RESOLUTION_WORDS.items():
        if resolution in candidates and any(re.search(rf"\b{re.escape(w)}\b", folded) for w in words):
            return resolution
    position = _index_choice(folded, len(candidates))
    if position is not None and not {w for w in _content_words(folded) if not w.isdigit()} - {"option"}:
        return candidates[position - 1]
    return None


def parse_variant(text: str | None, variants: Sequence[Mapping[str, Any]]) -> str | None:
    """A variant id (as a string) from a `variant-<id>` key, a position or the variant's name."""
    if not text or not variants:
        return None
    if keys := re.findall(r"variant-(\d+)", str(text)):
        ids = {str(v["id"]) for v in variants}
        return keys[0] if keys[0] in ids else None
    names = [str(v.get("name", "")) for v in variants]
    folded = _fold(text)
    for variant, name in zip(variants, names, strict=True):
        if _fold(name).strip() and _fold(name).strip() == folded.strip():
            return str(variant["id"])
    matches = _match_by_name(text, names)
    if len(matches) == 1:
        return str(variants[matches[0]]["id"])
    # sizes are often bare tokens: "9", "m", "xl", "32"
    tokens = set(_words(text))
    exact = [i for i, n in enumerate(names) if tokens & set(_words(n)) - _STOPWORDS]
    if len(exact) == 1:
        return str(variants[exact[0]]["id"])
    position = _index_choice(text, len(variants))
    if position is not None:
        return str(variants[position - 1]["id"])
    return None


def slot_key(slot: Mapping[str, Any]) -> str:
    """The stable key pickup-slot buttons send: `2026-11-27|morning`."""
    return f"{slot['date']}|{slot['window']}"


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_SHORT = (
    {d[:3]: i for i, d in enumerate(_WEEKDAYS)}
    | {d: i for i, d in enumerate(_WEEKDAYS)}
    | {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}
)
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}


def parse_pickup_choice(
    text: str | None, slots: Sequence[Mapping[str, Any]], today: date | None = None
) -> dict[str, Any] | None:
    """The offered slot the shopper picked: a button key, a position, or a day and/or window."""
    if not text or not slots:
        return None
    available = [s for s in slots if s.get("available", True)]
    if found := re.search(r"(\d{4}-\d{2}-\d{2})\|(morning|afternoon)", str(text)):
        key = f"{found.group(1)}|{found.group(2)}"
        return next((dict(s) for s in available if slot_key(s) == key), None)
    words = _words(text)
    folded = " ".join(words)
    window = (
        "morning"
        if re.search(r"\b(morning|am|early)\b", folded)
        else ("afternoon" if re.search(r"\b(afternoon|pm|later in the day|after lunch)\b", folded) else None)
    )
    day: date | None = None
    today = today or date.today()
    if "today" in words:
        day = today
    elif "tomorrow" in words or "tmrw" in words or "tmr" in words:
        day = today + timedelta(days=1)
    else:
        for word in words:
            if word in _WEEKDAY_SHORT:
                target = _WEEKDAY_SHORT[word]
                day = today + timedelta(days=(target - today.weekday()) % 7 or 7)
                break
        month = next(
            (
                _MONTHS[w[:3]]
                for w in words
                if w[:3] in _MONTHS and len(w) >= 3 and (w in _MONTHS or w.startswith(tuple(_MONTHS)))
            ),
            None,
        )
        numbers = [
            int(re.sub(r"(st|nd|rd|th)$", "", w)) for w in words if re.fullmatch(r"\d{1,2}(st|nd|rd|th)?", w)
        ]
        if (
            day is None
            and numbers
            and (month or any(re.fullmatch(r"\d{1,2}(st|nd|rd|th)", w) for w in words) or len(available) > 9)
        ):
            dom = numbers[0]
            for s in available:
                d = date.fromisoformat(str(s["date"]))
                if d.day == dom and (month is None or d.month == month):
                    day = d
                    break
    if "earliest" in words or "soonest" in words or "asap" in words or "first available" in folded:
        pool = [s for s in available if window is None or s["window"] == window]
        return dict(pool[0]) if pool else None
    if day is not None or window is not None:
        pool = [
            s
            for s in available
            if (day is None or str(s["date"]) == day.isoformat())
            and (window is None or s["window"] == window)
        ]
        return dict(pool[0]) if pool else None  # "friday" / "morning": the earliest that fits
    position = _index_choice(folded, len(available))
    if position is not None:
        return dict(available[position - 1])
    return None
