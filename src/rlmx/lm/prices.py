"""USD prices per million tokens, for budgets when a provider returns no cost.

List prices come from `genai-prices` (pydantic/genai-prices: a maintained database of provider list prices, with
curated rules saying which names each model answers to; its bundled snapshot is used, never fetched at run
time). Prices the user passes with `RLM(prices={"model": (input, output)})` win over it. A name neither knows
stays unknown (None): nothing is guessed from a name it resembles, and an unknown price is never taken as free.
Local and scripted models cost nothing.

The library's answers are kept on disk (`~/.cache/rlmx/prices/`), one file per installed snapshot and day: its
import costs about 0.4 s (it loads pydantic), which every later process would otherwise pay before its first
LM call; a name answered once today by this snapshot is read back instead. The answers stay the library's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.util
import ipaddress
import json
import math
import numbers
import os
import re
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

from rlmx.errors import InputError
from rlmx.lm.base import Usage
from rlmx.sandbox.bytecode import user_cache_dir

FREE_PREFIXES = ("local:", "scripted", "guided-root")
"""Models that run on this machine, or are not models at all."""
TIER_SUFFIX_END = "]"
"""How a price name marked with a service tier ends (`gpt-4o[priority]`, `rlmx.lm.base.price_name`): such calls are
billed at rates the database does not list, so only a price the user gives for that name prices them."""
MEDIA = ("audio", "image", "video")
"""Kinds of tokens besides text that providers bill at rates of their own (genai-prices' `input_<kind>_mtok` and
`output_<kind>_mtok`: gpt-audio's audio output costs $64/M against $10 for its text, Gemini 2.5 Flash Image's images
$30/M against $2.50). Usage counts them apart (`Usage.<kind>_input_tokens`, `<kind>_output_tokens`), a Price holds
their rates (`input_<kind>_per_million`, `output_<kind>_per_million`): tokens of a kind whose rate is not known give
their call no known cost, never the text rate."""
Side = Literal["input", "output"]
SIDES: tuple[Side, Side] = ("input", "output")
_MEDIA_RATES: tuple[tuple[str, Side], ...] = tuple((kind, side) for kind in MEDIA for side in SIDES)
MediaTokens = Mapping[str, tuple[int, int]]
"""Of a call's tokens, (input, output) of each kind in MEDIA."""


def media_tokens(usage: Usage) -> dict[str, tuple[int, int]]:
    """(input, output) tokens of each kind in MEDIA a call's usage reports (0 for a kind `Usage` does not count)."""
    return {kind: (_count_of(usage, given), _count_of(usage, made)) for kind, given, made in _MEDIA_COUNTS}


_MEDIA_COUNTS = tuple((kind, f"{kind}_input_tokens", f"{kind}_output_tokens") for kind in MEDIA)


def _count_of(usage: Usage, name: str) -> int:
    return int(getattr(usage, name, 0) or 0)


@dataclass(frozen=True, slots=True)
class Tier:
    """From `above_input_tokens` prompt tokens on, the whole call is billed at these rates (the cliff model
    providers use for long prompts)."""

    above_input_tokens: int
    input_per_million: float
    output_per_million: float


