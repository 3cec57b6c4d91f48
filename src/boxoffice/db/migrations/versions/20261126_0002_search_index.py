"""search index: two copies of the event index, the type-ahead vocabulary, the alias row

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 01:10:00

PostgreSQL: ``unaccent`` + ``pg_trgm``, a ``boxoffice_search`` text search configuration
(English stemming after accent folding), a weighted ``tsvector`` with a GIN index, a GiST index
on ``point(lon, lat)`` and trigram GIN on the vocabulary. SQLite: FTS5 (porter stemming,
diacritics removed) with an R*Tree per copy, and an FTS5 trigram table on the vocabulary.
The index starts empty with ``rebuild_required`` set: ``boxoffice migrate`` fills it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LETTERS = ("a", "b")

POSTGRES_SETUP = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TEXT SEARCH CONFIGURATION boxoffice_search (COPY = pg_catalog.english)",
    "ALTER TEXT SEARCH CONFIGURATION boxoffice_search "
    "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem",
    """CREATE TABLE search_state (
        id integer PRIMARY KEY CHECK (id = 1),
        active varchar(1) NOT NULL CHECK (active IN ('a', 'b')),
        building varchar(1) CHECK (building IN ('a', 'b')),
        rebuild_required boolean NOT NULL,
        updated_at timestamptz
    )""",
    """CREATE TABLE search_terms (
        kind varchar(16) NOT NULL,
        key varchar(200) NOT NULL,
        label varchar(200) NOT NULL,
        events integer NOT NULL,
        PRIMARY KEY (kind, key)
    )""",
    "CREATE INDEX ix_search_terms_key_trgm ON search_terms USING gin (key gin_trgm_ops)",
]

POSTGRES_COPY = [
    """CREATE TABLE search_events_{l} (
        event_id uuid PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
        organization_id uuid NOT NULL,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        category varchar(40) NOT NULL,
        city varchar(120),
        city_key varchar(120),
        lat double precision,
        lon double precision,
        free boolean NOT NULL,
        sold_out boolean NOT NULL,
        title varchar(200) NOT NULL,
        title_key varchar(200) NOT NULL,
        document tsvector NOT NULL
    )""",
    "CREATE INDEX ix_search_events_{l}_document ON search_events_{l} USING gin (document)",
    "CREATE INDEX ix_search_events_{l}_starts_at ON search_events_{l} (starts_at, event_id)",
    "CREATE INDEX ix_search_events_{l}_category ON search_events_{l} "
    "(category, starts_at, event_id)",
    "CREATE INDEX ix_search_events_{l}_city ON search_events_{l} (city_key, starts_at, event_id)",
    "CREATE INDEX ix_search_events_{l}_organization ON search_events_{l} "
    "(organization_id, starts_at)",
    "CREATE INDEX ix_search_events_{l}_location ON search_events_{l} USING gist (point(lon, lat))",
]

SQLITE_SETUP = [
    """CREATE TABLE search_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        active VARCHAR(1) NOT NULL CHECK (active IN ('a', 'b')),
        building VARCHAR(1) CHECK (building IN ('a', 'b')),
        rebuild_required BOOLEAN NOT NULL,
        updated_at DATETIME
    )""",
    """CREATE TABLE search_terms (
        kind VARCHAR(16) NOT NULL,
        key VARCHAR(200) NOT NULL,
        label VARCHAR(200) NOT NULL,
        events INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
    )""",
    "CREATE INDEX ix_search_terms_key ON search_terms (key)",
    "CREATE VIRTUAL TABLE search_terms_trigrams USING fts5(key, tokenize='trigram')",
]

SQLITE_COPY = [
    """CREATE TABLE search_events_{l} (
        doc_id INTEGER PRIMARY KEY,
        event_id CHAR(32) NOT NULL UNIQUE REFERENCES events (id) ON DELETE CASCADE,
        organization_id CHAR(32) NOT NULL,
        starts_at DATETIME NOT NULL,
        ends_at DATETIME NOT NULL,
        category VARCHAR(40) NOT NULL,
        city VARCHAR(120),
        city_key VARCHAR(120),
        lat FLOAT,
        lon FLOAT,
        free BOOLEAN NOT NULL,
        sold_out BOOLEAN NOT NULL,
        title VARCHAR(200) NOT NULL,
        title_key VARCHAR(200) NOT NULL
    )""",
    "CREATE INDEX ix_search_events_{l}_starts_at ON search_events_{l} (starts_at, event_id)",
    "CREATE INDEX ix_search_events_{l}_category ON search_events_{l} "
    "(category, starts_at, event_id)",
    "CREATE INDEX ix_search_events_{l}_city ON search_events_{l} (city_key, starts_at, event_id)",
    "CREATE INDEX ix_search_events_{l}_organization ON search_events_{l} "
    "(organization_id, starts_at)",
    "CREATE VIRTUAL TABLE search_events_{l}_text USING fts5("
    "title, labels, place, description, "
    "tokenize='porter unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE VIRTUAL TABLE search_events_{l}_geo USING rtree(id, min_lat, max_lat, min_lon, max_lon)",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    setup, copy = (POSTGRES_SETUP, POSTGRES_COPY) if postgres else (SQLITE_SETUP, SQLITE_COPY)
    for statement in setup:
        op.execute(statement)
    for letter in LETTERS:
        for statement in copy:
            op.execute(statement.format(l=letter))
    op.execute(
        "INSERT INTO search_state (id, active, building, rebuild_required) "
        "VALUES (1, 'a', NULL, true)"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for letter in LETTERS:
        if not postgres:
            op.execute(f"DROP TABLE search_events_{letter}_geo")
            op.execute(f"DROP TABLE search_events_{letter}_text")
        op.execute(f"DROP TABLE search_events_{letter}")
    if not postgres:
        op.execute("DROP TABLE search_terms_trigrams")
    op.execute("DROP TABLE search_terms")
    op.execute("DROP TABLE search_state")
    if postgres:
        op.execute("DROP TEXT SEARCH CONFIGURATION boxoffice_search")
