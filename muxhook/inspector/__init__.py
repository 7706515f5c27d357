"""The web inspector: every event in the log, live, in a browser on a loopback port.

``muxhook listen`` serves it beside the listener (never on the webhook port) and
``muxhook inspect`` serves it over any event log. The pieces:

- ``documents``: the JSON the API answers (events, attempts, an object's timeline);
- ``actions``: what sends or writes (Replay, Edit & replay, Copy as curl, Save as fixture);
- ``app``: the Starlette application: the page, its static files and the ``/api/`` routes,
  the Host check, the per-run token and the Content-Security-Policy;
- ``server``: ``InspectorServer``, uvicorn on an already running asyncio loop, told about
  new events with ``notify``;
- ``subscriber``: how ``listen``'s pipeline tells it.

Nothing here is imported unless the inspector runs: Starlette and uvicorn stay out of
``sign`` and ``verify``'s start-up.
"""
