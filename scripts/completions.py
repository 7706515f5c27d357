"""Write completions/ from the Typer app's own completion support; --check fails on drift.

The scripts are small shims: on TAB the shell runs muxhook with
``_MUXHOOK_COMPLETE`` set, and the app answers with option and event names.

    python scripts/completions.py          # regenerate
    python scripts/completions.py --check  # exit 1 when a file differs
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.completion import (  # type: ignore[attr-defined]  # re-exported, not in __all__
    get_completion_script,
)

OUT = Path(__file__).resolve().parent.parent / "completions"
SHELLS = {
    "bash": "muxhook.bash",
    "zsh": "muxhook.zsh",
    "fish": "muxhook.fish",
    "pwsh": "muxhook.ps1",
}


def render(shell: str) -> str:
    """The completion script for ``shell``, ending in one newline."""
    script = get_completion_script(
        prog_name="muxhook", complete_var="_MUXHOOK_COMPLETE", shell=shell
    )
    return script.rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for shell, name in SHELLS.items():
        path = OUT / name
        text = render(shell)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            OUT.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"completions out of date: {', '.join(stale)}; run: python scripts/completions.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
