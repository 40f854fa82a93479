"""Errors of the geodata layer: one structured Problem per finding, raised together."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding of the loader or validator, precise enough to fix the input.

    Parameters
    ----------
    file
        The file (or config) the problem is in, as written in the scenario or as given.
    feature
        The 1-based feature/row number in that file (int), another locator such as an
        asset id or a TOML key (str), or None when the whole file is concerned.
    field
        The column or config key concerned (e.g. ``"geometry"``, ``"crs"``, ``"field"``), or None.
    message
        What is wrong, with the bad value, and how to fix it where that is known.
    severity
        ``"error"`` stops the load; ``"warning"`` is reported and the load goes on.
    """

    file: str
    feature: int | str | None
    field: str | None
    message: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready dict (for ``--json`` and the API's 4xx bodies)."""
        return asdict(self)

    def __str__(self) -> str:
        where = self.file
        if self.feature is not None:
            where += (
                f", feature {self.feature}"
                if isinstance(self.feature, int)
                else f", {self.feature}"
            )
        if self.field is not None:
            where += f", field {self.field!r}"
        return f"{self.severity}: {where}: {self.message}"


class AssetValidationError(ValueError):
    """Loading failed; ``problems`` lists every error (and warning) found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = [f"{len(errors)} problem(s) found while loading assets:"]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class ConfigError(ValueError):
    """A scenario TOML that cannot be used; names the file and the key."""

    def __init__(self, file: str, key: str | None, message: str) -> None:
        self.file = file
        self.key = key
        self.problem = Problem(file=file, feature=key, field=key, message=message)
        where = f"{file}: key {key!r}" if key else file
        super().__init__(f"{where}: {message}")
