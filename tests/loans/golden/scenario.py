"""Reading a golden scenario: a Markdown file of tables a loan officer can read.

The format is described in ``README.md`` next to this module. Parsing is deliberately
small: sections are ``## `` headings, tables are lines starting with ``|``, and
everything else (prose, notes, worked arithmetic) is ignored.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

SCHEDULE_HEADING = re.compile(
    r"^schedule(?: version (?P<version>\d+))? after step (?P<step>\d+)$", re.IGNORECASE
)
# Sections that hold only prose or worked arithmetic.
NOTE_HEADINGS = ("working", "notes", "arithmetic")


class ScenarioFormatError(ValueError):
    """Raised when a scenario file does not follow the format of README.md."""


@dataclass(frozen=True)
class Expectation:
    key: str
    op: str  # "=" (equal; numbers compared as numbers) or "~" (the text contains)
    value: str


@dataclass(frozen=True)
class Step:
    number: int
    day: date
    action: str
    amount: Decimal | None
    options: dict[str, str]
    expect: tuple[Expectation, ...]
    line: int


@dataclass(frozen=True)
class ScheduleCheck:
    """Rows a schedule must show after a step (``version`` None: the current one)."""

    after_step: int
    version: int | None
    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]


@dataclass
class Scenario:
    title: str
    path: Path
    terms: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    schedules: list[ScheduleCheck] = field(default_factory=list)

    def schedules_after(self, step: int) -> list[ScheduleCheck]:
        return [check for check in self.schedules if check.after_step == step]


def money(text: str) -> Decimal:
    """A figure as written in a table: ``12,000.00`` or ``12000.00``."""
    cleaned = text.replace(",", "").replace("₹", "").strip()
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:
        raise ScenarioFormatError(f"{text!r} is not an amount") from exc


def _cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|"):
        body = body[:-1]
    return [cell.strip() for cell in body.split("|")]


def _tables(lines: list[tuple[int, str]]) -> list[tuple[list[str], list[tuple[int, list[str]]]]]:
    """The tables of a section: (header, [(line number, cells), ...])."""
    tables, current = [], None
    for number, line in lines:
        if not line.strip().startswith("|"):
            current = None
            continue
        cells = _cells(line)
        if current is None:
            current = ([c.lower() for c in cells], [])
            tables.append(current)
        elif all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
            continue
        else:
            current[1].append((number, cells))
    return tables


def _one_table(name: str, lines):
    tables = _tables(lines)
    if len(tables) != 1:
        raise ScenarioFormatError(f"section {name!r} must hold exactly one table")
    return tables[0]


def parse_expectations(text: str, line: int) -> tuple[Expectation, ...]:
    found = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        match = re.fullmatch(r"(?P<key>[\w.\-]+)\s*(?P<op>=|~)\s*(?P<value>.*)", part)
        if match is None:
            raise ScenarioFormatError(f"line {line}: {part!r} is not 'key = value'")
        found.append(Expectation(match["key"], match["op"], match["value"].strip()))
    return tuple(found)


def parse_options(text: str, line: int) -> dict[str, str]:
    options = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ScenarioFormatError(f"line {line}: option {part!r} is not 'name=value'")
        options[name.strip()] = value.strip()
    return options


def parse(path: Path) -> Scenario:
    text = path.read_text()
    sections: dict[str, list[tuple[int, str]]] = {}
    title, current = path.stem, None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("# "):
            title = line[2:].strip()
        elif line.startswith("## "):
            current = line[3:].strip()
            if current in sections:
                raise ScenarioFormatError(f"line {number}: section {current!r} appears twice")
            sections[current] = []
        elif current is not None:
            sections[current].append((number, line))

    scenario = Scenario(title=title, path=path)
    for name, lines in sections.items():
        lowered = name.lower()
        if lowered == "loan":
            header, rows = _one_table(name, lines)
            if header[:2] != ["term", "value"]:
                raise ScenarioFormatError("the Loan table's columns are: term | value")
            scenario.terms = {cells[0].lower(): cells[1] for _, cells in rows}
        elif lowered == "steps":
            scenario.steps = _steps(*_one_table(name, lines))
        elif match := SCHEDULE_HEADING.match(name):
            header, rows = _one_table(name, lines)
            scenario.schedules.append(
                ScheduleCheck(
                    after_step=int(match["step"]),
                    version=int(match["version"]) if match["version"] else None,
                    columns=tuple(header),
                    rows=tuple(dict(zip(header, cells, strict=False)) for _, cells in rows),
                )
            )
        elif not lowered.startswith(NOTE_HEADINGS):
            raise ScenarioFormatError(f"unknown section {name!r} (see README.md)")
    for required in ("start", "principal", "tenure", "rate"):
        if required not in scenario.terms:
            raise ScenarioFormatError(f"the Loan table needs a {required!r} row")
    numbers = {step.number for step in scenario.steps}
    for check in scenario.schedules:
        if check.after_step not in numbers:
            raise ScenarioFormatError(
                f"a schedule is checked after step {check.after_step}, which does not exist"
            )
    return scenario


STEP_COLUMNS = ["step", "day", "action", "amount", "with", "expect"]


def _steps(header: list[str], rows) -> list[Step]:
    if header[: len(STEP_COLUMNS)] != STEP_COLUMNS:
        raise ScenarioFormatError(
            "the Steps table's columns are: " + " | ".join(STEP_COLUMNS) + " | (notes)"
        )
    steps, day = [], None
    for line, cells in rows:
        cells = dict(zip(header, cells, strict=False))
        if cells["day"]:
            try:
                day = date.fromisoformat(cells["day"])
            except ValueError as exc:
                raise ScenarioFormatError(f"line {line}: {cells['day']!r} is not a date") from exc
        if day is None:
            raise ScenarioFormatError(f"line {line}: the first step needs a day")
        steps.append(
            Step(
                number=int(cells["step"]),
                day=day,
                action=cells["action"].lower(),
                amount=money(cells["amount"]) if cells["amount"] else None,
                options=parse_options(cells["with"], line),
                expect=parse_expectations(cells["expect"], line),
                line=line,
            )
        )
    if [s.number for s in steps] != sorted({s.number for s in steps}):
        raise ScenarioFormatError("steps must be numbered in increasing order, each once")
    if [s.day for s in steps] != sorted(s.day for s in steps):
        raise ScenarioFormatError("steps must be in date order (the business date only moves on)")
    return steps
