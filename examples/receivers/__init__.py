"""Mux webhook receivers, one per framework, that verify the raw body with muxhook."""
