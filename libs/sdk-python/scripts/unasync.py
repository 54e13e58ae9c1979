"""Writes the synchronous client (``_sync.py``) from the asynchronous one (``_async.py``), as httpcore does:
one source of truth, the sync surface the same by construction. ``--check`` fails while ``_sync.py``
differs from what this makes of ``_async.py`` (tests/test_offline.py runs it).

    python libs/sdk-python/scripts/unasync.py [--check]

In ``_async.py``, lines between ``# unasync: async-only`` and ``# unasync: end`` are left out."""

from __future__ import annotations

import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "sandbox_sdk"
HEADER = '"""The synchronous client: ``Sandbox``. Generated from _async.py by scripts/unasync.py: edit that one."""\n'

# whole-text replacements, in order: keywords, then the async names of httpx and of this package
REPLACEMENTS = [
    (r"\bawait\s+", ""),
    (r"\basync (def|for|with)\b", r"\1"),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
    (r"__aiter__", "__iter__"),
    (r"__anext__", "__next__"),
    (r"\.aclose\(\)", ".close()"),
    (r"\.aread\(\)", ".read()"),
    (r"\.aiter_(bytes|lines)\(", r".iter_\1("),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"^import asyncio\n", ""),
    (r"\basync_body\b", "sync_body"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r", Coroutine\b|, Generator\b", ""),
    # the sync create is the async one's coroutine, unwrapped
    (r"def _create\(", "def create("),
]


def unasync(source: str) -> str:
    kept, skipping, after_block = [], False, False
    for line in source.splitlines(keepends=True):
        marker = line.strip()
        if marker == "# unasync: async-only":
            skipping = True
        elif marker == "# unasync: end":
            skipping, after_block = False, True
        elif not skipping and not (after_block and not marker):
            kept.append(line)
            after_block = False
    text = "".join(kept)
    text = text[text.index('"""', 3) + 3 :].lstrip("\n")
    for pattern, replacement in REPLACEMENTS:
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    return HEADER + "\n" + text


def main() -> int:
    made = unasync((PACKAGE / "_async.py").read_text())
    target = PACKAGE / "_sync.py"
    if "--check" in sys.argv[1:]:
        if target.read_text() != made:
            print(f"{target} is not what scripts/unasync.py makes of _async.py: run it", file=sys.stderr)
            return 1
        return 0
    target.write_text(made)
    return 0


if __name__ == "__main__":
    sys.exit(main())
