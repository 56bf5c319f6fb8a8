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

import bisect
import calendar
import hashlib
import heapq
import itertools
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field

from radllama.core.config import StrictModel
from radllama.core.errors import DataError
from radllama.deid.us_cities import US_CITIES

PhiType = Literal[
    "NAME",
    "DATE",
    "TIME",
    "AGE",
    "MRN",
    "ACCESSION",
    "SSN",
    "ID",
    "PHONE",
    "FAX",
    "EMAIL",
    "URL",
    "IP",
    "ADDRESS",
    "ZIP",
    "CITY",
    "HOSPITAL",
]
PHI_TYPES: tuple[str, ...] = get_args(PhiType)  # the type names, in this order
PLACEHOLDERS: dict[str, str] = {
    "NAME": "[NAME]",
    "DATE": "[DATE]",
    "TIME": "[TIME]",
    "AGE": "[AGE]",
    "MRN": "[ID]",
    "ACCESSION": "[ID]",
    "SSN": "[ID]",
    "ID": "[ID]",
    "PHONE": "[PHONE]",
    "FAX": "[PHONE]",
    "EMAIL": "[EMAIL]",
    "URL": "[URL]",
    "IP": "[IP]",
    "ADDRESS": "[ADDRESS]",
    "ZIP": "[ZIP]",
    "CITY": "[CITY]",
    "HOSPITAL": "[HOSPITAL]",
}


class DeidConfig(StrictModel):
    """De-identification settings (the `deid:` block of a prepare config)."""

    mode: Literal["placeholder", "surrogate"] = Field(
        "placeholder",
        description="placeholder: typed tags such as [NAME], [DATE]; surrogate: consistent fake "
        "values (same original -> same surrogate, dates shifted by a fixed offset, year kept).",
    )
    surrogate_seed: int = Field(
        0, description="Seed of the surrogate values and of the date shift (surrogate mode)."
    )
    audit_sample_size: int = Field(
        50, ge=0, description="Redactions shown with context in the audit for human review."
    )
    keep_types: list[PhiType] = Field(
        default_factory=list,
        description="Identifier types to leave in the text (e.g. DATE under a data use "
        "agreement that allows dates). Empty = remove every Safe Harbor type.",
    )
    extra_allow_terms: list[str] = Field(
        default_factory=list,
        description="Site-specific words that are never names (local eponyms, device brands), "
        "added to the built-in clinical allow-list; matched case-insensitively.",
    )
    audit_context_chars: int = Field(
        40, ge=0, description="Characters of context on each side of an audited redaction."
    )


# ------------------------------------------------------------------------------------------
# Word lists
# ------------------------------------------------------------------------------------------

# Words that are never a name, even capitalised after a cue ("discussed with Radiology") or
# in a capitalised pair ("Morison Pouch"): clinical eponyms, anatomy, report vocabulary and
# common English words. Lower case; only consulted for name *candidates*, so its size costs
# nothing on ordinary prose.
_EPONYMS = """
hodgkin hodgkins non-hodgkin crohn crohns graves foley swan-ganz swan ganz morison morisons
baker bakers salter-harris salter harris bi-rads birads bosniak fleischner schatzki zenker
zenkers chiari wilms paget pagets kerley hounsfield li-rads lirads ti-rads tirads pi-rads pirads
lung-rads o-rads c-rads le-fort lefort colles smith-fracture barton bennett rolando boxer jones
monteggia galeazzi hill-sachs hill sachs bankart segond weber lisfranc chopart maisonneuve
kienbock kienbocks perthes legg-calve-perthes legg calve osgood-schlatter osgood schlatter
sinding-larsen scheuermann scheuermanns klippel-feil klippel feil arnold dandy-walker dandy
walker sturge-weber sturge virchow virchows robin willis circle-of-willis sylvian sylvius
monro luschka magendie rathke rathkes meckel meckels hirschsprung barrett barretts mallory-weiss
mallory weiss boerhaave budd-chiari budd caroli klatskin courvoisier murphy murphys mcburney
mcburneys morgagni bochdalek spigelian richter littre amyand grynfeltt petit treitz treitzs
glisson glissons couinaud cantlie gerota gerotas zuckerkandl denonvilliers douglas retzius
alcock alcocks waldeyer waldeyers eustachian fallopian wharton whartons stensen stensens
stenson stensons warthin warthins kimura kikuchi castleman castlemans langerhans askin ewing
ewings kaposi kaposis burkitt burkitts waldenstrom sjogren sjogrens still stills behcet behcets
wegener wegeners takayasu kawasaki marfan marfans ehlers-danlos ehlers danlos turner turners
down downs klinefelter tay-sachs gaucher gauchers niemann-pick wilson wilsons menkes alzheimer
alzheimers parkinson parkinsons huntington huntingtons creutzfeldt-jakob binswanger
binswangers wernicke wernickes korsakoff guillain-barre guillain barre bell bells horner
horners pancoast pancoasts hampton hamptons westermark westermarks fleischner-sign kartagener
kartageners mounier-kuhn swyer-james macleod poland mendelson mendelsons loeffler loefflers
caplan caplans felty dressler dresslers ebstein ebsteins fallot fallots eisenmenger blalock
blalock-taussig glenn fontan rastelli jatene kommerell kommerells adamkiewicz stanford debakey
leriche lerichs nutcracker may-thurner thurner paget-schroetter schroetter raynaud raynauds
buerger buergers mondor mondors tietze tietzes cooper coopers montgomery montgomerys
bartholin bartholins skene skenes nabothian gartner gartners krukenberg krukenbergs meigs
brenner asherman ashermans peyronie peyronies fournier fourniers whipple whipples puestow
nissen roux-en-y roux billroth hartmann hartmanns kock bricker indiana mitrofanoff gamekeeper
stener segmental frank frankfort reid baastrup baastrups bertolotti bertolottis forestier
schmorl schmorls tarlov tarlovs modic modics chance jefferson hangman hangmans clay-shoveler
anderson montgomery-asberg hoffa hoffas wrisberg humphrey baker-cyst pellegrini-stieda
pellegrini stieda osteochondritis freiberg freibergs kohler kohlers sever severs haglund
haglunds achilles morton mortons stryker brodie brodies codman codmans garre looser
milkman pott potts charcot charcots sudeck lhermitte lhermittes brown-sequard bezold mastoid
ramsay hunt dix-hallpike valsalva trendelenburg fowler heimlich hickman broviac groshong
port-a-cath mediport dobhoff sengstaken-blakemore sengstaken blakemore minnesota salem
pleurx denver tenckhoff jackson-pratt jackson pratt blake penrose malecot cope pigtail
greenfield celect denali gunther tulip bird's nest optease option kimray simon nitinol
guidewire seldinger doppler fick ohm holter veriphy powerscribe epic cerner vitrea
glasgow hashimoto hashimotos de quervain quervain riedel riedels
""".split()

_CLINICAL = """
abdomen abdominal ablation abnormal abnormality abscess absent accessory acetabulum acromion
acute adenoma adenopathy adjacent adrenal advanced agenesis air airspace airway alveolar
ampulla anatomy anastomosis aneurysm angiogram angiography angle ankle anterior anterolateral
aorta aortic apex apical appendicitis appendix arch area arm arteries artery arthritis
arthroplasty articular ascending ascites aspiration asymmetric atelectasis atherosclerosis
atherosclerotic atrial atrium atrophy attenuation axial axilla axillary azygos back barium base
basilar benign bibasilar bilateral biliary biopsy bladder blood body bone bones bony bowel
brachial brain breast bronchi bronchial bronchiectasis bronchus bulb bursa bursitis calcaneus
calcification calcifications calcified calcium calculus calyx cancer capsule carcinoma cardiac
cardiomediastinal cardiomegaly cardiopulmonary carina carotid cartilage catheter caudal cavity
cecum celiac central cephalic cerebellar cerebellum cerebral cervical change changes chest
cholecystectomy cholecystitis chronic circumflex cirrhosis clavicle clinical clip clips coil
colitis collapse colon common compression conclusion consolidation contour contrast coronal
coronary cortex cortical costophrenic cranial cranium cyst cystic cysts debris defect
degenerative density dependent descending diaphragm diaphragmatic diffuse dilatation dilated
disc discs disease disk dissection distal diverticula diverticulitis diverticulosis dorsal
duct ducts duodenum dural echo edema effusion effusions embolism embolus emphysema
encephalomalacia endometrium enhancement enlarged enlargement esophagus evidence exam
examination extremity facet fascia fat femoral femur fibroid fibrosis fibula field findings
fissure fistula fluid focal follicle foot foramen forearm fossa fracture fractures frontal
fundus gallbladder gallstone gallstones ganglion gas gastric gland glenoid glenohumeral
granuloma granulomas groin hand head heart hemangioma hematoma hemidiaphragm hemorrhage
hepatic hernia hiatal hilar hilum hip history humeral humerus hydronephrosis hyperinflation
hypodense hypoechoic ileum iliac impression infarct infarction infection inferior infiltrate
inflammation inguinal interstitial intestine intracranial intraperitoneal ischemia jejunum
joint joints kidney kidneys knee labrum lateral left lesion lesions ligament limb liver lobe
lobes lower lumbar lung lungs lymph lymphadenopathy lymphoma malignancy mass masses
maxillary mediastinal mediastinum medial meniscus mesenteric mesentery metastases metastasis
metastatic middle midline mild minimal moderate muscle myocardial nasal neck necrosis negative
neoplasm nerve neural nodes nodular nodule nodules normal obstruction occipital occlusion
opacities opacity opacification orbit orbital osseous osteoarthritis osteophyte osteophytes
osteoporosis ovarian ovary pancreas pancreatic parenchyma parenchymal parietal patella
pelvic pelvis pericardial peripheral peritoneal pleura pleural pneumonia pneumoperitoneum
pneumothorax portal positive posterior postoperative process prostate proximal pulmonary
radiograph radiographs radius rectum recommendation recommendations rectal region renal
resection retroperitoneal rib ribs right rotator rupture sacral sacroiliac sacrum scan scapula
sclerosis sclerotic segment segmental seminal septal septum severe shoulder sigmoid silhouette
sinus sinuses skull small soft spinal spine spleen splenic spondylosis stable stenosis sternum
stomach stone stones subchondral subcutaneous subdural superior supraspinatus surgical suture
sutures symphysis syndrome technique temporal tendon tendons testis thalamus thickening
thoracic thorax thrombosis thrombus thymus thyroid tibia tibial tissue tissues trachea tract
trauma tube tumor ulna ulnar ultrasound upper ureter ureteral ureters urethra urinary uterus
vascular vasculature vein veins venous ventral ventricle ventricles ventricular vertebra
vertebrae vertebral vessel vessels view views volume wall wrist
ct cta mri mra mr xr pa ap us fl pet spect dexa kub pe dvt copd chf cabg picc svc ivc ij icd
aicd ng og et ett gi gu ed er icu or ent ob gyn hu cm mm ml fdg suv lad rca lcx mca aca pca
ica eca cbd ldct tte tee ekg ecg dwi adc flair stir gre swi bi-rads xxxx
comparisons none two three four five dlp ctdi alignment referring medical outside fluoroscopy
low dob contact clear questions fax paraspinal images image reading evaluate grayscale ordering
grade real-time real pacs nondisplaced large peritoneum nausea specifically hypoxia elevated pain
weight home line preoperative gray-white shortness extra-axial cough orbits cardio mucosal
scattered fluoroscopic insurance ssn paranasal headache superficial address incidental calvarium
critical altered stroke technically seizure splenomegaly status preliminary unremarkable cord
acct suspicious cholelithiasis hyperexpanded prominent blood-tinged pericardium multiple patchy
borderline tortuous pacemaker additional total chronic-appearing mildly marrow infrarenal
communicating social deep valves risk murmur palpable hydrocephalus dyspnea peripancreatic
arthritic spectral burst diffusely complications left-sided right-sided age-appropriate
nonobstructive nonocclusive simple hypoinflation multilevel lines hyperinflated persistent
postsurgical vague aneurysmal color endotracheal question trace subacute dual-lead augmentation
however streaky consider high-risk indeterminate severely occlusive complete using subsegmental
agatston csf terminal phleboliths skin silent grossly emphysematous sternotomy benign-appearing
restricted overall scoliosis hypodensity extensive marked sequelae ligaments linear targeted
obstructing age-indeterminate osteopenia blunting continued menisci colonic opening narrowing
swallow reflux evaluation granulomatous irregular transit echogenic hemodynamic full-thickness
approximately healed apparent biapical minimally pectus prominence multiplanar axial sagittal
coronal series sequence sequences study view frontal portable available pager room workstation
generated call impresion impressin findngs impresson doppler
radiology neurology cardiology oncology surgery urology orthopedics pediatrics emergency
medicine pathology department service team clinic hospital unit floor nurse nursing
physician resident attending fellow radiologist technologist provider staff doctor
coma scale lat obl oblique
coli aureus difficile pylori pneumoniae influenzae jirovecii aeruginosa fumigatus albicans
epidermidis faecalis faecium tuberculosis marcescens cloacae mirabilis burgdorferi gondii
pyogenes agalactiae pneumophila neoformans capitis vulgaris
""".split()

_COMMON = """
a about above acute after again against all also an and any are as at be because been before
being below between both but by can cannot could did do does during each either few for from
further had has have having here how if in into is it its itself just less limited may might
more most much no nor not now of off on once only or other otherwise our out over own per please
possible possibly previous prior probable probably recent same seen several should since so
some stable such than that the their them then there these they this those through to too
under until up upon very was were what when where which while who whom why will with within
without would yes yet via new old noted note clinically correlation correlate recommend
recommended suggest suggested follow-up followup follow comparison compared unchanged
improved increased decreased interval redemonstrated redemonstration demonstrated
demonstrates demonstrate shows show showing seen identified visualized visible appears
appear appearance findings impression indication indications reason exam study studies
report reports addendum history technique procedure protocol conclusion result results
signed electronically dictated transcribed reviewed read interpreted approved verified
discussed communicated notified called informed paged spoke date time name patient pt
mrn accession account number id sex male female man woman age years year old day days week
weeks month months today yesterday tomorrow morning evening night am pm hours
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday
there here they he she his her him we us you i me my
md rn np pa-c phd mbbs frcr cnp aprn fnp mr mrs ms dr prof
""".split()

ALLOW_TERMS = frozenset(_EPONYMS + _CLINICAL + _COMMON)
_COMMON_SET = frozenset(_COMMON)
_CLINICAL_SET = frozenset(_CLINICAL)
"""Lower-case words that are never treated as a name (clinical terms, eponyms, common words)."""
# After a cue ("discussed with", "Dr.") a word is a name even if it is also an eponym: many
# eponyms are common surnames (Baker, Jones, Murphy, Wilson), so only these words are trimmed.
CUE_STOP_TERMS = frozenset(_CLINICAL + _COMMON)

