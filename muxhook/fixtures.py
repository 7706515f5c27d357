"""Fixtures: the exact bodies muxhook sends, bundled or the user's own.

A fixture file is the body itself, byte for byte: bundled ones live in
``fixtures/<provider>/<event>.json`` (``thumbnail.jpg`` for Millicast's binary
hook). Its bytes go out unchanged unless ``--set``/``--unset`` override a field;
then the body is re-serialised as compact JSON, as the platforms send it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

from muxhook import catalog, providers
from muxhook.errors import FixtureError, UsageError

__all__ = [
    "Fixture",
    "apply_overrides",
    "bundled_dir",
    "load",
    "parse_assignment",
    "read",
    "save",
    "saved_name",
    "set_path",
    "split_key",
    "unset_path",
]

_PATH_SUFFIXES = (".json", ".jpg", ".jpeg", ".bin")
_DIGITS = re.compile(r"[0-9]{1,9}")  # a list index: ASCII digits (int() reads more)


class Fixture(NamedTuple):
    """A body to send, with the provider and event type it belongs to."""

    provider: str
    body: bytes
    event_type: str | None
    path: Path | None = None


def bundled_dir() -> Path:
    """Where the bundled fixtures are: inside the wheel, or the source checkout's fixtures/."""
    package = Path(__file__).resolve().parent
    installed = package / "_bundled"
    return installed if installed.is_dir() else package.parent / "fixtures"


def load(ref: str, *, provider: str | None = None) -> Fixture:
    """Resolve ``ref``, an event name (``video.asset.ready``, ``fastpix:…``) or a file path."""
    if ref == "-":
        raise UsageError("reading a fixture from stdin is done by the command, not load()")
    path = Path(ref)
    if path.exists() or ref.endswith(_PATH_SUFFIXES) or "/" in ref or "\\" in ref:
        return load_file(path, provider=provider)
    name, event = catalog.lookup(ref, provider)
    bundled = bundled_dir() / name / providers.get(name).fixture_name(event.name)
    fixture = load_file(bundled, provider=name)
    return fixture._replace(event_type=event.name)


