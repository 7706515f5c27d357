"""``muxhook endpoints``: Mux webhook endpoints, through Mux's System API."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Annotated, Any

from muxhook.errors import ExitCode, UsageError
from muxhook.options import EnvFile, TokenId, TokenSecret, argument, option

EndpointId = Annotated[str, argument(metavar="ID", help="An id from 'muxhook endpoints list'.")]

if typing.TYPE_CHECKING:
    from muxhook.render import Output

__all__ = [
    "EndpointsCreateOptions",
    "EndpointsDeleteOptions",
    "EndpointsListOptions",
    "EndpointsUpdateOptions",
    "endpoints_create",
    "endpoints_delete",
    "endpoints_list",
    "endpoints_update",
]


@dataclasses.dataclass(frozen=True)
class EndpointsListOptions:
    """``muxhook endpoints list``'s options."""

    json_: Annotated[bool, option("--json", help="One JSON object per line.")] = False
    token_id: TokenId = None
    token_secret: TokenSecret = None


@dataclasses.dataclass(frozen=True)
class EndpointsCreateOptions:
    """``muxhook endpoints create``'s options."""

    url: Annotated[str, argument(metavar="URL", help="Where Mux sends webhooks.")]
    env_file: EnvFile = ".env"
    token_id: TokenId = None
    token_secret: TokenSecret = None


@dataclasses.dataclass(frozen=True)
class EndpointsUpdateOptions:
    """``muxhook endpoints update``'s options."""

    endpoint_id: EndpointId
    url: Annotated[str | None, option("--url", help="The new address.", show_default=False)] = None
    enable: Annotated[
        bool | None, option("--enable/--disable", help="Send to it, or stop.", show_default=False)
    ] = None
    token_id: TokenId = None
    token_secret: TokenSecret = None


@dataclasses.dataclass(frozen=True)
class EndpointsDeleteOptions:
    """``muxhook endpoints delete``'s options."""

    endpoint_id: EndpointId
    env_file: EnvFile = ".env"
    token_id: TokenId = None
    token_secret: TokenSecret = None


def endpoints_list(out: Output, options: EndpointsListOptions) -> ExitCode:
    """List the environment's endpoints: id, enabled, address, creation time."""
    from muxhook import muxapi

    with _mux_api(out, options.token_id, options.token_secret, muxapi.READ) as api:
        found = api.list_endpoints()
        environment = api.whoami_seen.environment_name if api.whoami_seen else ""
    for endpoint in found:
        if options.json_:
            fields = endpoint._asdict()
            fields.pop("signing_secret")
            out.result(json.dumps(fields, ensure_ascii=False, separators=(",", ":")))
        else:
            state = "enabled " if endpoint.enabled else "disabled"
            out.result(f"{endpoint.id}  {state}  {endpoint.address}  {endpoint.created_at}")
    if not found:
        where = f" in environment {environment!r}" if environment else ""
        out.say(f"no webhook endpoints{where}")
    return ExitCode.OK


def endpoints_create(out: Output, options: EndpointsCreateOptions) -> ExitCode:
    """Create an endpoint; its signing secret goes into .env (0600), never printed."""
    from muxhook import envfile, muxapi
    from muxhook.secrets import mask
    from muxhook.sending import check_url

    check_url(options.url, "URL")
    with _mux_api(out, options.token_id, options.token_secret, muxapi.WRITE) as api:
        created = api.create_endpoint(options.url)
    out.result(f"{created.id}  enabled   {created.address}  {created.created_at}")
    if not created.signing_secret:
        out.warn("Mux sent no signing secret for it; nothing was written to " + options.env_file)
        return ExitCode.OK
    kept = envfile.put_secret(
        Path(options.env_file),
        "MUX_WEBHOOK_SECRET",
        created.signing_secret,
        endpoint_id=created.id,
        address=created.address,
    )
    previous = " (your previous value is kept there as a comment)" if kept else ""
    out.say(
        f"its signing secret {mask(created.signing_secret)} is in {options.env_file} as "
        f"MUX_WEBHOOK_SECRET (0600){previous}; Mux shows it only once"
    )
    return ExitCode.OK


def endpoints_update(out: Output, options: EndpointsUpdateOptions) -> ExitCode:
    """Change an endpoint's address, or enable or disable it."""
    from muxhook import muxapi
    from muxhook.sending import check_url

    if options.url is not None:
        check_url(options.url, "--url")
    if options.url is None and options.enable is None:
        raise UsageError("say what to change: --url URL, --enable or --disable")
    with _mux_api(out, options.token_id, options.token_secret, muxapi.WRITE) as api:
        updated = api.update_endpoint(
            options.endpoint_id, address=options.url, enabled=options.enable
        )
    state = "enabled " if updated.enabled else "disabled"
    out.result(f"{updated.id}  {state}  {updated.address}  {updated.created_at}")
    return ExitCode.OK


def endpoints_delete(out: Output, options: EndpointsDeleteOptions) -> ExitCode:
    """Delete an endpoint (Mux stops sending to it); its secret leaves .env."""
    from muxhook import envfile, muxapi

    with _mux_api(out, options.token_id, options.token_secret, muxapi.WRITE) as api:
        api.delete_endpoint(options.endpoint_id)
    out.say(f"deleted Mux endpoint {options.endpoint_id}: Mux stops sending to it")
    env_file = Path(options.env_file)
    if envfile.take_back(env_file, "MUX_WEBHOOK_SECRET", endpoint_id=options.endpoint_id):
        gone = "" if env_file.exists() else ", which held nothing else and is removed"
        out.say(f"its signing secret left {options.env_file}{gone}")
    return ExitCode.OK


def _mux_api(out: Output, token_id: str | None, token_secret: str | None, needs: str) -> Any:
    """A System API client whose token is checked (``whoami``) and has ``needs``."""
    from muxhook import muxapi

    credentials = muxapi.resolve_credentials(token_id, token_secret)
    api = muxapi.MuxApi(
        credentials,
        muxapi.base_url(),
        on_wait=lambda seconds, why: out.warn(f"{why}; waiting {seconds:g} s"),
    )
    try:
        whoami = api.whoami()
        if whoami.lacks(needs):
            action = (
                "list webhook endpoints" if needs == muxapi.READ else "change webhook endpoints"
            )
            raise muxapi.api_error(
                403, b"", action=action, credentials=credentials, needs=needs, whoami=whoami
            )
    except BaseException:
        api.close()
        raise
    return api
