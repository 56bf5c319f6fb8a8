"""De-identification: HIPAA Safe Harbor identifiers in report text -> placeholders or surrogates.

The paper removes names with regular expressions; we remove every Safe Harbor identifier that
occurs in radiology report text: names (with titles, initials, "Last, First", "dr smith"),
all date elements except the year, times, ages over 89, MRN/accession/SSN/account/device and
other IDs, phone and fax numbers, e-mail addresses, URLs, IP addresses, street addresses, ZIP
codes, cities (a geographic subdivision smaller than a state: Safe Harbor item B; the state is
kept) and hospital/clinic names (i2b2 PHI: they locate the patient). Clinical eponyms and anatomy survive (Hodgkin, Crohn, Foley, Swan-Ganz, Morison pouch,
BI-RADS, L4-L5, "8 mm", "series 3 image 45"), and so do existing placeholders (Open-i's
``XXXX``, our own ``[NAME]``): ``redact(redact(x).text).text == redact(x).text``.

Placeholders (typed counts keep the fine type, e.g. ``MRN`` and ``SSN`` both print ``[ID]``):

==========================  ===============
types                       placeholder
==========================  ===============
NAME                        ``[NAME]``
DATE                        ``[DATE]``
TIME                        ``[TIME]``
AGE (over 89 only)          ``[AGE]``
MRN, ACCESSION, SSN, ID     ``[ID]``
PHONE, FAX                  ``[PHONE]``
EMAIL / URL / IP            ``[EMAIL]`` / ``[URL]`` / ``[IP]``
ADDRESS / ZIP               ``[ADDRESS]`` / ``[ZIP]``
CITY / HOSPITAL             ``[CITY]`` / ``[HOSPITAL]``
==========================  ===============

How it is fast (>= 20k reports/s on 2 cores, see benchmarks/bench_deid.py): no NER model and no
per-token Python loop. Two compiled regexes do almost all the work, one for patterns that start
with a digit and one for patterns that start with a capital letter. Every alternative of each
starts with the same character class, so ``re`` hoists it into a *charset prefix* and its C
search loop skips straight to the next digit (or capital) instead of trying ~20 alternatives
at every character; that alone is ~10x (see the benchmark). Rare families (e-mail, URL,
credentials such as "MD", lower-case "dr") are behind substring pre-checks. Python code only
runs per *candidate* (a match), to validate it (month <= 12, age > 89) or to check a name
candidate against the cue words and the clinical allow-list.

Name detection without an NER model: titles (Dr., Mr., Prof.), credentials (MD, DO, RN, PA-C,
NP), cue contexts ("discussed with", "dictated by", "signed by", "Patient:", "Attending:"...),
"Last, First" at the start of a line, and capitalised word pairs that start with a common first
name or sit mid-sentence; every candidate word is checked against an allow-list of clinical
terms, eponyms and common words, so "consistent with Crohn disease" keeps "Crohn". Names are
also found by what follows them ("... was informed", "(mrn", ", DOB", "(pager": the words
before are walked back, stopping at clinical/common words and role nouns) and by layout (a name
alone on the line above a date line signs the report; "Last, First" header columns next to an
ID or a date).

>>> Deidentifier().redact("Discussed with Dr. Smith at 10:30 on 03/04/2019.").text
'Discussed with Dr. [NAME] at [TIME] on [DATE].'
>>> Deidentifier().redact("A 94-year-old with Crohn disease; 8 mm nodule at L4-L5 in 2019.").text
'A [AGE] with Crohn disease; 8 mm nodule at L4-L5 in 2019.'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from radllama.core.errors import DataError
from radllama.deid.audit import DeidAudit, recall_against_ground_truth, restore_original
from radllama.deid.config import PHI_TYPES, PLACEHOLDERS, DeidConfig, PhiType
from radllama.deid.lexicons import (
    ALLOW_TERMS,
    CUE_STOP_TERMS,
    KEEP_PHRASES,
    SURROGATE_FAMILY,
    SURROGATE_STREETS,
)
from radllama.deid.recognizers.ages import ages_after_names
from radllama.deid.recognizers.family import FamilyRules
from radllama.deid.recognizers.keywords import KeywordRules
from radllama.deid.recognizers.layout import LayoutRules
from radllama.deid.recognizers.locations import LocationRules
from radllama.deid.recognizers.name_context import NameContextRules
from radllama.deid.recognizers.name_rules import NameRules
from radllama.deid.recognizers.patterns import _ASCII_LOWER
from radllama.deid.recognizers.propagation import PropagationRules
from radllama.deid.recognizers.structured import StructuredRules
from radllama.deid.registry import REGISTRY, Registry
from radllama.deid.spans import DeidResult, Redaction, Span, merge_spans
from radllama.deid.surrogates import (
    _same_shape,
    _shift_date,
    _shift_time,
    _stable_int,
    _surrogate_name,
)

# The engine's public names, importable from here as before the split into modules.
__all__ = [
    "PHI_TYPES",
    "PLACEHOLDERS",
    "DeidAudit",
    "DeidConfig",
    "DeidResult",
    "Deidentifier",
    "PhiType",
    "Redaction",
    "Span",
    "deidentify_jsonl",
    "deidentify_rows",
    "recall_against_ground_truth",
    "restore_original",
]

_EMPTY: Counter[str] = Counter()


class Deidentifier(
    NameRules,
    LayoutRules,
    KeywordRules,
    LocationRules,
    StructuredRules,
    FamilyRules,
    NameContextRules,
    PropagationRules,
):
    """Finds and replaces Safe Harbor identifiers. Picklable (plain config + word sets)."""

    def __init__(self, config: DeidConfig | None = None, registry: Registry | None = None) -> None:
        self.config = config or DeidConfig()
        self.ner_threads: int | None = None  # torch threads of the NER model (None: default)
        self._ner: Any = None  # the NerTagger, loaded on first use (after a worker forks)
        # None: the built-in `REGISTRY` (looked up at call time, so pickling stays cheap)
        self.registry = registry
        extra = {term.lower() for term in self.config.extra_allow_terms}
        self.allow = ALLOW_TERMS | extra
        self.cue_stop = CUE_STOP_TERMS | extra
        self.keep_types = frozenset(self.config.keep_types)
        self._shift_days = _stable_int(f"{self.config.surrogate_seed}:date-shift") % 364 + 1

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_ner"] = None  # a worker loads its own copy of the model
        return state

    # -- public API -------------------------------------------------------------------------

    def redact(self, text: str) -> DeidResult:
        """Replace every identifier in `text`; see the module docstring for the placeholders."""
        if self.config.ner is not None:
            return self.redact_many([text])[0]
        if not text:
            return DeidResult(text, [], Counter(), [])
        found = self.find(text)
        if not found:
            return DeidResult(text, [], Counter(), [])
        return self._apply(text, found)

    def redact_many(self, texts: Sequence[str]) -> list[DeidResult]:
        """`redact` for each text; with `config.ner` the model runs on all of them in batches
        and each result redacts the union of the rules' and the model's spans."""
        if self.config.ner is None:
            return [self.redact(text) for text in texts]
        results = []
        for text, (found, added) in zip(texts, self._find_with_ner(texts), strict=True):
            result = self._apply(text, found) if found else DeidResult(text, [], Counter(), [])
            result.ner_added = added
            results.append(result)
        return results

    def find_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """`find` for each text, plus the NER model's spans when `config.ner` is set."""
        if self.config.ner is None:
            return [self.find(text) if text else [] for text in texts]
        return [found for found, _ in self._find_with_ner(texts)]

    def _find_with_ner(self, texts: Sequence[str]) -> list[tuple[list[Span], Counter[str]]]:
        rules = [self.find(text) if text else [] for text in texts]
        return self.union(texts, rules, self.tagger().find_many(texts))

    def union(
        self, texts: Sequence[str], rules: list[list[Span]], model: list[list[Span]]
    ) -> list[tuple[list[Span], Counter[str]]]:
        """Per text: the rules' spans plus the model's (less clinical keep phrases and kept
        types), merged, and the count per type of what only the model found."""
        from radllama.deid.ner import union_spans

        dropped = self._ner_kept_types()
        out = []
        for text, found, extra in zip(texts, rules, model, strict=True):
            if extra:
                extra = _outside_keep_phrases(_lower(text), extra)
                extra = [span for span in extra if span.kind not in dropped]
            out.append(union_spans(found, extra))
        return out

    def tagger(self) -> Any:
        """The NER model of `config.ner` (a `radllama.deid.ner.NerTagger`), loaded once."""
        if self._ner is None:
            from radllama.deid.ner import NerTagger

            if self.config.ner is None:
                raise ValueError("no NER model configured (deid.ner)")
            self._ner = NerTagger(
                self.config.ner,
                threshold=self.config.ner_threshold,
                batch_size=self.config.ner_batch_size,
                device=self.config.ner_device,
                threads=self.ner_threads,
            )
        return self._ner

    def _ner_kept_types(self) -> frozenset[str]:
        """Model types to drop under `keep_types`: those whose every fine type is kept."""
        from radllama.deid.ner import NER_TYPES, coarse_type

        if not self.keep_types:
            return frozenset()
        return frozenset(
            kind
            for kind in NER_TYPES
            if all(fine in self.keep_types for fine in PHI_TYPES if coarse_type(fine) == kind)
        )

    def find(self, text: str) -> list[Span]:
        """Identifier spans ``(start, end, TYPE)``, sorted and merged (no overlaps)."""
        found: list[Span] = []
        registry = self.registry or REGISTRY
        rules = registry.rules  # marker group -> (validator, type)
        for scan in (registry.digit_re, registry.capital_re):
            for match in scan.finditer(text):
                validate, kind = rules[match.lastgroup]  # type: ignore[index]
                if validate is None:
                    found.append(Span(match.start(), match.end(), kind))
                else:
                    span = validate(self, text, match)
                    if span is not None:
                        found.append(span)
        # Same length and offsets as `text`: str.lower() can only change the length for
        # non-ASCII letters ("İ"), so ASCII text (the usual case) takes the fast C path (~0.2 us)
        # and only other text pays for translate (~1.6 us per 350 characters).
        low = _lower(text)
        self._rare(text, low, found)
        triggers: set[str] = set()  # words that switch on the context rules
        self._keyword_families(text, low, found, triggers)
        self._structured(text, found)
        self._names_in_context(text, low, found, triggers)
        if " EMS" in text or " Fire" in text or " Police" in text or " PD" in text:
            self._city_services(text, found)
        if found:
            self._layout(text, found)
            self._propagate(text, low, found)
            ages_after_names(text, found)
        if found:
            found = _outside_keep_phrases(low, found)
        if self.keep_types:
            found = [span for span in found if span[2] not in self.keep_types]
        return merge_spans(found) if len(found) > 1 else [Span(*span) for span in found]

    # -- replacement ----------------------------------------------------------------------------

    def _apply(self, text: str, found: list[Span]) -> DeidResult:
        pieces: list[str] = []
        spans: list[Redaction] = []
        replacements: list[str] = []
        counts: dict[str, int] = {}
        surrogate = self.config.mode == "surrogate"
        position = 0
        for start, end, kind in found:
            original = text[start:end]
            new = self._surrogate(kind, original) if surrogate else PLACEHOLDERS[kind]
            pieces.append(text[position:start])
            pieces.append(new)
            spans.append(Redaction(start, end, kind, original))
            replacements.append(new)
            counts[kind] = counts.get(kind, 0) + 1
            position = end
        pieces.append(text[position:])
        return DeidResult("".join(pieces), spans, Counter(counts), replacements)

    def _surrogate(self, kind: str, original: str) -> str:
        """A fake value of the same kind; the same original always gives the same surrogate."""
        key = _stable_int(f"{self.config.surrogate_seed}:{kind}:{original.lower()}")
        if kind == "NAME":
            return _surrogate_name(original, self.config.surrogate_seed)
        if kind == "DATE":
            return _shift_date(original, self._shift_days) or PLACEHOLDERS["DATE"]
        if kind == "TIME":
            return _shift_time(original, key) or PLACEHOLDERS["TIME"]
        if kind == "AGE":
            return re.sub(r"[0-9]+", "90", original, count=1)  # HIPAA: "90 or older"
        if kind == "EMAIL":
            return f"{SURROGATE_FAMILY[key % len(SURROGATE_FAMILY)].lower()}{key % 97}@example.org"
        if kind == "URL":
            return f"https://example.org/{key % 100000:05d}"
        if kind == "IP":
            return f"192.0.2.{key % 254 + 1}"  # TEST-NET-1, reserved for documentation
        if kind == "ADDRESS":
            street = SURROGATE_STREETS[key % len(SURROGATE_STREETS)]
            return f"{key % 900 + 100} {street} Street"
        if kind in ("CITY", "HOSPITAL"):
            place = SURROGATE_FAMILY[key % len(SURROGATE_FAMILY)]
            return f"{place}ville" if kind == "CITY" else f"{place} Hospital"
        return _same_shape(original, key)  # IDs, phone, fax, ZIP


