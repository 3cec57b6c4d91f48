"""Catalogue of realistic demo data for ``boxoffice seed --demo``.

Pure Python, standard library only, no database code: the seeding command turns the dataclasses
below into rows.

* :data:`CITIES`: real cities with real centre coordinates, IANA time zone, ISO 4217 currency and
  3-5 venues each (well-known real venues where possible; coordinates are the venue's, to about
  a hundred metres, all within a few km of the city centre).
* :data:`CATEGORIES` and :data:`CATEGORY_PROFILES`: the twelve category slugs and, per category,
  a vocabulary (title and description templates, word lists, tags, typical duration, local start
  hours, ticket type templates, probability of being free).
* :data:`DEMO_ORGANIZATIONS`: four demo organizers; :func:`assign_organization` picks the
  organizer of a generated event.
* :func:`generate_events`: deterministic for a given ``random.Random`` seed.

Money is always in minor units (:data:`MINOR_UNITS`): 25.00 EUR is ``2500``, 3000 JPY is
``3000``. Ticket price ranges in the templates are written in euros and scaled to the city's
currency by :data:`PRICE_LEVELS` (a rough local price level, not an exchange rate), then rounded
to a "nice" value (15.00, 29.50, 3400 JPY, 52000 KRW).
"""

from __future__ import annotations

import math
import string
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from random import Random
from zoneinfo import ZoneInfo

from boxoffice.core.money import MINOR_UNITS
from boxoffice.core.text import slugify

__all__ = [
    "CATEGORIES",
    "CATEGORY_ORGANIZERS",
    "CATEGORY_PROFILES",
    "CITIES",
    "DEMO_ORGANIZATIONS",
    "MINOR_UNITS",
    "ONLINE_PROBABILITY",
    "PRICE_LEVELS",
    "CategoryProfile",
    "City",
    "DemoEvent",
    "DemoOrganization",
    "DemoTicketType",
    "EventFormat",
    "TicketTemplate",
    "Venue",
    "assign_organization",
    "generate_events",
    "slugify",
]


# --------------------------------------------------------------------------------------------
# Dataclasses
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Venue:
    name: str
    address: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class City:
    name: str
    country: str  # ISO 3166-1 alpha-2
    lat: float
    lon: float
    timezone: str  # IANA
    currency: str  # ISO 4217
    venues: tuple[Venue, ...]


@dataclass(frozen=True, slots=True)
class DemoTicketType:
    name: str
    price_amount: int  # minor units (cents, pence; JPY/KRW have none)
    currency: str
    quantity: int
    max_per_order: int


@dataclass(frozen=True, slots=True)
class DemoEvent:
    title: str
    description: str
    category: str
    tags: tuple[str, ...]
    starts_at: datetime  # tz-aware, UTC
    ends_at: datetime  # tz-aware, UTC
    timezone: str  # IANA; the city's (online events: their host city's)
    venue_name: str | None  # None for online events
    venue_address: str | None
    city: str | None
    country: str | None
    lat: float | None
    lon: float | None
    online_url: str | None  # set only for online events
    ticket_types: tuple[DemoTicketType, ...]


@dataclass(frozen=True, slots=True)
class DemoOrganization:
    name: str
    slug: str


@dataclass(frozen=True, slots=True)
class TicketTemplate:
    name: str
    price_eur: tuple[float, float]  # major units, euro price level; scaled per currency
    quantity: tuple[int, int]
    max_per_order: int


@dataclass(frozen=True, slots=True)
class EventFormat:
    """Title and description templates that belong together.

    Placeholders: any key of the category's ``words`` (also as ``{key_lower}``), plus ``{city}``,
    ``{venue}``, ``{where}`` ("at Columbiahalle in Berlin" or "online"), ``{weekday}``, ``{year}``
    and ``{edition}``. ``tag_key`` names the word whose chosen value selects specific tags.
    Online events use ``online_descriptions`` when there are any (no doors, bars or seating).
    """

    titles: tuple[str, ...]
    descriptions: tuple[str, ...]  # 3-5 sentences; online events get one more
    tag_key: str
    online_descriptions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CategoryProfile:
    slug: str
    weight: int  # relative frequency among generated events
    formats: tuple[EventFormat, ...]
    words: Mapping[str, tuple[str, ...]]
    value_tags: Mapping[str, tuple[str, ...]]  # chosen word value -> specific tags
    tags: tuple[str, ...]  # general tag pool
    duration_hours: tuple[float, float]
    start_hours: tuple[int, int]  # local time, inclusive
    weekdays: tuple[int, ...]  # preferred local weekdays, Monday == 0
    ticket_types: tuple[TicketTemplate, ...]  # the first one is always offered
    free_probability: float
    free_ticket_name: str
    online_ok: bool


# --------------------------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------------------------


# Roughly what a 1 EUR ticket costs in each currency (price level, not an exchange rate).
PRICE_LEVELS: Mapping[str, float] = {
    "ARS": 1000.0,
    "AUD": 1.7,
    "BRL": 4.0,
    "CAD": 1.5,
    "CHF": 1.0,
    "CZK": 22.0,
    "DKK": 7.5,
    "EUR": 1.0,
    "GBP": 0.9,
    "JPY": 150.0,
    "KES": 100.0,
    "KRW": 1400.0,
    "MXN": 15.0,
    "NZD": 1.8,
    "PLN": 4.0,
    "SEK": 11.0,
    "SGD": 1.5,
    "USD": 1.15,
    "ZAR": 15.0,
}


# --------------------------------------------------------------------------------------------
# Cities and venues
# --------------------------------------------------------------------------------------------

