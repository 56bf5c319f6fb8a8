"""How a name candidate is accepted and trimmed: capitalised candidates after a cue or shaped
like a person, and lower-case names after a cue or before a credential."""

from __future__ import annotations

from radllama.deid.lexicons import (
    CLINICAL_SET,
    COMMON_SET,
    EPONYM_HEADS,
    FIRST_NAMES,
    GIVEN_WORDS,
    WORD_SURNAMES,
)
from radllama.deid.recognizers.ages import _AGE_AFTER_NAME_RE
from radllama.deid.recognizers.keywords import _KEYWORD_KIND
from radllama.deid.recognizers.names import (
    _AFTER_CUES,
    _COMMUNICATION_RE,
    _CREDENTIAL_AFTER_RE,
    _DIGIT_AFTER_RE,
    _GIVEN_ALONE_AFTER_RE,
    _INITIAL_RE,
    _LOWER_CUE_WORDS,
    _LOWER_NEXT_WORD_RE,
    _LOWER_WORD_RE,
    _NEXT_WORD_RE,
    _NOT_NAMES,
    _ROUTED_TO_RE,
    _cue_before,
    _given_word,
    _is_common,
    _sentence_before,
    _weak_cue_before,
    _weakest_cue_before,
    _with_particles,
    words_of,
)
from radllama.deid.recognizers.patterns import (
    _CREDENTIAL_WORDS,
    _LINE_END_RE,
    _LOWER_PARTICLES,
    _WORD_RE,
)
from radllama.deid.spans import Span


