"""The report's words in English and Dutch (private): headings, plain-language sentences, references.

Sentences are templates filled with already-computed numbers; thresholds used in the wording are
the conventional ones named in the methods pages (alpha 0.70, rwg(j) 0.70, Cohen's d bands).
"""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Collective efficacy: baseline versus end of cycle",
        "measured": "What was measured",
        "measured_text": "{title} ({id} v{version}), scale '{scale}'. Communities are identified "
        "by the column '{community}'. Communities with fewer than {min_n} respondents in a wave "
        "are not shown, to protect the privacy of residents.",
        "wave_n": "{wave}: {n} respondents used in {k} communities (file {file}).",
        "wave_n_withheld": "{wave}: {k} communities (file {file}); the number of respondents "
        "is not published, as it would reveal the size of a community with fewer than {min_n} "
        "respondents.",
        "withheld": "not published",
        "n_withheld": "a number not published (it would reveal a small community)",
        "dates": "Answers from {first} to {last}.",
        "dates_bad": "{n} answer date(s) could not be read.",
        "quality": "Data quality",
        "quality_text": "Every row of each file is accounted for: used, or excluded for the "
        "reason shown.",
        "labels_merged": "{wave}: community labels written differently in the file were "
        "merged with the same label (extra spaces, Unicode form): {pairs}.",
        "reliability": "Scale reliability",
        "alpha_good": "{wave}: the questions measure one thing consistently "
        "(alpha {a}, {c}% CI {lo} to {hi}; omega {o}).",
        "alpha_weak": "{wave}: the questions hang together only weakly (alpha {a}, {c}% CI {lo} "
        "to {hi}; omega {o}); interpret the scores with care.",
        "items": "Items ({wave})",
        "reversed_warn": "{wave}: item {item} correlates negatively with the other items; check "
        "whether it should be reverse-coded.",
        "aggregation": "Do residents' answers describe their community?",
        "icc": "{wave}: {p}% of the differences between residents lie between communities "
        "(ICC(1) = {i1}); the reliability of a community mean is {i2} (ICC(2); 0.70 or more is "
        "usually taken as enough to compare communities).",
        "icc_none": "{wave}: practically none of the differences between residents lie between "
        "communities (ICC(1) = {i1}, at or below 0); community means cannot be told apart "
        "reliably here.",
        "absent": "not measured in this wave",
        "no_level_before": "no level at baseline (not shown or not measured)",
        "no_level_after": "no level at the end of the cycle (not shown or not measured)",
        "basis_changed": "one level with and one without assessment: not measured alike",
        "both_survey": "survey-only levels in both waves (capped at 2)",
        "secondary": "not shown, to protect a smaller community (secondary suppression)",
        "rwg": "{wave}: residents agree strongly within {s}% of the communities shown "
        "(rwg(j) of at least {t}; median {m}); median average deviation {ad}.",
        "ecometric": "{wave}: taking items, residents and communities into account (ecometric "
        "model), the reliability of a community score is {r} on average; {inc}% of the "
        "variance between residents lies between communities.",
        "overall": "Overall change",
        "overall_text": "Across the communities shown the score changed by {d} points ({c}% CI {lo} to "
        "{hi}), a {size} effect (standardised {g}; p {p}). This comes from a multilevel model "
        "(score ~ wave + (1 | community)) that uses every respondent of the communities shown in "
        "each wave; suppressed communities are left out, so that no figure gives them away.",
        "change": "Change per community",
        "change_text": "{up} of {k} communities improved clearly and {down} declined clearly; "
        "the others show no clear change. {s} communities are not shown: fewer than {min_n} "
        "respondents in a wave, measured in one wave only, or protecting one that has.",
        "rule_sim": "The rule: a community improved if its whole interval lies above 0, declined "
        "if its whole interval lies below 0; otherwise there is no clear change. The intervals "
        "are simultaneous {c}% intervals (Bonferroni over the {m} communities, so each is a "
        "{lvl}% interval): all {m} together contain their true change with {c}% confidence, so "
        "a few clear verdicts are not chance findings among many communities. The table and the "
        "plot show these same intervals; p (Bonferroni) is below {alpha} exactly when the "
        "interval excludes 0. The Welch test per community with {adj}-adjusted p-values is in "
        "results.json.",
        "rule_plain": "The rule: a community improved if its whole {c}% interval lies above 0, "
        "declined if it lies below 0; otherwise there is no clear change. The table and the "
        "plot show these same intervals.",
        "rule_uncorrected": "These intervals are not corrected for the number of communities "
        "(p adjustment 'none'): with many communities some clear verdicts arise by chance.",
        "forest_alt": "forest plot of the change per community with the intervals that decide "
        "the verdicts",
        "forest_title": "Change per community ({k} communities, sorted by change)",
        "forest_sim": "simultaneous {c}% intervals (Bonferroni over {m} communities)",
        "forest_plain": "{c}% intervals",
        "forest_model": "{c}% intervals of the estimated change (multilevel model; each is "
        "pulled towards {towards}, more for communities with fewer residents)",
        "towards_all": "the overall change",
        "towards_group": "the change of its own group (programme or comparison communities)",
        "rule_model": "The rule: a community improved if its whole {c}% interval lies above 0, "
        "declined if its whole interval lies below 0; otherwise there is no clear change. The "
        "estimate is the community's change as a multilevel model sees it (empirical Bayes): "
        "the measured change pulled towards {towards}, more so when a community has "
        "fewer residents, because a few residents' answers can swing a small community's mean "
        "by chance. This pulling already guards against chance findings among many "
        "communities, so the intervals are not corrected further for their number. 'Chance it "
        "improved' is the model's probability that the community's true change is above 0; "
        "'reliability' (0 to 1) says how much of the measured change the estimate trusts. The "
        "table and the plot show these same intervals; the measured change per community with "
        "its Welch test is in results.json.",
        "rule_fallback": "The multilevel change model could not be used for the verdicts here "
        "({why}). The verdicts below therefore use the measured change of each community with "
        "simultaneous intervals (the rule that follows).",
        "did": "Programme effect (compared with communities without the programme)",
        "sum_did": "Programme effect: communities in the programme changed by {d} points {more} "
        "than the comparison communities without the programme ({c}% CI {lo} to {hi}): "
        "{verdict}. The comparison takes away what changed everywhere, such as a citywide "
        "trend; it cannot rule out that the programme communities would have changed "
        "differently anyway (see 'Programme effect').",
        "did_text": "Communities in the programme changed by {d} points {more} than the "
        "comparison communities ({c}% CI {lo} to {hi}; p {p}): {verdict}. This is the "
        "difference in differences: the change in programme communities minus the change in "
        "comparison communities, from a multilevel model that uses every respondent.",
        "did_up": "the programme communities improved clearly more",
        "did_down": "the programme communities did clearly worse",
        "did_flat": "no clear difference between programme and comparison communities",
        "did_caveat": "What it cannot rule out: the comparison takes away changes that affected "
        "all communities alike (a citywide trend, a different season of fieldwork). It assumes "
        "that, without the programme, programme and comparison communities would have changed "
        "alike (parallel trends). If programme communities were chosen because they were about "
        "to improve, or something else changed only in them (new housing, another project), "
        "that shows up here as programme effect.",
        "overall_all": "All communities together",
        "did_more": "more",
        "did_less": "less",
        "percent": "{p}%",
        "forest_cap": "The plot shows the {k} of {n} communities whose change is clearest; "
        "the table lists them all.",
        "impact": "Impact level (0-5)",
        "impact_text": "Our documented operationalisation of the Strongpact description (see the "
        "docs page 'The impact scale'); not a validated psychometric scale. Without the "
        "programme's assessment a level is survey-only and capped at 2.",
        "impact_change": "Change of the impact level",
        "map": "Map: impact level at {wave}",
        "omitted_impact_skipped": "Left out on request (skip impact): this evaluation has no "
        "impact levels and no maps.",
        "omitted_map_skipped": "Maps left out on request (skip map).",
        "omitted_map_no_impact_levels": "No maps: they show the impact levels, which were left "
        "out.",
        "map_alt": "map of the impact level per community at {wave}",
        "scores": "Community scores per wave",
        "notes": "Notes",
        "methods": "Methods and references",
        "methods_text": "Scores are the mean of the answered items (reverse-keyed items "
        "recoded), required to cover the instrument's minimum number of items. The change per "
        "community is estimated by a multilevel change model, lmer(score ~ change + (1 + change "
        "| community)) fitted by REML (empirical Bayes; each community's interval averages over "
        "the uncertainty of the model's averages and variances, Morris 1983, Kass & Steffey "
        "1989); its verdict: improved if and only if the whole interval lies above 0. "
        "If that model cannot be used, the verdict comes from Bonferroni-simultaneous intervals "
        "of the measured changes (the report then says so). The Welch t-test with Hedges' g per "
        "community is in results.json. Effect sizes are described with Cohen's bands (0.2 small, 0.5 medium, "
        "0.8 large). Formulas and missing-data rules are in the library's methods pages.",
        "summary": "Summary",
        "contents": "Contents",
        "sum_scale": "On a {r} scale",
        "sum_scale_unknown": "On the scale",
        "sum_overall": "{on}, the average score went from {before} at baseline to {after} at "
        "the end of the cycle. Comparing residents within the same communities, the change is "
        "{d} points ({c}% CI {lo} to {hi}): {verdict}.",
        "sum_up": "a clear improvement across the communities",
        "sum_down": "a clear decline across the communities",
        "sum_flat": "no clear change across the communities",
        "sum_communities": "Of the {k} communities shown, {up} improved clearly, {down} declined "
        "clearly and {flat} show no clear change (the rule is under 'Change per community').",
        "sum_hidden": "{s} more communities have no change shown (fewer than {min_n} "
        "respondents in a wave, measured in one wave only, or hidden to protect a smaller community).",
        "sum_impact": "Communities at impact level 3 or higher (ready to be released): {b} at "
        "baseline, {a} at the end of the cycle; {c} crossed level 3 and {f} fell below it.",
        "sum_impact_new": "{u} of the {a} at the end had no level at baseline (too few "
        "respondents, or not measured).",
        "sum_reconcile": "Impact levels also use the programme lead's ratings of partner "
        "cooperation and group development; cohesion measured by the survey rose in {rose} of "
        "the {k} communities that crossed level 3 and have a change shown, clearly in {clear}.",
        "sum_reconcile_none": "Impact levels also use the programme lead's ratings of partner "
        "cooperation and group development, not only the survey.",
        "sum_survey_only": "No ratings by the programme lead were given, so every level rests "
        "on the survey alone and stops at 2.",
        "sum_none_shown": "No community has enough respondents in both waves to show its change.",
        "sum_data": "Based on the answers of {nb} residents at baseline and {na} at the end of "
        "the cycle; survey: {title}.",
        "suppressed": "fewer than {n} respondents",
        "improved": "improved",
        "declined": "declined",
        "no_change": "no clear change",
        "baseline": "baseline",
        "end_of_cycle": "end of cycle",
        "negligible": "negligible",
        "small": "small",
        "medium": "medium",
        "large": "large",
        "figures_md": "Figures (forest plot, maps) are in report.html.",
        "lang": "en",
        "decimal": ".",
        "thousands": ",",
        "interval": "{lo} to {hi}",
        "yes": "yes",
        "no": "no",
        "dataframe": "data frame",
        "show_table": "Show the table ({n} rows)",
        "reason_missing_community": "no community",
        "reason_missing_respondent": "no respondent id",
        "reason_duplicate_respondent": "duplicate respondent",
        "reason_unknown_wave": "unknown wave",
        "reason_invalid_weight": "invalid survey weight",
        "reason_no_items_answered": "no question answered",
        "basis_full": "survey and assessment",
        "basis_survey_only": "survey only",
        "basis_none": "no level",
    },
    "nl": {
        "title": "Collectieve weerbaarheid: nulmeting versus eindmeting",
        "measured": "Wat is gemeten",
        "measured_text": "{title} ({id} v{version}), schaal '{scale}'. Buurten worden herkend "
        "aan de kolom '{community}'. Buurten met minder dan {min_n} respondenten in een meting "
        "worden niet getoond, om de privacy van bewoners te beschermen.",
        "wave_n": "{wave}: {n} respondenten gebruikt in {k} buurten (bron: {file}).",
        "wave_n_withheld": "{wave}: {k} buurten (bron: {file}); het aantal respondenten "
        "wordt niet gepubliceerd, omdat het de omvang van een buurt met minder dan {min_n} "
        "respondenten zou verraden.",
        "withheld": "niet gepubliceerd",
        "n_withheld": "een niet gepubliceerd aantal (het zou een kleine buurt verraden)",
        "dates": "Antwoorden van {first} tot en met {last}.",
        "dates_bad": "{n} antwoorddatum/-data kon(den) niet worden gelezen.",
        "quality": "Kwaliteit van de gegevens",
        "quality_text": "Elke rij van elk bestand is verantwoord: gebruikt, of uitgesloten om de "
        "genoemde reden.",
        "labels_merged": "{wave}: buurtnamen die in het bestand anders geschreven zijn, zijn "
        "samengevoegd met dezelfde naam (extra spaties, Unicode-vorm): {pairs}.",
        "reliability": "Betrouwbaarheid van de schaal",
        "alpha_good": "{wave}: de vragen meten consistent hetzelfde (alfa {a}, {c}%-BI {lo} tot "
        "{hi}; omega {o}).",
        "alpha_weak": "{wave}: de vragen hangen maar zwak samen (alfa {a}, {c}%-BI {lo} tot {hi}; "
        "omega {o}); interpreteer de scores voorzichtig.",
        "items": "Vragen ({wave})",
        "reversed_warn": "{wave}: vraag {item} hangt negatief samen met de andere vragen; "
        "controleer of die omgescoord moet worden.",
        "aggregation": "Beschrijven de antwoorden van bewoners hun buurt?",
        "icc": "{wave}: {p}% van de verschillen tussen bewoners ligt tussen buurten "
        "(ICC(1) = {i1}); de betrouwbaarheid van een buurtgemiddelde is {i2} (ICC(2); 0,70 of "
        "meer geldt meestal als genoeg om buurten te vergelijken).",
        "icc_none": "{wave}: vrijwel geen van de verschillen tussen bewoners ligt tussen buurten "
        "(ICC(1) = {i1}, 0 of lager); buurtgemiddelden zijn hier niet betrouwbaar te "
        "onderscheiden.",
        "absent": "niet gemeten in deze meting",
        "no_level_before": "geen niveau bij de nulmeting (niet getoond of niet gemeten)",
        "no_level_after": "geen niveau bij de eindmeting (niet getoond of niet gemeten)",
        "basis_changed": "één niveau met en één zonder beoordeling: niet gelijk gemeten",
        "both_survey": "in beide metingen alleen op de enquête gebaseerd (hooguit 2)",
        "secondary": "niet getoond, ter bescherming van een kleinere buurt (secundaire "
        "onderdrukking)",
        "rwg": "{wave}: bewoners zijn het sterk met elkaar eens in {s}% van de getoonde buurten "
        "(rwg(j) minstens {t}; mediaan {m}); mediane gemiddelde afwijking {ad}.",
        "ecometric": "{wave}: rekening houdend met vragen, bewoners en buurten (ecometrisch "
        "model) is de betrouwbaarheid van een buurtscore gemiddeld {r}; {inc}% van de variantie "
        "tussen bewoners ligt tussen buurten.",
        "overall": "Verandering over alle buurten",
        "overall_text": "Over de getoonde buurten veranderde de score met {d} punten ({c}%-BI {lo} tot "
        "{hi}), een {size} effect (gestandaardiseerd {g}; p {p}). Dit komt uit een multilevel-"
        "model (score ~ meting + (1 | buurt)) dat alle respondenten gebruikt van de buurten die "
        "per meting getoond worden; onderdrukte buurten tellen niet mee, zodat geen cijfer ze "
        "verraadt.",
        "change": "Verandering per buurt",
        "change_text": "{up} van de {k} buurten gingen duidelijk vooruit en {down} duidelijk "
        "achteruit; de andere laten geen duidelijke verandering zien. {s} buurten worden niet "
        "getoond: minder dan {min_n} respondenten in een meting, maar in één meting gemeten, of "
        "ter bescherming van zo'n buurt.",
        "rule_sim": "De regel: een buurt ging vooruit als het hele interval boven 0 ligt, "
        "achteruit als het hele interval onder 0 ligt; anders is er geen duidelijke verandering. "
        "De intervallen zijn simultane {c}%-intervallen (Bonferroni over de {m} buurten, dus "
        "elk een {lvl}%-interval): alle {m} samen bevatten hun ware verandering met {c}% "
        "betrouwbaarheid, zodat een enkel duidelijk oordeel geen toevalstreffer tussen veel "
        "buurten is. De tabel en de figuur tonen dezelfde intervallen; p (Bonferroni) ligt "
        "onder {alpha} precies wanneer het interval 0 niet bevat. De Welch-toets per buurt met "
        "{adj}-gecorrigeerde p-waarden staat in results.json.",
        "rule_plain": "De regel: een buurt ging vooruit als het hele {c}%-interval boven 0 "
        "ligt, achteruit als het onder 0 ligt; anders is er geen duidelijke verandering. De "
        "tabel en de figuur tonen dezelfde intervallen.",
        "rule_uncorrected": "Deze intervallen zijn niet gecorrigeerd voor het aantal buurten "
        "(correctie 'none'): bij veel buurten ontstaan sommige duidelijke oordelen door toeval.",
        "forest_alt": "forestplot van de verandering per buurt met de intervallen die het "
        "oordeel bepalen",
        "forest_title": "Verandering per buurt ({k} buurten, gesorteerd op verandering)",
        "forest_sim": "simultane {c}%-intervallen (Bonferroni over {m} buurten)",
        "forest_plain": "{c}%-intervallen",
        "forest_model": "{c}%-intervallen van de geschatte verandering (multilevelmodel; elke "
        "schatting wordt naar {towards} getrokken, sterker bij buurten met minder bewoners)",
        "towards_all": "de totale verandering",
        "towards_group": "de verandering van de eigen groep (programma- of vergelijkingsbuurten)",
        "rule_model": "De regel: een buurt ging vooruit als haar hele {c}%-interval boven 0 ligt, "
        "achteruit als het hele interval onder 0 ligt; anders is er geen duidelijke "
        "verandering. De schatting is de verandering van de buurt zoals een multilevelmodel die "
        "ziet (empirical Bayes): de gemeten verandering, naar {towards} getrokken, "
        "sterker naarmate een buurt minder bewoners heeft, omdat de antwoorden van een paar "
        "bewoners het gemiddelde van een kleine buurt toevallig kunnen laten uitschieten. Dat "
        "trekken beschermt al tegen toevalstreffers tussen veel buurten, dus de intervallen "
        "worden niet nog eens gecorrigeerd voor het aantal buurten. 'Kans op vooruitgang' is de "
        "kans volgens het model dat de werkelijke verandering van de buurt boven 0 ligt; "
        "'betrouwbaarheid' (0 tot 1) zegt hoeveel de schatting op de gemeten verandering "
        "vertrouwt. De tabel en de figuur tonen dezelfde intervallen; de gemeten verandering per "
        "buurt met de Welch-toets staat in results.json.",
        "rule_fallback": "Het multilevelmodel voor verandering kon hier niet voor de oordelen "
        "worden gebruikt ({why}). De oordelen hieronder gebruiken daarom de gemeten verandering "
        "per buurt met simultane intervallen (de regel hierna).",
        "did": "Effect van het programma (vergeleken met buurten zonder programma)",
        "sum_did": "Effect van het programma: buurten in het programma veranderden {d} punten "
        "{more} dan de vergelijkingsbuurten zonder programma ({c}%-BI {lo} tot {hi}): "
        "{verdict}. De vergelijking haalt weg wat overal veranderde, zoals een trend in de hele "
        "stad; ze sluit niet uit dat de programmabuurten ook zonder programma anders waren "
        "veranderd (zie 'Effect van het programma').",
        "did_text": "Buurten in het programma veranderden {d} punten {more} dan de "
        "vergelijkingsbuurten ({c}%-BI {lo} tot {hi}; p {p}): {verdict}. Dit is het verschil "
        "in verschillen: de verandering in programmabuurten min de verandering in "
        "vergelijkingsbuurten, uit een multilevelmodel dat alle respondenten gebruikt.",
        "did_up": "de programmabuurten gingen duidelijk meer vooruit",
        "did_down": "de programmabuurten deden het duidelijk slechter",
        "did_flat": "geen duidelijk verschil tussen programma- en vergelijkingsbuurten",
        "did_caveat": "Wat dit niet uitsluit: de vergelijking haalt veranderingen weg die alle "
        "buurten gelijk troffen (een trend in de hele stad, een ander seizoen van het "
        "veldwerk). Ze veronderstelt dat programma- en vergelijkingsbuurten zonder het "
        "programma gelijk zouden zijn veranderd (parallelle trends). Als programmabuurten zijn "
        "gekozen omdat ze op het punt stonden vooruit te gaan, of als alleen daar iets anders "
        "veranderde (nieuwbouw, een ander project), dan telt dat hier mee als effect van het "
        "programma.",
        "overall_all": "Alle buurten samen",
        "did_more": "meer",
        "did_less": "minder",
        "percent": "{p}%",
        "forest_cap": "De figuur toont de {k} van de {n} buurten met de duidelijkste verandering; de tabel "
        "noemt ze allemaal.",
        "impact": "Impactniveau (0-5)",
        "impact_text": "Onze gedocumenteerde uitwerking van de Strongpact-beschrijving (zie de "
        "pagina over de impactschaal in de documentatie); geen gevalideerde psychometrische schaal. Zonder "
        "beoordeling door de programmaleider is een niveau alleen op de enquête gebaseerd en "
        "hooguit 2.",
        "impact_change": "Verandering van het impactniveau",
        "map": "Kaart: impactniveau bij de {wave}",
        "omitted_impact_skipped": "Op verzoek weggelaten (impact overslaan): deze evaluatie "
        "heeft geen impactniveaus en geen kaarten.",
        "omitted_map_skipped": "Kaarten op verzoek weggelaten (kaart overslaan).",
        "omitted_map_no_impact_levels": "Geen kaarten: die tonen de impactniveaus, en die zijn "
        "weggelaten.",
        "map_alt": "kaart van het impactniveau per buurt bij de {wave}",
        "scores": "Buurtscores per meting",
        "notes": "Opmerkingen",
        "methods": "Methoden en bronnen",
        "methods_text": "Een score is het gemiddelde van de beantwoorde vragen (omgekeerd "
        "gestelde vragen omgescoord), mits het minimum aantal vragen van het instrument is "
        "beantwoord. De verandering per buurt wordt geschat met een multilevelmodel voor "
        "verandering, lmer(score ~ verandering + (1 + verandering | buurt)) met REML (empirical Bayes, "
        "het interval per buurt middelt over de onzekerheid in de gemiddelden en varianties "
        "van het model, Morris 1983, Kass & Steffey 1989); het oordeel: vooruit als en alleen als het "
        "hele interval boven 0 ligt. Kan dat model niet worden gebruikt, dan komt het oordeel "
        "uit Bonferroni-simultane intervallen van de gemeten veranderingen (het rapport zegt dat "
        "dan). De Welch t-toets met Hedges' g per buurt staat in results.json. Effectgroottes worden beschreven met de grenzen "
        "van Cohen (0,2 klein, 0,5 middelgroot, 0,8 groot). Formules en de omgang met "
        "ontbrekende antwoorden staan in de methodenpagina's van de bibliotheek.",
        "summary": "Samenvatting",
        "contents": "Inhoud",
        "sum_scale": "Op een schaal van {r}",
        "sum_scale_unknown": "Op de schaal",
        "sum_overall": "{on} ging de gemiddelde score van {before} bij de nulmeting naar "
        "{after} bij de eindmeting. Vergeleken binnen dezelfde buurten is de verandering {d} "
        "punten ({c}%-BI {lo} tot {hi}): {verdict}.",
        "sum_up": "een duidelijke vooruitgang over de buurten",
        "sum_down": "een duidelijke achteruitgang over de buurten",
        "sum_flat": "geen duidelijke verandering over de buurten",
        "sum_communities": "Van de {k} getoonde buurten gingen er {up} duidelijk vooruit, "
        "{down} duidelijk achteruit en {flat} laten geen duidelijke verandering zien (de regel "
        "staat bij 'Verandering per buurt').",
        "sum_hidden": "Van nog {s} buurten wordt geen verandering getoond (minder dan {min_n} "
        "respondenten in een meting, maar in één meting gemeten, of verborgen om een kleinere buurt te "
        "beschermen).",
        "sum_impact": "Buurten op impactniveau 3 of hoger (klaar om los te laten): {b} bij de "
        "nulmeting, {a} bij de eindmeting; {c} kwamen over niveau 3 en {f} zakten eronder.",
        "sum_impact_new": "Van de {a} bij de eindmeting hadden er {u} bij de nulmeting geen "
        "niveau (te weinig respondenten, of niet gemeten).",
        "sum_reconcile": "Impactniveaus gebruiken ook het oordeel van de programmaleider over de "
        "samenwerking met partners en de ontwikkeling van de groep; de met de enquête gemeten "
        "cohesie steeg in {rose} van de {k} buurten die over niveau 3 kwamen en waarvan de "
        "verandering getoond wordt, duidelijk in {clear}.",
        "sum_reconcile_none": "Impactniveaus gebruiken ook het oordeel van de programmaleider "
        "over de samenwerking met partners en de ontwikkeling van de groep, niet alleen de "
        "enquête.",
        "sum_survey_only": "Er is geen oordeel van de programmaleider meegegeven, dus elk "
        "niveau rust alleen op de enquête en komt niet boven 2.",
        "sum_none_shown": "Geen enkele buurt heeft in beide metingen genoeg respondenten om "
        "de verandering te tonen.",
        "sum_data": "Gebaseerd op de antwoorden van {nb} bewoners bij de nulmeting en {na} bij "
        "de eindmeting; vragenlijst: {title}.",
        "suppressed": "minder dan {n} respondenten",
        "improved": "vooruit",
        "declined": "achteruit",
        "no_change": "geen duidelijke verandering",
        "baseline": "nulmeting",
        "end_of_cycle": "eindmeting",
        "negligible": "verwaarloosbaar",
        "small": "klein",
        "medium": "middelgroot",
        "large": "groot",
        "figures_md": "De figuren (forestplot, kaarten) staan in report.html.",
        "lang": "nl",
        "decimal": ",",
        "thousands": ".",
        "interval": "{lo} tot {hi}",
        "yes": "ja",
        "no": "nee",
        "dataframe": "tabel uit Python",
        "show_table": "Toon de tabel ({n} rijen)",
        "reason_missing_community": "geen buurt",
        "reason_missing_respondent": "geen respondentnummer",
        "reason_duplicate_respondent": "dubbele respondent",
        "reason_unknown_wave": "onbekende meting",
        "reason_invalid_weight": "ongeldige weegfactor",
        "reason_no_items_answered": "geen vraag beantwoord",
        "basis_full": "enquête en beoordeling",
        "basis_survey_only": "alleen enquête",
        "basis_none": "geen niveau",
    },
}

