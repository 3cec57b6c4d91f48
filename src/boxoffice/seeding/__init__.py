"""Seeding and bootstrap helpers; ``catalog`` holds the demo data for ``boxoffice seed --demo``."""
