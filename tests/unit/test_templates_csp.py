"""The CSP (`script-src 'self'; style-src 'self'`) blocks inline handlers and style attributes:
a template using one silently loses it in the browser (a picker that does nothing)."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
INLINE = re.compile(r"""\s(on[a-z]+|style)\s*=\s*["']""", re.I)


def test_no_template_uses_inline_handlers_or_style_attributes():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if INLINE.search(line):
                offenders.append(f"{path.relative_to(TEMPLATES)}:{n}")
    assert offenders == []