def read(path: Path, what: str = "fixture") -> bytes:
    """A file's bytes, or one FixtureError line saying why it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FixtureError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FixtureError(f"{path}: is a directory; give one {what} file") from None
    except OSError as error:
        raise FixtureError(f"{path}: cannot read it ({error.strerror})") from None


def load_file(path: Path, *, provider: str | None = None) -> Fixture:
    """Read a fixture file; the provider comes from ``provider``, its folder or its body."""
    body = read(path)
    name = provider or (path.parent.name if path.parent.name in providers.NAMES else None)
    name = name or providers.guess(body)
    module = providers.get(name)
    return Fixture(name, body, module.event_type(body), path)


def save(
    folder: Path,
    *,
    provider: str | None,
    event_type: str | None,
    number: int,
    at: float,
    body: bytes,
    verdict: str | None = None,
) -> Path:
    """Write ``body`` as a replayable fixture: ``folder/<provider>/<time>-<number>-<type>.json``.

    The names sort in arrival order, and the provider folder tells ``load_file`` whose
    event it is. Files are owner-only: they hold real payloads. A request that is not a
    fixture ``replay`` should sign and send — its signature was not valid (``verdict``),
    or its body is neither JSON nor a JPEG of a known provider — is kept marked: its name
    ends in ``.invalid``, ``.unverified`` or ``.body``, which ``replay`` does not read.
    """
    import os

    from muxhook._files import private_folder

    name = saved_name(event_type=event_type, number=number, at=at, body=body)
    if verdict not in (None, "valid"):
        name += f".{verdict}"
    elif not replayable(provider, body):
        name += ".body"
    target = folder / (provider or "unknown") / name
    try:
        private_folder(target.parent)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(body)
    except OSError as error:
        from muxhook.errors import EnvironmentProblem

        raise EnvironmentProblem(f"cannot write {target}: {error.strerror}") from None
    return target


def replayable(provider: str | None, body: bytes) -> bool:
    """Whether ``body`` is an event ``replay`` can sign and send as a fixture: a JSON
    object (or a JPEG, as a thumbnail) from a known provider."""
    return provider is not None and (body.startswith(b"\xff\xd8") or _json_object(body))


def saved_name(*, event_type: str | None, number: int, at: float, body: bytes) -> str:
    """The file name ``save`` gives an event: ``<time>-<number>-<type>.json`` (or ``.jpg``)."""
    import time

    kind = "".join(c if c.isalnum() or c in "._-" else "_" for c in event_type or "unknown")
    suffix = ".jpg" if body.startswith(b"\xff\xd8") else ".json"
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(at))
    return f"{stamp}-{number:06d}-{kind[:120]}{suffix}"


def _json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False


def parse_assignment(text: str) -> tuple[str, object]:
    """``data.duration=12.5`` → ``("data.duration", 12.5)``; a non-JSON value is a string."""
    path, sep, raw = text.partition("=")
    if not sep or not path:
        raise UsageError(f"--set {text!r}: write PATH=VALUE, e.g. --set data.passthrough='\"x\"'")
    try:
        value: object = json.loads(raw, parse_constant=_not_json)
    except ValueError:
        value = raw  # a bare word (NaN and Infinity too: they are not JSON) is a string
    except RecursionError:
        raise UsageError(f"--set {path}: the value nests too deeply") from None
    return path, value


def apply_overrides(body: bytes, sets: list[str], unsets: list[str], *, origin: str = "") -> bytes:
    """Apply ``--set PATH=JSON`` and ``--unset PATH`` to a JSON body; compact JSON out."""
    if not sets and not unsets:
        return body
    where = f"{origin}: " if origin else ""
    try:
        document = json.loads(body, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError):
        raise FixtureError(f"{where}--set/--unset need a JSON body, and this one is not") from None
    except RecursionError:
        raise FixtureError(f"{where}the body nests too deeply to edit") from None
    for text in sets:
        path, value = parse_assignment(text)
        document = set_path(document, path, value, option="--set")
    for path in unsets:
        document = unset_path(document, path)
    try:
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except RecursionError:
        raise FixtureError(f"{where}the body would nest too deeply") from None
    except UnicodeEncodeError:
        raise FixtureError(f"{where}a --set value is not valid UTF-8 text") from None


def with_fresh_ids(body: bytes, provider: str) -> bytes:
    """``body`` with new ids, each the same shape as the one it replaces: the event's id,
    its object's, and the ids of the objects it names (``asset_id``, ``upload_id``, a
    playback id…), but not the environment's, which is the account's own.

    Every string in the body equal to an old id is replaced (``data.id`` is the asset's id
    as much as ``object.id`` is), so the body stays consistent; an app that ignores
    duplicates, as the platforms recommend, takes it as a new event about new objects. A
    body with no ids (or not JSON) is returned as it is.
    """
    described = providers.get(provider).describe(body)
    old = [value for value in (described.event_id, described.object_id) if value]
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return body
    old += _named_ids(document)
    if not old:
        return body
    mapping = {value: _fresh_like(value) for value in dict.fromkeys(old)}
    document = _replace_strings(document, mapping)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


#: Ids shorter than this are not taken for an object's id (a "1", a short code).
_SHORTEST_ID = 6
#: Where an id is the account's or the sender's, not an object's: kept as it is.
_KEPT_IDS = frozenset({"environment", "accessor", "accessor_source", "request_id"})


def _named_ids(node: object) -> list[str]:
    """The string values of the keys that name an id (``id``, ``uid``, ``*_id``)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _KEPT_IDS:
                continue
            named = key in ("id", "uid") or key.endswith("_id")
            if named and isinstance(value, str) and len(value) >= _SHORTEST_ID:
                found.append(value)
            else:
                found += _named_ids(value)
    elif isinstance(node, list):
        for item in node:
            found += _named_ids(item)
    return found


