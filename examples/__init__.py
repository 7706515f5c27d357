"""Runnable examples: webhook receivers and the tests that use muxhook's pytest plugin."""
