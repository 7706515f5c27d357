"""Scenarios: ordered deliveries that share ids, for ``muxhook replay``.

A scenario is a TOML file with ``[[steps]]``. Each step is a fixture (a bundled event
name or a file) with overrides, an expected status and an optional pause; the steps
share ids through templates::

    name = "Direct upload to a ready asset"
    provider = "mux"                       # for bare event names (default mux)

    [vars]                                 # computed once per run, in order
    upload_id = "${new.mux_id}"

    [[steps]]
    name = "upload"
    event = "video.upload.created"         # or file = "recorded/upload.json" (relative)
    set = { "data.id" = "${vars.upload_id}" }
    unset = ["data.cors_origin"]
    expect = "2xx"                         # default: replay's --expect
    pause = 0.5                            # seconds to wait after this step

    [[steps]]
    event = "video.upload.asset_created"
    set = { "data.id" = "${steps.upload.data.id}" }

Templates, in any string inside ``vars``, ``set`` and ``file``:

- ``${new.uuid}``, ``${new.mux_id}`` (44 base62 characters), ``${new.hex32}``,
  ``${new.int}`` (1 … 2³¹-1): a fresh value at each occurrence (use ``vars`` to share one);
- ``${now}`` (unix seconds), ``${now.ms}`` (milliseconds), ``${now.iso}``
  (``2026-11-22T16:23:30.000000Z``);
- ``${env.NAME}``, ``${env.NAME:-default}`` (the default also replaces an empty value);
- ``${vars.NAME}``, ``${vars.NAME.path}``;
- ``${steps.NAME.path}`` or ``${steps.2.path}``: a field of an earlier step's body as
  sent (steps are numbered from 1; paths follow ``--set``'s rules).

A string that is exactly one template takes the value's JSON type (``"${now}"`` is a
number, ``"${steps.x.data.tracks}"`` a list); inside a longer string the value is
interpolated as text (JSON text for non-strings). ``$${`` is a literal ``${``.

``set`` values are TOML values used as JSON: strings stay strings (no JSON parsing,
unlike ``--set``), numbers, booleans and arrays replace the field, and a table is
merged into the object already there. So TOML's dotted keys (``data.id = "x"``) mean
the same as quoted paths (``"data.id" = "x"``) and never wipe the rest of ``data``. To
replace an object whole, unset it first: a step's ``unset`` runs before its ``set``.

Everything is checked before anything is sent: ``load_scenario`` checks the structure,
event names and template references; ``render`` builds every body or raises one error
naming the file, the step and the problem.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import difflib
import json
import math
import random
import re
import string
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from muxhook import catalog, fixtures, providers
from muxhook.errors import FixtureError, MuxhookError, UsageError, value_kind

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the backport (tomli; python_version < '3.11')
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "VERSION",
    "Scenario",
    "Step",
    "bundled_scenarios",
    "is_scenario",
    "load_scenario",
    "render",
]

#: The scenario format this muxhook reads; a file may say ``version = 1``.
VERSION = 1

_TOP_KEYS = ("name", "description", "provider", "version", "vars", "steps")
_STEP_KEYS = ("name", "event", "file", "provider", "set", "unset", "expect", "pause")
_FIXED = ("now", "now.ms", "now.iso", "new.uuid", "new.mux_id", "new.hex32", "new.int")
_KINDS = "new.uuid, new.mux_id, new.hex32, new.int, now, now.ms, now.iso, env.NAME, vars.NAME"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_ENV = re.compile(r"env\.([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?\Z", re.DOTALL)
_BASE62 = string.ascii_letters + string.digits
_MAX_INT = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Step:
    """One rendered delivery: the exact body to sign and send, and what to expect.

    A frozen dataclass rather than a NamedTuple: a tuple's ``index`` method would clash.
    """

    index: int  # 1-based, as in messages
    name: str | None
    provider: str
    event_type: str | None
    body: bytes
    expect: str | None  # normalised: "2xx", "200,202"; None: replay's --expect
    pause: float  # seconds to wait after this step
    source: str  # "scenarios/upload.toml step 2 (video.asset.created)"


class Scenario(NamedTuple):
    """A scenario file, checked but not rendered."""

    path: Path
    name: str
    description: str
    provider: str
    raw: dict[str, Any]


def is_scenario(path: Path) -> bool:
    """A ``.toml`` file that holds ``steps``.

    A ``.toml`` file that cannot be read or parsed counts too, so that
    ``load_scenario`` says what is wrong with it instead of it being skipped.
    """
    if path.suffix.lower() != ".toml" or not path.is_file():
        return False
    try:
        document = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return True
    return "steps" in document


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario (keys, types, event names, template references)."""
    content = fixtures.read(path, "scenario")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FixtureError(f"{path}: not UTF-8 text (byte {error.start})") from None
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise FixtureError(f"{path}: not valid TOML: {_toml_problem(text, error)}") from None
    except RecursionError:
        raise FixtureError(f"{path}: nests too deeply to read") from None
    spec = _check(path, raw)
    return Scenario(path, spec.name, spec.description, spec.provider, raw)


