"""Word lists for the entities rules: titles, organization and place suffixes, a small gazetteer of countries and
cities, and the capitalised words that open sentences without naming anything. Small on purpose: the rules are
a stand-in for a model, not a knowledge base."""

from __future__ import annotations

from switchboard.text_analysis.text import word_set

PERSON_TITLES = (
    "Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Professor", "Sir", "Dame", "Lord", "Lady", "President",
    "Senator", "Governor", "Mayor", "Minister", "Chancellor", "CEO", "Judge", "Captain", "General", "Rev",
)  # fmt: skip

ORG_SUFFIXES = word_set(
    """Inc Ltd Corp Corporation LLC LLP PLC plc GmbH AG SA NV Co Company Group Holdings Bank University College
    Institute Foundation Agency Association Ministry Department Council Committee Commission Organization
    Organisation Society Laboratories Labs Technologies Systems Partners Airlines Motors Pharmaceuticals Press
    Times Post News Network Hospital School Party Union Federation Authority Office Bureau"""
)

LOCATION_SUFFIXES = word_set(
    """City County Province State Region River Lake Mountains Valley Island Islands Bay Sea Ocean Street Avenue
    Square Park Airport"""
)

LOCATIONS = word_set(
    """Afghanistan Argentina Australia Austria Bangladesh Belgium Brazil Canada Chile China Colombia Croatia
    Cuba Denmark Egypt Estonia Ethiopia Finland France Germany Ghana Greece Hungary Iceland India Indonesia Iran
    Iraq Ireland Israel Italy Japan Jordan Kenya Latvia Lithuania Luxembourg Malaysia Mexico Morocco Nepal
    Netherlands Nigeria Norway Pakistan Peru Philippines Poland Portugal Qatar Romania Russia Scotland Serbia
    Singapore Slovakia Slovenia Spain Sweden Switzerland Syria Taiwan Thailand Turkey Ukraine Uruguay Venezuela
    Vietnam Wales England Britain Europe Asia Africa America Antarctica Oceania
    Amsterdam Athens Atlanta Bangkok Barcelona Beijing Berlin Boston Brussels Budapest Cairo Chicago Copenhagen
    Delhi Dubai Dublin Edinburgh Geneva Hamburg Helsinki Istanbul Jakarta Karachi Kyiv Kiev Lagos Lisbon London
    Madrid Manchester Melbourne Miami Milan Montreal Moscow Mumbai Munich Nairobi Oslo Paris Prague Rome
    Seattle Seoul Shanghai Stockholm Sydney Tokyo Toronto Vancouver Vienna Warsaw Zurich Austin Denver Dallas
    Houston Lyon Marseille Osaka Frankfurt Cologne Porto Krakow"""
) | frozenset(
    {
        "United States", "United Kingdom", "United Arab Emirates", "South Africa", "South Korea", "North Korea",
        "New Zealand", "Saudi Arabia", "Czech Republic", "Hong Kong", "New York", "Los Angeles", "San Francisco",
        "Silicon Valley", "Washington", "Rio de Janeiro", "Buenos Aires", "Mexico City", "Cape Town", "Tel Aviv",
        "New Delhi", "Abu Dhabi", "Las Vegas", "San Diego", "Latin America", "North America", "South America",
        "Middle East", "USA", "UK", "EU", "UAE",
    }
)  # fmt: skip

COMMON_OPENERS = word_set(
    """The A An This That These Those It Its In On At For From With Without After Before During While When Where
    Why How What Which Who Whom Whose If But And Or So Yet Also However Meanwhile Today Yesterday Tomorrow Last
    Next Our Their His Her My Your We They He She I You There Here Some Many Most All Each Every Both Despite
    Although Though According As By Since Until Under Over Overall Still Then Now Recently Earlier Later
    Finally First Second Third Unfortunately Fortunately Sadly Luckily Thanks Please Dear Hello Hi Not No Yes
    Note"""
)
