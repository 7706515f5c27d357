"""Mux's System API: the token, ``whoami``, and the webhook endpoints; one line per failure.

The routes and shapes are those of the official ``@mux/mux-node`` SDK (``system.utilities.
whoami`` and ``system.webhooks``): ``GET /system/v1/whoami``, and ``GET``/``POST``
``/system/v1/webhooks``, ``GET``/``PATCH``/``DELETE`` ``/system/v1/webhooks/{id}``, each
answering ``{"data": …}``, with HTTP Basic auth (token id : token secret). The event stream
(``/system/v1/webhook-events/stream``) is read by ``muxhook.muxstream``.

Credentials come from ``--token-id``/``--token-secret``, then ``MUX_TOKEN_ID``/
``MUX_TOKEN_SECRET`` in the environment, then ``.env``, like the signing secret; neither is
ever shown in full. ``MUX_BASE_URL`` (environment or ``.env``) points at another API host.

Every failure is one ``MuxhookError`` line: the token refused (401) or short of a
permission (403; Mux also answers 404 on a collection the token may not see) and an
address Mux refuses are bad input (exit 2); the API out of reach, failing (5xx) or still
rate-limiting (429) after ``RATE_LIMIT_RETRIES`` waits are the world refusing (exit 4).
"""

from __future__ import annotations

import os
import time
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from muxhook.errors import EnvironmentProblem, MuxhookError, UsageError
from muxhook.secrets import mask, read_dotenv

if typing.TYPE_CHECKING:
    import httpx

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "RATE_LIMIT_RETRIES",
    "STREAM_PATH",
    "TOKEN_ID_ENV",
    "TOKEN_SECRET_ENV",
    "Credentials",
    "Endpoint",
    "MuxApi",
    "Whoami",
    "api_error",
    "base_url",
    "resolve_credentials",
]

TOKEN_ID_ENV = "MUX_TOKEN_ID"  # noqa: S105  (variable names, not secrets)
TOKEN_SECRET_ENV = "MUX_TOKEN_SECRET"  # noqa: S105
BASE_URL_ENV = "MUX_BASE_URL"
DEFAULT_BASE_URL = "https://api.mux.com"
STREAM_PATH = "/system/v1/webhook-events/stream"
TOKENS_PAGE = "Dashboard › Settings › Access Tokens"
#: Waits on a 429 before giving up (each as long as Retry-After says, else 1, 2, 4 s).
RATE_LIMIT_RETRIES = 3
#: The longest single wait muxhook accepts from a Retry-After header.
MAX_RETRY_WAIT = 60.0

#: What each use of the API needs, as whoami lists it (the SDK: "Requires an access token
#: with system:read and/or system:write permissions").
READ, WRITE = "system:read", "system:write"


class Credentials(NamedTuple):
    """An access token and where it was found; its repr never shows either half."""

    token_id: str
    token_secret: str
    source: str  # "--token-id", "MUX_TOKEN_ID", ".env"

    def __repr__(self) -> str:
        return f"Credentials({self.masked}, from {self.source})"

    @property
    def masked(self) -> str:
        """The token id as muxhook shows it: first four characters and its length."""
        return mask(self.token_id)


class Whoami(NamedTuple):
    """``GET /system/v1/whoami``: the token, its environment and its permissions."""

    token_name: str
    environment_id: str
    environment_name: str
    environment_type: str
    organization_name: str
    permissions: tuple[str, ...]

    def lacks(self, permission: str) -> bool:
        """Whether the token does not have ``permission`` (write implies read)."""
        if permission == READ and WRITE in self.permissions:
            return False
        return permission not in self.permissions


class Endpoint(NamedTuple):
    """A webhook endpoint; ``signing_secret`` is only ever set in ``create``'s answer."""

    id: str
    address: str
    enabled: bool
    created_at: str
    signing_secret: str | None = None

    def __repr__(self) -> str:
        secret = mask(self.signing_secret) if self.signing_secret else None
        return f"Endpoint({self.id!r}, {self.address!r}, enabled={self.enabled}, secret={secret})"