# Column headings of the tables, per language.
HEAD: dict[str, dict[str, str]] = {
    "en": {
        "wave": "wave",
        "file": "file",
        "rows_in": "rows in",
        "used": "used",
        "excluded": "excluded",
        "reasons": "reasons",
        "communities": "communities",
        "community": "community",
        "alpha": "alpha",
        "ci_low": "CI low",
        "ci_high": "CI high",
        "omega": "omega",
        "n": "n",
        "item": "item",
        "reversed": "reverse-keyed",
        "mean": "mean",
        "sd": "sd",
        "r_drop": "item-rest r",
        "alpha_if_dropped": "alpha without item",
        "icc1": "ICC(1)",
        "icc2": "ICC(2)",
        "median_rwg_j": "median rwg(j)",
        "share_rwg_j_strong": "share rwg(j) >= 0.70",
        "ecometric_reliability": "ecometric reliability",
        "n_before": "n before",
        "n_after": "n after",
        "mean_before": "mean before",
        "mean_after": "mean after",
        "diff": "change",
        "p_adjusted": "p (adjusted)",
        "g": "Hedges' g",
        "direction": "direction",
        "interval": "interval",
        "p_bonf": "p (Bonferroni)",
        "verdict": "verdict",
        "raw_change": "measured change",
        "eb_change": "estimated change",
        "p_improved": "chance it improved",
        "reliability": "reliability",
        "level": "level (0-5)",
        "level_low": "lowest",
        "level_high": "highest",
        "basis": "basis",
        "level_before": "level before",
        "level_after": "level after",
        "change": "change",
        "crossed": "crossed level 3",
        "note": "note",
        "effect": "effect size",
        "p": "p",
    },
    "nl": {
        "wave": "meting",
        "file": "bron",
        "rows_in": "rijen",
        "used": "gebruikt",
        "excluded": "uitgesloten",
        "reasons": "redenen",
        "communities": "buurten",
        "community": "buurt",
        "alpha": "alfa",
        "ci_low": "BI laag",
        "ci_high": "BI hoog",
        "omega": "omega",
        "n": "n",
        "item": "vraag",
        "reversed": "omgescoord",
        "mean": "gemiddelde",
        "sd": "sd",
        "r_drop": "r vraag-rest",
        "alpha_if_dropped": "alfa zonder vraag",
        "icc1": "ICC(1)",
        "icc2": "ICC(2)",
        "median_rwg_j": "mediaan rwg(j)",
        "share_rwg_j_strong": "aandeel rwg(j) >= 0,70",
        "ecometric_reliability": "ecometrische betrouwbaarheid",
        "n_before": "n voor",
        "n_after": "n na",
        "mean_before": "gemiddelde voor",
        "mean_after": "gemiddelde na",
        "diff": "verandering",
        "p_adjusted": "p (gecorrigeerd)",
        "g": "Hedges' g",
        "direction": "richting",
        "interval": "interval",
        "p_bonf": "p (Bonferroni)",
        "verdict": "oordeel",
        "raw_change": "gemeten verandering",
        "eb_change": "geschatte verandering",
        "p_improved": "kans op vooruitgang",
        "reliability": "betrouw\u00adbaarheid",  # soft hyphen: a narrower column
        "level": "niveau (0-5)",
        "level_low": "laagst",
        "level_high": "hoogst",
        "basis": "basis",
        "level_before": "niveau voor",
        "level_after": "niveau na",
        "change": "verandering",
        "crossed": "over niveau 3",
        "note": "opmerking",
        "effect": "effectgrootte",
        "p": "p",
    },
}

