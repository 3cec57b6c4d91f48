"""The fixed set of event categories (discovery facets depend on a closed vocabulary)."""

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
