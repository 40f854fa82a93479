"""Planning workflows: units, regions, evaluation, routes, calendar, effects, cost shares."""
