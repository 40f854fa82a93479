"""Errors raised by the optimizer: a badly posed problem, or one with no feasible answer."""

from __future__ import annotations


class SpecificationError(ValueError):
    """The problem data are malformed: the message names the argument and the bad value."""


class InfeasibleError(ValueError):
    """The problem has no feasible solution; ``reason`` says why in words a planner understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
