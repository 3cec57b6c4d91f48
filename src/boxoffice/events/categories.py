"""The suggested event categories: what the demo data and the web app offer. Events may use
others; categories are stored folded to lower case."""

CATEGORIES: tuple[str, ...] = (
    "art",
    "comedy",
    "conference",
    "family",
    "film",
    "food-drink",
    "music",
    "nightlife",
    "sports",
    "tech",
    "theatre",
    "workshop",
    "other",
)