class NameRules:
    """Mixin of `Deidentifier` (uses its `allow`, `cue_stop` and the other rule methods)."""

    def _nameish_candidate(self, text: str, start: int, end: int) -> Span | None:
        """A capitalised-word candidate: rejected at once when every word is clinical or
        common (the usual case), else checked by `_nameish`."""
        stop = self.cue_stop  # most candidates are "FINDINGS: The ..." or "TECHNIQUE: Axial CT"
        words = text[start:end].replace(",", " ").split()
        if all(word.lower() in stop for word in words):
            if len(words) == 1 and _given_word(words[0]) and _GIVEN_ALONE_AFTER_RE.match(text, end):
                if _cue_before(text, start) or _weak_cue_before(text, start):
                    return Span(start, end, "NAME")  # "d/w April at 09:43", "left with June at"
            return None
        return self._nameish(text, start, end)

    @staticmethod
    def _strong_may_differ(text: str, start: int, end: int) -> bool:
        """Can `_name_span(strong=True)` differ from the plain cue span? Only with a word
        surname or a given name that is a word in the candidate (the rest of the time the
        second call is skipped)."""
        return any(
            w.lower() in WORD_SURNAMES or w.lower() in GIVEN_WORDS
            for w in text[start:end].replace(",", " ").split()
        )

    def _nameish(self, text: str, start: int, end: int) -> Span | None:
        """Accept a capitalised-word candidate after a cue, or one that looks like a person."""
        span = self._name_span(text, start, end, cue=True)
        if span is None:  # only clinical or common words ("FINDINGS: The lungs"): no cue check
            return None
        span = _with_particles(text, span)  # "van den Heuvel": the particles belong to the name
        if _cue_before(text, span[0]):
            # a label ("Patient:", "RESIDENT:") is a strong cue; a verb cue ("THE PATIENT WILL
            # REQUIRE") is not strong enough to keep a given name that is a word
            label = text[max(0, span[0] - 3) : span[0]].rstrip().endswith(":")
            if not label or not self._strong_may_differ(text, start, end):
                return span
            return _with_particles(text, self._name_span(text, start, end, cue=True, strong=True))
        name_start, name_end, _ = span
        following = _NEXT_WORD_RE.match(text, name_end)
        if following and following.group(1).lower() in EPONYM_HEADS:
            return None  # "Mary Joseph nodule", "Fleischner criteria", "per Graves disease"
        if _weak_cue_before(text, name_start):
            # "by S. Paget", "the patient's son, Noor Huang", "per technologist Eleanor Day"
            if not self._strong_may_differ(text, start, end):
                return span
            return _with_particles(text, self._name_span(text, start, end, cue=True, strong=True))
        if start < name_start and _weak_cue_before(text, start):
            # "SON, JUNE POPOVIC": the cue is before the given name that the first pass trimmed
            strong = self._name_span(text, start, end, cue=True, strong=True)
            if strong is not None and strong[0] == start:
                return _with_particles(text, strong)
        after = text[name_end : name_end + 16].lower()
        if after.startswith(_AFTER_CUES) and len(words_of(text, name_start, name_end)) >= 2:
            return span  # "Padraig Murphy was informed", "Hyun-woo Zhou (beeper #6058)"
        if _weakest_cue_before(text, name_start) or _ROUTED_TO_RE.search(
            text, max(0, name_start - 12), name_start
        ):
            inner = text[name_start:name_end].split(", ")
            routed = _ROUTED_TO_RE.search(text, max(0, name_start - 12), name_start) is not None
            sentence = _sentence_before(text, name_start)
            # a person is met, called or spoken "with"/"to": "THICKENING WITH COMB SIGN" and
            # "CYST WITH THIN SEPTATIONS" have no such verb before them
            spoken = routed or _COMMUNICATION_RE.search(sentence) is not None
            if (
                len(inner) == 2
                and spoken
                and all(w.lower() in _LOWER_PARTICLES for w in inner[0].split()[:-1])
                and " " not in inner[1]
                and (
                    inner[1].lower() not in (self.cue_stop if routed else self.allow)
                    or (routed and inner[1].lower() in GIVEN_WORDS)  # "Ramírez, April"
                )
                and (routed or inner[0].lower() not in self.cue_stop)
            ):
                # "routed to Colles, Zainab"; after "system to"/"routed to" the surname may be
                # a word and the given name an eponym ("STONE, LAKSHMI", "SANCHEZ, FRANK")
                return span
            plain = self._name_span(text, name_start, name_end, cue=False)
            inner = text[name_start:name_end].replace(",", " ").split()
            if (
                plain == span
                and len(inner) >= 2
                and not any(w.lower() in self.allow for w in inner if w not in _LOWER_PARTICLES)
                and spoken
            ):
                return span  # "DISCUSSED THESE RESULTS WITH HASSAN NASSER"
        words = text[name_start:name_end].replace(",", " ").split()
        at_line_end = name_end == len(text) or text[name_end] == "\n"
        if at_line_end and len(words) == 2 and _INITIAL_RE.match(words[0]):
            # "... with questions. I. Kowalski-Brown" closing a report: a signature
            return None if words[1].lower() in self.cue_stop else span
        if (name_start == 0 or text[name_start - 1] == "\n") and 2 <= len(words) <= 4:
            # At the start of a line: a "SMITH, JOHN   06/17/22" header or a name alone on its
            # line (a signature) may have eponym surnames (BELL, PAGET) but no clinical or
            # common word; other line starts ("Chiara Esposito 13 October 2016.", "Wanjiru
            # Diallo was informed") need every word outside the whole allow-list.
            whole_line = name_end == len(text) or text[name_end] == "\n"
            if "," in text[name_start:name_end] or whole_line:
                if not any(w.lower() in self.cue_stop for w in words):
                    return span
            elif not any(w.lower() in self.allow for w in words) and (
                _DIGIT_AFTER_RE.match(text, name_end) or _AGE_AFTER_NAME_RE.match(text, name_end)
            ):
                return span  # "Chiara Esposito 13 October 2016.", "Amara Wood, 100 year old"
            elif (
                words[0].lower() not in self.allow
                and not any(w.lower() in self.cue_stop for w in words[1:])
                and _AGE_AFTER_NAME_RE.match(text, name_end)
            ):
                return span  # "Eoin Paget, 77-year-old female": an eponym surname before an age

        span = self._name_span(text, start, end, cue=False)
        if span is None:
            return None
        name_start, name_end, _ = span
        words = text[name_start:name_end].replace(",", " ").split()
        if len(words) < 2:
            return None
        if words[0].lower() in FIRST_NAMES:  # "John Smith"; "Mohammed Bennett" despite Bennett
            stop = self.cue_stop
            return None if any(w.lower() in stop for w in words[1:]) else span
        if any(w.lower() in self.allow for w in words):
            return None
        if name_start == 0 or text[name_start - 1] == "\n":
            return None
        before = text[max(0, name_start - 2) : name_start]
        mid_sentence = len(before) == 2 and before[1] == " " and before[0].islower()
        return span if mid_sentence else None

    def _name_span(
        self, text: str, start: int, end: int, cue: bool, strong: bool = False
    ) -> Span | None:
        """Trim allow-listed words off both ends of a name candidate; None if nothing is left.
        `strong`: a real cue precedes ("Dr.", "Patient:", "discussed with"), so a given name
        that is no word keeps a surname that is one ("Dr. Kavya Stone", "Eleanor Day")."""
        tokens = list(_WORD_RE.finditer(text, start, end))
        possessive = "'" in text[start:end] or "’" in text[start:end]
        for i, token in enumerate(tokens if possessive else ()):
            if token.group().endswith(("'s", "'S", "’s")) and len(token.group()) > 3:
                # "DR. OKAFOR'S OFFICE": the name ends before the possessive
                cut = token.start() + len(token.group()) - 2
                tokens = tokens[:i] + [_WORD_RE.match(text, token.start(), cut)]  # type: ignore[list-item]
                break
        allow = self.cue_stop if cue else self.allow
        while tokens and _is_common(tokens[0].group(), allow):
            if len(tokens) > 1 and _given_word(tokens[0].group()):
                first, after = tokens[0].group(), tokens[1].group()
                if first[1:2].islower() and not _is_common(after, allow):
                    break  # "April Garcia", "Will Smith": a given name, not the word
                if (
                    strong
                    and after.isupper()
                    and len(after) > 1
                    and not _is_common(after, self.cue_stop)
                ):
                    break  # "DR. WILL NWOSU", "RESIDENT: WILL WILMS"; not "PATIENT WILL REQUIRE"
                if strong and after.lower() in WORD_SURNAMES and after[:1].isupper():
                    break  # "Reviewed by Will Day, MD"
            if cue and len(tokens) > 1 and text.startswith(", ", tokens[0].end()):
                if not _is_common(tokens[1].group(), self.allow):
                    break  # "NAME: NG, SAKURA": "Last, First" after a cue keeps its surname
            tokens.pop(0)
        while tokens and _is_common(tokens[-1].group(), allow):
            last = tokens[-1].group()
            if len(tokens) > 2 and len(last) == 1 and last.isupper() and "," in text[start:end]:
                break  # "Robinson, Jennifer A": a middle initial, not the article
            if len(tokens) > 1 and last[:1].isupper() and last.lower() in GIVEN_WORDS:
                if text[tokens[-2].end() : tokens[-1].start()] == ", ":
                    break  # "Chatterjee, Will", "Romano, May", "ABARA, WILL"
            if cue and len(tokens) > 1 and _CREDENTIAL_AFTER_RE.match(text, tokens[-1].end()):
                break  # "Attending: Jesus Day, MD": the word before a credential is a surname
            if len(tokens) > 1 and last[:1].isupper():
                before = tokens[-2].group()
                same_case = last[1:2].islower() or (
                    last.isupper() and before.isupper() and last.lower() not in COMMON_SET
                )  # "KATHLEEN DAY" but not "WALTER, WAS"
                if same_case and (_INITIAL_RE.match(before) or before.lower() in FIRST_NAMES):
                    break  # "Kathleen Day", "G. Day", "S. Stone": a surname that is a word
                if (
                    strong
                    and same_case
                    and last.lower() in WORD_SURNAMES
                    and len(before) > 2
                    and before[:1].isupper()
                    and (before.lower() not in self.allow or before.lower() in GIVEN_WORDS)
                ):
                    break  # "Dr. Kavya Stone", "technologist Eleanor Day"
            tokens.pop()
        if not tokens:
            return None
        if len(tokens) == 1 and len(tokens[0].group().rstrip(".")) == 1:
            if not cue:
                return None  # a lone initial is not enough evidence
            species = _LOWER_NEXT_WORD_RE.match(text, tokens[0].end())
            if species is not None and species.group("w") in CLINICAL_SET:
                return None  # "caused by E. coli", "S. aureus": a genus initial
        stop, last = tokens[-1].end(), tokens[-1].group()
        if last.endswith(".") and len(last) > 2 and "." not in last[:-1]:
            stop -= 1  # a sentence full stop after "Smith.", not initials such as "J.C."
        return Span(tokens[0].start(), stop, "NAME")

    def _lower_name_before(self, text: str, comma: int) -> Span | None:
        """One to four lower-case words (no clinical word) ending at `comma` ("dorothy hill",
        "russo, rania"), starting after a line start, colon, "by" or "with"."""
        head = text[max(0, comma - 48) : comma]
        cut = max(head.rfind(c) for c in "\n:;.(|")
        if cut >= 0 and head[cut] == "." and cut >= 1 and head[cut - 1].isalpha():
            if cut < 2 or not head[cut - 2].isalpha():
                cut = max(head.rfind(c, 0, cut) for c in "\n:;(|")  # "e." is an initial
        words = head[cut + 1 :].split(" ")
        taken: list[str] = []
        for word in reversed(words):
            bare = word.rstrip(",.").lower()
            if not word or not _LOWER_WORD_RE.fullmatch(word) or len(taken) >= 4:
                break
            if bare in _LOWER_CUE_WORDS:
                break
            taken.append(word)
        if len(taken) < 2 and not (taken and text.startswith(",", comma - len(taken[0]) - 2)):
            return None
        bare = [w.rstrip(",.") for w in taken if len(w.rstrip(",.")) > 1]  # initials aside
        initials = len(bare) < len(taken)
        clinical = [w for w in bare if w in CLINICAL_SET]
        if clinical == bare[:1] and len(bare) >= 2 and bare[-1] not in self.allow:
            clinical = []  # reversed order: "ng" in "sakura ng, md" is the surname
        # initials mark a person even before an eponym surname ("j. d. foley, md")
        if not bare or clinical or (all(w in self.allow for w in bare) and not initials):
            return None  # "no change, md" is not a name; "dorothy hill" is (hill is common)
        length = len(" ".join(reversed(taken)))
        return Span(comma - length, comma, "NAME")

    def _lower_name(self, text: str, start: int, end: int, label: bool = False) -> Span | None:
        """Trim a lower-case name candidate at the first common/clinical word or credential."""
        tokens = list(_WORD_RE.finditer(text, start, end))
        if label and len(tokens) == 1 and _LINE_END_RE.match(text, tokens[0].end()):
            word = tokens[0].group().rstrip(".").lower()
            if word not in COMMON_SET and word not in _NOT_NAMES and word not in _CREDENTIAL_WORDS:
                return Span(start, tokens[0].start() + len(word), "NAME")  # "rad: stone" alone
        kept = []
        stop = self.cue_stop if label else self.allow  # after a label an eponym is a name
        for i, token in enumerate(tokens):
            word = token.group().rstrip(".,").lower()
            last_first = i == 1 and text.startswith(", ", tokens[0].end())
            if len(token.group()) == 2 and token.group()[1] == ".":
                kept.append(token)  # "given to a. khoury": an initial, not the article "a"
                continue
            if word in _KEYWORD_KIND and i and not (last_first and word in GIVEN_WORDS):
                break  # "jane doe, pgr 4411": the next keyword ends it; "rao, june" does not
            if word in _CREDENTIAL_WORDS or (word in stop and word not in _LOWER_PARTICLES):
                if not (
                    i == 0
                    and len(tokens) > 1
                    and text.startswith(", ", token.end())
                    and tokens[1].group().rstrip(".,").lower() not in self.cue_stop
                ) and not (
                    i == 1
                    and text.startswith(", ", tokens[0].end())
                    and (word not in self.cue_stop or word in GIVEN_WORDS)
                ):
                    # "dictated by: day, chiamaka md": "last, first" keeps a word surname, and
                    # "summers, douglas md", "rao, june md" a given name that is a word
                    surname = (
                        i == 1
                        and len(kept) == 1
                        and (word in WORD_SURNAMES or word not in self.cue_stop)
                        and kept[0].group().rstrip(".,").lower() not in self.allow
                        and text[kept[0].end() : token.start()] == " "
                    )
                    if not surname:
                        break
                    kept.append(token)  # "per technologist femke hodgkin": a given name that
                    break  # is no word, then a surname that is one; the name ends there
            kept.append(token)
        while kept and kept[-1].group().lower() in _LOWER_PARTICLES:
            kept.pop()
        if not kept or kept[0].group().lower() in _LOWER_PARTICLES and len(kept) == 1:
            return None
        if len(kept) == 1 and len(kept[0].group().rstrip(".")) == 1:
            species = _LOWER_NEXT_WORD_RE.match(text, kept[0].end())
            if species is not None and species.group("w") in CLINICAL_SET:
                return None  # "caused by s. aureus": a genus initial
        stop = kept[-1].end()
        if text[stop - 1] == "." and len(kept[-1].group()) > 2:
            stop -= 1
        return Span(kept[0].start(), stop, "NAME")
