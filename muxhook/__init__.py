"""muxhook: sign, verify, trigger, listen to and replay video-platform webhooks."""

__version__ = "0.1.0"