# Common given names: a capitalised pair that starts with one of these ("John Smith") is a name
# even without a cue. Also used to pick given-name surrogates.
FIRST_NAMES = frozenset(
    """
    james john robert michael william david richard joseph thomas charles christopher daniel
    matthew anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy
    ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin
    scott brandon benjamin samuel gregory alexander frank patrick raymond jack dennis jerry tyler
    aaron jose adam nathan henry douglas zachary peter kyle noah ethan jeremy walter christian
    keith roger terry austin sean gerald carl harold dylan arthur lawrence jordan jesse bryan
    billy bruce gabriel joe logan alan juan albert willie elijah wayne randy vincent mason roy
    ralph bobby russell bradley philip eugene mary patricia jennifer linda elizabeth barbara
    susan jessica sarah karen lisa nancy betty sandra margaret ashley kimberly emily donna
    michelle carol amanda melissa deborah stephanie dorothy rebecca sharon laura cynthia amy
    kathleen angela shirley brenda emma anna pamela nicole samantha katherine christine helen
    debra rachel carolyn janet maria catherine heather diane olivia julie joyce victoria ruth
    virginia lauren kelly christina joan evelyn judith andrea hannah megan cheryl jacqueline
    martha madison teresa gloria sara janice ann kathryn abigail sophia frances jean alice judy
    isabella julia grace amber denise danielle marilyn beverly charlotte natalie theresa diana
    brittany doris kayla alexis lori marie wei li priya raj ahmed mohammed fatima yuki hiroshi
    carlos luis miguel sofia lucia elena ivan olga
    """.split()
)

_SURROGATE_GIVEN = sorted(FIRST_NAMES)
_SURROGATE_FAMILY = """
Abbott Barker Calloway Dunmore Ellison Fairbanks Garrity Holloway Ingram Jessup Kimball
Lindqvist Merriweather Northcott Oakley Pendleton Quimby Radcliffe Sherwood Thornbury Underhill
Vance Whitcombe Yardley Zeller Ashworth Blackwood Crandall Dempsey Eastwood Fenwick Galloway
Hargrove Iverson Jarrell Kensington Langley Mayfield Norwood Osgood Prescott Rutherford
Stanton Thackeray Upton Vickery Wakefield Winslow Yates
""".split()
_SURROGATE_STREETS = "Elm Oak Maple Cedar Birch Willow Chestnut Spruce Walnut Hawthorn".split()

_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_MONTH_NUMBER: dict[str, int] = {}
for _number, _month in enumerate(_MONTHS, start=1):
    for _form in (_month, _month[:3], "Sept" if _month == "September" else _month):
        _MONTH_NUMBER[_form.lower()] = _number

# ------------------------------------------------------------------------------------------
# Patterns
# ------------------------------------------------------------------------------------------
# Two big regexes, DIGIT_RE and CAP_RE, each of the form ``LEAD(?:alternatives)``: LEAD is one
# character class, so ``re`` compiles it into a charset prefix and its C search loop jumps from
# one digit (capital) to the next without entering the pattern anywhere else. Alternatives are
# written as "the rest after the lead character" and end in an empty marker group
# ``(?P<KIND__n>)``, so ``match.lastgroup`` says which one matched. Fixed word lists (months,
# ID labels, titles) become a character trie whose branches start with a literal, which ``re``
# rejects with one comparison; the lead letter is checked by a lookbehind only at a leaf.

_marker_ids = itertools.count()


def _plain_trie(words: Iterable[str]) -> str:
    """One regex for `words` as a character trie (longest match first at each branch)."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if "" in node:
            branches.append("")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return emit(root)


def _alternatives(*parts: tuple[str, str]) -> str:
    return "|".join(f"{body}(?P<{kind}__{next(_marker_ids)}>)" for kind, body in parts)


def _trie(words: Iterable[str]) -> str:
    """Regex for the rest of `words` after their (already consumed) first character.

    >>> _trie(["Dr", "Doctor", "Mr"])
    '(?:octor(?<=Doctor)|r(?:(?<=Dr)|(?<=Mr)))'
    """
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word[1:]:
            node = node.setdefault(char, {})
        node.setdefault("", set()).add(word)

    def emit(node: dict[str, Any]) -> str:
        branches = []
        for char in sorted(key for key in node if key):
            child, rest = node[char], re.escape(char)
            while len(child) == 1 and "" not in child:  # fold single-child chains
                ((char, child),) = child.items()
                rest += re.escape(char)
            branches.append(rest + emit(child))
        if "" in node:  # a word ends here: check its lead letter; longer words come first
            ends = [f"(?<={re.escape(word)})" for word in sorted(node[""])]
            branches.append(ends[0] if len(ends) == 1 else "(?:" + "|".join(ends) + ")")
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(root)


def _month_words() -> list[str]:
    words = []
    for month in _MONTHS:
        forms = {month, month[:3]} | ({"Sept"} if month == "September" else set())
        words += [form for word in forms for form in (word, word.upper())]
    return words


_MONTH_ANY = "(?:" + "|".join(sorted(_month_words(), key=len, reverse=True)) + r")\.?(?![A-Za-z])"
# After a day number a lower-case month is a date too ("4 august 2009", "12 mar.").
_MONTH_ANY_OR_LOWER = (
    "(?:"
    + "|".join(
        sorted({w.lower() for w in _month_words()} | set(_month_words()), key=len, reverse=True)
    )
    + r")\.?(?![A-Za-z])"
)

# -- digit-led ----------------------------------------------------------------------------
_LB = r"(?<![A-Za-z0-9.][0-9])"  # the lead digit starts a token: not "C5", "1.5", "12"
_AMPM = r"(?:[AaPp]\.[Mm]\.|[AaPp][Mm](?![A-Za-z]))"
_STREET_WORDS = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl|"
    "Terrace|Ter|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Plaza|Trail|Pike|Row"
)
# Title case or ALL CAPS ("2113 NW HIGHLAND AVENUE", "8751 CHURCH DR").
_STREET = rf"(?:{_STREET_WORDS}|{_STREET_WORDS.upper()})\.?(?![A-Za-z])"
_ADDRESS_TAIL = (
    r"(?:,?[ ](?:Apt|Apartment|Suite|Ste|Unit|Room|Rm|Floor|Fl|APT|SUITE|STE|UNIT|ROOM|RM)\.?"
    r"[ ]?#?[0-9A-Za-z-]+|[ ]#[0-9]+)?"
    r"(?:,[ ]?(?:[A-Z][a-z]+|[A-Z]{3,})(?:[ ](?:[A-Z][a-z]+|[A-Z]{3,})){0,2}"
    r"(?:,?[ ][A-Z]{2}(?![A-Za-z]))?"
    r"(?:,?[ ][0-9]{5}(?:-[0-9]{4})?(?![0-9]))?)?"
)
_AGE_WORDS = (
    r"(?:[- ]?(?:years?|yrs?|yr|YEARS?|YRS?|YR)(?:[- ](?:old|OLD)|[- ]of[- ]age)?"
    r"|[- ]?(?:y/o|y\.o\.|yo|y|Y/O|Y\.O\.|YO|Y)(?![A-Za-z]))"
)
# Alternatives are the rest after the lead digit: "[0-9]{2,4}" is written "[0-9]{1,3}".
_DIGIT_AT_TOKEN_START = _alternatives(
    ("IP", r"[0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9]|\.[0-9])"),
    # DICOM UIDs "1.2.840.113619...." and "ddd-dd-dd" record numbers (not dates, not SSNs)
    ("UID", r"[0-9]*(?:\.[0-9]+){4,}"),
    ("UID", r"[0-9]{2}-[0-9]{2}-[0-9]{2}(?![0-9-])"),
    ("SSN", r"[0-9]{2}-[0-9]{2}-[0-9]{4}(?![0-9])"),
    (
        "ISODATE",
        r"[0-9]{3}(?P<iso_sep>[-/.])[0-9]{1,2}(?P=iso_sep)[0-9]{1,2}(?![0-9])"
        r"(?:T[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?",
    ),
    ("NUMDATE", r"[0-9]?(?P<num_sep>[-/.])[0-9]{1,2}(?P=num_sep)(?:[0-9]{4}|[0-9]{2})(?![0-9])"),
    ("NUMDATE", r"[0-9]?/[0-9]{1,3}/XXXX"),  # Open-i residue such as 02/010/XXXX
    (
        "PHONE",
        r"[0-9]{2}\)?[-. ]?[0-9]{3}[-. ][0-9]{4}(?![0-9])(?:[ ]?(?:x|ext\.?)[ ]?[0-9]{1,5})?",
    ),
    ("PHONE", r"[0-9]{2}-[0-9]{4}(?![0-9-])"),
    (
        "CLOCK",
        r"[0-9]?:[0-5][0-9](?::[0-5][0-9])?(?:[ ]?" + _AMPM + r")?"
        r"(?:[ ]?(?:hours|hrs|h)(?![A-Za-z]))?",
    ),
    ("CLOCK", r"[0-9]?[ ]?" + _AMPM),
    ("CLOCK", r"[0-9]{3}[ ]?(?:hours|hrs|hr|h|HOURS|HRS|HR)(?![A-Za-z])"),
    (
        "DAYDATE",
        r"[0-9]?(?:st|nd|rd|th|ST|ND|RD|TH)?(?:[ -]|[ ]of[ ]|[ ]OF[ ])?"
        + _MONTH_ANY_OR_LOWER
        + r"(?:,?[ -]?(?:[0-9]{4}|'?[0-9]{2})(?![0-9]))?",
    ),
    ("MONTHYEAR", r"[0-9]?/[0-9]{4}(?![0-9])"),
    ("AGE", r"[0-9]{1,2}" + _AGE_WORDS),
    (
        "ADDRESS",
        r"[0-9]{0,5}[A-Z]?[ ](?:(?:[NSEW]\.?|NE|NW|SE|SW|North|South|East|West|NORTH|SOUTH|EAST"
        r"|WEST)[ ])?(?:[0-9]+(?:st|nd|rd|th|ST|ND|RD|TH)[ ]"
        r"|(?:(?:[A-Z][a-z]+|[A-Z]{2,}|del|de|la|DEL|DE|LA)[ ]){1,4}(?:(?:Jr|JR|Sr|SR)\.?[ ])?)"
        + _STREET
        + _ADDRESS_TAIL,
    ),
    # A street in a report written in lower case: "7246 east spring ave"; the number has
    # 2-5 digits and only full street words (not "st", "dr", "ct") end it.
    (
        "ADDRESS__lower",
        r"[0-9]{1,4}[ ](?!(?:mm|cm|ml|mg|kg|views?|images?|series|levels?|days?|weeks?)[ ])"
        r"(?:(?:north|south|east|west|[nsew]\.?|ne|nw|se|sw)[ ])?(?:[a-z][a-z'-]+[ ]){1,3}"
        r"(?:(?:street|avenue|ave|road|boulevard|blvd|drive|lane|court|place|terrace|parkway"
        r"|highway|circle|trail|pike|way)\.?(?![A-Za-z])"
        # abbreviations that are also words ("st", "dr") only where the street name ends
        r"|(?:ln|pkwy|st|dr|rd|ct|pl|ter|hwy|cir)\.?(?=[ ]?(?:,|\n|$|[ ](?:apt|suite|unit)[ ])))"
        r"(?:,?[ ](?:apt|suite|ste|unit|rm|room)\.?[ ]?#?[0-9][0-9a-z-]*(?![a-z0-9]))?",
    ),
)
# Numbers recognised by the word before them (one cheap gate lookbehind first).
_DIGIT_AFTER_WORD = _alternatives(
    (
        "ZIP",
        r"(?:(?<=[A-Z][A-Z] [0-9])|(?<=[A-Z][A-Z], [0-9])|(?<=ZIP: [0-9]))"
        r"[0-9]{4}(?:-[0-9]{4})?(?![0-9])",
    ),
    (
        "MONTHDAY",
        r"(?:(?<=on [0-9])|(?<=On [0-9])|(?<=ON [0-9])|(?<=dated [0-9])|(?<=DATED [0-9])"
        r"|(?<=from [0-9])|(?<=From [0-9])|(?<=FROM [0-9])|(?<=since [0-9])|(?<=until [0-9])"
        # a month/day right after a clock time: "Wet read (14:30, 3/3):", "(2:38pm, 11/17)"
        r"|(?<=:[0-9]{2}, [0-9])|(?<=[apAP][mM], [0-9])|(?<=[apAP]\.[mM]\., [0-9]))"
        r"[0-9]?/[0-9]{1,2}(?![0-9/])",
    ),
    (
        "AGECUE",
        r"(?:(?<=\b[Aa]ge [0-9])|(?<=\b[Aa]ged [0-9])|(?<=AGE [0-9])|(?<=[Aa]ge: [0-9])"
        r"|(?<=AGE: [0-9]))[0-9]{1,2}(?![0-9])",
    ),
    (
        "DECADE",
        r"(?:(?<=his [0-9])|(?<=her [0-9])|(?<=their [0-9])|(?<=late [0-9])|(?<=mid [0-9])"
        r"|(?<=early [0-9]))0'?s(?![a-z])",
    ),
)
DIGIT_RE = re.compile(
    "[0-9](?:"
    + _LB
    + "(?:"
    + _DIGIT_AT_TOKEN_START
    + ")|(?<=[A-Za-z:,] [0-9])(?:"
    + _DIGIT_AFTER_WORD
    + ")|"
    + _alternatives(
        # "+1 617 555 0134", "1-800-555-0134": the lead is the country code 1.
        ("PHONE", r"(?<=[^0-9]1)[-. ]\(?[0-9]{3}\)?[-. ]?[0-9]{3}[-. ][0-9]{4}(?![0-9])"),
        # 5+ digits, also glued to letters ("E1234567"); not the decimals of "0.12345".
        ("LONGID", r"(?<![0-9.,][0-9])[0-9]{4,}(?:[-/][0-9A-Za-z]+)*"),
        # extensions written "x8694", "(X9607)"
        ("UID", r"(?<=[^A-Za-z0-9][xX][0-9])[0-9]{2,5}(?![0-9])"),
        # the last four digits of a masked SSN: "xxx-xx-6598", "***-**-1234"
        ("SSN", r"(?<=[xX*]{3}-[xX*]{2}-[0-9])[0-9]{3}(?![0-9])"),
    )
    + ")"
)

# -- capital-led --------------------------------------------------------------------------
# Capital / small letters, Latin-1 and Latin Extended-A included (José, MÜLLER, Wiśniewski,
# DVOŘÁK). Extended-A interleaves cases (Ā ā Ă ă ...), so that block is in both classes.
_UP = "A-ZÀ-ÖØ-ÞĀ-ž"
_LO = "a-zß-öø-ÿĀ-ž"
_LBC = rf"(?<![A-Za-z{_UP}{_LO}0-9'\[\]^][{_UP}])"  # the lead starts a word (not "[NAME]")
_NOT_CREDENTIAL = r"(?!(?:MD|DO|RN|NP|PA|PhD|MBBS|M\.D\.|D\.O\.|R\.N\.|Ph\.D\.)(?![A-Za-z]))"
# The rest of one name token after its first capital: Smith, McDonald, O'Brien, Smith-Jones,
# SMITH, an initial "J." or initials "J.C."; never Open-i's XXXX, never followed by a digit.
_TOKEN_REST = (
    rf"(?!(?<=X)XXX(?![A-Za-z]))(?>[{_LO}]+(?:[{_UP}][{_LO}]+)?(?:-[{_UP}]?[{_LO}]+)?"
    rf"|'[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)?|'[{_UP}]{{2,}}(?:-[{_UP}]+)?|[{_UP}]+(?:['-][{_UP}]+)?"
    rf"|\.(?:[{_UP}]\.)*(?=[ ,\t\n]|$))"
    # not "Series 3", "Grade 2", "T12"; but "Signed T. Bianchi 06.12.2023" and "Signed I.
    # Boateng 26 July 2018" keep their names (a number that starts a date)
    r"(?![ ]?[0-9]{1,3}(?![0-9./-])(?![ ](?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
    r"|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)))"
)
_TOKEN = rf"(?:(?!XXXX){_NOT_CREDENTIAL}[{_UP}]{_TOKEN_REST})"
# Surname particles: De la Cruz, Van der Berg, von Trapp, DE LA CRUZ.
_PARTICLE_WORDS = (
    "Ó|[Dd]e|[Dd]el|[Dd]ella|[Dd]er|[Dd]en|[Dd]i|[Dd]a|[Dd]u|[Dd]os|[Dd]as|[Ll]a|[Ll]e|[Ll]o|"
    "[Ll]os|[Ll]as|[Vv]an|[Vv]on|[Tt]er|[Tt]en|bin|al|el|DE|DEL|DEN|DOS|DAS|LA|LO|LOS|LAS|VAN|"
    "VON|DER|TER|TEN"
)


# The same words as a character trie: ``re`` then rejects a word with one comparison of its
# first letter instead of trying ~50 alternatives (gate 9 of _NAME_GATES tries them after
# every capitalised word: 1.2 of CAP_RE's 5 us per findings section, see bench_deid.py).
def _expand_particles(words: str) -> list[str]:
    out = []
    for word in words.split("|"):
        if word.startswith("["):  # "[Dd]e" -> "De", "de"
            out += [word[1] + word[4:], word[2] + word[4:]]
        else:
            out.append(word)
    return out


_PARTICLES = "(?:" + _plain_trie(_expand_particles(_PARTICLE_WORDS)) + "[ ])"
# Particles written before a capitalised surname ("ATTENDING: van den Heuvel, Fatima"): the
# candidate starts at the capital; its start is moved back over them.
_PARTICLES_BEFORE_RE = re.compile(rf"(?:(?<![A-Za-z])(?:{_PARTICLE_WORDS})[ ])+$")
_NAME_REST = (
    _TOKEN_REST
    + r"(?:(?:,[ ]?|[ ]|\^)"
    + _PARTICLES
    + "*"
    + _TOKEN
    + "){0,3}"
    + rf"(?:[ ][{_UP}](?=[ ]?\||[ ]{{2}}|\n|$))?"  # "Okafor, Nia W | DOB"
)
_TITLED = (
    r"\.?[ \t]{1,4}" + _PARTICLES + "*" + _TOKEN + r"(?:[ ]" + _PARTICLES + "*" + _TOKEN + "){0,2}"
)
_ID_VALUE = r"(?=[A-Za-z0-9-]*[0-9])[A-Za-z0-9][A-Za-z0-9-]{2,}"
_ID_GLUE = r"[ ]?(?:[Nn]umber|NUMBER|[Nn]o\.|NO\.|#)?[ ]?[:#]?[ ]?#?"
_ID_LABELS = """MRN|Mrn|MR#|Medical Record|Medical record|MEDICAL RECORD|Accession|ACCESSION|Acc|
ACC|Account|ACCOUNT|Acct|ACCT|SSN|Social Security|SOCIAL SECURITY|Serial|SERIAL|ID|Patient ID|
PATIENT ID|Device ID|DEVICE ID|Device Serial|Device serial|Order|ORDER|Encounter|ENCOUNTER|Visit|
VISIT|FIN|CSN|Health Plan|HEALTH PLAN|License|LICENSE|Member ID|Policy|POLICY""".replace("\n", "")
_TITLES = "Dr|DR|Drs|DRS|Doctor|DOCTOR|Mr|Mrs|Ms|Miss|MR|MRS|MS|MISS|Prof|Professor|PROF"
_CREDENTIALS = "MD|M.D.|RN|R.N.|NP|PA-C|PhD|Ph.D.|MBBS|FRCR|CNP|APRN|FNP|DO|D.O."
# A capitalised word is a name *candidate* only behind one of these cheap gates (checked in
# Python afterwards): a cue-like word or colon before it; a Titlecase word after it ("John
# Smith"); or "Last," at the start of a line. Ordinary sentence starts ("The lungs") pass none.
_NAME_GATES = (
    rf"(?:(?<=[:hyodwrtmHYOTW,-] [{_UP}])|(?<=[ ](?:de|la|da|do|du|di|le|lo) [{_UP}])"
    rf"|(?<=[ ](?:van|von|den|der|del|los|las|dos|das|ten|ter) [{_UP}])|(?<=Ó [{_UP}])"
    rf"|(?=\.[ ][{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)?(?:\n|$))"
    rf"|(?<![^\n][{_UP}])(?=[{_UP}'-]+[ ][{_UP}'-]+[ ](?:WAS|IS)[ ])|(?<=:[{_UP}])|(?<=:  [{_UP}])|(?<=:\t[{_UP}])"
    rf"|(?=[{_LO}]+(?:-[{_UP}][{_LO}]+)?[ ](?:[{_UP}]\.[ ])?{_PARTICLES}?[{_UP}](?:'[{_UP}])?[{_LO}])"
    rf"|(?<![^\n][{_UP}])(?=[^\n,:.]{{0,30}}+,|(?:[{_LO}]+|[{_UP}]+)(?:-[{_UP}]+)?[ ][{_UP}]+(?:[-'][{_UP}]+)?\n))"
)
# Words that are also given names; at the edge of a capitalised name they are the name.
_GIVEN_WORDS = frozenset(
    "may june april august will mark grace hope joy faith summer rose pearl iris ivy dawn bill "
    "pat sue jean frank art rob amber sunny".split()
)
# Sentence starters that are never a name ("Kidneys: No hydronephrosis", "IMPRESSION: The
# lungs"): a Titlecase clinical/common word followed by a lower-case word. ~95% of the
# name-shaped candidates in findings text are these; rejecting them inside the regex (a trie
# after the lead capital) saves a Python call each (~2 us per findings section). The Python
# check in `_nameish_candidate` stays the definition; this is only its fast path.
_STOP_STARTERS = _trie(
    sorted(
        {w.capitalize() for w in CUE_STOP_TERMS if len(w) > 1 and re.fullmatch("[a-z][a-z-]*", w)}
        - {w.capitalize() for w in _GIVEN_WORDS}
    )
)
_NOT_A_STOP_STARTER = (
    "(?!"
    + _STOP_STARTERS
    + "[ ](?=[a-z])(?!"
    + _plain_trie(_expand_particles(_PARTICLE_WORDS))
    + "[ ]))"
)
CAP_RE = re.compile(
    f"[{_UP}]"
    + _LBC
    + "(?:"
    + _alternatives(
        (
            "MONTHDATE",
            _trie(_month_words()) + r"\.?(?![A-Za-z])"
            r"(?:[ ]?[0-9]{1,2}(?:st|nd|rd|th|ST|ND|RD|TH)?(?![0-9])"
            r"(?:,?[ ]?(?:[0-9]{4}|'[0-9]{2})(?![0-9]))?"
            r"|,?[ ][0-9]{4}(?![0-9])|-[0-9]{1,2}-[0-9]{2,4}(?![0-9]))",
        ),
        ("LABEL", _trie(_ID_LABELS.split("|")) + _ID_GLUE + _ID_VALUE),
        ("TITLE", _trie(_TITLES.split("|")) + _TITLED),
        ("ADDRESS", _trie(["PO", "P.O.", "P. O."]) + r"[ ]?(?:Box|BOX)[ ]+[0-9]+"),
        # Typist/dictation initials: "RAB/dictated", "JJK/mk" (but not "W/O").
        ("INITIALS", rf"[{_UP}]{{1,3}}(?=/(?:dictated|dict|[a-z]{{2,3}})(?![A-Za-z]))"),
        # Hospital abbreviations: "SJMC", "MGH", "SVH" (checked in Python: context, not clinical).
        ("ACRONYM", r"[A-Z]{0,2}(?:MC|H)(?![A-Za-z0-9])"),
        ("CRED", _trie(_CREDENTIALS.split("|")) + r"(?![A-Za-z])"),
        # Consumes only the first word: the whole name is in the lookahead group, so a rejected
        # candidate ("Patient" in "Patient Richard Nguyen") does not hide the next word.
        (
            "NAMEISH",
            _NOT_A_STOP_STARTER + _NAME_GATES + "(?=(?P<name_rest>" + _NAME_REST + "))",
        ),
    )
    + ")"
)
# The name-shaped alternative of CAP_RE alone, tried where an acronym-shaped word ("OH") was
# not a hospital.
NAMEISH_RE = re.compile(f"[{_UP}]" + _LBC + _NAME_GATES + "(?=(?P<name_rest>" + _NAME_REST + "))")
# A given name that is also a word, alone after a cue: "d/w April at 09:43", "left with June,".
_GIVEN_ALONE_AFTER_RE = re.compile(r"(?:[ ](?:at|AT)[ ]|[,.;])")
# The name before a credential ("Jane Doe, RN", "J. Smith MD"), searched just before a CRED hit.
NAME_BEFORE_CREDENTIAL_RE = re.compile(
    f"[{_UP}]"
    + _LBC
    + _TOKEN_REST
    + r"(?:(?:,[ ]?|[ ])"
    + _PARTICLES
    + "*"
    + _TOKEN
    + r"){0,3},?[ \t]{1,3}$"
)
DR_LOWER_RE = re.compile(
    rf"[Dd]r(?<![A-Za-z][Dd]r)\.?[ ]+(?P<lower_name>(?:[a-z]\.[ ]){{0,2}}"  # "dr. a. r. mackenzie"
    rf"(?:(?:van|von|de|del|della|der|di|da|du|la|le|ter|ten)[ ])*[{_LO}][{_LO}'-]+)"
)
# E-mail and URL patterns start at a literal ("@", "://", "www.") that ``re`` finds with a fast
# substring search; the local part / scheme before it is taken by walking back in Python.
EMAIL_RE = re.compile(r"@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
URL_RE = re.compile(r"://[^\s<>\"'\]\[]+")
WWW_RE = re.compile(r"(?<![\w/.])[Ww][Ww][Ww]\.[^\s<>\"'\]\[]+")
_URL_TRAIL = ".,;:)!?"
_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_SCHEME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")

# -- keyword-led families (one pass each, all rare in ordinary report prose) ---------------
# A short value after a location/contact/device keyword is an identifier even when it is too
# short for LONGID: "bed 14A", "Rm 6W", "ext. 4614", "x8694", "beeper #6058", "(job 602599)",
# "serial no. jnp731817z", "lot #20H2532", "plate 7KGT820", "License: MD.0367003".
# Keyword-led families run on an ASCII-lower-cased copy of the text (same offsets) and start
# from ONE alternation of plain words, so ``re`` scans with a charset prefix; the value after
# each keyword is then matched in Python at that position only.
_ASCII_UPPER_RE = re.compile("[A-Z]")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# A short value after a location/contact/device keyword is an identifier even when it is too
# short for LONGID: "bed 14A", "Rm 6W", "ext. 4614", "beeper #6058", "(job 602599)",
# "serial no. jnp731817z", "lot #20H2532", "plate 7KGT820", "License: MD.0367003".
_ID_KEYWORDS = (
    """bed room rm beeper pager pgr ext extension job workstation station uid license
