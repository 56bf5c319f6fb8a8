#!/usr/bin/env python3
"""Independent synthetic PHI benchmark for radiology report de-identification.

Written from the HIPAA Safe Harbor identifier list and the i2b2 2014
de-identification categories only (the de-identifier under test was not read).

Outputs (next to this script unless --out is given):
  phi_independent.jsonl        ~400 records  (seed SMALL_SEED)  - unit tests
  phi_independent_large.jsonl  ~3000 records (seed LARGE_SEED)  - benchmarks
  README.md                    format, label policy and per-type counts

Deterministic; standard library only.  Usage:
  python3 make_phi_set.py [--out DIR] [--small N] [--large N]

Template mini-language (see render()):
  {slot}          generated field (PHI or keep or plain), see Ctx.slot()
  [[K:text]]      literal text that must SURVIVE de-identification (keep span);
                  K = E (EPONYM), M (MEASUREMENT), A (ANATOMY), L (LEVEL), T (TERM)
  {n_ROLE_STYLE}  a person name: ROLE in pt,fam,rad,res,ref,dr,dr2,ed,onc,surg,
                  tech,rn,tx,staff ; STYLE see fmt_name()
"""
import argparse
import json
import os
import random
import re
import unicodedata
from collections import Counter
from datetime import date, timedelta

SMALL_SEED = 20140418
LARGE_SEED = 90210733
SMALL_N = 400
LARGE_N = 3000

# ---------------------------------------------------------------- names ----
FIRST = {
    "anglo": ["John", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "William", "Linda",
              "David", "Elizabeth", "James", "Barbara", "Richard", "Susan", "Thomas", "Margaret",
              "Charles", "Dorothy", "Kevin", "Karen", "Emily", "Heather", "Gregory", "Ashley",
              "Nathaniel", "Eleanor", "Harold", "Mildred", "Walter", "Gertrude", "Brittany", "Tyler",
              "Kathleen", "Wesley", "Shirley", "Clarence", "Beverly", "Dale", "Tammy", "Randall"],
    "hispanic": ["Juan", "Maria", "José", "Guadalupe", "Luis", "Carmen", "Alejandro", "Rosa",
                 "Javier", "Lucía", "Miguel", "Ximena", "Santiago", "Beatriz", "Héctor", "Paola",
                 "Raúl", "Esperanza", "Jesús", "Marisol", "Rodrigo", "Inés"],
    "southasian": ["Priya", "Rajesh", "Anjali", "Vikram", "Sunita", "Arjun", "Deepa", "Sanjay",
                   "Kavya", "Rahul", "Lakshmi", "Aditya", "Meera", "Farhan", "Nandini", "Venkatesh",
                   "Harpreet", "Gurpreet", "Shreya", "Imran"],
    "eastasian": ["Wei", "Li", "Hiroshi", "Yuki", "Min-jun", "Seo-yeon", "Jian", "Mei", "Takeshi",
                  "Haruka", "Ji-ho", "Xiaoming", "Thanh", "Linh", "Kenji", "Sakura", "Hyun-woo",
                  "Qing", "Duc", "Akiko"],
    "african": ["Chinedu", "Adaeze", "Kwame", "Ama", "Oluwaseun", "Ngozi", "Tendai", "Abebe",
                "Fatoumata", "Kofi", "Amara", "Themba", "Zainab", "Emeka", "Wanjiru", "Sipho",
                "Chiamaka", "Tunde", "Nia", "Desta"],
    "irish": ["Siobhan", "Padraig", "Niamh", "Ciaran", "Aoife", "Declan", "Bridget", "Seamus",
              "Maeve", "Eoin", "Orla", "Cormac"],
    "dutch": ["Pieter", "Anneke", "Joost", "Femke", "Willem", "Maarten", "Sanne", "Bram",
              "Hendrik", "Marijke"],
    "italian": ["Giuseppe", "Giovanna", "Marco", "Francesca", "Luca", "Chiara", "Salvatore",
                "Rosalia", "Vincenzo", "Alessandra", "Carmela", "Enzo"],
    "arabic": ["Mohammed", "Fatima", "Ahmed", "Aisha", "Omar", "Layla", "Khalid", "Yasmin",
               "Tariq", "Noor", "Hassan", "Rania", "Youssef", "Samira"],
    "slavic": ["Dmitri", "Olga", "Ivan", "Natasha", "Tomasz", "Katarzyna", "Miroslav", "Svetlana",
               "Bogdan", "Milena", "Jaroslav", "Zofia", "Agnieszka", "Vasily"],
}
# first names that are also ordinary words / months (traps)
WORD_FIRST = ["Hope", "Grace", "Faith", "Will", "Rose", "Frank", "Art", "June", "April", "May",
              "Summer", "Bill", "Joy", "Dawn", "Hunter", "Mark", "Douglas", "Iris", "Pearl",
              "Sterling", "Lane", "Autumn", "Crystal", "Angel"]
LAST = {
    "anglo": ["Smith", "Johnson", "Williams", "Brown", "White", "Young", "Hall", "Wood", "King",
              "Price", "Long", "Moody", "Green", "Black", "Hill", "Strong", "Little", "Bird", "Fox",
              "Rice", "Hart", "Stone", "Parker", "Walker", "Cook", "Bell", "Ward", "Gray", "Rose",
              "Love", "Church", "Summers", "Winter", "Day", "Knight", "Sharp", "Best", "Goodman",
              "Hatcher", "Pennington"],
    "hispanic": ["Garcia", "Rodriguez", "Martinez", "Hernández", "López", "González", "Pérez",
                 "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Núñez", "de la Cruz",
                 "de León", "del Río", "Castillo", "Vargas", "Ortiz-Mendoza", "de los Santos"],
    "southasian": ["Patel", "Sharma", "Natarajan", "Iyer", "Reddy", "Gupta", "Chatterjee",
                   "Krishnamurthy", "Venkataraman", "Desai", "Menon", "Khan", "Siddiqui", "Rao",
                   "Bhattacharya", "Subramanian", "Singh", "Kaur"],
    "eastasian": ["Wang", "Li", "Zhang", "Chen", "Liu", "Nguyen", "Tran", "Pham", "Kim", "Park",
                  "Lee", "Choi", "Tanaka", "Suzuki", "Watanabe", "Yamamoto", "Huang", "Zhou", "Ng",
                  "Oh"],
    "african": ["Okafor", "Adeyemi", "Mensah", "Boateng", "Okonkwo", "Nwosu", "Abara", "Mwangi",
                "Kamau", "Diallo", "Traoré", "Ndlovu", "Osei", "Balogun", "Eze", "Tesfaye"],
    "irish": ["O'Neil", "O'Brien", "O'Connor", "McAllister", "McCarthy", "MacDonald", "Fitzgerald",
              "Murphy", "Sullivan", "Kennedy", "Byrne", "Gallagher", "O'Sullivan", "McGuire",
              "MacKenzie", "Ó Briain"],
    "dutch": ["van der Berg", "Van Dyke", "de Vries", "van den Heuvel", "Janssen", "Vermeulen",
              "de Jong", "Bakker", "Visser", "van Houten", "Ten Eyck", "VanderMeer"],
    "italian": ["D'Angelo", "Rossi", "Russo", "Esposito", "Bianchi", "Romano", "Colombo",
                "DiMaggio", "Lo Bianco", "De Luca", "Ferrari", "Ricci", "D'Amico"],
    "arabic": ["Al-Sayed", "Haddad", "Abdullah", "El-Amin", "Nasser", "Khoury", "Mansour",
               "Hamdan", "Al-Farsi", "Saleh", "Bou Khalil", "Abu-Rahma"],
    "slavic": ["Kowalski", "Nowak", "Petrov", "Ivanova", "Novak", "Horvat", "Wiśniewski", "Dvořák",
               "Sokolov", "Kuznetsova", "Zielinski", "Popovic", "Szymańska"],
}
HYPHENATED = ["Smith-Jones", "Garcia-Lopez", "Hall-Okafor", "Nguyen-Tran", "Kowalski-Brown",
              "Patel-Reed", "O'Brien-Castillo", "Young-Mensah"]
# surnames that collide with eponyms used in the keep spans (traps)
EPONYM_SURNAMES = ["Baker", "Graves", "Parkinson", "Barrett", "Addison", "Paget", "Cushing",
                   "Foley", "Colles", "Jones", "Douglas", "Willis", "Hodgkin", "Morrison", "Wilms"]
ORIGINS = list(FIRST)
SUBTYPE_OF_ROLE = {"pt": "PATIENT", "fam": "FAMILY", "rad": "DOCTOR", "res": "DOCTOR",
                   "ref": "DOCTOR", "dr": "DOCTOR", "dr2": "DOCTOR", "ed": "DOCTOR",
                   "onc": "DOCTOR", "surg": "DOCTOR", "tech": "STAFF", "rn": "STAFF",
                   "tx": "STAFF", "staff": "STAFF"}