# fmt: off
CITIES: tuple[City, ...] = (
    # Europe
    City("Berlin", "DE", 52.5200, 13.4050, "Europe/Berlin", "EUR", (
        Venue("Columbiahalle", "Columbiadamm 13-21, 10965 Berlin", 52.4837, 13.3895),
        Venue("Berliner Philharmonie", "Herbert-von-Karajan-Straße 1, 10785 Berlin",
              52.5096, 13.3700),
        Venue("Kulturbrauerei", "Schönhauser Allee 36, 10435 Berlin", 52.5390, 13.4130),
        Venue("Admiralspalast", "Friedrichstraße 101, 10117 Berlin", 52.5207, 13.3883),
        Venue("bcc Berlin Congress Center", "Alexanderstraße 11, 10178 Berlin", 52.5206, 13.4164),
    )),
    City("London", "GB", 51.5074, -0.1278, "Europe/London", "GBP", (
        Venue("Royal Albert Hall", "Kensington Gore, London SW7 2AP", 51.5010, -0.1774),
        Venue("Barbican Centre", "Silk Street, London EC2Y 8DS", 51.5200, -0.0937),
        Venue("Roundhouse", "Chalk Farm Road, London NW1 8EH", 51.5431, -0.1520),
        Venue("Southbank Centre", "Belvedere Road, London SE1 8XX", 51.5055, -0.1167),
        Venue("Village Underground", "54 Holywell Lane, London EC2A 3PQ", 51.5235, -0.0782),
    )),
    City("Paris", "FR", 48.8566, 2.3522, "Europe/Paris", "EUR", (
        Venue("L'Olympia", "28 Boulevard des Capucines, 75009 Paris", 48.8702, 2.3282),
        Venue("Le Bataclan", "50 Boulevard Voltaire, 75011 Paris", 48.8630, 2.3708),
        Venue("Philharmonie de Paris", "221 Avenue Jean Jaurès, 75019 Paris", 48.8919, 2.3937),
        Venue("Théâtre du Châtelet", "1 Place du Châtelet, 75001 Paris", 48.8577, 2.3470),
        Venue("La Gaîté Lyrique", "3 bis Rue Papin, 75003 Paris", 48.8667, 2.3537),
    )),
    City("Amsterdam", "NL", 52.3676, 4.9041, "Europe/Amsterdam", "EUR", (
        Venue("Paradiso", "Weteringschans 6-8, 1017 SG Amsterdam", 52.3622, 4.8840),
        Venue("Melkweg", "Lijnbaansgracht 234A, 1017 PH Amsterdam", 52.3647, 4.8814),
        Venue("Het Concertgebouw", "Concertgebouwplein 10, 1071 LN Amsterdam", 52.3563, 4.8791),
        Venue("Muziekgebouw aan 't IJ", "Piet Heinkade 1, 1019 BR Amsterdam", 52.3783, 4.9130),
    )),
    City("Barcelona", "ES", 41.3874, 2.1686, "Europe/Madrid", "EUR", (
        Venue("Palau de la Música Catalana", "Carrer del Palau de la Música 4-6, 08003 Barcelona",
              41.3875, 2.1753),
        Venue("Gran Teatre del Liceu", "La Rambla 51-59, 08002 Barcelona", 41.3806, 2.1734),
        Venue("Razzmatazz", "Carrer dels Almogàvers 122, 08018 Barcelona", 41.3977, 2.1911),
        Venue("Sala Apolo", "Carrer Nou de la Rambla 113, 08004 Barcelona", 41.3745, 2.1697),
    )),
    City("Lisbon", "PT", 38.7223, -9.1393, "Europe/Lisbon", "EUR", (
        Venue("Coliseu dos Recreios", "Rua das Portas de Santo Antão 96, 1150-269 Lisboa",
              38.7155, -9.1408),
        Venue("Teatro Nacional D. Maria II", "Praça Dom Pedro IV, 1100-201 Lisboa",
              38.7146, -9.1402),
        Venue("LX Factory", "Rua Rodrigues de Faria 103, 1300-501 Lisboa", 38.7033, -9.1785),
        Venue("Musicbox Lisboa", "Rua Nova do Carvalho 24, 1200-019 Lisboa", 38.7071, -9.1447),
    )),
    City("Vienna", "AT", 48.2082, 16.3738, "Europe/Vienna", "EUR", (
        Venue("Wiener Konzerthaus", "Lothringerstraße 20, 1030 Wien", 48.2008, 16.3779),
        Venue("Musikverein", "Musikvereinsplatz 1, 1010 Wien", 48.2005, 16.3723),
        Venue("Wiener Staatsoper", "Opernring 2, 1010 Wien", 48.2031, 16.3691),
        Venue("WUK Werkstätten- und Kulturhaus", "Währinger Straße 59, 1090 Wien",
              48.2247, 16.3532),
        Venue("Arena Wien", "Baumgasse 80, 1030 Wien", 48.1893, 16.4065),
    )),
    City("Copenhagen", "DK", 55.6761, 12.5683, "Europe/Copenhagen", "DKK", (
        Venue("VEGA", "Enghavevej 40, 1674 København V", 55.6679, 12.5444),
        Venue("DR Koncerthuset", "Ørestads Boulevard 13, 2300 København S", 55.6582, 12.5891),
        Venue("Det Kongelige Teater", "Kongens Nytorv 9, 1050 København K", 55.6795, 12.5860),
        Venue("Pumpehuset", "Studiestræde 52, 1554 København V", 55.6776, 12.5642),
    )),
    City("Madrid", "ES", 40.4168, -3.7038, "Europe/Madrid", "EUR", (
        Venue("Teatro Real", "Plaza de Isabel II s/n, 28013 Madrid", 40.4184, -3.7104),
        Venue("Teatro Español", "Calle del Príncipe 25, 28012 Madrid", 40.4149, -3.7005),
        Venue("Círculo de Bellas Artes", "Calle de Alcalá 42, 28014 Madrid", 40.4184, -3.6969),
        Venue("Matadero Madrid", "Plaza de Legazpi 8, 28045 Madrid", 40.3920, -3.6975),
    )),
    City("Rome", "IT", 41.9028, 12.4964, "Europe/Rome", "EUR", (
        Venue("Auditorium Parco della Musica", "Viale Pietro de Coubertin 30, 00196 Roma",
              41.9293, 12.4745),
        Venue("Teatro dell'Opera di Roma", "Piazza Beniamino Gigli 7, 00184 Roma",
              41.9012, 12.4965),
        Venue("Teatro Argentina", "Largo di Torre Argentina 52, 00186 Roma", 41.8956, 12.4771),
        Venue("Palazzo delle Esposizioni", "Via Nazionale 194, 00184 Roma", 41.8999, 12.4898),
    )),
    City("Prague", "CZ", 50.0755, 14.4378, "Europe/Prague", "CZK", (
        Venue("Rudolfinum", "Alšovo nábřeží 12, 110 00 Praha 1", 50.0899, 14.4154),
        Venue("Lucerna Music Bar", "Vodičkova 36, 110 00 Praha 1", 50.0814, 14.4256),
        Venue("Národní divadlo", "Národní 2, 110 00 Praha 1", 50.0810, 14.4136),
        Venue("Forum Karlín", "Pernerova 51, 186 00 Praha 8", 50.0920, 14.4497),
    )),
    City("Stockholm", "SE", 59.3293, 18.0686, "Europe/Stockholm", "SEK", (
        Venue("Konserthuset Stockholm", "Hötorget 8, 111 57 Stockholm", 59.3353, 18.0637),
        Venue("Kungliga Operan", "Gustav Adolfs torg 2, 111 52 Stockholm", 59.3298, 18.0706),
        Venue("Berns", "Berzelii Park 9, 111 47 Stockholm", 59.3326, 18.0744),
        Venue("Fotografiska", "Stadsgårdshamnen 22, 116 45 Stockholm", 59.3178, 18.0856),
    )),
    City("Dublin", "IE", 53.3498, -6.2603, "Europe/Dublin", "EUR", (
        Venue("Vicar Street", "58-59 Thomas Street, Dublin 8", 53.3431, -6.2783),
        Venue("Olympia Theatre", "72 Dame Street, Dublin 2", 53.3442, -6.2658),
        Venue("National Concert Hall", "Earlsfort Terrace, Dublin 2", 53.3345, -6.2590),
        Venue("Abbey Theatre", "26 Lower Abbey Street, Dublin 1", 53.3485, -6.2574),
        Venue("3Arena", "North Wall Quay, Dublin 1", 53.3474, -6.2286),
    )),
    City("Zurich", "CH", 47.3769, 8.5417, "Europe/Zurich", "CHF", (
        Venue("Tonhalle Zürich", "Claridenstrasse 7, 8002 Zürich", 47.3651, 8.5366),
        Venue("Opernhaus Zürich", "Falkenstrasse 1, 8008 Zürich", 47.3650, 8.5468),
        Venue("Kaufleuten", "Pelikanplatz 18, 8001 Zürich", 47.3727, 8.5359),
        Venue("Rote Fabrik", "Seestrasse 395, 8038 Zürich", 47.3432, 8.5361),
    )),
    City("Warsaw", "PL", 52.2297, 21.0122, "Europe/Warsaw", "PLN", (
        Venue("Filharmonia Narodowa", "Jasna 5, 00-950 Warszawa", 52.2336, 21.0106),
        Venue("Teatr Wielki - Opera Narodowa", "Plac Teatralny 1, 00-950 Warszawa",
              52.2433, 21.0105),
        Venue("Klub Stodoła", "Batorego 10, 02-591 Warszawa", 52.2114, 21.0097),
        Venue("Centrum Nauki Kopernik", "Wybrzeże Kościuszkowskie 20, 00-390 Warszawa",
              52.2419, 21.0286),
    )),
    # North America
    City("New York", "US", 40.7128, -74.0060, "America/New_York", "USD", (
        Venue("Carnegie Hall", "881 7th Avenue, New York, NY 10019", 40.7651, -73.9799),
        Venue("Webster Hall", "125 East 11th Street, New York, NY 10003", 40.7318, -73.9891),
        Venue("The Public Theater", "425 Lafayette Street, New York, NY 10003", 40.7291, -73.9918),
        Venue("Brooklyn Steel", "319 Frost Street, Brooklyn, NY 11222", 40.7194, -73.9388),
        Venue("Javits Center", "429 11th Avenue, New York, NY 10001", 40.7577, -74.0021),
    )),
    City("San Francisco", "US", 37.7749, -122.4194, "America/Los_Angeles", "USD", (
        Venue("The Fillmore", "1805 Geary Boulevard, San Francisco, CA 94115", 37.7840, -122.4330),
        Venue("Davies Symphony Hall", "201 Van Ness Avenue, San Francisco, CA 94102",
              37.7775, -122.4202),
        Venue("Moscone Center", "747 Howard Street, San Francisco, CA 94103", 37.7842, -122.4016),
        Venue("The Warfield", "982 Market Street, San Francisco, CA 94102", 37.7826, -122.4101),
        Venue("Great American Music Hall", "859 O'Farrell Street, San Francisco, CA 94109",
              37.7850, -122.4188),
    )),
    City("Chicago", "US", 41.8781, -87.6298, "America/Chicago", "USD", (
        Venue("Symphony Center", "220 South Michigan Avenue, Chicago, IL 60604", 41.8793, -87.6250),
        Venue("The Chicago Theatre", "175 North State Street, Chicago, IL 60601",
              41.8855, -87.6274),
        Venue("The Second City", "1616 North Wells Street, Chicago, IL 60614", 41.9114, -87.6353),
        Venue("Thalia Hall", "1807 South Allport Street, Chicago, IL 60608", 41.8577, -87.6566),
        Venue("McCormick Place", "2301 South Lake Shore Drive, Chicago, IL 60616",
              41.8512, -87.6164),
    )),
    City("Austin", "US", 30.2672, -97.7431, "America/Chicago", "USD", (
        Venue("ACL Live at The Moody Theater", "310 Willie Nelson Boulevard, Austin, TX 78701",
              30.2655, -97.7475),
        Venue("Stubb's Waller Creek Amphitheater", "801 Red River Street, Austin, TX 78701",
              30.2683, -97.7363),
        Venue("Austin Convention Center", "500 East Cesar Chavez Street, Austin, TX 78701",
              30.2635, -97.7396),
        Venue("Paramount Theatre", "713 Congress Avenue, Austin, TX 78701", 30.2690, -97.7425),
    )),
    City("Toronto", "CA", 43.6532, -79.3832, "America/Toronto", "CAD", (
        Venue("Massey Hall", "178 Victoria Street, Toronto, ON M5B 1T7", 43.6540, -79.3790),
        Venue("Roy Thomson Hall", "60 Simcoe Street, Toronto, ON M5J 2H5", 43.6466, -79.3864),
        Venue("The Danforth Music Hall", "147 Danforth Avenue, Toronto, ON M4K 1N2",
              43.6763, -79.3570),
        Venue("Harbourfront Centre", "235 Queens Quay West, Toronto, ON M5J 2G8",
              43.6388, -79.3820),
        Venue("Metro Toronto Convention Centre", "255 Front Street West, Toronto, ON M5V 2W6",
              43.6438, -79.3861),
    )),
    City("Montreal", "CA", 45.5019, -73.5674, "America/Toronto", "CAD", (
        Venue("Place des Arts", "175 Rue Sainte-Catherine Ouest, Montréal, QC H2X 1Z8",
              45.5085, -73.5668),
        Venue("MTELUS", "59 Rue Sainte-Catherine Est, Montréal, QC H2X 1K5", 45.5106, -73.5636),
        Venue("Théâtre St-Denis", "1594 Rue Saint-Denis, Montréal, QC H2X 3K2", 45.5149, -73.5637),
        Venue("Palais des congrès de Montréal",
              "1001 Place Jean-Paul-Riopelle, Montréal, QC H2Z 1H5",
              45.5037, -73.5610),
    )),
    City("Mexico City", "MX", 19.4326, -99.1332, "America/Mexico_City", "MXN", (
        Venue("Palacio de Bellas Artes",
              "Avenida Juárez s/n, Centro Histórico, 06050 Ciudad de México",
              19.4352, -99.1412),
        Venue("Teatro Metropólitan", "Avenida Independencia 90, Centro, 06050 Ciudad de México",
              19.4333, -99.1469),
        Venue("Auditorio Nacional", "Paseo de la Reforma 50, Polanco, 11560 Ciudad de México",
              19.4249, -99.1951),
        Venue("Foro Indie Rocks!", "Zacatecas 39, Roma Norte, 06700 Ciudad de México",
              19.4166, -99.1567),
    )),
    # Asia
    City("Tokyo", "JP", 35.6895, 139.6917, "Asia/Tokyo", "JPY", (
        Venue("Nippon Budokan", "2-3 Kitanomaru-koen, Chiyoda-ku, Tokyo 102-8321",
              35.6933, 139.7499),
        Venue("Suntory Hall", "1-13-1 Akasaka, Minato-ku, Tokyo 107-8403", 35.6676, 139.7408),
        Venue("Tokyo Opera City Concert Hall", "3-20-2 Nishi-Shinjuku, Shinjuku-ku, Tokyo 163-1403",
              35.6836, 139.6866),
        Venue("LIQUIDROOM", "3-16-6 Higashi, Shibuya-ku, Tokyo 150-0011", 35.6484, 139.7104),
    )),
    City("Seoul", "KR", 37.5665, 126.9780, "Asia/Seoul", "KRW", (
        Venue("Sejong Center for the Performing Arts", "175 Sejong-daero, Jongno-gu, Seoul",
              37.5724, 126.9757),
        Venue("Blue Square", "294 Itaewon-ro, Yongsan-gu, Seoul", 37.5408, 127.0024),
        Venue("Dongdaemun Design Plaza", "281 Eulji-ro, Jung-gu, Seoul", 37.5667, 127.0090),
        Venue("Hongdae Live Hall", "65 Eoulmadang-ro, Mapo-gu, Seoul", 37.5510, 126.9215),
    )),
    City("Singapore", "SG", 1.2903, 103.8520, "Asia/Singapore", "SGD", (
        Venue("Esplanade - Theatres on the Bay", "1 Esplanade Drive, Singapore 038981",
              1.2898, 103.8555),
        Venue("Victoria Theatre and Concert Hall", "9 Empress Place, Singapore 179556",
              1.2881, 103.8514),
        Venue("Sands Expo and Convention Centre", "10 Bayfront Avenue, Singapore 018956",
              1.2834, 103.8595),
        Venue("The Projector", "6001 Beach Road, #05-00, Singapore 199589", 1.3028, 103.8640),
    )),
    # Oceania
    City("Sydney", "AU", -33.8688, 151.2093, "Australia/Sydney", "AUD", (
        Venue("Sydney Opera House", "Bennelong Point, Sydney NSW 2000", -33.8568, 151.2153),
        Venue("City Recital Hall", "2 Angel Place, Sydney NSW 2000", -33.8664, 151.2076),
        Venue("Enmore Theatre", "118-132 Enmore Road, Newtown NSW 2042", -33.8995, 151.1737),
        Venue("ICC Sydney", "14 Darling Drive, Sydney NSW 2000", -33.8746, 151.1988),
        Venue("Carriageworks", "245 Wilson Street, Eveleigh NSW 2015", -33.8937, 151.1925),
    )),
    City("Melbourne", "AU", -37.8136, 144.9631, "Australia/Melbourne", "AUD", (
        Venue("Hamer Hall", "100 St Kilda Road, Southbank VIC 3006", -37.8186, 144.9683),
        Venue("Forum Melbourne", "154 Flinders Street, Melbourne VIC 3000", -37.8163, 144.9692),
        Venue("Corner Hotel", "57 Swan Street, Richmond VIC 3121", -37.8254, 144.9930),
        Venue("Melbourne Convention and Exhibition Centre",
              "1 Convention Centre Place, South Wharf VIC 3006",
              -37.8250, 144.9535),
    )),
    City("Auckland", "NZ", -36.8485, 174.7633, "Pacific/Auckland", "NZD", (
        Venue("Auckland Town Hall", "305 Queen Street, Auckland 1010", -36.8530, 174.7642),
        Venue("The Civic", "269 Queen Street, Auckland 1010", -36.8519, 174.7634),
        Venue("Aotea Centre", "50 Mayoral Drive, Auckland 1010", -36.8523, 174.7625),
        Venue("Spark Arena", "42-80 Mahuhu Crescent, Parnell, Auckland 1010", -36.8477, 174.7800),
    )),
    # South America
    City("São Paulo", "BR", -23.5505, -46.6333, "America/Sao_Paulo", "BRL", (
        Venue("Sala São Paulo", "Praça Júlio Prestes 16, Campos Elíseos, São Paulo - SP, 01218-020",
              -23.5344, -46.6398),
        Venue("Theatro Municipal de São Paulo",
              "Praça Ramos de Azevedo s/n, República, São Paulo - SP, 01037-010",
              -23.5451, -46.6384),
        Venue("Sesc Pompeia", "Rua Clélia 93, Pompeia, São Paulo - SP, 05042-000",
              -23.5255, -46.6835),
        Venue("Audio", "Avenida Francisco Matarazzo 694, Água Branca, São Paulo - SP, 05001-000",
              -23.5264, -46.6694),
    )),
    City("Buenos Aires", "AR", -34.6037, -58.3816, "America/Argentina/Buenos_Aires", "ARS", (
        Venue("Teatro Colón", "Cerrito 628, C1010 Buenos Aires", -34.6011, -58.3834),
        Venue("Centro Cultural Kirchner", "Sarmiento 151, C1041 Buenos Aires", -34.6034, -58.3695),
        Venue("Teatro Gran Rex", "Avenida Corrientes 857, C1043 Buenos Aires", -34.6036, -58.3785),
        Venue("Niceto Club", "Avenida Cnel. Niceto Vega 5510, C1414 Buenos Aires",
              -34.5868, -58.4380),
    )),
    # Africa
    City("Cape Town", "ZA", -33.9249, 18.4241, "Africa/Johannesburg", "ZAR", (
        Venue("Artscape Theatre Centre", "DF Malan Street, Foreshore, Cape Town 8001",
              -33.9194, 18.4272),
        Venue("Cape Town International Convention Centre", "1 Lower Long Street, Cape Town 8001",
              -33.9153, 18.4252),
        Venue("Baxter Theatre Centre", "Main Road, Rondebosch, Cape Town 7700", -33.9574, 18.4683),
        Venue("The Old Biscuit Mill", "373-375 Albert Road, Woodstock, Cape Town 7925",
              -33.9274, 18.4573),
    )),
    City("Nairobi", "KE", -1.2921, 36.8219, "Africa/Nairobi", "KES", (
        Venue("Kenya National Theatre", "Harry Thuku Road, Nairobi", -1.2787, 36.8151),
        Venue("Kenyatta International Convention Centre", "Harambee Avenue, Nairobi",
              -1.2884, 36.8233),
        Venue("Nairobi National Museum", "Museum Hill Road, Nairobi", -1.2741, 36.8148),
        Venue("The Alchemist", "Parklands Road, Westlands, Nairobi", -1.2628, 36.8030),
    )),
)
# fmt: on


