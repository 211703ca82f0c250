"""The report's words for a weighted evaluation (private), in English and Dutch.

When :attr:`Evaluation.design <collective_efficacy.Evaluation>` is set, the report says in one
sentence that the results are weighted (summary and "What was measured"), shows ``n`` beside
``n_eff`` in the community table, describes the overall change as the weighted ``svyglm``
estimate, and its methods appendix names the estimators (see :mod:`collective_efficacy.evaluation._weights`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collective_efficacy.report._format import num, pval

if TYPE_CHECKING:
    from collective_efficacy.evaluation import Evaluation

__all__ = ["WEIGHT_HEAD", "WEIGHT_REFERENCES", "WEIGHT_TEXT", "design_words", "weighted"]

WEIGHT_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "weighted": "Results are weighted: the community scores, the change per community and "
        "the overall change use the survey weights ({design}), with design-based standard "
        "errors; n is the number of respondents and n_eff the effective number the weights "
        "leave; reliability, agreement and the ICC describe the respondents unweighted, and the "
        "multilevel change model is not used (it does not take survey weights).",
        "design_weight": "weight column '{col}'",
        "design_strata": "strata '{col}'",
        "design_cluster": "clusters '{col}'",
        "design_fpc": "finite population correction '{col}'",
        "design_none": "equal weights",
        "overall_text": "Across the communities shown the weighted score changed by {d} points "
        "({c}% CI {lo} to {hi}; p {p}). This is the difference of the weighted means of the "
        "two waves, svyglm(score ~ wave) with a design-based (Taylor linearisation) standard "
        "error, over every respondent of the communities shown in each wave; suppressed "
        "communities are left out, so that no figure gives them away.",
        "sum_overall": "{on}, the weighted average score went from {before} at baseline to "
        "{after} at the end of the cycle, a change of {d} points ({c}% CI {lo} to {hi}): "
        "{verdict}.",
        "rule_tail": "The z-test per community with {adj}-adjusted p-values is in results.json.",
        "methods": "Weighted estimates: a community score is the weighted mean of its "
        "respondents (a domain mean) with a Taylor-linearisation standard error, as R's "
        "survey::svyby(~score, ~community, design, svymean); the change per community is the "
        "difference of the two waves' weighted means, its standard error the root of the sum "
        "of their squared standard errors (independent samples), with a normal interval and "
        "z-test; the overall change is the wave coefficient of svyglm(score ~ wave, design), "
        "with t on the design's degrees of freedom. Each wave is a separate sample (its strata "
        "within the wave); the design is that of the respondents of the communities shown. "
        "n_eff = (sum of weights)² / sum of squared weights (Kish). A stratum with one PSU: "
        "rule '{lonely}' (as survey's options(survey.lonely.psu)). Suppression counts "
        "respondents, not weights.",
    },
    "nl": {
        "weighted": "De resultaten zijn gewogen: de buurtscores, de verandering per buurt en de "
        "totale verandering gebruiken de weegfactoren ({design}), met standaardfouten die het "
        "steekproefontwerp volgen; n is het aantal respondenten en n_eff het effectieve aantal "
        "dat de weging overlaat; betrouwbaarheid, overeenstemming en de ICC beschrijven de "
        "respondenten ongewogen, en het multilevelmodel voor verandering wordt niet gebruikt "
        "(het neemt geen weegfactoren).",
        "design_weight": "weegfactor in kolom '{col}'",
        "design_strata": "strata '{col}'",
        "design_cluster": "clusters '{col}'",
        "design_fpc": "eindigepopulatiecorrectie '{col}'",
        "design_none": "gelijke gewichten",
        "overall_text": "Over de getoonde buurten veranderde de gewogen score met {d} punten "
        "({c}%-BI {lo} tot {hi}; p {p}). Dit is het verschil tussen de gewogen gemiddelden van "
        "de twee metingen, svyglm(score ~ wave) met een standaardfout volgens het "
        "steekproefontwerp (Taylor-linearisatie), over alle respondenten van de buurten die in "
        "een meting getoond worden; onderdrukte buurten tellen niet mee, zodat geen cijfer ze "
        "verraadt.",
        "sum_overall": "{on} ging de gewogen gemiddelde score van {before} bij de nulmeting "
        "naar {after} bij de eindmeting, een verandering van {d} punten ({c}%-BI {lo} tot "
        "{hi}): {verdict}.",
        "rule_tail": "De z-toets per buurt met {adj}-gecorrigeerde p-waarden staat in "
        "results.json.",
        "methods": "Gewogen schattingen: een buurtscore is het gewogen gemiddelde van haar "
        "respondenten (een domeingemiddelde) met een standaardfout door Taylor-linearisatie, "
        "zoals R's survey::svyby(~score, ~community, design, svymean); de verandering per buurt "
        "is het verschil tussen de gewogen gemiddelden van de twee metingen, met als "
        "standaardfout de wortel uit de som van hun gekwadrateerde standaardfouten "
        "(onafhankelijke steekproeven), een normaal interval en een z-toets; de totale "
        "verandering is de coëfficiënt van de meting in svyglm(score ~ wave, design), met t op "
        "de vrijheidsgraden van het ontwerp. Elke meting is een eigen steekproef (haar strata "
        "binnen de meting); het ontwerp is dat van de respondenten van de getoonde buurten. "
        "n_eff = (som van de gewichten)² / som van de gekwadrateerde gewichten (Kish). Een "
        "stratum met één PSU: regel '{lonely}' (als options(survey.lonely.psu) van survey). "
        "Onderdrukking telt respondenten, geen gewichten.",
    },
}

WEIGHT_HEAD: dict[str, dict[str, str]] = {
    "en": {"n_eff": "n_eff (weighted)"},
    "nl": {"n_eff": "n_eff (gewogen)"},
}

WEIGHT_REFERENCES = [
    "Kish, L. (1965). Survey Sampling. New York: Wiley.",
    "Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Hoboken: Wiley.",
]


def weighted(ev: Evaluation) -> bool:
    """Whether the evaluation is weighted (``Evaluation.design`` set)."""
    return ev.design is not None


def _w(t: dict[str, str]) -> dict[str, str]:
    return WEIGHT_TEXT.get(t["lang"], WEIGHT_TEXT["en"])


def design_words(ev: Evaluation, t: dict[str, str]) -> str:
    """The one sentence that says the results are weighted, naming the design's columns."""
    w, d = _w(t), ev.design or {}
    parts = [w[f"design_{k}"].format(col=d[k]) for k in ("weight", "strata", "cluster", "fpc")
             if d.get(k) is not None]  # fmt: skip
    return w["weighted"].format(design=", ".join(parts) or w["design_none"])


def overall_text(ev: Evaluation, t: dict[str, str], o: dict[str, Any]) -> str:
    """The overall change of a weighted evaluation (svyglm; no standardised effect size)."""
    p = o.get("p")
    return _w(t)["overall_text"].format(
        d=num(t, o["diff"]),
        lo=num(t, o.get("ci_low")),
        hi=num(t, o.get("ci_high")),
        c=round(100 * ev.confidence),
        p=pval(t, p) if isinstance(p, float) and p < 0.001 else f"= {num(t, p, 3)}",
    )


def summary_key(t: dict[str, str]) -> str:
    """The template of the summary's overall sentence under weights."""
    return _w(t)["sum_overall"]


def rule_tail(t: dict[str, str], adj: str) -> str:
    """The last sentence of the verdict rule under weights (z-test, not Welch)."""
    return _w(t)["rule_tail"].format(adj=adj)


def methods_text(ev: Evaluation, t: dict[str, str]) -> str:
    """The methods appendix's paragraph on the estimators under weights."""
    return _w(t)["methods"].format(lonely=(ev.design or {}).get("lonely_psu", "fail"))
