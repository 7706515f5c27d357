"""Files muxhook creates hold payloads: they are owner-only from the first byte."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

__all__ = ["ReportFile", "private_folder"]


def private_folder(folder: Path) -> None:
    """Create ``folder`` and each missing parent with mode 0o700.

    ``Path.mkdir(mode=..., parents=True)`` gives the mode to the last folder only, and
    the umask trims it: each new folder is made, then set, one at a time. Folders that
    already exist are left as they are.
    """
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(candidate))
            break
        missing.append(candidate)
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made meanwhile by another process
        os.chmod(path, 0o700)


class ReportFile:
    """A report written whole or not at all, owner-only (0600).

    Checked when made, so a bad path is bad input before anything is sent; written to a
    temporary file in the same folder and renamed over ``path``, so a reader never sees
    half of it. A report left at ``path`` by an earlier run is removed at the start: if
    this run is killed before it writes its own, no stale report passes for it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        self._fresh().unlink()  # the folder takes new files
        path.unlink(missing_ok=True)

    def write(self, text: str) -> None:
        """Put ``text`` at ``path`` in one step."""
        temporary = self._fresh()
        try:
            with open(temporary, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def _fresh(self) -> Path:
        """A new, empty, owner-only file beside ``path``."""
        descriptor, name = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        os.close(descriptor)
        return Path(name)
