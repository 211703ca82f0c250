from __future__ import annotations

import copy

import pytest
import yaml

import collective_efficacy as ce
from collective_efficacy.errors import InstrumentError


def test_builtin_instruments_listed() -> None:
    table = ce.list_instruments()
    assert {"sampson1997", "cbs_vm_sociale_cohesie"} <= set(table["id"])
    row = table.set_index("id").loc["sampson1997"]
    assert row["n_items"] == 10


def test_sampson_structure() -> None:
    inst = ce.load_instrument("sampson1997")
    assert inst.item_ids == [
        "SC1",
        "SC2",
        "SC3",
        "SC4",
        "SC5",
        "ISC1",
        "ISC2",
        "ISC3",
        "ISC4",
        "ISC5",
    ]
    assert inst.reverse_keys() == {"SC3": -1, "SC4": -1}
    assert inst.scale("collective_efficacy").items == inst.item_ids
    assert inst.translation_status == {"nl": "unofficial"}
    assert inst.response_scale("SC1").n_options == 5
    assert inst.response_scale("ISC1").label_map()["zeer waarschijnlijk"] == 5.0
    assert inst.item("SC1").text["en"] == "This is a close-knit neighborhood."


def test_cbs_rescale_is_a_parameter() -> None:
    inst = ce.load_instrument("cbs_vm_sociale_cohesie")
    assert inst.scale("sociale_cohesie").rescale == (0.0, 10.0)
    assert "not CBS's official rule" in inst.notes["en"]


def test_codebook() -> None:
    cb = ce.load_instrument("sampson1997").codebook(lang="nl")
    assert list(cb.columns) == [
        "item",
        "scales",
        "text",
        "keying",
        "response_scale",
        "codes",
        "missing_codes",
    ]
    assert cb.set_index("item").loc["SC3", "keying"] == "reverse"
    assert "1=Helemaal mee oneens" in cb.loc[0, "codes"]
    assert "8=Weet niet" in cb.loc[0, "missing_codes"]


def _spec() -> dict:
    inst = ce.load_instrument("sampson1997")
    return yaml.safe_load(inst.model_dump_json())


def test_roundtrip_json_and_dict() -> None:
    inst = ce.load_instrument("sampson1997")
    again = ce.load_instrument(_spec())
    assert again == inst


def test_load_from_path(tmp_path) -> None:
    p = tmp_path / "mine.yaml"
    p.write_text(yaml.safe_dump(_spec()), encoding="utf-8")
    assert ce.load_instrument(p).id == "sampson1997"
    assert ce.load_instrument(str(p)).id == "sampson1997"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s["items"].append(copy.deepcopy(s["items"][0])), "duplicate item id"),
        (lambda s: s["scales"][0]["items"].append("NOPE"), "unknown item"),
        (lambda s: s["response_scales"]["agree5"]["labels"]["en"].pop(), "one label per code"),
        (lambda s: s["items"][0].update(scale="missing_scale"), "not defined"),
        (lambda s: s["scales"][0].update(min_items=9), "exceeds"),
        (
            lambda s: s["response_scales"]["agree5"]["missing"].update(
                {"3": {"en": "x", "nl": "x"}}
            ),
            "also valid",
        ),
        (lambda s: s.pop("items"), "items"),
    ],
)
def test_broken_definitions_name_field(tmp_path, mutate, message) -> None:
    spec = _spec()
    mutate(spec)
    p = tmp_path / "broken.yaml"
    p.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(InstrumentError, match=message) as exc:
        ce.load_instrument(p)
    assert "broken.yaml" in str(exc.value)
    assert "field" in str(exc.value)


def test_unknown_name_and_bad_yaml(tmp_path) -> None:
    with pytest.raises(InstrumentError, match="unknown instrument 'nope'.*sampson1997"):
        ce.load_instrument("nope")
    p = tmp_path / "bad.yaml"
    p.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(InstrumentError, match="not valid YAML"):
        ce.load_instrument(p)
    with pytest.raises(InstrumentError, match="does not exist"):
        ce.load_instrument(tmp_path / "absent.yaml")
