"""XLSForm export (issue 19): pyxform converts every shipped instrument without error or
warning, and a simulated KoboToolbox / ODK Central export of the form is validated without a
column map and scores identically to the original data."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.errors import DataError
from collective_efficacy.export.xlsform import GROUP, xlsform_sheets

# found, not imported: pyxform (with openpyxl and polars) takes 0.5-1 s to import, paid only
# by a test process that runs a test needing it (the ``convert`` fixture)
if importlib.util.find_spec("pyxform") is None or importlib.util.find_spec("openpyxl") is None:
    pytest.skip("pyxform and openpyxl are needed", allow_module_level=True)


@pytest.fixture(scope="module")
def convert() -> Any:
    """pyxform's ``xls2xform.convert``."""
    from pyxform.xls2xform import convert

    return convert


INSTRUMENTS = list(ce.list_instruments()["id"])
LANGS = [("nl", "en"), ("en", "nl"), ("nl",), ("en",)]


@pytest.mark.parametrize("inst", INSTRUMENTS)
@pytest.mark.parametrize("lang", LANGS, ids="-".join)
def test_pyxform_converts_without_error_or_warning(
    inst: str, lang: tuple[str, ...], tmp_path: Path, convert: Any
) -> None:
    path = ce.export.to_xlsform(inst, tmp_path / "form.xlsx", lang=lang)
    found: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Python warning from pyxform fails the test too
        result = convert(xlsform=str(path), warnings=found)
    assert found == []
    xml = result.xform
    instrument = ce.load_instrument(inst)
    for it in instrument.items:  # every item is a select1 bound to the group
        assert f'/{GROUP}/{it.id}"' in xml
        for lg in lang:
            assert it.text[lg].replace("'", "&apos;").split()[0] in xml
    for lg in lang:  # labels per language, named as XLSForm asks
        assert f'lang="{ce.export.xlsform.LANGUAGE_NAMES[lg]} ({lg})"' in xml
    assert 'required="true()"' in xml
    assert "/community" in xml and "/wave" in xml


def test_choices_hold_codes_and_missing_codes() -> None:
    sheets = xlsform_sheets("sampson1997", lang=("nl", "en"))
    ch = sheets["choices"]
    agree = ch[ch["list_name"] == "agree5"]
    assert agree["name"].tolist() == ["1", "2", "3", "4", "5", "8", "9"]
    assert agree["label::Nederlands (nl)"].tolist()[-2:] == ["Weet niet", "Wil niet zeggen"]
    assert sheets["settings"]["default_language"].item() == "Nederlands (nl)"
    survey = sheets["survey"]
    assert survey.loc[survey["name"] == "wave", "calculation"].item() == "'baseline'"


def test_scales_restricts_the_items() -> None:
    survey = xlsform_sheets("sampson1997", lang=("en",), scales=["social_cohesion"])["survey"]
    items = survey.loc[survey["type"].str.startswith("select_one"), "name"].tolist()
    assert items == ["SC1", "SC2", "SC3", "SC4", "SC5"]


def test_unknown_language_is_named() -> None:
    with pytest.raises(DataError, match=r"lang=\['de'\].*\['en', 'nl'\]"):
        xlsform_sheets("sampson1997", lang=("de",))


# -- round trip ------------------------------------------------------------------------------
def _original() -> pd.DataFrame:
    d = ce.datasets.simulate(8, dirty=False, seed=7).data
    d = d.loc[d["meting"] == d["meting"].iloc[0]].reset_index(drop=True)
    # some missing codes (don't know = 8, refused = 9) so they travel through the form too
    rng = np.random.default_rng(3)
    cols = list(ce.datasets.EXAMPLE_COLUMNS)
    for c in cols[:4]:
        d.loc[rng.random(len(d)) < 0.05, c] = rng.choice([8, 9])
    return d