# ------------------------------------------------------------ locations ----
CITIES = [  # city, state abbr, state full, zip3
    ("Springfield", "MA", "Massachusetts", "011"), ("Springfield", "IL", "Illinois", "627"),
    ("Salem", "OR", "Oregon", "973"), ("Franklin", "TN", "Tennessee", "370"),
    ("Madison", "WI", "Wisconsin", "537"), ("Dayton", "OH", "Ohio", "454"),
    ("Worcester", "MA", "Massachusetts", "016"), ("Tucson", "AZ", "Arizona", "857"),
    ("Albuquerque", "NM", "New Mexico", "871"), ("Boise", "ID", "Idaho", "837"),
    ("Fresno", "CA", "California", "937"), ("Toledo", "OH", "Ohio", "436"),
    ("Duluth", "MN", "Minnesota", "558"), ("Scranton", "PA", "Pennsylvania", "185"),
    ("Eugene", "OR", "Oregon", "974"), ("Pueblo", "CO", "Colorado", "810"),
    ("Macon", "GA", "Georgia", "312"), ("Savannah", "GA", "Georgia", "314"),
    ("Chattanooga", "TN", "Tennessee", "374"), ("Spokane", "WA", "Washington", "992"),
    ("Akron", "OH", "Ohio", "443"), ("Lowell", "MA", "Massachusetts", "018"),
    ("Yakima", "WA", "Washington", "989"), ("Bangor", "ME", "Maine", "044"),
    ("Paterson", "NJ", "New Jersey", "075"), ("El Paso", "TX", "Texas", "799"),
    ("San Antonio", "TX", "Texas", "782"), ("St. Louis", "MO", "Missouri", "631"),
    ("Baton Rouge", "LA", "Louisiana", "708"), ("Fort Wayne", "IN", "Indiana", "468"),
    ("Grand Rapids", "MI", "Michigan", "495"), ("Cedar Rapids", "IA", "Iowa", "524"),
    ("Sioux Falls", "SD", "South Dakota", "571"), ("Ann Arbor", "MI", "Michigan", "481"),
    ("Jackson", "MS", "Mississippi", "392"), ("Warren", "MI", "Michigan", "480"),
    ("Tyler", "TX", "Texas", "757"), ("Marion", "OH", "Ohio", "433"),
    ("Burlington", "VT", "Vermont", "054"), ("Manchester", "NH", "New Hampshire", "031"),
    ("Newport", "RI", "Rhode Island", "028"), ("Lexington", "KY", "Kentucky", "405"),
    ("Dover", "DE", "Delaware", "199"), ("Greenville", "SC", "South Carolina", "296"),
    ("Bristol", "CT", "Connecticut", "060"), ("Fairbanks", "AK", "Alaska", "997"),
    ("Hilo", "HI", "Hawaii", "967"), ("Missoula", "MT", "Montana", "598"),
    ("Cheyenne", "WY", "Wyoming", "820"), ("Las Cruces", "NM", "New Mexico", "880"),
    ("Provo", "UT", "Utah", "846"), ("Reno", "NV", "Nevada", "895"),
    ("Little Rock", "AR", "Arkansas", "722"), ("Tulsa", "OK", "Oklahoma", "741"),
    ("Wichita", "KS", "Kansas", "672"), ("Omaha", "NE", "Nebraska", "681"),
    ("Fargo", "ND", "North Dakota", "581"), ("Charleston", "WV", "West Virginia", "253"),
    ("Roanoke", "VA", "Virginia", "240"), ("Durham", "NC", "North Carolina", "277"),
    ("Huntsville", "AL", "Alabama", "358"), ("Tallahassee", "FL", "Florida", "323"),
    ("Brooklyn", "NY", "New York", "112"), ("Bethesda", "MD", "Maryland", "208"),
]
HOSP_PREFIX = ["St. Luke's", "St. Mary's", "St. Vincent's", "Sacred Heart", "Mercy", "Good Samaritan",
               "Providence", "Riverside", "Lakeview", "Northside", "Baptist", "Methodist",
               "Presbyterian", "Cedar Valley", "Pine Ridge", "Bayfront", "Hillcrest", "Fairview",
               "Oakwood", "Holy Cross", "Our Lady of Lourdes", "Beth Israel", "Mount Carmel",
               "Shady Grove", "Silver Lake", "Twin Rivers", "Blue Ridge", "Evergreen", "Saint Joseph"]
HOSP_SUFFIX = ["Hospital", "Medical Center", "General Hospital", "Regional Medical Center",
               "Community Hospital", "Health Center", "Children's Hospital", "Memorial Hospital",
               "Hospital and Medical Center", "Health System"]
CLINIC_PREFIX = ["Oak Street", "Northgate", "Bayview", "Valley", "Summit", "Harbor", "Westbrook",
                 "Meadowlands", "Prairie", "Canyon", "Lakeshore", "Greenfield", "Redwood"]
CLINIC_SUFFIX = ["Imaging", "Family Clinic", "Orthopedics", "Radiology Associates",
                 "Women's Imaging Center", "Urgent Care", "Internal Medicine", "Cancer Center",
                 "Pulmonary Associates", "Spine Institute", "Pediatrics", "Diagnostic Imaging"]
HOSP_ABBR = ["SJMC", "RRMC", "SVH", "LCH", "BMC", "HCMC", "UCMC", "MGH", "NSMC", "PMC"]
NURSING_HOMES = ["Sunrise Senior Living", "Maple Grove Nursing Home", "Brookdale Terrace",
                 "Golden Acres Rehabilitation", "The Willows Assisted Living", "Heritage Manor",
                 "Pine Haven Care Center", "Evergreen Skilled Nursing"]
STREET_NAMES = ["Elm", "Maple", "Oak", "Washington", "Lincoln", "Main", "Church", "Park", "Cedar",
                "Pine", "Lake", "Hill", "Highland", "Sunset", "Mill", "River", "Spring", "Jefferson",
                "Martin Luther King Jr.", "Commonwealth", "Old Mill", "Country Club", "Ridgewood",
                "Magnolia", "Peachtree", "Alvarado", "Kamehameha", "Bayshore", "Chestnut", "Dogwood",
                "Vista del Sol", "Cherry Blossom", "Hawthorne", "Prospect"]
STREET_SUFFIX = ["Street", "St", "St.", "Avenue", "Ave", "Ave.", "Road", "Rd", "Boulevard", "Blvd",
                 "Drive", "Dr", "Lane", "Ln", "Way", "Court", "Ct", "Place", "Terrace", "Pkwy",
                 "Circle"]
EMAIL_DOMAINS = ["stlukes.org", "mercyhealth.org", "radpartners.com", "gmail.com", "yahoo.com",
                 "hillcrestmed.org", "valleyrad.com", "outlook.com", "uhs.edu", "bayfronthealth.net"]
DEVICE_VENDORS = ["Medtronic", "Boston Scientific", "St. Jude", "Abbott", "Biotronik", "Codman",
                  "Cook", "Bard", "Cochlear"]

MONTH = ["", "January", "February", "March", "April", "May", "June", "July", "August",
         "September", "October", "November", "December"]
