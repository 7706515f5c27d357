"""The HTTP conformance matrix: muxhook's listen between real senders and real app servers.

Every peer here is someone else's code: Node ``http`` and express, werkzeug, gunicorn,
waitress, Django's runserver, uvicorn (httptools and h11), hypercorn, aiohttp and
Python's ``http.server`` (HTTP/1.0 and HTTP/1.1) as the apps; curl, requests, httpx,
aiohttp, Node fetch, Node ``http`` with a keep-alive agent and a raw socket as the
senders. The apps answer in every way ``kinds.py`` lists; each case checks the bytes
the app got (sha256), the status the sender saw, one delivery per event, the verdict
and outcome in the event log, and that nothing hangs.
"""
