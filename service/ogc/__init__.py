"""OGC API - Features: a framework-neutral core and the features endpoints."""