def _toml_problem(text: str, error: Exception) -> str:
    """The parser's message, in plain words for the mistakes everyone makes: an inline
    table (``set = { … }``) continued on the next line, which TOML 1.0 forbids, and a
    trailing comma inside one (``{ "a" = 1, }``)."""
    message = str(error)
    where = re.search(r"at line (\d+), column (\d+)", message)
    if where is None:
        return message
    number, column = int(where.group(1)), int(where.group(2))
    lines = text.splitlines()
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    if _unquoted(line).count("{") > _unquoted(line).count("}"):
        # The whole line opens more inline tables than it closes: one goes on below.
        return (
            f"line {number}: an inline table ({{ … }}) must end on the line it starts; write "
            "it on one line, or as a table of its own (e.g. [steps.set] after [[steps]])"
        )
    if line[column - 1 : column] == "}" and line[: column - 1].rstrip().endswith(","):
        return (
            f"line {number}: a trailing comma is not allowed in an inline table ({{ … }}); "
            "remove the comma before the }"
        )
    # tomllib's own words, led by where, as the lines above are.
    said = message[: where.start()].rstrip(" (").strip()
    return f"line {number}, column {column}: {said[:1].lower()}{said[1:]}"


def _unquoted(line: str) -> str:
    """A TOML line without its strings and its comment (to count its braces)."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', "", line)
    return bare.split("#", 1)[0]


def render(
    scenario: Scenario,
    *,
    environ: Mapping[str, str],
    now: float,
    rng: random.Random,
    extra_sets: Sequence[str] = (),
    extra_unsets: Sequence[str] = (),
) -> list[Step]:
    """Every step's body, in order; the same ``now`` and seeded ``rng`` give the same bytes.

    ``extra_sets``/``extra_unsets`` are ``--set PATH=JSON``/``--unset PATH`` applied to
    every step after its own overrides. Raises one ``UsageError`` (a ``FixtureError``
    or ``UnknownEventError``) naming the file and the step, or returns every step.
    """
    spec = _check(scenario.path, scenario.raw)
    run = _Run(spec, environ, now, rng)
    for name, value in spec.vars.items():
        with _located(f"{spec.where}: vars.{name}"):
            run.vars[name] = run.value(value, step=None)
    return [run.step(step, extra_sets, extra_unsets) for step in spec.steps]


def bundled_scenarios() -> dict[str, Path]:
    """The scenarios that ship with muxhook, by name (``mux-direct-upload``)."""
    folder = fixtures.bundled_dir() / "scenarios"
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}


# -- checking -------------------------------------------------------------------------


class _Problem(Exception):
    """A problem without its location; ``_located`` adds it."""


@contextlib.contextmanager
def _located(where: str) -> Iterator[None]:
    """Prefix any muxhook error raised inside with ``where: ``, keeping its class."""
    try:
        yield
    except _Problem as problem:
        raise FixtureError(f"{where}: {problem}") from None
    except MuxhookError as error:
        error.args = (f"{where}: {error}",)
        raise error from None


class _StepSpec(NamedTuple):
    number: int
    name: str | None
    event: str | None
    file: Any  # a string, possibly with templates
    provider: str | None
    sets: dict[str, Any]
    unsets: list[str]
    expect: str | None
    pause: float
    label: str  # 'step 2 "asset" (video.asset.created)'


class _Spec(NamedTuple):
    path: Path
    where: str
    name: str
    description: str
    provider: str
    vars: dict[str, Any]
    steps: list[_StepSpec]
    names: dict[str, int]  # step name → index


def _check(path: Path, raw: Mapping[str, Any]) -> _Spec:
    where = str(path)
    with _located(where):
        _no_unknown_keys(raw, _TOP_KEYS, "a scenario")
        version = raw.get("version", VERSION)
        if version != VERSION or isinstance(version, bool):
            raise _Problem(f"version {version!r}: this muxhook reads scenario version {VERSION}")
        name = _string(raw, "name", path.stem)
        description = _string(raw, "description", "")
        provider = _provider(raw.get("provider", providers.DEFAULT))
        variables = raw.get("vars", {})
        if not isinstance(variables, dict):
            raise _Problem("vars must be a table: [vars] with name = value lines")
        steps = raw.get("steps")
        if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
            raise _Problem("steps must be an array of tables: one [[steps]] block per step")
        if not steps:
            raise _Problem("no steps: add at least one [[steps]] block")
    var_names = list(variables)
    for position, var in enumerate(var_names):
        with _located(f"{where}: vars.{var}"):
            if not _NAME.match(var):
                raise _Problem("a var name is letters, digits, _ and -, starting with a letter")
            _check_value(variables[var], var_names[:position], var_names, None, {}, len(steps))
    names: dict[str, int] = {}
    for index, step in enumerate(steps, start=1):
        step_name = step.get("name")
        if isinstance(step_name, str) and _NAME.match(step_name):
            if step_name in names:
                raise FixtureError(
                    f"{where}: step {index}: name {step_name!r} is already step "
                    f"{names[step_name]}'s"
                )
            names[step_name] = index
    specs = [
        _check_step(where, index, step, provider, var_names, names, len(steps))
        for index, step in enumerate(steps, start=1)
    ]
    return _Spec(path, where, name, description, provider, variables, specs, names)


def _check_step(
    where: str,
    index: int,
    raw: Mapping[str, Any],
    default_provider: str,
    var_names: list[str],
    names: dict[str, int],
    total: int,
) -> _StepSpec:
    label = _label(index, raw)
    with _located(f"{where}: {label}"):
        _no_unknown_keys(raw, _STEP_KEYS, "a step")
        name = raw.get("name")
        if name is not None and not (isinstance(name, str) and _NAME.match(name)):
            raise _Problem(
                f"name {name!r}: a step name is letters, digits, _ and -, starting with a letter"
            )
        event, file = raw.get("event"), raw.get("file")
        if (event is None) == (file is None):
            raise _Problem('give either event = "video.asset.ready" or file = "path.json"')
        provider = _provider(raw["provider"]) if "provider" in raw else None
        if event is not None:
            if not isinstance(event, str):
                raise _Problem(f"event must be a string, not {_toml_type(event)}")
            catalog.lookup(event, provider or default_provider)
        else:
            if not isinstance(file, str):
                raise _Problem(f"file must be a string, not {_toml_type(file)}")
            with _located("file"):
                _check_value(file, var_names, var_names, index, names, total)
        sets = raw.get("set", {})
        if not isinstance(sets, dict):
            raise _Problem('set must be a table: set = { "data.id" = "…" }')
        for path, value in sets.items():
            with _located(f"set {path}"):
                if "" in path.split("."):
                    raise _Problem("the path has an empty part")
                _check_value(value, var_names, var_names, index, names, total)
        unsets = raw.get("unset", [])
        if not isinstance(unsets, list) or not all(isinstance(u, str) and u for u in unsets):
            raise _Problem('unset must be a list of paths: unset = ["data.passthrough"]')
        expect = _expect(raw["expect"]) if "expect" in raw else None
        pause = raw.get("pause", 0.0)
        if isinstance(pause, bool) or not isinstance(pause, (int, float)):
            raise _Problem(f"pause must be a number of seconds, not {_toml_type(pause)}")
        if not math.isfinite(pause) or pause < 0:
            raise _Problem(f"pause {pause}: give 0 or more seconds")
    return _StepSpec(index, name, event, file, provider, sets, unsets, expect, float(pause), label)


def _label(index: int, raw: Mapping[str, Any]) -> str:
    """``step 2 "asset" (video.asset.created)``: how messages and ``Step.source`` name it."""
    name = raw.get("name")
    what = raw.get("event", raw.get("file"))
    named = f' "{name}"' if isinstance(name, str) else ""
    return f"step {index}{named} ({what})" if isinstance(what, str) else f"step {index}{named}"


def _no_unknown_keys(raw: Mapping[str, Any], known: Sequence[str], what: str) -> None:
    unknown = [key for key in raw if key not in known]
    if not unknown:
        return
    words = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1)
        words.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    noun = "key" if len(unknown) == 1 else "keys"
    raise _Problem(f"unknown {noun} {', '.join(words)}; {what} has: {', '.join(known)}")


def _string(raw: Mapping[str, Any], key: str, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise _Problem(f"{key} must be a string, not {_toml_type(value)}")
    return value


def _provider(value: object) -> str:
    if value not in providers.NAMES:
        raise _Problem(f"provider {value!r}: choose one of {', '.join(providers.NAMES)}")
    return str(value)


def _expect(value: object) -> str:
    """``"2xx"``, ``"200,202"``, ``200`` → the normalised text replay parses."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Problem(f"expect must be a string or a status, not {_toml_type(value)}")
    from muxhook.replay import Expectation  # replay's own parser: one meaning of "2xx"

    try:
        return Expectation.parse(value).text
    except UsageError as error:
        raise _Problem(str(error)) from None


