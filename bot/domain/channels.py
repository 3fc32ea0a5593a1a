"""How a signup's tags classify it (SPEC §5 "Organic growth"): organic, paid, untagged or unknown.

Each tag (the channel label, ``utm_source``, ``utm_medium``) is classified on its own: the
product's channel map first, then the usual UTM media, then keyword heuristics; a paid word
anywhere wins. Three things can stand above the tags:

- an ad click id in the landing URL or referrer (``gclid``, ``fbclid`` ...): auto-tagged ads
  carry no UTM tags, so such a signup is paid whatever its tags say;
- an *ambiguous* source (partner, podcast, influencer, creator, sponsor, a newsletter that does
  not say sponsored, a bare google/bing/search with no medium): it may be paid or not, so it is
  unknown until a manager classifies it once; the signup keeps the source's name as its ``key``;
- a referral tag: organic unless the product's referrals are rewarded (the manager is asked once),
  key ``referral``.
Pure: the channel map is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from bot.domain.types import ChannelClass

# Ad platforms' click ids (Google, Google iOS, Display & Video, Meta, Microsoft, TikTok, X,
# LinkedIn, Pinterest, Reddit, Snapchat): present only when the visit came from a paid click.
CLICK_IDS: tuple[str, ...] = ("gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "ttclid", "twclid",
                              "li_fat_id", "epik", "rdt_cid", "ScCid")
_CLICK_BY_LOWER = {c.lower(): c for c in CLICK_IDS}
CLICK_PREFIX = "click:"  # a signup's key when a click id made it paid
REFERRAL_KEY = "referral"
KEY_MAX = 100  # stored keys are cut to this length

# --------------------------------------------------------------------------- the paid vocabulary
# The one home of the words that say "paid". Which list to edit:
# - a paid *medium* (utm_medium, also a channel or source of that exact name): PAID_MEDIA. It is
#   in the default channel map (``DEFAULT_CHANNEL_MAP`` in settings.py, what ``config`` resets
#   ``channel.NAME`` to) and paid as a medium even under a map without it: one edit does both.
# - another exact channel or source name that is paid (paid_social, google_ads): PAID_NAMES, the
#   rest of the default map's paid names.
# - a word that makes any tag paid wherever it appears inside it ("paid" in "paid_newsletter"):
#   PAID_WORDS. Keep these specific: "cpa" would match "cpanel".
PAID_MEDIA: tuple[str, ...] = ("cpc", "ppc", "cpm", "display", "affiliate", "banner", "retargeting")
# Paid as a utm_medium only: not in the default map, so a channel or source of that name is
# unknown (as it always was). Moving one to PAID_MEDIA would make it paid as a name too.
PAID_MEDIA_ONLY: tuple[str, ...] = ("cpa", "cpv")
PAID_NAMES: tuple[str, ...] = ("paid", "paid_search", "paid_social", "sponsored", "ads", "ad", "adwords",
                               "google_ads", "facebook_ads", "meta_ads", "linkedin_ads", "paidsocial", "sem")
DEFAULT_PAID_CHANNELS: tuple[str, ...] = PAID_MEDIA + PAID_NAMES  # the default channel map's paid names
PAID_WORDS: tuple[str, ...] = ("paid", "cpc", "ppc", "cpm", "sponsor", "affiliate", "display", "adwords")

_ORGANIC_WORDS = ("organic", "seo", "direct", "community", "word")
# "ads" inside a word is usually an ad platform ("googleads", "fbads") but not always.
_ADS = re.compile(r"(^|_)ads?($|_)|ads($|_)")
_NOT_ADS = re.compile(r"(loads|leads|reads|roads|heads|threads)($|_)")
_ORGANIC_MEDIA = ("organic", "social", "email", "e_mail")
# Analytics tools write these for "no tag"; they say nothing about the channel.
_NO_TAG = ("", "none", "not_set")
# A word in a tag that leaves open whether the traffic was bought (SPEC §5 "ambiguous").
_AMBIGUOUS_WORDS = frozenset({"partner", "partners", "podcast", "podcasts", "influencer", "influencers",
                              "creator", "creators", "sponsor", "sponsors", "newsletter", "newsletters"})
# A search engine named without a medium: brand search ads and organic search look the same.
_SEARCH = frozenset({"google", "bing", "search", "yahoo", "duckduckgo", "baidu", "yandex", "ecosia"})
_REFERRAL_WORDS = frozenset({"referral", "referrals", "refer", "referafriend"})

_CLASSES: dict[str, ChannelClass] = {"organic": "organic", "paid": "paid", "direct": "direct", "unknown": "unknown"}


@dataclass(frozen=True)
class Tagged:
    """A signup's class and, when the class can change or needs telling, why: the ambiguous
    source's name (class unknown), ``referral`` (class organic) or ``click:<id>`` (class paid)."""

    cls: ChannelClass
    key: str | None = None


