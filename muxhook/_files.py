"""Files muxhook creates hold payloads: they are owner-only from the first byte."""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = ["private_folder"]


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