def _toml_type(value: object) -> str:
    kind = value_kind(value, mapping="table")
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _check_value(
    value: object,
    vars_before: Sequence[str],
    vars_all: Sequence[str],
    step: int | None,
    names: Mapping[str, int],
    total: int,
) -> None:
    """Types JSON can carry, and template syntax and references, without evaluating."""
    if isinstance(value, str):
        for part in _parse(value):
            if isinstance(part, _Ref):
                _check_ref(part, vars_before, vars_all, step, names, total)
    elif isinstance(value, dict):
        for item in value.values():
            _check_value(item, vars_before, vars_all, step, names, total)
    elif isinstance(value, list):
        for item in value:
            _check_value(item, vars_before, vars_all, step, names, total)
    elif isinstance(value, float) and not math.isfinite(value):
        raise _Problem(f"{value} is not a JSON number")
    elif isinstance(value, (dt.date, dt.time)):
        raise _Problem(f"{value} is a TOML date, which JSON has no type for; quote it")


# -- templates ------------------------------------------------------------------------


class _Ref(NamedTuple):
    """One ``${…}``: its kind, and the name, default and path it carries."""

    written: str  # "${steps.upload.data.id}", for messages
    kind: str  # one of _FIXED, or "env", "vars", "steps"
    name: str = ""
    default: str | None = None
    path: str = ""


