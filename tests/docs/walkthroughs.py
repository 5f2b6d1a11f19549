"""The runnable blocks of the docs and what each promises, read from the Markdown itself.

A block to run is a fenced block whose info string is ``sh runnable``. The fenced block right
after it (only blank lines between) may be an ``expect`` block: one promise per line,

    exit: 1                  the block's exit status (default 0)
    stdout: <text>           <text> appears in what it printed
    stderr: <text>           <text> appears in its error output
    absent: <text>           <text> appears in neither

Blocks of one document run in order, as one reader in one shell would run them: each starts
from the environment the previous one exported. See README.md, "Contributing".
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

RUNNABLE = ("sh", "runnable")
EXPECT = "expect"
FENCE = re.compile(r"^```(?P<info>.*)$")
KEYS = ("exit", "stdout", "stderr", "absent")


class DocFormatError(ValueError):
    """A runnable block or its expect block cannot be read."""


@dataclass(frozen=True)
class Expectation:
    exit: int = 0
    stdout: tuple[str, ...] = ()
    stderr: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    script: str
    expect: Expectation = field(default_factory=Expectation)

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def _fences(text: str) -> list[tuple[str, int, str, int]]:
    """Every fenced block as (info string, first line number, body, line after the closing fence)."""
    lines = text.splitlines()
    found: list[tuple[str, int, str, int]] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next((j for j in range(index + 1, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise DocFormatError(f"line {index + 1}: fenced block is never closed")
        found.append((opening["info"].strip(), index + 1, "\n".join(lines[index + 1 : end]), end + 1))
        index = end + 1
    return found


def parse_expectation(body: str, where: str) -> Expectation:
    values: dict[str, list[str]] = {key: [] for key in KEYS}
    for raw in body.splitlines():
        if not raw.strip():
            continue
        key, sep, value = raw.partition(":")
        if not sep or key.strip() not in KEYS:
            raise DocFormatError(f"{where}: cannot read expect line {raw!r} (keys: {', '.join(KEYS)})")
        values[key.strip()].append(value.strip())
    exits = values.pop("exit")
    if len(exits) > 1 or (exits and not exits[0].isdigit()):
        raise DocFormatError(f"{where}: one numeric exit line at most")
    return Expectation(
        exit=int(exits[0]) if exits else 0,
        stdout=tuple(values["stdout"]),
        stderr=tuple(values["stderr"]),
        absent=tuple(values["absent"]),
    )


def blocks_of(text: str, doc: str) -> list[Block]:
    """The runnable blocks of one document, each with its expectation, in order."""
    fences = _fences(text)
    lines = text.splitlines()
    blocks: list[Block] = []
    for position, (info, line, body, after) in enumerate(fences):
        if tuple(info.split()) != RUNNABLE:
            continue
        expect = Expectation()
        following = fences[position + 1] if position + 1 < len(fences) else None
        if following is not None and following[0] == EXPECT:
            between = lines[after : following[1] - 1]
            if all(not gap.strip() for gap in between):
                expect = parse_expectation(following[2], f"{doc}:{following[1]}")
        blocks.append(Block(doc, line, body, expect))
    return blocks


def unmet(expect: Expectation, done: subprocess.CompletedProcess[str]) -> list[str]:
    """The promises ``done`` does not keep, as sentences; empty when it keeps them all."""
    problems = []
    if done.returncode != expect.exit:
        problems.append(f"exit status {done.returncode}, the doc says {expect.exit}")
    problems += [f"stdout lacks {text!r}" for text in expect.stdout if text not in done.stdout]
    problems += [f"stderr lacks {text!r}" for text in expect.stderr if text not in done.stderr]
    problems += [f"output shows {text!r}" for text in expect.absent if text in done.stdout + done.stderr]
    return problems


def run_block(
    block: Block, env_file: Path, carried: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Runs ``block`` in bash after ``env_file`` and what earlier blocks exported (kept in ``carried``)."""
    script = "\n".join(
        [
            "set -euo pipefail",
            f"source {env_file}",
            f"if [ -f {carried} ]; then source {carried}; fi",
            block.script,
            f"export -p > {carried}",
        ]
    )
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=timeout, check=False
    )


def documents(root: Path) -> list[Path]:
    """README.md and docs/*.md: every document that may hold runnable blocks."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]
