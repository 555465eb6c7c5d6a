"""The README's state diagrams are the ones generated from the transition tables."""

import re
from pathlib import Path

from workflows.diagram import readme_block

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_block_is_the_generated_one(runner):
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- diagram:start[^\n]*-->\n(.*?)<!-- diagram:end -->", text, re.S)
    assert match, "README.md lost its diagram markers"
    result = runner.invoke(args=["diagram"])
    assert result.exit_code == 0
    assert result.output == readme_block()
    assert match.group(1) == result.output, "run `bando diagram` and paste it into README.md"
