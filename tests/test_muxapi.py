"""Mux's System API from muxhook's side: the client, ``.env`` writing, ``muxhook endpoints``.

Everything runs against ``tests/mux_api_stub.py`` on 127.0.0.1, written from the SDK's
documented shapes. Each failure is one line and a documented exit code.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from muxhook import envfile, muxapi
from muxhook.errors import EnvironmentProblem, UsageError
from tests.apps import free_port
from tests.conftest import CLI
from tests.mux_api_stub import STREAM, TOKEN_ID, TOKEN_SECRET, WEBHOOKS, MuxApiStub, serve


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[MuxApiStub]:
    """The stub API, and the environment a user with a token has."""
    with serve(MuxApiStub()) as running:
        monkeypatch.setenv("MUX_BASE_URL", running.url)
        monkeypatch.setenv("MUX_TOKEN_ID", TOKEN_ID)
        monkeypatch.setenv("MUX_TOKEN_SECRET", TOKEN_SECRET)
        yield running


def client(stub: MuxApiStub, waits: list[float] | None = None) -> muxapi.MuxApi:
    credentials = muxapi.Credentials(TOKEN_ID, TOKEN_SECRET, "test")
    sleeps = waits if waits is not None else []
    return muxapi.MuxApi(credentials, stub.url, sleep=sleeps.append)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    return lines[0]


# -- credentials and the base URL -------------------------------------------------------------


def test_credentials_come_from_the_flags_then_the_environment_then_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MUX_TOKEN_ID=from-file\nMUX_TOKEN_SECRET='file-secret'\n")
    env = {"MUX_TOKEN_ID": "from-env", "MUX_TOKEN_SECRET": "env-secret"}
    assert muxapi.resolve_credentials("flag", "flag-secret", environ=env, cwd=tmp_path)[:3] == (
        "flag",
        "flag-secret",
        "--token-id and --token-secret",
    )
    found = muxapi.resolve_credentials(environ=env, cwd=tmp_path)
    assert (found.token_id, found.source) == ("from-env", "MUX_TOKEN_ID and MUX_TOKEN_SECRET")
    found = muxapi.resolve_credentials(environ={}, cwd=tmp_path)
    assert (found.token_id, found.token_secret, found.source) == (
        "from-file",
        "file-secret",
        ".env",
    )
    assert "file-secret" not in repr(found) and "from-file" not in repr(found)


def test_a_missing_token_half_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        muxapi.resolve_credentials(environ={"MUX_TOKEN_ID": "x"}, cwd=tmp_path)
    assert str(caught.value).startswith("no Mux API token: set MUX_TOKEN_SECRET (")


def test_the_base_url_is_checked(tmp_path: Path) -> None:
    assert muxapi.base_url({}, cwd=tmp_path) == "https://api.mux.com"
    assert muxapi.base_url({"MUX_BASE_URL": "http://127.0.0.1:9/"}, cwd=tmp_path) == (
        "http://127.0.0.1:9"
    )
    with pytest.raises(UsageError, match=r"MUX_BASE_URL='api\.mux\.com' is not an http"):
        muxapi.base_url({"MUX_BASE_URL": "api.mux.com"}, cwd=tmp_path)


# -- the client against the stub ------------------------------------------------------------


def test_whoami_and_the_endpoint_routes_round_trip(stub: MuxApiStub) -> None:
    with client(stub) as api:
        me = api.whoami()
        assert (me.token_name, me.environment_name) == ("muxhook tests", "Development")
        assert not me.lacks("system:write") and me.lacks("data:read")
        first = api.create_endpoint("https://example.com/a")
        second = api.create_endpoint("https://example.com/b")
        assert first.enabled and first.signing_secret and len(first.signing_secret) > 20
        assert first.signing_secret not in repr(first)
        listed = api.list_endpoints(limit=1)  # two pages of one
        assert [e.id for e in listed] == [second.id, first.id]  # newest first
        assert all(e.signing_secret is None for e in listed)  # only create returns it
        moved = api.update_endpoint(first.id, address="https://example.com/c", enabled=False)
        assert (moved.address, moved.enabled) == ("https://example.com/c", False)
        api.delete_endpoint(second.id)
        assert [e.id for e in api.list_endpoints()] == [first.id]
    assert [r.path.split("?")[0] for r in stub.requests][:3] == [
        "/system/v1/whoami",
        WEBHOOKS,
        WEBHOOKS,
    ]


def test_a_429_is_waited_out_as_retry_after_says(stub: MuxApiStub) -> None:
    stub.fail(WEBHOOKS, 429, times=2, retry_after="0.25")
    waits: list[float] = []
    with client(stub, waits) as api:
        assert api.list_endpoints() == []
    assert waits == [0.25, 0.25]


def test_a_429_that_does_not_end_is_one_line(stub: MuxApiStub) -> None:
    stub.fail(WEBHOOKS, 429, times=10)
    waits: list[float] = []
    with client(stub, waits) as api, pytest.raises(EnvironmentProblem) as caught:
        api.create_endpoint("https://example.com/x")
    assert waits == [1.0, 2.0, 4.0]  # no Retry-After: 1, 2, 4 s
    assert str(caught.value).startswith(
        "the Mux API is still rate-limiting (429) after 3 retries when asked to create"
    )


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("https://bad.invalid/hook", "address must be publicly reachable"),
        ("ftp://example.com/hook", "address must be a valid URL"),
    ],
)
def test_an_address_mux_refuses_is_one_line_with_its_words(
    stub: MuxApiStub, address: str, said: str
) -> None:
    with client(stub) as api, pytest.raises(UsageError) as caught:
        api.create_endpoint(address)
    assert str(caught.value) == (
        f"Mux refused to create a webhook endpoint for {address} (400): Mux says {said!r}"
    )


def test_an_unknown_endpoint_id_is_named(stub: MuxApiStub) -> None:
    with client(stub) as api, pytest.raises(UsageError) as caught:
        api.delete_endpoint("nope")
    assert str(caught.value) == (
        "no webhook endpoint 'nope' in this environment (list them with: muxhook endpoints list)"
    )


def test_an_api_out_of_reach_is_the_world_refusing() -> None:
    credentials = muxapi.Credentials(TOKEN_ID, TOKEN_SECRET, "test")
    with (
        muxapi.MuxApi(credentials, f"http://127.0.0.1:{free_port()}") as api,
        pytest.raises(EnvironmentProblem) as caught,
    ):
        api.whoami()
    assert "connection refused (is MUX_BASE_URL right?)" in str(caught.value)


# -- .env ------------------------------------------------------------------------------------


def test_a_secret_goes_into_dotenv_0600_and_the_previous_value_comes_back(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("PORT=3000\nMUX_WEBHOOK_SECRET=mine\nOTHER=x # note\n")
    path.chmod(0o644)
    assert envfile.put_secret(path, "MUX_WEBHOOK_SECRET", "new1", endpoint_id="e1", address="u")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "PORT=3000\n# muxhook kept: MUX_WEBHOOK_SECRET=mine\nOTHER=x # note\n" in text
    assert text.endswith(f"{envfile.MARKER}e1 (u)\nMUX_WEBHOOK_SECRET=new1\n")
    assert envfile.written_for(path, "MUX_WEBHOOK_SECRET") == "e1"
    # A second endpoint replaces muxhook's own line; the user's value stays kept once.
    assert not envfile.put_secret(path, "MUX_WEBHOOK_SECRET", "new2", endpoint_id="e2", address="v")
    assert path.read_text().count("MUX_WEBHOOK_SECRET=") == 2
    assert not envfile.take_back(path, "MUX_WEBHOOK_SECRET", endpoint_id="e1")  # not there now
    assert envfile.take_back(path, "MUX_WEBHOOK_SECRET", endpoint_id="e2")
    assert path.read_text() == "PORT=3000\nMUX_WEBHOOK_SECRET=mine\nOTHER=x # note\n"


def test_a_dotenv_left_empty_by_take_back_is_removed(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    envfile.put_secret(path, "MUX_WEBHOOK_SECRET", "s1", endpoint_id="e1", address="u")
    assert envfile.take_back(path, "MUX_WEBHOOK_SECRET", endpoint_id="e1")
    assert not path.exists()
    # Anything else in it, even a blank line, keeps the file.
    path.write_text("\n")
    envfile.put_secret(path, "MUX_WEBHOOK_SECRET", "s2", endpoint_id="e2", address="u")
    assert envfile.take_back(path, "MUX_WEBHOOK_SECRET", endpoint_id="e2")
    assert path.read_text() == "\n"


# -- muxhook endpoints, as a user runs it ------------------------------------------------------


def test_endpoints_create_list_update_delete(stub: MuxApiStub, cli: CLI, tmp_path: Path) -> None:
    created = cli("endpoints", "create", "https://example.com/webhooks/mux")
    assert created.code == 0, created.stderr
    endpoint_id = created.stdout.split()[0]
    secret = stub.endpoints[endpoint_id]["signing_secret"]
    env_file = tmp_path / ".env"
    assert f"MUX_WEBHOOK_SECRET={secret}\n" in env_file.read_text()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert secret not in created.stdout + created.stderr
    assert f"its signing secret {secret[:4]}… ({len(secret)} chars) is in .env" in created.stderr

    listed = cli("endpoints", "list", "--json")
    assert listed.code == 0
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert rows == [
        {
            "id": endpoint_id,
            "address": "https://example.com/webhooks/mux",
            "enabled": True,
            "created_at": stub.endpoints[endpoint_id]["created_at"],
        }
    ]
    assert secret not in listed.stdout

    updated = cli("endpoints", "update", endpoint_id, "--disable", "--url", "https://example.com/b")
    assert updated.code == 0, updated.stderr
    assert updated.stdout.split()[:3] == [endpoint_id, "disabled", "https://example.com/b"]
    text = cli("endpoints", "list")
    assert text.stdout.split()[:3] == [endpoint_id, "disabled", "https://example.com/b"]

    deleted = cli("endpoints", "delete", endpoint_id)
    assert deleted.code == 0, deleted.stderr
    assert stub.endpoints == {}
    # create made .env (there was none): delete leaves none, not an empty file.
    assert not env_file.exists()
    assert "its signing secret left .env, which held nothing else and is removed" in deleted.stderr
    assert cli("endpoints", "list").stderr == "no webhook endpoints in environment 'Development'\n"


@pytest.mark.parametrize(
    ("args", "setup", "code", "line"),
    [
        (
            ("endpoints", "list"),
            {"MUX_TOKEN_SECRET": "wrong"},
            2,
            "error: Mux refused the API token stub… (24 chars) from MUX_TOKEN_ID and "
            "MUX_TOKEN_SECRET (401) when asked to check the API token; check MUX_TOKEN_ID and "
            "MUX_TOKEN_SECRET (Dashboard › Settings › Access Tokens)",
        ),
        (
            ("endpoints", "create", "https://example.com/x"),
            {"permissions": ("video:read", "system:read")},
            2,
            "error: the Mux API token 'muxhook tests' may not change webhook endpoints (403): "
            "it lacks system:write (it has: video:read, system:read); give a token System write "
            "access in Dashboard › Settings › Access Tokens",
        ),
        (
            ("endpoints", "list"),
            {"permissions": ("video:read",)},
            2,
            "error: the Mux API token 'muxhook tests' may not list webhook endpoints (403): it "
            "lacks system:read (it has: video:read); give a token System read access in "
            "Dashboard › Settings › Access Tokens",
        ),
        (
            ("endpoints", "create", "https://bad.invalid/x"),
            {},
            2,
            "error: Mux refused to create a webhook endpoint for https://bad.invalid/x (400): "
            "Mux says 'address must be publicly reachable'",
        ),
        (
            ("endpoints", "create", "localhost:3000"),
            {},
            2,
            "error: URL 'localhost:3000': give an http:// or https:// URL",
        ),
        (
            ("endpoints", "update", "abc"),
            {},
            2,
            "error: say what to change: --url URL, --enable or --disable",
        ),
        (
            ("endpoints", "delete", "abc"),
            {},
            2,
            "error: no webhook endpoint 'abc' in this environment (list them with: "
            "muxhook endpoints list)",
        ),
        (
            ("endpoints", "list"),
            {"MUX_TOKEN_ID": ""},
            2,
            "error: no Mux API token: set MUX_TOKEN_ID (an access token from Dashboard › "
            "Settings › Access Tokens), add them to .env, or pass --token-id and --token-secret",
        ),
        (
            ("endpoints", "list"),
            {"MUX_BASE_URL": "unreachable"},
            4,
            "error: could not reach the Mux API at http://127.0.0.1:{free} to check the API "
            "token: connection refused (is MUX_BASE_URL right?)",
        ),
        (
            ("endpoints", "list"),
            {"fail": 500},
            4,
            "error: the Mux API failed (500) to list the webhook endpoints: Mux says "
            "'stub failure 500'; try again",
        ),
    ],
)
def test_endpoints_bad_input_is_one_line_and_its_exit_code(
    stub: MuxApiStub,
    cli: CLI,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    setup: dict[str, object],
    code: int,
    line: str,
) -> None:
    free = free_port()
    for name, value in setup.items():
        if name == "permissions":
            stub.permissions = value  # type: ignore[assignment]
        elif name == "fail":
            stub.fail(WEBHOOKS, int(value), times=10)  # type: ignore[call-overload]
        elif value == "unreachable":
            monkeypatch.setenv(name, f"http://127.0.0.1:{free}")
        else:
            monkeypatch.setenv(name, str(value))
    result = cli(*args)
    assert result.code == code, result.stderr
    assert one_error_line(result.stderr) == line.format(free=free)
    assert TOKEN_SECRET not in result.stderr


def test_a_rate_limit_is_retried_and_said(stub: MuxApiStub, cli: CLI) -> None:
    stub.fail(WEBHOOKS, 429, times=1, retry_after="0.2")
    result = cli("endpoints", "list")
    assert result.code == 0
    assert result.stderr.splitlines()[0] == (
        "warning: the Mux API is rate-limiting (429) list the webhook endpoints; waiting 0.2 s"
    )


def test_the_stream_route_of_the_stub_refuses_a_wrong_token(stub: MuxApiStub) -> None:
    import httpx

    answer = httpx.get(stub.url + STREAM, auth=(TOKEN_ID, "wrong"), timeout=5)
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {"type": "unauthorized", "messages": ["Unauthorized request"]}
    }