def _parse(text: str) -> list[str | _Ref]:
    """Literal text and templates, in order; ``$${`` is a literal ``${``."""
    parts: list[str | _Ref] = []
    literal: list[str] = []
    position = 0
    while (start := text.find("$", position)) >= 0:
        if text.startswith("$${", start):
            literal.append(text[position:start] + "${")
            position = start + 3
        elif text.startswith("${", start):
            end = text.find("}", start + 2)
            if end < 0:
                raise _Problem(f"{text!r}: '${{' is not closed by '}}' (write $${{ for a '${{')")
            literal.append(text[position:start])
            if "".join(literal):
                parts.append("".join(literal))
            literal = []
            parts.append(_parse_ref(text[start : end + 1]))
            position = end + 1
        else:
            literal.append(text[position : start + 1])
            position = start + 1
    literal.append(text[position:])
    if "".join(literal):
        parts.append("".join(literal))
    return parts


def _parse_ref(written: str) -> _Ref:
    expression = written[2:-1]
    if expression in _FIXED:
        return _Ref(written, expression)
    if expression.startswith("env."):
        match = _ENV.match(expression)
        if not match:
            raise _Problem(f"{written}: write ${{env.NAME}} or ${{env.NAME:-default}}")
        return _Ref(written, "env", match[1], match[2])
    if expression.startswith("vars."):
        name, _, path = expression[5:].partition(".")
        if not _NAME.match(name):
            raise _Problem(f"{written}: write ${{vars.NAME}}, NAME being one of [vars]")
        return _Ref(written, "vars", name, path=path)
    if expression.startswith("steps."):
        name, _, path = expression[6:].partition(".")
        if not name or not path:
            raise _Problem(f"{written}: write ${{steps.NAME.path}}, e.g. ${{steps.upload.data.id}}")
        return _Ref(written, "steps", name, path=path)
    prefixes = {"var": "vars.NAME", "step": "steps.NAME.path", "environ": "env.NAME"}
    prefixes |= {"vars": "vars.NAME", "steps": "steps.NAME.path", "env": "env.NAME"}
    close = difflib.get_close_matches(expression, _FIXED, n=1)
    guess = close[0] if close else prefixes.get(expression.split(".", 1)[0].lower())
    hint = f"did you mean ${{{guess}}}? " if guess else ""
    raise _Problem(f"unknown template {written}; {hint}use {_KINDS} or steps.NAME.path")


