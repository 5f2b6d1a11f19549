"""The runnable-block format itself: found in order, promises read, drift reported (no servers)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from docs.walkthroughs import Block, DocFormatError, Expectation, blocks_of, documents, run_block, unmet

REPO = Path(__file__).resolve().parents[2]

DOC = """
Some text.

```sh runnable
echo one
```

```expect
stdout: one
```

```sh
echo not runnable
```

```sh runnable
export CARRIED=yes
false
```
```expect
exit: 1
absent: secret
```
"""


def test_blocks_and_their_promises_are_read_in_order() -> None:
    blocks = blocks_of(DOC, "doc.md")
    assert [(b.line, b.script) for b in blocks] == [(4, "echo one"), (16, "export CARRIED=yes\nfalse")]
    assert blocks[0].expect == Expectation(stdout=("one",))
    assert blocks[1].expect == Expectation(exit=1, absent=("secret",))


@pytest.mark.parametrize(
    "expect",
    ["```expect\nexits: 1\n```", "```expect\nexit: one\n```", "```expect\nstdout promised\n```"],
    ids=["unknown-key", "exit-not-a-number", "no-colon"],
)
def test_an_unreadable_promise_is_an_error(expect: str) -> None:
    with pytest.raises(DocFormatError):
        blocks_of(f"```sh runnable\ntrue\n```\n{expect}\n", "doc.md")


def test_a_doc_that_drifts_from_the_product_fails(tmp_path: Path) -> None:
    env = tmp_path / "env.sh"
    env.write_text("export GREETING=hello\n")
    block = Block("doc.md", 1, 'echo "$GREETING world"', Expectation(stdout=("hello there",)))
    done = run_block(block, env, tmp_path / "carried.sh")
    assert unmet(block.expect, done) == ["stdout lacks 'hello there'"]
    refused = subprocess.CompletedProcess(["x"], 1, "", "error: dave is not an approver")
    assert unmet(Expectation(stderr=("dave is not an approver",)), refused) == [
        "exit status 1, the doc says 0"
    ]


def test_exports_carry_to_the_next_block(tmp_path: Path) -> None:
    env, carried = tmp_path / "env.sh", tmp_path / "carried.sh"
    env.write_text("")
    run_block(Block("doc.md", 1, "export REQ=payments-db-update-1"), env, carried)
    done = run_block(Block("doc.md", 2, 'echo "$REQ"'), env, carried)
    assert done.stdout.strip() == "payments-db-update-1"


def test_the_approvals_walkthrough_is_marked_runnable() -> None:
    marked = {path.name: blocks_of(path.read_text(), path.name) for path in documents(REPO)}
    assert len(marked["approvals.md"]) >= 5, "the local-stack walkthrough is run by the docs test"
