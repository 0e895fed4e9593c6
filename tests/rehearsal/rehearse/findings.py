"""Findings: what the rehearsal reports. Any finding fails the run (exit 1)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem found by a stage.

    stage: 1 (translate), 2 (deploy on moto), 3 (deployed state vs code), 4–5 (the lead's).
    rule: a short stable name of the rule that fired (seeded bugs match on it).
    resource: the logical id (or parameter, route, …) it is about; "" for the whole stack.
    message: what is wrong and, where known, what to do.
    """

    stage: int
    rule: str
    resource: str
    message: str

    def render(self) -> str:
        where = f" {self.resource}:" if self.resource else ""
        return f"[stage {self.stage}] {self.rule}:{where} {self.message}"


class Findings:
    """An ordered collection of findings, for one configuration environment."""

    def __init__(self) -> None:
        self.items: list[Finding] = []

    def add(self, stage: int, rule: str, resource: str, message: str) -> None:
        self.items.append(Finding(stage, rule, resource, message))

    def extend(self, other: "Findings | list[Finding]") -> None:
        self.items.extend(other.items if isinstance(other, Findings) else other)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)


class StageFailed(Exception):
    """A stage could not go on (the later stages need its result); carries its findings."""

    def __init__(self, findings: Findings) -> None:
        super().__init__(f"{len(findings)} finding(s)")
        self.findings = findings