# --------------------------------------------------------------------------------------------
# Categories
# --------------------------------------------------------------------------------------------

CATEGORIES: tuple[str, ...] = (
    "music",
    "theatre",
    "comedy",
    "sports",
    "conference",
    "workshop",
    "food-drink",
    "film",
    "art",
    "family",
    "nightlife",
    "tech",
)

ONLINE_PROBABILITY = 0.05  # share of events that are online-only (no venue)

_ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)

_MUSIC = CategoryProfile(
    slug="music",
    weight=16,
    formats=(
        EventFormat(
            titles=(
                "{adjective} {genre} Night",
                "{artist} Live",
                "{genre} {series}: {artist}",
                "{artist} with Special Guests",
            ),
            descriptions=(
                "An evening of {genre_lower} {where}. Headlining: {artist}, with a set built for "
                "close listening and loud applause. Expect new material alongside a few "
                "well-loved favourites. Doors open one hour before the show.",
                "A full band, a big sound and a setlist that moves from quiet ballads to all-out "
                "{genre_lower}. {artist} return to {city} for one night only. Support comes from a "
                "local act handpicked by the headliners. Join us this {weekday}.",
                "Our {genre_lower} series continues {where}. Each night pairs an established name "
                "with a newcomer worth hearing first, and this time the main stage belongs to "
                "{artist}. Standing room only, so come early. The bar stays open late.",
            ),
            tag_key="genre",
            online_descriptions=(
                "A full live set from {artist}, streamed in high definition from our studio. "
                "Expect new {genre_lower} material alongside a few well-loved favourites. Stick "
                "around afterwards for a short Q&A in the chat.",
            ),
        ),
    ),
    words={
        "adjective": (
            "Midnight",
            "Golden Hour",
            "Velvet",
            "Electric",
            "Late-Night",
            "Sunset",
            "Moonlight",
            "Underground",
            "Summer",
            "Candlelight",
        ),
        "genre": (
            "Jazz",
            "Techno",
            "Indie",
            "Classical",
            "Soul",
            "Folk",
            "Blues",
            "Funk",
            "Afrobeat",
            "Bossa Nova",
            "Ambient",
            "Post-Punk",
            "Hip-Hop",
        ),
        "artist": (
            "The Paper Lanterns",
            "Mara Lindqvist",
            "Orbit Theory",
            "Saint Juniper",
            "Los Cometas",
            "Nadia Okafor",
            "Kite Harbour",
            "Elsa and the Undertow",
            "The Hiroshi Tanabe Trio",
            "The Quiet Engines",
            "Amaru Sound System",
            "Clara Vieira",
        ),
        "series": ("Sessions", "Showcase", "Residency", "Sunday Service"),
    },
    value_tags={
        "Jazz": ("jazz", "saxophone", "improvisation"),
        "Techno": ("techno", "electronic"),
        "Indie": ("indie", "guitar"),
        "Classical": ("classical", "orchestra"),
        "Soul": ("soul", "rnb"),
        "Folk": ("folk", "acoustic"),
        "Blues": ("blues", "guitar"),
        "Funk": ("funk", "groove"),
        "Afrobeat": ("afrobeat", "percussion"),
        "Bossa Nova": ("bossa-nova", "brazilian"),
        "Ambient": ("ambient", "electronic"),
        "Post-Punk": ("post-punk", "guitar"),
        "Hip-Hop": ("hip-hop", "rap"),
    },
    tags=("live", "concert", "band", "music", "gig", "local-artists"),
    duration_hours=(2.0, 4.0),
    start_hours=(18, 21),
    weekdays=_ALL_DAYS,
    ticket_types=(
        TicketTemplate("General Admission", (18.0, 45.0), (150, 800), 8),
        TicketTemplate("Early Bird", (12.0, 32.0), (50, 200), 4),
        TicketTemplate("VIP", (65.0, 150.0), (20, 80), 4),
        TicketTemplate("Student", (9.0, 22.0), (30, 150), 1),
    ),
    free_probability=0.08,
    free_ticket_name="Free Entry",
    online_ok=True,
)

