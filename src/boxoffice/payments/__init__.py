"""Payment providers (free, test, stripe) behind one interface, and provider webhooks."""
