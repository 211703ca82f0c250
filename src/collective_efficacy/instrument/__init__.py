"""Instrument definitions: items, response scales and scales, loaded from YAML.

An :class:`Instrument` is a pydantic model, so it validates on construction, round-trips to JSON
and can be built from a user's own YAML file or dict. Built-in instruments live in the top-level
``instruments/`` folder of the source tree and ship inside the wheel.

This module imports no statistics.
"""

from __future__ import annotations

import copy
import functools
import unicodedata
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from collective_efficacy._params import MAPPING, PATH, InstanceOf, public
from collective_efficacy.errors import InstrumentError

__all__ = [
    "Instrument",
    "Item",
    "ResponseScale",
    "Scale",
    "list_instruments",
    "load_instrument",
]

_PACKAGE = "collective_efficacy.instruments"


def normalize_label(text: str) -> str:
    """Case-, accent- and whitespace-insensitive form of an answer label."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split())


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponseScale(_Model):
    """The answer options of an item: valid codes, their labels per language, missing codes.

    Attributes
    ----------
    codes : list of int
        Valid answer codes in order from lowest to highest (higher = more of the construct for a
        positively keyed item).
    labels : dict of language -> list of str
        One label per code, per language.
    missing : dict of code -> dict of language -> str
        Codes that mean a missing answer (e.g. 8 = don't know, 9 = refused); recoded to NaN.
    """

    codes: list[int] = Field(min_length=2)
    labels: dict[str, list[str]] = Field(default_factory=dict)
    missing: dict[int, dict[str, str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ResponseScale:
        if len(set(self.codes)) != len(self.codes):
            raise ValueError(f"codes {self.codes} contain duplicates")
        if sorted(self.codes) != self.codes:
            raise ValueError(f"codes {self.codes} must be in increasing order")
        for lang, labels in self.labels.items():
            if len(labels) != len(self.codes):
                raise ValueError(
                    f"labels[{lang!r}] has {len(labels)} labels for {len(self.codes)} codes "
                    f"{self.codes}; expected one label per code"
                )
        overlap = set(self.missing) & set(self.codes)
        if overlap:
            raise ValueError(f"missing codes {sorted(overlap)} are also valid answer codes")
        return self

    @property
    def min(self) -> int:
        return self.codes[0]

    @property
    def max(self) -> int:
        return self.codes[-1]

    @property
    def n_options(self) -> int:
        """Number of valid answer options (A in the rwg uniform null (A^2 - 1) / 12)."""
        return len(self.codes)

    def label_map(self) -> dict[str, float]:
        """Normalised label (any language, valid or missing) -> code; missing labels -> NaN."""
        out: dict[str, float] = {}
        for labels in self.labels.values():
            for code, label in zip(self.codes, labels):
                out[normalize_label(label)] = float(code)
        for texts in self.missing.values():
            for label in texts.values():
                out.setdefault(normalize_label(label), float("nan"))
        return out


class Item(_Model):
    """One question. ``reverse`` is relative to the construct (True = agreeing means less)."""

    id: str = Field(min_length=1)
    text: dict[str, str]
    scale: str = Field(description="id of the item's response scale")
    reverse: bool = False


class Scale(_Model):
    """A scored scale: its items, the rule (mean or sum) and the minimum of answered items."""

    id: str = Field(min_length=1)
    label: dict[str, str] = Field(default_factory=dict)
    items: list[str] = Field(min_length=1)
    rule: Literal["mean", "sum"] = "mean"
    min_items: int | None = Field(default=None, ge=1)
    rescale: tuple[float, float] | None = Field(
        default=None,
        description="optional linear rescaling of the mean score to [low, high], e.g. (0, 10)",
    )

    @model_validator(mode="after")
    def _check(self) -> Scale:
        if len(set(self.items)) != len(self.items):
            raise ValueError(f"scale {self.id!r} lists an item twice: {self.items}")
        if self.min_items is not None and self.min_items > len(self.items):
            raise ValueError(
                f"scale {self.id!r}: min_items={self.min_items} exceeds its {len(self.items)} items"
            )
        if self.rescale is not None and self.rule != "mean":
            raise ValueError(f"scale {self.id!r}: rescale applies to rule 'mean' only")
        return self


class Instrument(_Model):
    """A questionnaire instrument: items, their response scales and the scales they form.

    Examples
    --------
    >>> import collective_efficacy as ce
    >>> inst = ce.load_instrument("sampson1997")
    >>> [s.id for s in inst.scales]
    ['social_cohesion', 'informal_social_control', 'collective_efficacy']
    >>> inst.reverse_keys()
    {'SC3': -1, 'SC4': -1}
    """

    id: str = Field(min_length=1)
    title: dict[str, str]
    version: str = "1.0"
    source: str = ""
    languages: list[str] = Field(min_length=1)
    notes: dict[str, str] = Field(default_factory=dict)
    translation_status: dict[str, str] = Field(default_factory=dict)
    response_scales: dict[str, ResponseScale] = Field(min_length=1)
    items: list[Item] = Field(min_length=1)
    scales: list[Scale] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, v: Any) -> str:
        return str(v)

    @model_validator(mode="after")
    def _check(self) -> Instrument:
        ids = [it.id for it in self.items]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate item id(s) {dup}")
        for it in self.items:
            if it.scale not in self.response_scales:
                raise ValueError(
                    f"item {it.id!r} uses response scale {it.scale!r}, which is not defined; "
                    f"defined: {sorted(self.response_scales)}"
                )
            absent = [lang for lang in self.languages if lang not in it.text]
            if absent:
                raise ValueError(f"item {it.id!r} has no text in language(s) {absent}")
        for rs_id, rs in self.response_scales.items():
            absent = [lang for lang in self.languages if lang not in rs.labels]
            if absent:
                raise ValueError(f"response scale {rs_id!r} has no labels in language(s) {absent}")
        sids = [s.id for s in self.scales]
        dup = sorted({i for i in sids if sids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate scale id(s) {dup}")
        for s in self.scales:
            unknown = [i for i in s.items if i not in ids]
            if unknown:
                raise ValueError(f"scale {s.id!r} names unknown item(s) {unknown}; items: {ids}")
        return self

    # -- lookup ---------------------------------------------------------------------------
    @property
    def item_ids(self) -> list[str]:
        return [it.id for it in self.items]

    def item(self, item_id: str) -> Item:
        return _by_id(self.id, "item", self.items, item_id)

    def scale(self, scale_id: str) -> Scale:
        return _by_id(self.id, "scale", self.scales, scale_id)

    def response_scale(self, item_id: str) -> ResponseScale:
        return self.response_scales[self.item(item_id).scale]

    def reverse_keys(self) -> dict[str, int]:
        """``{item: -1}`` for every reverse-keyed item (the ``keys`` form of R psych)."""
        return {it.id: -1 for it in self.items if it.reverse}

    def keys(self, scale_id: str) -> list[str]:
        """psych-style keys of a scale: ``["SC1", "-SC3", ...]``."""
        return [("-" if self.item(i).reverse else "") + i for i in self.scale(scale_id).items]

    def n_options(self, items: list[str] | None = None) -> int:
        """Number of answer options shared by ``items`` (error if they differ)."""
        items = items or self.item_ids
        counts = {self.response_scale(i).n_options for i in items}
        if len(counts) != 1:
            raise InstrumentError(
                f"items {items} have different numbers of answer options {counts}"
            )
        return counts.pop()

    def title_in(self, lang: str | None = None) -> str:
        lang = lang or self.languages[0]
        return self.title.get(lang) or next(iter(self.title.values()))

    def codebook(self, lang: str | None = None) -> pd.DataFrame:
        """One row per item and scale it belongs to: wording, keying, codes and labels."""
        lang = lang or self.languages[0]
        rows = []
        member: dict[str, list[str]] = {i: [] for i in self.item_ids}
        for s in self.scales:
            for i in s.items:
                member[i].append(s.id)
        for it in self.items:
            rs = self.response_scales[it.scale]
            labels = rs.labels.get(lang, [])
            rows.append(
                {
                    "item": it.id,
                    "scales": ", ".join(member[it.id]),
                    "text": it.text.get(lang, ""),
                    "keying": "reverse" if it.reverse else "forward",
                    "response_scale": it.scale,
                    "codes": ", ".join(f"{c}={lab}" for c, lab in zip(rs.codes, labels))
                    if labels
                    else ", ".join(map(str, rs.codes)),
                    "missing_codes": ", ".join(
                        f"{c}={t.get(lang, next(iter(t.values()), ''))}"
                        for c, t in rs.missing.items()
                    ),
                }
            )
        return pd.DataFrame(rows)


# -- loading --------------------------------------------------------------------------------
def _builtin_dir() -> Any:
    return resources.files(_PACKAGE)


def list_instruments() -> pd.DataFrame:
    """The built-in instruments: id, title, version, number of items and scales.

    Examples
    --------
    >>> import collective_efficacy as ce
    >>> "sampson1997" in set(ce.list_instruments()["id"])
    True
    """
    rows = []
    for entry in sorted(_builtin_dir().iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml"):
            continue
        inst = _from_text(entry.read_text(encoding="utf-8"), entry.name)
        rows.append(
            {
                "id": inst.id,
                "title": inst.title_in("en"),
                "version": inst.version,
                "n_items": len(inst.items),
                "scales": ", ".join(s.id for s in inst.scales),
                "languages": ", ".join(inst.languages),
            }
        )
    return pd.DataFrame(rows)


def _format_pydantic(err: ValidationError, origin: str) -> str:
    lines = [f"invalid instrument {origin}: {err.error_count()} problem(s)"]
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  field {loc}: {msg}")
    return "\n".join(lines)


def instrument_from_dict(spec: Mapping[str, Any], origin: str = "<dict>") -> Instrument:
    """Build and validate an :class:`Instrument` from a mapping (raises InstrumentError)."""
    if not isinstance(spec, Mapping):
        raise InstrumentError(
            f"invalid instrument {origin}: expected a mapping, got {type(spec).__name__}"
        )
    try:
        return Instrument.model_validate(dict(spec))
    except ValidationError as err:
        raise InstrumentError(_format_pydantic(err, origin)) from None


#: The declared constraint of an instrument argument: an Instrument, a built-in id or a path
#: to its YAML, or a dict of its fields (what :func:`load_instrument` takes).
INSTRUMENT_SOURCE: list[Any] = [
    InstanceOf(Instrument, description="an Instrument", example=lambda: "sampson1997"),
    PATH,
    MAPPING,
]


_T = TypeVar("_T", Item, Scale)


def _by_id(instrument: str, kind: str, entries: Sequence[_T], wanted: str) -> _T:
    """The item or scale with id ``wanted``, or an InstrumentError listing the ids there are."""
    for entry in entries:
        if entry.id == wanted:
            return entry
    raise InstrumentError(
        f"instrument {instrument!r} has no {kind} {wanted!r}; {kind}s: {[e.id for e in entries]}"
    )


#: libyaml's safe loader (20x faster than the pure-Python one: 2.5 ms for an instrument
#: against 49 ms, which every call of load_instrument paid) when PyYAML was built with it
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str, origin: str) -> Any:
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as err:
        raise InstrumentError(f"invalid instrument {origin}: not valid YAML ({err})") from None


def _from_text(text: str, origin: str) -> Instrument:
    return instrument_from_dict(_parse(text, origin), origin)


@functools.cache
def _builtin_spec(name: str) -> Any:
    """The parsed YAML of a built-in instrument, read once (the parse is 1 ms of the 1.1 ms of a
    load; the files are part of the installed package)."""
    entry = _builtin_dir() / f"{name}.yaml"
    return _parse(entry.read_text(encoding="utf-8"), f"{name!r} (built-in)")


@public(constraints={"name_or_path": INSTRUMENT_SOURCE})
def load_instrument(name_or_path: str | Path | Mapping[str, Any] | Instrument) -> Instrument:
    """Load a built-in instrument by id, a YAML file by path, or validate a dict.

    Parameters
    ----------
    name_or_path : str, Path, dict or Instrument
        ``"sampson1997"`` (see :func:`list_instruments`), a path to a ``.yaml`` file, or a dict
        with the same fields.

    Raises
    ------
    InstrumentError
        Unknown name, unreadable file, or a definition that breaks a rule (the message names the
        file, the field and what was expected).

    Examples
    --------
    >>> import collective_efficacy as ce
    >>> ce.load_instrument("sampson1997").keys("social_cohesion")
    ['SC1', 'SC2', '-SC3', '-SC4', 'SC5']
    """
    if isinstance(name_or_path, Instrument):
        return name_or_path
    if isinstance(name_or_path, Mapping):
        return instrument_from_dict(name_or_path)
    path = Path(name_or_path)
    if path.suffix.lower() in {".yaml", ".yml"} or path.exists():
        if not path.exists():
            raise InstrumentError(f"instrument file {str(path)!r} does not exist")
        return _from_text(path.read_text(encoding="utf-8"), repr(str(path)))
    entry = _builtin_dir() / f"{name_or_path}.yaml"
    if not entry.is_file():
        known = list(list_instruments()["id"])
        raise InstrumentError(
            f"unknown instrument {str(name_or_path)!r}; built-in instruments: {known}, "
            "or give a path to a .yaml file"
        )
    # a copy: the Instrument built from it shares nothing with the cached parse
    spec = copy.deepcopy(_builtin_spec(str(name_or_path)))
    return instrument_from_dict(spec, f"{name_or_path!r} (built-in)")
