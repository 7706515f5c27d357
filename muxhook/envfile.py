"""Writing a secret into a ``.env`` file, where the developer's app reads it.

The file is rewritten whole through a private temporary file and a rename, so it is
``0600`` from the first byte and never half written. Every other line stays byte for
byte. The line muxhook writes follows a marker comment naming the endpoint::

    # muxhook: signing secret of Mux endpoint <id> (<address>)
    MUX_WEBHOOK_SECRET=<secret>

A value that muxhook did not write is never lost: it is kept as a comment just above
(``# muxhook kept: MUX_WEBHOOK_SECRET=…``), and ``take_back`` restores it when the
endpoint goes away, and removes a file left empty. A value muxhook wrote earlier is simply
replaced.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from muxhook.errors import EnvironmentProblem

__all__ = ["MARKER", "put_secret", "take_back", "written_for"]

MARKER = "# muxhook: signing secret of Mux endpoint "
KEPT = "# muxhook kept: "


def _assignment(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*(export\s+)?{re.escape(name)}\s*=")


def put_secret(path: Path, name: str, value: str, *, endpoint_id: str, address: str) -> bool:
    """Set ``name=value`` in the file at ``path`` (created if missing).

    Returns True when a value muxhook had not written was kept as a comment.
    """
    lines = _read_lines(path)
    assigned = _assignment(name)
    kept = False
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith(MARKER) and index + 1 < len(lines) and assigned.match(lines[index + 1]):
            index += 2  # ours, from an earlier run: replaced below
            continue
        if assigned.match(line):
            out.append(KEPT + line.rstrip("\r\n") + "\n")
            kept = True
        else:
            out.append(line)
        index += 1
    if out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    out.append(f"{MARKER}{endpoint_id} ({address})\n")
    out.append(f"{name}={value}\n")
    _write_lines(path, out)
    return kept


def take_back(path: Path, name: str, *, endpoint_id: str) -> bool:
    """Remove the value muxhook wrote for ``endpoint_id`` and restore any value it kept.

    Returns True when the file changed; a file edited since (the marker gone) is left alone.
    A file left empty is removed (``put_secret`` made it, or it held only muxhook's line).
    """
    lines = _read_lines(path)
    assigned = _assignment(name)
    prefix = f"{MARKER}{endpoint_id} ("
    out: list[str] = []
    changed = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith(prefix) and index + 1 < len(lines) and assigned.match(lines[index + 1]):
            index += 2
            changed = True
            continue
        out.append(line)
        index += 1
    if not changed:
        return False
    restored = [
        line.removeprefix(KEPT) if line.startswith(KEPT) and assigned.match(line[len(KEPT) :])
        else line
        for line in out
    ]  # fmt: skip
    if not restored:
        try:
            path.unlink()
        except OSError as error:
            raise EnvironmentProblem(
                f"cannot remove {path}, now empty: {error.strerror or error}"
            ) from None
        return True
    _write_lines(path, restored)
    return True


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise EnvironmentProblem(f"cannot read {path}: {error}; pass --env-file PATH") from None
    return text.splitlines(keepends=True)


def _write_lines(path: Path, lines: list[str]) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=".env.", dir=folder)  # 0600 from the start
    except OSError as error:
        raise EnvironmentProblem(
            f"cannot write {path}: {error.strerror or error}; pass --env-file PATH"
        ) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write("".join(lines))
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise EnvironmentProblem(
            f"cannot write {path}: {error.strerror or error}; pass --env-file PATH"
        ) from None


def written_for(path: Path, name: str) -> str | None:
    """The endpoint id whose secret muxhook wrote as the value of ``name``, if it did."""
    lines = _read_lines(path)
    assigned = _assignment(name)
    owner: str | None = None
    for index, line in enumerate(lines):
        if assigned.match(line):  # the last assignment is the one readers take
            before = lines[index - 1] if index else ""
            owner = before[len(MARKER) :].split(" ", 1)[0] if before.startswith(MARKER) else None
    return owner