def resolve_credentials(
    token_id: str | None = None,
    token_secret: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Credentials:
    """The token from the flags, then the environment, then ``.env``; one line if missing."""
    env = os.environ if environ is None else environ
    dotenv = read_dotenv((cwd or Path.cwd()) / ".env")
    found_id, id_from = _first(token_id, "--token-id", env, dotenv, TOKEN_ID_ENV)
    found_secret, secret_from = _first(
        token_secret, "--token-secret", env, dotenv, TOKEN_SECRET_ENV
    )
    if not found_id or not found_secret:
        missing = " and ".join(
            name
            for name, value in ((TOKEN_ID_ENV, found_id), (TOKEN_SECRET_ENV, found_secret))
            if not value
        )
        raise UsageError(
            f"no Mux API token: set {missing} (an access token from {TOKENS_PAGE}), add them "
            "to .env, or pass --token-id and --token-secret"
        )
    source = id_from if id_from == secret_from else f"{id_from} and {secret_from}"
    return Credentials(found_id.strip(), found_secret.strip(), source)


def _first(
    flag: str | None,
    flag_name: str,
    env: Mapping[str, str],
    dotenv: Mapping[str, str],
    variable: str,
) -> tuple[str, str]:
    if flag:
        return flag, flag_name
    if env.get(variable):
        return env[variable], variable
    if dotenv.get(variable):
        return dotenv[variable], ".env"
    return "", ""


def base_url(environ: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> str:
    """The API's base URL: ``MUX_BASE_URL`` (environment, then ``.env``) or api.mux.com."""
    env = os.environ if environ is None else environ
    value = env.get(BASE_URL_ENV) or read_dotenv((cwd or Path.cwd()) / ".env").get(BASE_URL_ENV)
    if not value:
        return DEFAULT_BASE_URL
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{BASE_URL_ENV}={value!r} is not an http:// or https:// URL")
    return value.strip().rstrip("/")


def api_error(
    status: int,
    body: bytes,
    *,
    action: str,
    credentials: Credentials,
    needs: str | None = None,
    whoami: Whoami | None = None,
    retry_after: float | None = None,
) -> MuxhookError:
    """The one line for an API answer that is not a success.

    Args:
        action: what was asked, in words ("list the webhook endpoints").
        needs: the permission ``action`` takes, named when the token is refused.
        whoami: the token's known permissions, named beside what it lacks.
    """
    detail = _error_detail(body)
    said = f": Mux says {detail!r}" if detail else ""
    if status == 401:
        return UsageError(
            f"Mux refused the API token {credentials.masked} from {credentials.source} (401) "
            f"when asked to {action}; check {TOKEN_ID_ENV} and {TOKEN_SECRET_ENV} "
            f"({TOKENS_PAGE})"
        )
    if status == 403 or (status == 404 and needs is not None):
        if needs is None or (whoami is not None and not whoami.lacks(needs)):
            has = f" although the token has {needs}" if needs else ""
            return UsageError(f"Mux refused to {action} ({status}){has}{said}")
        has = ", ".join(whoami.permissions) if whoami and whoami.permissions else "none"
        name = f" {whoami.token_name!r}" if whoami and whoami.token_name else ""
        return UsageError(
            f"the Mux API token{name} may not {action} ({status}): it lacks {needs} (it has: "
            f"{has}); give a token System {needs.split(':')[1]} access in {TOKENS_PAGE}"
        )
    if status == 429:
        wait = f" (it asks to wait {retry_after:g} s)" if retry_after else ""
        return EnvironmentProblem(
            f"the Mux API is still rate-limiting (429) after {RATE_LIMIT_RETRIES} retries "
            f"when asked to {action}{wait}; wait a minute and try again"
        )
    if status >= 500:
        return EnvironmentProblem(f"the Mux API failed ({status}) to {action}{said}; try again")
    return UsageError(f"Mux refused to {action} ({status}){said}")


def _error_detail(body: bytes) -> str:
    """Mux's own words from an error body: ``{"error": {"messages": [...]}}`` and kin."""
    import json

    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        text = body.decode("utf-8", "replace").strip()
        return " ".join(text.split())[:200]
    error = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
    if isinstance(error, dict):
        messages = error.get("messages") or error.get("message") or error.get("type") or ""
        if isinstance(messages, list):
            return "; ".join(str(m) for m in messages)[:300]
        return str(messages)[:300]
    return str(error)[:300]


def retry_after_seconds(headers: Mapping[str, str], attempt: int) -> float:
    """How long to wait after a 429: ``Retry-After`` (seconds) when given, else 1, 2, 4 s."""
    value = headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        seconds = float(2**attempt)
    return min(max(seconds, 0.0), MAX_RETRY_WAIT)


class MuxApi:
    """A small synchronous client of the System API (the endpoint routes and whoami).

    Args:
        credentials: the access token.
        base: the API's base URL (``base_url()``).
        on_wait: told ``(seconds, why)`` before each wait on a 429, so the CLI can say it.
        transport: an httpx transport, for tests that do not run a server.
        sleep: how to wait (tests pass a fake).
    """

    def __init__(
        self,
        credentials: Credentials,
        base: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 15.0,
        on_wait: Callable[[float, str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import httpx

        self.credentials = credentials
        self.base = base.rstrip("/")
        self.on_wait = on_wait
        self.whoami_seen: Whoami | None = None
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.base,
            auth=(credentials.token_id, credentials.token_secret),
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            headers={"accept": "application/json", "user-agent": _user_agent()},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> MuxApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- routes ----------------------------------------------------------------

    def whoami(self) -> Whoami:
        """The token's name, environment and permissions (any token may ask)."""
        data = self._data("GET", "/system/v1/whoami", action="check the API token")
        if not isinstance(data, dict):
            raise self._malformed("whoami")
        permissions = data.get("permissions")
        found = Whoami(
            token_name=str(data.get("access_token_name") or ""),
            environment_id=str(data.get("environment_id") or ""),
            environment_name=str(data.get("environment_name") or ""),
            environment_type=str(data.get("environment_type") or ""),
            organization_name=str(data.get("organization_name") or ""),
            permissions=tuple(str(p) for p in permissions) if isinstance(permissions, list) else (),
        )
        self.whoami_seen = found
        return found

    def list_endpoints(self, *, limit: int = 100, max_pages: int = 50) -> list[Endpoint]:
        """Every webhook endpoint of the token's environment, newest first."""
        found: list[Endpoint] = []
        for page in range(1, max_pages + 1):  # bounded: an API that never ends a list
            data = self._data(
                "GET",
                "/system/v1/webhooks",
                params={"page": page, "limit": limit},
                action="list the webhook endpoints",
                needs=READ,
            )
            if not isinstance(data, list):
                raise self._malformed("the webhook list")
            found += [_endpoint(item) for item in data]
            if len(data) < limit:
                break
        return found

    def create_endpoint(self, address: str) -> Endpoint:
        """A new, enabled endpoint; its answer is the only one that carries the secret."""
        data = self._data(
            "POST",
            "/system/v1/webhooks",
            json={"address": address},
            action=f"create a webhook endpoint for {address}",
            needs=WRITE,
        )
        return _endpoint(data)

    def update_endpoint(
        self, endpoint_id: str, *, address: str | None = None, enabled: bool | None = None
    ) -> Endpoint:
        """Change an endpoint's address and/or whether it is enabled."""
        body: dict[str, object] = {}
        if address is not None:
            body["address"] = address
        if enabled is not None:
            body["enabled"] = enabled
        if not body:
            raise UsageError("say what to change: --url URL, --enable or --disable")
        data = self._data(
            "PATCH",
            f"/system/v1/webhooks/{_segment(endpoint_id)}",
            json=body,
            action=f"update the webhook endpoint {endpoint_id}",
            needs=WRITE,
            known_id=endpoint_id,
        )
        return _endpoint(data)

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Remove an endpoint: Mux stops sending to its address."""
        self._request(
            "DELETE",
            f"/system/v1/webhooks/{_segment(endpoint_id)}",
            action=f"delete the webhook endpoint {endpoint_id}",
            needs=WRITE,
            known_id=endpoint_id,
            accept="*/*",
        )

    # -- internals -------------------------------------------------------------

    def _data(self, method: str, path: str, **options: typing.Any) -> object:
        response = self._request(method, path, **options)
        try:
            parsed = response.json()
        except ValueError:
            raise self._malformed(options["action"]) from None
        if not isinstance(parsed, dict) or "data" not in parsed:
            raise self._malformed(options["action"])
        return parsed["data"]

    def _request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        needs: str | None = None,
        known_id: str | None = None,
        accept: str | None = None,
        **options: typing.Any,
    ) -> httpx.Response:
        import httpx

        headers = {"accept": accept} if accept else None
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                response = self._client.request(method, path, headers=headers, **options)
            except httpx.TimeoutException:
                raise EnvironmentProblem(
                    f"the Mux API at {self.base} did not answer in time when asked to {action}"
                ) from None
            except httpx.HTTPError as error:
                raise EnvironmentProblem(
                    f"could not reach the Mux API at {self.base} to {action}: "
                    f"{_connection_reason(error)} (is {BASE_URL_ENV} right?)"
                ) from None
            if response.status_code == 429 and attempt < RATE_LIMIT_RETRIES:
                wait = retry_after_seconds(response.headers, attempt)
                if self.on_wait is not None:
                    self.on_wait(wait, f"the Mux API is rate-limiting (429) {action}")
                self._sleep(wait)
                continue
            if response.is_success:
                return response
            if response.status_code == 404 and known_id is not None:
                raise UsageError(
                    f"no webhook endpoint {known_id!r} in this environment "
                    "(list them with: muxhook endpoints list)"
                )
            raise api_error(
                response.status_code,
                response.content,
                action=action,
                credentials=self.credentials,
                needs=needs,
                whoami=self.whoami_seen,
                retry_after=retry_after_seconds(response.headers, attempt),
            )
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _malformed(self, what: str) -> EnvironmentProblem:
        return EnvironmentProblem(
            f"the Mux API at {self.base} answered {what} with something that is not its "
            f"documented shape; is {BASE_URL_ENV} right?"
        )


def _endpoint(data: object) -> Endpoint:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise EnvironmentProblem(
            f"the Mux API answered with a webhook endpoint that has no id; is {BASE_URL_ENV} right?"
        )
    secret = data.get("signing_secret")
    return Endpoint(
        id=data["id"],
        address=str(data.get("address") or ""),
        enabled=bool(data.get("enabled", True)),
        created_at=str(data.get("created_at") or ""),
        signing_secret=secret if isinstance(secret, str) and secret else None,
    )


def _segment(endpoint_id: str) -> str:
    """An id as one path segment: nothing in it can reach another route."""
    from urllib.parse import quote

    cleaned = endpoint_id.strip()
    if not cleaned:
        raise UsageError("give an endpoint id (list them with: muxhook endpoints list)")
    return quote(cleaned, safe="")


def _connection_reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "name" in lowered and ("resolv" in lowered or "known" in lowered):
        return "the host name does not resolve"
    return " ".join(text.split())[:200]


def _user_agent() -> str:
    from muxhook import __version__

    return f"muxhook/{__version__}"