lic plate serial sn s/n lot badge npi acct account order visit encounter policy paged
specimen""".split()
    + [
        "unit no",
        "member id",
        "insurance id",
        "plan id",
        "device id",
    ]
)
_ID_VALUE_AFTER_RE = re.compile(
    r"(?:[ ]?(?:no|number|num))?\.?[ ]?[:#]?[ ]?[#(]{0,2}"
    r"(?P<v>(?:(?<=license: )[a-z]{2}[ ](?=[0-9]))?(?=[a-z0-9.-]*[0-9])[a-z0-9][a-z0-9.-]*[a-z0-9]|[0-9]|(?<=bed )[a-z](?![a-z0-9]))"
)
# Login names: "Workstation user: mgarcia2", "Verified by srao on ...".
_USER_KEYWORDS = ["user", "verified by", "login", "username"]
_USER_AFTER_RE = re.compile(r"[ ]?:?[ ](?P<v>[a-z][a-z0-9._-]+)(?![a-z0-9])")
# Ages over 89 written out: "ninety-three-year-old", "one hundred four-year-old".
_AGE_KEYWORDS = ["ninety", "one hundred", "one-hundred"]
_AGE_AFTER_RE = re.compile(
    r"(?:[ -]and)?(?:[ -](?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve))?"
    r"(?=[ -](?:years?|yrs?|yo|y/o)(?![a-z]))"
)
# "Transcribed by: rm"
_TYPIST_KEYWORDS = ["transcribed by", "typed by"]
_TYPIST_AFTER_RE = re.compile(r"[ ]?:?[ ](?P<v>[a-zß-öø-ÿ]{2,3})(?![a-zß-öø-ÿ.])")
# Lower-case names after a cue: "dictated by: smith, john md", "dr. fatima abu-rahma".
# Strong cues apply in any report; weak ones ("by", "per", "contact") only in a report written
# in lower case, where a capital letter cannot mark a name.
_LOWER_STRONG = (
    """dr dr. drs drs. cc: son, daughter, wife, husband, nurse, sonographer technologist
dictated -- transcriptionist d/w""".split()
    + [
        "dictated by",
        "signed by",
        "performed with",
        "reviewed with",
        "discussed with",
        "spoke with",
        "left with",
        "given to",
        "called to",
        "routed to",
        "system to",
        "forwarded to",
        "copied to",
    ]
)
_LOWER_WEAK = ["by", "per", "contact", "final by", "report by", "read by", "results with"]
# Label cues ("pt: romano, marco w", "rad: graves"): the value is a name even if it is an
# eponym, as after "Dr."
_LOWER_LABELS = (
    """pt: name: patient: rad: resident: referring: attending: radiologist: fellow:
technologist: ordering: physician: transcriptionist:""".split()
    + ["pt name:", "patient name:", "ordering physician:", "notified:", "signed:"]
)
_LOWER_NAME_AFTER_RE = re.compile(
    r":?[ ]+(?:dr\.?[ ]+)?"
    r"(?P<v>[a-zß-öø-ÿĀ-ž][a-zß-öø-ÿĀ-ž'.-]*(?:,?[ ][a-zß-öø-ÿĀ-ž][a-zß-öø-ÿĀ-ž'.-]*){0,5})"
)
# Phrases that follow a person's name: the words before them are walked back as a name
# ("Pieter van der Berg was informed", "patient li t. hodgkin (mrn ...", "FOR SANNE DE VRIES,
# DOB", "referring physician Seo-yeon Zhang notified of", "zhang, niamh m.d.").
_ANCHOR_KEYWORDS = [
    "was informed",
    "was notified",
    "was paged",
    "was contacted",
    "was told",
    "notified of",
    "mrn",
    "dob",
    "m.d.",
]
# ID keywords that also close a name when they follow it: "svetlana graves (beeper 52458)",
# "-- april nowak, pgr #87885".
_NAME_CLOSING_IDS = frozenset({"pager", "beeper", "pgr", "ext", "extension", "job"})
# Role nouns: the walk-back stops at them ("the referring clinician, aditya l. sharma, was
# informed"; "the case manager was notified" is no name).
_ROLE_WORDS = frozenset(
    """clinician clinicians manager family team office caregiver coordinator practitioner
    assistant son daughter wife husband mother father sister brother spouse partner parent
    parents friend guardian surgeon pharmacist sonographer transcriptionist therapist tech
    service desk charge primary covering on-call oncall ordering referring consultant
    intensivist hospitalist midwife dispatcher operator relative relatives niece nephew
    grandson granddaughter aide supervisor""".split()
)
_ANCHOR_WORD_RE = re.compile(rf"[{_UP}{_LO}][{_UP}{_LO}'’-]*\.?")
# Facility names end in a facility word; the words before it are walked back in Python.
_FACILITY_WORDS = """Hospital|Medical Center|Medical Centre|Health Center|Health System|Clinic|
Center|Centre|Institute|Associates|Imaging|Pediatrics|Orthopedics|Internal Medicine|
Nursing Home|Assisted Living|Senior Living|Skilled Nursing|Rehabilitation|Manor|Infirmary|
Medical Group|Family Practice|Family Medicine|Diagnostics|Health|Healthcare|Terrace|
Urgent Care|Surgery Center""".replace("\n", "").split("|")
_KEYWORD_KIND: dict[str, str] = {}
for _kind, _words in (
    ("ID", _ID_KEYWORDS),
    ("USER", _USER_KEYWORDS),
    ("AGEWORD", _AGE_KEYWORDS),
    ("POBOX", ["po box", "p.o. box"]),
    ("FROM", ["from"]),
    ("TYPIST", _TYPIST_KEYWORDS),
    ("LOWER", _LOWER_STRONG),
    ("LOWERWEAK", _LOWER_WEAK),
    ("LOWERLABEL", _LOWER_LABELS),
    ("MONTH", sorted({m.lower() for m in _month_words()})),
    ("FACILITY", [w.lower() for w in _FACILITY_WORDS]),
    ("ANCHOR", _ANCHOR_KEYWORDS),
):
    for _word in _words:
        _KEYWORD_KIND.setdefault(_word, _kind)


# Run on the lower-cased text: the lead is the blank or "(" before a keyword (a charset
# prefix, so ``re`` jumps between blanks in C: ~1.5x faster than any non-letter as the lead),
# the keyword is a trie behind it; the text's first word is matched separately.
_KEYWORD_TRIE = _plain_trie(_KEYWORD_KIND)
_KEYWORD_RE = re.compile(r"[ \t\n(](?P<k>" + _KEYWORD_TRIE + r")(?![a-z])")
_KEYWORD_AT_START_RE = re.compile(r"(?P<k>" + _KEYWORD_TRIE + r")(?![a-z])")
_KEYWORD_AFTER = {
    "ID": _ID_VALUE_AFTER_RE,
    "USER": _USER_AFTER_RE,
    "AGEWORD": _AGE_AFTER_RE,
    "POBOX": re.compile(r"[ ]?#?(?P<v>[0-9]+)"),
    "FROM": re.compile(r"(?!)"),  # handled before the value match (initial + surname)
    "TYPIST": _TYPIST_AFTER_RE,
    "LOWER": _LOWER_NAME_AFTER_RE,
    "LOWERWEAK": _LOWER_NAME_AFTER_RE,
    "LOWERLABEL": _LOWER_NAME_AFTER_RE,
    "MONTH": re.compile(
        r"(?P<v>\.?[ ]?(?:[0-9]{1,2}(?:st|nd|rd|th)?(?![0-9])(?:,?[ ][0-9]{4}(?![0-9]))?"
        r"|[0-9]{4}(?![0-9])))"
    ),
}
# Typist initials alone on a line: "TA/nc", "GW/HH", "kz/rp", "GR/KÓ".
_TYPIST_LINE_RE = re.compile(r"/(?P<b>[A-Za-zÀ-ÖØ-öø-ÿ]{2,3})[ \t]*(?:\n|$)")
_LAST_FIRST_LINE_RE = re.compile(
    r"[ ][a-zß-öø-ÿ'-]+(?:[ ][a-zß-öø-ÿ'-]+)?,[ ][a-zß-öø-ÿ'-]+(?:[ ][a-z]\.?)?[ ]*(?:\n|$)"
)
_TYPIST_PAIR_RE = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]{2,3}")
# A one-letter bed ends its phrase: "micu bed a.", "ed bed d\n", "bed c, at 7:35".
_BED_LETTER_END_RE = re.compile(r"[ ]*(?:[,.;)]|\n|$)")

_IN_CITY_RE = re.compile(r"[ ](?:in|IN)[ ](?P<c>[A-Z][A-Za-z]+(?:[ ][A-Z][A-Za-z]+)?)(?![A-Za-z])")
# Clinical abbreviations shaped like hospital abbreviations (end in H).
_CLINICAL_ACRONYMS = frozenset(
    "SAH ICH SDH EDH IVH BPH LVH RVH DDH PTH TSH ACTH LDH FSH ADH GGH CBH HTH NPH IPH DISH".split()
)
_FACILITY_LINK = frozenset({"of", "the", "and", "&"})
_FACILITY_WORD_RE = re.compile(r"[^\s,;:()|/\[\]]+")
# Cities: "Macon, GA", "(Wichita, KS)", "reno, nv 89568"; the state itself is allowed.
_STATES = """AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH
NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC""".split()
_STATE_NAMES = (
    """Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida
Georgia Hawaii Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland
Massachusetts Michigan Minnesota Mississippi Missouri Montana Nebraska Nevada Ohio Oklahoma
Oregon Pennsylvania Tennessee Texas Utah Vermont Virginia Washington Wisconsin Wyoming""".split()
    + [
        "New York",
        "New Jersey",
        "New Mexico",
        "New Hampshire",
        "North Carolina",
        "North Dakota",
        "South Carolina",
        "South Dakota",
        "West Virginia",
        "Rhode Island",
    ]
)
# One trie of all spellings (not ~250 alternatives tried after every ", ").
_CITY_STATE_RE = re.compile(
    r",[ ]"
    + _plain_trie(
        _STATES
        + [s.lower() for s in _STATES]
        + _STATE_NAMES
        + [s.upper() for s in _STATE_NAMES]
        + [s.lower() for s in _STATE_NAMES]
    )
    + r"(?![A-Za-z])(?![ ][A-Z][a-z])"
)
# State codes that are also words or credentials (", or", ", IN", ", MD").
_WORD_STATES = frozenset("OR IN ME HI OK OH PA MA DE LA AL CO ID IA MD MO NE AR".split())
_ZIP_AFTER_RE = re.compile(r"[ ][0-9]{5}")
_CITY_WORD_RE = re.compile(r"(?:[A-Z][A-Za-z.'-]*|[a-z][a-z'-]+)$")
_LOWER_PARTICLES = frozenset(
    "de la los van der den von del da di le lo ten ter bin al el du".split()
)
_CREDENTIAL_WORDS = frozenset("md do rn np pa pa-c phd mbbs rt m.d. d.o. m.d d.o".split())
_NOT_NAMES = frozenset("none unknown pending self other na n/a".split())  # "referring: none"

# Cue words before a name. Verb cues end right before the name; label cues end in a colon.
_VERB_CUES = tuple(
    f" {cue}"
    for cue in """discussed with|d/w|spoke with|spoken with|conferred with|reviewed with|
    communicated to|communicated with|called to|conveyed to|relayed to|reported to|given to|
    notified|paged|informed|contacted|called|telephoned|dictated by|signed by|reviewed by|
    read by|interpreted by|transcribed by|approved by|verified by|attested by|performed by|
    electronically signed|seen by|called by|paged by|reported by|contacted by|patient|pt|
    patient name|discussed these results with|discussed the results with|
    discussed these findings with|discussed the findings with|reviewed these results with|
    reviewed the findings with""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)
# Weaker cues: the name after them must not be an eponym either ("per Fleischner criteria",
# "by Graves disease" are not people), unlike after "Dr." or "discussed with".
_WEAK_CUES = tuple(
    f" {cue}"
    for cue in """by|per|left with|contact|son,|daughter,|wife,|husband,|mother,|father,|
    sister,|brother,|partner,|nurse,|clinician,|physician,|sonographer|technologist|
    transcriptionist|obtained from|referred by|requested by|spoke with|notified:|--|signed|
    injected by|physician|radiologist""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)
# After these common words only a name with no eponym in it counts ("WITH HASSAN NASSER"
# yes, "consistent with Paget" no).
_WEAKEST_CUES = (" with", " from", " to", " and")
# A capitalised name followed by one of these is an eponym ("Sister Mary Joseph nodule").
_EPONYM_HEADS = frozenset(
    """nodule nodules criteria sign disease syndrome fracture fractures classification score
    lesion cyst ring tumor tumour procedure palsy phenomenon malformation diverticulum hernia
    esophagus pouch line lines node duct canal space view maneuver catheter filter tube
    anomaly deformity effect ligament body bodies cell cells sarcoma lymphoma type grade
    stage scale rule index triangle angle zone point test""".split()
)
_LABEL_CUES = tuple(
    f" {cue}"
    for cue in """patient|patient name|name|pt|attending|resident|fellow|radiologist|
    technologist|tech|referring physician|referring|referring provider|ordering physician|
    ordering provider|ordering|physician|provider|pcp|cc|dictated by|signed by|reviewed by|
    read by|interpreted by|transcribed by|electronically signed by|requested by|discussed with|
    attending physician|attending radiologist|reading radiologist|interpreting radiologist|
    verified by|approved by|electronically signed|signed|dictated|transcribed|surgeon|
    clinician|contact|emergency contact|guardian|mother|father|spouse|requesting physician|
    performing physician|sonographer|nurse|transcriptionist|notified|ordering physician|
    referring|ref|rad|reading|cc""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)
# Layout: identifiers next to which a name-shaped column is a name (see Deidentifier._layout).
_LAYOUT_ANCHORS = frozenset({"DATE", "MRN", "ACCESSION", "ID", "SSN"})
_COLUMN_GAP_END_RE = re.compile(r"(?:[ ]{2,}|\t+|[ ]?\|[ ]?|[ ]\(|[ ]?\(#?|,[ ])$")
_COLUMN_GAP_RE = re.compile(r"[ ]{2,}|\t|[ ]\|")
_COLUMN_NAME_RE = re.compile(
    rf"[{_UP}{_LO}][{_UP}{_LO}'’-]*\.?,?(?:[ ][{_UP}{_LO}][{_UP}{_LO}'’-]*\.?,?){{1,3}}"
)
_SIGNOFF_INITIALS_RE = re.compile(rf"(?:^|\.[ ]|\n)(?P<i>[{_UP}]{{2,3}}|[a-z]{{2,3}})[ ]$")
_LINE_END_RE = re.compile(r"\.?[ ]*(?:\n|$)")
_SIGNOFF_HEAD_RE = re.compile(r"(?:(?:SIGNED|Signed|signed):?[ ]+)?")
_AGE_AFTER_NAME_RE = re.compile(
    r",[ ](?:[0-9]{1,3}[- ]?|[a-z]+(?:-[a-z]+)*[- ])(?:years?|yrs?|yo|y/o)(?![a-z])", re.IGNORECASE
)
# A lower-case name alone at a line start before an age: "shreya willis, 104 year old woman".
_LOWER_NAME_AGE_RE = re.compile(
    r"(?m)^(?P<n>[a-zß-öø-ÿĀ-ž'-]+(?:[ ][a-zß-öø-ÿĀ-ž.'-]+){1,3})"
    r"(?=, (?:[0-9]{1,3}[- ]?|[a-z]+(?:-[a-z]+)*[- ])(?:years?|yrs?|yo|y/o)(?![a-z]))"
)
_CREDENTIAL_AFTER_RE = re.compile(r",?[ ](?:MD|M\.D\.|DO|RN|NP|PA-C|PhD|MBBS)(?![A-Za-z])")
_CAPS_ONLY_TERMS = frozenset({"ng"})
# An initial and a surname (with particles) closing the report after a sentence: a signature.
_SIGNOFF_END_RE = re.compile(
    rf"(?<=\.[ ])(?P<n>[{_UP}{_LO}]\.[ ](?:(?:de|van|von|der|den|la|los|del|da|di|le|ten|ter|De|Van|Von|"
    rf"Del|La|Le|Da|Di|Bou|Abu|Al|El|bou|abu|al|el)[ ])*(?P<s>[{_UP}{_LO}][{_UP}{_LO}'-]+))[ ]*$"
)
_LOWER_NEXT_WORD_RE = re.compile(rf"[ ](?P<w>[{_LO}][{_LO}'-]+)(?=[ ,.;:)]|\n|$)")
_DRS_AND_LOWER_RE = re.compile(
    rf"[ ]and[ ](?P<w>(?:(?:{_PARTICLE_WORDS}|lo|bou|abu)[ ])*[{_LO}][{_LO}'-]+)(?=[ ,.;:)]|\n|$)"
)
_LOWER_CREDENTIAL_RE = re.compile(r"(?<=[a-z]),[ ](?:md|m\.d\.|rn|do(?=[ ]*(?:\n|$)))(?![a-z])")
_LOWER_WORD_RE = re.compile(rf"[{_LO}][{_LO}'-]*\.?,?")
_LOWER_CUE_WORDS = frozenset(
    "by with to and from signed electronically reviewed dictated read cc the of at on".split()
)
# An initial and a surname after a cue word, closed by punctuation: "obtained from J. BEST:",
# "requested by a. zhang (", "from r. khoury:".
_INITIAL_SURNAME_RE = re.compile(
    rf"[ ](?P<n>[A-Za-z]\.[ ](?:(?:{_PARTICLE_WORDS}|lo|bou|abu)[ ])?"
    rf"(?P<s>[{_UP}{_LO}][{_UP}{_LO}'-]+))(?=[:;)]|[ ]\(|,[ ]|[ ](?:at|AT)[ ]|\.?[ ]*(?:\n|$))"
)
_AGE_IN_PARENS_RE = re.compile(r"[ ]\((?P<a>[0-9]{2,3})\)")
# Words that open a facility's name before its capitalised words ("Our Lady of Lourdes").
_FACILITY_HEAD_RE = re.compile(r"(?:[Oo]ur|OUR|[Tt]he|THE)[ ]$")
# A lower-case hospital acronym where a place is expected: three letters ending in h with no
# vowel ("mgh", "svh") or one ending in "mc" ("ucmc", "pmc").
_LOWER_ACRONYM_RE = re.compile(
    r"(?:[ (\n]|^)(?P<a>[b-df-hj-np-tv-z]{2}h|[a-z]{1,2}mc)(?=[ ,.;)\n]|$)"
)
_LOWER_ACRONYM_HEADS = ("from ", "at ", "at: ", ", ", "(", "\n")
_ROUTED_TO_RE = re.compile(r"(?i:routed|sent|copied|forwarded|system)[ ](?:to|TO)[ ]$")
_CITY_AFTER_ADDRESS_RE = re.compile(
    r",[ ](?P<c>[A-Za-z][A-Za-z'-]*\.?(?:[ ][A-Za-z][A-Za-z'-]*){0,2})(?=\.?(?:\n|$)|[.;)][ ]|;|\))"
)
_ABBREVIATED_CITY_RE = re.compile(r"\.[ ][A-Z][a-z]+(?:[ ][A-Z][a-z]+)?(?=[.,;)]|\n|$)")
_IN_ANY_CITY_RE = re.compile(r"[ ](?:in|IN)[ ](?P<c>[A-Za-z.]+(?:[ ][A-Za-z.-]+){0,2})")