MON = ["", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
        "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def num_words(n, rng):
    if n < 20:
        return ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        return TENS[t] + ("-" + ONES[o] if o else "")
    rest = n - 100
    if rest == 0:
        return "one hundred"
    return "one hundred " + ("and " if rng.random() < 0.4 else "") + num_words(rest, rng)


def ordinal(n):
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return str(n) + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def ascii_fold(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if c.isascii() and c.isalnum())


# ------------------------------------------------------- clinical pools ----
EXAMS = ["CT chest with contrast", "MRI lumbar spine without contrast", "CHEST PA AND LATERAL",
         "US abdomen complete", "CT abdomen and pelvis with IV contrast",
         "MRI brain with and without contrast", "XR left knee 3 views", "CTA chest (PE protocol)",
         "Screening mammogram, bilateral", "NM whole body bone scan", "Fluoroscopic esophagram",
         "US renal", "XR pelvis AP", "CT head without contrast", "MRCP", "US thyroid",
         "XR right wrist 3 views", "Portable chest, single view", "MRI cervical spine",
         "CT liver multiphase", "Barium swallow", "US lower extremity venous duplex",
         "MRI right shoulder", "XR abdomen (KUB)", "PET/CT skull base to mid-thigh"]
EXAM_SHORT = ["CT", "CT chest", "chest radiograph", "MRI", "ultrasound", "PET/CT", "radiographs",
              "CTA", "mammogram", "KUB", "MRI brain", "CT abdomen/pelvis"]
UNITS = ["ICU", "MICU", "SICU", "4 West", "7 West", "5N", "CCU", "NICU", "ED", "PACU", "Oncology",
         "Step-down", "Telemetry"]
HX = [
    "[[T:shortness of breath]]", "[[T:right lower quadrant pain]]", "known [[E:Crohn disease]]",
    "[[T:fever]] and [[T:cough]]", "history of [[E:Hodgkin lymphoma]]",
    "[[E:Parkinson disease]] with fall", "[[E:Graves disease]], thyroid enlargement",
    "[[E:Alzheimer dementia]], unwitnessed fall", "[[E:Barrett esophagus]], dysphagia",
    "[[T:gross hematuria]]", "rule out [[T:pulmonary embolism]]", "[[T:worst headache of life]]",
    "[[E:Cushing syndrome]]", "[[E:Addison disease]] with abdominal pain",
    "[[E:Hashimoto thyroiditis]], palpable nodule",
    "follow-up [[T:pulmonary nodule]] per [[E:Fleischner criteria]]",
    "[[T:low back pain]] radiating to the left leg", "posterior knee swelling, ? [[E:Baker cyst]]",
    "[[E:Wilms tumor]] surveillance", "head trauma, [[E:Glasgow Coma Scale]] 13",
    "[[T:hemoptysis]], smoker", "[[T:jaundice]], elevated bilirubin",
    "fall on outstretched hand, wrist pain", "anterior knee pain in adolescent athlete",
    "painless limp", "[[T:hematemesis]] after repeated vomiting", "[[T:chest pain]]",
    "[[T:dysphagia]] to solids", "[[T:palpable breast lump]]", "[[E:Paget disease]] follow-up",
    "[[T:elevated alkaline phosphatase]]", "[[T:left leg swelling]]", "[[T:neck pain]] after MVC",
    "[[T:syncope]]", "cirrhosis, HCC screening", "[[E:Marfan syndrome]], aortic root follow-up",
    "[[E:Sjogren syndrome]], parotid swelling", "[[E:Raynaud phenomenon]]",
]
EP_HX = ["[[E:Hodgkin lymphoma]]", "[[E:Crohn disease]]", "[[E:Paget disease]]",
         "[[E:non-Hodgkin lymphoma]]", "[[E:Graves disease]]", "[[E:Hashimoto thyroiditis]]",
         "[[E:Barrett esophagus]]", "[[E:Wilms tumor]]", "[[E:Ewing sarcoma]]",
         "[[E:Kaposi sarcoma]]", "[[E:Wegener granulomatosis]]", "[[E:Takayasu arteritis]]",
         "[[E:Hirschsprung disease]]", "[[E:Down syndrome]]", "[[E:Turner syndrome]]",
         "[[E:von Hippel-Lindau disease]]", "[[E:Cushing disease]]", "[[E:Parkinson disease]]"]

FINDINGS = [
    "The [[A:lungs]] are clear. No [[T:pleural effusion]] or [[T:pneumothorax]].",
    "There is a {meas2} [[T:spiculated mass]] in the [[A:right upper lobe]] ({series}).",
    "Mild [[T:cardiomegaly]] with [[E:Kerley B lines]] and small bilateral [[T:pleural effusions]], consistent with [[T:interstitial edema]].",
    "Wedge-shaped peripheral opacity in the [[A:left lower lobe]] compatible with a [[E:Hampton hump]]; regional oligemia ([[E:Westermark sign]]) is also suggested.",
    "Apical mass in the [[A:right lung apex]] with [[A:chest wall]] invasion, consistent with a [[E:Pancoast tumor]].",
    "Small amount of fluid in [[E:Morison pouch]]. No [[T:free intraperitoneal air]].",
    "[[E:Foley catheter]] in the [[A:urinary bladder]], which is decompressed.",
    "[[E:Swan-Ganz catheter]] tip projects over the [[A:right interlobar pulmonary artery]]; recommend retraction by {meas}.",
    "Fluid collection in the [[A:gastrocnemius-semimembranosus bursa]] measuring {meas2}, consistent with a [[E:Baker cyst]].",
    "[[E:Salter-Harris II fracture]] of the [[A:distal radius]] with {meas} of dorsal displacement.",
    "Cerebellar tonsils extend {meas} below the [[A:foramen magnum]], consistent with [[E:Chiari I malformation]].",
    "Large heterogeneous [[A:left renal]] mass measuring {meas3}, compatible with [[E:Wilms tumor]].",
    "A [[E:Schatzki ring]] is present at the [[A:gastroesophageal junction]]; a [[M:13 mm]] barium tablet lodged transiently.",
    "Posterior pharyngeal outpouching at [[L:C5-6]] consistent with a [[E:Zenker diverticulum]], measuring {meas}.",
    "Fat-containing posterolateral diaphragmatic defect on the left, in keeping with a [[E:Bochdalek hernia]].",
    "Anterior right cardiophrenic fat-containing defect, likely a [[E:Morgagni hernia]].",
    "Coarsened trabeculae and cortical thickening of the [[A:right hemipelvis]] consistent with [[E:Paget disease]].",
    "Fragmentation of the [[A:tibial tubercle]] with overlying soft tissue swelling, compatible with [[E:Osgood-Schlatter disease]].",
    "Flattening and sclerosis of the [[A:left femoral head]] consistent with [[E:Legg-Calve-Perthes disease]].",
    "Fracture of the [[A:proximal ulna]] with [[A:radial head]] dislocation ([[E:Monteggia fracture-dislocation]]).",
    "Dorsally angulated [[A:distal radius]] fracture ([[E:Colles fracture]]).",
    "Pneumomediastinum and left [[T:pleural effusion]] after emesis raise concern for [[E:Boerhaave syndrome]].",
    "No extraluminal contrast; findings do not exclude a [[E:Mallory-Weiss tear]].",
    "Distal [[A:esophageal]] wall thickening in this patient with known [[E:Barrett esophagus]].",
    "Enlarged left supraclavicular lymph node ([[E:Virchow node]]) measuring {meas}.",
    "Hilar biliary stricture with upstream ductal dilatation, suspicious for [[E:Klatskin tumor]].",
    "Hepatic vein thrombosis with caudate hypertrophy, consistent with [[E:Budd-Chiari syndrome]].",
    "Blind-ending outpouching arising from the [[A:distal ileum]], likely a [[E:Meckel diverticulum]].",
    "Irregular mass in the right breast at [[T:2 o'clock]], {meas} from the nipple, measuring {meas2}.",
    "Hypoattenuating lesion in [[A:hepatic segment 7]] with {hu}, likely a simple cyst.",
    "Pulmonary nodule measuring {meas} in the [[A:right middle lobe]] ({series}); follow-up per [[E:Fleischner criteria]].",
    "Disc bulge at {level} with mild [[T:foraminal stenosis]]. [[E:Schmorl node]] at {level}.",
    "[[E:Modic type 1]] endplate changes at {level}.",
    "Mild [[T:degenerative disc disease]] at {level} and {level}.",
    "Compression deformity of {level} with approximately [[M:30%]] height loss.",
    "Diffuse thyroid enlargement with increased vascularity, compatible with [[E:Graves disease]].",
    "Heterogeneous, hypoechoic [[A:thyroid]] parenchyma consistent with [[E:Hashimoto thyroiditis]].",
    "Small bilateral [[A:adrenal glands]], which may be seen in [[E:Addison disease]].",
    "Bilateral adrenal hyperplasia; correlate for [[E:Cushing syndrome]].",
    "Generalized volume loss, greater than expected for age, with [[A:hippocampal]] atrophy as can be seen with [[E:Alzheimer disease]].",
    "Loss of the nigral swallow tail sign, which can be seen in [[E:Parkinson disease]].",
    "Bulky mediastinal lymphadenopathy in a patient with [[E:Hodgkin lymphoma]], largest node {meas2}.",
    "Terminal ileal wall thickening with [[T:comb sign]], compatible with active [[E:Crohn disease]].",
    "Periosteal reaction along the [[A:second metatarsal]] shaft consistent with a [[T:march fracture]].",
    "Compression of the left common iliac vein by the right common iliac artery suggests [[E:May-Thurner syndrome]].",
    "Enhancing umbilical nodule ([[E:Sister Mary Joseph nodule]]) measuring {meas}.",
    "Transverse fracture at the base of the [[A:fifth metatarsal]] ([[E:Jones fracture]]).",
    "Volarly displaced distal radius fracture ([[E:Smith fracture]]).",
    "[[E:Hill-Sachs lesion]] and [[E:Bankart lesion]] of the [[A:right shoulder]].",
    "Small volume free fluid in the [[E:pouch of Douglas]], likely physiologic.",
    "Prominent [[E:Virchow-Robin spaces]] in the [[A:basal ganglia]].",
    "The [[E:circle of Willis]] is patent without aneurysm.",
    "The heart is normal in size. The mediastinum is unremarkable. XXXX are intact.",
    "No acute fracture. [[T:Degenerative changes]] of the XXXX.",
    "Observation in [[A:segment 8]] measuring {meas}, categorized [[E:LI-RADS 3]].",
    "Cystic lesion of the [[A:left kidney]] with thin septations, [[E:Bosniak IIF]].",
    "Ground-glass opacities in the [[A:lung bases]] bilaterally. Saturation obtained on [[T:room air]].",
    "Postoperative clips in the [[T:surgical bed]]; no recurrent mass.",
    "No [[T:extension]] of the fracture into the [[A:articular surface]].",
    "Left adrenal nodule measuring {meas} with {hu} on unenhanced images, consistent with [[T:adenoma]].",
    "Stable {meas} nodule, previously measuring {meas} in {year_k}.",
    "Status post [[T:cholecystectomy]] in {year_k}.",
    "Aggressive permeative lesion of the [[A:femoral diaphysis]]; differential includes [[E:Ewing sarcoma]].",
    "Perineural cysts ([[E:Tarlov cysts]]) at [[L:S2]].",
    "Delayed images obtained at [[M:10 minutes]] show persistent tracer retention.",
    "Post-void residual volume of [[M:120 mL]].",
    "Left ventricular ejection fraction estimated at [[M:55%]].",
    "Interspinous bursitis at {level} ([[E:Baastrup disease]]).",
    "Midline nasopharyngeal cyst ([[E:Tornwaldt cyst]]), incidental.",
    "Posterior fossa cyst with vermian hypoplasia ([[E:Dandy-Walker malformation]]).",
    "Fluid in the [[E:Hoffa fat pad]] and a small joint effusion.",
    "Obscuration of [[E:Kager fat pad]] suggesting Achilles tendon injury.",
    "Dilated [[E:Wharton duct]] with a {meas} calculus.",
    "Avulsion fracture of the lateral tibial plateau ([[E:Segond fracture]]).",
    "Malalignment at the [[E:Lisfranc joint]] with widening of {meas}.",
    "Prominent [[E:column of Bertin]] in the [[A:right kidney]], a normal variant.",
    "Perinephric stranding extends to [[E:Gerota fascia]].",
    "Dense nodule ({meas}) of [[E:Gamna-Gandy bodies]] in the [[A:spleen]].",
    "[[E:Greenfield filter]] in the infrarenal IVC at {level}.",
    "Endotracheal tube tip {meas} above the [[A:carina]]. NG tube courses below the diaphragm.",
    "Ascites with peritoneal nodularity; [[E:Krukenberg tumor]] not excluded in the [[A:left ovary]].",
    "Heterogeneous enhancement of the [[A:pituitary]] with a {meas} non-enhancing [[E:Rathke cleft cyst]].",
    "Ectopic posterior pituitary bright spot. [[E:Chiari II malformation]] with [[T:hydrocephalus]].",
    "Fracture through the base of the first metacarpal ([[E:Bennett fracture]]).",
]
FIND_SIMPLE = [
    "The [[A:cardiomediastinal silhouette]] is within normal limits. No [[T:pneumothorax]] or [[T:pleural effusion]].",
    "Heart size normal. Lungs clear. XXXX are intact.",
    "No focal airspace consolidation. Mild [[T:hyperinflation]].",
    "Calcified granuloma in the [[A:left upper lobe]]. No acute disease.",
    "Stable [[T:cardiomegaly]]. XXXX sternotomy wires.",
]
IMPRESSION = [
    "No acute cardiopulmonary process.",
    "{meas} [[T:pulmonary nodule]]; follow-up CT in [[M:12 months]] per [[E:Fleischner criteria]].",
    "Suspicious mass, [[E:BI-RADS 4]]. Ultrasound-guided biopsy is recommended.",
    "[[E:BI-RADS 2]]: benign findings.",
    "Findings compatible with active [[E:Crohn disease]].",
    "[[E:Salter-Harris II fracture]] of the [[A:distal radius]].",
    "Findings consistent with [[T:pulmonary edema]].",
    "Acute [[T:appendicitis]] without perforation.",
    "Moderate [[T:spinal canal stenosis]] at {level}.",
    "[[E:Baker cyst]], otherwise unremarkable knee.",
    "[[E:LI-RADS 3]] observation; recommend MRI in [[M:3-6 months]].",
    "No evidence of [[T:pulmonary embolism]].",
    "Stable [[E:Chiari I malformation]].",
    "Likely [[E:Klatskin tumor]]; MRCP recommended.",
    "[[E:Zenker diverticulum]], {meas}.",
    "Acute [[T:cholecystitis]].",
    "No intracranial hemorrhage or mass effect.",
    "[[E:Pancoast tumor]] with chest wall invasion.",
    "Support lines and tubes as above.",
    "Small [[E:Bochdalek hernia]], incidental.",
    "Mild [[T:hepatic steatosis]].",
    "Nondisplaced [[A:left sixth rib]] fracture.",
    "Findings suggestive of [[E:Legg-Calve-Perthes disease]].",
    "[[E:Osgood-Schlatter disease]].",
    "Findings may represent [[E:Boerhaave syndrome]]; surgical consultation advised.",
]
TECHNIQUE = [
    "TECHNIQUE: Axial images of the chest were obtained after administration of [[M:80 mL]] of Omnipaque 350.",
    "Technique: Multiplanar multisequence MRI of the lumbar spine without contrast.",
    "TECHNIQUE: Low-dose CT. CTDIvol [[M:3.1 mGy]], DLP [[M:112 mGy-cm]].",
    "Technique: Performed at {hosp} by {n_tech_FL}, RT(R)(CT).",
    "Frontal and lateral views of the chest.",
    "Contrast: [[M:100 mL]] Isovue-370 IV, injected by {n_tech_IL} at {t}; no reaction.",
    "Fluoroscopy time [[M:2.3 minutes]]. Performed with {n_res_FL}, MD.",
    "Technique: grayscale and color Doppler images obtained by sonographer {n_tech_F} at {t}.",
    "Technique: 1.5 T MRI; images reviewed on workstation {ip}.",
]
HEADERS = [
    "PATIENT: {n_pt_ULF}  MRN: {mrn}  DOB: {d_dob}\nEXAM DATE: {d_exam} {t}\nACCESSION: {acc}",
    "Name: {n_pt_LF}\nMedical Record #: {mrn}\nAcc#: {acc}\nExam date: {d_exam} {t}",
    "{hospU}\nDEPARTMENT OF RADIOLOGY\n{addr_full}\nTel {phone}  Fax {fax}",
    "Pt: {n_pt_LFM} | DOB {d_dob} | Age: {age_hdr} | Sex: {sexc} | MRN {mrn} | Visit {acct}",
    "Patient Name: {n_pt_FL}    Location: {unit} Rm {room} Bed {bed}\nOrdering Physician: {n_ref_LF}, MD   Phone: {phone}\nOrder #: {order}    Accession: {acc}",
    "RADIOLOGY REPORT\n{n_pt_ULF} ({mrn})\nDate of service: {d_exam}\nReferring: Dr. {n_ref_L}",
    "Patient: {n_pt_LF}   SSN: {ssn}   Insurance ID: {hp}",
    "Study Date: {d_exam}  Study Time: {t}\nStudy UID: {uid}\nPerformed at: {hosp}",
    "{n_pt_FL}\n{street}\n{city}, {state} {zip}\nDOB {d_dob}  MRN {mrn}",
    "Exam ordered by {n_ref_IIL}, MD (pager {pager})\nPatient location: {unit}, bed {bed}",
    "PT NAME: {n_pt_ULF}  ACCT#: {acct}  ORDER: {order}",
    "Name: {n_pt_LF}   Unit No: {mrn}   Admitted: {d_adm}\nAttending: {n_dr_FL}, MD",
    "Outside images received from {hosp2} ({city2}, {state2}) via {url}",
    "Requested by {n_ref_IL} ({clinic}), ph {phone} ext. {ext}",
    "Name: {n_pt_LF}  Age: {age_hdr}  MRN: {mrn}\nRoom: {room}   Acc: {acc}",
    "{n_pt_ULF}   {d_dob}   {mrn}\n{hosp}   {d_exam}",
    "Patient {n_pt_FML} (MRN {mrn}, member ID {hp}) was scanned at {hosp} on {d_exam}.",
]
COMPARISON = [
    "COMPARISON: {exam_short} of {d_cmp} from {hosp2}.",
    "Comparison: outside films from {hosp2} in {city2} dated {d_cmp}.",
    "Compared with prior study dated {d_cmp}.",
    "COMPARISON: None.",
    "Comparison is made to {exam_short} from {d_md} and {d_cmp}.",
    "Comparison: {exam_short} {d_cmp} at {t}.",
    "Compared to the prior exam performed in {year_k}.",
    "COMPARISON: {d_cmp} (accession {acc2})",
    "Comparison: {exam_short} performed at {clinic} on {d_ord}, reported by Dr. {n_dr2_FL}.",
    "Prior: {d_my} {exam_short} (outside, {city2}, {state_full}).",
    "Comparison: XXXX",
    "Correlation is made with PET/CT from {hosp2} dated {d_cmp} and with radiographs from {year_k}.",
    "COMPARISON: {exam_short} {d_cmp}, {abbr}.",
    "Comparison: prior {exam_short} dated {d_cmp} and {d_cmp2}.",
]
HISTORY = [
    "CLINICAL HISTORY: {age} {sex} with {hx}.",
    "HISTORY: {age} {sex} with {hx}.",
    "INDICATION: {hx}. Referred by Dr. {n_ref_FL} of {clinic}.",
    "History: {age} {sex} s/p fall at {nh} this morning at {t}.",
    "REASON FOR EXAM: {hx}; per the patient's daughter, {n_fam_FL}, symptoms began on {d_md}.",
    "Indication: MVC, restrained driver, vehicle plate {plate}, brought in by EMS at {t}.",
    "Clinical information: {hx}. Known {ep_hx}.",
    "Hx: {age} {sex}, resident of {nh} in {city}, with {hx}.",
    "HISTORY: {hx}. Pacemaker in place ({vendor} serial no. {serial}).",
    "INDICATION: {hx}. Patient was seen in clinic on {d_ord} by {n_ref_FL}, NP.",
    "History: patient is a {age} {sex} with history of {ep_hx} diagnosed in {year_k}.",
    "INDICATION: {hx}. Contact {n_ref_FL} at {phone} with results.",
    "Clinical history: aged {age_num} years, {hx}.",
    "CLINICAL: patient born {d_dob}, presenting with {hx}.",
    "HX: {hx} per ED note by Dr {n_ed_L} ({t}).",
    "Reason: {hx}. Pt is {age} and lives alone at {street}, {city}.",
    "Indication: {age} {sex}, transferred from {hosp2} on {d_md}, with {hx}.",
]
COMMS = [
    "Findings were discussed with Dr. {n_dr_L} at {t}.",
    "Critical result called to the ED resident, Dr. {n_res_FL}, pager {pager}, at {t} on {d_exam}.",
    "These findings were communicated to {n_rn_FL}, RN, by telephone at {t} on {d_exam}.",
    "Discussed with {n_ref_IIL}, MD (ext. {ext}) on {d_md} at {t_mil} hours.",
    "Results phoned to Dr. {n_ref_L}'s office ({phone}) and left with {n_staff_F} at {t}.",
    "Preliminary read given to {n_res_FL} (beeper {pager}) at {t}; final read agrees.",
    "The patient's nurse, {n_rn_F}, was notified at the bedside in room {room}, bed {bed}, at {t}.",
    "Notified Dr {n_ref_lL} via secure chat at {t} {d_exam}.",
    "Case reviewed with {n_dr_LF} on {d_ord}.",
    "Finding acknowledged by {n_ref_FL} (x{ext}) at {t}.",
    "Communicated via the critical results system to {n_ref_ULF} at {t}.",
    "Telephone report given to {n_ref_IL} at {t}; read-back confirmed.",
    "Please contact the reading room at {phone} or {email} with questions.",
    "A copy of this report has been faxed to {clinic} at {fax}.",
    "Dr. {n_ref_FL} was paged ({pager}) at {t} and again at {t}; discussed at {t}.",
    "Findings discussed with the patient's son, {n_fam_FL}, at the patient's request, phone {phone}.",
    "Recommend follow-up at {clinic}, {street}, {city}, {state} {zip}; scheduling at {phone}.",
    "The referring clinician, {n_ref_FML}, was informed on {d_exam} at {t}.",
    "Wet read by Dr. {n_res_L} ({t}): no acute findings.",
    "Spoke with {n_ref_LF} at {t} regarding the [[T:pneumothorax]].",
    "Notified: {n_rn_FL} RN, {unit}, ext {ext}, {d_exam} {t}.",
    "Results released to the patient portal {url} on {d_exam}.",
    "Images pushed to {hosp2} PACS (IP {ip}) at {t}.",
    "Critical finding communicated to Dr. {n_ref_FL} at {t} on {d_ord} by {n_rad_FL}.",
    "Discussed at tumor board on {d_md} with Drs. {n_onc_L} and {n_surg_L}.",
    "the findings were reviewed with dr. {n_ref_lFL} at {t}.",
    "I discussed these results with {n_ref_FL} on the phone at {t}, who will call the patient at home ({phone}).",
    "Per {n_staff_FL} in the device clinic (phone {phone}, ext {ext}), the device was reprogrammed at {t}.",
    "{n_pt_FL} was informed of the result in person by {n_rad_IL}.",
    "Report routed to {n_ref_LF} ({email}) and to {clinic}, fax {fax}.",
]
ADDENDA = [
    "ADDENDUM: Per Dr. {n_dr_L}, the patient had a [[E:Foley catheter]] placed on {d_md}. No change to the impression.",
    "ADDENDUM ({d_sign} {t}): Comparison with outside CT from {hosp2} dated {d_cmp} shows the [[T:nodule]] is unchanged, measuring {meas}. {n_rad_FL}, MD",
    "ADDENDUM: Additional history obtained from {n_ref_IL}: prior [[E:Whipple procedure]] in {year_k}.",
    "Addendum by {n_rad_LF} on {d_sign}: the compression deformity is at {level}, not {level}.",
    "*** ADDENDUM *** Discussed with the patient's wife, {n_fam_FL}, on {d_md} at {t}.",
    "ADDENDUM: Corrected laterality (right, not left). {n_rad_INI} {d_sign}",
    "Addendum: referring physician {n_ref_FL} notified of the corrected report at {t}, {d_sign}; pager {pager}.",
    "ADDENDUM: per Dr. {n_dr_L}, the [[E:Swan-Ganz catheter]] was removed at {t}.",
    "ADDENDUM: Device interrogation confirms {vendor} generator SN {serial}, MR conditional.",
    "ADDENDUM: outside report from {hosp2} ({fax}) received {d_sign} and reviewed; no change.",
]
SIGNATURES = [
    "Electronically signed by {n_rad_FL}, MD on {d_sign} {t}",
    "Dictated by: {n_rad_lLF} md\nTranscribed by: {n_tx_ini}",
    "{n_rad_ULF} M.D.\nRADIOLOGIST",
    "Interpreted by: {n_rad_IIL}, MD\nResident: {n_res_FL}, MD\nTechnologist: {n_tech_FL}, RT(R)(CT)",
    "Signed: {n_rad_FML}, M.D., {d_sign} at {t}\n{hosp}, Department of Radiology",
    "I have personally reviewed the images and agree with the report above. {n_rad_FL}, DO",
    "Reading physician: Dr. {n_rad_FL}  |  NPI {npi}",
    "Radiologist: {n_rad_LF} MD  Email: {email}",
    "RESIDENT/FELLOW: {n_res_LF}, MD\nATTENDING: {n_rad_LF}, MD\nSIGNED: {d_sign} {t}",
    "{n_rad_INI}/{n_tx_ini}",
    "Verified by {n_rad_USER} on {d_sign} {t} from workstation {ip}.",
    "This report was electronically signed by Dr. {n_rad_FL} ({email}), {d_sign}.",
    "Preliminary report by {n_res_IL}; final by {n_rad_IL}.",
    "Attending Radiologist: {n_rad_FL}, MD, PhD\nLicense: {lic}",
    "{n_rad_FL}\n{d_sign} {t}",
    "Dr. {n_rad_IIL}\nBoard Certified Radiologist, {hosp}",
    "Signed {n_rad_ULF}, MD {d_sign}",
]
FOOTERS = [
    "D: {d_dict} T: {d_trans} JOB# {job}",
    "D: {d_dict} {t}\nT: {d_trans} {t}\nDocument #: {job}",
    "cc: {n_ref_FL}, MD; {n_dr2_FL}, MD",
    "cc: Dr. {n_ref_L}, {clinic}, {street}, {city}, {state} {zip}",
    "Dictated: {d_dict} {t}  Transcribed: {d_trans} {t}  by {n_tx_IL}",
    "Report faxed to {fax} on {d_sign} at {t}.",
    "Order #{order}  Acc {acc}  Pt acct {acct}",
    "Transcriptionist: {n_tx_FL} (job {job})",
    "Reading site: {hosp} | {addr_full} | {phone}",
    "Workstation user: {n_tech_USER}   Station IP: {ip}",
    "Billing: acct {acct}, plan ID {hp}, SSN {ssn}",
]
MISC = [
    "A left chest wall [[T:pacemaker]] is present (generator SN {serial}); leads terminate in the [[A:right atrium]] and [[A:right ventricle]].",
    "A right chest port is noted (device serial {serial}, lot {lot}).",
    "VP shunt valve ({vendor}, serial {serial}) is unchanged in position.",
    "MR-conditional ICD, serial number {serial}, programmed by {n_staff_FL} from the device clinic at {t}.",
    "Cochlear implant, serial no. {serial}, confirmed by the patient's device card.",
    "IVC filter (lot #{lot}) in infrarenal position at {level}.",
    "Insulin pump removed before scanning per technologist {n_tech_FL}.",
    "Pathology (specimen {spec}) from {d_cmp} showed [[T:adenocarcinoma]].",
    "Patient transferred from {hosp2}, {city2}, {state_full}, on {d_md}.",
    "Please see the separate report dated {d_cmp} by Dr. {n_dr2_L}.",
    "Prior biopsy at {clinic} ({d_my}) by {n_surg_FL}, MD.",
    "Spinal cord stimulator ({vendor} SN {serial}) with leads at {level}.",
]
COMPACT = [
    "{n_pt_FL} {d_exam}.\n{exam_k}: [[T:No acute cardiopulmonary process]].\n{n_rad_INI}/{n_tx_ini}",
    "Indication: XXXX-year-old male with [[T:chest pain]].\nComparison: XXXX\nFindings: {find_simple}\nImpression: No acute disease.",
    "{n_pt_ULF} MRN {mrn}\n{exam_k} {d_exam} {t}: {finding}\nSigned {n_rad_IL} {d_sign}",
    "PORTABLE CHEST {d_exam} {t}\n[[E:Swan-Ganz catheter]] tip in the [[A:right pulmonary artery]]. {finding}\nCalled to {n_rn_FL}, RN at {t}, {unit} bed {bed}.",
    "{exam_k}\nWet read ({t}, {d_md}): {finding}\n-- {n_res_lFL}, pgr {pager}",
    "{exam_k}\nPt: {n_pt_LF} ({age_hdr}), {hosp} rm {room}\nImpression: {impr}\n{n_rad_FL}, MD",
    "{exam_k} -- quick read for Dr. {n_ref_L}\n{finding}\n{impr}\nCall {phone} with questions. {n_rad_IL}",
    "{d_exam}  {n_pt_lFL}  acc {acc}\n{finding}\n{impr}\nrad: {n_rad_lL}",
    "Outside film review ({hosp2}, {city2}, {state2}; dated {d_cmp}) for {n_pt_FL}, DOB {d_dob}:\n{finding}\nReviewed by {n_rad_FL}, MD on {d_sign}.",
    "FINAL REPORT -- {n_pt_ULF}\n{exam_k}\n{impr}\n{n_rad_ULF}, MD {d_sign} {t}",
    "Findings: {find_simple}\nImpression: [[T:No acute cardiopulmonary abnormality]].\nXXXX",
    "{n_pt_FL}, {age} {sex}, {unit} bed {bed}\n{exam_k}: {finding}\nd/w {n_rn_F} at {t}.",
]
SEX = ["female", "male", "woman", "man", "F", "M", "patient"]
KEEP_KIND = {"E": "EPONYM", "M": "MEASUREMENT", "A": "ANATOMY", "L": "LEVEL", "T": "TERM"}
LEVELS = ["C2-C3", "C3-4", "C4-C5", "C5-6", "C6-C7", "C7-T1", "T4", "T6", "T8", "T11-T12", "T12",
          "L1", "L2-L3", "L3-4", "L4-L5", "L4-5", "L5-S1", "S1", "L2", "T12-L1"]
TOKEN = re.compile(r"\{(\w+)\}|\[\[([EMALT]):(.+?)\]\]")


def P(text, typ, sub):
    return (text, ("P", typ, sub))


def K(text, kind):
    return (text, ("K", kind))


def T(text):
    return (text, None)


# ---------------------------------------------------------------- context --
class Ctx:
    def __init__(self, rng):
        self.r = rng
        self.persons = {}
        self.used_last = set()
        r = rng
        self.exam = date(2004, 1, 1) + timedelta(days=r.randrange(0, 20 * 365))
        roll = r.random()
        if roll < 0.22:
            self.age = r.choice([90, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 104])
        elif roll < 0.27:
            self.age = 89  # boundary: NOT PHI
        else:
            self.age = r.randrange(18, 89)
        self.dob = self.exam - timedelta(days=self.age * 365 + r.randrange(0, 360))
        self.cmp = self.exam - timedelta(days=r.randrange(20, 2500))
        self.cmp2 = self.cmp - timedelta(days=r.randrange(20, 900))
        self.adm = self.exam - timedelta(days=r.randrange(0, 8))
        self.sign = self.exam + timedelta(days=r.choice([0, 0, 0, 1, 2]))
        self.trans = self.exam + timedelta(days=r.choice([0, 1, 1, 2, 3]))
        self.loc = r.choice(CITIES)
        self.loc2 = r.choice(CITIES)
        self.cache = {}
        self.date_style = r.choice(FULL_DATE_STYLES)

    # -- persons
    def person(self, role):
        if role in self.persons:
            return self.persons[role]
        r = self.r
        if role == "fam" and "pt" in self.persons and r.random() < 0.5:
            last = self.persons["pt"]["last"]
            o = r.choice(ORIGINS)
            first = r.choice(FIRST[o])
        else:
            o = r.choice(ORIGINS)
            fo = o if r.random() < 0.75 else r.choice(ORIGINS)
            lo = o if r.random() < 0.75 else r.choice(ORIGINS)
            first = r.choice(WORD_FIRST) if r.random() < 0.07 else r.choice(FIRST[fo])
            x = r.random()
            if x < 0.06:
                last = r.choice(HYPHENATED)
            elif x < 0.12:
                last = r.choice(EPONYM_SURNAMES)
            else:
                last = r.choice(LAST[lo])
            tries = 0
            while last in self.used_last and tries < 10:
                last = r.choice(LAST[r.choice(ORIGINS)])
                tries += 1
        self.used_last.add(last)
        p = {"first": first, "last": last, "mid": r.choice("ABCDEFGHJKLMNPRSTW"),
             "user_digit": r.choice(["", "", "1", "2", "01"])}
        self.persons[role] = p
        return p

    def fmt_name(self, p, style):
        f, l, m = p["first"], p["last"], p["mid"]
        base = style.lstrip("Ul")
        s = {
            "FL": f"{f} {l}", "FML": f"{f} {m}. {l}", "LF": f"{l}, {f}", "LFM": f"{l}, {f} {m}",
            "IL": f"{f[0]}. {l}", "IIL": f"{f[0]}. {m}. {l}", "L": l, "F": f,
            "INI": (f[0] + (m if self.r.random() < 0.3 else "") + [c for c in l if c.isalpha()][0].upper()),
            "ini": (f[0] + [c for c in l if c.isalpha()][0]).lower(),
            "USER": (ascii_fold(f[0] + l).lower() + p["user_digit"]),
        }
        if style in ("ini", "INI", "USER"):
            return s[style]
        out = s[base]
        if style.startswith("U"):
            out = out.upper()
        elif style.startswith("l"):
            out = out.lower()
        return out

    def name_slot(self, role, style):
        p = self.person(role)
        if style == "any":
            style = self.r.choice(["FL", "FL", "FML", "LF", "IL", "IIL"])
        text = self.fmt_name(p, style)
        sub = "USERNAME" if style == "USER" else SUBTYPE_OF_ROLE[role]
        return [P(text, "NAME", sub)]

    # -- dates / times
    def fmt_date(self, d, style):
        m, dd, y = d.month, d.day, d.year
        mon = MON[m]
        return {
            "mdY": f"{m:02d}/{dd:02d}/{y}", "mdY_nz": f"{m}/{dd}/{y}",
            "mdy": f"{m:02d}/{dd:02d}/{y % 100:02d}", "mdy_nz": f"{m}/{dd}/{y % 100:02d}",
            "iso": f"{y}-{m:02d}-{dd:02d}", "dbY": f"{dd:02d}-{mon}-{y}",
            "dbYU": f"{dd:02d}-{mon.upper()}-{y}", "BdY": f"{MONTH[m]} {dd}, {y}",
            "bdY": f"{mon} {dd}, {y}", "b.dY": f"{mon}{'' if m == 5 else '.'} {dd}, {y}",
            "dBY": f"{dd} {MONTH[m]} {y}", "mdY-": f"{m:02d}-{dd:02d}-{y}",
            "dmY.": f"{dd:02d}.{m:02d}.{y}", "Ymd": f"{y}{m:02d}{dd:02d}",
            "dbY2": f"{dd}-{mon}-{y % 100:02d}",
        }[style]

    def date_slot(self, d, sub, full=True):
        r = self.r
        style = self.date_style if r.random() < 0.6 else r.choice(FULL_DATE_STYLES)
        return [P(self.fmt_date(d, style), "DATE", sub)]

    def partial_date(self, d, sub):
        r = self.r
        k = r.randrange(6)
        if k == 0:
            return [P(f"{MONTH[d.month]} {d.day}", "DATE", sub)]
        if k == 1:
            return [P(f"{MON[d.month]} {d.day}", "DATE", sub)]
        if k == 2:
            return [P(f"{d.month}/{d.day}", "DATE", sub)]
        if k == 3:
            return [P(f"{MONTH[d.month]} {ordinal(d.day)}", "DATE", sub)]
        if k == 4:
            return [T("the "), P(f"{ordinal(d.day)} of {MONTH[d.month]}", "DATE", sub)]
        return [P(f"{d.day} {MON[d.month]}", "DATE", sub)]

    def time_text(self, military=False):
        r = self.r
        h, mi = r.randrange(0, 24), r.randrange(0, 60)
        if military:
            return f"{h:02d}{mi:02d}"
        k = r.randrange(9)
        h12 = h % 12 or 12
        ap = "AM" if h < 12 else "PM"
        if k in (0, 1):
            return f"{h:02d}:{mi:02d}"
        if k == 2:
            return f"{h}:{mi:02d}"
        if k == 3:
            return f"{h12}:{mi:02d} {ap}"
        if k == 4:
            return f"{h12}:{mi:02d} {ap.lower()}"
        if k == 5:
            return f"{h12}:{mi:02d} {ap[0].lower()}.m."
        if k == 6:
            return f"{h:02d}:{mi:02d}:{r.randrange(60):02d}"
        if k == 7:
            return f"{h12}:{mi:02d}{ap.lower()}"
        return f"{h12}:{mi:02d} {ap}"

    # -- ages
    def age_phrase(self, n):
        r = self.r
        lab = n > 89
        k = r.randrange(10)
        num = num_words(n, r) if k >= 8 else str(n)
        if k == 9:
            num = num.capitalize()
        suffix = ["-year-old", " year old", " yo", " y/o", "yo", "-yr-old", " YO", "-year-old",
                  "-year-old", "-year-old"][k]
        seg = P(num, "AGE", "AGE>89") if lab else T(num)
        return [seg, T(suffix)]

    def age_hdr(self, n):
        r = self.r
        lab = n > 89
        k = r.randrange(4)
        suffix = ["Y", " Y", " yrs", ""][k]
        seg = P(str(n), "AGE", "AGE>89") if lab else T(str(n))
        return [seg, T(suffix)]

    # -- slots
    def slot(self, name):
        r = self.r
        if name.startswith("n_"):
            _, role, style = name.split("_", 2)
            return self.name_slot(role, style)
        f = getattr(self, "s_" + name, None)
        if f is None:
            raise KeyError(name)
        return f()

    def s_t(self):
        return [P(self.time_text(), "TIME", "TIME")]

    def s_t_mil(self):
        return [P(self.time_text(True), "TIME", "TIME")]

    def s_d_exam(self):
        return self.date_slot(self.exam, "EXAM")

    def s_d_cmp(self):
        return self.date_slot(self.cmp, "COMPARISON")

    def s_d_cmp2(self):
        return self.date_slot(self.cmp2, "COMPARISON")

    def s_d_dob(self):
        return self.date_slot(self.dob, "DOB")

    def s_d_adm(self):
        return self.date_slot(self.adm, "ADMISSION")

    def s_d_sign(self):
        return self.date_slot(self.sign, "SIGNED")

    def s_d_dict(self):
        return self.date_slot(self.exam, "DICTATED")

    def s_d_trans(self):
        return self.date_slot(self.trans, "TRANSCRIBED")

    def s_d_md(self):
        return self.partial_date(self.r.choice([self.exam, self.adm, self.cmp]), "OTHER")

    def s_d_ord(self):
        d = self.r.choice([self.cmp, self.adm, self.exam])
        if self.r.random() < 0.5:
            return [T("the "), P(f"{ordinal(d.day)} of {MONTH[d.month]}, {d.year}", "DATE", "OTHER")]
        return self.date_slot(d, "OTHER")

    def s_d_my(self):
        d = self.cmp
        k = self.r.randrange(3)
        txt = [f"{MONTH[d.month]} {d.year}", f"{MON[d.month]} {d.year}", f"{d.month:02d}/{d.year}"][k]
        return [P(txt, "DATE", "MONTH_YEAR")]

    def s_age(self):
        return self.age_phrase(self.age)

    def s_age_hdr(self):
        return self.age_hdr(self.age)

    def s_age_num(self):
        n = self.age
        return [P(str(n), "AGE", "AGE>89") if n > 89 else T(str(n))]

    def s_sex(self):
        return [T(self.cache.setdefault("sex", self.r.choice(SEX)))]

    def s_sexc(self):
        return [T(self.r.choice(["F", "M"]))]

    def s_unit(self):
        return [T(self.r.choice(UNITS))]

    def s_exam_k(self):
        return [K(self.r.choice(EXAMS), "TERM")]

    def s_exam_short(self):
        return [T(self.r.choice(EXAM_SHORT))]

    def pick(self, pool):
        """choose from pool without repeating within one report"""
        used = self.cache.setdefault("used", set())
        for _ in range(20):
            t = self.r.choice(pool)
            if t not in used:
                break
        used.add(t)
        return t

    def s_hx(self):
        return render(self.pick(HX), self)

    def s_ep_hx(self):
        return render(self.pick(EP_HX), self)

    def s_finding(self):
        return render(self.pick(FINDINGS), self)

    def s_find_simple(self):
        return render(self.pick(FIND_SIMPLE), self)

    def s_impr(self):
        return render(self.pick(IMPRESSION), self)

    def s_vendor(self):
        return [T(self.r.choice(DEVICE_VENDORS))]

    # keep-slots
    def s_meas(self):
        r = self.r
        if r.random() < 0.6:
            return [K(f"{r.randrange(2, 30)} mm", "MEASUREMENT")]
        return [K(f"{r.randrange(1, 9)}.{r.randrange(10)} cm", "MEASUREMENT")]

    def s_meas2(self):
        r = self.r
        a, b = r.randrange(10, 80) / 10, r.randrange(5, 60) / 10
        sep = r.choice([" x ", " x ", "x", " X ", " × "])
        return [K(f"{a:.1f}{sep}{b:.1f} cm", "MEASUREMENT")]

    def s_meas3(self):
        r = self.r
        a, b, c = (r.randrange(10, 150) / 10 for _ in range(3))
        return [K(f"{a:.1f} x {b:.1f} x {c:.1f} cm", "MEASUREMENT")]

    def s_hu(self):
        r = self.r
        v = r.randrange(-20, 60)
        k = r.randrange(3)
        if k == 0:
            return [K(f"HU of {v}", "MEASUREMENT")]
        if k == 1:
            return [K(f"{v} HU", "MEASUREMENT")]
        return [T("attenuation of "), K(f"{v} Hounsfield units", "MEASUREMENT")]

    def s_level(self):
        return [K(self.r.choice(LEVELS), "LEVEL")]

    def s_series(self):
        r = self.r
        s, i = r.choice([2, 3, 4, 5, 6, 301, 602]), r.randrange(5, 240)
        txt = r.choice([f"series {s} image {i}", f"series {s}, image {i}", f"image {i} of series {s}",
                        f"se {s} im {i}", f"Series {s} Image {i}"])
        return [K(txt, "TERM")]

    def s_year_k(self):
        return [K(str(self.r.randrange(1985, self.exam.year + 1)), "TERM")]

    # locations
    def hosp_name(self, loc):
        r = self.r
        k = r.randrange(10)
        if k < 6:
            return r.choice(HOSP_PREFIX) + " " + r.choice(HOSP_SUFFIX)
        if k < 8:
            return loc[0] + " " + r.choice(["Memorial Hospital", "General Hospital", "Regional Medical Center", "Community Hospital"])
        if k == 8:
            return "University of " + loc[2] + " Medical Center"
        return r.choice(HOSP_ABBR)

    def s_hosp(self):
        if "hosp" not in self.cache:
            self.cache["hosp"] = self.hosp_name(self.loc)
        return [P(self.cache["hosp"], "HOSPITAL", "HOSPITAL")]

    def s_hospU(self):
        return [P(self.s_hosp()[0][0].upper(), "HOSPITAL", "HOSPITAL")]

    def s_hosp2(self):
        if "hosp2" not in self.cache:
            h = self.hosp_name(self.loc2)
            while h == self.cache.get("hosp"):
                h = self.hosp_name(self.loc2)
            self.cache["hosp2"] = h
        return [P(self.cache["hosp2"], "HOSPITAL", "HOSPITAL")]

    def s_abbr(self):
        return [P(self.r.choice(HOSP_ABBR), "HOSPITAL", "HOSPITAL")]

    def s_clinic(self):
        r = self.r
        if "clinic" not in self.cache:
            self.cache["clinic"] = r.choice(CLINIC_PREFIX) + " " + r.choice(CLINIC_SUFFIX)
        return [P(self.cache["clinic"], "HOSPITAL", "CLINIC")]

    def s_nh(self):
        return [P(self.r.choice(NURSING_HOMES), "HOSPITAL", "FACILITY")]

    def s_city(self):
        return [P(self.loc[0], "CITY", "CITY")]

    def s_city2(self):
        return [P(self.loc2[0], "CITY", "CITY")]

    def s_state(self):
        return [P(self.loc[1], "STATE", "STATE")]

    def s_state2(self):
        return [P(self.loc2[1], "STATE", "STATE")]

    def s_state_full(self):
        return [P(self.loc2[2], "STATE", "STATE")]

    def s_zip(self):
        r = self.r
        z = self.loc[3] + f"{r.randrange(0, 100):02d}"
        if r.random() < 0.2:
            z += f"-{r.randrange(0, 10000):04d}"
        return [P(z, "ZIP", "ZIP")]

    def street_text(self):
        r = self.r
        k = r.randrange(12)
        if k == 0:
            return f"PO Box {r.randrange(10, 9999)}"
        s = f"{r.randrange(1, 9999)} "
        if r.random() < 0.2:
            s += r.choice(["N. ", "S. ", "East ", "West ", "NW "])
        s += r.choice(STREET_NAMES) + " " + r.choice(STREET_SUFFIX)
        u = r.random()
        if u < 0.15:
            s += f", Apt {r.randrange(1, 30)}{r.choice('ABCD')}"
        elif u < 0.22:
            s += f" Unit {r.randrange(1, 400)}"
        elif u < 0.28:
            s += f", Suite {r.randrange(100, 900)}"
        return s

    def s_street(self):
        if "street" not in self.cache:
            self.cache["street"] = self.street_text()
        return [P(self.cache["street"], "ADDRESS", "STREET")]

    def s_addr_full(self):
        return self.s_street() + [T(", ")] + self.s_city() + [T(", ")] + self.s_state() + [T(" ")] + self.s_zip()

    # contacts
    def phone_text(self):
        r = self.r
        a, e, n = r.randrange(201, 990), r.randrange(200, 1000), r.randrange(0, 10000)
        k = r.randrange(8)
        return [f"({a}) {e}-{n:04d}", f"{a}-{e}-{n:04d}", f"{a}.{e}.{n:04d}", f"{a} {e} {n:04d}",
                f"+1 {a} {e} {n:04d}", f"1-{a}-{e}-{n:04d}", f"{e}-{n:04d}", f"({a}){e}-{n:04d}"][k]

    def s_phone(self):
        return [P(self.phone_text(), "PHONE", "PHONE")]

    def s_fax(self):
        return [P(self.phone_text(), "FAX", "FAX")]

    def s_email(self):
        r = self.r
        p = self.person(r.choice(["rad", "ref"]))
        loc = r.choice([f"{p['first']}.{p['last']}", f"{p['first'][0]}{p['last']}",
                        f"{p['last']}{p['first'][0]}", f"{p['first']}_{p['last']}{r.randrange(1, 99)}"])
        if r.random() < 0.25:
            loc = r.choice(["radiology.reading", "rad-results", "imaging.scheduling", "breastcenter"])
        return [P(ascii_fold_email(loc) + "@" + r.choice(EMAIL_DOMAINS), "EMAIL", "EMAIL")]

    def s_url(self):
        r = self.r
        dom = r.choice(EMAIL_DOMAINS[:2] + EMAIL_DOMAINS[5:7] + EMAIL_DOMAINS[8:])
        k = r.randrange(5)
        txt = [f"https://pacs.{dom}/viewer?acc={gen_acc(r)}", f"www.{dom}/mychart",
               f"https://portal.{dom}", f"http://{gen_ip(r)}/synapse/study/{r.randrange(10**5, 10**6)}",
               f"https://images.{dom}/share/{r.randrange(16**6):06x}"][k]
        return [P(txt, "URL", "URL")]

    def s_ip(self):
        return [P(gen_ip(self.r), "IP", "IP")]

    # ids
    def s_mrn(self):
        return [P(self.cache.setdefault("mrn", gen_mrn(self.r)), "ID", "MRN")]

    def s_acc(self):
        return [P(self.cache.setdefault("acc", gen_acc(self.r)), "ID", "ACCESSION")]

    def s_acc2(self):
        return [P(gen_acc(self.r), "ID", "ACCESSION")]

    def s_order(self):
        r = self.r
        txt = r.choice([str(r.randrange(10**6, 10**9)), f"ORD-{r.randrange(10**6, 10**7)}",
                        f"{r.randrange(10**7, 10**8)}-{r.randrange(1, 9)}"])
        return [P(txt, "ID", "ORDER")]

    def s_ssn(self):
        r = self.r
        a = r.randrange(1, 900)
        while a == 666:
            a = r.randrange(1, 900)
        g, s = r.randrange(1, 100), r.randrange(1, 10000)
        k = r.randrange(5)
        if k == 0:
            return [T("XXX-XX-"), P(f"{s:04d}", "ID", "SSN")]
        if k == 1:
            return [P(f"{a:03d}{g:02d}{s:04d}", "ID", "SSN")]
        return [P(f"{a:03d}-{g:02d}-{s:04d}", "ID", "SSN")]

    def s_acct(self):
        r = self.r
        txt = r.choice([f"{r.randrange(0, 10**9):09d}", f"V{r.randrange(10**9, 10**10)}",
                        f"{r.randrange(10**11, 10**12)}", f"FIN{r.randrange(10**7, 10**8)}"])
        return [P(txt, "ID", "ACCOUNT")]

    def s_hp(self):
        r = self.r
        L = "ABCDEFGHJKMNPQRSTUVWXYZ"
        k = r.randrange(4)
        if k == 0:
            txt = "".join(r.choice(L) for _ in range(3)) + str(r.randrange(10**8, 10**9))
        elif k == 1:
            txt = "W" + str(r.randrange(10**8, 10**9))
        elif k == 2:
            def c():
                return r.choice(L)
            txt = f"{r.randrange(1, 10)}{c()}{c()}{r.randrange(10)}-{c()}{c()}{r.randrange(10)}-{c()}{c()}{r.randrange(10, 100)}"
        else:
            txt = f"{r.choice(['XJ', 'ZGP', 'MEM'])}{r.randrange(10**6, 10**7)}-{r.randrange(1, 5):02d}"
        return [P(txt, "ID", "HEALTHPLAN")]

    def s_lic(self):
        r = self.r
        txt = r.choice([f"{r.choice('ABCDGM')}{r.randrange(10**4, 10**6)}", f"MD.{r.randrange(10**5, 10**6):07d}",
                        f"{self.loc[1]} {r.randrange(10**4, 10**5)}"])
        return [P(txt, "ID", "LICENSE")]

    def s_npi(self):
        return [P("1" + str(self.r.randrange(10**8, 10**9)), "ID", "NPI")]

    def s_job(self):
        return [P(str(self.r.randrange(10**4, 10**7)), "ID", "JOB")]

    def s_pager(self):
        r = self.r
        if r.random() < 0.15:
            return [P(self.phone_text(), "PHONE", "PAGER")]
        k = r.randrange(3)
        if k == 0:
            return [T("#"), P(str(r.randrange(1000, 99999)), "ID", "PAGER")]
        return [P(str(r.randrange(10, 99999)), "ID", "PAGER")]

    def s_ext(self):
        return [P(str(self.r.randrange(1000, 99999)), "ID", "EXTENSION")]

    def s_bed(self):
        r = self.r
        txt = r.choice([str(r.randrange(1, 40)), f"{r.randrange(1, 30)}{r.choice('AB')}", r.choice("ABCD")])
        return [P(txt, "ID", "BED")]

    def s_room(self):
        r = self.r
        txt = r.choice([str(r.randrange(100, 1300)), f"{r.randrange(1, 9)}{r.choice('ABCDEFW')}",
                        f"E-{r.randrange(100, 999)}", f"{r.randrange(2, 9)}W-{r.randrange(1, 40)}"])
        return [P(txt, "ID", "ROOM")]

    def s_serial(self):
        r = self.r
        U = "ABCDEFGHJKLMNPRSTVWXYZ"
        k = r.randrange(6)
        if k == 0:
            txt = "".join(r.choice(U) for _ in range(3)) + str(r.randrange(10**5, 10**6)) + r.choice(U)
        elif k == 1:
            txt = f"{r.randrange(1000, 9999)}-{r.choice(U)}{r.choice(U)}-{r.randrange(10, 99)}"
        elif k == 2:
            txt = r.choice(U) + r.choice(U) + str(r.randrange(10**7, 10**8))
        elif k == 3:
            txt = str(r.randrange(10**8, 10**9))
        elif k == 4:
            txt = f"{r.choice(U)}{r.randrange(10**6, 10**7)}"
        else:
            txt = f"{r.choice(U)}{r.choice(U)}{r.choice(U)}-{r.randrange(10**4, 10**5)}-{r.choice(U)}"
        return [P(txt, "DEVICE", "SERIAL")]

    def s_lot(self):
        r = self.r
        return [P(f"{r.randrange(10, 30)}{r.choice('ABCDEFGHJK')}{r.randrange(1000, 9999)}", "DEVICE", "LOT")]

    def s_uid(self):
        r = self.r
        txt = "1.2.840." + ".".join(str(r.randrange(1, 10**r.randrange(2, 10))) for _ in range(r.randrange(4, 8)))
        return [P(txt, "ID", "UID")]

    def s_plate(self):
        r = self.r
        U = "ABCDEFGHJKLMNPRSTVWXYZ"
        txt = r.choice([f"{r.randrange(1, 9)}{''.join(r.choice(U) for _ in range(3))}{r.randrange(100, 999)}",
                        f"{''.join(r.choice(U) for _ in range(3))}-{r.randrange(1000, 9999)}"])
        return [P(txt, "ID", "VEHICLE")]

    def s_spec(self):
        r = self.r
        txt = r.choice([f"S{r.randrange(5, 24)}-{r.randrange(100, 99999)}", f"SP-{r.randrange(5, 24):02d}-{r.randrange(10**4, 10**5)}"])
        return [P(txt, "ID", "SPECIMEN")]


FULL_DATE_STYLES = ["mdY", "mdY", "mdY_nz", "mdY_nz", "mdy", "mdy_nz", "iso", "dbY", "dbYU", "BdY",
                    "BdY", "bdY", "b.dY", "dBY", "mdY-", "dmY.", "dbY2"]


def ascii_fold_email(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if c.isascii() and (c.isalnum() or c in "._-")).lower()


def gen_mrn(r):
    k = r.randrange(6)
    if k == 0:
        return f"{r.randrange(0, 10**8):08d}"
    if k == 1:
        return str(r.randrange(10**6, 10**7))
    if k == 2:
        return "E" + str(r.randrange(10**6, 10**7))
    if k == 3:
        return f"{r.randrange(100, 999)}-{r.randrange(10, 99)}-{r.randrange(10, 99)}"
    if k == 4:
        return f"{r.randrange(0, 10**9):09d}"
    return f"MR{r.randrange(10**5, 10**6)}"


def gen_acc(r):
    k = r.randrange(5)
    if k == 0:
        return "A" + str(r.randrange(10**7, 10**8))
    if k == 1:
        return f"RAD-{r.randrange(2004, 2024)}-{r.randrange(0, 10**6):06d}"
    if k == 2:
        return f"{r.choice(['CT', 'MR', 'US', 'XR', 'NM'])}{r.randrange(10**6, 10**7)}"
    if k == 3:
        return str(r.randrange(10**9, 10**10))
    return f"{r.randrange(10**5, 10**6)}-{r.randrange(100, 999)}"


def gen_ip(r):
    k = r.randrange(4)
    if k == 0:
        return f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
    if k == 1:
        return f"192.168.{r.randrange(256)}.{r.randrange(1, 255)}"
    if k == 2:
        return f"172.{r.randrange(16, 32)}.{r.randrange(256)}.{r.randrange(1, 255)}"
    return f"{r.randrange(11, 223)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"


def render(tpl, ctx):
    segs, pos = [], 0
    for m in TOKEN.finditer(tpl):
        if m.start() > pos:
            segs.append(T(tpl[pos:m.start()]))
        if m.group(1):
            segs.extend(ctx.slot(m.group(1)))
        else:
            segs.append(K(m.group(3), KEEP_KIND[m.group(2)]))
        pos = m.end()
    if pos < len(tpl):
        segs.append(T(tpl[pos:]))
    return segs


# ----------------------------------------------------------- assembly -----
def build_lines(rng, ctx):
    """Return list of template strings making up one report."""
    r = rng
    if r.random() < 0.14:
        return [r.choice(COMPACT)]
    lines = []
    if r.random() < 0.85:
        lines.append(r.choice(HEADERS))
        if r.random() < 0.25:
            lines.append(r.choice(HEADERS))
    lines.append(r.choice(["EXAM: {exam_k}", "EXAMINATION: {exam_k}", "{exam_k}", "Procedure: {exam_k}",
                           "{exam_k} ({d_exam})", "STUDY: {exam_k}  DATE: {d_exam}"]))
    if r.random() < 0.8:
        lines.append(r.choice(HISTORY))
    if r.random() < 0.4:
        lines.append(r.choice(TECHNIQUE))
    if r.random() < 0.75:
        lines.append(r.choice(COMPARISON))
    nf = r.choice([1, 1, 2, 2, 3, 3, 4, 5, 6])
    fl = ["{finding}"] * nf
    if r.random() < 0.3:
        fl.insert(r.randrange(len(fl) + 1), r.choice(MISC))
    if r.random() < 0.3:
        # paragraph style: several sentences on one line
        lines.append(r.choice(["FINDINGS: ", "Findings: ", "REPORT: "]) + " ".join(fl))
    else:
        lines.append(r.choice(["FINDINGS:", "Findings:", "FINDINGS"]))
        lines.extend(fl)
    ni = r.choice([1, 1, 1, 2, 2, 3])
    lines.append(r.choice(["IMPRESSION:", "Impression:", "IMPRESSION", "CONCLUSION:"]))
    for i in range(ni):
        lines.append((f"{i + 1}. " if ni > 1 else "") + "{impr}")
    for _ in range(r.choice([0, 1, 1, 1, 2])):
        lines.append(r.choice(COMMS))
    if r.random() < 0.2:
        lines.append(r.choice(ADDENDA))
    if r.random() < 0.92:
        lines.append(r.choice(SIGNATURES))
    if r.random() < 0.45:
        lines.append(r.choice(FOOTERS))
    return lines


def build_record(rng, idx):
    ctx = Ctx(rng)
    tpls = build_lines(rng, ctx)
    segs = []
    for i, tpl in enumerate(tpls):
        if i:
            segs.append(T("\n"))
        segs.extend(render(tpl, ctx))
    # avoid "a.m.." when a slot ending in "." is followed by a literal "."
    for i in range(1, len(segs)):
        if segs[i][1] is None and segs[i][0].startswith(".") and segs[i - 1][0].endswith("."):
            segs[i] = T(segs[i][0][1:])
    caps = rng.random()
    mode = "upper" if caps < 0.12 else ("lower" if caps < 0.16 else None)
    text_parts, phi, keep, pos = [], [], [], 0
    for txt, lab in segs:
        if mode == "upper":
            txt2 = txt.upper()
        elif mode == "lower":
            txt2 = txt.lower()
        else:
            txt2 = txt
        if len(txt2) != len(txt):
            txt2 = txt
        s, e = pos, pos + len(txt2)
        if lab is not None:
            if lab[0] == "P":
                phi.append({"start": s, "end": e, "type": lab[1], "subtype": lab[2], "text": txt2})
            else:
                keep.append({"start": s, "end": e, "kind": lab[1], "text": txt2})
        text_parts.append(txt2)
        pos = e
    text = "".join(text_parts)
    rec = {"id": f"phi-{idx:05d}", "text": text, "phi": phi, "keep": keep}
    validate(rec)
    return rec


def validate(rec):
    text = rec["text"]
    spans = []
    for sp in rec["phi"] + rec["keep"]:
        assert text[sp["start"]:sp["end"]] == sp["text"], (rec["id"], sp)
        assert sp["text"] and sp["text"] == sp["text"].strip(), (rec["id"], sp)
        spans.append((sp["start"], sp["end"]))
    spans.sort()
    for (a, b), (c, d) in zip(spans, spans[1:]):
        assert b <= c, (rec["id"], "overlap", (a, b), (c, d))


def make(n, seed):
    rng = random.Random(seed)
    recs, seen = [], set()
    while len(recs) < n:
        rec = build_record(rng, len(recs) + 1)
        if not 3 <= rec["text"].count("\n") + 1 <= 25 or rec["text"] in seen:
            continue
        seen.add(rec["text"])
        recs.append(rec)
    return recs


def stats(recs):
    ty, sub, kk, lines = Counter(), Counter(), Counter(), []
    for r in recs:
        for p in r["phi"]:
            ty[p["type"]] += 1
            sub[p["type"] + "/" + p["subtype"]] += 1
        for k in r["keep"]:
            kk[k["kind"]] += 1
        lines.append(r["text"].count("\n") + 1)
    return ty, sub, kk, (min(lines), max(lines), sum(lines) / len(lines))


def fmt_stats(name, recs):
    ty, sub, kk, (lo, hi, avg) = stats(recs)
    out = [f"### {name}", "", f"records: {len(recs)}; lines per report: min {lo}, max {hi}, mean {avg:.1f}",
           f"PHI spans: {sum(ty.values())}; keep spans: {sum(kk.values())}", "", "| PHI type | count |",
           "|---|---|"]
    out += [f"| {t} | {c} |" for t, c in sorted(ty.items(), key=lambda x: -x[1])]
    out += ["", "| PHI type/subtype | count |", "|---|---|"]
    out += [f"| {t} | {c} |" for t, c in sorted(sub.items())]
    out += ["", "| keep kind | count |", "|---|---|"]
    out += [f"| {t} | {c} |" for t, c in sorted(kk.items(), key=lambda x: -x[1])]
    return "\n".join(out) + "\n"


def check_small_targets(recs):
    ty, sub, kk, _ = stats(recs)
    g = lambda *keys: sum(sub[k] for k in keys)  # noqa: E731
    targets = {
        "NAME>=150": ty["NAME"] >= 150, "DATE>=100": ty["DATE"] >= 100, "TIME>=40": ty["TIME"] >= 40,
        "AGE>=15": ty["AGE"] >= 15,
        "pager/ext>=10": g("ID/PAGER", "ID/EXTENSION", "PHONE/PAGER") >= 10,
        "bed/room>=10": g("ID/BED", "ID/ROOM") >= 10,
        "acc/order>=10": g("ID/ACCESSION", "ID/ORDER") >= 10, "MRN>=10": sub["ID/MRN"] >= 10,
        "serial>=10": g("DEVICE/SERIAL", "DEVICE/LOT") >= 10,
        "PHONE/FAX>=20": ty["PHONE"] + ty["FAX"] >= 20,
        "EMAIL/URL/IP>=10": ty["EMAIL"] + ty["URL"] + ty["IP"] >= 10,
        "ADDRESS/ZIP>=20": ty["ADDRESS"] + ty["ZIP"] >= 20, "CITY>=20": ty["CITY"] >= 20,
        "HOSPITAL>=20": ty["HOSPITAL"] >= 20, "keep>=300": sum(kk.values()) >= 300,
    }
    bad = [k for k, v in targets.items() if not v]
    assert not bad, f"small-set targets not met: {bad}"


def template_count():
    pools = [HEADERS, COMPARISON, HISTORY, COMMS, ADDENDA, SIGNATURES, FOOTERS, MISC, COMPACT,
             FINDINGS, FIND_SIMPLE, IMPRESSION, TECHNIQUE, HX]
    nonphi = {"meas", "meas2", "meas3", "hu", "level", "series", "year_k", "exam_k", "exam_short",
              "finding", "impr", "hx", "ep_hx", "find_simple", "sex", "sexc", "unit", "vendor"}
    with_phi = sum(1 for p in pools for t in p
                   if any(m.group(1) and m.group(1) not in nonphi for m in TOKEN.finditer(t)))
    return sum(len(p) for p in pools), with_phi


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--small", type=int, default=SMALL_N)
    ap.add_argument("--large", type=int, default=LARGE_N)
    ap.add_argument("--no-readme", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    small = make(a.small, SMALL_SEED)
    large = make(a.large, LARGE_SEED)
    if a.small == SMALL_N:
        check_small_targets(small)
    for fn, recs in (("phi_independent.jsonl", small), ("phi_independent_large.jsonl", large)):
        with open(os.path.join(a.out, fn), "w", encoding="utf-8") as f:
            for rec in recs:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    total, phi_tpl = template_count()
    counts = (f"Template inventory: {total} line/sentence templates in total, {phi_tpl} of them carrying PHI slots.\n\n"
              + fmt_stats("phi_independent.jsonl (seed %d)" % SMALL_SEED, small) + "\n"
              + fmt_stats("phi_independent_large.jsonl (seed %d)" % LARGE_SEED, large))
    print(counts)
    readme = os.path.join(a.out, "README.md")
    if not a.no_readme and os.path.exists(readme):
        txt = open(readme, encoding="utf-8").read()
        s, e = "<!-- COUNTS START -->", "<!-- COUNTS END -->"
        if s in txt and e in txt:
            txt = txt[:txt.index(s) + len(s)] + "\n" + counts + txt[txt.index(e):]
            open(readme, "w", encoding="utf-8").write(txt)


if __name__ == "__main__":
    main()
