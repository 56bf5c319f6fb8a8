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

import faker as _faker_pkg
from faker import Faker

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
                "canal stenosis.", "Degenerative spondylolisthesis at L4-L5 with moderate canal "
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
         normal=["The breasts are heterogeneously dense ({T:ACR category C}), which may obscure "
                 "small masses.", "Scattered areas of fibroglandular density ({T:ACR B}).",
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
         ind=["postmenopausal osteoporosis screening", "long-term steroid use"],
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
               "3D reformats."],
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
