"""The matrix's app as a Django project (settings, URLs and view in one module), served by
``django-admin runserver`` with ``DJANGO_SETTINGS_MODULE=tests.conformance.django_site``.

Django's request gives the view no socket and no way to send a 1xx: no reset or interim
kinds. Its common middleware sets each answer's length, as a default project's does; a
streaming answer has none, and runserver ends it by closing the connection.
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import re_path

from tests.conformance.kinds import (
    LYING_BODY,
    LYING_LENGTH,
    SLOW,
    TIMEOUT_SLEEP,
    answer_body,
    halves,
    kind_of,
    record,
)

SERVER = "django"
SECRET_KEY = "conformance-matrix-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
USE_TZ = True


def view(request: HttpRequest) -> Any:
    """Record the body, answer as the path's kind says."""
    body = request.body
    record(
        SERVER,
        request.path,
        body,
        request.headers.get("Expect"),
        request.headers.get("Mux-Signature"),
    )
    kind = kind_of(request.path)
    answer = answer_body(SERVER, kind)
    if kind == "close":
        return StreamingHttpResponse(iter(halves(answer)), content_type="application/json")
    if kind == "nocontent":
        return HttpResponse(status=204)
    if kind == "lying":
        response = HttpResponse(LYING_BODY, content_type="application/json")
        response["Content-Length"] = str(LYING_LENGTH)
        return response
    if kind == "slow":
        time.sleep(SLOW)
    elif kind == "timeout":
        time.sleep(TIMEOUT_SLEEP)
    return HttpResponse(
        answer, status=500 if kind == "error" else 200, content_type="application/json"
    )


urlpatterns = [re_path(r"^.*$", view)]

if os.environ.get("CONFORMANCE_IDLE"):
    # runserver has no keep-alive option: its handler's socket timeout ends idle connections.
    from django.core.servers.basehttp import WSGIRequestHandler

    WSGIRequestHandler.timeout = float(os.environ["CONFORMANCE_IDLE"])
