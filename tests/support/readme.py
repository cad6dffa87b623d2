"""README's "Python API" snippets, and what each prints against the loopback AI Gateway."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.fake_ai_gateway import MODELS

README = Path(__file__).resolve().parents[2] / "README.md"


def python_api_snippets() -> list[str]:
    text = README.read_text()
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


SNIPPETS = python_api_snippets()
EXPECTED = [
    [repr(MODELS)],
    [
        "echo: Hello from sync code",
        "echo: Hello from a loop",
        "echo: Hello from another loop",
        "echo: Hi",
        "echo: Hi",
    ],
    [f"{len(MODELS)} models"],
]