_THEATRE = CategoryProfile(
    slug="theatre",
    weight=9,
    formats=(
        EventFormat(
            titles=(
                "{play}",
                "{play} ({company})",
                "{company} presents {play}",
                "{play}: A New Production",
            ),
            descriptions=(
                "{company} brings {staging} of {play} to {city}. A cast of eight plays out the "
                "story on a bare stage with live music. Expect laughter, heartbreak and at least "
                "one genuinely unsettling moment. The running time includes one interval.",
                "{play} as you have never seen it: {staging} by {company}. The production has "
                "toured to sold-out houses and now plays {where} for a limited run. Latecomers "
                "are admitted at a suitable break in the performance.",
                "In {staging} of {play}, {company} asks what a classic means today. Performed in "
                "the original language with surtitles. Discounted tickets are available for "
                "students and under-26s. Recommended for ages 12 and up.",
            ),
            tag_key="play",
        ),
    ),
    words={
        "play": (
            "Hamlet",
            "A Midsummer Night's Dream",
            "Macbeth",
            "Twelfth Night",
            "The Seagull",
            "The Cherry Orchard",
            "Uncle Vanya",
            "Waiting for Godot",
            "The Importance of Being Earnest",
            "Antigone",
            "A Doll's House",
            "Cyrano de Bergerac",
        ),
        "company": (
            "Lantern Theatre Company",
            "The Fold Ensemble",
            "Northlight Players",
            "Teatro Nómada",
            "Common Ground Theatre",
        ),
        "staging": (
            "a new staging",
            "an immersive production",
            "a stripped-back revival",
            "a bold modern reimagining",
            "an intimate chamber production",
        ),
    },
    value_tags={
        "Hamlet": ("shakespeare", "tragedy"),
        "A Midsummer Night's Dream": ("shakespeare", "comedy"),
        "Macbeth": ("shakespeare", "tragedy"),
        "Twelfth Night": ("shakespeare", "comedy"),
        "The Seagull": ("chekhov", "drama"),
        "The Cherry Orchard": ("chekhov", "drama"),
        "Uncle Vanya": ("chekhov", "drama"),
        "Waiting for Godot": ("beckett", "absurdist"),
        "The Importance of Being Earnest": ("wilde", "comedy"),
        "Antigone": ("greek-tragedy", "classic"),
        "A Doll's House": ("ibsen", "drama"),
        "Cyrano de Bergerac": ("romance", "classic"),
    },
    tags=("theatre", "stage", "drama", "classic", "live-performance", "play"),
    duration_hours=(2.0, 3.5),
    start_hours=(18, 20),
    weekdays=(1, 2, 3, 4, 5, 6),
    ticket_types=(
        TicketTemplate("Stalls", (35.0, 95.0), (100, 400), 6),
        TicketTemplate("Circle", (25.0, 70.0), (80, 250), 6),
        TicketTemplate("Balcony", (14.0, 35.0), (50, 200), 6),
        TicketTemplate("Concession", (10.0, 25.0), (20, 80), 2),
        TicketTemplate("Box Seat", (90.0, 160.0), (4, 16), 4),
    ),
    free_probability=0.04,
    free_ticket_name="Free Admission",
    online_ok=False,
)

_COMEDY = CategoryProfile(
    slug="comedy",
    weight=8,
    formats=(
        EventFormat(
            titles=("{comedian}: {tour}", "{comedian} - {tour} Tour"),
            descriptions=(
                "{comedian} brings a brand-new hour, {tour}, to {city}. Expect sharp "
                "observations, awkward family stories and a few things that probably should not "
                "be said on stage. Contains strong language. Suitable for ages 16 and over.",
                "After a sold-out festival run, {comedian} takes {tour} on the road, stopping "
                "{where}. A show about ambition, anxiety and the joy of being wrong in public. "
                "Contains strong language. Suitable for ages 16 and over.",
            ),
            tag_key="tour",
            online_descriptions=(
                "{comedian} performs {tour} live from a tiny studio, with the chat doing the "
                "heckling. Expect sharp observations and awkward family stories. Contains strong "
                "language.",
            ),
        ),
        EventFormat(
            titles=("{adjective} {show}", "{city} {show}"),
            descriptions=(
                "Five comics, one microphone and no safety net. The {adjective} {show} features "
                "rising names from the {city} circuit alongside a surprise headliner. Hosted by "
                "{comedian}. Seating is first come, first served.",
                "The {adjective} {show} is back {where}. Every set is different and nothing is "
                "rehearsed twice. Grab a drink, sit near the front if you dare and let {comedian} "
                "guide you through the chaos.",
            ),
            tag_key="show",
            online_descriptions=(
                "The {adjective} {show} goes online: five comics, one webcam each and a live chat "
                "that never stops. Hosted by {comedian}. Cameras on is optional, laughing is not.",
            ),
        ),
    ),
    words={
        "comedian": (
            "Priya Raman",
            "Tom Achterberg",
            "Lucía Ferrer",
            "Dev Okonkwo",
            "Hanna Sjöberg",
            "Marcus Bell",
            "Yuki Morimoto",
            "Aoife Brennan",
            "Sam Castellanos",
        ),
        "show": (
            "Stand-Up Showcase",
            "Improv Jam",
            "Open Mic",
            "Sketch Night",
            "Comedy Roast",
            "Late Show",
        ),
        "tour": (
            "Overthinking It",
            "No Notes",
            "Mostly Harmless",
            "Technically Correct",
            "Back by Popular Demand",
            "Work in Progress",
            "Please Clap",
        ),
        "adjective": ("Big", "Friday Night", "Very Serious", "Unfiltered", "Sunday", "Midweek"),
    },
    value_tags={
        "Stand-Up Showcase": ("stand-up", "showcase"),
        "Improv Jam": ("improv", "interactive"),
        "Open Mic": ("open-mic", "new-talent"),
        "Sketch Night": ("sketch", "stand-up"),
        "Comedy Roast": ("roast", "stand-up"),
        "Late Show": ("late-show", "stand-up"),
        "Overthinking It": ("stand-up", "tour"),
        "No Notes": ("stand-up", "tour"),
        "Mostly Harmless": ("stand-up", "tour"),
        "Technically Correct": ("stand-up", "tour"),
        "Back by Popular Demand": ("stand-up", "tour"),
        "Work in Progress": ("stand-up", "work-in-progress"),
        "Please Clap": ("stand-up", "tour"),
    },
    tags=("comedy", "live", "laughs", "night-out", "humour"),
    duration_hours=(1.5, 2.5),
    start_hours=(19, 21),
    weekdays=_ALL_DAYS,
    ticket_types=(
        TicketTemplate("General Admission", (10.0, 25.0), (60, 300), 8),
        TicketTemplate("Front Row", (22.0, 40.0), (10, 30), 4),
        TicketTemplate("Early Bird", (8.0, 16.0), (30, 80), 4),
        TicketTemplate("Student", (6.0, 12.0), (20, 60), 1),
    ),
    free_probability=0.12,
    free_ticket_name="Free Entry",
    online_ok=True,
)

_SPORTS = CategoryProfile(
    slug="sports",
    weight=7,
    formats=(
        EventFormat(
            titles=(
                "{team} vs {rival}",
                "{sport}: {team} vs {rival}",
                "{city} {sport} Derby",
                "{sport} Cup Final: {team} vs {rival}",
            ),
            descriptions=(
                "Top-level {sport_lower} in {city}: {team} take on {rival} in a fixture that could "
                "decide the season. Expect a packed stand, a loud home crowd and plenty of drama "
                "in the closing minutes. Gates open 90 minutes before the start.",
                "The best {sport_lower} in the region, live {where}. {team} and {rival} headline "
                "the day, with youth teams playing the warm-up games. Food trucks and a fan zone "
                "open outside before the first whistle. Children under 14 must be accompanied by "
                "an adult.",
                "Bring your voice and your scarf: {team} host {rival} in {sport_lower}. Tickets "
                "for the home end sell out fast, so book early. Accessible seating is available "
                "on request.",
            ),
            tag_key="sport",
        ),
    ),
    words={
        "sport": (
            "Basketball",
            "Volleyball",
            "Handball",
            "Rugby Sevens",
            "Ice Hockey",
            "Table Tennis",
            "Futsal",
            "Water Polo",
        ),
        "team": ("Harbour Hawks", "City Foxes", "Riverside Rovers", "Old Town Lions"),
        "rival": ("Northside Comets", "Eastside Giants", "Valley Vipers", "Bay Sharks"),
    },
    value_tags={
        "Basketball": ("basketball",),
        "Volleyball": ("volleyball",),
        "Handball": ("handball",),
        "Rugby Sevens": ("rugby", "rugby-sevens"),
        "Ice Hockey": ("ice-hockey", "hockey"),
        "Table Tennis": ("table-tennis",),
        "Futsal": ("futsal", "football"),
        "Water Polo": ("water-polo", "swimming"),
    },
    tags=("sports", "match", "live-sport", "fans", "family-friendly", "season"),
    duration_hours=(2.0, 3.0),
    start_hours=(13, 20),
    weekdays=(2, 4, 5, 6),
    ticket_types=(
        TicketTemplate("Standard Seat", (18.0, 50.0), (300, 2000), 10),
        TicketTemplate("Premium Seat", (55.0, 120.0), (50, 300), 6),
        TicketTemplate("Child (under 14)", (7.0, 18.0), (100, 500), 6),
        TicketTemplate("Family Ticket (2 adults, 2 children)", (45.0, 110.0), (30, 150), 2),
        TicketTemplate("Hospitality Package", (150.0, 320.0), (10, 40), 4),
    ),
    free_probability=0.05,
    free_ticket_name="Free Entry",
    online_ok=False,
)

