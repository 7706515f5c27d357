"""Coverage-guided fuzzing of muxhook's parsers: see fuzz_parsers.py."""