_HEX = re.compile(r"[0-9a-f]{16,}|[0-9A-F]{16,}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def _fresh_like(value: str) -> str:
    """A random value shaped like ``value``: a UUID stays a UUID (v4), a digit a digit, a
    letter a letter of the same case; other characters stay."""
    import secrets
    import string
    import uuid

    if _UUID.fullmatch(value):
        return str(uuid.uuid4())
    if _HEX.fullmatch(value):
        fresh_hex = secrets.token_hex(len(value) // 2 + 1)[: len(value)]
        return fresh_hex.upper() if value.isupper() else fresh_hex
    pools = (string.digits, string.ascii_lowercase, string.ascii_uppercase)
    fresh = "".join(
        next((secrets.choice(pool) for pool in pools if char in pool), char) for char in value
    )
    return fresh if fresh != value else _fresh_like(value)


def _replace_strings(node: object, mapping: dict[str, str]) -> object:
    if isinstance(node, str):
        return mapping.get(node, node)
    if isinstance(node, list):
        return [_replace_strings(item, mapping) for item in node]
    if isinstance(node, dict):
        return {key: _replace_strings(value, mapping) for key, value in node.items()}
    return node


def _not_json(constant: str) -> object:
    """``NaN``, ``Infinity`` and ``-Infinity`` are Python's, not JSON's."""
    raise ValueError(f"{constant} is not JSON")


def split_key(container: object, parts: list[str]) -> tuple[str, list[str]]:
    """The next key: the longest run of dotted parts that is an existing key, else one part.

    Keys may contain dots (robots events nest their job under a key such as
    ``robots.job.summarize.completed``), so ``data.robots.job.summarize.completed.status``
    finds that key without any quoting.
    """
    if isinstance(container, dict):
        for end in range(len(parts), 1, -1):
            candidate = ".".join(parts[:end])
            if candidate in container:
                return candidate, parts[end:]
    return parts[0], parts[1:]


def _step(container: object, key: str, path: str, option: str, *, create: bool) -> object:
    if isinstance(container, list):
        index = _index(container, key, path, option)
        return container[index]
    if isinstance(container, dict):
        if key not in container:
            if not create:
                raise UsageError(f"{option} {path}: no field {key!r} there")
            container[key] = {}
        return container[key]
    raise UsageError(
        f"{option} {path}: {key!r} is inside a {type(container).__name__}, not an object"
    )


def _index(
    container: list[object], key: str, path: str, option: str, *, allow_end: bool = False
) -> int:
    if not _DIGITS.fullmatch(key):
        raise UsageError(
            f"{option} {path}: {key!r} is not a list index (a list is indexed 0, 1, …)"
        )
    index = int(key)
    limit = len(container) + (1 if allow_end else 0)
    if not 0 <= index < limit:
        raise UsageError(
            f"{option} {path}: index {index} is out of range (the list has {len(container)} items)"
        )
    return index


def _walk(document: object, path: str, option: str, *, create: bool) -> tuple[object, str]:
    """The container that holds ``path``'s last key, and that key; with ``create``,
    missing objects on the way are made."""
    parts = path.split(".")
    if "" in parts:
        raise UsageError(f"{option} {path!r}: the path has an empty part")
    node = document
    key, rest = split_key(node, parts)
    while rest:
        node = _step(node, key, path, option, create=create)
        key, rest = split_key(node, rest)
    return node, key


def set_path(document: object, path: str, value: object, option: str = "--set") -> object:
    """Set the field at dotted ``path`` (``option`` names the setting in error messages)."""
    node, key = _walk(document, path, option, create=True)
    if isinstance(node, list):
        index = _index(node, key, path, option, allow_end=True)
        if index == len(node):
            node.append(value)
        else:
            node[index] = value
    elif isinstance(node, dict):
        node[key] = value
    else:
        raise UsageError(f"{option} {path}: cannot set {key!r} inside a {type(node).__name__}")
    return document


def unset_path(document: object, path: str, option: str = "--unset") -> object:
    """Remove the field at dotted ``path`` (``option`` names the setting in error messages)."""
    node, key = _walk(document, path, option, create=False)
    if isinstance(node, list):
        del node[_index(node, key, path, option)]
    elif isinstance(node, dict) and key in node:
        del node[key]
    else:
        raise UsageError(f"{option} {path}: no field {key!r} there")
    return document
