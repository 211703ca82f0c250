"""The message catalogue (private): every keyed message a reader sees, in English and Dutch.

Results carry a message as a code with parameters (:class:`Message`); the text is made at the
output boundary (the report, the command line) in the output's language by :func:`message`.
The report's own wording (headings, sentences, column heads) is the other half of the catalogue,
in :mod:`collective_efficacy.report._text`; the tests check that both halves have every
key in both languages with the same placeholders.

Exceptions raised to Python callers stay in English; anything the report or the command line
shows with ``--lang nl`` comes from here.

Examples
--------
>>> message("problem_empty_column", "nl", column="q3", n=120)
"kolom 'q3': helemaal geen antwoorden, een vraag die niemand beantwoordde (aantal: 120)"
>>> Note("communities_in_one_wave", n=1).message.render("nl")[:29]
'1 buurt is maar in één meting'
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LANGS", "MESSAGES", "Message", "Note", "message", "note_messages", "problem_message"]

LANGS = ("en", "nl")

# A key ending in "_one" is the singular of the key without it (used when n == 1).
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        # names used inside messages
        "wave_baseline": "baseline",
        "wave_end_of_cycle": "end of cycle",
        "rows": "rows",
        "column": "column '{column}'",
        # validation problems (ValidationReport.problems, by code)
        "problem_out_of_range": "{where}: answers outside the instrument's codes (number: {n})",
        "problem_unknown_label": "{where}: answer labels that are not the instrument's "
        "(number: {n})",
        "problem_empty_column": "{where}: no answers at all, an item nobody answered (number: {n})",
        "problem_unknown_item": "{where}: mapped to an item the instrument does not have",
        "problem_absent_column": "{where}: column not found in the file",
        "problem_ambiguous_column": "{where}: two columns for one item, or one column for two "
        "items, in the column map",
        "problem_missing_community": "{where}: rows without a community (number: {n})",
        "problem_missing_respondent": "{where}: rows without a respondent id (number: {n})",
        "problem_duplicate_respondent": "{where}: respondent ids that occur more than once; the "
        "first row is kept (number: {n})",
        "problem_unknown_wave": "{where}: rows with an unknown wave label (number: {n})",
        "problem_invalid_weight": "{where}: rows whose survey weight is missing, not a number, "
        "zero or negative (number: {n})",
        "problem_mixed_id_types": "{where}: ids mixing numbers and text (number: {n})",
        "problem_probable_duplicate_community": "{where}: community labels that differ only in "
        "upper/lower case, kept apart (number: {n})",
        "problem_unusable_cells": "{where}: cells holding a list or other unusable value "
        "(number: {n})",
        "problem_value_labels_mismatch": "{where}: the file's value labels do not match the "
        "instrument's answer codes (a reversed scale?)",
        "problem_other": "{where}: problem '{code}' (number: {n})",
        # notes (Evaluation.notes, WaveSummary.notes), by code
        "communities_in_one_wave": "{n} communities are measured in one wave only; no change "
        "can be computed for them (listed with n = 0 in the other wave).",
        "communities_in_one_wave_one": "{n} community is measured in one wave only; no change "
        "can be computed for it (listed with n = 0 in the other wave).",
        "no_scores": "No respondent of the {wave} data answered enough items of scale '{scale}' "
        "to be scored (the scale's minimum of answered items): this wave has no scores.",
        "items_without_answers": "item(s) {items} have no answers in this wave; rwg(j) and AD "
        "use the other {k} items (listwise over those)",
        "items_no_answers": "not computed: item(s) {items} have no answers in the rows used "
        "(at least 2 answers per item are needed)",
        "map_missing_shapes": "{n} communities have no shape in the geometry and are not on "
        "the maps: {names}",
        "map_missing_shapes_one": "{n} community has no shape in the geometry and is not on "
        "the maps: {names}",
        "nothing_shown": "not published: no community of this wave has enough respondents to "
        "be shown (fewer than min_n respondents each)",
        "read_cp1252": "file '{file}' is not UTF-8; it was read as Windows-1252 (cp1252, which "
        "includes the latin-1 letters such as é and ë). If letters look wrong, pass the file's "
        "encoding (encoding= in Python, --encoding on the command line).",
        "read_first_sheet": "file '{file}' has {k} sheets; the first, '{sheet}', was read",
        # notes whose text comes from a statistic's error or warning (English, in results.json)
        "note_failed": "{section}: not computed: {detail}",
        "note_warned": "{section}: warning: {detail}",
        "note_failed_nl": "{section}: not computed",
        "note_warned_nl": "{section}: the computation gave a warning",
        # report sections, as named in notes
        "section_reliability": "reliability",
        "section_item_statistics": "item statistics",
        "section_omega": "omega",
        "section_aggregation": "ICC",
        "section_agreement": "agreement (rwg(j), AD)",
        "section_ecometric": "ecometric model",
        "section_change": "change",
        # the change model in evaluate (notes, by code)
        "change_model_too_few": "fewer than {k} communities were measured in both waves: too "
        "few to estimate how much communities differ in their change",
        "change_model_failed": "the change model could not be fitted: {detail}",
        "change_model_weighted": "the results are weighted, and multilevel models do not take "
        "survey weights (they need weights per level); the verdicts use the weighted change "
        "per community instead",
        "change_model_not_converged": "no verified optimum (the fit did not converge)",
        "change_model_respondent": "the change model with a respondent term could not be fitted "
        "({detail}); it is fitted without it, as if every answer came from a different resident",
        "change_model_respondent_few": "too few residents answered in both waves to tell "
        "residents apart from chance (a partial panel with few repeat respondents); the change "
        "model is fitted without the respondent term, as if every answer came from a different "
        "resident",
        "change_model_comparison": "the communities shown are all programme or all comparison "
        "communities: no programme effect can be estimated from them",
        "section_change_model": "change model",
        "section_change_model_respondent": "change model",
        "section_change_model_comparison": "change model",
        "section_impact": "impact level",
        "section_impact_change": "change of the impact level",
        "section_map": "map",
        "section_communities_in_one_wave": "communities",
        "section_no_scores": "scores",
        "section_other": "{key}",
        # command line (evaluate)
        "cli_wave": "{wave}: {n_in} rows in, {n_used} used, {n_excluded} excluded",
        "cli_wave_withheld": "{wave}: {n_excluded} excluded (rows used not published: privacy)",
        "cli_wrote": "wrote {files}",
        "cli_removed": "removed {file} (from an earlier run; this run does not write it)",
        "cli_error": "error: {text}",
        "cli_warning": "warning: {text}",
        "cli_interrupted": "error: interrupted",
        "cli_english": "",
        "cli_is_folder": "{what} {path}: is a folder; expected a file",
        "cli_no_such_file": "{what} {path}: no such file",
        "cli_hint_columns": "If the file names its columns differently, map them to the items "
        "with --columns FILE (a JSON map), or per file with --columns-baseline and --columns-end.",
        "cli_item_scales": "scales: {scales}; keying: {keying}",
        "cli_item_answers": "answers ({scale}): {codes}",
        "cli_item_missing": "missing codes: {codes}",
        "cli_keying_forward": "forward",
        "cli_keying_reverse": "reverse",
        "cli_two_files": "give two files, BASELINE and END, or --example",
        "cli_community_required": "--community is required: the column that names each "
        "respondent's community (for example --community buurt; --community-baseline and "
        "--community-end when the two files name it differently)",
        "cli_same_column": "--respondent and {option} name the same column '{column}'",
    },
    "nl": {
        "wave_baseline": "nulmeting",
        "wave_end_of_cycle": "eindmeting",
        "rows": "rijen",
        "column": "kolom '{column}'",
        "problem_out_of_range": "{where}: antwoorden buiten de codes van het instrument "
        "(aantal: {n})",
        "problem_unknown_label": "{where}: antwoordlabels die niet van het instrument zijn "
        "(aantal: {n})",
        "problem_empty_column": "{where}: helemaal geen antwoorden, een vraag die niemand "
        "beantwoordde (aantal: {n})",
        "problem_unknown_item": "{where}: gekoppeld aan een vraag die het instrument niet kent",
        "problem_absent_column": "{where}: kolom niet gevonden in het bestand",
        "problem_ambiguous_column": "{where}: twee kolommen voor één vraag, of één kolom voor "
        "twee vragen, in de kolomkoppeling",
        "problem_missing_community": "{where}: rijen zonder buurt (aantal: {n})",
        "problem_missing_respondent": "{where}: rijen zonder respondentnummer (aantal: {n})",
        "problem_duplicate_respondent": "{where}: respondentnummers die vaker voorkomen; de "
        "eerste rij telt (aantal: {n})",
        "problem_unknown_wave": "{where}: rijen met een onbekende meting (aantal: {n})",
        "problem_invalid_weight": "{where}: rijen waarvan het weegfactor ontbreekt, geen getal, "
        "nul of negatief is (aantal: {n})",
        "problem_mixed_id_types": "{where}: nummers die getallen en tekst mengen (aantal: {n})",
        "problem_probable_duplicate_community": "{where}: buurtnamen die alleen in hoofd- en "
        "kleine letters verschillen, apart gehouden (aantal: {n})",
        "problem_unusable_cells": "{where}: cellen met een lijst of een andere onbruikbare "
        "waarde (aantal: {n})",
        "problem_value_labels_mismatch": "{where}: de waardelabels in het bestand passen niet bij "
        "de antwoordcodes van het instrument (een omgekeerde schaal?)",
        "problem_other": "{where}: probleem '{code}' (aantal: {n})",
        "communities_in_one_wave": "{n} buurten zijn maar in één meting gemeten; voor die "
        "buurten is geen verandering te berekenen (in de andere meting staan ze met n = 0).",
        "communities_in_one_wave_one": "{n} buurt is maar in één meting gemeten; voor die buurt "
        "is geen verandering te berekenen (in de andere meting staat ze met n = 0).",
        "no_scores": "Geen enkele respondent van de {wave} beantwoordde genoeg vragen van schaal "
        "'{scale}' voor een score (het minimum aantal beantwoorde vragen van de schaal): deze "
        "meting heeft geen scores.",
        "items_without_answers": "vraag/vragen {items} hebben in deze meting geen antwoorden; "
        "rwg(j) en AD gebruiken de andere {k} vragen (alleen rijen met al die vragen)",
        "items_no_answers": "niet berekend: vraag/vragen {items} hebben geen antwoorden in de "
        "gebruikte rijen (per vraag zijn minstens 2 antwoorden nodig)",
        "map_missing_shapes": "{n} buurten hebben geen vorm in de geografische gegevens en "
        "staan niet op de kaarten: {names}",
        "map_missing_shapes_one": "{n} buurt heeft geen vorm in de geografische gegevens en "
        "staat niet op de kaarten: {names}",
        "nothing_shown": "niet gepubliceerd: geen enkele buurt heeft in deze meting genoeg "
        "respondenten om getoond te worden (elk minder dan de minimumgrootte)",
        "read_cp1252": "bestand '{file}' is geen UTF-8; het is gelezen als Windows-1252 "
        "(cp1252, met de latin-1-letters zoals é en ë). Zien letters er verkeerd uit, geef dan "
        "de codering van het bestand op (encoding= in Python, --encoding op de opdrachtregel).",
        "read_first_sheet": "bestand '{file}' heeft {k} tabbladen; het eerste, '{sheet}', is "
        "gelezen",
        "note_failed": "{section}: niet berekend: {detail}",
        "note_warned": "{section}: waarschuwing: {detail}",
        "note_failed_nl": "{section}: niet berekend; de reden (in het Engels) staat in "
        "results.json onder 'notes'",
        "note_warned_nl": "{section}: de berekening gaf een waarschuwing; de tekst (in het "
        "Engels) staat in results.json onder 'notes'",
        "section_reliability": "betrouwbaarheid",
        "section_item_statistics": "vraagstatistieken",
        "section_omega": "omega",
        "section_aggregation": "ICC",
        "section_agreement": "overeenstemming (rwg(j), AD)",
        "section_ecometric": "ecometrisch model",
        "section_change": "verandering",
        # het model voor verandering in evaluate (notities, per code)
        "change_model_too_few": "minder dan {k} buurten zijn in beide metingen gemeten: te "
        "weinig om te schatten hoeveel buurten in hun verandering verschillen",
        "change_model_weighted": "de resultaten zijn gewogen, en multilevelmodellen nemen geen "
        "weegfactoren (die zijn per niveau nodig); de oordelen gebruiken daarom de gewogen "
        "verandering per buurt",
        "change_model_failed": "het model voor verandering kon niet worden geschat: {detail} "
        "(melding van de bibliotheek, in het Engels)",
        "change_model_not_converged": "geen gecontroleerd optimum (de schatting convergeerde niet)",
        "change_model_respondent": "het model met een term voor de respondent kon niet worden "
        "geschat ({detail}); het is zonder die term geschat, alsof elk antwoord van een andere "
        "bewoner kwam",
        "change_model_respondent_few": "te weinig bewoners antwoordden in beide metingen om "
        "bewoners van toeval te onderscheiden (een gedeeltelijk panel met weinig herhaalde "
        "respondenten); het model voor verandering is zonder de term voor de respondent "
        "geschat, alsof elk antwoord van een andere bewoner kwam",
        "change_model_comparison": "de getoonde buurten zijn allemaal programmabuurten of "
        "allemaal vergelijkingsbuurten: daaruit is geen effect van het programma te schatten",
        "section_change_model": "model voor verandering",
        "section_change_model_respondent": "model voor verandering",
        "section_change_model_comparison": "model voor verandering",
        "section_impact": "impactniveau",
        "section_impact_change": "verandering van het impactniveau",
        "section_map": "kaart",
        "section_communities_in_one_wave": "buurten",
        "section_no_scores": "scores",
        "section_other": "{key}",
        "cli_wave": "{wave}: {n_in} rijen gelezen, {n_used} gebruikt, {n_excluded} uitgesloten",
        "cli_wave_withheld": "{wave}: {n_excluded} uitgesloten (aantal gebruikte rijen niet "
        "gepubliceerd: privacy)",
        "cli_wrote": "geschreven: {files}",
        "cli_removed": "verwijderd: {file} (van een eerdere run; deze run schrijft het niet)",
        "cli_error": "fout: {text}",
        "cli_warning": "waarschuwing: {text}",
        "cli_interrupted": "fout: onderbroken",
        "cli_english": " (melding van de bibliotheek, in het Engels)",
        "cli_is_folder": "{what} {path}: is een map; verwacht een bestand",
        "cli_no_such_file": "{what} {path}: bestand bestaat niet",
        "cli_hint_columns": "Heeft het bestand andere kolomnamen, koppel ze dan aan de vragen met "
        "--columns BESTAND (een JSON-koppeling), of per bestand met --columns-baseline en "
        "--columns-end.",
        "cli_item_scales": "schalen: {scales}; richting: {keying}",
        "cli_item_answers": "antwoorden ({scale}): {codes}",
        "cli_item_missing": "codes voor ontbrekend: {codes}",
        "cli_keying_forward": "gewoon",
        "cli_keying_reverse": "omgekeerd",
        "cli_two_files": "geef twee bestanden, BASELINE en END, of --example",
        "cli_community_required": "--community is verplicht: de kolom met de buurt van elke "
        "respondent (bijvoorbeeld --community buurt; --community-baseline en --community-end "
        "als de twee bestanden die kolom anders noemen)",
        "cli_same_column": "--respondent en {option} noemen dezelfde kolom '{column}'",
    },
}

Param = str | int | float | None


class Message(BaseModel):
    """A message as a code with parameters; its text is made in the reader's language.

    A parameter named ``wave`` holding a wave code (``baseline``, ``end_of_cycle``) is shown
    as that wave's name in the language.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(description="key in the message catalogue")
    params: dict[str, Param] = Field(default_factory=dict)

    def render(self, lang: str = "en") -> str:
        """The text in ``lang`` ("en" or "nl"; anything else gives English)."""
        return message(self.code, lang, **self.params)


