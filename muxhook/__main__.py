"""``python -m muxhook``."""

from muxhook._entry import main

main()
