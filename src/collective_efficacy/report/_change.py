"""The change sections of the report: the overall change, the programme effect, the change model
and the verdict per community."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collective_efficacy.change._verdict import change_verdicts, count_verdicts, model_verdicts
from collective_efficacy.report._format import Block, Span, Verdict, bound, chance, name, num, pval
from collective_efficacy.report._weights import overall_text, rule_tail, weighted

if TYPE_CHECKING:
    from collective_efficacy.evaluation import Evaluation


__all__ = ["community_verdicts", "towards"]


def community_verdicts(ev: Evaluation) -> list[dict[str, Any]]:
    """The per-community change rows with the drawn interval and the verdict (the one rule).

    The change model's empirical-Bayes intervals when the evaluation has them; otherwise (the
    model could not be used, see ``notes["change_model"]``) the simultaneous intervals of the
    raw differences.
    """
    if ev.sections.get("change_model"):
        return model_verdicts(ev.sections["change_model"])
    return change_verdicts(ev.sections.get("change", []), ci=ev.confidence, p_adjust=ev.p_adjust)


def _size(g: float | None, t: dict[str, str]) -> str:
    """Cohen's (1988) verbal bands for a standardised difference."""
    if g is None:
        return ""
    a = abs(g)
    key = "negligible" if a < 0.2 else "small" if a < 0.5 else "medium" if a < 0.8 else "large"
    return t[key]


def _why(r: dict[str, Any], ev: Evaluation, t: dict[str, str]) -> str:
    """Why a community's change is not shown: not measured in a wave, or too few respondents."""
    reason = str(r.get("reason") or "")
    if reason.startswith("no respondents"):
        return t["absent"]
    if reason.startswith("secondary"):
        return t["secondary"]
    return t["suppressed"].format(n=ev.min_n)


# The marker of each verdict, as drawn in the forest plot (filled triangles, open circle).
VERDICT_MARK = {"improved": "▲", "declined": "▼", "no_change": "○"}


def _overall_row(ev: Evaluation) -> dict[str, Any] | None:
    rows = [r for r in ev.sections.get("change", []) if r.get("level") == "overall"]
    return rows[0] if rows and rows[0].get("diff") is not None else None


def _did_row(ev: Evaluation) -> dict[str, Any] | None:
    """The change model's ``programme:change`` row (comparison communities given), or None."""
    rows = [r for r in ev.sections.get("change_model_fixed", []) if r["term"] == "programme:change"]
    return rows[0] if rows and rows[0].get("estimate") is not None else None


def _did_text(ev: Evaluation, t: dict[str, str], key: str) -> str | None:
    """``did_text`` (the section) or ``sum_did`` (the summary) for the programme effect."""
    r = _did_row(ev)
    if r is None:
        return None
    lo, hi = r.get("ci_low"), r.get("ci_high")
    verdict = "did_up" if (lo or 0) > 0 else "did_down" if (hi or 0) < 0 else "did_flat"
    p = r.get("p")
    return t[key].format(
        d=num(t, abs(r["estimate"])),
        more=t["did_more" if r["estimate"] >= 0 else "did_less"],
        lo=num(t, lo),
        hi=num(t, hi),
        c=round(100 * ev.confidence),
        p=pval(t, p) if isinstance(p, float) and p < 0.001 else f"= {num(t, p, 3)}",
        verdict=t[verdict],
    )


def towards(ev: Evaluation, t: dict[str, str]) -> str:
    """What an EB change is pulled towards: its own group's change with comparison communities."""
    return t["towards_group" if _did_row(ev) is not None else "towards_all"]


def _programme_effect(ev: Evaluation, t: dict[str, str]) -> list[Block]:
    """The difference-in-differences effect, in plain words with what it cannot rule out."""
    text = _did_text(ev, t, "did_text")
    if text is None:
        return []
    return [("h3", t["did"]), ("p", text), ("p", t["did_caveat"])]


def _overall(ev: Evaluation, t: dict[str, str]) -> list[Block]:
    o = _overall_row(ev)
    if o is None:
        return []
    did = _programme_effect(ev, t)
    p = o.get("p")
    if weighted(ev):
        return [("h2", t["overall"]), ("p", overall_text(ev, t, o))]
    text = t["overall_text"].format(
        d=num(t, o["diff"]),
        lo=num(t, o.get("ci_low")),
        hi=num(t, o.get("ci_high")),
        size=_size(o.get("g"), t),
        g=num(t, o.get("g")),
        c=round(100 * ev.confidence),
        p=pval(t, p) if isinstance(p, float) and p < 0.001 else f"= {num(t, p, 3)}",
    )
    if did:
        return [("h2", t["overall"]), *did, ("h3", t["overall_all"]), ("p", text)]
    return [("h2", t["overall"]), ("p", text)]


# The p-value adjustments of compare_waves by the names of their authors.
ADJUST_NAMES = {
    "holm": "Holm",
    "hochberg": "Hochberg",
    "BH": "Benjamini-Hochberg",
    "fdr": "Benjamini-Hochberg",
    "BY": "Benjamini-Yekutieli",
    "bonferroni": "Bonferroni",
}