_CONFERENCE = CategoryProfile(
    slug="conference",
    weight=6,
    formats=(
        EventFormat(
            titles=(
                "{topic} {format} {year}",
                "{city} {topic} {format}",
                "{topic} {format} {city} {year}",
            ),
            descriptions=(
                "The {topic} {format} brings together {audience} for a full day of talks, panels "
                "and hallway conversations. This year's programme covers real-world case "
                "studies, hard-won lessons and what comes next. All talks are in English and "
                "recorded. Lunch and coffee are included with every pass.",
                "Two tracks, 24 speakers and one question: what is next for {topic}? Join "
                "{audience} {where}. Expect practical talks, open discussions and a lively "
                "evening reception. Our code of conduct applies to attendees, speakers and "
                "sponsors alike.",
                "A {format_lower} for {audience}. Keynotes in the morning, deep-dive sessions "
                "on {topic} in the afternoon and plenty of time to meet peers. Live captioning "
                "and a quiet room are provided.",
            ),
            tag_key="topic",
            online_descriptions=(
                "The {topic} {format} goes fully online this year, bringing together {audience} "
                "from every time zone. Expect keynotes, panel discussions and interactive "
                "breakout rooms. Recordings are available to all ticket holders afterwards.",
            ),
        ),
    ),
    words={
        "topic": (
            "Cloud Infrastructure",
            "Data Engineering",
            "Product Design",
            "Climate Tech",
            "Open Source",
            "Digital Health",
            "Developer Experience",
            "Urban Mobility",
            "Fintech",
            "Accessibility",
            "Platform Engineering",
            "Responsible AI",
        ),
        "format": ("Summit", "Conference", "Forum", "Congress"),
        "audience": (
            "engineers, designers and product leaders",
            "founders, investors and researchers",
            "practitioners and policy makers",
            "maintainers, contributors and the companies that depend on them",
        ),
    },
    value_tags={
        "Cloud Infrastructure": ("cloud", "infrastructure"),
        "Data Engineering": ("data", "data-engineering"),
        "Product Design": ("design", "product"),
        "Climate Tech": ("climate", "sustainability"),
        "Open Source": ("open-source", "community"),
        "Digital Health": ("health", "healthtech"),
        "Developer Experience": ("devex", "developer-tools"),
        "Urban Mobility": ("mobility", "cities"),
        "Fintech": ("fintech", "payments"),
        "Accessibility": ("accessibility", "a11y"),
        "Platform Engineering": ("platform-engineering", "devops"),
        "Responsible AI": ("ai", "ethics"),
    },
    tags=("conference", "talks", "networking", "keynote", "professional"),
    duration_hours=(7.0, 9.0),
    start_hours=(8, 9),
    weekdays=(1, 2, 3),
    ticket_types=(
        TicketTemplate("Conference Pass", (250.0, 650.0), (200, 1200), 10),
        TicketTemplate("Early Bird Pass", (150.0, 420.0), (50, 300), 5),
        TicketTemplate("Student Pass", (35.0, 110.0), (20, 100), 1),
        TicketTemplate("Conference + Workshop Day", (450.0, 950.0), (30, 150), 5),
    ),
    free_probability=0.05,
    free_ticket_name="Free Registration",
    online_ok=True,
)

_WORKSHOP = CategoryProfile(
    slug="workshop",
    weight=9,
    formats=(
        EventFormat(
            titles=(
                "{skill} for Beginners",
                "{level} {skill} Workshop",
                "{skill} Masterclass with {host}",
            ),
            descriptions=(
                "Learn the basics of {skill_lower} in a relaxed, small-group session led by "
                "{host}. All materials and tools are provided, and you take home what you make. "
                "No previous experience needed. Please wear clothes you do not mind getting "
                "messy.",
                "A hands-on introduction to {skill_lower} {where}. We start with a short "
                "demonstration, then you get plenty of time to practise with guidance from our "
                "tutors. Groups are capped at twelve people. Tea, coffee and snacks are "
                "included.",
                "Whether you are a complete beginner or just rusty, this {level_lower} session "
                "by {host} covers the techniques that make the difference. Bring your questions "
                "and, if you have one, a project in progress. Spaces are limited.",
            ),
            tag_key="skill",
            online_descriptions=(
                "Learn {skill_lower} from your own kitchen table in this live, small-group session "
                "led by {host}. A materials list is sent a week before, and the tutors give "
                "feedback as you work. Sessions are recorded for participants.",
            ),
        ),
    ),
    words={
        "skill": (
            "Pottery",
            "Screen Printing",
            "Sourdough Baking",
            "Watercolour Painting",
            "Bookbinding",
            "Film Photography",
            "Candle Making",
            "Calligraphy",
            "Urban Sketching",
            "Woodworking",
            "Natural Dyeing",
            "Knife Skills",
        ),
        "level": ("Beginner", "Hands-On", "Weekend", "Evening", "Small-Group"),
        "host": ("Studio Ferro", "The Makers' Table", "Atelier Nord", "Clay and Co.", "Handwerk"),
    },
    value_tags={
        "Pottery": ("pottery", "ceramics"),
        "Screen Printing": ("screen-printing", "printing"),
        "Sourdough Baking": ("baking", "sourdough"),
        "Watercolour Painting": ("painting", "watercolour"),
        "Bookbinding": ("bookbinding", "paper"),
        "Film Photography": ("photography", "analogue"),
        "Candle Making": ("candles", "crafts"),
        "Calligraphy": ("calligraphy", "lettering"),
        "Urban Sketching": ("drawing", "sketching"),
        "Woodworking": ("woodworking", "crafts"),
        "Natural Dyeing": ("textiles", "natural-dyes"),
        "Knife Skills": ("cooking", "knife-skills"),
    },
    tags=("workshop", "hands-on", "diy", "learn", "small-group", "creative"),
    duration_hours=(2.0, 4.0),
    start_hours=(10, 18),
    weekdays=(1, 3, 5, 6),
    ticket_types=(
        TicketTemplate("Participant", (30.0, 90.0), (8, 20), 2),
        TicketTemplate("Early Bird", (24.0, 70.0), (4, 10), 2),
        TicketTemplate("Participant + Materials Kit", (45.0, 130.0), (6, 16), 2),
        TicketTemplate("Pair Ticket", (55.0, 160.0), (3, 8), 1),
    ),
    free_probability=0.2,
    free_ticket_name="Free Registration",
    online_ok=True,
)

_FOOD_DRINK = CategoryProfile(
    slug="food-drink",
    weight=8,
    formats=(
        EventFormat(
            titles=(
                "{item} {format}",
                "{city} {item} Festival",
                "{item} {format} with {host}",
            ),
            descriptions=(
                "Taste your way through the best {item_lower} in {city}. {host} has selected a "
                "line-up of small producers, each pouring or plating their finest. Tasting notes, "
                "water and bread are provided throughout.",
                "A relaxed gathering dedicated to {item_lower}, hosted by {host} {where}. Meet "
                "the makers, learn what sets their craft apart and discover new favourites. "
                "Dietary requirements can be accommodated with advance notice.",
                "Come hungry. Our {item_lower} celebration returns with more producers, more "
                "seating and live music throughout. Curated by {host}. Bring friends: the more "
                "the merrier.",
            ),
            tag_key="item",
        ),
    ),
    words={
        "item": (
            "Natural Wine",
            "Craft Beer",
            "Street Food",
            "Single Malt Whisky",
            "Cheese and Wine",
            "Ramen",
            "Tapas",
            "Specialty Coffee",
            "Gin",
            "Sake",
            "Vegan Brunch",
            "Chocolate",
        ),
        "format": ("Tasting", "Festival", "Market", "Supper Club", "Pairing Evening"),
        "host": ("Amara Diallo", "Jonas Weber", "Salt and Ember", "Ingrid Holm", "Kenji Arai"),
    },
    value_tags={
        "Natural Wine": ("wine", "natural-wine"),
        "Craft Beer": ("beer", "craft-beer"),
        "Street Food": ("street-food",),
        "Single Malt Whisky": ("whisky", "spirits"),
        "Cheese and Wine": ("cheese", "wine"),
        "Ramen": ("ramen", "japanese-food"),
        "Tapas": ("tapas", "spanish-food"),
        "Specialty Coffee": ("coffee",),
        "Gin": ("gin", "cocktails"),
        "Sake": ("sake", "japanese-food"),
        "Vegan Brunch": ("vegan", "brunch"),
        "Chocolate": ("chocolate", "dessert"),
    },
    tags=("food", "drinks", "tasting", "local-producers", "foodie"),
    duration_hours=(2.5, 6.0),
    start_hours=(11, 19),
    weekdays=(3, 4, 5, 6),
    ticket_types=(
        TicketTemplate("Entry", (10.0, 30.0), (100, 800), 8),
        TicketTemplate("Tasting Pass", (25.0, 65.0), (50, 300), 6),
        TicketTemplate("VIP Tasting", (60.0, 130.0), (10, 50), 4),
        TicketTemplate("Reduced (students and seniors)", (7.0, 18.0), (20, 100), 2),
    ),
    free_probability=0.15,
    free_ticket_name="Free Entry",
    online_ok=False,
)