def _lower(text: str) -> str:
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def _outside_keep_phrases(low: str, found: list[Span]) -> list[Span]:
    """Drop the parts of spans that fall inside a clinical keep phrase ("Austin Moore
    prosthesis", "Fleischner Society", "bosniak iif"); `low` is the lower-cased text."""
    keep: list[tuple[int, int]] = []
    for phrase in KEEP_PHRASES:
        at = low.find(phrase)
        while at >= 0:
            stop = at + len(phrase)
            if (at == 0 or not low[at - 1].isalnum()) and (
                stop == len(low) or not low[stop].isalnum()
            ):
                keep.append((at, stop))
            at = low.find(phrase, stop)
    if not keep:
        return found
    out: list[Span] = []
    for start, end, kind in found:
        pieces = [(start, end)]
        for k_start, k_end in keep:
            pieces = [
                part
                for p_start, p_end in pieces
                for part in ((p_start, min(p_end, k_start)), (max(p_start, k_end), p_end))
                if part[0] < part[1] and low[part[0] : part[1]].strip(" ,.")
            ]
        out.extend(Span(p_start, p_end, kind) for p_start, p_end in pieces)
    return out


# ------------------------------------------------------------------------------------------
# JSONL in -> JSONL out (`radllama deid`)
# ------------------------------------------------------------------------------------------


