"""Tests of the example receivers, written with muxhook's pytest plugin."""
