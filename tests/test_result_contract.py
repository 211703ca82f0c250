"""Result contract fixes of issue 17 (CONVENTIONS.md, "Results").

* an empty note or reason is missing (None), never "";
* ``reversed_suspect`` is a bool in cronbach_alpha and item_statistics;
* read_response_file carries the reading notes as documented fields, not in ``df.attrs``
  (read_responses keeps its attrs until 2.0);
* the mixed-model results say ``community`` and ``scale_range`` (schema 2.0) and still read
  the JSON of schema 1.0; they have the four doors (summary, communities, to_frame, to_json).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.multilevel._models import EcometricResult, RandomInterceptResult


def _waves(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "community": np.repeat(["A", "B", "C"], [24, 24, 6]),
            "wave": np.r_[
                np.tile(np.repeat(["baseline", "end_of_cycle"], 12), 2), ["baseline"] * 6
            ],
            "score": rng.normal(3, 0.5, 54),
        }
    )


def test_change_reasons_are_missing_not_empty_text() -> None:
    res = ce.compare_waves(_waves(), dv="score", min_n=5).set_index("community")
    assert res.loc[["A", "B", "overall"], "reason"].isna().all()
    assert res.loc["C", "reason"] == "no respondents in the after wave"
    eb = ce.compare_waves_eb(_waves(), dv="score", min_n=5).set_index("community")
    assert eb.loc[["A", "B"], "reason"].isna().all()
    boot = ce.bootstrap_change(_waves(), dv="score", min_n=5, n_boot=200, seed=1)
    assert boot.set_index("community").loc[["A", "B"], "reason"].isna().all()


def test_paired_change_notes_are_missing_not_empty_text() -> None:
    res = ce.paired_change([3.0, 2.5, 3.5, 2.0, 3.0, 2.8], [3.5, 3.0, 3.6, 2.9, 3.1, 3.4])
    notes = res.set_index("measure")["note"]
    assert notes.drop("pseudo_median").isna().all()  # the Wilcoxon row notes its ties
    assert notes["pseudo_median"].startswith("ties or zero differences")


def test_impact_reasons_and_notes_are_missing_not_empty_text() -> None:
    coh = pd.DataFrame(
        {"community": ["A", "B"], "mean": [3.2, 2.1], "ci_low": [3.0, 1.9],
         "ci_high": [3.4, 2.3], "n": [20, 20]}
    )  # fmt: skip
    ass = pd.DataFrame({"community": ["A", "B"], "partner_cooperation": [3, 2],
                        "group_development": [4, 1]})  # fmt: skip
    lv = ce.impact_levels(coh, assessments=ass)
    assert lv["reason"].isna().all()
    ch = ce.impact_change(lv, lv)
    assert ch["note"].isna().all()


def test_reversed_suspect_is_a_bool_in_alpha_and_item_statistics() -> None:
    rng = np.random.default_rng(2)
    latent = rng.normal(0, 1, 80)
    df = pd.DataFrame({f"X{i}": latent + rng.normal(0, 0.8, 80) for i in range(4)})
    df["X3"] = -df["X3"]  # reverse worded, not keyed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ce.errors.ReliabilityWarning)
        alpha = ce.cronbach_alpha(df)
        stats = ce.item_statistics(df)
    assert alpha["reversed_suspect"].dtype == bool == stats["reversed_suspect"].dtype
    assert bool(alpha["reversed_suspect"].iloc[0]) and alpha["suspect_items"].iloc[0] == "X3"
    keyed = ce.cronbach_alpha(df, keys=["-X3"])
    assert not keyed["reversed_suspect"].iloc[0] and keyed["suspect_items"].iloc[0] is None


def _cp1252_file(tmp_path: Path) -> Path:
    p = tmp_path / "wave.csv"
    p.write_bytes("buurt;SC1;naam\n0101;4;Jos\xe9\n0102;5;Ren\xe9e\n".encode("cp1252"))
    return p


def test_read_response_file_carries_notes_as_fields(tmp_path: Path) -> None:
    p = _cp1252_file(tmp_path)
    f = ce.read_response_file(p)
    assert isinstance(f, ce.ResponseFile)
    assert f.data.attrs == {}
    assert f.source == "wave.csv"
    assert any("cp1252" in n for n in f.notes) and f.messages
    assert f.data["naam"].tolist() == ["José", "Renée"]
    # the 1.x form: the same table, the same metadata in attrs (deprecated, removed in 2.0)
    old = ce.read_responses(p)
    pd.testing.assert_frame_equal(old, f.data)
    assert old.attrs["source"] == f.source and old.attrs["reading_notes"] == f.notes
    assert old.attrs["reading_messages"] == f.messages


def test_validate_takes_a_response_file_like_the_old_frame(tmp_path: Path) -> None:
    p = tmp_path / "wave.csv"
    p.write_text("buurt;SC1;SC2\nA;4;3\nA;9;2\nB;5;5\n", encoding="utf-8")
    new = ce.validate(ce.read_response_file(p), "sampson1997", community="buurt",
                      items=["SC1", "SC2"], errors="exclude")  # fmt: skip
    old = ce.validate(ce.read_responses(p), "sampson1997", community="buurt",
                      items=["SC1", "SC2"], errors="exclude")  # fmt: skip
    pd.testing.assert_frame_equal(new.data, old.data)
    assert new.report.source == old.report.source == "wave.csv"
    assert new.report.first_row == old.report.first_row == 2  # file rows: header + 1


def _eco() -> EcometricResult:
    rng = np.random.default_rng(3)
    nc = np.repeat(np.arange(8), 6)
    t = rng.normal(0, 0.5, 8)[nc] + rng.normal(0, 0.7, nc.size)
    df = pd.DataFrame({f"I{i}": np.clip(np.rint(3 + t + rng.normal(0, 0.8, nc.size)), 1, 5)
                       for i in range(3)} | {"nc": nc.astype(str)})  # fmt: skip
    return ce.ecometric(df, items=["I0", "I1", "I2"], community="nc")


def test_mixed_results_use_the_contract_vocabulary() -> None:
    eco = _eco()
    assert eco.community == "nc" and eco.scale_range == (1.0, 5.0)
    doc = json.loads(eco.to_json())
    assert {"community", "scale_range"} <= set(doc) and not {"group", "scale_min"} & set(doc)
    with pytest.warns(FutureWarning, match=r"result.group is deprecated .* result.community"):
        assert eco.group == "nc"
    with pytest.warns(FutureWarning, match=r"scale_range\[0\]"):
        assert eco.scale_min == 1.0
    # JSON written under schema 1.0 (group, scale_min, scale_max) still loads
    doc_10 = dict(doc)
    doc_10["group"] = doc_10.pop("community")
    lo, hi = doc_10.pop("scale_range")
    doc_10 |= {"scale_min": lo, "scale_max": hi, "schema_version": "1.0"}
    back = EcometricResult.model_validate_json(json.dumps(doc_10))
    assert back.community == "nc" and back.scale_range == (1.0, 5.0)


def test_mixed_results_have_the_four_doors() -> None:
    eco = _eco()
    pd.testing.assert_frame_equal(eco.communities, eco.to_frame())
    pd.testing.assert_frame_equal(eco.communities, eco.groups)
    s = eco.summary()
    assert list(s.columns) == ["kind", "term", "estimate", "se"]
    assert list(s["term"]) == ["I0", "I1", "I2", "tau_beta", "tau_pi", "sigma2",
                               "intra_neighbourhood_correlation"]  # fmt: skip
    assert s.loc[0, "estimate"] == eco.item_effects[0].estimate
    df = pd.DataFrame({"nc": np.repeat(list("ABCDEF"), 6),
                       "y": np.random.default_rng(4).normal(size=36)})  # fmt: skip
    ri = ce.random_intercept(df, dv="y", community="nc")
    assert isinstance(ri, RandomInterceptResult) and ri.community == "nc"
    rs = ri.summary().set_index("term")
    assert rs.loc["(Intercept)", "estimate"] == ri.fixed.estimate
    assert rs.loc["tau2", "estimate"] == ri.variance_components.tau2