@dataclass(frozen=True, slots=True)
class Price:
    input_per_million: float
    output_per_million: float
    tiers: tuple[Tier, ...] = ()
    source: str = "user"
    """Where the price came from: "user", "genai-prices <version>", or "free"."""
    per_request: float = 0.0
    """USD charged per call on top of the tokens (Perplexity's Sonar models: genai-prices' `requests_kcount`)."""
    cache_read_per_million: float | None = None
    """USD per million prompt tokens read from the provider's cache (genai-prices' `cache_read_mtok`); None: the
    input rate."""
    cache_write_per_million: float | None = None
    """USD per million prompt tokens written to the provider's cache (`cache_write_mtok`; Anthropic's is 1.25x
    input); None: the input rate."""
    cache_write_1h_per_million: float | None = None
    """USD per million prompt tokens written to be kept an hour (`cache_write_1h_mtok`; Anthropic's is 2x input);
    None: the cache-write rate."""
    input_audio_per_million: float | None = None
    """USD per million prompt tokens of audio (genai-prices' `input_audio_mtok`); None: unknown (a call that
    reports audio tokens then has no known cost), as for every rate of MEDIA below."""
    output_audio_per_million: float | None = None
    """USD per million output tokens of audio (`output_audio_mtok`; gpt-audio's is $64 against $10 for text);
    None: unknown. Admission bounds every output token at the dearest known output rate (`most`)."""
    input_image_per_million: float | None = None
    """USD per million prompt tokens of images (`input_image_mtok`); None: unknown."""
    output_image_per_million: float | None = None
    """USD per million output tokens of images (`output_image_mtok`; Gemini 2.5 Flash Image's is $30 against $2.50
    for text); None: unknown."""
    input_video_per_million: float | None = None
    """USD per million prompt tokens of video (`input_video_mtok`); None: unknown."""
    output_video_per_million: float | None = None
    """USD per million output tokens of video (`output_video_mtok`); None: unknown."""

    def at(self, input_tokens: int) -> Price:
        """The flat rates that apply to a call with `input_tokens` prompt tokens (a tier scales the cache rates
        as it scales the input rate, as providers' long-prompt tiers do)."""
        for tier in sorted(self.tiers, key=lambda t: t.above_input_tokens, reverse=True):
            if input_tokens > tier.above_input_tokens:
                scale = tier.input_per_million / self.input_per_million if self.input_per_million else 1.0
                return dataclasses.replace(
                    self,
                    input_per_million=tier.input_per_million,
                    output_per_million=tier.output_per_million,
                    tiers=(),
                    cache_read_per_million=_scaled(self.cache_read_per_million, scale),
                    cache_write_per_million=_scaled(self.cache_write_per_million, scale),
                    cache_write_1h_per_million=_scaled(self.cache_write_1h_per_million, scale),
                )
        return dataclasses.replace(self, tiers=()) if self.tiers else self

    def media_rate(self, kind: str, side: Side) -> float | None:
        """USD per million `side` tokens of `kind` (one of MEDIA); None: unknown."""
        rate: float | None = getattr(self, f"{side}_{kind}_per_million")
        return rate

    def cost(
        self,
        input_tokens: int,
        output_tokens: int,
        *,
        cache_read: int = 0,
        cache_write: int = 0,
        cache_write_1h: int = 0,
        media: MediaTokens | None = None,
        unreported: Collection[str] = (),
    ) -> float:
        """USD of one call: its tokens at the rates for its prompt's size (`cache_read` and `cache_write` of the
        `input_tokens`, `cache_write_1h` of the writes, at the cache rates when known; `media`'s (input, output)
        tokens of each kind at that kind's rates, which must be known: see `prices_media`; the other output tokens
        at `unsplit_output_per_million(unreported)`, the kinds whose count the reply left out), plus the per-request
        fee."""
        rates = self.at(input_tokens)
        media_in, media_out = _shares(media, 0, input_tokens), _shares(media, 1, output_tokens)
        text_in = input_tokens - sum(media_in.values())
        read = min(max(cache_read, 0), text_in)
        write = min(max(cache_write, 0), text_in - read)
        hour = min(max(cache_write_1h, 0), write)
        write_rate = _or(rates.cache_write_per_million, rates.input_per_million)
        dollars = (text_in - read - write) * rates.input_per_million
        dollars += (output_tokens - sum(media_out.values())) * rates.unsplit_output_per_million(unreported)
        dollars += sum(
            n * _or(rates.media_rate(kind, "input"), rates.input_per_million) for kind, n in media_in.items()
        )
        dollars += sum(
            n * _or(rates.media_rate(kind, "output"), rates.output_per_million) for kind, n in media_out.items()
        )
        dollars += read * _or(rates.cache_read_per_million, rates.input_per_million)
        dollars += (write - hour) * write_rate + hour * _or(rates.cache_write_1h_per_million, write_rate)
        return dollars / 1_000_000 + self.per_request

    def unsplit_output_per_million(self, unreported: Collection[str]) -> float:
        """USD per million of the output tokens a reply did not say the kind of, when it left out the count of each
        kind of MEDIA in `unreported` (`Usage.unreported_output_media`: a gateway that drops
        `completion_tokens_details`): the dearest of the text rate and those kinds' known rates, as admission bounds
        them (`most`). A count not reported is not a count of 0: images billed at $30/M are not booked at $2.50."""
        return max([self.output_per_million, *(_or(self.media_rate(kind, "output"), 0.0) for kind in unreported)])

    def dearest_output_per_million(self, input_tokens: int) -> float:
        """USD per million of the dearest output token a call with `input_tokens` prompt tokens may produce: its
        prompt's tier's output rate, or a known audio, image or video rate when dearer (what `most` bounds every
        token at)."""
        rates = self.at(input_tokens)
        return max(rates.output_per_million, *(_or(rates.media_rate(kind, "output"), 0.0) for kind in MEDIA))

    def prices_media(self, media: MediaTokens) -> bool:
        """Whether this price knows the rate of every kind of token (audio, images, video) a call reported."""
        return all(
            not (count and self.media_rate(kind, side) is None)
            for kind, counts in media.items()
            for side, count in zip(SIDES, counts, strict=True)
        )

    def unpriced_outputs(self, modalities: Collection[str]) -> list[str]:
        """The kinds of MEDIA among `modalities` (what an LM asks the model to answer in: `["text", "image"]`) whose
        output rate this price does not know: such an LM's calls could not be priced."""
        return [kind for kind in MEDIA if kind in modalities and self.media_rate(kind, "output") is None]

    def unpriced_tools(self, model: str, params: Mapping[str, Any]) -> list[str]:
        """The paid tools a request to `model` with `params` turns on (`paid_tools`) whose fee this price does not
        hold: all of them, unless it has a per-request fee (the user's `Price(..., per_request=...)`, stating the
        most such a call is billed besides its tokens, or the fee of the search a model makes on every call)."""
        return [] if self.per_request else paid_tools(model, params)

    def most(self, input_tokens: int, output_tokens: int) -> float:
        """The most one call can cost: every prompt token at the dearer of the input and cache-write rates, and every
        output token at the dearest known output rate, a model's that may speak or draw (an upper bound for
        admission; the bill is `cost` of what the provider reports). Writes kept an hour are not assumed: rlmx never
        asks for them, and Claude prompts would be admitted at 2x input; a request that makes them (params of the
        user's, a gateway) is billed at their rate and shows as an overshoot."""
        rates = self.at(input_tokens)
        dearer = max(rates.input_per_million, _or(rates.cache_write_per_million, 0.0))
        dearest = max(MEDIA, key=lambda kind: _or(rates.media_rate(kind, "output"), 0.0))
        media_out = _or(rates.media_rate(dearest, "output"), 0.0) > rates.output_per_million
        return self.cost(
            input_tokens,
            output_tokens,
            cache_write=input_tokens if dearer > rates.input_per_million else 0,
            media={dearest: (0, output_tokens)} if media_out else None,
        )


def _or(rate: float | None, default: float) -> float:
    return default if rate is None else rate