_FILM = CategoryProfile(
    slug="film",
    weight=7,
    formats=(
        EventFormat(
            titles=("{genre} {format}", "{city} {genre} Festival"),
            descriptions=(
                "A night of {genre_lower} on the big screen {where}. Our programmers have picked "
                "rare prints, festival favourites and at least one film nobody in the room will "
                "have seen before. Short introductions before each screening. Snacks and drinks "
                "are available at the bar.",
                "Settle in for {genre_lower} the way it was meant to be seen. Films are shown in "
                "their original language with English subtitles. A short Q&A with the "
                "programming team follows the final screening.",
            ),
            tag_key="genre",
        ),
        EventFormat(
            titles=("Open-Air Cinema: {classic}", "{classic} (Restored)"),
            descriptions=(
                "{classic} returns to the big screen in a stunning new restoration. Whether it "
                "is your first time or your fiftieth, nothing beats seeing it with a full house. "
                "Screened {where}. Introduced by a member of our programming team.",
                "One of the great films, shown the way it deserves: {classic}, screened {where}. "
                "Arrive early for a short talk on the film's history and restoration. Blankets "
                "and cushions are welcome.",
            ),
            tag_key="classic",
        ),
    ),
    words={
        "genre": (
            "Documentary",
            "Short Film",
            "Horror",
            "Animation",
            "Silent Film",
            "Sci-Fi",
            "Arthouse",
            "Film Noir",
            "World Cinema",
        ),
        "format": ("Night", "Marathon", "Double Bill", "Weekender"),
        "classic": (
            "Metropolis",
            "Casablanca",
            "Nosferatu",
            "Singin' in the Rain",
            "Seven Samurai",
            "Cinema Paradiso",
            "Spirited Away",
            "Amélie",
            "Stalker",
            "The Third Man",
        ),
    },
    value_tags={
        "Documentary": ("documentary",),
        "Short Film": ("short-film", "shorts"),
        "Horror": ("horror",),
        "Animation": ("animation",),
        "Silent Film": ("silent-film", "live-score"),
        "Sci-Fi": ("sci-fi",),
        "Arthouse": ("arthouse", "independent"),
        "Film Noir": ("film-noir", "classic"),
        "World Cinema": ("world-cinema", "subtitled"),
        "Metropolis": ("silent-film", "sci-fi"),
        "Casablanca": ("classic", "romance"),
        "Nosferatu": ("silent-film", "horror"),
        "Singin' in the Rain": ("musical", "classic"),
        "Seven Samurai": ("japanese-cinema", "classic"),
        "Cinema Paradiso": ("italian-cinema", "classic"),
        "Spirited Away": ("animation", "anime"),
        "Amélie": ("french-cinema", "comedy"),
        "Stalker": ("sci-fi", "arthouse"),
        "The Third Man": ("film-noir", "classic"),
    },
    tags=("film", "cinema", "screening", "movies", "big-screen"),
    duration_hours=(1.5, 3.5),
    start_hours=(18, 21),
    weekdays=_ALL_DAYS,
    ticket_types=(
        TicketTemplate("Standard", (8.0, 14.0), (80, 400), 8),
        TicketTemplate("Reduced", (6.0, 10.0), (20, 100), 4),
        TicketTemplate("Premium Seat", (13.0, 20.0), (10, 40), 4),
        TicketTemplate("Friends and Family (4 seats)", (28.0, 48.0), (10, 40), 2),
    ),
    free_probability=0.12,
    free_ticket_name="Free Screening",
    online_ok=False,
)

_ART = CategoryProfile(
    slug="art",
    weight=7,
    formats=(
        EventFormat(
            titles=(
                "{theme}: {format}",
                "{artist}: {theme}",
                "{medium} Now: {format}",
            ),
            descriptions=(
                "{theme} brings together new work in {medium_lower} by {artist} and a group of "
                "emerging artists. Join us {where} for the {format_lower}, with drinks and a "
                "short introduction by the curator. Free guided tours run at weekends while the "
                "exhibition is on.",
                "An evening with {artist}, whose work in {medium_lower} has been shown across "
                "Europe and Asia. In conversation with our curator, the artist talks about "
                "process, failure and the ideas behind {theme}. An audience Q&A and a drinks "
                "reception follow.",
                "How do we remember places that change faster than we can describe them? "
                "{theme} explores the question through {medium_lower}, sound and archive "
                "material. Join us for the {format_lower} {where}. Step-free access throughout.",
            ),
            tag_key="medium",
        ),
    ),
    words={
        "medium": (
            "Photography",
            "Sculpture",
            "Painting",
            "Printmaking",
            "Digital Art",
            "Textile Art",
            "Ceramics",
            "Street Art",
            "Illustration",
            "Video Art",
        ),
        "format": ("Exhibition Opening", "Gallery Night", "Artist Talk", "Open Studios"),
        "theme": (
            "Light and Shadow",
            "Borderlands",
            "Soft Machines",
            "Tidal Memory",
            "Small Worlds",
            "The Quiet City",
            "Between Tides",
            "Second Nature",
        ),
        "artist": (
            "Ines Moreau",
            "Kwame Asante",
            "Lotte Vermeer",
            "Rafael Duarte",
            "Mei Lin Tan",
            "Sofia Marchetti",
            "Jakob Lund",
        ),
    },
    value_tags={
        "Photography": ("photography",),
        "Sculpture": ("sculpture",),
        "Painting": ("painting",),
        "Printmaking": ("printmaking", "prints"),
        "Digital Art": ("digital-art", "new-media"),
        "Textile Art": ("textiles",),
        "Ceramics": ("ceramics",),
        "Street Art": ("street-art", "graffiti"),
        "Illustration": ("illustration", "drawing"),
        "Video Art": ("video-art", "new-media"),
    },
    tags=("art", "exhibition", "gallery", "contemporary-art", "culture"),
    duration_hours=(2.0, 4.0),
    start_hours=(10, 19),
    weekdays=_ALL_DAYS,
    ticket_types=(
        TicketTemplate("Admission", (8.0, 18.0), (100, 400), 6),
        TicketTemplate("Concession", (5.0, 10.0), (30, 120), 4),
        TicketTemplate("Admission + Guided Tour", (15.0, 28.0), (10, 25), 4),
        TicketTemplate("Supporter", (30.0, 60.0), (10, 40), 2),
    ),
    free_probability=0.35,
    free_ticket_name="Free Admission",
    online_ok=False,
)

_FAMILY = CategoryProfile(
    slug="family",
    weight=7,
    formats=(
        EventFormat(
            titles=(
                "The {adjective} {activity}",
                "{activity} with {character}",
                "{character}'s {adjective} {activity}",
            ),
            descriptions=(
                "A fun-filled {activity_lower} for the whole family {where}. {character} leads a "
                "show packed with surprises, songs and plenty of chances to join in. Best suited "
                "to children aged 3 to 10. Buggy parking and baby-changing facilities are "
                "available.",
                "Calling all little explorers! Join {character} for a {activity_lower} that is "
                "equal parts silly and clever. Sessions are short, loud and interactive, so "
                "wriggly audiences are very welcome. Every child must be accompanied by an "
                "adult.",
                "Looking for something to do this {weekday}? Our {activity_lower} is back in "
                "{city}, hosted by {character}. Expect giggles, gasps and a few surprises along "
                "the way.",
            ),
            tag_key="activity",
        ),
    ),
    words={
        "activity": (
            "Puppet Show",
            "Science Show",
            "Storytelling Hour",
            "Kids' Disco",
            "Magic Show",
            "Dinosaur Discovery Day",
            "Junior Coding Club",
            "Family Concert",
            "Circus Skills Workshop",
            "Nature Trail Adventure",
        ),
        "adjective": ("Big", "Amazing", "Wonderful", "Sunday", "Super", "Marvellous"),
        "character": (
            "Professor Fizz",
            "Captain Compass",
            "Luna the Storyteller",
            "The Marvellous Mo",
            "Dr. Dino",
        ),
    },
    value_tags={
        "Puppet Show": ("puppets", "theatre"),
        "Science Show": ("science", "stem"),
        "Storytelling Hour": ("stories", "reading"),
        "Kids' Disco": ("dance", "music"),
        "Magic Show": ("magic",),
        "Dinosaur Discovery Day": ("dinosaurs", "science"),
        "Junior Coding Club": ("coding", "stem"),
        "Family Concert": ("music", "concert"),
        "Circus Skills Workshop": ("circus", "juggling"),
        "Nature Trail Adventure": ("nature", "outdoors"),
    },
    tags=("family", "kids", "family-friendly", "children", "all-ages"),
    duration_hours=(1.0, 3.0),
    start_hours=(9, 15),
    weekdays=(2, 5, 6),
    ticket_types=(
        TicketTemplate("Child", (6.0, 14.0), (50, 250), 6),
        TicketTemplate("Adult", (8.0, 18.0), (50, 250), 6),
        TicketTemplate("Family Pass (2 adults, 2 children)", (24.0, 50.0), (20, 80), 2),
        TicketTemplate("Under 3s", (2.0, 4.0), (10, 40), 4),
    ),
    free_probability=0.25,
    free_ticket_name="Free Entry",
    online_ok=False,
)