def _rule(ev: Evaluation, t: dict[str, str], m: int, k: int) -> str:
    """The verdict rule in words, with the intervals it uses (``k`` communities judged)."""
    c = round(100 * ev.confidence)
    adj = ADJUST_NAMES.get(ev.p_adjust, ev.p_adjust)
    if m <= 1:
        plain = t["rule_plain"].format(c=c)
        return plain + " " + t["rule_uncorrected"] if k > 1 else plain
    level = 100 * (1 - (1 - ev.confidence) / m)
    text = t["rule_sim"].format(
        c=c, m=m, lvl=num(t, level, 2), alpha=num(t, 1 - ev.confidence), adj=adj
    )
    if weighted(ev):  # the last sentence names the Welch test: the weighted one is a z-test
        text = text[: text.rfind(". ", 0, text.rfind("results.json")) + 1] + " "
        text += rule_tail(t, adj)
    return text


def _unjudged(r: dict[str, Any], ev: Evaluation, t: dict[str, str], width: int) -> list[Any]:
    """The row of a community without a verdict: name, n per wave and why (spanning the rest)."""
    return [name(r, ev), r.get("n_before"), r.get("n_after"), Span(_why(r, ev, t), width - 3)]


def _band_verdict(
    r: dict[str, Any], t: dict[str, str], cells: dict[str, Verdict] | None = None
) -> tuple[str, Verdict]:
    """The drawn interval's text and the verdict cell (the plot's marker and the word).

    ``cells``, shared by the rows of one table, holds one (read-only) cell per verdict.
    """
    band = t["interval"].format(lo=bound(t, r["shown_low"]), hi=bound(t, r["shown_high"]))
    code = r["verdict"]
    cell = None if cells is None else cells.get(code)
    if cell is None:
        cell = Verdict(f"{VERDICT_MARK[code]} {t[code]}", code)
        if cells is not None:
            cells[code] = cell
    return band, cell


def _model_table(ev: Evaluation, t: dict[str, str], h: dict[str, str], per: list[Any]) -> Block:
    """The per-community table of the change model: EB change, interval, chance, reliability."""
    keys = ["community", "n_before", "n_after", "raw_change", "eb_change", "interval"]
    keys += ["p_improved", "reliability", "verdict"]
    body = []
    cells: dict[str, Verdict] = {}
    for r in per:
        if r["verdict"] is None:
            body.append(_unjudged(r, ev, t, len(keys)))
            continue
        band, verdict = _band_verdict(r, t, cells)
        body.append(
            [
                name(r, ev),
                r.get("n_before"),
                r.get("n_after"),
                r.get("diff"),
                r.get("estimate"),
                band,
                chance(t, r["p_improved"]),
                r.get("reliability"),
                verdict,
            ]
        )
    return ("table", ([h[k] for k in keys], body))  # the central table: never folded


def _change(
    ev: Evaluation, t: dict[str, str], h: dict[str, str], per: list[dict[str, Any]]
) -> list[Block]:
    """The change per community; ``per`` is :func:`community_verdicts` of ``ev``."""
    if not ev.sections.get("change") and not ev.sections.get("change_model"):
        return []
    n = count_verdicts(per)
    m = per[0]["family"] if per else 1
    k = n["improved"] + n["declined"] + n["no_change"]
    b: list[Block] = [("h2", t["change"])]
    text = t["change_text"].format(
        up=n["improved"], down=n["declined"], k=k, s=n["not_shown"], min_n=ev.min_n
    )
    b.append(("p", text))
    model = bool(per) and per[0]["rule"] == "model"
    if not model and "change_model" in ev.notes:
        msg = ev.note_messages.get("change_model")
        reason = msg.render(t["lang"]) if msg is not None else ev.notes["change_model"]
        b.append(("warn", t["rule_fallback"].format(why=reason)))
    if k:
        b.append(
            (
                "p",
                t["rule_model"].format(c=round(100 * ev.confidence), towards=towards(ev, t))
                if model
                else _rule(ev, t, m, k),
            )
        )
    if model:
        return [*b, _model_table(ev, t, h, per), ("forest", per)]
    keys = ["community", "n_before", "n_after", "mean_before", "mean_after", "diff"]
    keys += ["interval", "p_bonf" if m > 1 else "p", "g", "verdict"]
    if weighted(ev):  # no standardised effect size under weights
        keys.remove("g")
    body = []
    cells: dict[str, Verdict] = {}
    for r in per:
        if r["verdict"] is None:
            body.append(_unjudged(r, ev, t, len(keys)))
            continue
        vals = [r.get(k) for k in ("n_before", "n_after", "mean_before", "mean_after", "diff")]
        band, verdict = _band_verdict(r, t, cells)
        g = [] if weighted(ev) else [r.get("g")]
        body.append([name(r, ev), *vals, band, pval(t, r.get("shown_p")), *g, verdict])
    b.append(("table", ([h[k] for k in keys], body)))  # the central table: never folded
    b.append(("forest", per))
    return b