def _known_city(text: str, comma: int) -> int | None:
    """Length of the gazetteer city (one to three words) that ends at `comma`, or None."""
    head = text[max(0, comma - 30) : comma]
    cut = max(head.rfind(c) for c in "\n,(|;:")
    words = head[cut + 1 :].lstrip().split(" ")
    for n in (3, 2, 1):
        if len(words) >= n:
            name = " ".join(words[-n:])
            if name.lower() in US_CITIES:
                return len(name)
    return None


_MODALITIES = frozenset("CT MR US XR PET NM CR DX MG RF IR CTA MRA MRI DEXA".split())
_KINDS = {
    name: name.split("__")[0] for pattern in (DIGIT_RE, CAP_RE) for name in pattern.groupindex
}
_WORD_RE = re.compile(r"[^\W\d_][\w'.-]*")
_LEADING_DIGITS = re.compile("[0-9]+")
# A unit after a long number makes it a measurement ("12000 units", "1500 mg"); the unit must
# end there, so a hospital acronym on the next line ("5590569\nMGH") does not count.
_UNIT_AFTER_RE = re.compile(r"(?:mm|cm|ml|mgy|msv|hu|kg|g|cc|mcg|mg|units?)(?![a-z])|%")


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------


@dataclass
class DeidResult:
    """Redacted text plus what was removed.

    ``spans`` are ``(start, end, TYPE, original)`` in the *input* text, sorted and disjoint;
    ``replacements[i]`` is what replaced ``spans[i]`` in ``text``.
    """

    text: str
    spans: list[tuple[int, int, str, str]]
    counts: Counter[str]
    replacements: list[str] = field(default_factory=list)


_EMPTY: Counter[str] = Counter()


