"""Write src/warden_client/aio.py from client.py: the async client is generated, never edited.

    python tools/gen_aio.py          # rewrite aio.py
    python tools/gen_aio.py --check  # exit 1 if aio.py is not what client.py gives (CI)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "warden_client"

HEADER = '"""`AsyncWardenClient`: GENERATED from client.py by tools/gen_aio.py; do not edit.\n\n'


def generate(text: str) -> str:
    body = text.split('"""', 2)[2]  # drop the module docstring
    rules = [
        (r"class WardenClient\(ClientBase\):\n    \"\"\"Blocking client",
         'class AsyncWardenClient(ClientBase):\n    """Async client'),
        (r'__all__ = \["WardenClient"\]', '__all__ = ["AsyncWardenClient"]'),
        (r">>> client = WardenClient\((.*)\)\n(\s+)>>> client.prefix\n(\s+)'/auth'\n(\s+)>>> client.close\(\)",
         r">>> client = AsyncWardenClient(\1)\n\2>>> client.prefix\n\3'/auth'"),
        (r"Use it as a context manager, or call `close\(\)`",
         "Use it as an async context manager, or await `aclose()`"),
        (r"httpx\.BaseTransport", "httpx.AsyncBaseTransport"),
        (r"httpx\.Client\(", "httpx.AsyncClient("),
        (r"    def close\(self\) -> None:\n(.*)\n        self\._http\.close\(\)",
         r"    async def aclose(self) -> None:\n\1\n        await self._http.aclose()"),
        (r"def __enter__\(self\) -> WardenClient:", "async def __aenter__(self) -> AsyncWardenClient:"),
        (r"def __exit__\(", "async def __aexit__("),
        (r"        self\.close\(\)", "        await self.aclose()"),
        (r"self\._http\.request\(", "await self._http.request("),
        (r"\n    def (?!__init__)", "\n    async def "),
        (r"return self\._run\(", "return await self._run("),
    ]
    for pattern, repl in rules:
        body, n = re.subn(pattern, repl, body)
        if n == 0:
            raise SystemExit(f"gen_aio: pattern not found in client.py: {pattern}")
    doc = text.split('"""', 2)[1].split("\n", 1)[1]
    return HEADER + doc.lstrip("\n").replace("blocking method", "awaitable method") + '"""' + body


def main() -> int:
    out = generate((SRC / "client.py").read_text())
    target = SRC / "aio.py"
    if "--check" in sys.argv:
        if target.read_text() != out:
            print("aio.py is stale: run python tools/gen_aio.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
