"""Event search: full text, type-ahead, facets and distance on real indexes in both engines.

The index is a denormalized copy of every published event (``search_events_a`` / ``_b``),
written in the same transaction as the change it follows (:mod:`.indexer`). Two physical
copies exist so that ``boxoffice search reindex`` can build one while the other answers
(:mod:`.rebuild`); ``search_state.active`` is the alias that readers follow. Each engine's
specifics live behind :class:`.backend.SearchBackend`.
"""
