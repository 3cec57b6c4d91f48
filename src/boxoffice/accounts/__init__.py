"""Users, passwords, access and refresh tokens."""