def deidentify_rows(
    rows: Iterable[dict[str, Any]],
    text_fields: Sequence[str],
    deidentifier: Deidentifier,
    audit: DeidAudit,
    source: str = "input",
    malformed: Any = None,
) -> Iterator[dict[str, Any]]:
    """Yield each row with its text field(s) redacted; every other field and the order kept.

    `rows` may yield (line number, row) pairs; with `malformed` (a `jsonl.MalformedLines`), a
    row whose text field is not text (a number, list, object) is counted as `wrong_type` and
    left out instead of stopping the run. With a NER model (deid.ner) rows go through it 64 at
    a time, so the model runs on batches."""
    batch = 64 if deidentifier.config.ner is not None else 1
    pending: list[tuple[str, dict[str, Any]]] = []
    for number, row in enumerate(rows, start=1):
        if isinstance(row, tuple):
            number, row = row
        record_id = str(row.get("id", number))
        if malformed is not None and any(
            not isinstance(row.get(name), str | None) for name in text_fields
        ):
            malformed.add(number, "wrong_type")
            continue
        for name in text_fields:
            if name not in row:
                fields = ", ".join(sorted(row)) or "none"
                raise DataError(
                    f"{source}: row {number} has no field '{name}' (fields: {fields}); "
                    "pass --text-field NAME to choose the text field"
                )
            value = row[name]
            if value is not None and not isinstance(value, str):
                raise DataError(
                    f"{source}: row {number} field '{name}' is {type(value).__name__}, not text; "
                    "pass --text-field NAME of a string field"
                )
        pending.append((record_id, row))
        if len(pending) >= batch:
            yield from _redact_rows(pending, text_fields, deidentifier, audit)
            pending = []
    yield from _redact_rows(pending, text_fields, deidentifier, audit)


