"""A single-file Django project that receives Mux webhooks (see app.py)."""