def _check_ref(
    ref: _Ref,
    vars_before: Sequence[str],
    vars_all: Sequence[str],
    step: int | None,
    names: Mapping[str, int],
    total: int,
) -> int:
    """That ``ref`` names something defined before this point; a step ref's index."""
    if ref.kind == "vars" and ref.name not in vars_before:
        if ref.name in vars_all:
            raise _Problem(
                f"{ref.written}: vars.{ref.name} is not defined before this one "
                "(vars are computed in the order written)"
            )
        raise _Problem(f"{ref.written}: no var {ref.name!r}{_choices(ref.name, vars_all)}")
    if ref.kind != "steps":
        return 0
    if step is None:
        raise _Problem(
            f"{ref.written}: vars are computed before any step runs; "
            "use ${steps…} in a step's set"
        )
    if ref.name.isdigit():
        index = int(ref.name)
        if index == 0:
            raise _Problem(f"{ref.written}: steps are numbered from 1")
        if index > total:
            raise _Problem(f"{ref.written}: there is no step {index} (the scenario has {total})")
    elif ref.name in names:
        index = names[ref.name]
    else:
        raise _Problem(f"{ref.written}: no step named {ref.name!r}{_choices(ref.name, names)}")
    if index == step:
        raise _Problem(f"{ref.written}: a step cannot refer to its own body")
    if index > step:
        raise _Problem(
            f"{ref.written}: step {index} comes later; a step can refer only to earlier steps"
        )
    return index