def _redact_rows(
    pending: list[tuple[str, dict[str, Any]]],
    text_fields: Sequence[str],
    deidentifier: Deidentifier,
    audit: DeidAudit,
) -> Iterator[dict[str, Any]]:
    texts = [row[name] for _, row in pending for name in text_fields if row[name] is not None]
    results = iter(deidentifier.redact_many(texts))
    for record_id, row in pending:
        for name in text_fields:
            if row[name] is None:  # nothing to redact; the row still counts as seen
                audit.add(record_id, DeidResult("", [], Counter(), []))
                continue
            result = next(results)
            audit.add(record_id, result)
            row[name] = result.text
        yield row


def deidentify_jsonl(
    input_path: str | Path,
    output_path: str | Path,
    text_fields: Sequence[str] = ("text",),
    config: DeidConfig | None = None,
    audit_path: str | Path | None = None,
    progress: bool = True,
    malformed: Any = None,
) -> DeidAudit:
    """Redact `text_fields` of every row of a JSONL file; write the rows and the audit JSON.

    The audit goes to `audit_path` (default ``OUT.audit.json``). Returns the audit. Lines that
    are not UTF-8 / JSON objects, or whose text field is not text, are skipped and counted
    in `malformed` (a `jsonl.MalformedLines`) and in the audit; no row at all is an error.
    """
    from tqdm import tqdm

    from radllama.core.jsonl import MalformedLines, read_jsonl_counted, write_jsonl
    from radllama.core.provenance import write_json

    config = config or DeidConfig()
    if config.ner is not None:  # a missing or foreign model fails before any work
        from radllama.deid.ner import check_model_dir

        check_model_dir(config.ner)
    input_path, output_path = Path(input_path), Path(output_path)
    if input_path.resolve() == output_path.resolve():
        raise DataError(f"--out {output_path} is the input file; choose another output path")
    audit_path = Path(audit_path) if audit_path else output_path.with_suffix(".audit.json")
    audit = DeidAudit.for_config(config)
    malformed = malformed if malformed is not None else MalformedLines()
    rows = read_jsonl_counted(input_path, malformed)
    if progress:
        rows = tqdm(rows, desc="deid", unit=" rows", disable=None, leave=False)
    redacted = deidentify_rows(
        rows, text_fields, Deidentifier(config), audit, str(input_path), malformed
    )
    temp = output_path.with_suffix(output_path.suffix + ".tmp")
    try:
        written = write_jsonl(output_path, redacted)
    except DataError:
        temp.unlink(missing_ok=True)
        raise
    if not written:
        output_path.unlink(missing_ok=True)
        reasons = ", ".join(f"{k} {v}" for k, v in malformed.by_reason.items())
        raise DataError(
            f"no JSON rows in {input_path}"
            + (f" ({malformed.count} malformed lines: {reasons})" if malformed.count else "")
            + "; pass a UTF-8 JSONL file with one object per line"
        )
    audit_path.parent.mkdir(parents=True, exist_ok=True)
    write_json(audit_path, {**audit.to_json(), "malformed": malformed.to_json()})
    return audit
