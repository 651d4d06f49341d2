"""Grounds for declaring a challenge inadmissible or rejecting it.

The UK codes follow the Schedule to SI 2012/1647; the NL codes follow the
assessment criteria common in Dutch municipal regulations (Delft, Opsterland,
Rotterdam). A municipality may add its own codes through Settings.extra_grounds.
"""

from __future__ import annotations

from .types import Settings

# code -> (English label, Dutch label)
GROUNDS: dict[str, tuple[str, str]] = {
    "UK-1": (
        "The request does not comply with the Act or the regulations",
        "Het verzoek voldoet niet aan de wet of de regelgeving",
    ),
    "UK-2": (
        "Information in the request is inadequate or inaccurate in a material particular",
        "De informatie in het verzoek is op een wezenlijk punt onvoldoende of onjuist",
    ),
    "UK-3": (
        "The body, a partner or a subcontractor is not suitable to provide the service",
        "De organisatie, een partner of een onderaannemer is niet geschikt om de dienst uit te voeren",
    ),
    "UK-4": (
        "A written decision has been taken to stop providing the service",
        "Er is schriftelijk besloten de dienst niet langer te verlenen",
    ),
    "UK-5": (
        "The service is integrated with a health service and critical to users' well-being",
        "De dienst is verweven met de gezondheidszorg en van wezenlijk belang voor het welzijn van gebruikers",
    ),
    "UK-6": (
        "The service is already the subject of a procurement exercise",
        "Voor de dienst loopt al een aanbestedingsprocedure",
    ),
    "UK-7": (
        "Negotiations with a third party about the service are under way, at least partly in writing",
        "Er lopen al onderhandelingen met een derde partij over de dienst, ten minste deels schriftelijk",
    ),
    "UK-8": (
        "The authority intends to consider a body set up by its own employees",
        "De gemeente wil een organisatie van haar eigen medewerkers overwegen",
    ),
    "UK-9": (
        "The request is frivolous or vexatious",
        "Het verzoek is lichtvaardig of kwellend",
    ),
    "UK-10": (
        "Accepting the request would likely breach an enactment, rule of law or statutory duty",
        "Aanvaarding zou waarschijnlijk in strijd zijn met een wettelijk voorschrift of een wettelijke plicht",
    ),
    "NL-VALUE": (
        "No added social value",
        "Geen maatschappelijke meerwaarde",
    ),
    "NL-SUPPORT": (
        "Insufficient support in the neighbourhood",
        "Onvoldoende draagvlak",
    ),
    "NL-COST": (
        "More expensive than the current execution",
        "Duurder dan de huidige uitvoering",
    ),
    "NL-QUALITY": (
        "Quality not at least equal to the current execution",
        "Kwaliteit niet ten minste gelijk aan de huidige uitvoering",
    ),
    "NL-CONTINUITY": (
        "Continuity of the service is not guaranteed",
        "Continuïteit van de dienst is niet gewaarborgd",
    ),
    "NL-GOV-ONLY-TASK": (
        "A task that only the government may carry out",
        "Een taak die alleen de overheid mag uitvoeren",
    ),
    "NL-PROCUREMENT": (
        "Conflicts with procurement law or policy",
        "In strijd met aanbestedingsrecht of -beleid",
    ),
    "NL-HARM": (
        "Harms the interests of other residents",
        "Schaadt de belangen van andere inwoners",
    ),
    "NL-WINDOW": (
        "Submitted outside the submission window",
        "Ingediend buiten de indieningsperiode",
    ),
    "NL-NOT-CURRENT-TASK": (
        "Not a task the municipality currently carries out",
        "Geen taak die de gemeente nu uitvoert",
    ),
}


def is_valid_ground(code: str, settings: Settings) -> bool:
    return code in GROUNDS or code in settings.extra_grounds
