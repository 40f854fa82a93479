"""Stopping criteria shared by every solver: wall time, iteration counts, stagnation, or any.

A criterion is a small immutable description; each solver translates it into its own limits
(OR-Tools time and solution limits, CP-SAT ``max_time_in_seconds``, loop counters). Tests that check
reproducibility use count-based criteria (`MaxIterations`, `NoImprovement`), never wall time.
"""

from __future__ import annotations

from dataclasses import dataclass

from optimizer.errors import SpecificationError


@dataclass(frozen=True)
class MaxRuntime:
    """Stop after ``seconds`` of wall time."""

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise SpecificationError(f"MaxRuntime seconds must be >= 0, got {self.seconds}")


@dataclass(frozen=True)
class MaxIterations:
    """Stop after ``count`` iterations of the solver's main loop (reproducible across machines)."""

    count: int

    def __post_init__(self) -> None:
        if self.count < 0:
            raise SpecificationError(f"MaxIterations count must be >= 0, got {self.count}")


@dataclass(frozen=True)
class NoImprovement:
    """Stop after ``count`` consecutive iterations without a better solution."""

    count: int

    def __post_init__(self) -> None:
        if self.count < 0:
            raise SpecificationError(f"NoImprovement count must be >= 0, got {self.count}")


@dataclass(frozen=True)
class MultipleCriteria:
    """Stop as soon as any of ``criteria`` says so."""

    criteria: tuple[MaxRuntime | MaxIterations | NoImprovement, ...]

    def __post_init__(self) -> None:
        if not self.criteria:
            raise SpecificationError("MultipleCriteria needs at least one criterion")


StoppingCriterion = MaxRuntime | MaxIterations | NoImprovement | MultipleCriteria


def _flatten(stop: StoppingCriterion) -> tuple[MaxRuntime | MaxIterations | NoImprovement, ...]:
    return stop.criteria if isinstance(stop, MultipleCriteria) else (stop,)


def time_limit(stop: StoppingCriterion) -> float | None:
    """The tightest wall-time limit in ``stop`` (seconds), or None when there is none."""
    limits = [c.seconds for c in _flatten(stop) if isinstance(c, MaxRuntime)]
    return min(limits) if limits else None


def iteration_limit(stop: StoppingCriterion) -> int | None:
    """The tightest iteration limit in ``stop``, or None when there is none."""
    limits = [c.count for c in _flatten(stop) if isinstance(c, MaxIterations)]
    return min(limits) if limits else None


def no_improvement_limit(stop: StoppingCriterion) -> int | None:
    """The tightest stagnation limit in ``stop`` (iterations), or None when there is none."""
    limits = [c.count for c in _flatten(stop) if isinstance(c, NoImprovement)]
    return min(limits) if limits else None
