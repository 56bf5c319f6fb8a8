#!/usr/bin/env python3
"""make_phi_broad.py - blind, broad PHI benchmark for radiology-report de-identification.

Writes two labelled draws of synthetic radiology reports in ~27 archive layouts
(HL7 v2 ORU, DICOM headers, PACS footers, Epic/Cerner style, dictation footers,
outside-hospital reads, mammography letters, teaching files, ALL-CAPS legacy
reports, IR procedure notes, requisitions with insurance IDs, ...), with patient
names of 35 national origins.

Written blind: from public format descriptions (HL7 v2.x segment definitions,
DICOM PS3.5 value representations, HIPAA Safe Harbor list of 18 identifiers,
ACR BI-RADS / LI-RADS / TI-RADS / Lung-RADS lexicons, CMS MBI format) and the
author's own knowledge.  The project's de-identifier and its other generators
were never read.

    python make_phi_broad.py --out DIR [--dev-seed 1 --holdout-seed 20250917 --n 1000]

Dependencies: Python 3.11 standard library + faker (pinned, see FAKER_PIN).
Output is byte-identical across runs for the same seeds and faker version.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import unicodedata
from collections import Counter
from datetime import date, datetime, timedelta

# faker is imported lazily (in make_draw / main) so that importing this module -- e.g. by
# pytest --doctest-modules -- does not need faker installed.

FAKER_PIN = "37.12.0"

PHI_TYPES = ["NAME", "DATE", "TIME", "AGE", "ID", "PHONE", "FAX", "EMAIL", "URL", "IP",
             "ADDRESS", "ZIP", "CITY", "STATE", "HOSPITAL", "DEVICE"]
NAME_SUB = {"PATIENT", "DOCTOR", "STAFF", "FAMILY", "USERNAME"}
ID_SUB = {"MRN", "SSN", "ACCOUNT", "ACCESSION", "HEALTHPLAN", "MEDICARE", "LICENSE",
          "VEHICLE", "JOB", "OTHER"}
KEEP_KINDS = {"EPONYM", "MEASUREMENT", "ANATOMY", "LEVEL", "TERM", "DRUG"}

# ---------------------------------------------------------------------------
# text helpers
# ---------------------------------------------------------------------------
_FOLD_SPECIAL = {"ł": "l", "Ł": "L", "ß": "ss", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O",
                 "æ": "ae", "Æ": "AE", "ı": "i", "œ": "oe", "Œ": "OE", "þ": "th",
                 "ð": "d", "’": "'", "ʻ": "'", "ʼ": "'", "ə": "a", "Ə": "A"}


def fold(s: str) -> str:
    """ASCII-fold a Latin-script string (Nguyễn -> Nguyen, Łukasz -> Lukasz)."""
    s = "".join(_FOLD_SPECIAL.get(c, c) for c in s)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return "".join(c for c in s if ord(c) < 128)


_CYR = {"а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "yo",
        "є": "ye", "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k",
        "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
        "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
        "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "'": "", "’": ""}
_CYR_UK = dict(_CYR, **{"г": "h", "и": "y", "х": "kh"})


def translit_cyr(s: str, uk: bool = False) -> str:
    tab = _CYR_UK if uk else _CYR
    out = []
    for i, c in enumerate(s):
        lo = c.lower()
        if lo in tab:
            t = tab[lo]
            if lo == "е" and not uk and (i == 0 or s[i - 1] in " -"):
                t = "ye"
            if c != lo and t:
                t = t[0].upper() + t[1:]
            out.append(t)
        else:
            out.append(c)
    return "".join(out)


_GRK = {"α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th",
        "ι": "i", "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p",
        "ρ": "r", "σ": "s", "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps",
        "ω": "o"}


def translit_greek(s: str) -> str:
    s = unicodedata.normalize("NFD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = re.sub("ου", "ou", s)
    s = re.sub("Ου", "Ou", s)
    s = re.sub("ΟΥ", "OU", s)
    out = []
    for c in s:
        lo = c.lower()
        if lo in _GRK:
            t = _GRK[lo]
            out.append(t[0].upper() + t[1:] if c != lo else t)
        else:
            out.append(c)
    return "".join(out)


_HG_I = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k",
         "t", "p", "h"]
_HG_M = ["a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u",
         "wo", "we", "wi", "yu", "eu", "ui", "i"]
_HG_F = ["", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m",
         "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t"]
_KO_SURNAME = {"김": "Kim", "이": "Lee", "박": "Park", "최": "Choi", "정": "Jung", "강": "Kang",
               "조": "Cho", "윤": "Yoon", "장": "Jang", "임": "Lim", "한": "Han", "오": "Oh",
               "서": "Seo", "신": "Shin", "권": "Kwon", "황": "Hwang", "안": "Ahn", "송": "Song",
               "류": "Ryu", "전": "Jeon", "홍": "Hong", "고": "Ko", "문": "Moon", "양": "Yang",
               "손": "Son", "배": "Bae", "백": "Baek", "허": "Heo", "유": "Yoo", "남": "Nam",
               "심": "Shim", "노": "Noh", "하": "Ha", "곽": "Kwak", "성": "Sung", "차": "Cha",
               "주": "Joo", "우": "Woo", "구": "Koo", "민": "Min", "진": "Jin", "지": "Ji",
               "엄": "Eom", "채": "Chae", "원": "Won", "천": "Cheon", "방": "Bang", "공": "Kong",
               "현": "Hyun", "함": "Ham", "변": "Byun", "염": "Yeom", "여": "Yeo", "추": "Choo",
               "도": "Do", "소": "So", "석": "Seok", "선": "Sun", "설": "Seol", "마": "Ma",
               "길": "Gil", "연": "Yeon", "위": "Wi", "표": "Pyo", "명": "Myung", "기": "Ki",
               "반": "Ban", "왕": "Wang", "금": "Keum", "옥": "Ok", "육": "Yook", "인": "In",
               "제": "Je", "모": "Mo", "탁": "Tak", "국": "Kook", "은": "Eun", "봉": "Bong",
               "황보": "Hwangbo", "남궁": "Namgoong", "선우": "Sunwoo", "제갈": "Jegal"}


def romanize_hangul(s: str, sep: str = "") -> str:
    parts = []
    for c in s:
        o = ord(c) - 0xAC00
        if 0 <= o < 11172:
            i, m, f = o // 588, (o % 588) // 28, o % 28
            parts.append(_HG_I[i] + _HG_M[m] + _HG_F[f])
        else:
            parts.append(c)
    r = sep.join(parts)
    return r[:1].upper() + r[1:]


# Curated romanised name lists for origins whose faker locale is not in Latin script
CURATED = {
    "ar_AA": dict(
        m=["Mohammed", "Muhammad", "Ahmed", "Ali", "Omar", "Khalid", "Youssef", "Ibrahim", "Hassan",
           "Hussein", "Mahmoud", "Mustafa", "Tariq", "Samir", "Karim", "Walid", "Faisal", "Nabil",
           "Ziad", "Bilal", "Hamza", "Rami", "Fadi", "Adel", "Jamal", "Saeed", "Abdullah",
           "Abdulrahman", "Amr", "Majid", "Munther", "Osama"],
        f=["Fatima", "Aisha", "Mariam", "Layla", "Noor", "Huda", "Salma", "Rania", "Yasmin", "Zainab",
           "Amira", "Hana", "Dalia", "Samira", "Nadia", "Lina", "Reem", "Maha", "Ghada", "Suha",
           "Lubna", "Farah", "Iman", "Rasha", "Khadija"],
        l=["Al-Rashid", "Al-Sayed", "El-Masri", "Haddad", "Khoury", "Nasser", "Hamdan", "Abboud",
           "Mansour", "Saleh", "Al-Farsi", "Al-Hashimi", "Darwish", "Aziz", "Bakr", "Sabbagh",
           "Shaheen", "Barakat", "Ghanem", "Jaber", "Karam", "Awad", "Hijazi", "Obeid",
           "Abdel-Malek", "Abu-Zahra", "Al-Khatib", "Fakhoury", "Zaher", "Tawil", "Issa", "Yassin",
           "Kassem", "El-Amin", "Bitar", "Al Masri", "Abdelrahman", "Qasim"]),
    "hi_IN": dict(
        m=["Rajesh", "Suresh", "Amit", "Vikram", "Sanjay", "Arjun", "Rahul", "Anil", "Deepak",
           "Manoj", "Rakesh", "Vijay", "Prakash", "Ravi", "Sunil", "Ajay", "Ashok", "Naveen",
           "Krishna", "Gopal", "Harish", "Venkatesh", "Srinivas", "Pradeep", "Karthik", "Aarav",
           "Rohan", "Nikhil", "Siddharth", "Damodar"],
        f=["Priya", "Anjali", "Sunita", "Kavita", "Neha", "Pooja", "Lakshmi", "Deepa", "Meena", "Asha",
           "Radha", "Shanti", "Geeta", "Rekha", "Sangeeta", "Divya", "Ananya", "Aishwarya", "Shreya",
           "Padma", "Usha", "Savitri", "Nandini", "Mohana"],
        l=["Sharma", "Patel", "Gupta", "Singh", "Kumar", "Reddy", "Rao", "Iyer", "Nair", "Menon",
           "Mehta", "Shah", "Joshi", "Desai", "Agarwal", "Banerjee", "Chatterjee", "Mukherjee", "Das",
           "Bose", "Verma", "Malhotra", "Kapoor", "Chopra", "Pillai", "Krishnamurthy", "Subramanian",
           "Venkataraman", "Bhattacharya", "Chaudhary", "Trivedi", "Pandey", "Mishra", "Srinivasan",
           "Ramachandran", "Gill", "Sandhu", "Dhillon", "Naidu"]),
    "fa_IR": dict(
        m=["Reza", "Ali", "Hossein", "Mehdi", "Amir", "Mohammad", "Hamid", "Saeed", "Majid", "Farhad",
           "Dariush", "Kourosh", "Behzad", "Babak", "Arash", "Navid", "Omid", "Siavash", "Parviz",
           "Jamshid"],
        f=["Maryam", "Fatemeh", "Zahra", "Shirin", "Parisa", "Nasrin", "Leila", "Mahnaz", "Roya",
           "Niloufar", "Azadeh", "Golnaz", "Shabnam", "Mina", "Soraya", "Farzaneh", "Mahsa", "Ladan",
           "Sana"],
        l=["Hosseini", "Mohammadi", "Rezaei", "Ahmadi", "Karimi", "Moradi", "Jafari", "Rahimi",
           "Ghorbani", "Sadeghi", "Tehrani", "Esfahani", "Shirazi", "Tabrizi", "Kazemi", "Hashemi",
           "Mousavi", "Najafi", "Farahani", "Golpayegani", "Khorasani", "Daneshvar", "Shadravan",
           "Azizi", "Yazdani", "Zand", "Bakhtiari", "Nouri"]),
    "he_IL": dict(
        m=["Yosef", "David", "Moshe", "Avraham", "Yaakov", "Eitan", "Omri", "Yoav", "Noam", "Itai",
           "Amit", "Ariel", "Ehud", "Shlomo", "Yitzhak", "Ronen", "Gilad", "Tomer", "Uri", "Nir"],
        f=["Sarah", "Rivka", "Leah", "Rachel", "Tamar", "Noa", "Shira", "Michal", "Yael", "Maya",
           "Hila", "Orly", "Dalia", "Ayelet", "Efrat", "Galit", "Liat", "Naama"],
        l=["Cohen", "Levi", "Mizrahi", "Peretz", "Biton", "Dahan", "Avraham", "Friedman", "Azoulay",
           "Malka", "Katz", "Shapiro", "Ben-David", "Ben-Ami", "Goldberg", "Rosenberg", "Segal",
           "Weiss", "Ohana", "Amar", "Gabay", "Hadad", "Shalom", "Ben-Haim", "Avital", "Carmeli",
           "Golan"]),
    "fil_PH": dict(
        m=["Jose", "Juan", "Rodrigo", "Ramon", "Eduardo", "Ferdinand", "Rommel", "Jun", "Arnel",
           "Reynaldo", "Danilo", "Efren", "Rogelio", "Jericho", "Marlon", "Jayson", "Emmanuel"],
        f=["Maria", "Rosario", "Corazon", "Lourdes", "Marites", "Imelda", "Luzviminda", "Maricel",
           "Rowena", "Jocelyn", "Cristina", "Analyn", "Divina", "Perla", "Precious", "Ligaya"],
        l=["Santos", "Reyes", "Cruz", "Bautista", "Ocampo", "Garcia", "Mendoza", "Torres", "Tomas",
           "Aquino", "Dela Cruz", "De Guzman", "Villanueva", "Ramos", "Castillo", "Manalo",
           "Macaraeg", "Dimaculangan", "Pangilinan", "Lacson", "Soriano", "Evangelista",
           "Panganiban", "Dizon", "Tolentino", "Salonga", "Magbanua"]),
}

# origin -> weight.  en_US is the biggest share, as in a US archive; everything else is spread.
ORIGINS = [("en_US", 14), ("es_MX", 5), ("vi_VN", 4), ("pl_PL", 3), ("de_DE", 3), ("zh_CN", 4),
           ("hi_IN", 4), ("ar_AA", 3), ("fr_FR", 3), ("it_IT", 3), ("pt_BR", 3), ("ja_JP", 3),
           ("ko_KR", 3), ("ru_RU", 3), ("tr_TR", 2), ("nl_NL", 2), ("sv_SE", 2), ("yo_NG", 2),
           ("ig_NG", 2), ("el_GR", 2), ("ga_IE", 2), ("cs_CZ", 2), ("hu_HU", 2), ("fi_FI", 2),
           ("uk_UA", 2), ("tw_GH", 2), ("fa_IR", 2), ("he_IL", 2), ("ro_RO", 2), ("hr_HR", 2),
           ("en_KE", 2), ("ha_NG", 2), ("id_ID", 2), ("fil_PH", 2), ("lt_LT", 2)]
FAMILY_FIRST_ORIGINS = {"vi_VN", "zh_CN", "ja_JP", "ko_KR", "hu_HU"}

# surnames / given names that are also eponyms or English words: a de-identifier that keeps
# "Baker cyst" must still remove the patient "Baker"; one that removes the name "Will" must not
# remove "will" in "will be sent".
COLLIDE_SURNAMES = ["Baker", "Moore", "Graves", "Barrett", "Foley", "Harris", "Jackson", "Bennett",
                    "Jones", "Smith", "Paget", "Hill", "Parkinson", "Hodgkin", "Addison", "Cushing",
                    "Wilson", "Bell", "Marshall", "Stone", "Love", "Hope", "Mark", "May", "Little",
                    "Strong", "Short", "Young", "Gray", "White", "Colles", "Chance", "Murphy",
                    "Morgan", "Kerley", "Salter", "Whipple", "Wells"]
WORD_GIVEN_F = ["May", "Hope", "Faith", "April", "June", "Grace", "Joy", "Rose", "Dawn", "Summer",
                "Iris", "Ivy", "Crystal", "Sandy", "Pat", "Precious", "Penny"]
WORD_GIVEN_M = ["Will", "Mark", "Bill", "Art", "Sonny", "Chase", "Hunter", "Pat", "Guy", "Chip",
                "Rusty", "Buck", "Duke", "Major"]

# Real US cities with state and a plausible ZIP prefix (3 digits).
PLACES = [("Boston", "MA", "021"), ("Worcester", "MA", "016"), ("Springfield", "MA", "011"),
          ("Brockton", "MA", "023"), ("Lowell", "MA", "018"), ("Providence", "RI", "029"),
          ("Hartford", "CT", "061"), ("New Haven", "CT", "065"), ("Manchester", "NH", "031"),
          ("Portland", "ME", "041"), ("Burlington", "VT", "054"), ("Albany", "NY", "122"),
          ("Brooklyn", "NY", "112"), ("Buffalo", "NY", "142"), ("Newark", "NJ", "071"),
          ("Paterson", "NJ", "075"), ("Philadelphia", "PA", "191"), ("Pittsburgh", "PA", "152"),
          ("Baltimore", "MD", "212"), ("Richmond", "VA", "232"), ("Raleigh", "NC", "276"),
          ("Charlotte", "NC", "282"), ("Atlanta", "GA", "303"), ("Savannah", "GA", "314"),
          ("Miami", "FL", "331"), ("Orlando", "FL", "328"), ("Tampa", "FL", "336"),
          ("Nashville", "TN", "372"), ("Louisville", "KY", "402"), ("Columbus", "OH", "432"),
          ("Cleveland", "OH", "441"), ("Detroit", "MI", "482"), ("Grand Rapids", "MI", "495"),
          ("Chicago", "IL", "606"), ("Peoria", "IL", "616"), ("Milwaukee", "WI", "532"),
          ("Minneapolis", "MN", "554"), ("Des Moines", "IA", "503"), ("St. Louis", "MO", "631"),
          ("Kansas City", "MO", "641"), ("Omaha", "NE", "681"), ("New Orleans", "LA", "701"),
          ("Houston", "TX", "770"), ("San Antonio", "TX", "782"), ("El Paso", "TX", "799"),
          ("Dallas", "TX", "752"), ("Oklahoma City", "OK", "731"), ("Denver", "CO", "802"),
          ("Albuquerque", "NM", "871"), ("Phoenix", "AZ", "850"), ("Tucson", "AZ", "857"),
          ("Salt Lake City", "UT", "841"), ("Las Vegas", "NV", "891"), ("Los Angeles", "CA", "900"),
          ("San Diego", "CA", "921"), ("Fresno", "CA", "937"), ("Oakland", "CA", "946"),
          ("Sacramento", "CA", "958"), ("Portland", "OR", "972"), ("Seattle", "WA", "981"),
          ("Spokane", "WA", "992"), ("Anchorage", "AK", "995"), ("Honolulu", "HI", "968"),
          ("Fall River", "MA", "027"), ("Lawrence", "MA", "018"), ("Quincy", "MA", "021"),
          ("Dorchester", "MA", "021"), ("Chelsea", "MA", "021"), ("Lynn", "MA", "019")]
STATE_NAMES = {"MA": "Massachusetts", "RI": "Rhode Island", "CT": "Connecticut", "NH": "New Hampshire",
               "ME": "Maine", "VT": "Vermont", "NY": "New York", "NJ": "New Jersey",
               "PA": "Pennsylvania", "MD": "Maryland", "VA": "Virginia", "NC": "North Carolina",
               "GA": "Georgia", "FL": "Florida", "TN": "Tennessee", "KY": "Kentucky", "OH": "Ohio",
               "MI": "Michigan", "IL": "Illinois", "WI": "Wisconsin", "MN": "Minnesota", "IA": "Iowa",
               "MO": "Missouri", "NE": "Nebraska", "LA": "Louisiana", "TX": "Texas",
               "OK": "Oklahoma", "CO": "Colorado", "NM": "New Mexico", "AZ": "Arizona", "UT": "Utah",
               "NV": "Nevada", "CA": "California", "OR": "Oregon", "WA": "Washington",
               "AK": "Alaska", "HI": "Hawaii"}
STREETS = ["Main", "Elm", "Maple", "Oak", "Washington", "Lincoln", "Park", "Pleasant", "Highland",
           "Chestnut", "Walnut", "Cedar", "Pine", "Spring", "Union", "Church", "School", "Center",
           "Prospect", "Franklin", "Adams", "Jefferson", "Madison", "Summer", "Winter", "Beacon",
           "Commonwealth", "Dorchester", "Blue Hill", "Mystic", "Riverside", "Lakeview", "Hillcrest",
           "Sunset", "Forest", "Birch", "Willow", "Harrison", "Grant", "Columbus", "Magnolia",
           "Peachtree", "Mission", "Valencia", "Broadway", "Market", "Canal", "Cottage", "Orchard",
           "Tremont", "Hancock", "Quincy", "Dudley", "Ocean", "Bay", "Harbor", "Meadow", "Fairview"]
STREET_SUF = ["St", "St.", "Street", "Ave", "Ave.", "Avenue", "Rd", "Road", "Blvd", "Dr", "Drive",
              "Ln", "Lane", "Way", "Ct", "Pl", "Terrace", "Pkwy", "Cir", "Hwy"]
SAINTS = ["Elizabeth's", "Mary's", "Joseph's", "Vincent's", "Luke's", "Francis", "Anne's",
          "Jude", "Catherine's", "Michael's", "Agnes", "Clare", "Raphael's", "John's", "Peter's",
          "Margaret's", "Anthony's", "Benedict's"]
HOSP_PAT = ["{c} General Hospital", "{c} Regional Medical Center", "St. {s} Medical Center",
            "St. {s} Hospital", "{n} Memorial Hospital", "{c} Community Hospital",
            "Mercy Hospital of {c}", "{c} Children's Hospital", "University Hospital of {c}",
            "{n}-{n2} Medical Center", "{c} Veterans Affairs Medical Center", "{n} Health Center",
            "Good Samaritan Hospital", "Sacred Heart Medical Center", "{c} Cancer Institute",
            "{n} Clinic", "{c} Orthopedic and Spine Center", "{c} Imaging Associates",
            "{c} Women's Health Center", "{n} Rehabilitation Hospital", "{c} Baptist Hospital",
            "{c} Methodist Hospital", "Lakeshore Regional Medical Center", "Riverside Medical Center",
            "Bayview Hospital", "Northshore University Hospital", "Valley Medical Center",
            "Pine Ridge Community Hospital"]
REAL_ACRONYM_HOSP = ["MGH", "BWH", "BIDMC", "UCSF", "UPMC", "NYP", "CCF", "UCLA Health", "MUSC",
                     "OHSU", "UW Medicine", "Mass General", "Brigham", "Tufts MC", "BMC"]


def hosp_acronym(name: str) -> str:
    if name in REAL_ACRONYM_HOSP:
        return name.split()[0] if name.split()[0].isupper() else acronym(name)
    a = acronym(name)
    return a if len(a) >= 2 else name


def acronym(name: str) -> str:
    words = re.findall(r"[A-Za-z][A-Za-z'\-]*", name)
    out = []
    for w in words:
        if w.lower() in ("of", "and", "the"):
            continue
        for part in w.split("-"):
            if part:
                out.append(part[0].upper())
    return "".join(out)


# ---------------------------------------------------------------------------
# clinical library
#   {E:..} eponym  {A:..} anatomy  {L:..} vertebral level  {T:..} term (RADS, sequences, words
#   that are also names)  {D:..} drug/contrast  {M:..} measurement        -> "keep" spans
#   {#gen} random keep value (measurement, level, series/image ...)
#   [[key]] record value (patient name, dates ...)  [[@gen:SUB]] fresh PHI value
# ---------------------------------------------------------------------------
CT_TECH = [
    "Axial CT images were obtained from the {A:thoracic inlet} through the adrenal glands following "
    "IV administration of {#vol} of {#contrast}. Coronal and sagittal reformats at {#slice}.",
    "Helical CT at {#kvp}, {#mas} (automated exposure control), {#slice} collimation, "
    "after {#vol} {#contrast} IV. {#ctdi}; {#dlp}.",
    "Contiguous {#slice} axial images with multiplanar reconstructions. Contrast: {#vol} {#contrast} "
    "IV, no immediate complication.",
]
MR_TECH = [
    "Multiplanar multisequence MRI including sagittal {T:T1}, sagittal {T:T2}, {T:STIR} and axial "
    "{T:T2} images.",
    "Sagittal and axial {T:T1}- and {T:T2}-weighted images; post-contrast {T:T1} fat-saturated "
    "images after {#gad} IV.",
    "Standard protocol on a 3 T magnet: axial {T:FLAIR}, {T:DWI}/ADC, {T:SWI}, {T:T2}, and "
    "pre/post {T:T1} after {#gad}.",
]

EXAMS = [
    dict(key="cxr", titles=["XR CHEST PA AND LATERAL", "CHEST 2 VIEWS", "Chest radiograph, 2 views",
                            "PORTABLE CHEST, 1 VIEW", "XR CHEST 1 VIEW AP PORTABLE"],
         ind=["shortness of breath", "cough and fever", "chest pain", "hypoxia", "line placement",
              "follow-up pneumonia", "preoperative evaluation", "fall, rule out rib fracture"],
         tech=["PA and lateral views of the chest.", "Single portable AP view of the chest obtained "
               "at [[@time:TIME]].", "Frontal and lateral radiographs of the chest."],
         find=[("{E:Kerley B lines} and small bilateral pleural effusions with cephalization of the "
                "vasculature.", "Mild interstitial pulmonary edema with small bilateral effusions."),
               ("Right internal jugular central venous catheter with tip at the {A:cavoatrial "
                "junction}.", "Right IJ line in satisfactory position, no pneumothorax."),
               ("{E:Swan-Ganz} catheter tip projects over the right interlobar pulmonary artery.",
                "{E:Swan-Ganz} catheter tip in the right interlobar artery; consider retracting "
                "{#cm}."),
               ("Enteric tube ({E:Dobhoff}) courses below the diaphragm with tip in the gastric "
                "body.", None),
               ("Nodular opacity in the right upper lobe measuring {#cm}, not seen on the study of "
                "[[@date:COMPARISON]].", "New {#cm} right upper lobe nodule; recommend CT chest."),
               ("Patchy consolidation in the {A:left lower lobe} with air bronchograms.",
                "Left lower lobe pneumonia in the appropriate clinical setting."),
               ("Healed fracture of the right {A:posterior 7th rib}.", None),
               ("Small left apical pneumothorax measuring {#cm} from the apex.",
                "Small left apical pneumothorax. Findings called to the care team."),
               ("Dual-chamber pacemaker with leads in the right atrium and right ventricle.", None)],
         normal=["Heart size is normal.", "The mediastinal contours are within normal limits.",
                 "No pneumothorax.", "Osseous structures are intact.", "No pleural effusion."],
         negimp="No acute cardiopulmonary process."),
    dict(key="ctchest", titles=["CT CHEST WITH IV CONTRAST", "CT CHEST W CONTRAST",
                                "CTA CHEST PULMONARY EMBOLISM PROTOCOL", "CT chest without contrast"],
         ind=["pulmonary nodule follow-up", "dyspnea, evaluate for pulmonary embolism",
              "staging of lung cancer", "cough, weight loss", "hemoptysis"],
         tech=CT_TECH,
         find=[("{#mm} solid nodule in the {A:right lower lobe} ({#ser}), unchanged since "
                "[[@date:COMPARISON]].", "Stable {#mm} right lower lobe nodule; per {E:Fleischner "
                "Society} guidelines no further follow-up is needed."),
               ("Filling defects in the right lower lobe segmental and subsegmental pulmonary "
                "arteries. RV/LV ratio {M:0.9}.", "Acute right lower lobe pulmonary emboli without "
                "CT evidence of right heart strain."),
               ("Mediastinal lymphadenopathy, the largest a {#m2} right paratracheal node ({#ser}).",
                "Mediastinal adenopathy in this patient with known {E:Hodgkin lymphoma}."),
               ("Centrilobular emphysema, upper lobe predominant.", None),
               ("Spiculated {#m2} mass in the left upper lobe apex with erosion of the {A:posterior "
                "second rib} ({E:Pancoast tumor}).", "Left apical spiculated mass, highly "
                "suspicious for primary lung carcinoma ({E:Pancoast tumor})."),
               ("Small hiatal hernia. {#cm} hypodense lesion in the {A:left adrenal gland} measuring "
                "{#hu}, consistent with adenoma.", None),
               ("Subpleural reticulation and honeycombing at the lung bases.", "Basilar-predominant "
                "fibrosis, UIP pattern."),
               ("Moderate right pleural effusion with adjacent compressive atelectasis.", None)],
         normal=["The heart is normal in size. No pericardial effusion.",
                 "The thoracic aorta is normal in caliber.", "The airways are patent.",
                 "No suspicious osseous lesion."],
         negimp="No acute intrathoracic abnormality."),
    dict(key="ctap", titles=["CT ABDOMEN AND PELVIS WITH CONTRAST", "CT ABD/PELVIS W IV CONTRAST",
                             "CT abdomen pelvis with oral and IV contrast", "CT A/P RENAL STONE PROTOCOL"],
         ind=["right lower quadrant pain", "abdominal pain and fever", "hematuria", "weight loss",
              "follow-up renal cyst", "left lower quadrant pain", "elevated LFTs"],
         tech=CT_TECH,
         find=[("{E:Bosniak IIF} cystic lesion in the {A:interpolar left kidney} measuring {#cm} with "
                "several thin septations.", "{E:Bosniak IIF} left renal cyst; follow-up renal MRI or "
                "CT in 6 months."),
               ("{#cm} simple cyst in the right kidney ({E:Bosniak I}).", None),
               ("Dilated fluid-filled appendix measuring {#mm} with periappendiceal fat stranding and "
                "an appendicolith.", "Acute appendicitis without perforation or abscess."),
               ("Sigmoid diverticulosis with focal wall thickening, pericolic stranding, and a {#m2} "
                "rim-enhancing collection.", "Acute sigmoid diverticulitis complicated by a small "
                "pericolic abscess."),
               ("Fat-containing {E:Spigelian hernia} in the left lower quadrant.", None),
               ("Small volume free fluid in {E:Morison pouch} and the pelvis.", None),
               ("{E:Foley catheter} in a decompressed urinary bladder.", None),
               ("Hepatic steatosis. {#cm} hypodense lesion in {T:Couinaud segment 7}, too small to "
                "characterize.", None),
               ("Mural thickening and hyperenhancement of the terminal ileum over {#cm} with "
                "engorged vasa recta ({T:comb sign}).", "Active terminal ileitis compatible with "
                "{E:Crohn disease}."),
               ("{#mm} obstructing calculus at the left {A:ureterovesical junction} with moderate "
                "hydronephrosis.", "Obstructing {#mm} left UVJ stone with moderate hydronephrosis."),
               ("Status post {E:Whipple procedure}; postsurgical changes without recurrence.", None)],
         normal=["The spleen, pancreas and adrenal glands are unremarkable.",
                 "No bowel obstruction.", "No free air.", "The abdominal aorta is normal in caliber.",
                 "No lymphadenopathy."],
         negimp="No acute abdominopelvic process."),
    dict(key="cthead", titles=["CT HEAD WITHOUT CONTRAST", "CT BRAIN WO", "NONCONTRAST CT HEAD",
                               "CT head w/o contrast (stroke protocol)"],
         ind=["fall on anticoagulation", "altered mental status", "headache", "syncope",
              "code stroke, left-sided weakness", "dizziness"],
         tech=["Axial noncontrast images of the head at {#slice} with bone and soft tissue "
               "algorithms. {#ctdi}.", "Noncontrast axial CT of the head with coronal and sagittal "
               "reformats."],
         find=[("Acute left holohemispheric subdural hematoma measuring {#mm} in maximal thickness "
                "with {#mm} of rightward midline shift.", "Acute left subdural hematoma with "
                "midline shift. Neurosurgery notified."),
               ("{E:Chiari I malformation} with cerebellar tonsillar ectopia of {#mm}.", None),
               ("Prominent {E:Virchow-Robin spaces} in the basal ganglia.", None),
               ("Chronic lacunar infarct in the right {A:internal capsule}.", None),
               ("Hyperdense left MCA sign.", "Hyperdense left MCA; findings discussed with the stroke "
                "team. ASPECTS {M:9}."),
               ("Scalp hematoma over the right parietal bone without underlying fracture.", None),
               ("Dense bilateral basal ganglia calcifications ({E:Fahr} pattern).", None)],
         normal=["No acute intracranial hemorrhage, mass effect, or territorial infarct.",
                 "Ventricles and sulci are age appropriate.", "Mastoid air cells are clear.",
                 "Mild chronic small vessel ischemic change."],
         negimp="No acute intracranial abnormality."),
    dict(key="mrbrain", titles=["MRI BRAIN WITH AND WITHOUT CONTRAST", "MR BRAIN W/WO",
                                "MRI brain and IAC protocol"],
         ind=["headache", "new seizure", "hearing loss", "follow-up meningioma", "visual changes"],
         tech=MR_TECH,
         find=[("{#m2} extra-axial enhancing mass along the left frontal convexity with a dural tail.",
                "Left frontal convexity meningioma, slightly increased since [[@date:COMPARISON]]."),
               ("Scattered {T:T2}/FLAIR hyperintense foci in the periventricular and subcortical white "
                "matter.", "Mild chronic microvascular ischemic change (Fazekas {M:1})."),
               ("Restricted diffusion in the left {A:MCA territory} with corresponding ADC "
                "hypointensity.", "Acute left MCA territory infarct."),
               ("Enhancing {#mm} mass in the right {A:internal auditory canal}.",
                "Right intracanalicular vestibular schwannoma."),
               ("{E:Chiari I malformation}; tonsils extend {#mm} below the foramen magnum.", None),
               ("Normal flow voids in the {E:circle of Willis}.", None)],
         normal=["No abnormal enhancement.", "The ventricles are normal in size.",
                 "No restricted diffusion.", "Orbits and paranasal sinuses are clear."],
         negimp="Normal MRI of the brain."),
    dict(key="mrls", titles=["MRI LUMBAR SPINE WITHOUT CONTRAST", "MR L-SPINE WO", "MRI lumbar spine"],
         ind=["low back pain radiating to the right leg", "bilateral leg numbness",
              "lumbar radiculopathy", "back pain after a lift injury"],
         tech=MR_TECH,
         find=[("At {#lvl}, broad-based disc bulge with a superimposed right paracentral protrusion "
                "contacting the traversing right S1 nerve root.", "{#lvl} right paracentral "
                "protrusion contacting the right S1 nerve root."),
               ("{E:Modic type 2} endplate changes at {#lvl}.", None),
               ("{E:Schmorl node} at the superior endplate of {L:L2}.", None),
               ("Grade 1 anterolisthesis of {L:L4} on {L:L5} with severe facet arthropathy and moderate "
                "canal stenosis.", "Degenerative spondylolisthesis at {L:L4-L5} with moderate canal "
                "stenosis."),
               ("Interspinous edema at {L:L3-4} and {L:L4-5} ({E:Baastrup} phenomenon).", None),
               ("{#cm} perineural ({E:Tarlov}) cyst at {L:S2}.", None),
               ("Acute compression fracture of {#tlvl} with {M:30%} height loss and marrow edema.",
                "Acute compression deformity of {#tlvl}.")],
         normal=["The conus medullaris terminates at {L:L1}.", "Vertebral body heights are maintained.",
                 "Normal marrow signal.", "No paraspinal abnormality."],
         negimp="Mild multilevel degenerative change without high-grade stenosis."),
    dict(key="mrcs", titles=["MRI CERVICAL SPINE WITHOUT CONTRAST", "MR C-SPINE WO"],
         ind=["neck pain with left arm paresthesias", "myelopathy", "cervical radiculopathy"],
         tech=MR_TECH,
         find=[("{#clvl}: disc osteophyte complex with moderate left neural foraminal narrowing.",
                "{#clvl} disc osteophyte complex with moderate left foraminal stenosis."),
               ("{#clvl}: central disc protrusion effacing the ventral CSF with mild cord flattening.",
                "Mild cord flattening at {#clvl} without cord signal abnormality."),
               ("{T:T2} hyperintense signal within the cord at {L:C4}.", "Cord signal abnormality at "
                "{L:C4}, compatible with myelomalacia versus edema."),
               ("Reversal of the normal cervical lordosis.", None)],
         normal=["Craniocervical junction is normal.", "No prevertebral soft tissue swelling."],
         negimp="Mild cervical spondylosis."),
    dict(key="mrknee", titles=["MRI KNEE WITHOUT CONTRAST RIGHT", "MRI LEFT KNEE WO", "MR knee"],
         ind=["knee pain after twisting injury", "locking and effusion", "medial joint line pain"],
         tech=MR_TECH,
         find=[("Complex tear of the posterior horn of the medial meniscus extending to the inferior "
                "articular surface.", "Complex tear of the posterior horn medial meniscus."),
               ("{E:Baker cyst} measuring {#m3}.", "Moderate {E:Baker cyst}."),
               ("Complete tear of the anterior cruciate ligament with a {E:Segond fracture}.",
                "Acute ACL rupture with {E:Segond fracture}."),
               ("Edema in {E:Hoffa fat pad}.", None),
               ("Fragmentation of the tibial tubercle ({E:Osgood-Schlatter}).", None),
               ("Moderate joint effusion.", None)],
         normal=["The collateral ligaments are intact.", "The extensor mechanism is intact.",
                 "Articular cartilage is preserved."],
         negimp="No internal derangement."),
    dict(key="mrshoulder", titles=["MRI SHOULDER WITHOUT CONTRAST LEFT", "MR ARTHROGRAM RIGHT SHOULDER"],
         ind=["recurrent dislocation", "shoulder pain and weakness", "rotator cuff tear"],
         tech=MR_TECH,
         find=[("Impaction deformity of the posterolateral humeral head ({E:Hill-Sachs lesion}).",
                "{E:Hill-Sachs lesion} and anteroinferior labral tear ({E:Bankart lesion})."),
               ("Full-thickness tear of the supraspinatus tendon with {#mm} of retraction.",
                "Full-thickness supraspinatus tear with {#mm} retraction."),
               ("Type II acromion with lateral downsloping.", None),
               ("Fluid in the subacromial-subdeltoid bursa.", None)],
         normal=["The biceps tendon is located in the bicipital groove.", "Glenohumeral cartilage "
                 "is preserved."],
         negimp="Rotator cuff tendinosis without tear."),
    dict(key="xrhip", titles=["XR HIP 2 VIEWS LEFT", "XR PELVIS AND RIGHT HIP", "Pelvis AP and hip "
                              "frog-leg lateral"],
         ind=["fall, hip pain", "hip arthroplasty follow-up", "groin pain"],
         tech=["AP pelvis and frog-leg lateral views of the hip.", "AP and cross-table lateral views."],
         find=[("Left hemiarthroplasty ({E:Austin Moore prosthesis}) in expected position without "
                "periprosthetic lucency.", "Intact left {E:Austin Moore} hemiarthroplasty."),
               ("Displaced subcapital right femoral neck fracture ({T:Garden III}).",
                "Acute displaced right femoral neck fracture."),
               ("Coarsened trabeculae and cortical thickening of the right iliac bone.",
                "Findings consistent with {E:Paget disease} of the right hemipelvis."),
               ("Moderate joint space narrowing with osteophytes of both hips.", None),
               ("Total hip arthroplasty ({E:Charnley} type) with cerclage wires.", None)],
         normal=["The sacroiliac joints are unremarkable.", "No dislocation."],
         negimp="No acute fracture."),
    dict(key="xrwrist", titles=["XR WRIST 3 VIEWS RIGHT", "XR LEFT WRIST", "Hand and wrist radiographs"],
         ind=["fall on outstretched hand", "wrist pain", "punched a wall"],
         tech=["PA, oblique and lateral views of the wrist.", "Three views of the hand."],
         find=[("Transverse fracture of the distal radial metaphysis with dorsal angulation of "
                "{M:20 degrees} ({E:Colles fracture}).", "Dorsally angulated {E:Colles fracture}."),
               ("Fracture through the distal radial physis extending into the metaphysis "
                "({E:Salter-Harris II}).", "{E:Salter-Harris II} fracture of the distal radius."),
               ("Fracture of the fifth metacarpal neck with volar angulation ({E:boxer's fracture}).",
                "Fifth metacarpal neck fracture."),
               ("Nondisplaced fracture of the scaphoid waist.", "Scaphoid waist fracture; "
                "immobilize and follow up."),
               ("Widening of the scapholunate interval to {#mm} ({E:Terry Thomas sign}).", None)],
         normal=["Soft tissues are unremarkable.", "Joint spaces are preserved."],
         negimp="No acute osseous abnormality."),
    dict(key="xrfoot", titles=["XR FOOT 3 VIEWS LEFT", "XR RIGHT ANKLE 3 VIEWS"],
         ind=["inversion injury", "foot pain after a fall", "swelling over lateral foot"],
         tech=["AP, oblique and lateral views. {E:Mortise view} included for the ankle."],
         find=[("Transverse fracture at the base of the fifth metatarsal at the metaphyseal-diaphyseal "
                "junction ({E:Jones fracture}).", "{E:Jones fracture} of the fifth metatarsal."),
               ("Widening between the base of the first and second metatarsals.",
                "Suspected {E:Lisfranc} injury; weight-bearing views or CT recommended."),
               ("Fracture of the proximal fibula with medial clear space widening "
                "({E:Maisonneuve} pattern).", "{E:Maisonneuve} fracture pattern."),
               ("Plantar calcaneal enthesophyte.", None)],
         normal=["Ankle mortise is congruent.", "No radiopaque foreign body."],
         negimp="No acute fracture or dislocation."),
    dict(key="usruq", titles=["US ABDOMEN LIMITED RUQ", "ULTRASOUND RIGHT UPPER QUADRANT",
                              "US abdomen complete"],
         ind=["right upper quadrant pain", "elevated bilirubin", "nausea after fatty meals"],
         tech=["Grayscale and color Doppler images of the right upper quadrant."],
         find=[("Gallbladder wall thickening to {#mm} with pericholecystic fluid, multiple mobile "
                "stones, and a positive sonographic {E:Murphy sign}.", "Acute calculous cholecystitis."),
               ("The common bile duct measures {#mm}.", None),
               ("The liver is diffusely echogenic with posterior acoustic attenuation.",
                "Hepatic steatosis."),
               ("Right kidney {#cm}, left kidney {#cm}, without hydronephrosis.", None),
               ("{#m3} hyperechoic lesion in the right hepatic lobe, likely hemangioma.",
                "Probable hepatic hemangioma; MRI could confirm.")],
         normal=["The pancreas is partially obscured by bowel gas.", "No ascites.",
                 "Main portal vein is patent with hepatopetal flow."],
         negimp="Unremarkable right upper quadrant ultrasound."),
    dict(key="usthy", titles=["US THYROID", "ULTRASOUND SOFT TISSUE NECK/THYROID"],
         ind=["palpable thyroid nodule", "follow-up thyroid nodules", "hyperthyroidism"],
         tech=["Grayscale and color Doppler sonography of the thyroid."],
         find=[("Right lobe nodule, solid, hypoechoic, taller-than-wide, {#m3} "
                "({T:TI-RADS TR5}).", "{T:TI-RADS TR5} right thyroid nodule; FNA recommended."),
               ("Left lobe spongiform nodule {#m3} ({T:TI-RADS TR1}).", None),
               ("Diffusely heterogeneous gland with markedly increased vascularity ({T:thyroid "
                "inferno}).", "Findings compatible with {E:Graves disease}."),
               ("Heterogeneous, micronodular gland with echogenic septations.",
                "Consistent with {E:Hashimoto thyroiditis}.")],
         normal=["No cervical lymphadenopathy.", "Isthmus measures {#mm}."],
         negimp="Normal thyroid ultrasound."),
    dict(key="usp", titles=["US PELVIS TRANSABDOMINAL AND TRANSVAGINAL", "PELVIC ULTRASOUND"],
         ind=["pelvic pain", "abnormal uterine bleeding", "adnexal mass on exam"],
         tech=["Transabdominal and endovaginal grayscale and Doppler images."],
         find=[("Several {E:Nabothian cysts} in the cervix.", None),
               ("Intramural fibroid in the posterior uterine body measuring {#m3}.", "Uterine fibroid."),
               ("{#cm} {E:Bartholin cyst}.", None),
               ("{#m3} complex left ovarian cyst with reticular internal echoes, likely hemorrhagic "
                "({T:O-RADS 2}).", "Likely hemorrhagic left ovarian cyst; follow-up in 8-12 weeks."),
               ("Endometrial stripe measures {#mm}.", None)],
         normal=["Both ovaries demonstrate arterial and venous flow.", "No free fluid."],
         negimp="Unremarkable pelvic ultrasound."),
    dict(key="mammo", titles=["BILATERAL SCREENING MAMMOGRAM WITH TOMOSYNTHESIS",
                              "DIAGNOSTIC MAMMOGRAM LEFT", "MAMMO SCREENING BILATERAL 3D"],
         ind=["screening", "palpable lump in the left breast", "6-month follow-up of probably benign "
              "finding", "personal history of breast cancer"],
         tech=["Standard CC and MLO views of both breasts with digital breast tomosynthesis. "
               "A BB marker was placed to {T:mark} the palpable area.",
               "Bilateral CC and MLO views. CAD was used."],
         find=[("{#cm} irregular spiculated {T:mass} in the left breast at 2 o'clock, {#cm} from the "
                "nipple.", "Suspicious left breast {T:mass}. {T:BI-RADS 4C}: suspicious. "
                "Ultrasound-guided biopsy recommended."),
               ("Grouped amorphous calcifications in the right upper outer quadrant spanning {#cm}.",
                "{T:BI-RADS 4B}. Stereotactic biopsy recommended."),
               ("Stable circumscribed oval {T:mass} in the right breast since [[@date:COMPARISON]].",
                "{T:BI-RADS 2}: benign."),
               ("Developing asymmetry in the left lower inner quadrant.", "{T:BI-RADS 0}: incomplete. "
                "Diagnostic workup recommended."),
               ("Benign-appearing vascular calcifications.", None)],
         normal=["The breasts are heterogeneously dense ({T:ACR category C}), which {T:may} "
                 "obscure small masses.", "Scattered areas of fibroglandular density ({T:ACR B}).",
                 "No suspicious {T:mass}, calcifications or architectural distortion.",
                 "The skin and nipples are unremarkable."],
         negimp="{T:BI-RADS 1}: negative. Routine annual screening mammogram recommended."),
    dict(key="esoph", titles=["FL ESOPHAGRAM", "BARIUM SWALLOW", "UPPER GI SERIES WITH SMALL BOWEL "
                              "FOLLOW THROUGH"],
         ind=["dysphagia", "heartburn", "history of {E:Barrett esophagus}", "food impaction"],
         tech=["Single and double contrast images of the esophagus using {D:thin barium} and "
               "{D:effervescent granules}. Fluoroscopy time {M:2.1 minutes}.",
               "Barium swallow with {D:Gastrografin} followed by {D:thin barium}. "
               "Fluoroscopy time {M:1.8 min}, {M:38 mGy}."],
         find=[("Thin circumferential narrowing at the gastroesophageal junction ({E:Schatzki ring}).",
                "{E:Schatzki ring}; a {#mm} barium tablet lodged transiently."),
               ("{#cm} outpouching arising posteriorly above the {A:cricopharyngeus} ({E:Zenker "
                "diverticulum}).", "{E:Zenker diverticulum}."),
               ("Small sliding hiatal hernia with gastroesophageal reflux to the thoracic inlet.",
                "Hiatal hernia with reflux."),
               ("Tertiary contractions in the distal esophagus.", None)],
         normal=["No stricture or mass.", "Normal primary peristalsis."],
         negimp="Normal esophagram."),
    dict(key="ctliver", titles=["MRI ABDOMEN LIVER PROTOCOL", "CT LIVER TRIPLE PHASE"],
         ind=["cirrhosis, HCC screening", "hepatitis C cirrhosis, rising AFP"],
         tech=["Multiphasic imaging through the liver before and after {#gad}.",
               "Late arterial, portal venous and delayed phase images after {#vol} {#contrast}."],
         find=[("{#cm} arterial phase hyperenhancing observation in {T:segment 8} with washout and "
                "capsule.", "{T:LI-RADS 5} observation in segment 8, definitely HCC."),
               ("{#cm} arterial enhancing observation in {T:segment 6} without washout.",
                "{T:LI-RADS 3} observation; follow-up in 3-6 months."),
               ("Nodular liver contour with splenomegaly ({#cm}) and varices.", "Cirrhosis with portal "
                "hypertension."),
               ("Patent TIPS.", None)],
         normal=["No ascites.", "Portal and hepatic veins are patent."],
         negimp="Cirrhotic liver without LI-RADS 4 or 5 observation."),
    dict(key="dexa", titles=["DXA BONE DENSITY AXIAL SKELETON", "DEXA SCAN"],
         ind=["osteoporosis screening", "long-term steroid use", "fragility fracture", "androgen deprivation "
              "therapy"],
         tech=["Dual-energy x-ray absorptiometry of the lumbar spine and hips on a Hologic Horizon A."],
         find=[("{L:L1-L4} BMD {M:0.812 g/cm2}, {T:T-score -2.6}, Z-score {M:-1.1}.",
                "Osteoporosis by WHO criteria."),
               ("Left femoral neck BMD {M:0.641 g/cm2}, {T:T-score -1.8}.", "Osteopenia of the left hip."),
               ("{L:L3} excluded due to degenerative sclerosis.", None)],
         normal=["Total hip T-score {M:-0.9}."],
         negimp="Bone density within normal limits."),
    dict(key="cta", titles=["CTA HEAD AND NECK", "CT ANGIOGRAPHY NECK"],
         ind=["TIA", "carotid stenosis on ultrasound", "code stroke"],
         tech=["CT angiography from the aortic arch to the vertex after {#vol} {#contrast}; MIP and "
               "3D reformats.", "Bolus-tracked CTA after {#vol} {#contrast}; a delayed acquisition was "
               "added in the {T:hope} of better opacification of the intracranial vessels."],
         find=[("{M:70%} stenosis of the proximal left internal carotid artery by NASCET criteria.",
                "Severe left ICA stenosis."),
               ("Occlusion of the right M1 segment.", "Right M1 occlusion. Discussed with the stroke "
                "team."),
               ("Fetal origin of the right PCA; otherwise normal {E:circle of Willis}.", None),
               ("{#mm} saccular aneurysm of the anterior communicating artery.",
                "{#mm} ACom aneurysm.")],
         normal=["The vertebral arteries are patent.", "No dissection."],
         negimp="No large vessel occlusion or hemodynamically significant stenosis."),
    dict(key="peds", titles=["US RENAL PEDIATRIC", "CT ABDOMEN PEDIATRIC", "XR FOREARM PEDIATRIC"],
         ind=["palpable abdominal mass", "fall from monkey bars", "hematuria"], age=(2, 15),
         tech=["Age-adjusted low-dose technique. {#ctdi}.", "Grayscale and Doppler images of both "
               "kidneys."],
         find=[("{#m3} heterogeneous solid mass arising from the left kidney with a {T:claw sign}.",
                "Left renal mass most compatible with {E:Wilms tumor}."),
               ("Fracture of the distal radial physis ({E:Salter-Harris II}).", "{E:Salter-Harris II} "
                "fracture."),
               ("Mild left hydronephrosis (SFU grade {M:2}).", None)],
         normal=["The contralateral kidney is normal.", "No lymphadenopathy."],
         negimp="No acute abnormality."),
    dict(key="pet", titles=["PET/CT SKULL BASE TO MID-THIGH", "FDG PET-CT WHOLE BODY"],
         ind=["restaging lymphoma", "lung cancer staging", "melanoma surveillance"],
         tech=["{D:12.1 mCi F-18 FDG} administered IV; uptake time {M:62 minutes}. Blood glucose "
               "{M:98 mg/dL}. Low-dose CT for attenuation correction.",
               "{D:10.4 mCi 18F-FDG} IV; imaging after {M:60 min}. Glucose {M:104 mg/dL}."],
         find=[("FDG-avid right paratracheal node, {#cm}, SUVmax {M:8.4}.", "Hypermetabolic mediastinal "
                "nodal disease, {T:Deauville 5}."),
               ("Hypermetabolic left upper lobe mass, SUVmax {M:12.3}.", "FDG-avid left upper lobe "
                "primary malignancy."),
               ("Diffuse bone marrow uptake likely related to G-CSF.", None),
               ("Physiologic uptake in the brain, myocardium and urinary tract.", None)],
         normal=["No FDG-avid osseous lesion.", "Liver SUVmean {M:2.1}."],
         negimp="No FDG-avid disease ({T:Deauville 2})."),
]
EXAM_BY_KEY = {e["key"]: e for e in EXAMS}


# ---------------------------------------------------------------------------
# segments, documents, template rendering
# ---------------------------------------------------------------------------
def P(text, typ, sub):
    assert typ in PHI_TYPES, typ
    return [(text, ("P", typ, sub))]


def K(text, kind):
    assert kind in KEEP_KINDS, kind
    return [(text, ("K", kind))]


def T(text):
    return [(text, None)]


class Doc:
    """Accumulates text; labelled segments become spans with exact offsets."""

    def __init__(self, case=None):
        self.buf, self.n, self.spans, self.case = [], 0, [], case

    def _c(self, s):
        if self.case == "upper":
            return s.upper()
        if self.case == "lower":
            return s.lower()
        return s

    def add(self, segs):
        for text, lab in segs:
            if not text:
                continue
            text = self._c(text)
            if lab is not None:
                if text != text.strip() or not text.strip():
                    raise ValueError("span with edge whitespace: %r" % text)
                self.spans.append((self.n, self.n + len(text), lab, text))
            self.buf.append(text)
            self.n += len(text)
        return self

    def t(self, s):
        return self.add(T(s))

    def ln(self, segs=None):
        if segs:
            self.add(segs)
        return self.t("\n")

    def text(self):
        return "".join(self.buf)


TOK = re.compile(r"\{([EALTDM]):([^{}]+)\}|\{#(\w+)\}|\[\[(@?)(\w+)(?::(\w+))?\]\]")
KEEPK = dict(E="EPONYM", A="ANATOMY", L="LEVEL", T="TERM", D="DRUG", M="MEASUREMENT")


def render(R, tpl):
    """tpl: template string, or (template, pair_index, 'w'|'r') so that an impression reuses the
    measurements/levels drawn for its finding, or an already rendered list of segments."""
    if isinstance(tpl, list):
        return tpl
    if isinstance(tpl, tuple):
        t, idx, mode = tpl
        R.cur = (idx, mode, {})
        try:
            return render(R, t)
        finally:
            R.cur = None
    out, pos = [], 0
    for m in TOK.finditer(tpl):
        out.append((tpl[pos:m.start()], None))
        if m.group(1):
            out.extend(K(m.group(2), KEEPK[m.group(1)]))
        elif m.group(3):
            out.extend(R.keepgen(m.group(3)))
        elif m.group(4) == "@":
            out.extend(R.gen(m.group(5), m.group(6)))
        else:
            out.extend(R.val(m.group(5)))
        pos = m.end()
    out.append((tpl[pos:], None))
    return [s for s in out if s[0]]


class Person:
    __slots__ = ("given", "middle", "family", "sex", "origin", "suffix")

    def __init__(self, given, middle, family, sex, origin, suffix=None):
        self.given, self.middle, self.family = given, middle, family
        self.sex, self.origin, self.suffix = sex, origin, suffix


MON = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
       "October", "November", "December"]
MON3 = [m[:3] for m in MON]
WKDAY = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def ordinal(n):
    if 10 <= n % 100 <= 20:
        return "%dth" % n
    return "%d%s" % (n, {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th"))


def fmt_date(d, style):
    y, m, dd = d.year, d.month, d.day
    return {
        "us": "%02d/%02d/%d" % (m, dd, y), "us_nopad": "%d/%d/%d" % (m, dd, y),
        "us2": "%d/%d/%02d" % (m, dd, y % 100), "us2pad": "%02d/%02d/%02d" % (m, dd, y % 100),
        "iso": "%d-%02d-%02d" % (y, m, dd), "dmy": "%02d-%s-%d" % (dd, MON3[m - 1], y),
        "DMY": "%02d-%s-%d" % (dd, MON3[m - 1].upper(), y),
        "long": "%s %d, %d" % (MON[m - 1], dd, y), "abbr": "%s %d, %d" % (MON3[m - 1], dd, y),
        "hl7": "%d%02d%02d" % (y, m, dd), "eu": "%02d.%02d.%d" % (dd, m, y),
        "dmon": "%d %s %d" % (dd, MON[m - 1], y), "md": "%d/%d" % (m, dd),
        "mdpad": "%02d/%02d" % (m, dd), "md_long": "%s %d" % (MON[m - 1], dd),
        "ordinal": "%s %s" % (MON[m - 1], ordinal(dd)), "my": "%02d/%d" % (m, y),
        "my_long": "%s %d" % (MON[m - 1], y), "wk": "%s, %s %d, %d" % (WKDAY[d.weekday()],
                                                                      MON[m - 1], dd, y),
    }[style]


def fmt_time(h, mi, s, style):
    h12 = h % 12 or 12
    ap = "AM" if h < 12 else "PM"
    return {
        "24": "%02d:%02d" % (h, mi), "24s": "%02d:%02d:%02d" % (h, mi, s),
        "12": "%d:%02d %s" % (h12, mi, ap), "12l": "%d:%02d %s" % (h12, mi, ap.lower()),
        "mil": "%02d%02d" % (h, mi), "dicom": "%02d%02d%02d" % (h, mi, s),
    }[style]


DATE_STYLES = ["us", "us", "us", "us_nopad", "us2", "iso", "dmy", "long", "abbr", "us2pad"]
TIME_STYLES = ["24", "24", "24", "12", "12l", "24s"]
CONTRASTS = ["Omnipaque 350", "Omnipaque 300", "Isovue-370", "Visipaque 320", "Ultravist 370",
             "iohexol 350"]
GADS = ["7 mL gadobutrol (Gadavist)", "15 mL Dotarem", "0.1 mmol/kg gadoterate", "10 mL MultiHance",
        "7.5 mL Gadavist", "15 mL ProHance"]
RELS_OLD = [("daughter", "F"), ("son", "M"), ("granddaughter", "F"), ("grandson", "M"),
            ("niece", "F"), ("nephew", "M"), ("sister", "F"), ("brother", "M")]
RELS_ADULT = [("wife", "F"), ("husband", "M"), ("daughter", "F"), ("son", "M"), ("sister", "F"),
              ("brother", "M"), ("partner", None), ("mother", "F")]
RELS_CHILD = [("mother", "F"), ("father", "M"), ("grandmother", "F"), ("aunt", "F")]
GENDERED_SURNAME = {"pl_PL", "cs_CZ", "lt_LT", "ru_RU", "uk_UA", "el_GR", "hr_HR"}
EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com", "icloud.com",
                 "comcast.net", "verizon.net", "protonmail.com"]
INSURERS = ["Blue Cross Blue Shield", "Aetna", "UnitedHealthcare", "Cigna", "Harvard Pilgrim",
            "Tufts Health Plan", "Humana", "Kaiser Permanente", "Anthem", "Oscar Health"]
MEDICAID = ["MassHealth", "Medi-Cal", "NY Medicaid", "Texas Medicaid", "Florida Medicaid",
            "Illinois Medicaid", "Medicaid"]
VENDORS = [("Medtronic", "Azure XT DR MRI SureScan"), ("Boston Scientific", "Accolade MRI"),
           ("Abbott", "Assurity MRI"), ("Biotronik", "Enitra 8 DR-T"), ("Medtronic", "Micra AV"),
           ("Cochlear", "Nucleus CI612"), ("Medtronic", "InterStim II"),
           ("Abbott", "Proclaim XR SCS"), ("Bard", "PowerPort"), ("Cook", "Celect IVC filter")]
SCANNERS = ["GE Revolution CT", "Siemens SOMATOM Force", "Philips Ingenuity", "Canon Aquilion ONE",
            "GE SIGNA Premier 3T", "Siemens MAGNETOM Vida", "Hologic Selenia Dimensions",
            "GE LOGIQ E10", "Philips EPIQ 7", "Siemens Biograph Vision", "GE Discovery MI"]


# ---------------------------------------------------------------------------
# one record's world: patient, staff, places, identifiers, generators
# ---------------------------------------------------------------------------
LAYOUT_EXAMS = {"mammo_letter": ["mammo"], "mammo_report": ["mammo"], "nm_pet": ["pet"],
                "us_worksheet": ["usruq", "usthy", "usp"],
                "trauma": ["ctap", "cthead"], "synoptic_lungrads": ["ctchest"],
                "ir_procedure": ["ctchest", "ctap", "usruq"],
                "tumor_board": ["ctchest", "ctap", "ctliver", "mrbrain", "pet", "mammo"]}
LAYOUT_DSTYLE = {"cerner": ["DMY", "dmy", "us"], "legacy_caps": ["us2", "us2pad", "us"],
                 "outside_hospital": ["eu", "us", "dmy", "long", "iso"], "mammo_letter": ["long", "us"],
                 "consult_letter": ["long", "long", "us"], "teaching_file": ["us_nopad", "us2", "iso"],
                 "secure_message": ["us_nopad", "us"], "hl7_oru": ["us", "us_nopad"],
                 "hl7_ft": ["us", "iso"], "worklist": ["us", "us2pad"]}
LAYOUT_TSTYLE = {"legacy_caps": ["mil"], "cerner": ["24"], "ed_prelim": ["24", "mil", "12"],
                 "trauma": ["mil", "24"], "hl7_oru": ["24"], "secure_message": ["12"]}
ASCII_LAYOUTS = {"hl7_oru", "hl7_ft", "legacy_caps", "dicom_header", "worklist"}


class Rec:
    def __init__(self, rng: random.Random, fk: dict, origin: str, layout: str):
        self.rng, self.fk, self.origin, self.layout = rng, fk, origin, layout
        r = rng
        self.fold = r.random() < (0.65 if layout in ASCII_LAYOUTS else 0.35)
        ek = r.choice(LAYOUT_EXAMS.get(layout, [e["key"] for e in EXAMS if e["key"] not in ("pet",)]))
        self.exam = EXAM_BY_KEY[ek]
        if ek in ("mammo", "usp"):
            self.sex = "F" if r.random() < 0.97 else "M"
        elif ek == "dexa":
            self.sex = "F" if r.random() < 0.85 else "M"
        else:
            self.sex = r.choice("MF")
        if "age" in self.exam:
            self.age = r.randint(*self.exam["age"])
        elif r.random() < 0.13:
            self.age = r.randint(90, 104)
        elif layout == "synoptic_lungrads":
            self.age = r.randint(50, 80)
        else:
            self.age = int(r.triangular(19, 89, 68))
        base = date(2011, 1, 1) + timedelta(days=r.randrange(5000))
        self.exam_dt = datetime(base.year, base.month, base.day, r.randint(6, 22), r.randint(0, 59),
                                r.randint(0, 59))
        self.dob = self.exam_dt.date() - timedelta(days=365 * self.age + r.randint(1, 360) +
                                                   self.age // 4)
        self.sign_dt = self.exam_dt + timedelta(minutes=r.randint(12, 60 * 30))
        self.dstyle = r.choice(LAYOUT_DSTYLE.get(layout, DATE_STYLES))
        self.tstyle = r.choice(LAYOUT_TSTYLE.get(layout, TIME_STYLES))
        # people
        self.pt = self.person(origin, self.sex, patient=True)
        self.native = origin in FAMILY_FIRST_ORIGINS and r.random() < 0.45
        self.ref = self.person(self.any_origin(), r.choice("MF"))
        self.rad = self.person(self.any_origin(), r.choice("MF"))
        self.res = self.person(self.any_origin(), r.choice("MF"))
        self.tech = self.person(self.any_origin(), r.choice("MF"))
        self.trans = self.person(self.any_origin(), r.choice("MF"))
        if self.age < 18:
            rel, rs = r.choice(RELS_CHILD)
        elif self.age >= 75:
            rel, rs = r.choice(RELS_OLD)
        else:
            rel, rs = r.choice(RELS_ADULT)
            if rel == "wife" and self.sex == "F" and r.random() < 0.7:
                rel, rs = "husband", "M"
            if rel == "husband" and self.sex == "M" and r.random() < 0.7:
                rel, rs = "wife", "F"
        rs = rs or r.choice("MF")
        same = r.random() < 0.6 and not (origin in GENDERED_SURNAME and rs != self.sex)
        self.rel = rel
        self.fam = self.person(origin if r.random() < 0.85 else self.any_origin(), rs,
                               family=self.pt.family if same else None)
        # places
        self.city, self.state, z3 = r.choice(PLACES)
        self.zip = z3 + "%02d" % r.randint(1, 99)
        if r.random() < 0.15:
            self.zip += "-%04d" % r.randint(1, 9999)
        self.street = self.street_line()
        self.apt = r.choice(["", "", "", "Apt %d" % r.randint(1, 40), "Unit %s" % r.choice("ABCD12"),
                             "#%d" % r.randint(100, 999), "Apt. %d%s" % (r.randint(1, 6), r.choice("ABC"))])
        self.hosp = self.hospital()
        self.hosp_acr = hosp_acronym(self.hosp)
        self.ohosp = self.hospital()
        self.ohosp_acr = hosp_acronym(self.ohosp)
        self.dom = re.sub(r"[^a-z]", "", self.hosp_acr.lower()) + r.choice([".org", "health.org",
                                                                          ".edu", "med.org"])
        # identifiers
        self.mrn = self.mk_mrn()
        self.acc = self.mk_acc()
        self.acct = self.mk_acct()
        self.phone = self.mk_phone()
        self.cell = self.mk_phone()
        nf = 1 if ek == "mammo" else r.choice([1, 1, 2, 2, 3])
        if r.random() < 0.1:
            nf = 0
        self.sel_find = r.sample(self.exam["find"], min(len(self.exam["find"]), nf))
        self.sel_norm = r.sample(self.exam["normal"], min(len(self.exam["normal"]), r.randint(1, 2)))
        self.cur, self.pv = None, {}
        self.npi = {}
        self.title = r.choice(self.exam["titles"])
        self.ind = r.choice(self.exam["ind"])
        self._static = self.build_static()

    # ---- people ---------------------------------------------------------
    def any_origin(self):
        return self.rng.choices([o for o, _ in ORIGINS], [w for _, w in ORIGINS])[0]

    def person(self, origin, sex, family=None, patient=False):
        r, f = self.rng, self.fk.get(origin)
        middle, suffix = None, None
        male = sex == "M"
        if origin in CURATED:
            c = CURATED[origin]
            given = r.choice(c["m" if male else "f"])
            fam = r.choice(c["l"])
            if origin == "hi_IN" and r.random() < 0.25:
                middle = "Kumar" if male else r.choice(["Devi", "Kaur", "Rani"])
            elif origin == "ar_AA" and r.random() < 0.25:
                middle = r.choice(c["m"])
            elif origin == "fil_PH" and r.random() < 0.4:
                middle = r.choice(c["l"])
        elif origin == "zh_CN":
            given, fam = f.first_romanized_name(), f.last_romanized_name()
            if r.random() < 0.15:
                given = r.choice(["Wei", "Li", "Jun", "Ying", "Mei", "Hui", "Xiaoming", "Yan"])
        elif origin == "ja_JP":
            given = f.first_romanized_name_male() if male else f.first_romanized_name_female()
            fam = f.last_romanized_name()
        elif origin == "ko_KR":
            g = f.first_name_male() if male else f.first_name_female()
            ln = f.last_name()
            fam = _KO_SURNAME.get(ln) or romanize_hangul(ln)
            sep = r.choice(["", "-", "-", " "])
            parts = [romanize_hangul(ch) for ch in g]
            if sep == " ":
                given = " ".join(parts)
            else:
                given = parts[0] + sep + "".join(p.lower() for p in parts[1:])
        elif origin in ("ru_RU", "uk_UA"):
            uk = origin == "uk_UA"
            given = translit_cyr(f.first_name_male() if male else f.first_name_female(), uk)
            fam = translit_cyr(f.last_name_male() if male else f.last_name_female(), uk)
            if r.random() < 0.45:
                middle = translit_cyr(f.middle_name_male() if male else f.middle_name_female(), uk)
        elif origin == "el_GR":
            given = translit_greek(f.first_name_male() if male else f.first_name_female())
            fam = translit_greek(f.last_name_male() if male else f.last_name_female())
        else:
            given = f.first_name_male() if male else f.first_name_female()
            fam = f.last_name_male() if male else f.last_name_female()
            tries = 0
            while (" auch " in " " + fam + " " or not fam[:1].isalpha()) and tries < 5:
                fam = f.last_name()
                tries += 1
            if origin == "vi_VN":
                if r.random() < 0.85:
                    middle = f.middle_name() if r.random() < 0.5 else ("Văn" if male else "Thị")
            elif origin == "es_MX" and r.random() < 0.45:
                fam = fam + " " + f.last_name()
            elif origin == "pt_BR" and r.random() < 0.35:
                fam = f.last_name() + " " + fam
            elif origin == "en_US":
                if r.random() < 0.45:
                    middle = f.first_name_male() if male else f.first_name_female()
                if male and r.random() < 0.05:
                    suffix = r.choice(["Jr.", "Sr.", "II", "III"])
            elif r.random() < 0.2:
                middle = f.first_name_male() if male else f.first_name_female()
        if patient and origin == "en_US":
            if r.random() < 0.12:
                fam = r.choice(COLLIDE_SURNAMES)
            if r.random() < 0.10:
                given = r.choice(WORD_GIVEN_M if male else WORD_GIVEN_F)
        elif not patient and r.random() < 0.04:
            fam = r.choice(COLLIDE_SURNAMES)
        if family is not None:
            fam = family
        given = given.strip()
        fam = fam.strip()
        middle = middle.strip() if middle else None
        return Person(given, middle, fam, sex, origin, suffix)

    def nm(self, p, style="fl", fold_=None):
        fo = self.fold if fold_ is None else fold_
        g, m, f = p.given, p.middle or "", p.family
        if fo:
            g, m, f = fold(g), fold(m), fold(f)
        mi = m[:1]
        suf = (" " + p.suffix) if p.suffix else ""
        if style == "fl":
            return g + " " + f + suf
        if style == "fml":
            return (g + " " + m + " " + f + suf) if m else g + " " + f + suf
        if style == "fil":
            return (g + " " + mi + ". " + f + suf) if m else g + " " + f + suf
        if style == "lf":
            return f + ", " + g
        if style == "lfm":
            return (f + ", " + g + " " + mi) if m else f + ", " + g
        if style == "lfmd":
            return (f + ", " + g + " " + mi + ".") if m else f + ", " + g
        if style == "LF":
            return (f + ", " + g).upper()
        if style == "LFM":
            return ((f + ", " + g + " " + mi) if m else f + ", " + g).upper()
        if style == "lfnc":  # LAST FIRST without comma (legacy)
            return (f + " " + g).upper()
        if style in ("hl7", "hl7amp"):
            sep = "^" if style == "hl7" else "&"
            parts = [fold(f).upper(), fold(g).upper()] + ([fold(m).upper()] if m else [])
            if p.suffix and style == "hl7":
                parts += [""] * (3 - len(parts)) + [p.suffix.upper().rstrip(".")]
            return sep.join(parts)
        if style in ("dicom", "dicom_dr"):
            pre = self.rng.choice(["", "", "", ("MR" if p.sex == "M" else "MS") if style == "dicom" else "DR"])
            parts = [f.upper(), g.upper(), m.upper(), pre, (p.suffix or "").upper().rstrip(".")]
            while parts and not parts[-1]:
                parts.pop()
            return "^".join(parts)
        if style == "dicom_mixed":
            parts = [f, g, m]
            while parts and not parts[-1]:
                parts.pop()
            return "^".join(parts)
        if style == "il":
            return g[:1] + ". " + f
        if style == "l":
            return f
        if style == "g":
            return g
        if style == "native":
            return " ".join(x for x in (f, m, g) if x)
        if style == "init":
            return (g[:1] + f[:1]).upper()
        if style == "user":
            return re.sub(r"[^a-z0-9]", "", (fold(g)[:1] + fold(f)).lower())[:10] + \
                self.rng.choice(["", "", "1", "2", "01"])
        raise KeyError(style)

    def default_pt_style(self):
        return "native" if self.native else "fl"

    # ---- places -----------------------------------------------------------
    def street_line(self):
        r = self.rng
        name = r.choice(STREETS) if r.random() < 0.8 else self.fk["en_US"].last_name()
        return "%d %s %s" % (r.randint(2, 9899), name, r.choice(STREET_SUF))

    def hospital(self):
        r = self.rng
        if r.random() < 0.1:
            return r.choice(REAL_ACRONYM_HOSP)
        pat = r.choice(HOSP_PAT)
        c = r.choice(PLACES)[0]
        return pat.format(c=c, s=r.choice(SAINTS), n=self.fk["en_US"].last_name(),
                          n2=self.fk["en_US"].last_name())

    # ---- identifiers ------------------------------------------------------
    def digits(self, n):
        return "".join(str(self.rng.randint(0, 9)) for _ in range(n))

    def mk_mrn(self):
        r = self.rng
        k = r.random()
        if k < 0.5:
            return str(r.randint(1, 9)) + self.digits(r.choice([6, 7, 7, 8, 9]))
        if k < 0.65:
            return r.choice("EMZ") + self.digits(7)
        if k < 0.8:
            return "%s-%s-%s" % (self.digits(3), self.digits(2), self.digits(2))
        return "00" + self.digits(8)

    def mrn_pairs(self):
        d = self.digits(8)
        return " ".join(d[i:i + 2] for i in range(0, 8, 2))

    def mk_acc(self):
        r = self.rng
        y = self.exam_dt.year % 100
        return r.choice(["RAD%02d%s" % (y, self.digits(7)), "A" + self.digits(8),
                         "%s%d%s" % (r.choice(["CT", "MR", "US", "XR", "NM"]), self.exam_dt.year,
                                     self.digits(6)),
                         self.digits(9), "E%s" % self.digits(8), "%02d-%s" % (y, self.digits(6))])

    def mk_acct(self):
        r = self.rng
        return r.choice(["V" + self.digits(10), self.digits(10), "4" + self.digits(9),
                         "%s-%s" % (self.digits(4), self.digits(6)), self.digits(12)])

    def mk_phone(self, style=None):
        r = self.rng
        a = "%d%d%d" % (r.randint(2, 9), r.randint(0, 9), r.randint(0, 9))
        b = "%d%02d" % (r.randint(2, 9), r.randint(0, 99))
        c = self.digits(4)
        style = style or r.choice(["paren", "paren", "dash", "dash", "dot", "intl", "paren_ns"])
        return {"paren": "(%s) %s-%s", "dash": "%s-%s-%s", "dot": "%s.%s.%s",
                "intl": "+1 %s %s %s", "paren_ns": "(%s)%s-%s"}[style] % (a, b, c)

    def mk_ssn(self):
        r = self.rng
        a, b, c = "%03d" % r.randint(1, 665), "%02d" % r.randint(1, 99), "%04d" % r.randint(1, 9999)
        return r.choice(["%s-%s-%s", "%s-%s-%s", "%s %s %s", "%s%s%s"]) % (a, b, c)

    def mk_mbi(self):
        r = self.rng
        L = "ACDEFGHJKMNPQRTUVWXY"
        AN = L + "0123456789"
        s = (str(r.randint(1, 9)) + r.choice(L) + r.choice(AN) + str(r.randint(0, 9)) + r.choice(L) +
             r.choice(AN) + str(r.randint(0, 9)) + r.choice(L) + r.choice(L) + str(r.randint(0, 9)) +
             str(r.randint(0, 9)))
        return s[:4] + "-" + s[4:7] + "-" + s[7:] if r.random() < 0.6 else s

    def mk_member(self):
        r = self.rng
        return r.choice(["%s%s" % ("".join(r.choice("ABCDEFGHJKLMNPRSTWXYZ") for _ in range(3)),
                                   self.digits(9)), "W" + self.digits(9), self.digits(9) + "01",
                         "H" + self.digits(8), "ZGP" + self.digits(8), "1" + self.digits(11)])

    def mk_npi(self):
        return str(self.rng.randint(1, 2)) + self.digits(9)

    def mk_serial(self):
        r = self.rng
        up = "ABCDEFGHJKLMNPRSTVWXYZ"
        return r.choice(["%s%s%s" % ("".join(r.choice(up) for _ in range(3)), self.digits(6),
                                     r.choice(up)),
                         "SN" + self.digits(7), "%s-%s" % ("".join(r.choice(up) for _ in range(2)),
                                                          self.digits(6)),
                         self.digits(5), "%s%s" % (r.choice(up), self.digits(9))])

    def mk_lot(self):
        r = self.rng
        return r.choice(["%d%s%s" % (r.randint(18, 25), r.choice("ABCDEFG"), self.digits(4)),
                         "L" + self.digits(6), self.digits(8)])

    def mk_ip(self):
        r = self.rng
        k = r.random()
        if k < 0.4:
            return "10.%d.%d.%d" % (r.randint(0, 255), r.randint(0, 255), r.randint(1, 254))
        if k < 0.65:
            return "192.168.%d.%d" % (r.randint(0, 255), r.randint(1, 254))
        if k < 0.8:
            return "172.%d.%d.%d" % (r.randint(16, 31), r.randint(0, 255), r.randint(1, 254))
        return "%d.%d.%d.%d" % (r.choice([64, 66, 72, 98, 130, 146, 155, 198, 204]), r.randint(0, 255),
                                r.randint(0, 255), r.randint(1, 254))

    def mk_email(self, p, work=True):
        r = self.rng
        g = re.sub(r"[^a-z]", "", fold(p.given).lower()) or "pt"
        f = re.sub(r"[^a-z]", "", fold(p.family).lower()) or "x"
        local = r.choice(["%s.%s" % (g, f), "%s%s" % (g[:1], f), "%s_%s%d" % (g, f, r.randint(1, 99)),
                          "%s%s%d" % (f, g[:1], r.randint(1, 9))])
        return local + "@" + (self.dom if work else r.choice(EMAIL_DOMAINS))

    def mk_url(self):
        r = self.rng
        host = r.choice(["pacs", "mychart", "portal", "images", "radiology", "www", "viewer"])
        path = r.choice(["/zfp?Lights=on&acc=%s" % self.acc, "/viewer/study/%s" % self.digits(8),
                         "/mychart/results", "/radiology/patient-questions",
                         "/ImageViewer/launch?mrn=%s" % re.sub(r"\W", "", self.mrn), "/portal/login",
                         "/share/%s" % self.digits(10)])
        return r.choice(["https://", "https://", "http://", ""]) + host + "." + self.dom + path

    def mk_uid(self):
        r = self.rng
        return "1.2.840.%d.%d.%d.%s.%s" % (r.choice([113619, 113704, 10008, 114350]), r.randint(1, 9),
                                           r.randint(1, 99), self.digits(9), self.digits(6))

    # ---- dates ------------------------------------------------------------
    def past_date(self, lo=20, hi=1500):
        return self.exam_dt.date() - timedelta(days=self.rng.randint(lo, hi))

    def rand_time(self):
        r = self.rng
        return r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)

    def age_segs(self, form="{n}"):
        n = str(self.age)
        if self.age >= 90:
            return P(n, "AGE", "OVER_89")
        return T(n)

    # ---- static values for [[key]] ---------------------------------------
    def build_static(self):
        pt, sex = self.pt, self.sex
        he = "he" if sex == "M" else "she"
        his = "his" if sex == "M" else "her"
        d = {
            "pt": P(self.nm(pt, self.default_pt_style()), "NAME", "PATIENT"),
            "pt_fl": P(self.nm(pt, "fl"), "NAME", "PATIENT"),
            "pt_fml": P(self.nm(pt, "fml"), "NAME", "PATIENT"),
            "pt_lf": P(self.nm(pt, "lf"), "NAME", "PATIENT"),
            "pt_lfm": P(self.nm(pt, "lfm"), "NAME", "PATIENT"),
            "pt_LF": P(self.nm(pt, "LF"), "NAME", "PATIENT"),
            "pt_LFM": P(self.nm(pt, "LFM"), "NAME", "PATIENT"),
            "pt_last": P(self.nm(pt, "l"), "NAME", "PATIENT"),
            "pt_first": P(self.nm(pt, "g"), "NAME", "PATIENT"),
            "pt_hl7": P(self.nm(pt, "hl7"), "NAME", "PATIENT"),
            "mr": T(("Mr." if sex == "M" else self.rng.choice(["Ms.", "Ms.", "Mrs."]))),
            "he": T(he), "He": T(he.capitalize()), "his": T(his), "His": T(his.capitalize()),
            "him": T("him" if sex == "M" else "her"),
            "sexw": T("man" if sex == "M" else "woman"), "sexa": T("male" if sex == "M" else "female"),
            "sx": T(sex), "rel": T(self.rel), "ind": T(self.ind),
            "ind_cap": T(self.ind[:1].upper() + self.ind[1:]),
            "age": self.age_segs(),
            "dob": P(fmt_date(self.dob, self.dstyle), "DATE", "DOB"),
            "exam_date": P(fmt_date(self.exam_dt.date(), self.dstyle), "DATE", "EXAM"),
            "exam_time": P(fmt_time(self.exam_dt.hour, self.exam_dt.minute, self.exam_dt.second,
                                    self.tstyle), "TIME", "TIME"),
            "sign_date": P(fmt_date(self.sign_dt.date(), self.dstyle), "DATE", "SIGNED"),
            "sign_time": P(fmt_time(self.sign_dt.hour, self.sign_dt.minute, self.sign_dt.second,
                                    self.tstyle), "TIME", "TIME"),
            "mrn": P(self.mrn, "ID", "MRN"), "acc": P(self.acc, "ID", "ACCESSION"),
            "acct": P(self.acct, "ID", "ACCOUNT"),
            "ref": P(self.nm(self.ref, "fl"), "NAME", "DOCTOR"),
            "ref_fil": P(self.nm(self.ref, "fil"), "NAME", "DOCTOR"),
            "ref_last": P(self.nm(self.ref, "l"), "NAME", "DOCTOR"),
            "ref_lf": P(self.nm(self.ref, "lfm"), "NAME", "DOCTOR"),
            "rad": P(self.nm(self.rad, "fl"), "NAME", "DOCTOR"),
            "rad_fil": P(self.nm(self.rad, "fil"), "NAME", "DOCTOR"),
            "rad_last": P(self.nm(self.rad, "l"), "NAME", "DOCTOR"),
            "rad_lf": P(self.nm(self.rad, "lfm"), "NAME", "DOCTOR"),
            "res": P(self.nm(self.res, "fl"), "NAME", "DOCTOR"),
            "res_last": P(self.nm(self.res, "l"), "NAME", "DOCTOR"),
            "tech": P(self.nm(self.tech, "fl"), "NAME", "STAFF"),
            "tech_first": P(self.nm(self.tech, "g"), "NAME", "STAFF"),
            "trans": P(self.nm(self.trans, "fl"), "NAME", "STAFF"),
            "fam": P(self.nm(self.fam, "fl"), "NAME", "FAMILY"),
            "fam_first": P(self.nm(self.fam, "g"), "NAME", "FAMILY"),
            "fam_lf": P(self.nm(self.fam, "lf"), "NAME", "FAMILY"),
            "hosp": P(self.hosp, "HOSPITAL", "HOSPITAL"),
            "hosp_acr": P(self.hosp_acr, "HOSPITAL", "HOSPITAL"),
            "ohosp": P(self.ohosp, "HOSPITAL", "HOSPITAL"),
            "ohosp_acr": P(self.ohosp_acr, "HOSPITAL", "HOSPITAL"),
            "city": P(self.city, "CITY", "CITY"), "state": P(self.state, "STATE", "STATE"),
            "zip": P(self.zip, "ZIP", "ZIP"), "street": P(self.street, "ADDRESS", "STREET"),
            "phone": P(self.phone, "PHONE", "PHONE"), "cell": P(self.cell, "PHONE", "PHONE"),
            "title": T(self.title),
        }
        oc, ost, _ = self.rng.choice(PLACES)
        d["ocity"] = P(oc, "CITY", "CITY")
        d["ostate"] = P(ost, "STATE", "STATE")
        d["rad_init"] = P(self.nm(self.rad, "init"), "NAME", "DOCTOR")
        d["trans_init"] = P(self.nm(self.trans, "init").lower(), "NAME", "STAFF")
        d["tech_init"] = P(self.nm(self.tech, "init"), "NAME", "STAFF")
        d["rad_user"] = P(self.nm(self.rad, "user"), "NAME", "USERNAME")
        d["tech_user"] = P(self.nm(self.tech, "user"), "NAME", "USERNAME")
        dg = re.sub(r"\D", "", self.mrn)
        dg = dg if len(dg) % 2 == 0 else "0" + dg
        d["mrn_pairs"] = P(" ".join(dg[i:i + 2] for i in range(0, len(dg) - len(dg) % 2, 2))
                           if len(dg) >= 6 else self.mrn_pairs(), "ID", "MRN")
        d["dr_ref"] = T("Dr. ") + d["ref"]
        d["dr_rad"] = T("Dr. ") + d["rad"]
        d["street_apt"] = P(self.street + (", " + self.apt if self.apt else ""), "ADDRESS", "STREET")
        d["csz"] = d["city"] + T(", ") + d["state"] + T(" ") + d["zip"]
        return d

    def val(self, key):
        return self._static[key]

    # ---- fresh PHI values: [[@gen:SUB]] -----------------------------------
    def gen(self, name, sub=None):
        r = self.rng
        if name == "date":
            return P(fmt_date(self.past_date(), self.dstyle), "DATE", sub or "OTHER")
        if name == "datel":  # long month names
            return P(fmt_date(self.past_date(), r.choice(["long", "abbr", "dmon"])), "DATE",
                     sub or "OTHER")
        if name == "ldate":  # on or after the exam (addenda, letters, transcription)
            d = self.sign_dt.date() + timedelta(days=r.randint(0, 4))
            return P(fmt_date(d, self.dstyle), "DATE", sub or "OTHER")
        if name == "lmd":  # month/day of the exam or the day after
            d = self.exam_dt.date() + timedelta(days=r.randint(0, 1))
            return P(fmt_date(d, r.choice(["md", "md", "mdpad", "md_long"])), "DATE", sub or "OTHER")
        if name == "recent":
            return P(fmt_date(self.past_date(1, 25), self.dstyle), "DATE", sub or "OTHER")
        if name == "md":
            return P(fmt_date(self.past_date(1, 300), r.choice(["md", "md", "mdpad", "md_long",
                                                                "ordinal"])), "DATE", sub or "OTHER")
        if name == "my":
            return P(fmt_date(self.past_date(60, 3000), r.choice(["my", "my_long"])), "DATE",
                     "MONTH_YEAR")
        if name == "time":
            h, m, s = self.rand_time()
            return P(fmt_time(h, m, s, self.tstyle), "TIME", "TIME")
        if name == "mil":
            h, m, s = self.rand_time()
            return P(fmt_time(h, m, s, "mil"), "TIME", "TIME")
        if name == "ext":
            k = r.random()
            if k < 0.35:
                return T("x") + P("%d-%s" % (r.randint(2, 8), self.digits(4)), "PHONE", "EXTENSION")
            if k < 0.55:
                return T("x") + P(self.digits(5), "PHONE", "EXTENSION")
            if k < 0.85:
                return T(r.choice(["ext. ", "ext ", "Ext. "])) + P(self.digits(4), "PHONE", "EXTENSION")
            return T("extension ") + P("%d-%s" % (r.randint(2, 8), self.digits(4)), "PHONE",
                                         "EXTENSION")
        if name == "phone":
            return P(self.mk_phone(), "PHONE", "PHONE")
        if name == "fax":
            return P(self.mk_phone(), "FAX", "FAX")
        if name == "pager":
            return P(r.choice([self.digits(5), "%s-%s" % (self.digits(3), self.digits(4)),
                               self.digits(4)]), "PHONE", "PAGER")
        if name == "doc":
            return P(self.nm(self.person(self.any_origin(), r.choice("MF")),
                             r.choice(["fl", "fl", "fil", "l"])), "NAME", "DOCTOR")
        if name == "doclast":
            return P(self.nm(self.person(self.any_origin(), r.choice("MF")), "l"), "NAME", "DOCTOR")
        if name == "staff":
            return P(self.nm(self.person(self.any_origin(), r.choice("MF")), r.choice(["fl", "fl", "g"])),
                     "NAME", "STAFF")
        if name == "hosp":
            return P(self.hospital(), "HOSPITAL", "HOSPITAL")
        if name == "ip":
            return P(self.mk_ip(), "IP", "IP")
        if name == "url":
            return P(self.mk_url(), "URL", "URL")
        if name == "serial":
            return P(self.mk_serial(), "DEVICE", "SERIAL")
        if name == "lot":
            return P(self.mk_lot(), "DEVICE", "LOT")
        if name == "job":
            return P(self.digits(r.choice([6, 7, 8])), "ID", "JOB")
        if name == "npi":
            return P(self.mk_npi(), "ID", "OTHER")
        if name == "otherid":
            return P(self.digits(r.choice([6, 8, 10])), "ID", "OTHER")
        raise KeyError(name)

    # ---- fresh keep values: {#gen} ----------------------------------------
    def keepgen(self, name):
        segs = self._keepgen(name)
        if self.cur is not None:
            idx, mode, local = self.cur
            key = (idx, name)
            if mode == "w":
                self.pv.setdefault(key, []).append(segs)
            else:
                k = local.get(name, 0)
                lst = self.pv.get(key, [])
                if k < len(lst):
                    segs = lst[k]
                local[name] = k + 1
        return segs

    def _keepgen(self, name):
        r = self.rng

        def f1(lo, hi):
            return "%.1f" % r.uniform(lo, hi)
        M = "MEASUREMENT"
        if name == "m2":
            return K("%s x %s cm" % (f1(0.6, 6), f1(0.5, 4)), M)
        if name == "m3":
            return K("%s x %s x %s cm" % (f1(0.8, 7), f1(0.6, 5), f1(0.5, 4)), M)
        if name == "mm":
            return K("%d mm" % r.randint(3, 24), M)
        if name == "cm":
            return K("%s cm" % f1(0.5, 8), M)
        if name == "ser":
            s, i = r.randint(2, 9), r.randint(10, 240)
            return K(r.choice(["series %d image %d" % (s, i), "series %d, image %d" % (s, i),
                               "image %d of series %d" % (i, s), "se %d im %d" % (s, i),
                               "%d:%d" % (s, i)]), "TERM")
        if name == "hu":
            return K("%d HU" % r.randint(-10, 60), M)
        if name == "lvl":
            return K(r.choice(["L4-L5", "L4-5", "L5-S1", "L3-L4", "L3-4", "L2-3", "L5-S1"]), "LEVEL")
        if name == "clvl":
            return K(r.choice(["C5-6", "C5-C6", "C6-7", "C4-5", "C3-C4", "C6-C7"]), "LEVEL")
        if name == "tlvl":
            return K(r.choice(["T12", "L1", "T11", "L2", "T8", "T7"]), "LEVEL")
        if name == "vol":
            return K("%d mL" % r.choice([50, 75, 80, 90, 100, 100, 120]), M)
        if name == "kvp":
            return K("%d kVp" % r.choice([80, 100, 120, 120, 140]), M)
        if name == "mas":
            return K("%d mAs" % r.choice([150, 200, 250, 300, 350]), M)
        if name == "slice":
            return K(r.choice(["0.625 mm", "1.25 mm", "2.5 mm", "3 mm", "5 mm", "1 mm"]), M)
        if name == "ctdi":
            return K("CTDIvol %s mGy" % f1(2, 25), M)
        if name == "dlp":
            return K("DLP %s mGy-cm" % f1(80, 1200), M)
        if name == "gad":
            return K(r.choice(GADS), "DRUG")
        if name == "contrast":
            return K(r.choice(CONTRASTS), "DRUG")
        raise KeyError(name)


# ---------------------------------------------------------------------------
# report body (exam / history / comparison / technique / findings / impression)
# ---------------------------------------------------------------------------
HIST_MAIN = ["[[age]]-year-old [[sexw]] with [[ind]].", "[[age]] y/o [[sx]] with [[ind]].",
             "[[ind_cap]].", "[[pt_first]] is a [[age]]-year-old [[sexw]] with [[ind]].",
             "[[age]] yo [[sexa]], [[ind]].", "[[ind_cap]] in a [[age]]-year-old [[sexa]].",
             "[[age]]F/M with [[ind]].".replace("F/M", "[[sx]]")]
HIST_FAM = [
    "History obtained from the patient's [[rel]] [[fam]], who reports [[he]] has been more confused "
    "since [[@md:OTHER]].",
    "[[His]] [[rel]] [[fam]] states the patient fell at home on [[@md:OTHER]].",
    "Accompanied by [[his]] [[rel]], [[fam]] (health care proxy, tel [[@phone]]).",
    "[[fam_first]] ([[rel]]) is at the bedside and asks that results be called to [[@phone]].",
    "Per [[rel]] [[fam_first]], symptoms began on [[@md:OTHER]] after a long flight.",
    "[[His]] [[rel]], [[fam]], reports [[he]] has lost weight over the past two months.",
    "Interpreter requested; [[rel]] [[fam]] translated at the patient's request.",
]
HIST_OTHER = [
    "Previously imaged at [[ohosp]] on [[@date:COMPARISON]].",
    "Patient is followed by Dr. [[@doc]] at [[@hosp]].",
    "Admitted [[@md:ADMISSION]] via the ED.",
    "Status post surgery in [[@my]].",
    "Known {E:Barrett esophagus}; last endoscopy [[@my]].",
    "History of {E:Hodgkin lymphoma} treated with ABVD.",
    "On warfarin for atrial fibrillation; INR {M:2.8}.",
]
CMP = ["None.", "[[@date:COMPARISON]].", "CT [[@date:COMPARISON]] and radiographs [[@date:COMPARISON]].",
       "Prior study dated [[@md:COMPARISON]].", "Outside study from [[ohosp]] dated "
       "[[@date:COMPARISON]] (report only).", "Most recent prior [[@my]].",
       "[[@datel:COMPARISON]].", "None available at the time of dictation."]
CMP_MAMMO = ["Prior mammograms [[@date:COMPARISON]] and [[@date:COMPARISON]].", "None; baseline study.",
             "Outside mammograms from [[ohosp]] dated [[@date:COMPARISON]].", "[[@datel:COMPARISON]]."]
CLOSERS = ["Clinical correlation {T:may} be helpful.",
           "A reminder for follow-up imaging {T:will} be sent to [[dr_ref]].",
           "Findings {T:may} represent an evolving process; short-interval follow-up is suggested.",
           "Results {T:will} be released to the patient portal.",
           "This case {T:will} be reviewed at the next multidisciplinary conference.",
           "Recommend comparison with outside studies, which {T:may} be sent to the reading room."]
CRIT = ["Critical result: discussed with Dr. [[@doc]] ([[@ext]]) at [[@mil]] hrs on [[@lmd:OTHER]] "
        "by [[rad]], with read-back confirmation.",
        "Findings were communicated by telephone to [[@staff]], RN, at [[@time]] on [[exam_date]].",
        "Discussed with [[@doclast]] at [[@mil]].",
        "Called to Dr. [[ref_last]] (pager [[@pager]]) at [[@time]], who acknowledged receipt.",
        "Preliminary findings conveyed to the ED team ([[@staff]], [[@ext]]) at [[@mil]] hrs.",
        "Results discussed with [[ref]] on [[@lmd:OTHER]] at [[@time]]."]
SIGS = ["Electronically signed by: [[rad]], MD on [[sign_date]] at [[sign_time]]",
        "Electronically Signed By: [[rad_fil]], M.D. [[sign_date]] [[sign_time]]",
        "Signed: [[rad_lf]], MD  [[sign_date]] [[sign_time]]",
        "I have personally reviewed the images and agree with the findings of Dr. [[res]]. "
        "Attending: [[rad]], MD. [[sign_date]] [[sign_time]]",
        "Interpreted by [[rad]], MD; resident [[res]], MD. Finalized [[sign_date]] at [[sign_time]]."]
HDR = {"caps": lambda s: s.upper() + ":", "title": lambda s: s.title() + ":", "bare": lambda s: s.upper()}


def hist_tpl(R, fam_p=0.3, other_p=0.2):
    r = R.rng
    parts = [r.choice(HIST_MAIN)]
    if r.random() < fam_p:
        parts.append(r.choice(HIST_FAM))
    if r.random() < other_p:
        parts.append(r.choice(HIST_OTHER))
    return " ".join(parts)


def ftpls(R):
    return [(f, i, "w") for i, (f, _) in enumerate(R.sel_find)]


def impressions(R):
    imps = [(im, i, "r") for i, (_, im) in enumerate(R.sel_find) if im]
    if not imps:
        imps = [R.exam["negimp"]]
    if R.rng.random() < 0.4:
        imps.append(R.rng.choice(CLOSERS))
    return imps


def body_lines(R, hdr="caps", para=None, number=None, sections=("exam", "hist", "cmp", "tech",
                                                                   "find", "imp"), crit_p=0.2):
    """Returns a list of lines, each a list of segments."""
    r = R.rng
    H = HDR[hdr]
    para = r.random() < 0.4 if para is None else para
    number = r.random() < 0.6 if number is None else number
    lines = []

    def sec(name, tpls, inline=True):
        if hdr != "bare" and inline and len(tpls) == 1:
            lines.append(T(H(name) + " ") + render(R, tpls[0]))
        else:
            lines.append(T(H(name)))
            for t in tpls:
                lines.append(render(R, t))
        lines.append([])
    for s in sections:
        if s == "exam":
            sec("Exam", ["[[title]]"])
        elif s == "hist":
            sec(r.choice(["Clinical history", "Indication", "History"]), [hist_tpl(R)])
        elif s == "cmp":
            sec("Comparison", [r.choice(CMP_MAMMO if R.exam["key"] == "mammo" else CMP)])
        elif s == "tech":
            sec("Technique", [r.choice(R.exam["tech"])])
        elif s == "find":
            fs = ftpls(R) + R.sel_norm
            r.shuffle(fs)
            sec("Findings", [rj(R, fs)] if para else fs, inline=para)
        elif s == "imp":
            imps = impressions(R)
            if r.random() < crit_p:
                imps.append(r.choice(CRIT))
            if number:
                imps = [T("%d. " % (i + 1)) + render(R, t) for i, t in enumerate(imps)]
            sec("Impression", imps, inline=len(imps) == 1)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def rj(R, items, sep=" "):
    """Render several templates and join them with sep."""
    out = []
    for i, it in enumerate(items):
        if i:
            out += T(sep)
        out += render(R, it)
    return out


def put_lines(d, lines):
    for ln in lines:
        d.ln(ln)


def w(d, R, tpl, nl=True):
    d.add(render(R, tpl))
    if nl:
        d.t("\n")


def finish(d):
    text = d.text().rstrip("\n")
    return text, [s for s in d.spans if s[0] < len(text)]


# ---------------------------------------------------------------------------
# layouts
# ---------------------------------------------------------------------------
def sig(R, d):
    w(d, R, R.rng.choice(SIGS))


def hl7_ts(dt, sec=False):
    return dt.strftime("%Y%m%d%H%M%S" if sec else "%Y%m%d%H%M")


def hl7_seg(d, name, fields):
    d.t(name)
    for fld in fields:
        d.t("|")
        d.add(fld if isinstance(fld, list) else T(fld))
    d.t("\n")


def xcn(R, p):
    return P(R.npi.setdefault(id(p), R.mk_npi()), "ID", "OTHER") + T("^") + P(R.nm(p, "hl7"), "NAME", "DOCTOR") + T("^^^MD")


def hl7_header(R, d, ft=False):
    r = R.rng
    fac = P(R.hosp_acr, "HOSPITAL", "HOSPITAL")
    pt = R.pt
    msh_ctl = "MSG" + R.digits(10) if r.random() < 0.5 else R.digits(12)
    hl7_seg(d, "MSH", [r"^~\&", r.choice(["RADIS", "POWERSCRIBE", "RIS", "SYNGO"]), fac,
                       r.choice(["EPIC", "HIS", "CERNER"]), r.choice(["EPICPRD", "HIS01", "CLIN"]),
                       P(hl7_ts(R.sign_dt, True), "DATE", "SIGNED"), "", "ORU^R01",
                       P(msh_ctl, "ID", "OTHER"), "P", r.choice(["2.3", "2.4", "2.5.1"])])
    pid3 = P(R.mrn, "ID", "MRN") + T("^^^") + fac + T("^MR")
    if r.random() < 0.2:
        pid3 += T("~") + P(R.mk_ssn().replace(" ", "-"), "ID", "SSN") + T("^^^SSA^SS")
    addr = P(fold(R.street).upper(), "ADDRESS", "STREET")
    if R.apt:
        addr += T("^") + P(R.apt.upper(), "ADDRESS", "STREET")
    else:
        addr += T("^")
    addr += (T("^") + P(R.city.upper(), "CITY", "CITY") + T("^") + P(R.state, "STATE", "STATE") +
             T("^") + P(R.zip, "ZIP", "ZIP") + T("^USA"))
    pid = ["1", "", pid3, "", P(R.nm(pt, "hl7"), "NAME", "PATIENT"),
           (P(R.nm(R.fam, "hl7"), "NAME", "FAMILY") if r.random() < 0.3 else ""),
           P(R.dob.strftime("%Y%m%d"), "DATE", "DOB"), R.sex, "", "", addr, "",
           P(R.phone, "PHONE", "PHONE"), (P(R.cell, "PHONE", "PHONE") if r.random() < 0.4 else ""),
           "", r.choice(["M", "S", "W", "D"]), "", P(R.acct, "ID", "ACCOUNT"),
           (P(R.mk_ssn(), "ID", "SSN") if r.random() < 0.5 else "")]
    hl7_seg(d, "PID", pid)
    if r.random() < 0.35:
        hl7_seg(d, "NK1", ["1", P(R.nm(R.fam, "hl7"), "NAME", "FAMILY"),
                           R.rel.upper()[:3] + "^" + R.rel.capitalize(), "",
                           P(R.mk_phone(), "PHONE", "PHONE")])
    hl7_seg(d, "PV1", ["1", r.choice(["O", "I", "E"]),
                       T(r.choice(["RAD", "CT", "MRI", "ED"]) + "^" + r.choice(["CT1", "MR2", "RM4", "BAY3"])
                         + "^^") + fac, "", "", "", xcn(R, R.ref), "", "", r.choice(["RAD", "MED", "SUR"]),
                       ])
    if r.random() < 0.25:
        f = [""] * 36
        f[0] = "1"
        f[1] = r.choice(["BCBS01", "MCR", "AET02", "UHC10"])
        f[3] = fold(r.choice(INSURERS)).upper()
        f[7] = P(R.digits(7), "ID", "HEALTHPLAN")
        f[15] = P(R.nm(pt, "hl7"), "NAME", "PATIENT")
        f[16] = "SEL"
        f[35] = (P(R.mk_mbi().replace("-", ""), "ID", "MEDICARE") if f[1] == "MCR" else
                 P(R.mk_member(), "ID", "HEALTHPLAN"))
        hl7_seg(d, "IN1", f)
    ord_no = P("ORD" + R.digits(7), "ID", "OTHER")
    acc = P(R.acc, "ID", "ACCESSION")
    code = "%s^%s^L" % (R.digits(5), fold(R.title).upper()[:24].rstrip())
    hl7_seg(d, "ORC", ["RE", ord_no, acc, "", "CM"])
    obr = ["1", ord_no, acc, code, "", "", P(hl7_ts(R.exam_dt), "DATE", "EXAM"), "", "", "", "", "",
           "", "", "", xcn(R, R.ref), "", "", "", "", "", P(hl7_ts(R.sign_dt), "DATE", "SIGNED"), "",
           "", "F", "", "", "", "", "", "",
           T("&") + P(R.nm(R.rad, "hl7amp"), "NAME", "DOCTOR") + T("&&&MD")]
    hl7_seg(d, "OBR", obr)
    return code


def L_hl7_oru(R):
    d = Doc()
    code = hl7_header(R, d)
    lines = body_lines(R, hdr="caps", sections=R.rng.choice([("exam", "hist", "cmp", "tech", "find", "imp"),
                                                              ("hist", "cmp", "find", "imp")]))
    lines += [[], render(R, R.rng.choice(SIGS))]
    i = 0
    for ln in lines:
        if ln:
            i += 1
            hl7_seg(d, "OBX", [str(i), "TX", "GDT", "1", ln, "", "", "", "", "", "F"])
    return d


def L_hl7_ft(R):
    d = Doc()
    code = hl7_header(R, d)
    lines = body_lines(R, hdr="caps", para=True, sections=("exam", "hist", "cmp", "find", "imp")) + \
        [[], render(R, R.rng.choice(SIGS))]
    val = []
    for i, ln in enumerate(lines):
        if i:
            val += T("\\.br\\")
        val += ln
    hl7_seg(d, "OBX", ["1", "FT", code, "", val, "", "", "", "", "", "F"])
    if R.rng.random() < 0.5:
        hl7_seg(d, "NTE", ["1", "L", render(R, "Results called to [[ref_last]] at [[@mil]] by [[rad_last]].")])
    return d


def dcm_line(d, tag, vr, val, name):
    width = sum(len(t) for t, _ in val)
    d.t("(%s) %s [" % (tag, vr))
    d.add(val)
    d.t("]" + " " * max(1, 24 - width) + "# %s\n" % name)


def L_dicom_header(R):
    r = R.rng
    d = Doc()
    d.t("# Dicom-File-Format\n# Dicom-Data-Set\n")
    dcm_line(d, "0008,0020", "DA", P(R.exam_dt.strftime("%Y%m%d"), "DATE", "EXAM"), "StudyDate")
    dcm_line(d, "0008,0030", "TM", P(R.exam_dt.strftime("%H%M%S"), "TIME", "TIME"), "StudyTime")
    dcm_line(d, "0008,0050", "SH", P(R.acc, "ID", "ACCESSION"), "AccessionNumber")
    dcm_line(d, "0008,0060", "CS", T(r.choice(["CT", "MR", "CR", "US", "DX"])), "Modality")
    dcm_line(d, "0008,0080", "LO", P(R.hosp, "HOSPITAL", "HOSPITAL"), "InstitutionName")
    dcm_line(d, "0008,0090", "PN", P(R.nm(R.ref, "dicom_dr"), "NAME", "DOCTOR"), "ReferringPhysicianName")
    dcm_line(d, "0008,1010", "SH", T(r.choice(["CT01", "CTAWP7%03d" % r.randint(0, 999), "MR2", "RAD_US3"])),
             "StationName")
    dcm_line(d, "0008,1030", "LO", T(fold(R.title).upper()[:48].rstrip()), "StudyDescription")
    dcm_line(d, "0008,1050", "PN", P(R.nm(R.rad, "dicom_dr"), "NAME", "DOCTOR"), "PerformingPhysicianName")
    dcm_line(d, "0008,1070", "PN", P(R.nm(R.tech, r.choice(["dicom", "dicom_mixed"])), "NAME", "STAFF"),
             "OperatorsName")
    dcm_line(d, "0010,0010", "PN", P(R.nm(R.pt, r.choice(["dicom", "dicom", "dicom_mixed"])), "NAME",
                                     "PATIENT"), "PatientName")
    dcm_line(d, "0010,0020", "LO", P(R.mrn, "ID", "MRN"), "PatientID")
    dcm_line(d, "0010,0021", "LO", P(R.hosp_acr, "HOSPITAL", "HOSPITAL"), "IssuerOfPatientID")
    dcm_line(d, "0010,0030", "DA", P(R.dob.strftime("%Y%m%d"), "DATE", "DOB"), "PatientBirthDate")
    dcm_line(d, "0010,0040", "CS", T(R.sex), "PatientSex")
    age = "%03dY" % R.age
    dcm_line(d, "0010,1010", "AS", P(age, "AGE", "OVER_89") if R.age >= 90 else T(age), "PatientAge")
    if r.random() < 0.4:
        dcm_line(d, "0010,1040", "LO", P(fold(R.street).upper() + " " + R.city.upper(), "ADDRESS",
                                         "STREET"), "PatientAddress")
    if r.random() < 0.3:
        dcm_line(d, "0010,2154", "SH", P(R.phone, "PHONE", "PHONE"), "PatientTelephoneNumbers")
    dcm_line(d, "0018,1000", "LO", P(R.mk_serial(), "DEVICE", "SERIAL"), "DeviceSerialNumber")
    dcm_line(d, "0020,000d", "UI", P(R.mk_uid(), "ID", "OTHER"), "StudyInstanceUID")
    if r.random() < 0.15:
        dcm_line(d, "0040,0244", "DA", P(R.exam_dt.strftime("%Y%m%d"), "DATE", "EXAM"),
                 "PerformedProcedureStepStartDate")
    if r.random() < 0.3:
        d.t("# received from ")
        d.add(P(R.mk_ip(), "IP", "IP"))
        d.t(":104 AE_TITLE=%s\n" % r.choice(["CTSCANNER1", "MRI_3T", "DXR_ROOM2"]))
    d.t("\n--- REPORT (SR text) ---\n")
    put_lines(d, body_lines(R, hdr=r.choice(["caps", "title"]), sections=("exam", "hist", "find", "imp")))
    d.t("\n")
    sig(R, d)
    return d


def L_pacs_footer(R):
    r = R.rng
    d = Doc()
    put_lines(d, body_lines(R, hdr=r.choice(["caps", "title"])))
    d.t("\n")
    sig(R, d)
    d.t("\n" + "-" * 60 + "\n")
    d.add(P(R.nm(R.pt, "dicom"), "NAME", "PATIENT"))
    d.t("  ID:")
    d.add(P(R.mrn, "ID", "MRN"))
    d.t("  DOB:")
    d.add(P(R.dob.strftime("%Y%m%d"), "DATE", "DOB"))
    d.t("  ACC:")
    d.add(P(R.acc, "ID", "ACCESSION"))
    d.t("\nStudy: ")
    d.add(P(R.exam_dt.strftime("%Y%m%d"), "DATE", "EXAM"))
    d.t(" ")
    d.add(P(R.exam_dt.strftime("%H:%M"), "TIME", "TIME"))
    d.t("  Site: ")
    d.add(P(R.hosp_acr, "HOSPITAL", "HOSPITAL"))
    if r.random() < 0.6:
        d.t("  Node: ")
        d.add(P(R.mk_ip(), "IP", "IP"))
    d.t("\nRef: ")
    d.add(P(R.nm(R.ref, "dicom_dr"), "NAME", "DOCTOR"))
    d.t("  Reading: ")
    d.add(P(R.nm(R.rad, "dicom_dr"), "NAME", "DOCTOR"))
    if r.random() < 0.6:
        d.t("\nViewer: ")
        d.add(P(R.mk_url(), "URL", "URL"))
    d.t("\nPrinted by ")
    d.add(P(R.nm(R.tech, "user"), "NAME", "USERNAME"))
    d.t(" on ")
    d.add(P(fmt_date(R.sign_dt.date(), "us"), "DATE", "OTHER"))
    d.t("\n")
    return d


def L_epic(R):
    r = R.rng
    d = Doc()
    w(d, R, "[[hosp]]")
    w(d, R, "Department of Radiology")
    w(d, R, r.choice(["Patient Name: [[pt_lfm]]          MRN: [[mrn]]", "Patient: [[pt_lf]]    MRN: [[mrn]]",
                      "Name: [[pt_LFM]]      Medical Record #: [[mrn]]"]))
    w(d, R, r.choice(["DOB: [[dob]] (Age [[age]] y)    Sex: [[sx]]", "DOB: [[dob]]   Age: [[age]] years   "
                      "Gender: [[sexa]]"]))
    w(d, R, "Acc#: [[acc]]    " + r.choice(["Encounter #: [[acct]]", "CSN: [[acct]]", "HAR: [[acct]]"]))
    w(d, R, "Exam Date/Time: [[exam_date]] [[exam_time]]")
    w(d, R, r.choice(["Ordering Provider: [[ref_lf]], MD", "Ordering Provider: [[ref]], MD",
                      "Authorizing: [[ref_lf]] MD"]))
    if r.random() < 0.25:
        w(d, R, "PCP: [[@doc]], MD  Phone: [[@phone]]  Fax: [[@fax]]")
    if r.random() < 0.2:
        d.add(T("Coverage: Medicare A/B  MBI ") + P(R.mk_mbi(), "ID", "MEDICARE") + T("\n"))
    if r.random() < 0.4:
        w(d, R, "Location: [[hosp_acr]] " + r.choice(["CT 2", "MRI 1", "ED RAD", "IMG OP"]))
    d.t("\n")
    put_lines(d, body_lines(R, hdr=r.choice(["caps", "title"])))
    d.t("\n")
    w(d, R, r.choice(["Electronically signed by [[rad]], MD on [[sign_date]] at [[sign_time]]",
                      "Electronically signed by: [[rad_lf]], MD [[sign_date]] [[sign_time]]"]))
    if r.random() < 0.25:
        w(d, R, "Dictated by: [[res]], MD (Resident)")
    if r.random() < 0.25:
        w(d, R, "Reading room: [[@phone]] [[@ext]]")
    return d


def L_cerner(R):
    r = R.rng
    d = Doc()
    w(d, R, "*** Final Report ***")
    w(d, R, "RAD REPORT")
    w(d, R, "Patient: [[pt_LF]]          FIN: [[acct]]          MRN: [[mrn]]")
    w(d, R, "DOB/Age/Sex: [[dob]] / [[age]] years / [[sexa]]")
    w(d, R, "Perform Date/Time: [[exam_date]] [[exam_time]]")
    w(d, R, "Exam: [[title]]          Accession: [[acc]]")
    w(d, R, "Ordering Physician: [[ref_lf]]")
    w(d, R, "Facility: [[hosp]]")
    w(d, R, "Reason For Exam: [[ind_cap]]")
    d.t("\nReport\n")
    put_lines(d, body_lines(R, hdr="caps", sections=("hist", "cmp", "tech", "find", "imp")))
    d.t("\nSignature Line\n")
    w(d, R, "***** Final *****")
    w(d, R, "Signed (Electronic Signature): [[sign_date]] [[sign_time]]")
    w(d, R, "Signed by: [[rad_lf]] MD")
    if r.random() < 0.5:
        w(d, R, "Transcribed by: [[trans]]   Transcribed Date/Time: [[@ldate:TRANSCRIBED]] [[@time]]")
    return d


def L_dictation(R):
    r = R.rng
    d = Doc()
    put_lines(d, body_lines(R, hdr=r.choice(["caps", "bare"])))
    d.t("\n")
    w(d, R, "Dictated by: [[rad]], MD")
    dd = P(fmt_date(R.exam_dt.date(), R.dstyle), "DATE", "DICTATED")
    td = P(fmt_date(R.sign_dt.date() + timedelta(days=r.randint(0, 2)), R.dstyle), "DATE", "TRANSCRIBED")
    d.add(T("D: ") + dd + T(" ") + R.gen("time") + T("\n"))
    d.add(T("T: ") + td + T(" ") + R.gen("time") + T("\n"))
    w(d, R, r.choice(["Job #: [[@job]]   Doc #: [[@otherid]]", "JOB# [[@job]]", "Job ID: [[@job]]/[[@job]]"]))
    w(d, R, "[[rad_init]]/[[trans_init]]")
    if r.random() < 0.6:
        w(d, R, "cc: Dr. [[ref]]; Dr. [[@doc]]")
    return d


def L_outside(R):
    r = R.rng
    d = Doc()
    w(d, R, r.choice(["OUTSIDE IMAGING CONSULTATION (SECOND OPINION)", "OUTSIDE FILM INTERPRETATION",
                      "Second opinion read of outside study"]))
    w(d, R, "Outside institution: [[ohosp]] ([[ohosp_acr]]), [[ocity]], [[ostate]]")
    w(d, R, r.choice(["Outside MRN: [[@otherid]]   Outside accession: [[@otherid]]",
                      "Outside accession #: [[@otherid]]"]))
    w(d, R, "Images received on CD [[@recent:OTHER]] and imported to PACS by [[tech]].")
    w(d, R, "Patient: [[pt]]    [[hosp_acr]] MRN: [[mrn]]    DOB: [[dob]]")
    d.t("\n")
    w(d, R, r.choice(["HISTORY: Patient transferred from [[ohosp_acr]] on [[@md:ADMISSION]] for further "
                      "management of [[ind]].",
                      "HISTORY: [[age]]-year-old [[sexw]] transferred from [[ohosp]] with [[ind]].",
                      "HISTORY: Transferred from an outside hospital ([[ohosp_acr]]); [[ind]]."]))
    w(d, R, "OUTSIDE STUDY: [[title]] performed [[@date:EXAM]] at [[ohosp_acr]].")
    w(d, R, "The outside report by Dr. [[@doc]] was reviewed.")
    d.t("\n")
    put_lines(d, body_lines(R, hdr="caps", sections=("tech", "find", "imp")))
    d.t("\n")
    if r.random() < 0.6:
        w(d, R, "COMMENT: Our interpretation is concordant with the outside report except as noted. "
                "Please fax correspondence to [[ohosp_acr]] Radiology at [[@fax]].")
    sig(R, d)
    return d


LETTER_CAT = [
    ("{T:BI-RADS 1}", "Your mammogram shows no sign of cancer. We recommend that you continue to have a "
     "screening mammogram every year."),
    ("{T:BI-RADS 2}", "Your mammogram shows a benign (not cancer) finding. Continue routine annual "
     "screening."),
    ("{T:BI-RADS 3}", "A finding that is probably benign was seen. We recommend a follow-up mammogram in "
     "6 months."),
    ("{T:BI-RADS 0}", "Additional imaging is needed to complete your evaluation. This does not mean you "
     "have cancer. Our scheduling office {T:will} contact you."),
    ("{T:BI-RADS 4}", "A finding was seen that requires a biopsy. Your doctor has been informed and our "
     "nurse navigator {T:will} call you."),
]


def L_mammo_letter(R):
    r = R.rng
    d = Doc()
    w(d, R, "[[hosp]]")
    w(d, R, "Breast Imaging Center")
    w(d, R, "[[sign_date]]")
    d.t("\n")
    w(d, R, "[[mr]] " + r.choice(["[[pt_fl]]", "[[pt_fml]]"]))
    w(d, R, "[[street_apt]]")
    w(d, R, "[[csz]]")
    d.t("\n")
    w(d, R, "RE: Mammogram of [[exam_date]]    MRN: [[mrn]]" + (" DOB: [[dob]]" if r.random() < 0.5 else ""))
    d.t("\n")
    w(d, R, r.choice(["Dear [[mr]] [[pt_last]]:", "Dear [[pt_first]] [[pt_last]],", "Dear [[mr]] [[pt_last]],"]))
    d.t("\n")
    cat, txt = r.choice(LETTER_CAT)
    w(d, R, "Thank you for choosing [[hosp_acr]] for your recent mammogram on [[exam_date]]. "
            "Result category: " + cat + ". " + txt)
    d.t("\n")
    if r.random() < 0.6:
        w(d, R, "Your mammogram also shows that your breast tissue is dense ({T:ACR category C}). Dense "
                "tissue {T:may} make it harder to find cancer on a mammogram. Talk with your provider about "
                "whether additional screening, such as ultrasound or MRI, is right for you.")
        d.t("\n")
    w(d, R, "If you have questions, please call us at [[@phone]] [[@ext]], or view your results at [[@url]].")
    d.t("\n")
    w(d, R, "Sincerely,")
    w(d, R, "[[rad]], MD")
    w(d, R, "Breast Imaging")
    if r.random() < 0.8:
        w(d, R, "cc: Dr. [[ref]] (fax [[@fax]])")
    return d


def L_mammo_report(R):
    r = R.rng
    d = Doc()
    w(d, R, "[[hosp]] - Breast Imaging")
    w(d, R, "Patient: [[pt_lf]]   MRN: [[mrn]]   DOB: [[dob]]   Acc: [[acc]]")
    w(d, R, "Technologist: [[tech]], RT(R)(M)   Date: [[exam_date]]")
    d.t("\n")
    w(d, R, "EXAM: [[title]]")
    w(d, R, "HISTORY: [[ind_cap]]. " + r.choice([
        "Family history: [[rel]] [[fam]] diagnosed with breast cancer at age 48.",
        "Family history of breast cancer in [[his]] mother (age 52) and sister.",
        "No family history of breast cancer.",
        "BRCA2 carrier; [[rel]] [[fam_first]] tested positive in [[@my]]."]))
    w(d, R, "COMPARISON: Prior mammograms [[@date:COMPARISON]] and [[@date:COMPARISON]]" +
            r.choice([".", " from [[ohosp]]."]))
    d.t("\n")
    put_lines(d, body_lines(R, hdr="caps", sections=("tech", "find", "imp"), crit_p=0))
    d.t("\n")
    w(d, R, "Results letter sent to patient on [[@lmd:OTHER]]." if r.random() < 0.5 else
        "The patient was informed of the results by [[rad_last]] at the time of the exam.")
    sig(R, d)
    return d


PEARLS = ["{E:Bosniak IIF} lesions need imaging follow-up; the f is for follow-up.",
          "{E:Hill-Sachs} = posterolateral humeral head impaction; look for a {E:Bankart lesion} too.",
          "{E:Kerley B lines} are thickened interlobular septa at the lung periphery.",
          "{E:Segond fracture} means ACL tear until proven otherwise.",
          "{E:Jones fracture} heals poorly compared with the avulsion fracture more proximally.",
          "{E:Schatzki ring} is at the squamocolumnar junction; ask about food impaction.",
          "{E:Chiari I}: tonsils more than 5 mm below the foramen magnum.",
          "{E:Baker cyst} sits between the medial gastrocnemius and semimembranosus tendons.",
          "{E:Colles fracture}: dorsal angulation; volar angulation is a {E:Smith fracture}.",
          "{E:Salter-Harris II} is the most common physeal fracture.",
          "{E:Paget disease}: coarsened trabeculae, cortical thickening, bone enlargement.",
          "{E:Wilms tumor} displaces vessels; neuroblastoma encases them."]


def L_teaching(R):
    r = R.rng
    d = Doc(case="lower")
    w(d, R, "teaching file - %s - case #[[@otherid]]" % r.choice(["msk", "neuro", "body", "chest", "peds",
                                                                "breast"]))
    w(d, R, r.choice(["pt: [[pt_lf]] (mrn [[mrn_pairs]]), [[age]] y/o [[sx]]",
                      "[[pt]], [[age]][[sx]], mrn [[mrn_pairs]]",
                      "patient [[pt_fl]] / [[mrn]] / [[age]]yo"]))
    w(d, R, "dos [[exam_date]]. ref by [[ref_last]]." + r.choice(["", " read w/ [[res_last]]."]))
    w(d, R, "hx: [[ind]]. " + r.choice(HIST_FAM + [""]))
    w(d, R, "key images: {#ser}, {#ser}")
    fs = ftpls(R) + R.sel_norm[:1]
    w(d, R, T("findings: ") + rj(R, fs))
    w(d, R, T("dx: ") + render(R, impressions(R)[0]))
    w(d, R, "pearl: " + r.choice(PEARLS))
    if r.random() < 0.5:
        w(d, R, "f/u: path pending, ask [[@staff]] in path for slides. [[pt_last]] back in clinic [[@md:OTHER]].")
    w(d, R, "submitted by [[rad_user]] [[@lmd:OTHER]]")
    return d


def L_legacy_caps(R):
    r = R.rng
    d = Doc(case="upper")
    w(d, R, "[[hosp]]          DEPARTMENT OF RADIOLOGY")
    w(d, R, r.choice(["NAME: [[pt_LFM]]        UNIT NO: [[mrn_pairs]]", "PATIENT: [[pt_LF]]     MR#: [[mrn_pairs]]"]))
    w(d, R, "DOB: [[dob]]   AGE: [[age]]   SEX: [[sx]]   LOC: %s" % r.choice(["4 WEST", "ER", "OPD", "ICU 2"]))
    w(d, R, "REF MD: [[ref_last]]" + r.choice(["", ", [[ref]]"]))
    w(d, R, "EXAM: [[title]]     DATE: [[exam_date]]   TIME: [[exam_time]]")
    d.t("\n")
    put_lines(d, body_lines(R, hdr="caps", para=True, sections=("hist", "cmp", "find", "imp")))
    d.t("\n")
    w(d, R, "RADIOLOGIST: [[rad]], M.D.")
    d.add(T("DICT: ") + P(fmt_date(R.exam_dt.date(), R.dstyle), "DATE", "DICTATED") + T(" ") + R.gen("mil") +
          T("  TRANS: ") + P(fmt_date(R.sign_dt.date(), R.dstyle), "DATE", "TRANSCRIBED") + T(" ") +
          R.gen("mil") + T("  JOB ") + R.gen("job") + T("\n"))
    w(d, R, "[[rad_init]]/[[trans_init]]")
    return d


def L_ed_prelim(R):
    r = R.rng
    d = Doc()
    w(d, R, r.choice(["PRELIMINARY REPORT - ED WET READ", "*** PRELIMINARY RESIDENT INTERPRETATION ***"]))
    w(d, R, "Patient: [[pt]]   MRN: [[mrn]]   ED bed %d" % r.randint(1, 40))
    w(d, R, "Exam: [[title]] at [[exam_time]] on [[exam_date]]")
    w(d, R, "Prelim by [[res]], MD (radiology resident, pager [[@pager]]) at [[@mil]] hrs")
    d.t("\n")
    put_lines(d, body_lines(R, hdr="title", sections=("hist", "find", "imp"), crit_p=0))
    d.t("\n")
    w(d, R, "Communication: " + r.choice(CRIT))
    w(d, R, "Final report to follow by attending [[rad]]. Reading room [[@phone]] [[@ext]].")
    return d


def L_addendum(R):
    r = R.rng
    d = Doc()
    put_lines(d, body_lines(R, hdr="caps"))
    d.t("\n")
    sig(R, d)
    d.t("\n")
    w(d, R, r.choice([
        "ADDENDUM ([[@lmd:OTHER]] [[@mil]]): After review of the outside study from [[ohosp]] dated "
        "[[@date:COMPARISON]], the finding is unchanged and likely benign. Discussed with [[@staff]], RN "
        "([[@ext]]).",
        "ADDENDUM: The comparison study of [[@md:COMPARISON]] became available after dictation. No change "
        "to the impression. Dr. [[ref_last]] was notified at [[@time]].",
        "ADDENDUM [[@ldate:OTHER]]: Correction - the laterality in the impression should read LEFT. "
        "Corrected report discussed with [[ref]] at [[@mil]] hrs ([[@ext]]).",
    ]))
    w(d, R, "Addendum electronically signed by [[rad]], MD on [[@ldate:SIGNED]] at [[@time]]")
    if r.random() < 0.35:
        w(d, R, "ADDENDUM #2: Patient called back by [[@staff]] on [[@lmd:OTHER]]; follow-up scheduled at "
                "[[@hosp]].")
    return d


PROCS = [
    dict(title="CT-GUIDED PERCUTANEOUS LUNG BIOPSY", ind="{#cm} spiculated nodule in the left upper lobe",
         dev="19-gauge coaxial introducer and 20-gauge core needle (Temno), lot [[@lot]]",
         det="With the patient prone, the {#cm} nodule was targeted using intermittent CT fluoroscopy. "
             "Three 20-gauge cores were obtained and placed in formalin.",
         imp="Successful CT-guided biopsy of the left upper lobe nodule. Small pneumothorax, stable on "
             "post-procedure imaging."),
    dict(title="ULTRASOUND-GUIDED PARACENTESIS", ind="cirrhosis with tense ascites",
         dev="5 Fr Yueh centesis catheter, lot [[@lot]]",
         det="The right lower quadrant was prepped. {M:4.2 L} of straw-colored fluid was removed. "
             "{D:25 g of 25% albumin} was given per protocol.",
         imp="Uncomplicated large-volume paracentesis ({M:4.2 L})."),
    dict(title="IMPLANTED PORT PLACEMENT, RIGHT INTERNAL JUGULAR", ind="chemotherapy access",
         dev="{D:Bard PowerPort} 8 Fr, lot [[@lot]], serial [[@serial]]",
         det="The right IJ vein was accessed under ultrasound guidance. The catheter tip was positioned "
             "at the {A:cavoatrial junction}. The pocket was closed with {D:4-0 Monocryl}.",
         imp="Successful right IJ port placement; ready for use."),
    dict(title="IVC FILTER PLACEMENT", ind="DVT with contraindication to anticoagulation",
         dev="{E:Cook Celect} IVC filter, lot [[@lot]], serial number [[@serial]]",
         det="Contrast was diluted {M:2:1} with saline. Cavogram showed a normal caliber IVC ({#mm}) without thrombus. The filter was deployed "
             "below the renal veins at {L:L2}.",
         imp="Infrarenal IVC filter in place. Retrieval {T:may} be considered in 3 months."),
    dict(title="ULTRASOUND-GUIDED THORACENTESIS, RIGHT", ind="recurrent right pleural effusion",
         dev="8 Fr {D:Safe-T-Centesis} catheter, lot [[@lot]]",
         det="{M:1.1 L} of serosanguinous fluid was removed; samples sent for cytology. A {E:Pleurx} "
             "catheter was discussed for future management.",
         imp="Uncomplicated right thoracentesis. Post-procedure radiograph: no pneumothorax."),
]


def L_ir_procedure(R):
    r = R.rng
    pr = r.choice(PROCS)
    d = Doc()
    w(d, R, "[[hosp]] - Interventional Radiology")
    w(d, R, "PATIENT: [[pt_lf]]    MRN: [[mrn]]    DOB: [[dob]]")
    w(d, R, "PROCEDURE: " + pr["title"])
    w(d, R, "DATE OF PROCEDURE: [[exam_date]]")
    w(d, R, "OPERATORS: Attending [[rad]], MD; " + r.choice(["Fellow", "Resident"]) + " [[res]], MD")
    w(d, R, "ASSISTANT: [[tech]], RT(R)(VI)    SEDATION RN: [[@staff]], RN")
    w(d, R, "INDICATION: " + pr["ind"] + ". Referred by [[dr_ref]].")
    w(d, R, "CONSENT: " + r.choice([
        "Written informed consent was obtained from the patient after discussion of risks, benefits and "
        "alternatives.",
        "Consent obtained from the patient's [[rel]] and health care proxy, [[fam]], by telephone "
        "([[@phone]]), witnessed by [[@staff]], RN."]))
    w(d, R, "TIME OUT: Performed at [[@time]] with all team members.")
    w(d, R, "ANESTHESIA: Local {D:1% lidocaine with epinephrine 1:100,000} ({M:10 mL}); moderate sedation "
            "with {D:2 mg midazolam} and {D:100 mcg fentanyl} IV. Intraservice sedation time {M:32 minutes}.")
    w(d, R, "DEVICE: " + pr["dev"] + ".")
    w(d, R, "DETAILS: " + pr["det"])
    w(d, R, "EBL: Minimal. COMPLICATIONS: " + r.choice(["None immediate.", "None.", "Small hematoma, "
                                                                                "compressed."]))
    w(d, R, "IMPRESSION: " + pr["imp"])
    d.t("\n")
    sig(R, d)
    return d


def L_requisition(R):
    r = R.rng
    d = Doc()
    w(d, R, "RADIOLOGY ORDER REQUISITION - [[hosp]]")
    w(d, R, "Patient: [[pt_lfm]]    DOB: [[dob]]    Sex: [[sx]]")
    w(d, R, "Address: [[street_apt]], [[csz]]")
    w(d, R, "Home: [[phone]]    Cell: [[cell]]")
    if r.random() < 0.5:
        d.add(T("Email: ") + P(R.mk_email(R.pt, work=False), "EMAIL", "EMAIL") + T("\n"))
    if r.random() < 0.45:
        d.t("SSN: ")
        d.add(P(R.mk_ssn(), "ID", "SSN"))
        d.t("\n")
    k = r.random()
    if R.age >= 65 or k < 0.25:
        d.add(T("Primary insurance: Medicare Part B    MBI: ") + P(R.mk_mbi(), "ID", "MEDICARE") + T("\n"))
        if r.random() < 0.4:
            d.add(T("Secondary: %s    Member ID: " % r.choice(MEDICAID)) +
                  P("1" + R.digits(r.choice([8, 11])), "ID", "HEALTHPLAN") + T("\n"))
    else:
        d.add(T("Primary insurance: %s    Member ID: " % r.choice(INSURERS)) +
              P(R.mk_member(), "ID", "HEALTHPLAN") + T("    Group #: ") +
              P(R.digits(r.choice([6, 7, 8])), "ID", "HEALTHPLAN") + T("\n"))
    w(d, R, "Guarantor: [[fam_lf]] ([[rel]])    Phone: [[@phone]]")
    if r.random() < 0.5:
        w(d, R, "Emergency contact: [[fam]] [[@phone]]")
    w(d, R, "Ordering provider: [[ref_lf]], MD    NPI [[@npi]]    Fax [[@fax]]")
    if r.random() < 0.3:
        d.t("DEA: ")
        d.add(P("%s%s%s" % (r.choice("ABFM"), fold(R.ref.family)[:1].upper() or "X", R.digits(7)), "ID",
                "LICENSE"))
        d.t("    State license: ")
        d.add(P(r.choice(["MD", ""]) + R.digits(r.choice([5, 6])), "ID", "LICENSE"))
        d.t("\n")
    w(d, R, "Prior authorization #: [[@otherid]]")
    w(d, R, "Exam requested: [[title]]    Priority: %s" % r.choice(["Routine", "STAT", "Urgent"]))
    icd = {"cxr": "R06.02", "ctchest": "R91.1", "ctap": "R10.9", "cthead": "R41.82", "mrbrain": "R51.9",
           "mrls": "M54.16", "mrcs": "M54.12", "mrknee": "M25.561", "mrshoulder": "M25.511",
           "xrhip": "M25.552", "xrwrist": "S52.501A", "xrfoot": "S93.401A", "usruq": "R10.11",
           "usthy": "E04.1", "usp": "R10.2", "mammo": "Z12.31", "esoph": "R13.10", "ctliver": "K74.60",
           "dexa": "Z13.820", "cta": "G45.9", "peds": "R19.00", "pet": "C34.90"}.get(R.exam["key"], "R69")
    w(d, R, "Indication: [[ind_cap]]. ICD-10 %s" % icd)
    w(d, R, "Scheduled: [[exam_date]] [[exam_time]] at [[hosp_acr]]")
    d.t("\n--- RESULT ---\n")
    put_lines(d, body_lines(R, hdr="title", sections=("find", "imp"), para=True))
    d.t("\n")
    sig(R, d)
    return d


def L_consult_letter(R):
    r = R.rng
    d = Doc()
    w(d, R, "[[hosp]]")
    w(d, R, "Department of Radiology")
    w(d, R, "[[sign_date]]")
    d.t("\n")
    w(d, R, "[[ref]], MD")
    k = r.random()
    if k < 0.7:
        c2 = r.choice(PLACES)[0]
        d.add(P(r.choice(["%s Family Medicine" % c2, "Internal Medicine Associates of %s" % c2,
                          "%s Primary Care Center" % c2, "%s Orthopedics" % R.fk["en_US"].last_name()]),
                "HOSPITAL", "CLINIC") + T("\n"))
    else:
        d.t(r.choice(["Department of Orthopedic Surgery", "Division of General Internal Medicine"]) + "\n")
    addr = P(R.street_line() + r.choice(["", ", Suite %d" % r.randint(100, 500)]), "ADDRESS", "STREET")
    oc, ost, z3 = r.choice(PLACES)
    d.add(addr + T("\n") + P(oc, "CITY", "CITY") + T(", ") + P(ost, "STATE", "STATE") + T(" ") +
          P(z3 + "%02d" % r.randint(1, 99), "ZIP", "ZIP") + T("\n"))
    w(d, R, "Fax: [[@fax]]    Phone: [[@phone]]")
    d.t("\n")
    w(d, R, "RE: [[pt]]    DOB: [[dob]]    MRN: [[mrn]]")
    d.t("\n")
    w(d, R, "Dear Dr. [[ref_last]],")
    d.t("\n")
    w(d, R, "Thank you for referring [[mr]] [[pt_last]], a [[age]]-year-old [[sexw]] with [[ind]], for "
            "[[title]] performed on [[exam_date]].")
    w(d, R, T("The study demonstrates the following. ") + rj(R, ftpls(R) + R.sel_norm[:2]))
    w(d, R, T("In summary: ") + rj(R, impressions(R)))
    d.t("\n")
    w(d, R, "Please do not hesitate to contact me at [[@phone]] [[@ext]] with questions.")
    d.t("\n")
    w(d, R, "Sincerely,")
    w(d, R, "[[rad]], MD")
    if r.random() < 0.5:
        w(d, R, "cc: [[pt]] (patient); Dr. [[@doc]], fax [[@fax]]")
    return d


def L_tumor_board(R):
    r = R.rng
    d = Doc()
    board = {"ctchest": "THORACIC", "pet": "LYMPHOMA", "ctap": "GI", "ctliver": "HEPATOBILIARY",
             "mrbrain": "NEURO-ONCOLOGY", "mammo": "BREAST"}.get(R.exam["key"], "MULTIDISCIPLINARY")
    w(d, R, "%s TUMOR BOARD - [[exam_date]] [[@mil]]" % board)
    w(d, R, "Location: [[hosp]], conference room %s" % r.choice(["B", "4A", "12"]))
    w(d, R, "Attendees: Drs. [[@doclast]], [[@doclast]], [[rad_last]]; [[@staff]], RN (nurse navigator); "
            "[[@staff]] (tumor registry)")
    d.t("\n")
    ncase = r.randint(2, 3)
    me = r.randrange(ncase)
    for i in range(ncase):
        if i == me:
            d.add(T("Case %d: " % (i + 1)) + R.val("pt_lf") + T(" (MRN ") + R.val("mrn") + T("), ") +
                  R.age_segs() + T(R.sex) + T("\n"))
            w(d, R, "Presenter: Dr. [[ref_last]]. Imaging reviewed by [[rad]].")
            w(d, R, render(R, "Imaging: [[title]] [[exam_date]]. ") + rj(R, ftpls(R) or [R.exam["negimp"]]))
            w(d, R, "Plan: " + r.choice(["biopsy, then re-present.", "proceed to surgery with Dr. [[@doclast]].",
                                         "chemoradiation; restage in 3 months.",
                                         "surveillance imaging in 6 months."]))
        else:
            p = R.person(R.any_origin(), r.choice("MF"), patient=True)
            age = r.randint(34, 99)
            d.add(T("Case %d: " % (i + 1)) + P(R.nm(p, r.choice(["lf", "fl", "LF"])), "NAME", "PATIENT") +
                  T(" (MRN ") + P(R.mk_mrn(), "ID", "MRN") + T("), ") +
                  (P(str(age), "AGE", "OVER_89") if age >= 90 else T(str(age))) + T(p.sex) + T("\n"))
            w(d, R, r.choice(["Pancreatic head mass {#cm} abutting the SMV less than 180 degrees. Plan: "
                              "neoadjuvant FOLFIRINOX.",
                              "{T:LI-RADS 5} observation {#cm}; plan TACE with Dr. [[@doclast]].",
                              "Right lower lobe adenocarcinoma, {#cm}, no nodal disease. Plan: lobectomy.",
                              "Rectal cancer, MRI T3b N1. Plan: total neoadjuvant therapy.",
                              "Left breast IDC {#cm}, {T:BI-RADS 6}. Plan: lumpectomy and sentinel node."]))
        d.t("\n")
    w(d, R, "Minutes recorded by [[@staff]].")
    return d


def L_secure_message(R):
    r = R.rng
    d = Doc()
    ref_mail = P(R.mk_email(R.ref), "EMAIL", "EMAIL")
    rad_mail = P(R.mk_email(R.rad), "EMAIL", "EMAIL")
    sent = P(fmt_date(R.sign_dt.date(), "wk"), "DATE", "OTHER")
    d.add(T("From: ") + P(R.nm(R.ref, "lf"), "NAME", "DOCTOR") + T(" <") + ref_mail + T(">\n"))
    d.add(T("Sent: ") + sent + T(" ") + P(fmt_time(R.sign_dt.hour, R.sign_dt.minute, 0, "12"), "TIME",
                                          "TIME") + T("\n"))
    d.add(T("To: ") + P(R.nm(R.rad, "lf"), "NAME", "DOCTOR") + T(" <") + rad_mail + T(">\n"))
    if r.random() < 0.5:
        d.add(T("Cc: Radiology Reading Room <") + P("readingroom@" + R.dom, "EMAIL", "EMAIL") + T(">\n"))
    w(d, R, "Subject: [[title]] for [[pt_last]], MRN [[mrn]]")
    d.t("\n")
    w(d, R, r.choice(["Hi [[rad_last]] - could you take a second look at [[pt]]'s study from [[exam_date]]? "
                      "[[His]] [[rel]] [[fam_first]] is asking whether the finding is new.",
                      "Dr. [[rad_last]], I saw the report on [[pt_fl]] (acc [[acc]]). Do you think MRI would "
                      "help? Pt is [[age]] and lives alone.",
                      "Following up on [[pt_lf]] - the patient says [[he]] had a prior study at [[ohosp]]."]))
    w(d, R, "Thanks, [[ref_last]]")
    d.t("\n")
    rt = R.sign_dt + timedelta(minutes=r.randint(5, 600))
    d.add(T("-----Reply----- ") + P(R.nm(R.rad, "user"), "NAME", "USERNAME") + T(" ") +
          P(fmt_date(rt.date(), "us"), "DATE", "OTHER") + T(" ") +
          P(fmt_time(rt.hour, rt.minute, 0, "12"), "TIME", "TIME") + T("\n"))
    w(d, R, T("Reviewed again. ") + rj(R, ftpls(R) + [impressions(R)[0]]))
    w(d, R, "Key images are bookmarked: [[@url]]")
    w(d, R, "Call me at [[@ext]] if needed. - [[rad_fil]]")
    return d


def L_telerad(R):
    r = R.rng
    d = Doc()
    w(d, R, "TELERADIOLOGY PRELIMINARY INTERPRETATION")
    w(d, R, "Client site: [[hosp]] ([[hosp_acr]]), [[city]], [[state]]")
    w(d, R, "Images received [[exam_date]] [[exam_time]] from gateway [[@ip]]" +
      r.choice(["", " (modality [[@ip]])"]))
    w(d, R, "Study link: [[@url]]")
    w(d, R, "Patient: [[pt_LF]]   MRN: [[mrn]]   Age: [[age]]   Acc: [[acc]]")
    w(d, R, "Referring: [[ref_lf]]   Callback: [[@phone]]")
    d.t("\n")
    put_lines(d, body_lines(R, hdr="caps", sections=("exam", "hist", "cmp", "find", "imp")))
    d.t("\n")
    w(d, R, "Reading radiologist: [[rad]], MD (licensed in [[state]], lic. #", nl=False)
    d.add(P(r.choice(["", "MD"]) + R.digits(r.choice([5, 6, 7])), "ID", "LICENSE"))
    d.t(")\n")
    w(d, R, "Read from workstation [[@ip]] at [[@time]]; report faxed to [[@fax]].")
    return d


def L_free_narrative(R):
    r = R.rng
    d = Doc()
    lead = r.choice(["[[pt_fml]] returns today for [[title]]. ", "[[pt]] comes in for [[title]]. ",
                     "[[pt_lf]], [[age]], [[title]]. "])
    w(d, R, lead + r.choice(["[[pt_last]] was last imaged here on [[@date:COMPARISON]].",
                             "[[He]] was last seen at [[ohosp]] on [[@md:COMPARISON]].",
                             "[[pt_first]] reports [[ind]]."]) + " " + r.choice(HIST_FAM + [""]))
    d.t("\n")
    fs = ftpls(R) + R.sel_norm
    r.shuffle(fs)
    w(d, R, rj(R, fs))
    d.t("\n")
    w(d, R, T("In summary: ") + rj(R, impressions(R)))
    if r.random() < 0.5:
        w(d, R, r.choice(["[[fam_first]] asked that a copy go to [[his]] primary, [[ref]].",
                          "Copy to [[ref]] and to [[pt_last]] via portal.",
                          "Spoke with [[ref_last]] about the result at [[@time]]."]))
    d.t("\n")
    w(d, R, "[[rad_fil]] / [[sign_date]] [[sign_time]]")
    return d


def L_synoptic(R):
    r = R.rng
    d = Doc()
    w(d, R, "LOW-DOSE CT LUNG CANCER SCREENING - STRUCTURED REPORT")
    w(d, R, "Patient: [[pt_lf]] | DOB: [[dob]] | MRN: [[mrn]] | Exam date: [[exam_date]]")
    w(d, R, "Age: [[age]] | Smoking history: {M:%d pack-years}, %s" % (r.randint(20, 80),
                                                                     r.choice(["current smoker",
                                                                               "quit [[@my]]"])))
    w(d, R, "Shared decision-making visit: [[@date:OTHER]] with [[@doc]]")
    w(d, R, "Technique: Low-dose noncontrast CT, {#kvp}, {#mas}, {#slice} reconstructions. {#ctdi}.")
    w(d, R, "Comparison: " + r.choice(["Baseline.", "[[@date:COMPARISON]]."]))
    nod = r.choice([("RUL", "solid", "{#mm}", "{T:Lung-RADS 2}"), ("LLL", "part-solid", "{#mm}", "{T:Lung-RADS 4A}"),
                    ("RML", "ground glass", "{#mm}", "{T:Lung-RADS 2}"), ("LUL", "solid", "{#mm}", "{T:Lung-RADS 3}")])
    w(d, R, "Nodule 1: %s, %s, %s ({#ser})" % nod[:3] + (", new" if r.random() < 0.4 else ", stable"))
    w(d, R, "Other findings: " + r.choice(["moderate coronary artery calcification (S modifier).",
                                           "centrilobular emphysema.", "none."]))
    w(d, R, "Lung-RADS category: " + nod[3])
    w(d, R, "Recommendation: " + r.choice(["annual LDCT in 12 months.", "LDCT in 6 months.",
                                           "PET/CT; nodule clinic referral to Dr. [[@doc]]."]))
    w(d, R, "Screening navigator: [[@staff]], RN, [[@phone]] [[@ext]]")
    sig(R, d)
    return d


def mk_plate(R):
    r = R.rng
    L = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return r.choice(["%d%s%s" % (r.randint(1, 9), "".join(r.choice(L) for _ in range(3)), R.digits(3)),
                     "%s-%s" % ("".join(r.choice(L) for _ in range(3)), R.digits(4)),
                     "%s %s" % (R.digits(3), "".join(r.choice(L) for _ in range(3))),
                     "%s%s" % ("".join(r.choice(L) for _ in range(2)), R.digits(5))])


def mk_vin(R):
    r = R.rng
    A = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    return "".join(r.choice(A) for _ in range(17))


def L_trauma(R):
    r = R.rng
    d = Doc()
    w(d, R, "TRAUMA IMAGING - LEVEL %d ACTIVATION [[exam_date]] [[@mil]]" % r.choice([1, 1, 2]))
    w(d, R, r.choice(["Patient: [[pt_LF]]    MRN: [[mrn]]",
                      "Patient registered as TRAUMA ALIAS; identified as [[pt_fl]] (MRN [[mrn]]) at [[@time]]."]))
    w(d, R, "EXAM: " + r.choice(["CT HEAD, CERVICAL SPINE, CHEST, ABDOMEN AND PELVIS WITH CONTRAST",
                                 "TRAUMA PAN-SCAN (CT HEAD/C-SPINE/CAP)", "CT CHEST ABDOMEN PELVIS WITH IV "
                                 "CONTRAST (TRAUMA)"]))
    d.add(T("HISTORY: ") + R.age_segs() + render(R, " yo [[sx]], unrestrained driver in a high-speed MVC "
                                                 "versus pole. ") +
          T("Vehicle plate ") + P(mk_plate(R), "ID", "VEHICLE") + T(" (") + R.val("state") + T(")") +
          (T(", VIN ") + P(mk_vin(R), "ID", "VEHICLE") if r.random() < 0.5 else T("")) +
          T(" per police report. ") + T("Brought by ") + R.val("city") + T(" EMS, run #") +
          P(R.digits(r.choice([6, 8])), "ID", "OTHER") + T(".\n"))
    if r.random() < 0.6:
        d.add(T("Driver's license ") + P(r.choice(["S", "D", "K"]) + R.digits(8), "ID", "LICENSE") +
              render(R, " found in belongings; identity confirmed by [[his]] [[rel]] [[fam]] at [[@mil]] hrs.\n"))
    if r.random() < 0.5:
        w(d, R, "Transferred from [[ohosp]] after initial CT at [[@time]].")
    d.t("\n")
    tf = r.sample(["Grade III splenic laceration (AAST) with perisplenic hematoma.",
                   "Nondisplaced fractures of the left {A:posterior 9th and 10th ribs}.",
                   "Small right pneumothorax.", "Mesenteric stranding without free air.",
                   "Acute fracture of the {L:L1} transverse process.",
                   "Sternal fracture without retrosternal hematoma."], 2)
    fs = tf + r.sample(["No free intraperitoneal air.", "The thoracic aorta is intact.",
                        "No acute intracranial hemorrhage.", "No acute cervical spine fracture.",
                        "Contrast: {#vol} {#contrast}."], 2)
    w(d, R, T("FINDINGS: ") + rj(R, fs))
    w(d, R, "IMPRESSION: " + " ".join(["%d. %s" % (i + 1, x) for i, x in enumerate(tf)]))
    w(d, R, r.choice(CRIT))
    sig(R, d)
    return d


def L_nm_pet(R):
    r = R.rng
    d = Doc()
    w(d, R, "NUCLEAR MEDICINE / PET - [[hosp]]")
    w(d, R, "Patient: [[pt_lf]]   MRN: [[mrn]]   DOB: [[dob]]   Acc: [[acc]]")
    w(d, R, "EXAM: [[title]]   Date: [[exam_date]]")
    w(d, R, "HISTORY: " + hist_tpl(R))
    w(d, R, "RADIOPHARMACEUTICAL: " + r.choice(["{D:12.1 mCi F-18 FDG}", "{D:10.4 mCi 18F-FDG}",
                                                 "{D:11.8 mCi fluorodeoxyglucose F-18}"]) +
            " IV, left antecubital, at [[@time]]; imaging began at [[@time]]. Blood glucose {M:98 mg/dL}.")
    w(d, R, "Injected by [[tech]], CNMT. Dose calibrator %s S/N [[@serial]]." % r.choice(["Capintec CRC-55tR",
                                                                                        "Biodex Atomlab 500"]))
    w(d, R, "Scanner: %s, serial [[@serial]]." % r.choice(["Siemens Biograph Vision", "GE Discovery MI",
                                                          "Philips Vereos"]))
    w(d, R, "COMPARISON: " + r.choice(CMP))
    d.t("\n")
    put_lines(d, body_lines(R, hdr="caps", sections=("find", "imp")))
    d.t("\n")
    sig(R, d)
    return d


def L_us_worksheet(R):
    r = R.rng
    d = Doc()
    w(d, R, "SONOGRAPHER WORKSHEET - [[title]]")
    w(d, R, "Pt: [[pt_lf]]  MRN [[mrn]]  DOB [[dob]]  Acc [[acc]]")
    st = R.exam_dt
    en = st + timedelta(minutes=r.randint(15, 45))
    d.add(render(R, "Sonographer: [[tech]], RDMS ([[tech_init]])   Start ") +
          P(st.strftime("%H%M"), "TIME", "TIME") + T("  End ") + P(en.strftime("%H%M"), "TIME", "TIME") + T("\n"))
    scanner = r.choice(["GE LOGIQ E10", "Philips EPIQ 7", "Canon Aplio i800", "Siemens ACUSON Sequoia"])
    d.add(T("Machine: %s  SN " % scanner) + R.gen("serial") + T("  AE US_%d @ " % r.randint(1, 9)) +
          R.gen("ip") + T("\n"))
    w(d, R, "Indication: [[ind_cap]]. " + r.choice(HIST_FAM + ["", ""]))
    d.t("\nMeasurements:\n")
    labs = {"usruq": [("Right kidney", "cm"), ("Left kidney", "cm"), ("CBD", "mm"), ("Spleen", "cm"),
                      ("GB wall", "mm"), ("Liver span", "cm")],
            "usthy": [("Right lobe", "m3"), ("Left lobe", "m3"), ("Isthmus", "mm"), ("Nodule 1", "m3")],
            "usp": [("Uterus", "m3"), ("Endometrium", "mm"), ("Right ovary", "m3"), ("Left ovary", "m3")]}
    for lab, g in labs[R.exam["key"]]:
        d.add(T("  %-14s " % lab) + R.keepgen(g) + T("\n"))
    d.t("\nTech impression: ")
    w(d, R, rj(R, ftpls(R) or R.sel_norm))
    w(d, R, "Prelim shown to Dr. [[rad_last]] at [[@time]]. Images sent to PACS.")
    d.t("\n")
    put_lines(d, body_lines(R, hdr="caps", sections=("imp",), crit_p=0.1))
    sig(R, d)
    return d


def L_peer_review(R):
    r = R.rng
    d = Doc()
    w(d, R, "PEER REVIEW (RADPEER) - CONFIDENTIAL QUALITY DOCUMENT")
    w(d, R, "Review ID: [[@otherid]]   Date: [[@ldate:OTHER]]")
    w(d, R, "Original study: [[title]], [[exam_date]], Acc [[acc]], [[hosp_acr]]")
    w(d, R, "Patient: [[pt_lf]] (MRN [[mrn]])")
    w(d, R, "Original interpreting radiologist: [[rad]], MD")
    w(d, R, "Reviewer: Dr. [[@doc]]")
    w(d, R, "Score: %s" % r.choice(["1 - concur with interpretation", "2a - discrepancy, not clinically "
                                    "significant", "2b - discrepancy, likely clinically significant",
                                    "3a - miss that should be made most of the time"]))
    w(d, R, T("Original impression: ") + render(R, impressions(R)[0]))
    w(d, R, "Reviewer comment: " + r.choice(["Agree with the interpretation.",
                                             "An additional {#cm} lesion ({#ser}) was not reported; recommend "
                                             "addendum.", "Measurement on {#ser} slightly overestimated.",
                                             "Comparison with the study of [[@date:COMPARISON]] would have "
                                             "helped."]))
    w(d, R, "Discussed with [[rad_last]] on [[@lmd:OTHER]]. Routed to section chief [[@doc]].")
    return d


def L_worklist(R):
    r = R.rng
    d = Doc()
    room = r.choice(["CT2", "MR1", "US3", "XR-ED", "NM1"])
    d.add(T("RIS WORKLIST  %s  " % room) + R.val("hosp_acr") + T("  ") + R.val("exam_date") + T("\n"))
    d.t("TIME  PATIENT                   MRN         AGE SEX EXAM                      ORDERING\n")
    n = r.randint(3, 5)
    me = r.randrange(n)
    h = r.randint(7, 12)
    for i in range(n):
        tm = P("%02d%02d" % (h + i // 2, (i % 2) * 30), "TIME", "TIME")
        if i == me:
            p, mrn, age, sx, title, ref = R.pt, R.mrn, R.age, R.sex, R.title, R.ref
        else:
            p = R.person(R.any_origin(), r.choice("MF"), patient=True)
            mrn, age, sx = R.mk_mrn(), r.choice([r.randint(20, 89), r.randint(20, 89), r.randint(90, 101)]), p.sex
            title = r.choice([e for e in EXAMS if e["key"] != "peds"])["titles"][0]
            ref = R.person(R.any_origin(), r.choice("MF"))
        nmtxt = R.nm(p, "LFM")
        row = tm + T("  ") + P(nmtxt, "NAME", "PATIENT") + T(" " * max(1, 26 - len(nmtxt))) + \
            P(mrn, "ID", "MRN") + T(" " * max(1, 12 - len(mrn))) + \
            (P(str(age), "AGE", "OVER_89") if age >= 90 else T(str(age))) + T("  %s   " % sx) + \
            T("%-25s " % fold(title).upper()[:25]) + P(R.nm(ref, "LF"), "NAME", "DOCTOR") + T("\n")
        d.add(row)
    d.t("\nTech notes:\n")
    w(d, R, r.choice(["[[pt_last]]: claustrophobic, {D:1 mg lorazepam} PO given per [[ref_last]]. "
                      "Creatinine {M:1.1 mg/dL}.",
                      "[[pt_last]]: eGFR {M:38}; hydrate, {D:Omnipaque 300} reduced to {M:60 mL}.",
                      "[[pt_last]]: contrast allergy (hives), premedicated with {D:50 mg prednisone} x3.",
                      "[[pt_last]]: {E:Foley catheter} in place, transport with RN [[@staff]]."]))
    w(d, R, "Worklist printed by [[tech_user]] at [[@time]]")
    return d


LAYOUTS = {
    "hl7_oru": L_hl7_oru, "hl7_ft": L_hl7_ft, "dicom_header": L_dicom_header, "pacs_footer": L_pacs_footer,
    "epic": L_epic, "cerner": L_cerner, "dictation": L_dictation, "outside_hospital": L_outside,
    "mammo_letter": L_mammo_letter, "mammo_report": L_mammo_report, "teaching_file": L_teaching,
    "legacy_caps": L_legacy_caps, "ed_prelim": L_ed_prelim, "addendum": L_addendum,
    "ir_procedure": L_ir_procedure, "requisition": L_requisition, "consult_letter": L_consult_letter,
    "tumor_board": L_tumor_board, "secure_message": L_secure_message, "teleradiology": L_telerad,
    "free_narrative": L_free_narrative, "synoptic_lungrads": L_synoptic, "trauma": L_trauma,
    "nm_pet": L_nm_pet, "us_worksheet": L_us_worksheet, "peer_review": L_peer_review,
    "worklist": L_worklist,
}


# ---------------------------------------------------------------------------
# draws, validation, statistics
# ---------------------------------------------------------------------------
def balanced(rng, items, weights, n):
    W = sum(weights)
    counts = [n * w // W for w in weights]
    rem = n - sum(counts)
    order = sorted(range(len(items)), key=lambda i: (-(n * weights[i] % W), i))
    for i in order[:rem]:
        counts[i] += 1
    seq = [it for it, c in zip(items, counts) for _ in range(c)]
    rng.shuffle(seq)
    return seq


def validate(rec):
    text = rec["text"]
    allspans = [("P", s) for s in rec["phi"]] + [("K", s) for s in rec["keep"]]
    allspans.sort(key=lambda x: (x[1]["start"], x[1]["end"]))
    prev_end = -1
    for kind, s in allspans:
        assert 0 <= s["start"] < s["end"] <= len(text), (rec["id"], s)
        assert text[s["start"]:s["end"]] == s["text"], (rec["id"], s)
        assert s["text"] == s["text"].strip(), (rec["id"], s)
        assert s["start"] >= prev_end, ("overlap", rec["id"], s)
        prev_end = s["end"]
        if kind == "P":
            assert s["type"] in PHI_TYPES, s
            if s["type"] == "NAME":
                assert s["subtype"] in NAME_SUB, s
            if s["type"] == "ID":
                assert s["subtype"] in ID_SUB, s
        else:
            assert s["kind"] in KEEP_KINDS, s
    for lst in (rec["phi"], rec["keep"]):
        assert lst == sorted(lst, key=lambda x: x["start"]), rec["id"]


def faker_locales():
    locs = {"en_US"}
    for o, _ in ORIGINS:
        if o not in CURATED:
            locs.add(o)
    return sorted(locs)


def make_draw(seed, n, name):
    from faker import Faker
    rng = random.Random(seed)
    fk = {}
    for loc in faker_locales():
        f = Faker(loc)
        f.seed_instance(rng.randrange(2 ** 31))
        fk[loc] = f
    layouts = balanced(rng, list(LAYOUTS), [1] * len(LAYOUTS), n)
    origins = balanced(rng, [o for o, _ in ORIGINS], [w for _, w in ORIGINS], n)
    recs = []
    for i in range(n):
        R = Rec(rng, fk, origins[i], layouts[i])
        d = LAYOUTS[layouts[i]](R)
        text, spans = finish(d)
        phi, keep = [], []
        for s, e, lab, txt in spans:
            if lab[0] == "P":
                phi.append({"start": s, "end": e, "type": lab[1], "subtype": lab[2], "text": txt})
            else:
                keep.append({"start": s, "end": e, "kind": lab[1], "text": txt})
        rec = {"id": "broad-%s-%05d" % (name, i + 1), "text": text, "phi": phi, "keep": keep,
               "layout": layouts[i], "origin": origins[i]}
        validate(rec)
        recs.append(rec)
    return recs


def dump(recs, path):
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for r in recs:
            fh.write(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n")


def stats(draws):
    names = list(draws)
    out = []

    def table(title, keyf, listf, order=None):
        cs = {nm: Counter() for nm in names}
        for nm in names:
            for r in draws[nm]:
                for x in listf(r):
                    cs[nm][keyf(x)] += 1
        keys = order or sorted(set().union(*[set(c) for c in cs.values()]))
        out.append("\n### %s\n" % title)
        out.append("| %s | %s |" % (title.split(" per ")[-1], " | ".join(names)))
        out.append("|---|%s|" % "|".join("---:" for _ in names))
        for k in keys:
            out.append("| %s | %s |" % (k, " | ".join(str(cs[nm][k]) for nm in names)))
        out.append("| **total** | %s |" % " | ".join(str(sum(cs[nm].values())) for nm in names))
        return cs
    tcounts = table("PHI spans per type", lambda s: s["type"], lambda r: r["phi"], PHI_TYPES)
    table("PHI spans per type/subtype", lambda s: s["type"] + "/" + s["subtype"], lambda r: r["phi"])
    table("keep spans per kind", lambda s: s["kind"], lambda r: r["keep"])
    lcounts = table("reports per layout", lambda r: r, lambda r: [r["layout"]], list(LAYOUTS))
    table("reports per origin", lambda r: r, lambda r: [r["origin"]], [o for o, _ in ORIGINS])
    return "\n".join(out), tcounts, lcounts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--dev-seed", type=int, default=1)
    ap.add_argument("--holdout-seed", type=int, default=20250917)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--stats", help="also write the markdown count tables to this file")
    ap.add_argument("--allow-other-faker", action="store_true",
                    help="run with a faker version other than the pinned one (output will differ)")
    a = ap.parse_args(argv)
    import faker as _faker_pkg
    if _faker_pkg.VERSION != FAKER_PIN and not a.allow_other_faker:
        sys.exit("faker==%s required (found %s); output is only reproducible with the pinned version"
                 % (FAKER_PIN, _faker_pkg.VERSION))
    os.makedirs(a.out, exist_ok=True)
    draws = {"dev": make_draw(a.dev_seed, a.n, "dev"), "holdout": make_draw(a.holdout_seed, a.n, "holdout")}
    files = {"dev": "phi_broad_dev.jsonl", "holdout": "phi_broad_holdout.jsonl"}
    for nm, recs in draws.items():
        dump(recs, os.path.join(a.out, files[nm]))
    md, tc, lc = stats(draws)
    print(md)
    if a.stats:
        with open(a.stats, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(md + "\n")
    bad = []
    if a.n >= 1000:
        for nm in draws:
            for t in PHI_TYPES:
                if tc[nm][t] < 60:
                    bad.append("%s: %s has %d spans (<60)" % (nm, t, tc[nm][t]))
            if tc[nm]["NAME"] < 1500:
                bad.append("%s: NAME has %d spans (<1500)" % (nm, tc[nm]["NAME"]))
            for L in LAYOUTS:
                if lc[nm][L] < 25:
                    bad.append("%s: layout %s has %d reports (<25)" % (nm, L, lc[nm][L]))
            size = os.path.getsize(os.path.join(a.out, files[nm]))
            if size >= 3_000_000:
                bad.append("%s: file is %d bytes (>=3 MB)" % (nm, size))
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
