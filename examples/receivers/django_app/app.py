"""A single-file Django project that receives Mux webhooks.

Run it:   MUX_WEBHOOK_SECRET=… python examples/receivers/django_app/app.py runserver 3000
Try it:   muxhook trigger video.asset.ready --to http://localhost:3000/webhooks/mux
"""

from __future__ import annotations

import os
import sys

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

import muxhook

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="django-insecure-muxhook-example",  # noqa: S106  (an example, not a secret)
        ALLOWED_HOSTS=["testserver", "localhost", "127.0.0.1"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        MUX_WEBHOOK_SECRET=os.environ.get("MUX_WEBHOOK_SECRET", ""),
    )
    django.setup()

handled: list[str] = []  # the event types handled, newest last


@csrf_exempt  # the signature is the authentication; Mux sends no CSRF token
@require_POST
def mux_webhook(request: HttpRequest) -> HttpResponse:
    body = request.body  # the raw bytes: a re-serialised body would not verify
    try:
        muxhook.verify(body, request.headers, secret=settings.MUX_WEBHOOK_SECRET)
    except muxhook.SignatureError:
        return HttpResponseBadRequest("invalid signature")
    event = muxhook.parse_event(body, request.headers)
    handled.append(event.type)
    return JsonResponse({"received": event.type})


urlpatterns = [path("webhooks/mux", mux_webhook)]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