def _choices(name: str, known: Sequence[str] | Mapping[str, int]) -> str:
    options = list(known)
    if not options:
        return " (there are none)"
    close = difflib.get_close_matches(name, options, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (known: {', '.join(options)})"


# -- rendering ------------------------------------------------------------------------


class _Done(NamedTuple):
    label: str
    body: bytes


class _Run:
    """One rendering: the clock, the random source, the vars and the steps sent so far."""

    def __init__(
        self, spec: _Spec, environ: Mapping[str, str], now: float, rng: random.Random
    ) -> None:
        self.spec = spec
        self.environ = environ
        self.now = now
        self.rng = rng
        self.vars: dict[str, Any] = {}
        self.done: list[_Done] = []
        self.documents: dict[int, Any] = {}  # parsed step bodies, on first reference

    def step(self, spec: _StepSpec, extra_sets: Sequence[str], extra_unsets: Sequence[str]) -> Step:
        with _located(f"{self.spec.where}: {spec.label}"):
            fixture = self._fixture(spec)
            body = fixture.body
            if spec.sets or spec.unsets:
                document = _json_document(body)
                for path in spec.unsets:
                    document = _unset(document, path)
                for path, value in spec.sets.items():
                    with _located(f"set {path}"):
                        rendered = self.value(value, step=spec.number)
                    document = _assign(document, path, rendered)
                body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
            body = fixtures.apply_overrides(body, list(extra_sets), list(extra_unsets))
            event_type = fixture.event_type
            if body is not fixture.body:
                event_type = providers.get(fixture.provider).event_type(body) or event_type
        self.done.append(_Done(spec.label, body))
        source = f"{self.spec.where} {spec.label}"
        return Step(
            spec.number,
            spec.name,
            fixture.provider,
            event_type,
            body,
            spec.expect,
            spec.pause,
            source,
        )

    def _fixture(self, spec: _StepSpec) -> fixtures.Fixture:
        if spec.event is not None:
            return fixtures.load(spec.event, provider=spec.provider or self.spec.provider)
        with _located("file"):
            written = self.value(spec.file, step=spec.number)
            if not isinstance(written, str) or not written:
                raise _Problem(f"{spec.file!r} gives {written!r}, not a path")
        path = Path(written)
        if not path.is_absolute():
            path = self.spec.path.parent / path
        if path.suffix.lower() == ".toml":
            raise _Problem(f"{path}: a step's file is a fixture (.json, .jpg), not a scenario")
        return fixtures.load_file(path, provider=spec.provider)

    def value(self, value: Any, *, step: int | None) -> Any:
        """``value`` with every template replaced; a new object, safe to change."""
        if isinstance(value, str):
            return self._string(value, step)
        if isinstance(value, dict):
            return {key: self.value(item, step=step) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item, step=step) for item in value]
        return value

    def _string(self, text: str, step: int | None) -> Any:
        parts = _parse(text)
        if len(parts) == 1 and isinstance(parts[0], _Ref):
            return self._resolve(parts[0], step)
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            resolved = self._resolve(part, step)
            out.append(resolved if isinstance(resolved, str) else _compact(resolved))
        return "".join(out)

    def _resolve(self, ref: _Ref, step: int | None) -> Any:
        kind = ref.kind
        if kind == "now":
            return int(self.now)
        if kind == "now.ms":
            return round(self.now * 1000)
        if kind == "now.iso":
            moment = dt.datetime.fromtimestamp(self.now, dt.timezone.utc)
            return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if kind == "new.uuid":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if kind == "new.mux_id":
            return "".join(self.rng.choice(_BASE62) for _ in range(44))
        if kind == "new.hex32":
            return f"{self.rng.getrandbits(128):032x}"
        if kind == "new.int":
            return self.rng.randint(1, _MAX_INT)
        if kind == "env":
            return self._env(ref)
        names = list(self.spec.vars)
        before = list(self.vars)
        index = _check_ref(ref, before, names, step, self.spec.names, len(self.spec.steps))
        if kind == "vars":
            found = self.vars[ref.name]
            if ref.path:
                found = _dig(found, ref.path, ref.written, f"vars.{ref.name}")
            return copy.deepcopy(found)
        done = self.done[index - 1]
        if index not in self.documents:
            try:
                self.documents[index] = json.loads(done.body)
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise _Problem(f"{ref.written}: {done.label}'s body is not JSON") from None
        found = _dig(self.documents[index], ref.path, ref.written, f"{done.label}'s body")
        return copy.deepcopy(found)

    def _env(self, ref: _Ref) -> str:
        value = self.environ.get(ref.name)
        if ref.default is not None and not value:
            return ref.default
        if value is None:
            raise _Problem(
                f"{ref.written}: the environment variable {ref.name} is not set "
                f"(set it, or give a default: ${{env.{ref.name}:-value}})"
            )
        return value


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _json_document(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _Problem("set/unset need a JSON body, and this one is not JSON") from None


def _dig(node: Any, path: str, written: str, whose: str) -> Any:
    """The value at a dotted path, with ``--set``'s rules (keys may contain dots)."""
    parts = path.split(".")
    if "" in parts:
        raise _Problem(f"{written}: the path {path!r} has an empty part")
    walked: list[str] = []
    while parts:
        key, parts = fixtures.split_key(node, parts)
        at = f" at {'.'.join(walked)}" if walked else ""
        if isinstance(node, dict):
            if key not in node:
                close = difflib.get_close_matches(key, [str(k) for k in node], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise _Problem(f"{written}: {whose} has no field {key!r}{at}{hint}")
            node = node[key]
        elif isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise _Problem(
                    f"{written}: {whose} has a list of {len(node)}{at}; {key!r} is not an index"
                )
            node = node[int(key)]
        else:
            raise _Problem(f"{written}: {whose} has {_compact(node)}{at}, not an object")
        walked.append(key)
    return node


def _assign(document: Any, path: str, value: Any) -> Any:
    """Set ``path`` to ``value``; a table merges into the object already there."""
    if isinstance(value, dict):
        try:
            current = _dig(document, path, "", "")
        except _Problem:
            current = None
        if isinstance(current, dict):
            _merge(current, value)
            return document
    return fixtures.set_path(document, path, value, option="set")


def _merge(target: dict[str, Any], value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        if isinstance(item, dict) and isinstance(target.get(key), dict):
            _merge(target[key], item)
        else:
            target[key] = item


def _unset(document: Any, path: str) -> Any:
    return fixtures.unset_path(document, path, option="unset")