def _export(orig: pd.DataFrame, tool: str, as_labels: bool, lang: str) -> pd.DataFrame:
    """What the tool exports for the form's submissions (columns from the form itself)."""
    sheets = xlsform_sheets("sampson1997", lang=("nl", "en"))
    survey, choices = sheets["survey"], sheets["choices"]
    sep = "/" if tool == "kobo" else "-"
    label_col = f"label::{ce.export.xlsform.LANGUAGE_NAMES[lang]} ({lang})"
    out = pd.DataFrame(index=orig.index)
    if tool == "odk":
        out["SubmissionDate"] = "2025-03-0" + (orig.index % 9 + 1).astype(str) + "T10:00:00.000Z"
    out["start"] = "2025-03-01T09:58:00.000+01:00"
    out["end"] = "2025-03-01T10:04:00.000+01:00"
    out["community"] = orig["buurt"]
    out["wave"] = "baseline"
    to_item = dict(ce.datasets.EXAMPLE_COLUMNS)
    in_group = False
    for row in survey.itertuples(index=False):
        if row.type == "begin_group":
            in_group = True
        elif row.type == "end_group":
            in_group = False
        elif row.type.startswith("select_one") and in_group:
            item = row.name
            src = next(c for c, i in to_item.items() if i == item)
            values = orig[src].astype(str)
            if as_labels:
                lst = choices[choices["list_name"] == row.type.split()[1]]
                values = values.map(dict(zip(lst["name"], lst[label_col])))
            out[f"{GROUP}{sep}{item}"] = values
    if tool == "kobo":
        out["_id"] = np.arange(1000, 1000 + len(orig))
        out["_uuid"] = orig["respondent_id"]
        out["_submission_time"] = "2025-03-0" + (orig.index % 7 + 2).astype(str) + "T09:04:00"
        out["_validation_status"] = ""
        out["_index"] = np.arange(1, len(orig) + 1)
    else:
        out["meta-instanceID"] = "uuid:" + orig["respondent_id"]
        out["KEY"] = "uuid:" + orig["respondent_id"]
    return out


@pytest.mark.parametrize(
    ("tool", "as_labels", "lang", "suffix"),
    [
        ("kobo", True, "nl", ".csv"),
        ("kobo", False, "nl", ".xlsx"),
        ("kobo", True, "en", ".xlsx"),
        ("odk", False, "nl", ".csv"),
        ("odk", True, "en", ".csv"),
    ],
)
def test_round_trip_scores_identically(
    tool: str, as_labels: bool, lang: str, suffix: str, tmp_path: Path
) -> None:
    orig = _original()
    ref = ce.validate(
        orig,
        "sampson1997",
        community="buurt",
        respondent="respondent_id",
        columns=ce.datasets.EXAMPLE_COLUMNS,
    )
    export = _export(orig, tool, as_labels, lang)
    path = tmp_path / f"export{suffix}"
    if suffix == ".csv":
        export.to_csv(path, index=False, sep=";" if tool == "kobo" else ",")  # Kobo writes ;
    else:
        export.to_excel(path, index=False)
    read = ce.read_responses(path)
    assert read.attrs["form_export"] == ("kobotoolbox" if tool == "kobo" else "odk")
    assert any("date column 'date'" in t for t in read.attrs["reading_notes"])
    respondent = "_uuid" if tool == "kobo" else "KEY"
    got = ce.validate(
        read, "sampson1997", community="community", respondent=respondent, wave="wave"
    )
    assert sorted(got.report.column_map.values()) == sorted(
        ce.load_instrument("sampson1997").item_ids
    )
    assert got.report.problems == []
    assert got.report.n_rows_usable == ref.report.n_rows_usable == len(orig)
    # the submission time is the date column ValidatedResponses carries
    submitted = export["_submission_time" if tool == "kobo" else "SubmissionDate"]
    when = pd.to_datetime(submitted, utc=True, format="ISO8601").dt.strftime("%Y-%m-%d")
    assert got.date == "date" and ref.date is None
    assert got.data["date"].tolist() == when.tolist()
    assert "date" not in got.report.ignored_columns
    s_ref = ce.score(ref)
    s_got = ce.score(got)
    for scale in ("social_cohesion", "informal_social_control", "collective_efficacy"):
        np.testing.assert_array_equal(s_got[scale].to_numpy(), s_ref[scale].to_numpy())
    a_ref = ce.aggregate(s_ref, community="buurt", columns=["collective_efficacy"])
    a_got = ce.aggregate(s_got, community="community", columns=["collective_efficacy"])
    pd.testing.assert_frame_equal(a_ref.drop(columns="buurt"), a_got.drop(columns="community"))


