"""Events, their venue, and their lifecycle (draft → published → cancelled)."""