REFERENCES = [
    "Sampson, R. J., Raudenbush, S. W., & Earls, F. (1997). Neighborhoods and violent crime: "
    "A multilevel study of collective efficacy. Science, 277, 918-924.",
    "Raudenbush, S. W., & Sampson, R. J. (1999). Ecometrics: Toward a science of assessing "
    "ecological settings. Sociological Methodology, 29, 1-41.",
    "Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. "
    "Psychometrika, 16, 297-334. Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). "
    "Statistical inference for coefficient alpha. Applied Psychological Measurement, 11, 93-103.",
    "McDonald, R. P. (1999). Test theory: A unified treatment. Erlbaum. Revelle, W. psych: "
    "Procedures for psychological, psychometric, and personality research (R package).",
    "Bliese, P. D. (2000). Within-group agreement, non-independence, and reliability. In "
    "Klein & Kozlowski (Eds.), Multilevel theory, research, and methods in organizations.",
    "James, L. R., Demaree, R. G., & Wolf, G. (1984). Estimating within-group interrater "
    "reliability with and without response bias. Journal of Applied Psychology, 69, 85-98. "
    "Burke, M. J., Finkelstein, L. M., & Dusig, M. S. (1999). On average deviation indices for "
    "estimating interrater agreement. Organizational Research Methods, 2, 49-68.",
    "Welch, B. L. (1947). The generalization of Student's problem. Biometrika, 34, 28-35. "
    "Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size. "
    "Journal of Educational Statistics, 6, 107-128. Holm, S. (1979). A simple sequentially "
    "rejective multiple test procedure. Scandinavian Journal of Statistics, 6, 65-70.",
    "Bonferroni, C. E. (1936). Teoria statistica delle classi e calcolo delle probabilità. "
    "Pubblicazioni del R. Istituto Superiore di Scienze Economiche e Commerciali di Firenze, 8, "
    "3-62. Dunn, O. J. (1961). Multiple comparisons among means. Journal of the American "
    "Statistical Association, 56, 52-64.",
    "Cohen, J. (1988). Statistical power analysis for the behavioral sciences (2nd ed.). Erlbaum.",
    "Raudenbush, S. W., & Bryk, A. S. (2002). Hierarchical linear models (2nd ed.). Sage. "
    "Bates, D., Mächler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects "
    "models using lme4. Journal of Statistical Software, 67(1), 1-48.",
    "Gelman, A., Hill, J., & Yajima, M. (2012). Why we (usually) don't have to worry about "
    "multiple comparisons. Journal of Research on Educational Effectiveness, 5, 189-211.",
]
