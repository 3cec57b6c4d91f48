"""Ticket types and inventory (orders, tickets and check-in build on them)."""
