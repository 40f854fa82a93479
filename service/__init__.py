"""Service layer of gunmane: command line, FastAPI application, persistence, jobs and maps."""