def test_submission_time_becomes_the_date(tmp_path: Path) -> None:
    export = _export(_original(), "odk", False, "nl")
    path = tmp_path / "odk.csv"
    export.to_csv(path, index=False)
    read = ce.read_responses(path)
    expected = pd.to_datetime(export["SubmissionDate"], utc=True).dt.strftime("%Y-%m-%d")
    assert read["date"].tolist() == expected.tolist()


def test_evaluate_takes_the_submission_dates(tmp_path: Path) -> None:
    """Two KoboToolbox exports evaluated without columns= or date=: each wave's first and last
    date are its submission dates, as with date="date" given; plain files have no dates."""
    sim = ce.datasets.simulate(6, dirty=False, seed=11).data
    paths = {}
    for k, (_, frame) in enumerate(sim.groupby("meting", sort=False)):
        export = _export(frame.reset_index(drop=True), "kobo", False, "nl")
        export["_submission_time"] = f"2025-0{3 + 6 * k}-1" + (export.index % 9).astype(str)
        paths[k] = tmp_path / f"wave{k}.csv"
        export.to_csv(paths[k], index=False, sep=";")
    opts = {"instrument": "sampson1997", "community": "community", "respondent": "_uuid",
            "min_n": 5}  # fmt: skip
    auto = ce.evaluate(paths[0], paths[1], **opts)
    given = ce.evaluate(paths[0], paths[1], date="date", **opts)
    got = [(w.date_first, w.date_last) for w in auto.waves]
    assert got == [(w.date_first, w.date_last) for w in given.waves]
    assert got[0][0].startswith("2025-03-1") and got[1][0].startswith("2025-09-1")
    plain = ce.evaluate(*(pd.read_csv(p, sep=";") for p in paths.values()), **opts)
    assert [w.date_first for w in plain.waves] == [None, None]


def test_a_plain_file_is_not_taken_for_an_export(tmp_path: Path) -> None:
    p = tmp_path / "plain.csv"
    p.write_text("buurt;SC1;_id\nA;4;1\n", encoding="utf-8")
    read = ce.read_responses(p)
    assert "form_export" not in read.attrs and "date" not in read.columns


def test_two_columns_for_one_item_are_not_guessed() -> None:
    raw = pd.DataFrame({"c": ["A", "A"], "g1/SC1": [4, 5], "g2/SC1": [3, 3], "items/SC2": [4, 4]})
    with pytest.raises(ce.ResponseValidationError, match="SC1"):
        ce.validate(raw, "sampson1997", community="c", items=["SC1", "SC2"])
    v = ce.validate(raw, "sampson1997", community="c", items=["SC2"])
    assert v.report.column_map == {"items/SC2": "SC2"}


def test_question_labels_as_headers_are_recognised() -> None:
    inst = ce.load_instrument("sampson1997")
    raw = pd.DataFrame({"c": ["A", "B"], inst.item("SC1").text["nl"]: ["Mee eens", "Weet niet"]})
    v = ce.validate(raw, inst, community="c", items=["SC1"])
    assert v.report.column_map == {inst.item("SC1").text["nl"]: "SC1"}
    assert v.data["SC1"].tolist() == [4.0]  # "Weet niet" is missing: row B answered nothing
    assert v.report.excluded[0].reason == "no_items_answered"