class Deidentifier:
    """Finds and replaces Safe Harbor identifiers. Picklable (plain config + word sets)."""

    def __init__(self, config: DeidConfig | None = None) -> None:
        self.config = config or DeidConfig()
        extra = {term.lower() for term in self.config.extra_allow_terms}
        self.allow = ALLOW_TERMS | extra
        self.cue_stop = CUE_STOP_TERMS | extra
        self.keep_types = frozenset(self.config.keep_types)
        self._shift_days = _stable_int(f"{self.config.surrogate_seed}:date-shift") % 364 + 1

    # -- public API -------------------------------------------------------------------------

    def redact(self, text: str) -> DeidResult:
        """Replace every identifier in `text`; see the module docstring for the placeholders."""
        if not text:
            return DeidResult(text, [], Counter(), [])
        found = self.find(text)
        if not found:
            return DeidResult(text, [], Counter(), [])
        return self._apply(text, found)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Identifier spans ``(start, end, TYPE)``, sorted and merged (no overlaps)."""
        found: list[tuple[int, int, str]] = []
        for match in DIGIT_RE.finditer(text):
            span = self._digit_span(text, match)
            if span is not None:
                found.append(span)
        for match in CAP_RE.finditer(text):
            span = self._cap_span(text, match)
            if span is not None:
                found.append(span)
        # Same length and offsets as `text`: str.lower() can only change the length for
        # non-ASCII letters ("İ"), so ASCII text (the usual case) takes the fast C path (~0.2 us)
        # and only other text pays for translate (~1.6 us per 350 characters).
        low = text.lower() if text.isascii() else text.translate(_ASCII_LOWER)
        self._rare(text, low, found)
        self._keyword_families(text, low, found)
        if found:
            self._layout(text, found)
        if self.keep_types:
            found = [span for span in found if span[2] not in self.keep_types]
        return _merge(found) if len(found) > 1 else found

    # -- candidates -> spans ------------------------------------------------------------------

    def _digit_span(self, text: str, match: re.Match[str]) -> tuple[int, int, str] | None:
        kind = _KINDS[match.lastgroup]  # type: ignore[index]
        start, end = match.span()
        value = match.group()
        if kind in ("NUMDATE", "MONTHDAY", "MONTHYEAR"):
            return (start, end, "DATE") if _plausible_numeric_date(value) else None
        if kind == "CLOCK":
            return (start, end, "TIME") if _plausible_clock(value) else None
        if kind in ("AGE", "AGECUE"):
            number = int(_LEADING_DIGITS.match(value).group())  # type: ignore[union-attr]
            return (start, end, "AGE") if 89 < number < 130 else None
        if kind == "UID":
            return start, end, "ID"
        if kind == "DECADE":
            return start, end, "AGE"
        if kind in ("ISODATE", "DAYDATE"):
            return start, end, "DATE"
        if kind == "PHONE":
            if start and text[start - 1] == "(":
                start -= 1
            elif start >= 2 and text[start - 2 : start] == "+1":
                start -= 2
            elif start and text[start - 1] == "+":
                start -= 1
            window = text[max(0, start - 16) : start].lower()
            return start, end, "FAX" if "fax" in window else "PHONE"
        if kind == "LONGID":
            return self._long_id(text, start, end)
        return start, end, kind  # IP, SSN, ZIP, ADDRESS

    def _long_id(self, text: str, start: int, end: int) -> tuple[int, int, str] | None:
        after = text[end : end + 8].lstrip(" ").lower()
        if _UNIT_AFTER_RE.match(after):
            return None  # a measurement ("12000 units"); "5590569\nMGH" stays an identifier
        while start and (text[start - 1].isalnum() or text[start - 1] in "-#"):
            start -= 1
        if text.startswith("XXXX", start):
            return None
        window = text[max(0, start - 24) : start].lower()
        return start, end, _id_type(window)

    def _cap_span(self, text: str, match: re.Match[str]) -> tuple[int, int, str] | None:
        kind = _KINDS[match.lastgroup]  # type: ignore[index]
        start, end = match.span()
        if kind == "MONTHDATE":
            return start, end, "DATE"
        if kind == "ADDRESS":
            return start, end, "ADDRESS"
        if kind == "LABEL":
            value = re.search(_ID_VALUE + "$", match.group())
            label = text[start : start + value.start()].lower()  # type: ignore[union-attr]
            return start + value.start(), end, _id_type(label)  # type: ignore[union-attr]
        if kind == "TITLE":
            head = re.match(r"[A-Za-z]+\.?[ \t]+", match.group())
            span = self._name_span(text, start + head.end(), end, cue=True, strong=True)  # type: ignore[union-attr]
            if span is None and head.group()[:2].lower() == "dr":  # type: ignore[union-attr]
                # "Dr. Day", "Dr. Hill": after Dr. a common word is a surname (not a clinical one)
                word = _WORD_RE.match(text, start + head.end())  # type: ignore[union-attr]
                if word is not None and word.group().rstrip(".").lower() not in _CLINICAL_SET:
                    w_end = word.end() - (1 if word.group().endswith(".") else 0)
                    if word.group().endswith(("'s", "'S", "’s")):
                        w_end = word.end() - 2  # "DR. NG'S OFFICE"
                    return word.start(), w_end, "NAME"
            return span
        if kind == "CRED":
            before = NAME_BEFORE_CREDENTIAL_RE.search(text, max(0, start - 80), start)
            if before is None:  # "Dictated by: D.O." are initials, not a credential
                return (start, end, "NAME") if _cue_before(text, start) else None
            span = self._name_span(text, before.start(), before.end(), cue=True, strong=True)
            return _with_particles(text, span)  # "RESIDENT/FELLOW: van Houten, Anneke, MD"
        if kind == "INITIALS":
            return start, end, "NAME"
        if kind == "ACRONYM":
            span = self._hospital_acronym(text, start, end)
            if span is None and text[start:end].lower() not in self.allow:
                # "CASE REVIEWED WITH OH, MEI": the acronym shape was a surname
                name = NAMEISH_RE.match(text, start)
                if name is not None:
                    return self._nameish_candidate(text, start, name.end("name_rest"))
            return span
        return self._nameish_candidate(text, start, match.end("name_rest"))

    def _nameish_candidate(self, text: str, start: int, end: int) -> tuple[int, int, str] | None:
        """A capitalised-word candidate: rejected at once when every word is clinical or
        common (the usual case), else checked by `_nameish`."""
        stop = self.cue_stop  # most candidates are "FINDINGS: The ..." or "TECHNIQUE: Axial CT"
        words = text[start:end].replace(",", " ").split()
        if all(word.lower() in stop for word in words):
            if len(words) == 1 and _given_word(words[0]) and _GIVEN_ALONE_AFTER_RE.match(text, end):
                if _cue_before(text, start) or _weak_cue_before(text, start):
                    return start, end, "NAME"  # "d/w April at 09:43", "left with June at"
            return None
        return self._nameish(text, start, end)

    @staticmethod
    def _strong_may_differ(text: str, start: int, end: int) -> bool:
        """Can `_name_span(strong=True)` differ from the plain cue span? Only with a word
        surname or a given name that is a word in the candidate (the rest of the time the
        second call is skipped)."""
        return any(
            w.lower() in _WORD_SURNAMES or w.lower() in _GIVEN_WORDS
            for w in text[start:end].replace(",", " ").split()
        )

    def _nameish(self, text: str, start: int, end: int) -> tuple[int, int, str] | None:
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
        if following and following.group(1).lower() in _EPONYM_HEADS:
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
                    or (routed and inner[1].lower() in _GIVEN_WORDS)  # "Ramírez, April"
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
    ) -> tuple[int, int, str] | None:
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
                if strong and after.lower() in _WORD_SURNAMES and after[:1].isupper():
                    break  # "Reviewed by Will Day, MD"
            if cue and len(tokens) > 1 and text.startswith(", ", tokens[0].end()):
                if not _is_common(tokens[1].group(), self.allow):
                    break  # "NAME: NG, SAKURA": "Last, First" after a cue keeps its surname
            tokens.pop(0)
        while tokens and _is_common(tokens[-1].group(), allow):
            last = tokens[-1].group()
            if len(tokens) > 1 and last[:1].isupper() and last.lower() in _GIVEN_WORDS:
                if text[tokens[-2].end() : tokens[-1].start()] == ", ":
                    break  # "Chatterjee, Will", "Romano, May", "ABARA, WILL"
            if cue and len(tokens) > 1 and _CREDENTIAL_AFTER_RE.match(text, tokens[-1].end()):
                break  # "Attending: Jesus Day, MD": the word before a credential is a surname
            if len(tokens) > 1 and last[:1].isupper():
                before = tokens[-2].group()
                same_case = last[1:2].islower() or (
                    last.isupper() and before.isupper() and last.lower() not in _COMMON_SET
                )  # "KATHLEEN DAY" but not "WALTER, WAS"
                if same_case and (_INITIAL_RE.match(before) or before.lower() in FIRST_NAMES):
                    break  # "Kathleen Day", "G. Day", "S. Stone": a surname that is a word
                if (
                    strong
                    and same_case
                    and last.lower() in _WORD_SURNAMES
                    and len(before) > 2
                    and before[:1].isupper()
                    and (before.lower() not in self.allow or before.lower() in _GIVEN_WORDS)
                ):
                    break  # "Dr. Kavya Stone", "technologist Eleanor Day"
            tokens.pop()
        if not tokens:
            return None
        if len(tokens) == 1 and len(tokens[0].group().rstrip(".")) == 1:
            if not cue:
                return None  # a lone initial is not enough evidence
            species = _LOWER_NEXT_WORD_RE.match(text, tokens[0].end())
            if species is not None and species.group("w") in _CLINICAL_SET:
                return None  # "caused by E. coli", "S. aureus": a genus initial
        stop, last = tokens[-1].end(), tokens[-1].group()
        if last.endswith(".") and len(last) > 2 and "." not in last[:-1]:
            stop -= 1  # a sentence full stop after "Smith.", not initials such as "J.C."
        return tokens[0].start(), stop, "NAME"

    def _rare(self, text: str, low: str, found: list[tuple[int, int, str]]) -> None:
        """Families behind cheap substring checks: e-mail, URL, lower-case "dr smith", an
        initial + surname closing the report. `low`: `text` lower-cased, same offsets."""
        if "@" in text:
            for m in EMAIL_RE.finditer(text):
                start = _walk_back(text, m.start(), _EMAIL_LOCAL)
                if start < m.start():
                    found.append((start, m.end(), "EMAIL"))
        urls = list(URL_RE.finditer(text)) if "://" in text else []
        if "www." in text or "WWW." in text:
            urls += WWW_RE.finditer(text)
        for m in urls:
            start = (
                _walk_back(text, m.start(), _SCHEME) if m.group().startswith("://") else m.start()
            )
            end = m.end()
            while end > start and text[end - 1] in _URL_TRAIL:
                end -= 1
            found.append((start, end, "URL"))
        # "...questions. H. de Vries": the regex is tried only where ". X. " starts in the last
        # 40 characters (str.find runs in C; a regex search there tried every position)
        dot = text.find(". ", max(0, len(text) - 42))
        while dot >= 0:
            if text.startswith(". ", dot + 3):
                tail = _SIGNOFF_END_RE.match(text, dot + 2)
                if tail is not None:
                    if tail.group("s").lower() not in _CLINICAL_SET:
                        found.append((tail.start("n"), tail.end("n"), "NAME"))
                    break
            dot = text.find(". ", dot + 1)
        has_dr = "dr " in low or "dr." in low or "drs" in low  # DR_LOWER_RE needs one of them
        for m in DR_LOWER_RE.finditer(text) if has_dr else ():  # "with dr smith", "dr hill"
            last = m.group().rsplit(None, 1)[-1]
            # after a capital "Dr" even a clinical word is a surname ("Notified Dr stone")
            if last not in _CLINICAL_SET or (text[m.start()] == "D" and last not in _COMMON_SET):
                end = m.end()
                more = _LOWER_NEXT_WORD_RE.match(text, end)  # "dr. april kennedy"
                if more is not None and (
                    more.group("w") not in self.cue_stop
                    # "dr. wei ng": after a given name a short clinical word is the surname;
                    # "dr. kavya stone": after a given name that is no word, a word surname
                    or (last in FIRST_NAMES and more.group("w") not in _COMMON_SET)
                    or (last not in self.allow and more.group("w") in _WORD_SURNAMES)
                ):
                    end = more.end()
                found.append((m.start("lower_name"), end, "NAME"))
                if m.group()[:3].lower() == "drs":  # "drs. nguyen-tran and cushing"
                    other = _DRS_AND_LOWER_RE.match(text, end)
                    if other is not None and other.group("w") not in self.cue_stop:
                        found.append((other.start("w"), other.end("w"), "NAME"))
        if ", md" in text or ", m.d." in text or ", rn" in text or ", do" in text:
            # "reviewed by dorothy hill, md": a lower-case name before md/rn (substring checks
            # first: `in` is a C memchr scan, ~10x cheaper than running the regex on every text)
            for m in _LOWER_CREDENTIAL_RE.finditer(text):
                span = self._lower_name_before(text, m.start())
                if span is not None:
                    found.append(span)

    def _keyword_families(self, text: str, low: str, found: list[tuple[int, int, str]]) -> None:
        """Identifiers found by a keyword: short IDs, logins, typists, spelled-out ages,
        lower-case names, facilities and cities."""
        lower_report = None
        covered_to = -1
        first = _KEYWORD_AT_START_RE.match(low)
        for m in itertools.chain([first] if first else [], _KEYWORD_RE.finditer(low)):
            start, end = m.span("k")
            if start < covered_to:
                continue  # inside a value already taken
            word = m.group("k")
            kind = _KEYWORD_KIND[word]
            if kind == "FACILITY":
                upper = text[start].isupper()  # "Hospital", "HOSPITAL"; not "the device clinic"
                if not upper and lower_report is None:
                    lower_report = _is_lower_report(text)
                if upper or lower_report:
                    span = self._facility(text, start, end, lower=not upper)
                    if span is not None:
                        found.append(span)
                continue
            if word.endswith(("by", "from")):  # "obtained from J. BEST:", "report by W. STONE;"
                initial = _INITIAL_SURNAME_RE.match(text, end)
                if initial is not None:
                    surname = initial.group("s")
                    bare = surname.lower()
                    # "BY W. STONE;", "by J. Stone at": a capitalised surname after an initial
                    # may be a word; in lower case it may not ("by e. coli" stays either way)
                    if surname[:1].isupper() or (
                        bare not in self.cue_stop and bare not in _CLINICAL_SET
                    ):
                        found.append((initial.start("n"), initial.end("n"), "NAME"))
                if kind == "FROM":
                    continue
            if kind == "ANCHOR" or (
                word in _NAME_CLOSING_IDS
                and (text[start - 1 : start] == "(" or text[start - 2 : start] == ", ")
            ):
                if lower_report is None:
                    lower_report = _is_lower_report(text)
                # "was informed" needs capitals in a mixed-case report; "(mrn", ", dob",
                # "(pager" after a lower-case phrase is evidence enough
                needs_caps = word.startswith(("was ", "notified"))
                span = self._name_before_anchor(text, start, lower_report, needs_caps)
                if span is not None:
                    found.append(span)
                if word == "was paged":  # "was paged (#2208)": the number after it is a pager
                    kind = "ID"
                elif kind == "ANCHOR":
                    continue
            if word == "--" and start and text[start - 1] != "\n":
                if not _LAST_FIRST_LINE_RE.match(text, end):
                    continue  # "-- jane doe, pgr 123" at a line start; "x -- pre op" is none
                # "final report -- rossi, marco\n": a "last, first" closing the line is a name
            tail = _KEYWORD_AFTER[kind].match(low, end)
            if tail is None:
                continue
            if kind == "LOWERWEAK" and text[tail.start("v") : tail.end("v")].islower():
                if lower_report is None:  # a report written in lower case
                    lower_report = _is_lower_report(text)
                if not lower_report:
                    continue
            if kind == "AGEWORD":
                found.append((start, tail.end(), "AGE"))
                continue
            if kind == "POBOX":  # "po box 564" (capitalised "PO Box" is in CAP_RE)
                found.append((start, tail.end(), "ADDRESS"))
                continue
            v_start, v_end = tail.span("v")
            value = text[v_start:v_end]
            if kind == "ID":
                if value.isalpha() and not value.isupper():
                    if not _BED_LETTER_END_RE.match(text, v_end):
                        continue  # "bed a few" in prose; "micu bed a." / "ed bed d\n" are beds
                found.append((v_start, v_end, "ID"))
                covered_to = v_end  # "order 123 bed 4": the value is not another keyword
            elif kind == "USER":
                if value.lower() not in self.cue_stop and (
                    value.islower() or any(c.isdigit() for c in value) or len(value) >= 3
                ):
                    found.append((v_start, v_end, "NAME"))
            elif kind == "TYPIST":
                found.append((v_start, v_end, "NAME"))
            elif kind == "MONTH":
                if text[start].islower():  # "feb. 16, 2010", "june 2003"; capitals: CAP_RE
                    found.append((start, v_end, "DATE"))
            elif value.islower() or value.isdigit() is False and value == value.lower():
                label = kind == "LOWERLABEL" or word == "--"  # "-- jane graves, pgr": a name
                span = self._lower_name(text, v_start, v_end, label=label)
                if span is not None:
                    found.append(span)
                    if word in ("drs", "drs."):  # "drs. nguyen-tran and cushing"
                        other = _DRS_AND_LOWER_RE.match(text, span[1])
                        if other is not None and other.group("w") not in self.cue_stop:
                            found.append((other.start("w"), other.end("w"), "NAME"))
        if "/" in text:
            for m in _TYPIST_LINE_RE.finditer(text):
                slash = m.start()
                line_start = text.rfind("\n", 0, slash) + 1
                initials, second = text[line_start:slash], m.group("b")
                if not _TYPIST_PAIR_RE.fullmatch(initials):
                    continue
                # "TA/nc", "kz/rp", "ap/bk", "MD/ML": at most one half may be a clinical
                # abbreviation ("AP/LAT", "pa/lat" are views, not typists)
                if not (initials.lower() in _CLINICAL_SET and second.lower() in _CLINICAL_SET):
                    found.append((line_start, slash, "NAME"))
                    found.append((m.start("b"), m.end("b"), "NAME"))
        # "performed at: ucmc", "from svh, warren": lower-case hospital acronyms, only in a
        # report written in lower case; the capital count (~1.3 us) runs only for texts whose
        # first letters are lower case
        if lower_report is None and text[:40].islower():
            lower_report = _is_lower_report(text)
        if lower_report:
            for m in _LOWER_NAME_AGE_RE.finditer(text):  # "shreya willis, 104 year old woman"
                span = self._column_name(text, m.start("n"), m.end("n"))
                if span is not None:
                    found.append(span)
            for m in _LOWER_ACRONYM_RE.finditer(text):
                token = m.group("a")
                if token in self.allow or token.upper() in _CLINICAL_ACRONYMS:
                    continue
                head = text[max(0, m.start() - 5) : m.start() + 1]
                if (
                    m.start() == 0
                    or head.endswith(_LOWER_ACRONYM_HEADS)
                    or text.startswith(" pacs", m.end("a"))
                ):
                    found.append(self._with_city(text, m.start("a"), m.end("a")))
        if ", " in text:
            for m in _CITY_STATE_RE.finditer(text):
                span = self._city(text, m.start(), m.end())
                if span is not None:
                    found.append(span)

    def _layout(self, text: str, found: list[tuple[int, int, str]]) -> None:
        """Names known only by where they sit next to identifiers already found: a compact
        header line "22-oct-17  svetlana sullivan  acc 9602986404" or "haddad, willem
        (216239503)" (a name-shaped column between a date/ID and a column gap), and
        sign-off initials before a closing date ("... not left). SG 10-30-2014")."""
        taken = []
        for start, end, kind in found:
            if kind not in _LAYOUT_ANCHORS:
                continue
            line_start = text.rfind("\n", 0, start) + 1
            if kind == "DATE" and line_start == start and start >= 2:
                # "li suzuki\n11/11/15 9:51 pm", "JESÚS DEL RÍO\nNOVEMBER 12, 2005": a name
                # alone on the line above a line that starts with a date signs the report
                above = text.rfind("\n", 0, start - 1) + 1
                span = self._column_name(text, above, start - 1)
                if span is not None:
                    taken.append(span)
                    continue
            before = text[line_start:start]
            gap = _column_gap_end(text, line_start, start)
            if gap is not None:  # "rice, linda   30-oct-1962", "haddad, willem (2162...)"
                seg_end = line_start + gap.start()
                head = text[line_start:seg_end]
                cut = max(head.rfind("  "), head.rfind("\t"), head.rfind("|"))
                seg_start = line_start + cut + 1 if cut >= 0 else line_start
                span = self._column_name(text, seg_start, seg_end)
                if span is not None:
                    taken.append(span)
            elif kind == "DATE" and _LINE_END_RE.match(text, end):
                head = _SIGNOFF_HEAD_RE.match(before)  # "Chiara Esposito 13 October 2016."
                if head is not None and len(before) > head.end() + 4:
                    span = self._column_name(text, line_start + head.end(), start, strict=True)
                    if span is None:  # "Maria Paget Jan 14, 2010.": a given name, then a surname
                        first = before[head.end() :].split(" ", 1)[0].lower()
                        # "Sterling Paget Feb 8, 2004.", "Will Bou Khalil 23.04.2017.": a given
                        # name that is no word (or a given name that is one), then the surname
                        if first in FIRST_NAMES or first in _GIVEN_WORDS or first not in self.allow:
                            span = self._column_name(text, line_start + head.end(), start)
                    if span is not None:
                        taken.append(span)
                        continue

            if kind == "DATE" and (end == len(text) or text[end] == "\n"):
                initials = _SIGNOFF_INITIALS_RE.search(text, max(0, start - 6), start)
                letters = initials.group("i") if initials is not None else ""
                if letters and letters.upper() not in _MODALITIES:
                    # lower-case "swc oct 31, 2013" only when it is not a word ("am", "on")
                    if letters not in _CLINICAL_ACRONYMS and letters not in self.allow:
                        taken.append((initials.start("i"), initials.end("i"), "NAME"))
            if text.startswith("  ", end) or text.startswith("\t", end):  # "6/2/06  ADA LI  ACC"
                line_end = text.find("\n", end)
                line_end = len(text) if line_end < 0 else line_end
                seg_start = end + len(text[end:line_end]) - len(text[end:line_end].lstrip())
                nxt = _COLUMN_GAP_RE.search(text, seg_start, line_end)
                seg_end = nxt.start() if nxt is not None else line_end
                span = self._column_name(text, seg_start, seg_end)
                if span is not None:
                    taken.append(span)
        for start, end, kind in found:
            paren = start - 2 if text[start - 2 : start] in ("(x", "(X") else start - 1
            if kind == "ID" and text[paren : paren + 2] in ("(x", "(X"):
                # "acknowledged by june esposito (x38085)": an extension closes a name
                span = self._name_before_anchor(text, paren, False, needs_caps=False)
                if span is not None:
                    taken.append(span)
            if kind == "NAME" and text.startswith(" (", end):  # "Smith, Barbara (93)": an age
                age = _AGE_IN_PARENS_RE.match(text, end)
                if age is not None and 89 < int(age.group("a")) < 130:
                    taken.append((age.start("a"), age.end("a"), "AGE"))
            if kind == "ADDRESS" and text[end - 4 : end] in (", St", ", Ft", ", Mt"):
                # "..., Suite 603, St. Louis.": the street tail took "St" of the city
                saint = _ABBREVIATED_CITY_RE.match(text, end)
                if saint is not None:
                    taken.append((end - 2, saint.end(), "CITY"))
            if kind == "ADDRESS":
                city = _CITY_AFTER_ADDRESS_RE.match(text, end)  # "PO Box 4209, Macon."
                if city is not None:
                    name = city.group("c").rstrip(".")
                    known = name.lower() in US_CITIES
                    shaped = all(w[:1].isupper() for w in name.split(" "))
                    if known or (shaped and name.lower() not in self.cue_stop):
                        taken.append((city.start("c"), city.start("c") + len(name), "CITY"))
            if kind == "ADDRESS" and start >= 2 and text[start - 1] == "\n":
                # "Wei D'Angelo\n4699 NW Cedar Boulevard": the line above a street line
                line_start = text.rfind("\n", 0, start - 1) + 1
                span = self._column_name(text, line_start, start - 1)
                if span is not None:
                    taken.append(span)
        found.extend(taken)

    def _column_name(
        self, text: str, start: int, end: int, strict: bool = False
    ) -> tuple[int, int, str] | None:
        """A header column that is a name: 2-4 words, any case, no clinical or common word
        (a given name that is a word may open it: "May Ramírez"; in "Last, First" the surname
        may be a word: "STONE, WILLIAM", "NG, ARJUN")."""
        value = text[start:end].strip()
        if not _COLUMN_NAME_RE.fullmatch(value):
            return None
        words = [w.strip(",.").lower() for w in value.split()]
        stop = self.allow if strict else self.cue_stop  # strict: no eponym either
        last_first = value.split(" ", 1)[0].endswith(",") and len(words) >= 2
        for i, w in enumerate(words):
            if w not in stop or w in _LOWER_PARTICLES:
                continue
            if i == 0 and w in _GIVEN_WORDS and len(words) >= 2:
                continue  # "May Ramírez", "Will Bou Khalil"
            if i == 0 and last_first and (words[1] not in self.allow or words[1] in _GIVEN_WORDS):
                continue  # "STONE, WILLIAM (333-83-44)", "DAY, ART": a word as the surname
            if w in _CAPS_ONLY_TERMS and value.split()[i][:2].istitle():
                continue  # "Qing Ng": Titlecase Ng is a surname (the tube is NG)
            if i >= 1 and last_first and w in _GIVEN_WORDS:
                continue  # "DE JONG, WILL"
            if (
                i == len(words) - 1
                and i >= 1
                and not last_first
                and w in _WORD_SURNAMES
                and (words[0] not in self.allow or words[0] in _GIVEN_WORDS)
            ):
                continue  # "Marijke Stone 12/21/04.", "Abebe Stone" above a street line
            return None
        if all(w in self.allow or w in _GIVEN_WORDS or w in _LOWER_PARTICLES for w in words):
            surname_word = words[0] not in _COMMON_SET or words[0] in _WORD_SURNAMES
            given_first = (words[0] in FIRST_NAMES or words[0] in _GIVEN_WORDS) and any(
                w not in _GIVEN_WORDS and w not in _LOWER_PARTICLES for w in words[1:]
            )
            if not (last_first and words[-1] in _GIVEN_WORDS and surname_word) and not (
                given_first and not last_first
            ):
                # kept: "FOLEY, MAY (E1681592)", "DAY, ART", "mark parkinson" (a given name,
                # then an eponym surname); not "Baker Graves"
                return None
        if words[-1] in _CREDENTIAL_WORDS:
            return None
        start += len(text[start:end]) - len(text[start:end].lstrip())
        return start, start + len(value), "NAME"

    def _facility(
        self, text: str, start: int, end: int, lower: bool = False
    ) -> tuple[int, int, str] | None:
        """Walk back over the capitalised words before a facility word ("Valley Spine
        Institute", "University of New Mexico Medical Center"); in a report written in lower
        case (`lower`) over lower-case words too ("fairview regional medical center")."""
        line_start = text.rfind("\n", 0, start) + 1
        words = list(_FACILITY_WORD_RE.finditer(text, max(line_start, start - 80), start))
        kept: list[re.Match[str]] = []
        for word in reversed(words):
            value = word.group()
            if text[word.end() : kept[-1].start() if kept else start].strip():
                break  # punctuation between the words: another phrase
            if value.lower() in _FACILITY_LINK:
                kept.append(word)
                continue
            if value.lower() in _COMMON_SET and (lower or not value[:1].isupper()):
                break
            if not (value[:1].isupper() or lower):
                break
            kept.append(word)
            if len(kept) >= 6:
                break
        # leading links and common or clinical words are not part of the name ("FROM", "THE")
        while kept and (
            kept[-1].group().lower() in _FACILITY_LINK
            or kept[-1].group().lower().strip(".'’") in self.cue_stop
        ):
            kept.pop()
        if not kept:
            return None
        names = [
            w.group().strip(".'’").lower() for w in kept if w.group().lower() not in _FACILITY_LINK
        ]
        names = [n[:-2] if n.endswith("'s") else n for n in names]
        if all(n in self.cue_stop for n in names):
            return None  # "Department of Radiology"; eponym place names ("Greenfield") count
        first = kept[-1].start()
        head = _FACILITY_HEAD_RE.search(text, max(line_start, first - 8), first)
        if head is not None and (lower or text[head.start()].isupper()):
            first = head.start()  # "Our Lady of Lourdes ...", "The Willows Assisted Living"
        return self._with_city(text, first, end)

    def _with_city(self, text: str, start: int, end: int) -> tuple[int, int, str]:
        """A facility span, extended over " in Toledo" (the city it is in) when that follows."""
        city = _IN_ANY_CITY_RE.match(text, end)  # "... medical center in savannah dated"
        if city is not None:
            words = city.group("c").split(" ")
            for n in (3, 2, 1):
                if len(words) >= n and " ".join(words[:n]).lower() in US_CITIES:
                    return start, city.start("c") + len(" ".join(words[:n])), "HOSPITAL"
        city = _IN_CITY_RE.match(text, end)
        if city and not any(w.lower() in self.allow for w in city.group("c").split()):
            return start, city.end(), "HOSPITAL"
        return start, end, "HOSPITAL"

    def _hospital_acronym(self, text: str, start: int, end: int) -> tuple[int, int, str] | None:
        """ "SJMC" anywhere; "MGH", "SVH" only where a place is expected (after "from", "at", a
        comma, or at the start of a header line), never a clinical abbreviation (SAH, ICH)."""
        token = text[start:end]
        if len(token) < 3 or token.lower() in self.allow or token in _CLINICAL_ACRONYMS:
            return None
        if not token.endswith("MC"):
            head = text[max(0, start - 6) : start]
            line_start = start == 0 or text[start - 1] == "\n"
            if not (
                line_start
                or head.endswith(
                    (", ", "from ", "FROM ", "at ", "AT ", "AT: ", "at: ", "site: ", "SITE: ")
                )
                or (head.endswith("(") and text.startswith(", ", end))  # "(MGH, Ann Arbor, MI"
                or text.startswith((" PACS", " pacs"), end)  # "Images pushed to MGH PACS"
            ):
                return None
        return self._with_city(text, start, end)

    def _city(self, text: str, comma: int, state_end: int) -> tuple[int, int, str] | None:
        """The one to three words before ", ST" ("Fort Wayne, IN"); None if they are clinical."""
        state = text[comma + 2 : state_end]
        known = _known_city(text, comma)
        if len(state) == 2 and not _ZIP_AFTER_RE.match(text, state_end):
            # Without a ZIP after it, a code that is also a word or a credential ("..., or
            # pneumothorax", "NO FRACTURES, OR", "June Black, MD") is not a state; a lower-case
            # code never is. Full state names and other codes stand on their own.
            if state.islower() and len(text) > comma + 4 and not text[comma + 4].isalpha():
                if known is None or text[comma + 4] not in ")\n;|":
                    return None  # "(el paso, tx)" stays: a known city, closed like a place
            if state.upper() in _WORD_STATES and text[comma + 4 : comma + 5] not in (
                "",
                ")",
                "\n",
                ";",
            ):
                return None
        if known is not None:  # "St. Louis, MO", "Salem, OR": the gazetteer knows them
            return comma - known, comma, "CITY"
        head = text[max(0, comma - 40) : comma]
        cut = max(head.rfind(c) for c in "\n,(|;:")
        words = head[cut + 1 :].split(" ")
        words = [w for w in words if w]
        taken: list[str] = []
        for word in reversed(words[-3:]):
            if not _CITY_WORD_RE.match(word) or word.lower() in _COMMON_SET:
                break
            taken.append(word)
        if not taken or any(w.lower().strip(".") in self.cue_stop for w in taken):
            return None  # "no displaced rib fractures, or ...": clinical words are no city
        length = len(" ".join(reversed(taken)))
        return comma - length, comma, "CITY"

    def _name_before_anchor(
        self, text: str, anchor: int, lower_report: bool, needs_caps: bool = True
    ) -> tuple[int, int, str] | None:
        """The 2-6 name-shaped words that end right before a phrase that follows a name
        (`anchor`: "was informed", "(mrn", ", dob", "(beeper"). The walk back stops at a line
        start or punctuation, at a clinical/common word or a role noun ("physician",
        "clinician,"), and takes one "Last," comma. With `needs_caps` ("was informed"), in a
        report not written in lower case every word must be capitalised ("the case manager
        was notified" is no name); an ID anchor ("(pager", ", dob") is evidence enough."""
        end = anchor
        while end and text[end - 1] in " ,|(":
            end -= 1  # "Smith, DOB", "li t. hodgkin (mrn", "Brittany A | DOB"
        head = text[max(0, end - 72) : end]
        cut = max(head.rfind(c) for c in "\n:;(|")
        words = head[cut + 1 :].split(" ")
        taken: list[str] = []  # right to left
        word_surname = False  # the surname is a word: "Natasha Stone (job", "Maeve Day (job"
        for word in reversed(words):
            if not word or len(taken) >= 6:
                break
            comma = word.endswith(",")
            if comma and (not taken or len(taken) > 2 or any(w.endswith(",") for w in taken)):
                break  # "clinician, aditya l. sharma": this comma ends a phrase
            bare = word.rstrip(",")
            if not _ANCHOR_WORD_RE.fullmatch(bare) or bare.endswith(("'s", "’s")):
                break
            low = bare.rstrip(".").lower()
            if low in _ROLE_WORDS:
                break
            initial = len(low) == 1 and (bare.isupper() or bare.endswith("."))  # "A", "a."
            if bare.endswith(".") and not initial:
                break  # a sentence ends here: "Dr. Smith agreed. MRN 123" has no name before MRN
            if (
                low in self.cue_stop
                and low not in _LOWER_PARTICLES
                and low not in _GIVEN_WORDS
                and not initial
            ):
                if taken or not bare[:1].isupper() or bare.isupper():
                    break
                word_surname = True  # kept only if a given name that is no word precedes
            taken.append(word)
        if word_surname:
            if len(taken) < 2 or taken[1].rstrip(",.").lower() in self.allow:
                return None  # "Mild Stone (mrn": no given name before the word
        names = [w.rstrip(",.") for w in taken]
        core = [w for w in names if len(w) > 1 and w.lower() not in _LOWER_PARTICLES]
        if len(taken) < 2 or not core:
            return None
        if all(w.lower() in self.allow or w.lower() in _GIVEN_WORDS for w in core):
            return None  # "Baker Graves", "May June": no word that is only a name
        if needs_caps and not lower_report:
            if not all(w[:1].isupper() for w in names if w.lower() not in _LOWER_PARTICLES):
                return None
        length = len(" ".join(reversed(taken)))
        stop = end
        if text[stop - 1] == "." and len(taken[0]) > 2:
            stop -= 1  # "Sharma." closing a sentence; "J." stays an initial
            length -= 1
        return stop - length, stop, "NAME"

    def _lower_name_before(self, text: str, comma: int) -> tuple[int, int, str] | None:
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
        clinical = [w for w in bare if w in _CLINICAL_SET]
        if clinical == bare[:1] and len(bare) >= 2 and bare[-1] not in self.allow:
            clinical = []  # reversed order: "ng" in "sakura ng, md" is the surname
        # initials mark a person even before an eponym surname ("j. d. foley, md")
        if not bare or clinical or (all(w in self.allow for w in bare) and not initials):
            return None  # "no change, md" is not a name; "dorothy hill" is (hill is common)
        length = len(" ".join(reversed(taken)))
        return comma - length, comma, "NAME"

    def _lower_name(
        self, text: str, start: int, end: int, label: bool = False
    ) -> tuple[int, int, str] | None:
        """Trim a lower-case name candidate at the first common/clinical word or credential."""
        tokens = list(_WORD_RE.finditer(text, start, end))
        if label and len(tokens) == 1 and _LINE_END_RE.match(text, tokens[0].end()):
            word = tokens[0].group().rstrip(".").lower()
            if word not in _COMMON_SET and word not in _NOT_NAMES and word not in _CREDENTIAL_WORDS:
                return start, tokens[0].start() + len(word), "NAME"  # "rad: stone" alone
        kept = []
        stop = self.cue_stop if label else self.allow  # after a label an eponym is a name
        for i, token in enumerate(tokens):
            word = token.group().rstrip(".,").lower()
            last_first = i == 1 and text.startswith(", ", tokens[0].end())
            if len(token.group()) == 2 and token.group()[1] == ".":
                kept.append(token)  # "given to a. khoury": an initial, not the article "a"
                continue
            if word in _KEYWORD_KIND and i and not (last_first and word in _GIVEN_WORDS):
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
                    and (word not in self.cue_stop or word in _GIVEN_WORDS)
                ):
                    # "dictated by: day, chiamaka md": "last, first" keeps a word surname, and
                    # "summers, douglas md", "rao, june md" a given name that is a word
                    surname = (
                        i == 1
                        and len(kept) == 1
                        and (word in _WORD_SURNAMES or word not in self.cue_stop)
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
            if species is not None and species.group("w") in _CLINICAL_SET:
                return None  # "caused by s. aureus": a genus initial
        stop = kept[-1].end()
        if text[stop - 1] == "." and len(kept[-1].group()) > 2:
            stop -= 1
        return kept[0].start(), stop, "NAME"

    # -- replacement ----------------------------------------------------------------------------

    def _apply(self, text: str, found: list[tuple[int, int, str]]) -> DeidResult:
        pieces: list[str] = []
        spans: list[tuple[int, int, str, str]] = []
        replacements: list[str] = []
        counts: dict[str, int] = {}
        surrogate = self.config.mode == "surrogate"
        position = 0
        for start, end, kind in found:
            original = text[start:end]
            new = self._surrogate(kind, original) if surrogate else PLACEHOLDERS[kind]
            pieces.append(text[position:start])
            pieces.append(new)
            spans.append((start, end, kind, original))
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
            return (
                f"{_SURROGATE_FAMILY[key % len(_SURROGATE_FAMILY)].lower()}{key % 97}@example.org"
            )
        if kind == "URL":
            return f"https://example.org/{key % 100000:05d}"
        if kind == "IP":
            return f"192.0.2.{key % 254 + 1}"  # TEST-NET-1, reserved for documentation
        if kind == "ADDRESS":
            street = _SURROGATE_STREETS[key % len(_SURROGATE_STREETS)]
            return f"{key % 900 + 100} {street} Street"
        if kind in ("CITY", "HOSPITAL"):
            place = _SURROGATE_FAMILY[key % len(_SURROGATE_FAMILY)]
            return f"{place}ville" if kind == "CITY" else f"{place} Hospital"
        return _same_shape(original, key)  # IDs, phone, fax, ZIP


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------


def _merge(found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Sort spans and fuse overlapping ones; the longer span names the fused type."""
    found.sort()
    merged = [found[0]]
    for start, end, kind in found[1:]:
        last_start, last_end, last_kind = merged[-1]
        if start < last_end:
            # the longer span names the fused type; on a tie a specific type beats plain ID
            mine, theirs = (end - start, kind != "ID"), (last_end - last_start, last_kind != "ID")
            longer = kind if mine > theirs else last_kind
            merged[-1] = (last_start, max(end, last_end), longer)
        else:
            merged.append((start, end, kind))
    return merged


def _walk_back(text: str, position: int, allowed: frozenset[str]) -> int:
    """Start of the run of `allowed` characters (or any letter) that ends at `position`."""
    while position and (text[position - 1] in allowed or text[position - 1].isalpha()):
        position -= 1
    return position


def _is_common(word: str, allow: frozenset[str]) -> bool:
    bare = word.rstrip(".").lower()
    if bare in _CAPS_ONLY_TERMS and word[:1].isupper() and word[1:2].islower():
        return False  # "Ng" is a surname; the tube is written "NG" or "ng"
    if len(bare) == 1 and word.endswith("."):
        return False  # an initial ("John A."), not the article "a"
    return bare in allow or set(bare) == {"x"}  # XXXX and its fragments are placeholders


def _cue_before(text: str, start: int) -> bool:
    """Is the name candidate at `start` preceded by a cue ("discussed with", "Patient:")?"""
    head = " " + " ".join(text[max(0, start - 48) : start].lower().split())
    if head.endswith(" dr") or head.endswith(" dr."):
        head = head[: head.rfind(" dr")]
    if head.endswith(":"):
        label = head[:-1].rstrip().replace("/", " ")  # "RESIDENT/FELLOW:"
        return label.endswith(_LABEL_CUES)
    if head.endswith(" and") and _DRS_AND_RE.search(head):
        return True
    return head.endswith(_VERB_CUES)


# Surnames that are also clinical or common words ("Stone", "Day", "Young"): kept after a given
# name only behind a real cue (see `_name_span(strong=True)`), never on their own.
_WORD_SURNAMES = frozenset(
    """stone day hall little young long small white black brown green gray grey wood rose bell
    lane wall hill field rice bird fox cook knight park price cross house ward west north south
    east low high short strong wise sharp fields waters banks rivers mass ng""".split()
)

# What follows a person's name: "X Y was informed of the result", "X Y (pager 1234)".
_AFTER_CUES = (
    " was informed",
    " was notified",
    " was paged",
    " was called",
    " was contacted",
    " was told",
    " (pager",
    " (beeper",
    " (ext",
    " (x",
    " (phone",
    ", dob",
)


def words_of(text: str, start: int, end: int) -> list[str]:
    return text[start:end].replace(",", " ").split()


def _given_word(word: str) -> bool:
    """ "May", "Will" (a given name that is also a word); "WILL" only counts where the caller
    checks the word after it is a capitalised name ("DR. WILL NWOSU")."""
    return word[:1].isupper() and word.lower() in _GIVEN_WORDS


_COMMUNICATION_RE = re.compile(
    r"discuss|spoke|spoken|review|communicat|confer|talk|left (?:with|a )|\bcall|phon|"
    r"\bpaged?\b|notif|inform|contacted|relay|convey|\breported\b|given|sent|forward|read back|"
    r"\bmet\b|consult",
    re.IGNORECASE,
)


def _is_lower_report(text: str) -> bool:
    """A report written in lower case (fewer than one capital per 50 characters). Counting
    stops at the limit, so a mixed-case report costs ~len/50 matches, not a list of all its
    capitals."""
    capitals = 0
    for _ in _ASCII_UPPER_RE.finditer(text):
        capitals += 1
        if capitals * 50 >= len(text):
            return False
    return True


def _sentence_before(text: str, start: int) -> str:
    """The sentence (at most 80 characters) that ends at `start`: it begins after a line
    break or a full stop followed by a capital ("a.m. to", "Dr. Smith" do not end one)."""
    head = text[max(0, start - 80) : start]
    cut = head.rfind("\n")
    dot = head.rfind(". ")
    while dot > cut and not head[dot + 2 : dot + 3].isupper():
        dot = head.rfind(". ", 0, dot)
    return head[max(cut, dot) + 1 :]


def _column_gap_end(text: str, line_start: int, end: int) -> re.Match[str] | None:
    """`_COLUMN_GAP_END_RE.search(text[line_start:end])`, tried on the last 12 characters
    first: every gap shorter than the window that ends at `end` lies inside it, so only a gap
    that reaches the window's start (a long run of blanks) needs the whole line."""
    window = max(line_start, end - 12)
    gap = _COLUMN_GAP_END_RE.search(text[window:end])
    if gap is None or (gap.start() > 0 or window == line_start):
        if gap is None:
            return None
        return _COLUMN_GAP_END_RE.search(text[line_start:end], window - line_start + gap.start())
    return _COLUMN_GAP_END_RE.search(text[line_start:end])


def _with_particles(text: str, span: tuple[int, int, str] | None) -> tuple[int, int, str] | None:
    """Move a name's start back over the particles before it ("van der Berg", "Ó Briain")."""
    if span is None:
        return None
    start = span[0]
    # a particle ends in a letter (or is "Ó") right before the blank: most names follow ": "
    # or ". ", and the anchored search below tries every position of its 24-character window
    if start < 3 or text[start - 1] != " " or not text[start - 2].isalpha():
        return span
    particles = _PARTICLES_BEFORE_RE.search(text, max(0, start - 24), start)
    return (particles.start(), span[1], span[2]) if particles else span


def _weakest_cue_before(text: str, start: int) -> bool:
    return (" " + text[max(0, start - 6) : start].lower().rstrip()).endswith(_WEAKEST_CUES)


def _weak_cue_before(text: str, start: int) -> bool:
    head = " " + " ".join(text[max(0, start - 32) : start].lower().split())
    return head.endswith(_WEAK_CUES)


_DIGIT_AFTER_RE = re.compile(r"[ ]+[0-9]")
_INITIAL_RE = re.compile(r"[A-Z]\.$")
_NEXT_WORD_RE = re.compile(r"[ ]([A-Za-z]+)")
_DRS_AND_RE = re.compile(r" drs\.? [^ ,;]+(?: [^ ,;]+){0,3} and$")


def _id_type(label: str) -> str:
    if "mrn" in label or "medical record" in label or "mr#" in label:
        return "MRN"
    if "acc" in label and "account" not in label and "acct" not in label:
        return "ACCESSION"
    if "ssn" in label or "social" in label:
        return "SSN"
    return "ID"


def _plausible_numeric_date(value: str) -> bool:
    parts = [int(p) for p in re.findall(r"[0-9]+", value)]
    if len(parts) >= 2 and parts[0] <= 12 and 1 <= parts[1] <= 31:
        return parts[0] >= 1 or len(parts) == 2
    if len(parts) == 3 and 1 <= parts[0] <= 31 and 1 <= parts[1] <= 12:
        return True  # day/month/year
    return len(parts) == 2 and 1 <= parts[0] <= 12 and parts[1] > 31  # month/year


def _plausible_clock(value: str) -> bool:
    digits = re.match(r"[0-9]+", value).group()  # type: ignore[union-attr]
    hour = int(digits[:-2]) if len(digits) == 4 else int(digits)
    has_ampm = re.search(r"[AaPp]\.?[Mm]", value) is not None
    return hour <= 12 if has_ampm else hour <= 24


def _stable_int(key: str) -> int:
    """A process-independent hash (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def _same_shape(original: str, key: int) -> str:
    """Digits -> digits, letters -> letters, punctuation kept ("617-555-0134" style)."""
    out = []
    for i, char in enumerate(original):
        step = _stable_int(f"{key}:{i}")
        if char.isdigit():
            out.append(str(step % 10))
        elif char.isalpha():
            letter = chr(ord("A") + step % 26)
            out.append(letter if char.isupper() else letter.lower())
        else:
            out.append(char)
    return "".join(out)


def _surrogate_name(original: str, seed: int) -> str:
    """Each word maps to a fixed fake word, so "John Smith" and "SMITH, JOHN" stay consistent."""

    def fake(match: re.Match[str]) -> str:
        word = match.group()
        key = _stable_int(f"{seed}:name:{word.lower().rstrip('.')}")
        if len(word.rstrip(".")) == 1:
            new = chr(ord("A") + key % 26) + word[1:]
        elif word.lower() in FIRST_NAMES:
            new = _SURROGATE_GIVEN[key % len(_SURROGATE_GIVEN)].capitalize()
        else:
            new = _SURROGATE_FAMILY[key % len(_SURROGATE_FAMILY)]
        return new.upper() if word.isupper() and len(word) > 1 else new

    return re.sub(r"[A-Za-z][A-Za-z'-]*\.?", fake, original)


_DATE_FORMS = (
    re.compile(r"(?P<m>[0-9]{1,2})(?P<s>[-/.])(?P<d>[0-9]{1,2})(?P=s)(?P<y>[0-9]{4}|[0-9]{2})$"),
    re.compile(r"(?P<y>[0-9]{4})(?P<s>[-/.])(?P<m>[0-9]{1,2})(?P=s)(?P<d>[0-9]{1,2})(?P<rest>.*)$"),
    re.compile(
        r"(?P<mon>[A-Za-z]+)(?P<p>\.?[ ]?)(?P<d>[0-9]{1,2})(?P<sfx>st|nd|rd|th)?"
        r"(?P<c>,?[ ]?)(?P<y>[0-9]{4})?$"
    ),
    re.compile(
        r"(?P<d>[0-9]{1,2})(?P<sfx>st|nd|rd|th)?(?P<p>[ -]|[ ]of[ ])?(?P<mon>[A-Za-z]+)"
        r"(?P<c>\.?,?[ -]?)(?P<y>[0-9]{4})?$"
    ),
)


def _shift_date(original: str, days: int) -> str | None:
    """Shift a date by `days`, wrapping inside its year so the year stays; None if unparsed."""
    for form in _DATE_FORMS:
        m = form.match(original)
        if not m:
            continue
        parts = m.groupdict()
        year = int(parts["y"]) if parts.get("y") else 2000
        year = year + 2000 if year < 100 else year
        month = (
            _MONTH_NUMBER.get(parts["mon"].lower()[:4].rstrip(".")) if parts.get("mon") else None
        )
        month = (
            month
            or _MONTH_NUMBER.get((parts.get("mon") or "")[:3].lower())
            or int(parts.get("m") or 0)
        )
        try:
            day = date(year, month, int(parts["d"]))
        except (ValueError, TypeError):
            return None
        size = 366 if calendar.isleap(year) else 365
        shifted = date(year, 1, 1) + timedelta(days=(day.timetuple().tm_yday - 1 + days) % size)
        if parts.get("mon"):
            name = _MONTHS[shifted.month - 1]
            mon = parts["mon"]
            name = name[: len(mon)] if len(mon) <= 4 else name
            name = name.upper() if mon.isupper() else name
            if form is _DATE_FORMS[2]:
                return f"{name}{parts['p']}{shifted.day}{parts['sfx'] or ''}{parts['c']}{parts['y'] or ''}"
            return f"{shifted.day}{parts['sfx'] or ''}{parts['p'] or ''}{name}{parts['c']}{parts['y'] or ''}"
        sep = parts["s"]
        if form is _DATE_FORMS[1]:
            return f"{parts['y']}{sep}{shifted.month:02d}{sep}{shifted.day:02d}{parts['rest']}"
        return f"{shifted.month:0{len(parts['m'])}d}{sep}{shifted.day:0{len(parts['d'])}d}{sep}{parts['y']}"
    return None


def _shift_time(original: str, key: int) -> str | None:
    m = re.match(r"([0-9]{1,2}):([0-9]{2})(.*)$", original)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    twelve = re.search(r"[AaPp]\.?[Mm]", m.group(3)) is not None
    total = (hour * 60 + minute + key % 600 + 7) % (12 * 60 if twelve else 24 * 60)
    new_hour, new_minute = divmod(total, 60)
    if twelve and new_hour == 0:
        new_hour = 12
    return f"{new_hour:0{len(m.group(1))}d}:{new_minute:02d}{m.group(3)}"


# ------------------------------------------------------------------------------------------
# Audit
# ------------------------------------------------------------------------------------------


@dataclass
class DeidAudit:
    """Redaction counts over many reports plus a fixed-size review sample; mergeable.

    The sample keeps the `sample_size` redactions with the smallest hash of (report id, type,
    original, offset): a deterministic "bottom-k" sample, so merging the audits of worker
    processes gives the same sample as one process seeing every report. Texts of one report
    (findings, impression) are added one after the other with the same `record_id` and count
    as one report. NOTE: ``original_context`` shows the identifiers themselves; keep the audit
    file with the raw data, not with the de-identified dataset you share.
    """

    sample_size: int = 50
    context_chars: int = 40
    counts: Counter[str] = field(default_factory=Counter)
    total_redactions: int = 0
    reports_seen: int = 0
    reports_with_phi: int = 0
    _heap: list[tuple[int, str, str, str, str]] = field(default_factory=list, repr=False)
    _last_id: str | None = field(default=None, repr=False)
    _last_had_phi: bool = field(default=False, repr=False)

    @classmethod
    def for_config(cls, config: DeidConfig) -> DeidAudit:
        return cls(sample_size=config.audit_sample_size, context_chars=config.audit_context_chars)

    def add(self, record_id: str, result: DeidResult) -> None:
        record_id = str(record_id)
        if record_id != self._last_id:
            self.reports_seen += 1
            self._last_id, self._last_had_phi = record_id, False
        if not result.spans:
            return
        if not self._last_had_phi:
            self.reports_with_phi += 1
            self._last_had_phi = True
        self.total_redactions += len(result.spans)
        self.counts.update(result.counts)
        if self.sample_size:
            self._sample(record_id, result)

    def merge(self, other: DeidAudit) -> None:
        self.counts.update(other.counts)
        self.total_redactions += other.total_redactions
        self.reports_seen += other.reports_seen
        self.reports_with_phi += other.reports_with_phi
        for item in other._heap:
            self._offer(item)

    def to_json(self) -> dict[str, Any]:
        by_type = {kind: self.counts.get(kind, 0) for kind in PHI_TYPES}
        sample = sorted(self._heap, key=lambda item: -item[0])
        return {
            "total_redactions": self.total_redactions,
            "counts_by_type": by_type,
            "reports_with_phi": self.reports_with_phi,
            "reports_seen": self.reports_seen,
            "sample": [
                {"id": rid, "type": kind, "original_context": orig, "redacted_context": red}
                for _, rid, kind, orig, red in sample
            ],
            "note": "original_context shows identifiers: keep this file with the raw data.",
        }

    def _offer(self, item: tuple[int, str, str, str, str]) -> None:
        # Max-heap on the hash (stored negated): the root is the largest kept hash.
        if len(self._heap) < self.sample_size:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def _sample(self, record_id: str, result: DeidResult) -> None:
        original: str | None = None
        shift = 0  # offset of the redacted text relative to the input text
        width = self.context_chars
        replacements = result.replacements or [PLACEHOLDERS[s[2]] for s in result.spans]
        for (start, end, kind, value), new in zip(result.spans, replacements, strict=True):
            key = zlib.crc32(f"{record_id}\x00{kind}\x00{value}\x00{start}".encode())
            full = len(self._heap) >= self.sample_size
            if not full or -key > self._heap[0][0]:
                if original is None:
                    original = restore_original(result)
                out_start = start + shift
                redacted = result.text[max(0, out_start - width) : out_start + len(new) + width]
                source = original[max(0, start - width) : end + width]
                self._offer((-key, record_id, kind, source, redacted))
            shift += len(new) - (end - start)


def restore_original(result: DeidResult) -> str:
    """The input text of a `DeidResult`, rebuilt from its spans and replacements."""
    replacements = result.replacements or [PLACEHOLDERS[s[2]] for s in result.spans]
    pieces, position, shift = [], 0, 0
    for (start, end, _, value), new in zip(result.spans, replacements, strict=True):
        out_start = start + shift
        pieces.append(result.text[position:out_start])
        pieces.append(value)
        position = out_start + len(new)
        shift += len(new) - (end - start)
    pieces.append(result.text[position:])
    return "".join(pieces)


# ------------------------------------------------------------------------------------------
# Ground-truth evaluation (synthetic corpus: FILE.phi.jsonl)
# ------------------------------------------------------------------------------------------


def recall_against_ground_truth(
    texts: Iterable[str],
    phi_records: Iterable[dict[str, Any]],
    deidentifier: Deidentifier | None = None,
    max_examples: int = 20,
) -> dict[str, Any]:
    """Share of planted PHI spans fully covered by redactions, and of clinical terms kept.

    `phi_records` are rows of ``FILE.phi.jsonl`` (``spans``: start/end/type/text and ``keep``:
    start/end/text, offsets in the matching text). A planted span counts as found only if
    redactions cover every one of its characters; a keep term counts as kept only if no
    redaction touches it.
    """
    deid = deidentifier or Deidentifier()
    planted: Counter[str] = Counter()
    found: Counter[str] = Counter()
    keep_total = keep_kept = 0
    missed: list[dict[str, Any]] = []
    damaged: list[dict[str, Any]] = []
    for text, record in zip(texts, phi_records, strict=True):
        covered = _touching_merged(deid.find(text))
        for span in record.get("spans", []):
            planted[span["type"]] += 1
            if _covered(covered, span["start"], span["end"]):
                found[span["type"]] += 1
            elif len(missed) < max_examples:
                missed.append(_example(text, span, record))
        for term in record.get("keep", []):
            keep_total += 1
            if not _overlaps(covered, term["start"], term["end"]):
                keep_kept += 1
            elif len(damaged) < max_examples:
                damaged.append(_example(text, term, record))
    total = sum(planted.values())
    return {
        "phi_spans": total,
        "phi_covered": sum(found.values()),
        "recall": sum(found.values()) / total if total else 1.0,
        "recall_by_type": {k: found[k] / n for k, n in sorted(planted.items())},
        "spans_by_type": dict(sorted(planted.items())),
        "keep_terms": keep_total,
        "keep_kept": keep_kept,
        "keep_rate": keep_kept / keep_total if keep_total else 1.0,
        "missed_examples": missed,
        "keep_violations": damaged,
    }


def _touching_merged(spans: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end, _ in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _covered(intervals: list[tuple[int, int]], start: int, end: int) -> bool:
    i = bisect.bisect_right(intervals, (start, float("inf"))) - 1
    return i >= 0 and intervals[i][0] <= start and intervals[i][1] >= end


def _overlaps(intervals: list[tuple[int, int]], start: int, end: int) -> bool:
    i = bisect.bisect_left(intervals, (end, -1)) - 1
    return i >= 0 and intervals[i][1] > start


def _example(text: str, span: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    start, end = span["start"], span["end"]
    return {
        "report_id": record.get("report_id"),
        "type": span.get("type", "KEEP"),
        "text": text[start:end],
        "context": text[max(0, start - 40) : end + 40],
    }


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
    left out instead of stopping the run."""
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
            if value is None:  # nothing to redact; the row still counts as seen
                audit.add(record_id, DeidResult("", [], Counter(), []))
                continue
            if not isinstance(value, str):
                raise DataError(
                    f"{source}: row {number} field '{name}' is {type(value).__name__}, not text; "
                    "pass --text-field NAME of a string field"
                )
            result = deidentifier.redact(value)
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