def message(code: str, lang: str = "en", /, **params: Any) -> str:
    """The catalogue text of ``code`` in ``lang`` with ``params`` filled in."""
    cat = MESSAGES.get(lang, MESSAGES["en"])
    if code.startswith("problem_"):
        col = params.get("column")
        params = {
            **params,
            "where": cat["rows"] if col is None else cat["column"].format(column=col),
        }
    if params.get("n") == 1 and f"{code}_one" in cat:
        code = f"{code}_one"
    if "wave" in params:
        params = {**params, "wave": cat.get(f"wave_{params['wave']}", params["wave"])}
    return cat[code].format(**params)


class Note(str):
    """A note's English text (what ``Evaluation.notes`` stores) that keeps its :class:`Message`.

    ``text`` overrides the English text where the library's wording has more detail than the
    catalogue (it is kept in results.json; the report renders the message).
    """

    message: Message

    def __new__(cls, code: str, text: str | None = None, **params: Param) -> Note:
        msg = Message(code=code, params=params)
        self = super().__new__(cls, msg.render("en") if text is None else text)
        self.message = msg
        return self

    def __reduce__(self) -> Any:  # copies (pandas attrs are deep-copied) keep the message
        return (_note, (self.message.code, str(self), self.message.params))


def _note(code: str, text: str, params: dict[str, Param]) -> Note:
    return Note(code, text, **params)


def problem_message(code: str, column: str | None, n: int) -> Message:
    """The message of a validation problem: its code, column and count (no rows or values)."""
    known = f"problem_{code}" in MESSAGES["en"]
    return Message(
        code=f"problem_{code}" if known else "problem_other",
        params={"column": column, "n": n, "code": code},
    )


def note_messages(notes: dict[str, str]) -> dict[str, Message]:
    """The messages of the notes that carry one (by note key)."""
    return {k: v.message for k, v in notes.items() if isinstance(v, Note)}