def _shares(media: MediaTokens | None, side: int, total: int) -> dict[str, int]:
    """Each kind's count of one side (0: input, 1: output), clipped so that together they fit in `total`."""
    left, shares = total, {}
    for kind, counts in (media or {}).items():
        shares[kind] = min(max(counts[side], 0), left)
        left -= shares[kind]
    return shares


def _scaled(rate: float | None, scale: float) -> float | None:
    return None if rate is None else rate * scale


FREE = Price(0.0, 0.0, source="free")


class PriceTable:
    """Looks a model's price up: the user's prices, then genai-prices' curated rules (which know dated variants such
    as `gpt-4o-2024-08-06`, and `provider/model` names). The user's prices are found by the same name rules as the
    database's (`user_key`: case, a provider's prefix, a spelling the database takes for the same model), so a price
    given as "gpt-4o" wins for "openai/gpt-4o", "GPT-4o" and "gpt-4o-2024-08-06" alike. A name `expect`ed with the
    address it is served at is priced at that host's own list price when genai-prices knows the host (Cerebras'
    `gpt-oss-120b` is not OpenAI's), and not at all when that host's list lacks it. `extra`, the user's prices by
    model name, is checked here: InputError for any figure that is not a finite number >= 0."""

    def __init__(self, extra: Mapping[str, Price | tuple[float, float]] | None = None) -> None:
        self.prices: dict[str, Price] = {}
        if extra is not None and not isinstance(extra, Mapping):
            raise InputError(
                f"prices must be a dict of model name -> (input, output) USD per million tokens or a Price, "
                f"not {type(extra).__name__}"
            )
        for model, price in (extra or {}).items():
            if not isinstance(model, str):
                raise InputError(f"prices must be keyed by model name (a string), not {model!r}")
            self.prices[model] = _price(model, price)
        self.hosts: dict[str, set[str | None]] = {}
        """Per price name, the base URLs it is served at (None: an LM without one, priced by name alone)."""
        self._looking_up: set[str] = set()
        """Names a server answered under whose price a background thread is finding (`served_cost`)."""
        self._found: dict[str, tuple[int, Price | None]] = {}
        """`lookup`'s answers of the day (UTC days since the epoch), by name: every LM call looks its price up twice
        (admitted, then booked). Emptied whenever a name's hosts change."""
        self._keys: dict[str, tuple[str | None, bool]] = {}
        """`user_key`'s answers and whether each is sure, by model name. Emptied whenever a name's hosts change (a
        host decides which provider's price applies)."""

    def expect(self, models: Sequence[tuple[str, str | None]]) -> None:
        """Models about to be looked up, as (price name, base URL or None). When one is not answered on disk yet,
        the price database starts loading on a background thread now (about 0.4 s of imports) rather than on the
        event loop at the first call."""
        models = [(model, _provider_address(url)) for model, url in models]
        for model, url in models:
            self.hosts.setdefault(model, set()).add(url)
        self._found.clear()
        self._keys.clear()
        unanswered = [(model, url) for model, url in models if self._needs_database(model, url)]
        if unanswered:
            _warm_up(unanswered)

    def lookup(self, model: str) -> Price | None:
        """The user's price for `model` (`user_price`), else the list price at each host it was expected at (the
        dearest when it is served at several), else None."""
        given = self.user_price(model)
        if given is not None:
            return given
        day = int(time.time() // 86_400)  # the UTC day `list_price` answers for
        found = self._found.get(model)
        if found is not None and found[0] == day:
            return found[1]
        price = self._listed(model)
        self._found[model] = (day, price)
        return price

    def user_price(self, model: str) -> Price | None:
        """The price the user gave for `model` under any spelling of its name (`user_key`), else None. A price whose
        host cannot be told to be `model`'s (`user_key`'s unsure matches) gives way to a dearer list price: admission
        must never book a call below what it may cost."""
        key = self.user_key(model)
        if key is None:
            return None
        given = self.prices[key]
        if self._keys[model][1]:
            return given
        listed = self._listed(model)
        return given if listed is None else _dearest([given, listed])

    def user_key(self, model: str) -> str | None:
        """The name of the user's price that prices `model`, else None: the exact name; else a name that is the
        same once case, surrounding spaces and providers' prefixes are set aside, by whose host it names
        (`_host_verdict`): a bare name ("gpt-4o", or one whose prefix names no provider: "Qwen/Qwen3-8B") prices
        every spelling of it ("openai/gpt-4o", "openrouter/openai/gpt-4o", "GPT-4o"); a name with a provider's prefix
        ("azure/gpt-4o") prices only a name served by that provider (its prefix, its base URL, or the provider the
        database gives a bare name: "gpt-4o" is OpenAI's, so neither "azure/gpt-4o" nor "openrouter/openai/gpt-4o"
        prices it); else a name the price database takes for the same model of the same provider ("gpt-4o" of
        "gpt-4o-2024-08-06", which it prices as gpt-4o; never of "gpt-4o-2024-05-13", which it prices apart). When
        the host cannot be told (a bare name the database does not know, served nowhere it knows) the match is
        unsure and `user_price` takes the dearer of it and the list price. Names of a service tier
        (`TIER_SUFFIX_END`) and local models are matched by their spelling alone. When several names match at the
        first rule that finds any, the dearest price's. Asking the database loads it (about 0.4 s, once a process),
        and only for a name not matched by its spelling alone."""
        if model in self.prices:
            self._keys[model] = (model, True)
            return model
        if model not in self._keys:
            self._keys[model] = self._find_key(model)
        return self._keys[model][0]

    def _find_key(self, model: str) -> tuple[str | None, bool]:
        """(`user_key`'s answer, whether the match is sure)."""
        verdicts = {key: self._host_verdict(key, model) for key in self.prices if same_name(key, model)}
        found = [key for key, verdict in verdicts.items() if verdict is not False]
        if not found and self.prices and _database_named(model):
            entries = self._own_entries(model)
            found = [key for key in self.prices if entries & _key_entries(key)] if entries else []
            verdicts = dict.fromkeys(found, True)
        key = max(sorted(found), key=lambda key: _dearness(self.prices[key]), default=None)
        return key, key is None or verdicts[key] is True

    def _host_verdict(self, key: str, model: str) -> bool | None:
        """Whether the user's price `key`, a spelling of `model` (`same_name`), prices it: True when `key` is bare
        or names the provider that serves `model`, False when `model` is served by another provider only, None
        when that cannot be told."""
        if _fold(key) == _fold(model) or not _spelled_provider(key):
            return True
        provider = _provider_id(key.strip().split("/")[0])
        if provider is None:  # a prefix naming no provider is part of the name ("Qwen/Qwen3-8B")
            return True
        served = self._providers(model)
        if served == {provider}:
            return True
        return None if provider in served or None in served else False

    def _providers(self, model: str) -> set[str | None]:
        """The provider ids serving `model`: each base URL's it is expected at, else its prefix's, else the one the
        database gives its bare name; None for one that cannot be told."""
        found: set[str | None] = set()
        for url in self.hosts.get(model) or {None}:
            by_url = _url_provider(url)
            found.add(by_url if by_url is not None else _name_provider(model))
        return found

    def _own_entries(self, model: str) -> frozenset[tuple[str, str]]:
        """`model`'s database entries of the providers serving it (`_providers`), all of them when unknown."""
        entries, served = _database_entries(model), self._providers(model)
        return entries if None in served else frozenset(e for e in entries if e[0] in served)

    def prices_model(self, key: str, models: Iterable[str]) -> bool:
        """Whether the user's price named `key` is the one `user_key` finds for one of `models`."""
        return any(self.user_key(model) == key for model in models)

    def _listed(self, model: str) -> Price | None:
        if model.endswith(TIER_SUFFIX_END):  # list prices are the standard tier's: only the user knows this one
            return None
        if model.startswith(FREE_PREFIXES):
            return FREE
        hosts = sorted(self.hosts.get(model) or {None}, key=str)
        found = [price for price in (list_price(model, url) for url in hosts) if price is not None]
        return _dearest(found) if len(found) == len(hosts) else None

    def _needs_database(self, model: str, url: str | None) -> bool:
        return (
            not any(
                _fold(key) == _fold(model) or not _spelled_provider(key) for key in self.prices if same_name(key, model)
            )
            and not model.startswith(FREE_PREFIXES)
            and not model.endswith(TIER_SUFFIX_END)
            and not _ANSWERS.knows(_answer_key(model, url))
        )

    def served_cost(self, admitted: str, served: str, usage: Usage, *, wait: bool) -> float | None:
        """What a reply cost at the list price of `served`, the model the server says answered a call admitted for
        `admitted` (a gateway's fallback, an Azure deployment running another snapshot), looked up at the hosts
        `admitted` is served at; None when `served` is not priced. Finding a price not yet at hand loads the price
        database (about 0.4 s, once a day per name): with `wait` (a USD budget, which must book the call right)
        here, else on a background thread for the next reply, keeping the event loop free."""
        hosts = self.hosts.get(admitted) or {None}
        if not wait and any(self._needs_database(served, url) for url in hosts):
            if served not in self._looking_up:
                self._looking_up.add(served)
                threading.Thread(
                    target=_answer_all, args=([(served, url) for url in hosts],), name="rlmx-prices", daemon=True
                ).start()
            return None
        self.hosts.setdefault(served, set()).update(hosts)
        self._found.pop(served, None)
        self._keys.pop(served, None)
        return self.cost(served, usage)

    def cost(self, model: str, usage: Usage) -> float | None:
        """The provider's cost when it gave one, else the price of `model`; None when the model is not priced. A
        reported cost of 0 for a call that used tokens says nothing (a gateway that cannot price a model says 0:
        LiteLLM's proxy): the list price, else unknown, unless the model is free (a price of 0, or OpenRouter's
        `:free` variants)."""
        reported = usage.cost_usd
        if reported is not None and (reported > 0 or usage.total_tokens == 0):
            return reported
        listed = self._listed_cost(model, usage)
        if listed is None and reported is not None and model.endswith(":free"):
            return reported
        return listed

    def _listed_cost(self, model: str, usage: Usage) -> float | None:
        price, media = self.lookup(model), media_tokens(usage)
        if price is None or not price.prices_media(media):
            return None  # audio or images at a rate nobody knows: no text-priced call
        return price.cost(
            usage.input_tokens,
            usage.output_tokens,
            cache_read=usage.cache_read_tokens,
            cache_write=usage.cache_write_tokens,
            cache_write_1h=usage.cache_write_1h_tokens,
            media=media,
            unreported=usage.unreported_output_media,
        )


def same_name(a: str, b: str) -> bool:
    """Whether two model names are the same by the price database's spelling rules: case and surrounding spaces
    aside, the same name, or one of them the other with providers' prefixes ("openai/gpt-4o" and "gpt-4o";
    "openrouter/openai/gpt-4o" and "openai/gpt-4o"; not "azure/gpt-4o" and "openai/gpt-4o", two hosts' prices)."""
    forms_a, forms_b = _name_forms(a), _name_forms(b)
    return forms_a[0] in forms_b or forms_b[0] in forms_a


def _name_forms(name: str) -> list[str]:
    """A name folded for matching, then without each of its leading "provider/" parts, as `_database_price` tries
    them: "openrouter/openai/gpt-4o" -> [that, "openai/gpt-4o", "gpt-4o"]."""
    parts = name.strip().casefold().split("/")
    return ["/".join(parts[i:]) for i in range(len(parts))]


def _fold(name: str) -> str:
    return name.strip().casefold()


def _spelled_provider(name: str) -> bool:
    """Whether `name` has a prefix that may name a provider ("azure/gpt-4o"; told by `_provider_id`)."""
    return "/" in name.strip()


def _provider_id(prefix: str) -> str | None:
    """The price database's id of the provider a name's prefix names ("azure", "OpenAI", "bedrock": "aws"), else
    None ("Qwen", "hosted_vllm": an organisation or a client's routing word, no host)."""
    snapshot = _snapshot()
    if snapshot is None or not prefix.strip():  # pragma: no cover
        return None
    from genai_prices.data_snapshot import find_provider_by_id

    provider = find_provider_by_id(snapshot.providers, prefix)
    return None if provider is None else str(provider.id)


def _url_provider(url: str | None) -> str | None:
    """The id of the provider whose API `url` is, else None."""
    snapshot = _snapshot() if url is not None else None
    if snapshot is None or url is None:
        return None
    return next((str(p.id) for p in snapshot.providers if re.match(p.api_pattern, url)), None)


def _name_provider(model: str) -> str | None:
    """The provider a model name says serves it: its prefix's, else (a bare name) the one the database gives it
    when there is exactly one; None when that cannot be told."""
    parts = model.strip().split("/")
    if len(parts) > 1:
        named = _provider_id(parts[0])
        if named is not None:
            return named
    providers = {provider for provider, _ in _database_entries(model)}
    return providers.pop() if len(providers) == 1 and len(parts) == 1 else None


def _key_entries(key: str) -> frozenset[tuple[str, str]]:
    """A user's price name's database entries, of the provider its prefix names when it names one."""
    entries = _database_entries(key)
    parts = key.strip().split("/")
    provider = _provider_id(parts[0]) if len(parts) > 1 else None
    return entries if provider is None else frozenset(e for e in entries if e[0] == provider)


def _database_named(model: str) -> bool:
    """Whether the price database may know `model` under another spelling (not a local model nor a tier's name)."""
    return not model.startswith(FREE_PREFIXES) and not model.endswith(TIER_SUFFIX_END)


@cache
def _database_entries(model: str) -> frozenset[tuple[str, str]]:
    """The (provider id, model id) entries the price database finds for `model`, trying each name
    `_database_price` tries: two names sharing one are the same model to it."""
    snapshot = _snapshot() if _database_named(model) else None
    if snapshot is None:
        return frozenset()
    parts = model.strip().split("/")
    attempts: list[tuple[str, str | None]] = [(model.strip(), None)]
    attempts += [("/".join(parts[i + 1 :]), parts[i]) for i in range(len(parts) - 1)]
    found = set()
    for ref, provider_id in attempts:
        try:
            provider, info = snapshot.find_provider_model(ref, None, provider_id, None)
        except LookupError:
            continue
        found.add((str(provider.id), str(info.id)))
    return frozenset(found)


_loading = threading.Lock()
_warming: threading.Thread | None = None


def _warm_up(models: Sequence[tuple[str, str | None]]) -> None:
    """Load the price database on a background thread (about a second of imports), once per process, so the
    first LM call does not wait for it on the event loop; then answer all of `models` and keep the answers on
    disk. A model that is configured but never called (a sub-LM a run did not use) is answered too: otherwise
    every later process would load the database again for it, competing for the GIL with its run's start."""
    global _warming
    with _loading:
        if _warming is None:
            _warming = threading.Thread(target=_answer_all, args=(list(models),), name="rlmx-prices", daemon=True)
            _warming.start()


def _answer_all(models: list[tuple[str, str | None]]) -> None:
    for model, url in models:
        list_price(model, url)


@cache
def _snapshot() -> Any:
    """genai-prices' bundled snapshot (never fetched), or None when the package cannot be imported."""
    try:
        from genai_prices import data_snapshot
    except ImportError:  # pragma: no cover - a core dependency; guarded so a broken install prices nothing
        return None
    return data_snapshot.get_snapshot()


class _Answers:
    """genai-prices' answers of today, by model name, kept in one JSON file per snapshot and day (see the module
    docstring). Unreadable or missing files mean nothing is known; a failed write is ignored."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._known: dict[str, Any] | None = None
        self._day = ""

    def path(self) -> Path | None:
        today = _today()
        if today != self._day:  # a process living past midnight reads (and keeps) the new day's answers
            self._path, self._known, self._day = None, None, today
        if self._path is None:
            spec = importlib.util.find_spec("genai_prices")
            origin = spec.origin if spec is not None else None
            if origin is None:  # pragma: no cover - a core dependency
                return None
            data = Path(origin).with_name("data.py")
            try:
                stat = data.stat()
            except OSError:  # pragma: no cover
                return None
            # The format's version is in the key: answers kept before `request` fees, cache rates (an hour's writes
            # included), the dearest time-of-day rate, scheduled price changes, audio rates, image and video rates
            # and search fees were read, search models without their fee priced at tokens alone, a gateway's row
            # taken over the maker's dearer one, and media rates, tiers and cache-write rates of one row lost to a
            # tying row are not reused.
            key = hashlib.sha256(f"{data}:{stat.st_mtime_ns}:{stat.st_size}:12".encode()).hexdigest()[:16]
            day = self._day
            cache = user_cache_dir()
            if cache is None:  # no home known: the answers are not kept
                return None
            self._path = cache / "prices" / f"{key}-{day}.json"
        return self._path

    def _load(self) -> dict[str, Any]:
        if self._known is None:
            path = self.path()
            try:
                loaded = json.loads(path.read_text()) if path is not None else {}
            except (OSError, ValueError):
                loaded = {}
            self._known = loaded if isinstance(loaded, dict) else {}
        return self._known

    def knows(self, model: str) -> bool:
        with self._lock:
            return model in self._load()

    def get(self, model: str) -> tuple[bool, Price | None]:
        with self._lock:
            known = self._load()
            if model not in known:
                return False, None
            entry = known[model]
        try:
            return True, None if entry is None else _price_from_json(entry)
        except (TypeError, ValueError, KeyError):
            return False, None

    def put(self, model: str, price: Price | None) -> None:
        with self._lock:
            known = self._load()
            known[model] = None if price is None else _price_to_json(price)
            path = self.path()
            if path is None:
                return
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as out:
                    json.dump(known, out)
                os.replace(out.name, path)
            except OSError:
                pass


def _price_to_json(price: Price) -> dict[str, Any]:
    return {
        "in": price.input_per_million,
        "out": price.output_per_million,
        "tiers": [[t.above_input_tokens, t.input_per_million, t.output_per_million] for t in price.tiers],
        "source": price.source,
        "request": price.per_request,
        "cache_read": price.cache_read_per_million,
        "cache_write": price.cache_write_per_million,
        "cache_write_1h": price.cache_write_1h_per_million,
        **{_media_key(kind, side): price.media_rate(kind, side) for kind, side in _MEDIA_RATES},
    }


def _price_from_json(entry: dict[str, Any]) -> Price:
    tiers = tuple(Tier(int(a), float(i), float(o)) for a, i, o in entry["tiers"])
    return Price(
        float(entry["in"]),
        float(entry["out"]),
        tiers,
        str(entry["source"]),
        float(entry["request"]),
        *(_rate(entry.get(name)) for name in ("cache_read", "cache_write", "cache_write_1h")),
        **{f"{side}_{kind}_per_million": _rate(entry.get(_media_key(kind, side))) for kind, side in _MEDIA_RATES},
    )


def _media_key(kind: str, side: Side) -> str:
    """The disk cache's name of a media rate: "audio_in", "image_out"."""
    return f"{kind}_{'in' if side == 'input' else 'out'}"


def _rate(value: Any) -> float | None:
    return None if value is None else float(value)


_ANSWERS = _Answers()


def list_price(model: str, url: str | None = None) -> Price | None:
    """The list price genai-prices has for exactly this model name (or `provider/model`), else None. With `url`
    (the base URL it is served at) of a host genai-prices knows, that host's price for the name, else None. An
    answer holds for the day it was given (UTC): the dearest of that day's and the next day's prices."""
    return _list_price(model, url, _today())


def _today() -> str:
    return dt.datetime.now(tz=dt.UTC).date().isoformat()


@cache
def _list_price(model: str, url: str | None, day: str) -> Price | None:
    key = _answer_key(model, url)
    found, price = _ANSWERS.get(key)
    if found:
        return price
    price = _database_price(model, url)
    _ANSWERS.put(key, price)
    return price


def _provider_address(url: str | None) -> str | None:
    """`url` when it may be a hosted provider's (https, a public host name), else None: a server on this machine or
    a private network is priced by the model's name, without loading the database for an address no provider has
    (a local server's port changes from run to run, and each new one would be a new answer to find)."""
    if url is None:
        return None
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or host == "localhost" or host.endswith((".local", ".internal")):
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url
    return None if address.is_private or address.is_loopback or address.is_link_local else url


def _answer_key(model: str, url: str | None) -> str:
    return model if url is None else f"{model} @ {url}"


def _dearness(price: Price) -> tuple[float, float]:
    return (price.input_per_million + price.output_per_million, price.per_request)


def _dearest(prices: Sequence[Price]) -> Price:
    """Of several prices of one model (a gateway's row and its maker's, a time of day's, a host's), the dearest, with
    each MEDIA rate, cache-write rate and long-prompt tier the dearest any of them knows: rows that tie on text may
    differ in what else they list (OpenRouter's Gemini image row has no image rate, Google's has $30/M; OpenRouter's
    Gemini 2.5 Pro preview row no >200k tier, Google's $2.50/$15; OpenRouter's Claude 3.7 row no cache-write rate,
    Anthropic's 1.25x input), and a rate missing from one row is not unknown when another holds it."""
    chosen = max(prices, key=_dearness)
    known: dict[str, Any] = {
        f"{side}_{kind}_per_million": _dearest_known(price.media_rate(kind, side) for price in prices)
        for kind, side in _MEDIA_RATES
    }
    for name in ("cache_write_per_million", "cache_write_1h_per_million"):
        known[name] = _dearest_known(getattr(price, name) for price in prices)
    # a tier holds absolute rates above its threshold: taken from a row whose base rates are the chosen one's (the
    # same price, one row listing more of it)
    tiers = chosen.tiers or next((p.tiers for p in prices if p.tiers and _dearness(p) == _dearness(chosen)), ())
    return dataclasses.replace(chosen, tiers=tiers, **known)


def _dearest_known(rates: Iterable[float | None]) -> float | None:
    """The dearest of the rates that are known, or None when none is."""
    return max((rate for rate in rates if rate is not None), default=None)


def _database_price(model: str, url: str | None = None) -> Price | None:
    snapshot = _snapshot()
    if snapshot is None:  # pragma: no cover
        return None
    from genai_prices import __version__

    host = None if url is None else next((p.id for p in snapshot.providers if re.match(p.api_pattern, url)), None)
    attempts: list[tuple[str, str | None]] = [(model, host)]
    if host is None:  # "openrouter/perplexity/sonar": OpenRouter's row, and Perplexity's own ("sonar")
        parts = model.split("/")
        attempts += [("/".join(parts[i + 1 :]), parts[i]) for i in range(len(parts) - 1)]
    priced: list[Price | None] = []
    for ref, provider_id in attempts:
        try:
            _, info = snapshot.find_provider_model(ref, None, provider_id, None)
        except LookupError:
            continue
        found = [p for p in (_genai_price(info.get_prices(when), __version__) for when in _price_times(info)) if p]
        if found:  # DeepSeek's peak and off-peak rates, a rise on a set date: the dearest holds from now on
            dearest = _dearest(found)
            priced.append(_with_search_fee(model, dearest, info.get_prices(_price_times(info)[0])))
            if host is not None:  # the host's own list: it alone prices what it serves
                break
    # one model reached through a gateway's row and its maker's (a per-request fee or a media rate only one of them
    # lists): the dearest; a search model whose fee no row holds is not priced
    if not priced or any(price is None for price in priced):
        return None
    return _dearest([p for p in priced if p is not None])


SEARCHES_EVERY_CALL = re.compile(r"search-preview|search-api|-search$|deep-research", re.IGNORECASE)
"""Models that search the web on every request (OpenAI's `gpt-4o-search-preview`, `gpt-4o-mini-search-preview`,
`gpt-5-search-api`): each call is billed a search on top of its tokens."""


_CLIENT_TOOL_TYPES = frozenset({"function", "custom"})
"""Kinds of `tools` entry the model only writes a call for, run by the caller (billed as tokens). Any other kind is
run by the provider and may be billed per use: OpenAI's `web_search`, xAI's `live_search`, Anthropic's
`web_search_20250305`, Gemini's `{"google_search": {}}`."""
_FREE_PLUGINS = frozenset({"response-healing"})
"""OpenRouter plugins that bill nothing beyond the tokens; the others (`web`: $4 per thousand results; `file-parser`,
which may OCR each page) may bill per use."""


def paid_tools(model: str, params: Mapping[str, Any]) -> list[str]:
    """What in a request to `model` with `params` (an LM's request settings) turns on a tool the provider runs and
    bills per use on top of the tokens, however it is spelled: xAI Live Search (`search_parameters` in a mode other
    than "off": $25 per thousand sources), web search options (OpenAI's and OpenRouter's `web_search_options`),
    OpenRouter's plugins (`plugins: [{"id": "web"}]`, a model name ending ":online"), a tool in `tools` the provider
    runs itself. No price row holds these fees, and how many uses a call makes is up to the request and the model,
    so its price must state the most one call is billed for them (`Price.unpriced_tools`)."""
    found = []
    search = params.get("search_parameters")
    if search is not None and not (isinstance(search, Mapping) and str(search.get("mode", "auto")).lower() == "off"):
        found.append("search_parameters")
    if params.get("web_search_options") is not None:
        found.append("web_search_options")
    plugins = params.get("plugins")
    if isinstance(plugins, list | tuple) and any(_paid_plugin(plugin) for plugin in plugins):
        found.append("plugins")
    if model.endswith(":online"):  # OpenRouter's web plugin, asked for by the model's name
        found.append(":online")
    tools = params.get("tools")
    if isinstance(tools, list | tuple) and any(_provider_tool(tool) for tool in tools):
        found.append("tools")
    return found


def _paid_plugin(plugin: Any) -> bool:
    return not (isinstance(plugin, Mapping) and plugin.get("id") in _FREE_PLUGINS)


def _provider_tool(tool: Any) -> bool:
    """Whether a `tools` entry is run by the provider (not a function the model only writes a call for; Anthropic's
    own function tools have a name and no type)."""
    if not isinstance(tool, Mapping):
        return True
    kind = tool.get("type")
    return kind not in _CLIENT_TOOL_TYPES if kind is not None else not ("name" in tool or "function" in tool)


_SEARCHES_MANY_TIMES = re.compile(r"deep-research", re.IGNORECASE)
"""Models that run many web searches per call, as many as the task takes (OpenAI's `o3-deep-research`,
`o4-mini-deep-research`, Perplexity's `sonar-deep-research`): no per-call price bounds them."""


def _with_search_fee(model: str, price: Price, prices: Any) -> Price | None:
    """`price` plus one web search per call (genai-prices' `web_searches_kcount`, USD per thousand) for a model that
    searches on every request; the database gives some search models their base model's row, fee and all, and only
    the name says every call searches. None (not priced) for a search model whose row has no fee: genai-prices
    0.2.3 prices `gpt-4o-search-preview` and `gpt-5-search-api` at their tokens alone, while OpenAI bills each call
    a search besides (tens of dollars per thousand calls). Unchanged for any other model."""
    if _SEARCHES_MANY_TIMES.search(model):
        return None
    if not SEARCHES_EVERY_CALL.search(model):
        return price
    per_thousand = getattr(prices, "web_searches_kcount", None)
    if not per_thousand:
        return None
    return dataclasses.replace(price, per_request=price.per_request + float(per_thousand) / 1000)


def _price_times(info: Any) -> list[dt.datetime]:
    """Now, today at the start of each time-of-day window the model's prices have (DeepSeek's off-peak hours), and
    tomorrow when a scheduled price change starts then (a Gemini price doubling on the first of a month): a price
    kept for the day (`list_price`) must hold at any hour of it, and for a run still going past midnight."""
    now = dt.datetime.now(tz=dt.UTC)
    conditions = info.prices if isinstance(info.prices, list) else []
    constraints = [c.constraint for c in conditions if c.constraint is not None]
    times = [now]
    for constraint in constraints:
        start_time, start_date = getattr(constraint, "start_time", None), getattr(constraint, "start_date", None)
        if start_time is not None:
            times.append(dt.datetime.combine(now.date(), start_time, tzinfo=dt.UTC))
        if isinstance(start_date, dt.datetime):
            start_date = start_date.date()
        if isinstance(start_date, dt.date) and 0 < (start_date - now.date()).days <= 1:
            times.append(dt.datetime(start_date.year, start_date.month, start_date.day, 12, tzinfo=dt.UTC))
    return times


def _genai_price(prices: Any, version: str) -> Price | None:
    price = _from_genai(getattr(prices, "input_mtok", None), getattr(prices, "output_mtok", None), version)
    if price is None:
        return None
    per_thousand = getattr(prices, "requests_kcount", None)
    read, write = getattr(prices, "cache_read_mtok", None), getattr(prices, "cache_write_mtok", None)
    hour = getattr(prices, "cache_write_1h_mtok", None)
    media: dict[str, Any] = {  # input_audio_per_million from input_audio_mtok, ...
        f"{side}_{kind}_per_million": _base_rate(getattr(prices, f"{side}_{kind}_mtok", None))
        for kind, side in _MEDIA_RATES
    }
    return dataclasses.replace(
        price,
        per_request=float(per_thousand) / 1000 if per_thousand else 0.0,
        cache_read_per_million=None if read is None else _rates(read)[0],
        cache_write_per_million=None if write is None else _rates(write)[0],
        cache_write_1h_per_million=None if hour is None else _rates(hour)[0],
        **media,
    )


def _from_genai(input_mtok: Any, output_mtok: Any, version: str) -> Price | None:
    """A Price from genai-prices' input/output rates (Decimal or tiered); None unless both are known."""
    if input_mtok is None or output_mtok is None:
        return None
    in_base, in_tiers = _rates(input_mtok)
    out_base, out_tiers = _rates(output_mtok)
    starts = sorted(set(in_tiers) | set(out_tiers))
    tiers = tuple(
        Tier(
            start,
            max((rate for s, rate in in_tiers.items() if s <= start), default=in_base),
            max((rate for s, rate in out_tiers.items() if s <= start), default=out_base),
        )
        for start in starts
    )
    return Price(in_base, out_base, tiers, source=f"genai-prices {version}")


def _base_rate(value: Any) -> float | None:
    return None if value is None else _rates(value)[0]


def _rates(value: Any) -> tuple[float, dict[int, float]]:
    if isinstance(value, Decimal | int | float):
        return float(value), {}
    base = float(value.base)
    return base, {int(tier.start): float(tier.price) for tier in value.tiers}


def _price(model: str, price: Price | tuple[float, float]) -> Price:
    """A price the user gave for `model` (a Price, or (input, output) USD per million tokens), every figure checked:
    a NaN, an infinity or a negative rate would crash admission or let a negative cost buy unlimited calls.
    Raises InputError naming the model and the figure."""
    if isinstance(price, Price):
        return _checked_price(model, price)
    given = f"price for {model!r} must be (input USD per million tokens, output USD per million tokens), got {price!r}"
    if isinstance(price, str | bytes | Mapping):  # "12" would unpack as (1, 2), a dict as its keys
        raise InputError(given)
    try:
        input_price, output_price = price
        if isinstance(input_price, bool) or isinstance(output_price, bool):
            raise TypeError
        result = Price(float(input_price), float(output_price))
    except (TypeError, ValueError, OverflowError):
        raise InputError(given) from None
    if not all(_is_rate(rate) for rate in (result.input_per_million, result.output_per_million)):
        raise InputError(f"price for {model!r} must be two finite numbers >= 0, got {price!r}")
    return result


def _checked_price(model: str, price: Price) -> Price:
    """`price` with every figure a float, or InputError naming the first that is not a finite number >= 0."""
    figures: dict[str, Any] = {}
    for item in dataclasses.fields(Price):
        value = getattr(price, item.name)
        if item.name == "tiers":
            figures["tiers"] = _checked_tiers(model, value)
        elif item.name != "source" and not (value is None and "None" in str(item.type)):
            figures[item.name] = _rate_figure(model, item.name, value)
    return dataclasses.replace(price, **figures)


def _checked_tiers(model: str, tiers: Any) -> tuple[Tier, ...]:
    if not isinstance(tiers, tuple | list) or not all(isinstance(tier, Tier) for tier in tiers):
        raise InputError(f"price for {model!r}: tiers must be a tuple of rlmx.lm.prices.Tier, got {tiers!r}")
    checked = []
    for i, tier in enumerate(tiers):
        start = tier.above_input_tokens
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise InputError(
                f"price for {model!r}: tiers[{i}].above_input_tokens must be an integer >= 0, got {start!r}"
            )
        rates = [_rate_figure(model, f"tiers[{i}].{name}", getattr(tier, name)) for name in _TIER_RATES]
        checked.append(Tier(start, *rates))
    return tuple(checked)


_TIER_RATES = ("input_per_million", "output_per_million")


def _rate_figure(model: str, name: str, value: Any) -> float:
    """One figure of a user's price as a float, or InputError: a finite number >= 0 (None stands for "unknown" only
    in the fields typed so, and is checked by the caller)."""
    unit = "USD per call" if name == "per_request" else "USD per million tokens"
    rate = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) and _fits(value) else None
    if rate is None or not _is_rate(rate):
        raise InputError(f"price for {model!r}: {name} must be a finite number >= 0 ({unit}), got {value!r}")
    return rate


def _fits(value: numbers.Real) -> bool:
    """Whether `value` converts to a float (an integer past 1e308 does not)."""
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _is_rate(value: float) -> bool:
    return math.isfinite(value) and value >= 0
