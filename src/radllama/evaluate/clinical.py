"""Rule-based, negation- and uncertainty-aware finding extractor and clinical agreement.

The extractor turns report text into `Finding`s: a normalised observation (synonyms map to
one canonical name through `OBSERVATIONS`), a polarity (``present`` / ``absent`` /
``uncertain``) and a location (laterality + anatomical site) when the text states one.

How it reads text (NegEx-style, Chapman et al. 2001, with the scope kept to the clause):

1. Split into sentences (``.`` not inside a number, ``;``, ``!``, ``?``, line breaks) and
   tokenise into lowercase words (hyphens split words: ``air-space`` = ``air space``).
2. Scan the words left to right, always taking the longest phrase that is known: a cue
   (negation / uncertainty / pseudo-cue / scope terminator), an observation, a site or a
   laterality word. Phrases are matched as whole words, so ``mass`` never fires in ``massive``.
3. A *terminator* (``but``, ``however``, ``although``, ``there is`` ...) starts a new clause.
   A finding's polarity comes from the nearest *post* cue after it in the same comma-delimited
   part of its clause (``effusion has resolved``, ``pneumonia cannot be excluded``); failing
   that, from the nearest *pre* cue before it in the clause (``no``, ``without``,
   ``possible``); failing that, it is present. A pseudo-cue (``no change in``, ``no interval
   change``) is a pre cue that keeps the finding present; ``to suggest`` is skipped so that
   ``no consolidation to suggest pneumonia`` negates pneumonia too.
4. Location: the nearest laterality and site words within a few tokens of the finding in the
   same comma-delimited part of its clause (``left lower lobe consolidation``: left, lower lobe).

Clinical agreement (`clinical_agreement`) compares the *sets* of (observation, polarity)
pairs of prediction and reference: precision = |pred ∩ ref| / |pred|, recall = |pred ∩ ref| /
|ref|, F1 their harmonic mean. A polarity flip (``effusion`` vs ``no effusion``) matches
nothing; ``present`` and ``uncertain`` are different polarities. Location is extracted but
not part of the match (impressions often drop the side). Special cases, so that the scores
stay meaningful for normal studies:

- both texts *normal* (no present or uncertain finding; absent mentions may differ, e.g.
  ``No acute disease`` vs ``No pneumothorax``) -> precision = recall = F1 = 1.0;
- otherwise an empty side gives 0.0 for the ratios that would divide by it.
- an empty prediction scores 0.0 (it asserts nothing, so it cannot agree).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal

from tqdm.auto import tqdm

from radllama.evaluate.metrics import Column, Metric, ScoringContext, register_metric

Polarity = Literal["present", "absent", "uncertain"]
PRESENT: Polarity = "present"
ABSENT: Polarity = "absent"
UNCERTAIN: Polarity = "uncertain"

VOCABULARY_VERSION = "1"

# fmt: off
# canonical observation -> synonyms (lowercase phrases; the plural of the last word is added
# automatically). The longest phrase wins, so "pericardial effusion" is never read as the
# (pleural) "effusion" and "mass effect" never as "mass".
OBSERVATIONS: dict[str, tuple[str, ...]] = {
    # ---- chest
    "pneumothorax": ("pneumothoraces", "ptx", "hydropneumothorax", "pleural air",
                     "pleural air collection"),
    "effusion": ("pleural effusion", "pleural fluid", "hydrothorax", "fluid in the pleural space",
                 "blunting", "blunted", "costophrenic blunting"),
    "consolidation": ("airspace consolidation", "air space consolidation", "airspace disease",
                      "air space disease", "alveolar consolidation", "airspace opacity",
                      "air space opacity"),
    "pneumonia": ("bronchopneumonia", "pneumonitis", "infectious process", "lobar pneumonia"),
    "atelectasis": ("atelectatic change", "subsegmental atelectasis", "lobar collapse",
                    "volume loss"),
    "edema": ("pulmonary edema", "interstitial edema", "alveolar edema", "oedema",
              "fluid overload"),
    "vascular congestion": ("pulmonary vascular congestion", "pulmonary venous congestion",
                            "cephalization", "pulmonary venous hypertension", "engorged",
                            "vascular engorgement", "engorgement"),
    "cardiomegaly": ("cardiac enlargement", "enlarged heart", "heart is enlarged",
                     "heart size is enlarged", "heart is mildly enlarged",
                     "enlarged cardiac silhouette", "cardiac silhouette is enlarged",
                     "enlargement of the cardiac silhouette",
                     "enlarged cardiomediastinal silhouette", "heart enlargement"),
    "nodule": ("pulmonary nodule", "nodular opacity", "nodular density", "micronodule"),
    "mass": ("lung mass", "pulmonary mass", "neoplasm", "tumor", "tumour", "malignancy",
             "carcinoma"),
    "opacity": ("opacification", "infiltrate", "density", "haziness", "airspace process",
                "lung opacity"),
    "emphysema": ("copd", "chronic obstructive pulmonary disease", "hyperinflation",
                  "hyperexpanded lungs", "hyperinflated lungs", "emphysematous change",
                  "hyperinflated", "hyperexpanded", "hyperexpansion"),
    "fracture": ("fx", "rib fracture", "displaced fracture", "nondisplaced fracture"),
    "lymphadenopathy": ("adenopathy", "enlarged lymph node", "hilar adenopathy",
                        "mediastinal adenopathy", "lymph node enlargement"),
    "granuloma": ("calcified granuloma", "granulomatous disease", "calcified nodule"),
    "scarring": ("scar", "fibrosis", "fibrotic change", "pulmonary fibrosis",
                 "interstitial fibrosis"),
    "interstitial disease": ("interstitial lung disease", "interstitial opacity",
                             "interstitial marking", "reticular opacity", "interstitial prominence",
                             "interstitial thickening"),
    "pleural thickening": ("pleural plaque", "pleural scarring"),
    "hiatal hernia": ("hiatus hernia",),
    "pneumomediastinum": (),
    "subcutaneous emphysema": ("subcutaneous air", "soft tissue emphysema"),
    "mediastinal widening": ("widened mediastinum", "widening of the mediastinum"),
    "aortic tortuosity": ("tortuous aorta", "ectatic aorta", "unfolded aorta",
                          "tortuosity of the aorta"),
    "calcification": ("calcified plaque", "atherosclerotic calcification",
                      "aortic calcification", "atherosclerosis"),
    "scoliosis": ("kyphoscoliosis", "dextroscoliosis", "levoscoliosis"),
    "degenerative change": ("degenerative disease", "spondylosis", "osteophyte",
                            "degenerative disc disease"),
    "free air": ("pneumoperitoneum", "free intraperitoneal air", "extraluminal air"),
    # ---- abdomen / pelvis
    "appendicitis": ("dilated appendix", "appendicolith", "periappendiceal inflammation",
                     "periappendiceal fat stranding"),
    "free fluid": ("ascites", "intraperitoneal fluid", "free intraperitoneal fluid"),
    "bowel obstruction": ("small bowel obstruction", "large bowel obstruction", "sbo",
                          "obstruction", "dilated bowel", "dilated small bowel", "ileus"),
    "hydronephrosis": ("hydroureteronephrosis", "pelvicaliectasis", "hydroureter"),
    "cholelithiasis": ("gallstone", "gall stone"),
    "cholecystitis": (),
    "renal calculus": ("renal calculi", "kidney stone", "nephrolithiasis", "urolithiasis",
                       "ureteral calculus", "ureteral stone", "ureterolithiasis", "renal stone"),
    "hepatic lesion": ("liver lesion", "hepatic mass", "liver mass", "hepatic cyst", "liver cyst",
                       "hepatic metastasis", "hepatic metastases"),
    "hepatic steatosis": ("fatty liver", "steatosis", "fatty infiltration of the liver"),
    "splenomegaly": ("enlarged spleen",),
    "hepatomegaly": ("enlarged liver",),
    "diverticulitis": (),
    "diverticulosis": ("diverticula", "diverticulum"),
    "colitis": ("enterocolitis", "bowel wall thickening"),
    "pancreatitis": (),
    "abscess": ("fluid collection", "collection"),
    "renal lesion": ("renal cyst", "kidney cyst", "renal mass", "kidney lesion"),
    "hernia": ("inguinal hernia", "umbilical hernia", "ventral hernia"),
    "aortic aneurysm": ("abdominal aortic aneurysm", "aneurysm", "aaa"),
    # ---- neuro
    "hemorrhage": ("haemorrhage", "hematoma", "bleed", "intracranial hemorrhage",
                   "subdural hematoma", "epidural hematoma", "subarachnoid hemorrhage",
                   "intraparenchymal hemorrhage", "intracranial hematoma"),
    "infarct": ("infarction", "stroke", "ischemia", "acute infarct", "ischemic change",
                "territorial infarct"),
    "mass effect": ("effacement", "sulcal effacement"),
    "midline shift": ("shift of the midline",),
    "hydrocephalus": ("ventriculomegaly", "ventricular enlargement"),
    "herniation": ("brain herniation", "uncal herniation", "tonsillar herniation",
                   "subfalcine herniation"),
    "white matter disease": ("small vessel ischemic disease", "microangiopathy",
                             "leukoaraiosis", "white matter hypodensity"),
    "cerebral edema": ("vasogenic edema", "cytotoxic edema"),
    "skull fracture": ("calvarial fracture",),
    "atrophy": ("cerebral atrophy",),
    # ---- spine
    "disc herniation": ("disk herniation", "herniated disc", "herniated disk", "disc protrusion",
                        "disk protrusion", "disc extrusion", "disk extrusion", "disc bulge",
                        "disk bulge"),
    "stenosis": ("spinal stenosis", "canal stenosis", "foraminal stenosis", "foraminal narrowing",
                 "canal narrowing", "central canal stenosis"),
    "compression fracture": ("compression deformity", "vertebral compression fracture",
                             "wedge compression", "burst fracture", "height loss"),
    "spondylolisthesis": ("anterolisthesis", "retrolisthesis", "listhesis"),
    "cord compression": ("spinal cord compression", "myelopathy", "cord signal abnormality"),
    # ---- cardiac / vascular
    "pericardial effusion": ("pericardial fluid",),
    "coronary calcification": ("coronary artery calcification", "coronary calcium",
                               "coronary atherosclerosis"),
    "pulmonary embolism": ("pulmonary emboli", "pulmonary embolus", "pe", "filling defect"),
    "aortic dissection": ("dissection",),
    "heart failure": ("congestive heart failure", "chf", "cardiac decompensation"),
    # ---- musculoskeletal
    "dislocation": ("subluxation", "dislocated"),
    "joint effusion": ("knee effusion", "suprapatellar effusion", "hemarthrosis",
                       "lipohemarthrosis"),
    "osteoarthritis": ("arthritis", "arthropathy", "joint space narrowing",
                       "degenerative joint disease", "osteoarthrosis"),
    "soft tissue swelling": ("soft tissue edema",),
    "bone lesion": ("lytic lesion", "sclerotic lesion", "osseous lesion", "blastic lesion",
                    "bony lesion", "osseous metastasis", "osseous metastases"),
    "osteopenia": ("osteoporosis", "demineralization"),
    "tear": ("rupture", "meniscal tear", "ligament tear"),
    # ---- devices and lines
    "tube": ("endotracheal tube", "ett", "et tube", "nasogastric tube", "ng tube", "enteric tube",
             "feeding tube", "chest tube", "tracheostomy tube", "gastrostomy tube", "drain"),
    "catheter": ("central line", "central venous catheter", "picc", "picc line", "port",
                 "swan ganz catheter", "dialysis catheter", "port a cath"),
    "pacemaker": ("pacer", "icd", "defibrillator", "pacing lead", "pacemaker lead"),
    "surgical hardware": ("sternotomy wires", "sternotomy", "surgical clip", "fixation hardware",
                          "orthopedic hardware", "prosthesis", "hardware"),
}

# Cues that set polarity or end a scope. Longest match wins, so "no change in" (pseudo) beats
# "no", and "is not excluded" (post uncertainty) is read whole. A phrase in two lists keeps
# the role of the first list read in `_lexicon` (post before pre).
NEGATION_PRE = ("no", "not", "without", "negative for", "free of", "no evidence of",
                "no signs of", "no sign of", "absence of", "resolution of", "no definite",
                "no longer", "rather than", "no new", "no acute", "never", "nor", "clear of",
                "no findings of", "no radiographic evidence of", "interval resolution of",
                "no evidence for")
NEGATION_POST = ("has resolved", "have resolved", "resolved", "is not seen", "are not seen",
                 "not seen", "not identified", "not present", "not evident", "not visualized",
                 "is absent", "are absent", "absent", "no longer seen", "no longer visible",
                 "no longer present", "no longer identified", "is unlikely", "unlikely",
                 "has cleared", "have cleared", "ruled out", "is excluded", "not appreciated")
UNCERTAIN_PRE = ("possible", "possibly", "probable", "probably", "may represent", "may be",
                 "might represent", "could represent", "could be", "cannot exclude",
                 "can not exclude", "cannot rule out", "can not rule out", "suspicious for",
                 "suspected", "suspect", "suggestive of", "suggests", "suggesting",
                 "concerning for", "question of", "questionable", "likely", "most likely",
                 "presumed", "presumably", "consider", "considerations include",
                 "differential includes", "differential diagnosis includes", "rule out",
                 "equivocal", "borderline", "versus", "vs", "may reflect", "may indicate",
                 "worrisome for", "concern for", "possibility of", "if")
UNCERTAIN_POST = ("cannot be excluded", "can not be excluded", "not excluded",
                  "cannot be ruled out", "not ruled out", "is not entirely excluded",
                  "is suspected", "are suspected", "is questioned", "is possible",
                  "is questionable", "is not excluded", "may not be demonstrated",
                  "may not be seen", "may not be visible")
PSEUDO = ("no change", "no interval change", "no significant change",
          "no significant interval change", "no substantial change", "no appreciable change",
          "not changed", "without change", "without interval change", "no increase",
          "not significantly changed", "no decrease", "unchanged")
SKIP = ("to suggest", "to indicate", "to explain", "to account for")
TERMINATORS = ("but", "however", "although", "though", "except", "aside from", "apart from",
               "whereas", "while", "yet", "there is", "there are", "there has been",
               "there have been", "with the exception of", "which", "otherwise",
               "secondary to", "due to")
LATERALITY = {"left": "left", "right": "right", "bilateral": "bilateral",
              "bilaterally": "bilateral", "both": "bilateral", "left sided": "left",
              "right sided": "right", "lt": "left", "rt": "right"}
SIDE_AND_SITE = {"bibasilar": ("bilateral", "lung base"), "bibasal": ("bilateral", "lung base"),
                 "biapical": ("bilateral", "apex")}
SITES: dict[str, tuple[str, ...]] = {
    "upper lobe": ("upper lung", "upper lung zone"),
    "middle lobe": (),
    "lower lobe": ("lower lung", "lower lung zone"),
    "lingula": ("lingular",),
    "lung base": ("base", "basilar", "basal"),
    "apex": ("apical", "apices"),
    "hilum": ("hilar", "perihilar", "hila"),
    "pleura": ("pleural",),
    "costophrenic angle": ("costophrenic sulcus",),
    "retrocardiac": (),
    "mediastinum": ("mediastinal", "paratracheal"),
    "liver": ("hepatic",), "kidney": ("renal",), "gallbladder": (),
    "appendix": ("appendiceal",), "pancreas": ("pancreatic",),
    "colon": ("sigmoid", "colonic", "cecum"), "small bowel": (),
    "pelvis": ("pelvic",), "spleen": ("splenic",),
    "frontal lobe": ("frontal",), "parietal lobe": ("parietal",),
    "temporal lobe": ("temporal",), "occipital lobe": ("occipital",),
    "cerebellum": ("cerebellar",), "basal ganglia": (),
    "ventricle": ("ventricular",),
    "cervical spine": ("cervical",), "thoracic spine": (), "lumbar spine": ("lumbar",),
    "rib": (), "clavicle": ("clavicular",), "hip": ("femoral neck",),
    "knee": ("patellar",), "shoulder": ("glenohumeral",),
    "wrist": ("distal radius",), "ankle": (),
}
# "<heart> <verb> [adverb] enlarged": radiologists phrase cardiomegaly in many ways; these
# phrases are generated rather than listed. Their "normal" counterparts carry their own
# negation ("heart size is normal" = cardiomegaly absent).
_HEART = ("heart", "heart size", "cardiac silhouette", "cardiomediastinal silhouette",
          "cardiac size", "cardiac shadow")
_VERB = ("is", "appears", "remains", "is again", "is now", "are")
_DEGREE = ("", "mildly", "slightly", "moderately", "markedly", "severely", "minimally")
_LARGE = ("enlarged", "large", "increased")
_NORMAL = ("normal", "within normal limits", "normal in size", "not enlarged")
CARDIOMEGALY_PHRASES = tuple(
    " ".join(w for w in (heart, verb, degree, large) if w)
    for heart in _HEART for verb in _VERB for degree in _DEGREE for large in _LARGE
) + tuple(f"{degree} enlarged {heart}".strip() for heart in _HEART for degree in _DEGREE)
NORMAL_HEART_PHRASES = tuple(
    f"{heart} {verb} {normal}" for heart in _HEART for verb in ("is", "are", "appears", "remains")
    for normal in _NORMAL
) + tuple(f"{heart} {normal}" for heart in _HEART for normal in _NORMAL[:3]) + tuple(
    f"normal {heart}" for heart in _HEART
)
# fmt: on
_LEVEL = re.compile(r"^[ctl]\d{1,2}$")  # vertebral levels: c5, t12, l4 (l4-l5 -> l4 ... l5)

_SENTENCE_SPLIT = re.compile(r"(?<!\d)\.(?!\d)|[;!?\n]")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_LOCATION_WINDOW_BEFORE = 6  # tokens: "small left lower lobe consolidation" -> left is 4 back
_LOCATION_WINDOW_AFTER = 5  # tokens: "consolidation in the left lower lobe"


@dataclass(frozen=True)
class Finding:
    """One observation as stated in the text."""

    observation: str
    polarity: Polarity
    laterality: str | None
    site: str | None
    sentence: str
    text: str  # the words that matched, as written (lowercased)

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def _plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "sh", "ch")):
        return word + "es"
    return word + "s"


def _words(phrase: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(phrase.lower()))


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[tuple[str, ...], tuple[str, str]], int]:
    """Phrase (word tuple) -> (kind, value), and the longest phrase length in words."""
    lexicon: dict[tuple[str, ...], tuple[str, str]] = {}

    def add(phrase: str, kind: str, value: str, plural: bool = False) -> None:
        words = _words(phrase)
        lexicon.setdefault(words, (kind, value))
        if plural:
            lexicon.setdefault((*words[:-1], _plural(words[-1])), (kind, value))

    # Cues first: on a clash the cue keeps its role ("absent" is a cue, not a finding).
    for kind, phrases in (
        ("pseudo", PSEUDO),
        ("skip", SKIP),
        ("post_neg", NEGATION_POST),
        ("post_unc", UNCERTAIN_POST),
        ("pre_neg", NEGATION_PRE),
        ("pre_unc", UNCERTAIN_PRE),
        ("term", TERMINATORS),
    ):
        for phrase in phrases:
            add(phrase, kind, phrase)
    for canonical, synonyms in OBSERVATIONS.items():
        for phrase in (canonical, *synonyms):
            add(phrase, "obs", canonical, plural=True)
    for phrase in CARDIOMEGALY_PHRASES:
        add(phrase, "obs", "cardiomegaly")
    for phrase in NORMAL_HEART_PHRASES:
        add(phrase, "obs_absent", "cardiomegaly")
    for phrase, (side, site) in SIDE_AND_SITE.items():
        add(phrase, "side_site", f"{side}|{site}")
    for phrase, side in LATERALITY.items():
        add(phrase, "side", side)
    for site, synonyms in SITES.items():
        for phrase in (site, *synonyms):
            add(phrase, "site", site, plural=True)
    return lexicon, max(len(k) for k in lexicon)


def _level(words: list[str], i: int) -> tuple[tuple[str, str] | None, int]:
    """Vertebral level or range at word i: ``l4`` -> l4, ``l4-l5`` (two words) -> l4-l5."""
    if not _LEVEL.match(words[i]):
        return None, 1
    if i + 1 < len(words) and _LEVEL.match(words[i + 1]):
        return ("site", f"{words[i]}-{words[i + 1]}"), 2
    return ("site", words[i]), 1


@dataclass
class _Item:
    kind: str
    value: str
    start: int  # token index
    end: int  # token index (exclusive)
    clause: int
    part: int  # comma-delimited part within the clause (scope of post cues)


def _scan(sentence: str) -> list[_Item]:
    """Longest-match scan of one sentence into cue/observation/location items."""
    lexicon, longest = _lexicon()
    spans = [(m.group(), m.start()) for m in _WORD.finditer(sentence)]
    words = [w for w, _ in spans]
    comma_before = [sentence.rfind(",", 0, pos) for _, pos in spans]  # comma positions
    items: list[_Item] = []
    clause = part = 0
    last_comma = -1
    i = 0
    while i < len(words):
        if comma_before[i] > last_comma:  # a comma between the previous token and this one
            last_comma = comma_before[i]
            part += 1
        for n in range(min(longest, len(words) - i), 0, -1):
            hit = lexicon.get(tuple(words[i : i + n]))
            if hit is not None:
                break
        else:
            hit, n = _level(words, i)
        if hit is not None:
            kind, value = hit
            if kind == "term":
                clause += 1
                part += 1
            elif kind == "side_site":  # "bibasilar" = bilateral + lung base
                side, site = value.split("|")
                items.append(_Item("side", side, i, i + n, clause, part))
                items.append(_Item("site", site, i, i + n, clause, part))
            else:
                items.append(_Item(kind, value, i, i + n, clause, part))
        i += n
    return items


def _polarity(items: list[_Item], index: int) -> Polarity:
    """Nearest post cue in the same clause part, else nearest pre cue in the clause."""
    finding = items[index]
    for item in items[index + 1 :]:
        if item.clause != finding.clause or item.part != finding.part:
            break
        if item.kind == "post_neg":
            return ABSENT
        if item.kind == "post_unc":
            return UNCERTAIN
    for item in reversed(items[:index]):
        if item.clause != finding.clause:
            break
        if item.kind == "pre_neg":
            return ABSENT
        if item.kind == "pre_unc":
            return UNCERTAIN
        if item.kind == "pseudo":
            return PRESENT
    return PRESENT


def _location(items: list[_Item], index: int) -> tuple[str | None, str | None]:
    """Nearest laterality and site items around the finding, within its clause part."""
    finding = items[index]
    found: dict[str, tuple[int, str]] = {}
    for item in items:
        same_part = item.clause == finding.clause and item.part == finding.part
        if not same_part or item.kind not in ("side", "site"):
            continue
        if item.end <= finding.start:
            distance = finding.start - item.end
            if distance > _LOCATION_WINDOW_BEFORE:
                continue
        elif item.start >= finding.end:
            distance = item.start - finding.end
            if distance > _LOCATION_WINDOW_AFTER:
                continue
        else:
            continue
        if item.kind not in found or distance < found[item.kind][0]:
            found[item.kind] = (distance, item.value)
    side = found.get("side", (0, None))[1]
    site = found.get("site", (0, None))[1]
    return side, site


def split_sentences(text: str) -> list[str]:
    """Sentences of a report (numbers such as ``1.5 cm`` are not split)."""
    return [s.strip() for s in _SENTENCE_SPLIT.split(text or "") if s.strip()]


def extract_sentence_findings(sentence: str) -> list[Finding]:
    """Findings of one sentence (see the module docstring for the rules)."""
    lowered = sentence.lower()
    items = _scan(lowered)
    words = _WORD.findall(lowered)
    findings = []
    for index, item in enumerate(items):
        if item.kind not in ("obs", "obs_absent"):
            continue
        side, site = _location(items, index)
        findings.append(
            Finding(
                observation=item.value,
                polarity=ABSENT if item.kind == "obs_absent" else _polarity(items, index),
                laterality=side,
                site=site,
                sentence=sentence,
                text=" ".join(words[item.start : item.end]),
            )
        )
    return findings


def extract_findings(text: str) -> list[Finding]:
    """All findings of a report text, in order of appearance.

    >>> [(f.observation, f.polarity) for f in extract_findings("No PTX. Possible left effusion.")]
    [('pneumothorax', 'absent'), ('effusion', 'uncertain')]
    """
    return [f for sentence in split_sentences(text) for f in extract_sentence_findings(sentence)]


def finding_pairs(findings: list[Finding]) -> set[tuple[str, str]]:
    """The (observation, polarity) set that clinical agreement compares."""
    return {(f.observation, f.polarity) for f in findings}


def is_normal(text: str) -> bool:
    """True when the text asserts no present or uncertain finding."""
    return all(f.polarity == ABSENT for f in extract_findings(text))


def clinical_agreement(prediction: str, reference: str) -> dict[str, float]:
    """Clinical precision/recall/F1 over (observation, polarity) pairs (rules: module doc)."""
    if not (prediction or "").strip():
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    pred_findings, ref_findings = extract_findings(prediction), extract_findings(reference)
    pred_normal = all(f.polarity == ABSENT for f in pred_findings)
    ref_normal = all(f.polarity == ABSENT for f in ref_findings)
    if pred_normal and ref_normal:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    pred, ref = finding_pairs(pred_findings), finding_pairs(ref_findings)
    overlap = len(pred & ref)
    precision = overlap / len(pred) if pred else 0.0
    recall = overlap / len(ref) if ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


# ---- the metric this module registers (radllama.evaluate.metrics) ----

CLINICAL_MATCHING = (
    "sets of (observation, polarity) pairs; precision=|pred&ref|/|pred|, recall=|pred&ref|/|ref|;"
    " both normal (no present/uncertain finding) -> 1.0; empty prediction -> 0.0"
)
HALLUCINATION_COLUMN = Column("hallucination_rate", "Hallucination rate", higher_is_better=False)


def _score_clinical(ctx: ScoringContext) -> None:
    """Clinical P/R/F1 per row (hallucination comes from the same extractor: see below)."""
    rows = tqdm(ctx.rows, desc="clinical", disable=not ctx.progress or None)
    for row, sample in zip(rows, ctx.per_sample, strict=True):
        for key, value in clinical_agreement(row["prediction"], row["reference"]).items():
            sample[f"clinical_{key}"] = value
    from radllama.evaluate.hallucination import _score_hallucination

    _score_hallucination(ctx)


def _clinical_record(config: Any, judge_config: Any) -> dict[str, Any]:
    return {"vocabulary_version": VOCABULARY_VERSION, "matching": CLINICAL_MATCHING}


register_metric(Metric(
    name="clinical", score=_score_clinical, describe=_clinical_record,
    columns=(Column("clinical_precision", "Clinical P"), Column("clinical_recall", "Clinical R"),
             Column("clinical_f1", "Clinical F1"), HALLUCINATION_COLUMN),
    order=30,
))  # fmt: skip
