"""Background jobs: the transactional outbox, its relay to Dramatiq, retries and dead letters,
and the periodic scheduler."""
