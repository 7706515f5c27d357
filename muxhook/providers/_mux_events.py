"""The Mux event catalog (placeholder until filled)."""

from muxhook.providers import catalog

EVENTS = catalog([("video.asset.ready", "An asset is ready to play.")])