def click_id(values: Iterable[str | None]) -> str | None:
    """The first ad click id named in any of these URLs or query strings ("?gclid=..." or
    "gclid=..." as Segment's ``context.page.search`` has it), with a non-empty value."""
    for raw in values:
        if not raw or not isinstance(raw, str):
            continue
        parts = urlsplit(raw.strip())
        queries = [parts.query]
        if not parts.scheme and not parts.netloc and "=" in parts.path:
            queries.append(parts.path)  # a bare query string
        if "?" in parts.fragment:  # single-page apps: https://x.io/#/signup?gclid=...
            queries.append(parts.fragment.split("?", 1)[1])
        for query in queries:
            for name, value in parse_qsl(query):
                hit = _CLICK_BY_LOWER.get(name.strip().lower())
                if hit is not None and value.strip():
                    return hit
    return None


def _paid_word(name: str) -> bool:
    words = set(name.split("_"))
    if words & {"sponsor", "sponsors"} and not any(w in name for w in ("sponsored", "sponsorship")):
        name = name.replace("sponsors", "").replace("sponsor", "")  # a bare sponsor is ambiguous
    return any(w in name for w in PAID_WORDS) or bool(_ADS.search(name) and not _NOT_ADS.search(name))


def _part(name: str, channel_map: Mapping[str, str], *, medium: bool) -> ChannelClass | str | None:
    """The class one normalised tag names, "ambiguous" or "referral", or None when absent."""
    if name in _NO_TAG:
        return None
    mapped = _CLASSES.get(channel_map.get(name, ""))
    if mapped is not None:
        return mapped
    if medium and (name in PAID_MEDIA or name in PAID_MEDIA_ONLY or name.startswith("paid")):
        return "paid"
    if _paid_word(name):
        return "paid"
    words = set(name.split("_"))
    if words & _AMBIGUOUS_WORDS:
        return "ambiguous"
    if words & _REFERRAL_WORDS or "referral" in name:
        # utm_medium=referral is what analytics tools write for any linking website.
        return "organic" if medium else "referral"
    if medium and name in _ORGANIC_MEDIA:
        return "organic"
    if any(w in name for w in _ORGANIC_WORDS):
        return "organic"
    return "unknown"


def normalise_channel(name: str) -> str:
    """Lower case, spaces and dashes as "_": how channel names are compared."""
    return "_".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


def _norm(raw: str | None) -> str:
    return normalise_channel(raw or "").strip("()_")


def classify_tags(channel: str | None, utm_source: str | None, utm_medium: str | None,
                  channel_map: Mapping[str, str], *, click: str | None = None) -> Tagged:
    """The class of a signup from its tags and the click id of its landing URL (``click_id``).

    A click id makes it paid; then a paid word in any tag; then an ambiguous tag (or a bare
    search engine with no medium) makes it unknown under the source's name, until a manager
    classifies that name; then a referral tag makes it organic under the key ``referral``; then
    any organic tag makes it organic. No tags at all, or only tags that mean "none" ("(direct)",
    "(none)", "(not set)"), is "direct": untagged. Anything else is unknown.
    """
    if click:
        return Tagged("paid", CLICK_PREFIX + click)
    names = [_norm(channel), _norm(utm_source), _norm(utm_medium)]
    parts = [_part(names[0], channel_map, medium=False), _part(names[1], channel_map, medium=False),
             _part(names[2], channel_map, medium=True)]
    present = [p for p in parts if p is not None]
    if "paid" in present:
        return Tagged("paid")
    source = names[1] or names[0]
    no_medium = parts[2] is None
    if "ambiguous" in present or (no_medium and source in _SEARCH and "organic" not in present):
        # The key is the tag that is ambiguous (the source first), so that it is what a manager
        # classifies with ``organic.classify`` (``is_ambiguous`` holds for it).
        ambiguous = [names[i] for i in (1, 0, 2) if parts[i] == "ambiguous"]
        key = (ambiguous[0] if ambiguous else source)[:KEY_MAX]
        mapped = _CLASSES.get(channel_map.get(key, ""))
        return Tagged(mapped) if mapped is not None else Tagged("unknown", key)
    if "referral" in present:
        return Tagged("organic", REFERRAL_KEY)
    if "organic" in present:
        return Tagged("organic")
    if all(p == "direct" for p in present):
        return Tagged("direct")
    return Tagged("unknown")


def classify_signup(channel: str | None, utm_source: str | None, utm_medium: str | None,
                    channel_map: Mapping[str, str]) -> ChannelClass:
    """The class of a signup from its channel and UTM tags (see ``classify_tags``)."""
    return classify_tags(channel, utm_source, utm_medium, channel_map).cls


def is_ambiguous(name: str) -> bool:
    """Whether a source name alone leaves open if its signups were paid (what
    ``organic.classify`` may be given)."""
    n = _norm(name)
    return bool(n) and (n in _SEARCH or _part(n, {}, medium=False) in ("ambiguous", "referral"))
