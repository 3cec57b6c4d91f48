"""Organizations (tenants) and memberships with roles owner ⊃ admin ⊃ staff."""