_NIGHTLIFE = CategoryProfile(
    slug="nightlife",
    weight=8,
    formats=(
        EventFormat(
            titles=(
                "{adjective}: {genre} {party}",
                "{genre} {party} with {dj}",
                "{dj} All Night Long",
            ),
            descriptions=(
                "{dj} plays an extended {genre} set {where}, from warm-up to closing. Expect a "
                "dark room, a heavy sound system and a crowd that is here for the music. No "
                "photos on the dance floor. Strictly 18+ with valid photo ID.",
                "Our {party_lower} returns with {genre} until the sun comes up. Residents warm "
                "up the floor before {dj} takes over for the peak hours. Be kind, be respectful "
                "and leave the attitude at home. Last entry at 3 am.",
            ),
            tag_key="genre",
        ),
    ),
    words={
        "genre": (
            "Techno",
            "House",
            "Drum and Bass",
            "Disco",
            "Afro House",
            "Minimal",
            "Italo Disco",
            "UK Garage",
            "Reggaeton",
            "Jungle",
        ),
        "party": (
            "Warehouse Party",
            "Rooftop Party",
            "Club Night",
            "All-Nighter",
            "Block Party",
            "Silent Disco",
        ),
        "adjective": ("Midnight", "Neon", "After Dark", "Deep", "Solstice", "Heatwave"),
        "dj": ("DJ Kora", "Lena Vogt", "Mateo Rüdiger", "Sable", "Nightjar", "Petra K"),
    },
    value_tags={
        "Techno": ("techno", "electronic"),
        "House": ("house", "dance"),
        "Drum and Bass": ("drum-and-bass", "dnb"),
        "Disco": ("disco", "dance"),
        "Afro House": ("afro-house", "house"),
        "Minimal": ("minimal", "techno"),
        "Italo Disco": ("italo-disco", "disco"),
        "UK Garage": ("uk-garage", "garage"),
        "Reggaeton": ("reggaeton", "latin"),
        "Jungle": ("jungle", "breakbeat"),
    },
    tags=("nightlife", "club", "dj", "party", "dance", "late-night"),
    duration_hours=(5.0, 8.0),
    start_hours=(22, 23),
    weekdays=(3, 4, 5),
    ticket_types=(
        TicketTemplate("Entry", (12.0, 25.0), (200, 1000), 6),
        TicketTemplate("Early Bird", (8.0, 15.0), (50, 200), 4),
        TicketTemplate("Door Ticket", (16.0, 30.0), (50, 200), 4),
        TicketTemplate("VIP Table (4 guests)", (150.0, 380.0), (4, 12), 1),
    ),
    free_probability=0.08,
    free_ticket_name="Free Entry (Guest List)",
    online_ok=False,
)

_TECH = CategoryProfile(
    slug="tech",
    weight=8,
    formats=(
        EventFormat(
            titles=(
                "{city} {topic} {format}",
                "{topic} {format} #{edition}",
                "{topic} {format}: {talk}",
            ),
            descriptions=(
                "The monthly {topic} {format_lower} for developers of every level. {speaker} "
                'opens with a talk titled "{talk}", followed by lightning talks and plenty of '
                "time to chat. Pizza and drinks are provided by our hosts. New faces are always "
                "welcome.",
                "Bring your laptop and your questions. This {format_lower} is a friendly space "
                "to learn {topic} together, whether you use it every day or have never touched "
                "it. {speaker} and the organising team are around to help. Join us {where}.",
                "Lightning talks, live demos and good conversation about {topic}. This edition "
                'features {speaker} on "{talk}". Talks are recorded and published afterwards. '
                "Our code of conduct applies.",
            ),
            tag_key="topic",
            online_descriptions=(
                "The {topic} {format_lower} goes online. {speaker} opens with a talk titled "
                '"{talk}", followed by lightning talks and an open Q&A. Join from anywhere: the '
                "chat stays open afterwards.",
            ),
        ),
    ),
    words={
        "topic": (
            "Rust",
            "Python",
            "Kubernetes",
            "PostgreSQL",
            "Machine Learning",
            "Web Performance",
            "Security",
            "TypeScript",
            "Go",
            "Open Data",
            "Accessibility",
            "DevOps",
            "Elixir",
            "Observability",
        ),
        "format": ("Meetup", "Hack Night", "User Group", "Study Group", "Talk Night"),
        "speaker": (
            "Ana Costa",
            "Ben Okafor",
            "Chen Wei",
            "Dana Levi",
            "Emil Nowak",
            "Fatima Zahra",
            "Greta Holm",
            "Hugo Martins",
        ),
        "talk": (
            "Lessons from Production",
            "Zero to One",
            "Scaling Down",
            "The Boring Parts",
            "Testing in Anger",
            "What We Got Wrong",
        ),
    },
    value_tags={
        "Rust": ("rust", "systems-programming"),
        "Python": ("python",),
        "Kubernetes": ("kubernetes", "cloud-native"),
        "PostgreSQL": ("postgresql", "databases"),
        "Machine Learning": ("machine-learning", "ai"),
        "Web Performance": ("web-performance", "frontend"),
        "Security": ("security", "infosec"),
        "TypeScript": ("typescript", "javascript"),
        "Go": ("golang",),
        "Open Data": ("open-data", "civic-tech"),
        "Accessibility": ("accessibility", "a11y"),
        "DevOps": ("devops", "ci-cd"),
        "Elixir": ("elixir", "erlang"),
        "Observability": ("observability", "monitoring"),
    },
    tags=("tech", "meetup", "developers", "programming", "community", "open-source"),
    duration_hours=(2.0, 3.5),
    start_hours=(18, 19),
    weekdays=(0, 1, 2, 3),
    ticket_types=(
        TicketTemplate("Attendee", (5.0, 15.0), (30, 150), 2),
        TicketTemplate("Supporter", (20.0, 45.0), (5, 20), 2),
        TicketTemplate("Student", (3.0, 6.0), (10, 40), 1),
    ),
    free_probability=0.55,
    free_ticket_name="Free RSVP",
    online_ok=True,
)

CATEGORY_PROFILES: Mapping[str, CategoryProfile] = {
    profile.slug: profile
    for profile in (
        _MUSIC,
        _THEATRE,
        _COMEDY,
        _SPORTS,
        _CONFERENCE,
        _WORKSHOP,
        _FOOD_DRINK,
        _FILM,
        _ART,
        _FAMILY,
        _NIGHTLIFE,
        _TECH,
    )
}


# --------------------------------------------------------------------------------------------
# Organizations
# --------------------------------------------------------------------------------------------

DEMO_ORGANIZATIONS: tuple[DemoOrganization, ...] = (
    DemoOrganization("Nightfall Live", "nightfall-live"),
    DemoOrganization("Civic Stages", "civic-stages"),
    DemoOrganization("Open Source Summit Collective", "open-source-summit-collective"),
    DemoOrganization("Little Explorers", "little-explorers"),
)

# Category -> slugs of the organizers that plausibly run it. Every organizer covers at least
# three categories: Nightfall Live (music, comedy, sports, food-drink, nightlife), Civic Stages
# (music, theatre, comedy, food-drink, film, art), Open Source Summit Collective (conference,
# workshop, tech), Little Explorers (sports, workshop, art, family).
CATEGORY_ORGANIZERS: Mapping[str, tuple[str, ...]] = {
    "music": ("nightfall-live", "civic-stages"),
    "theatre": ("civic-stages",),
    "comedy": ("nightfall-live", "civic-stages"),
    "sports": ("nightfall-live", "little-explorers"),
    "conference": ("open-source-summit-collective",),
    "workshop": ("open-source-summit-collective", "little-explorers"),
    "food-drink": ("civic-stages", "nightfall-live"),
    "film": ("civic-stages",),
    "art": ("civic-stages", "little-explorers"),
    "family": ("little-explorers",),
    "nightlife": ("nightfall-live",),
    "tech": ("open-source-summit-collective",),
}


def assign_organization(
    event: DemoEvent, organizations: Sequence[DemoOrganization]
) -> DemoOrganization:
    """Pick the organizer of ``event``; deterministic and stateless.

    The candidates are the organizers :data:`CATEGORY_ORGANIZERS` lists for the event's category
    that are present in ``organizations``. When none is present (custom organizations, unknown
    category), every organization is a candidate: a fallback spread so that any list of
    organizations gets events of several categories. The candidate is chosen by a stable CRC-32
    of the title (not ``hash()``, which is salted per process), so that the same seed always
    yields the same assignment.
    """
    if not organizations:
        raise ValueError("organizations must not be empty")
    by_slug = {organization.slug: organization for organization in organizations}
    candidates = [
        by_slug[slug] for slug in CATEGORY_ORGANIZERS.get(event.category, ()) if slug in by_slug
    ]
    if not candidates:
        candidates = list(organizations)
    return candidates[zlib.crc32(event.title.encode()) % len(candidates)]


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


# Convention centres host conferences and meetups, not concerts, plays or club nights.
_CONVENTION_VENUES = frozenset(
    {
        "bcc Berlin Congress Center",
        "Javits Center",
        "Moscone Center",
        "McCormick Place",
        "Austin Convention Center",
        "Metro Toronto Convention Centre",
        "Palais des congrès de Montréal",
        "Sands Expo and Convention Centre",
        "ICC Sydney",
        "Melbourne Convention and Exhibition Centre",
        "Cape Town International Convention Centre",
        "Kenyatta International Convention Centre",
    }
)
_CONVENTION_CATEGORIES = frozenset({"conference", "tech"})
_STAGE_CATEGORIES = frozenset({"music", "theatre", "comedy", "sports", "film", "art", "nightlife"})
_START_MINUTES = (0, 0, 0, 30)  # most events start on the hour
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MIN_LEAD = timedelta(days=1)
_MAX_LEAD = timedelta(days=180)
_ONLINE_SENTENCE = "This event takes place online; the streaming link is sent with your ticket."
_FORMATTER = string.Formatter()


