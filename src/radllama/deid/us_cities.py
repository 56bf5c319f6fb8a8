"""A gazetteer of common US city and town names (lower case), written from general knowledge
(larger cities, state capitals, and place names that recur across many states). Used by
`radllama.deid.engine` only where a place is expected (before a state, after a street address or a
facility), so a city that is also a word ("Mobile", "Orange") is safe there."""

from __future__ import annotations

US_CITIES: frozenset[str] = frozenset(
    """
new york|los angeles|chicago|houston|phoenix|philadelphia|san antonio|san diego|dallas|san jose|
austin|jacksonville|fort worth|columbus|charlotte|san francisco|indianapolis|seattle|denver|
washington|boston|el paso|nashville|detroit|oklahoma city|portland|las vegas|memphis|louisville|
baltimore|milwaukee|albuquerque|tucson|fresno|mesa|sacramento|atlanta|kansas city|colorado springs|
omaha|raleigh|miami|long beach|virginia beach|oakland|minneapolis|tulsa|tampa|arlington|
new orleans|wichita|cleveland|bakersfield|aurora|anaheim|honolulu|santa ana|riverside|
corpus christi|lexington|henderson|stockton|saint paul|st. paul|st paul|cincinnati|st. louis|
st louis|saint louis|pittsburgh|greensboro|lincoln|anchorage|plano|orlando|irvine|newark|
durham|chula vista|toledo|fort wayne|st. petersburg|st petersburg|laredo|jersey city|chandler|
madison|lubbock|scottsdale|reno|buffalo|gilbert|glendale|north las vegas|winston-salem|
chesapeake|norfolk|fremont|garland|irving|hialeah|richmond|boise|spokane|baton rouge|tacoma|
san bernardino|modesto|fontana|des moines|moreno valley|santa clarita|fayetteville|birmingham|
oxnard|rochester|port st. lucie|grand rapids|huntsville|salt lake city|frisco|yonkers|amarillo|
glendale|huntington beach|mckinney|montgomery|augusta|akron|little rock|tempe|columbus|
overland park|grand prairie|tallahassee|cape coral|mobile|knoxville|shreveport|worcester|
ontario|vancouver|sioux falls|chattanooga|brownsville|fort lauderdale|providence|newport news|
rancho cucamonga|santa rosa|peoria|oceanside|elk grove|salem|pembroke pines|eugene|garden grove|
cary|fort collins|corona|springfield|jackson|alexandria|hayward|clarksville|lakewood|lancaster|
salinas|palmdale|hollywood|springfield|macon|sunnyvale|pomona|killeen|escondido|pasadena|
naperville|bellevue|joliet|murfreesboro|midland|rockford|paterson|savannah|bridgeport|torrance|
mcallen|syracuse|surprise|denton|roseville|thornton|miramar|mesquite|olathe|dayton|carrollton|
waco|orange|fullerton|charleston|west valley city|visalia|hampton|gainesville|warren|coral springs|
cedar rapids|round rock|sterling heights|kent|columbia|santa clara|new haven|stamford|concord|
elizabeth|athens|thousand oaks|lafayette|simi valley|topeka|norman|fargo|wilmington|abilene|
odessa|pearland|victorville|hartford|vallejo|allentown|berkeley|richardson|arvada|ann arbor|
cambridge|sugar land|lansing|evansville|college station|fairfield|clearwater|beaumont|
independence|provo|west jordan|murrieta|palm bay|el monte|carlsbad|charleston|temecula|
clovis|meridian|westminster|costa mesa|high point|manchester|pueblo|lakeland|pompano beach|
west palm beach|antioch|everett|downey|lowell|centennial|elgin|broken arrow|miami gardens|
billings|jurupa valley|sandy springs|gresham|lewisville|hillsboro|ventura|greeley|inglewood|
waterbury|league city|santa maria|tyler|davie|lakewood|daly city|boulder|allen|west covina|
sparks|wichita falls|green bay|san mateo|norwalk|rialto|las cruces|chico|el cajon|burbank|
south bend|renton|vista|davenport|edinburg|tuscaloosa|quincy|san angelo|yakima|portsmouth|
duluth|erie|bend|dearborn|fall river|scranton|trenton|albany|utica|ithaca|binghamton|
harrisburg|reading|bethlehem|altoona|wilkes-barre|camden|atlantic city|burlington|montpelier|
bangor|portland|concord|nashua|providence|newport|warwick|new bedford|springfield|worcester|
hartford|new london|annapolis|frederick|dover|wilmington|roanoke|lynchburg|charlottesville|
asheville|greenville|spartanburg|columbia|myrtle beach|wilmington|savannah|macon|athens|
valdosta|albany|tallahassee|pensacola|ocala|daytona beach|sarasota|naples|key west|
gainesville|birmingham|montgomery|mobile|dothan|biloxi|gulfport|hattiesburg|jackson|tupelo|
memphis|knoxville|johnson city|bowling green|owensboro|paducah|frankfort|lexington|
charleston|huntington|morgantown|wheeling|akron|canton|youngstown|dayton|toledo|springfield|
fort wayne|south bend|gary|bloomington|terre haute|muncie|lafayette|evansville|peoria|
champaign|urbana|decatur|joliet|rockford|naperville|evanston|aurora|elgin|kalamazoo|flint|
saginaw|traverse city|marquette|lansing|ann arbor|grand rapids|warren|green bay|madison|
la crosse|eau claire|oshkosh|appleton|kenosha|racine|duluth|rochester|st. cloud|st cloud|
mankato|bloomington|minneapolis|fargo|bismarck|grand forks|minot|sioux falls|rapid city|
pierre|omaha|lincoln|grand island|kearney|topeka|wichita|lawrence|manhattan|salina|
kansas city|joplin|columbia|jefferson city|springfield|st. joseph|st joseph|tulsa|norman|
lawton|enid|little rock|fort smith|fayetteville|jonesboro|shreveport|lafayette|lake charles|
monroe|baton rouge|new orleans|houston|galveston|beaumont|tyler|waco|killeen|temple|
lubbock|amarillo|midland|odessa|abilene|san angelo|el paso|laredo|mcallen|brownsville|
corpus christi|victoria|albuquerque|santa fe|las cruces|roswell|farmington|tucson|flagstaff|
prescott|yuma|phoenix|denver|boulder|pueblo|grand junction|fort collins|greeley|cheyenne|
casper|laramie|billings|missoula|bozeman|helena|great falls|butte|boise|idaho falls|pocatello|
twin falls|salt lake city|ogden|provo|st. george|st george|logan|reno|carson city|las vegas|
sacramento|fresno|modesto|stockton|redding|chico|eureka|santa barbara|san luis obispo|
bakersfield|riverside|palm springs|san diego|oakland|berkeley|san jose|santa cruz|monterey|
seattle|tacoma|spokane|olympia|bellingham|yakima|walla walla|portland|salem|eugene|medford|
bend|corvallis|anchorage|fairbanks|juneau|honolulu|hilo|fort myers|fort pierce|boca raton|
elmira|poughkeepsie|white plains|schenectady|troy|saratoga springs|plattsburgh|watertown|
lynn|brockton|pittsfield|fitchburg|lowell|salem|hyannis|bridgeport|danbury|
norwich|meriden|stamford|new brunswick|hackensack|morristown|paterson|princeton|lancaster|
york|williamsport|state college|johnstown|pittsburgh|hershey|cumberland|hagerstown|salisbury|
winchester|fredericksburg|harrisonburg|danville|durham|chapel hill|winston-salem|hickory|
rock hill|florence|aiken|augusta|rome|marietta|dalton|chattanooga|cookeville|jackson|
clarksville|franklin|murfreesboro|paris|dublin|oxford|cedar falls|iowa city|ames|dubuque|
sioux city|council bluffs|waterloo|moline|galesburg|carbondale|cape girardeau|
hot springs|texarkana|pine bluff|alexandria|houma|slidell|meridian|natchez|greenwood|
florence|muscle shoals|anniston|gadsden|auburn|opelika|troy|
fort lee|fort bragg|fort hood|lake city|cedar city|grand junction|silver spring|bethesda|
rockville|towson|columbia|germantown|brooklyn|bronx|queens|staten island|manhattan
""".replace("\n", "").split("|")
)
US_CITIES = frozenset(name.strip() for name in US_CITIES if name.strip())