def generate_events(rng: Random, *, now: datetime, count: int) -> list[DemoEvent]:
    """Generate ``count`` demo events; the same ``rng`` seed and ``now`` give the same events.

    Events start between ``now + 1 day`` and ``now + 180 days`` at a local start hour typical of
    their category, converted to UTC with the city's time zone (DST-aware). About
    :data:`ONLINE_PROBABILITY` of them are online-only: no venue, city, country or coordinates,
    an ``online_url``, and the time zone and currency of a host city. Titles are unique within
    one call (a repeated title gets the city, "(Online)" or an edition number appended).

    Organizers are not part of the events: pair each event with
    ``assign_organization(event, DEMO_ORGANIZATIONS)``.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if count < 0:
        raise ValueError("count must not be negative")
    now_utc = now.astimezone(UTC)
    used_titles: dict[str, int] = {}
    used_slugs: set[str] = set()
    return [_generate_event(rng, now_utc, used_titles, used_slugs) for _ in range(count)]


def _generate_event(
    rng: Random, now: datetime, used_titles: dict[str, int], used_slugs: set[str]
) -> DemoEvent:
    online = rng.random() < ONLINE_PROBABILITY
    profiles = [p for p in CATEGORY_PROFILES.values() if p.online_ok or not online]
    profile = rng.choices(profiles, weights=[p.weight for p in profiles])[0]
    city = rng.choice(CITIES)
    venue = None if online else _pick_venue(rng, city, profile.slug)
    event_format = rng.choice(profile.formats)

    zone = ZoneInfo(city.timezone)
    starts_at = _pick_start(rng, profile, now, zone)
    low, high = profile.duration_hours
    half_hours = rng.randint(round(low * 2), round(high * 2))
    ends_at = starts_at + timedelta(minutes=30 * half_hours)
    local_start = starts_at.astimezone(zone)

    values: dict[str, str] = {}
    for key, options in profile.words.items():
        values[key] = rng.choice(options)
        values[f"{key}_lower"] = values[key].lower()
    values.update(
        city=city.name,
        venue=venue.name if venue else "online",
        where=f"at {venue.name} in {city.name}" if venue else "online",
        weekday=_WEEKDAY_NAMES[local_start.weekday()],
        year=str(local_start.year),
        edition=str(rng.randint(2, 60)),
    )

    title = _unique_title(
        rng.choice(event_format.titles).format_map(values),
        suffix="(Online)" if online else f"in {city.name}",
        used_titles=used_titles,
    )
    descriptions = (online and event_format.online_descriptions) or event_format.descriptions
    description = rng.choice(descriptions).format_map(values)
    if online:
        description = f"{description} {_ONLINE_SENTENCE}"

    online_url = None
    if online:
        slug = base = slugify(title) or "event"
        n = 1
        while slug in used_slugs:
            n += 1
            slug = f"{base}-{n}"
        used_slugs.add(slug)
        online_url = f"https://stream.example.org/{slug}"

    return DemoEvent(
        title=title,
        description=description,
        category=profile.slug,
        tags=_pick_tags(rng, profile, values[event_format.tag_key], online=online),
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=city.timezone,
        venue_name=venue.name if venue else None,
        venue_address=venue.address if venue else None,
        city=city.name if venue else None,
        country=city.country if venue else None,
        lat=venue.lat if venue else None,
        lon=venue.lon if venue else None,
        online_url=online_url,
        ticket_types=_pick_ticket_types(rng, profile, city.currency),
    )


def _pick_venue(rng: Random, city: City, category: str) -> Venue:
    conventions = [v for v in city.venues if v.name in _CONVENTION_VENUES]
    if category in _CONVENTION_CATEGORIES and conventions and rng.random() < 0.6:
        return rng.choice(conventions)
    if category in _STAGE_CATEGORIES:
        return rng.choice([v for v in city.venues if v.name not in _CONVENTION_VENUES])
    return rng.choice(city.venues)


def _pick_start(rng: Random, profile: CategoryProfile, now: datetime, zone: ZoneInfo) -> datetime:
    """A UTC start within [now + 1 day, now + 180 days] at a typical local hour and weekday."""
    today = now.astimezone(zone).date()
    for _ in range(1000):
        day = today + timedelta(days=rng.randint(1, 180))
        while day.weekday() not in profile.weekdays:
            day += timedelta(days=1)
        hour = rng.randint(*profile.start_hours)
        local = datetime.combine(day, time(hour, rng.choice(_START_MINUTES)), tzinfo=zone)
        starts_at = local.astimezone(UTC)
        if now + _MIN_LEAD <= starts_at <= now + _MAX_LEAD:
            return starts_at
    raise RuntimeError("no start time found")  # pragma: no cover - practically unreachable


def _unique_title(title: str, *, suffix: str, used_titles: dict[str, int]) -> str:
    candidates = [title]
    if suffix.removeprefix("in ") not in title:
        candidates.append(f"{title} {suffix}")
    for candidate in candidates:
        if candidate not in used_titles:
            used_titles[candidate] = 1
            return candidate
    edition = used_titles[title]
    while True:
        edition += 1
        candidate = f"{title} (Edition {edition})"
        if candidate not in used_titles:
            used_titles[title] = edition
            used_titles[candidate] = 1
            return candidate


def _pick_tags(
    rng: Random, profile: CategoryProfile, tag_value: str, *, online: bool
) -> tuple[str, ...]:
    pool = list(profile.tags)
    rng.shuffle(pool)
    specific = profile.value_tags.get(tag_value, (tag_value,))
    # Online events always carry the "online" tag (second, after the most specific one).
    candidates = [*specific[:1], *(["online"] if online else []), *specific[1:], *pool]
    tags: list[str] = []
    for candidate in candidates:
        tag = slugify(candidate)
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags[: rng.randint(2, 5)])


def _pick_ticket_types(
    rng: Random, profile: CategoryProfile, currency: str
) -> tuple[DemoTicketType, ...]:
    templates = profile.ticket_types
    primary = templates[0]
    if rng.random() < profile.free_probability:
        return (
            DemoTicketType(
                name=profile.free_ticket_name,
                price_amount=0,
                currency=currency,
                quantity=_nice_quantity(rng.randint(*primary.quantity)),
                max_per_order=primary.max_per_order,
            ),
        )
    extra = rng.randint(0, min(3, len(templates) - 1))
    chosen = sorted(rng.sample(range(1, len(templates)), extra))
    # One price level per event, so that every ticket type sits at the same point of its range:
    # an Early Bird is always cheaper than General Admission, a VIP always dearer.
    level = rng.random()
    ticket_types = []
    for template in (primary, *(templates[i] for i in chosen)):
        low, high = template.price_eur
        ticket_types.append(
            DemoTicketType(
                name=template.name,
                price_amount=_price_amount((low + level * (high - low)), currency),
                currency=currency,
                quantity=_nice_quantity(rng.randint(*template.quantity)),
                max_per_order=template.max_per_order,
            )
        )
    return tuple(ticket_types)


def _price_amount(price_eur: float, currency: str) -> int:
    """A "nice" price in minor units: halves below 100 major units, else two significant digits."""
    digits = MINOR_UNITS[currency]
    major = Decimal(price_eur * PRICE_LEVELS[currency])
    if digits > 0 and major < 100:
        nice = max((major * 2).to_integral_value(ROUND_HALF_UP) / 2, Decimal("0.5"))
    else:
        step = Decimal(10) ** max(math.floor(math.log10(major)) - 1, 0)
        nice = max((major / step).to_integral_value(ROUND_HALF_UP) * step, Decimal(1))
    return int(nice.scaleb(digits))


def _nice_quantity(quantity: int) -> int:
    if quantity >= 100:
        return round(quantity, -1)
    if quantity >= 20:
        return 5 * round(quantity / 5)
    return max(quantity, 1)


def _template_fields(template: str) -> set[str]:
    """Placeholder names used by a format string."""
    return {field for _, field, _, _ in _FORMATTER.parse(template) if field}


def _check_tables() -> None:
    """Fail at import time, not halfway through a seed, when an edit breaks the tables."""
    problems: list[str] = []
    if tuple(CATEGORY_PROFILES) != CATEGORIES:
        problems.append("CATEGORY_PROFILES must cover CATEGORIES, in order")
    if set(CATEGORY_ORGANIZERS) != set(CATEGORIES):
        problems.append("CATEGORY_ORGANIZERS must cover CATEGORIES")
    for city in CITIES:
        if city.currency not in MINOR_UNITS or city.currency not in PRICE_LEVELS:
            problems.append(f"{city.name}: no minor units or price level for {city.currency}")
        if not 3 <= len(city.venues) <= 5:
            problems.append(f"{city.name}: needs 3-5 venues")
        if all(venue.name in _CONVENTION_VENUES for venue in city.venues):
            problems.append(f"{city.name}: needs a venue that is not a convention centre")
    venue_names = {venue.name for city in CITIES for venue in city.venues}
    if unknown_venues := _CONVENTION_VENUES - venue_names:
        problems.append(f"_CONVENTION_VENUES: unknown venues {sorted(unknown_venues)}")
    common = {"city", "venue", "where", "weekday", "year", "edition"}
    for slug, profile in CATEGORY_PROFILES.items():
        known = common | set(profile.words) | {f"{key}_lower" for key in profile.words}
        all_values = {value for values in profile.words.values() for value in values}
        for event_format in profile.formats:
            if event_format.tag_key not in profile.words:
                problems.append(f"{slug}: unknown tag_key {event_format.tag_key!r}")
            templates = (
                *event_format.titles,
                *event_format.descriptions,
                *event_format.online_descriptions,
            )
            for template in templates:
                if unknown := _template_fields(template) - known:
                    problems.append(f"{slug}: unknown placeholders {sorted(unknown)}")
        if unknown_values := set(profile.value_tags) - all_values:
            problems.append(f"{slug}: value_tags for unknown values {sorted(unknown_values)}")
        if profile.online_ok and not all(f.online_descriptions for f in profile.formats):
            problems.append(f"{slug}: online_ok needs online_descriptions in every format")
        if not profile.ticket_types or not profile.weekdays:
            problems.append(f"{slug}: needs ticket types and weekdays")
        if not 0 <= profile.start_hours[0] <= profile.start_hours[1] <= 23:
            problems.append(f"{slug}: bad start hours")
    if problems:
        raise RuntimeError("; ".join(problems))


_check_tables()
