"""``muxhook replay``: saved events, freshly signed, sent to an app; expectations checked.

Two steps, so that bad input never sends half a run: ``plan`` resolves every input
(files, folders, globs, bundled names, stdin, scenarios, the event log) into
``Delivery`` values, or raises one error naming the file and the problem; ``run``
signs and sends them through the same forwarder as ``listen``, in order by default,
and reports each ``Result``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import glob as globbing
import random
import re
import sys
import time
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from muxhook import fixtures, forgery, providers, signing
from muxhook.errors import FixtureError, UsageError
from muxhook.forward import OrderedGate, forwardable_headers
from muxhook.records import Attempt

if typing.TYPE_CHECKING:
    from muxhook.sending import Sender

__all__ = [
    "Delivery",
    "Expectation",
    "Result",
    "SendOptions",
    "describe_failure",
    "forgeries",
    "from_log",
    "junit_xml",
    "plan",
    "run",
    "shard",
    "wait_for_app",
    "with_duplicates",
]

_FIXTURE_SUFFIXES = (".json", ".jpg", ".jpeg")


class Expectation(NamedTuple):
    """Which statuses count as the app handling an event well: ``2xx``, ``4xx``, ``200,202``."""

    text: str

    @classmethod
    def parse(cls, text: str | int) -> Expectation:
        """Validate ``2xx``, ``4xx``, ``200``, ``200,202``, ``2xx,409``; UsageError otherwise."""
        spec = str(text).strip().lower()
        parts = [part.strip() for part in spec.split(",") if part.strip()]
        if not parts or not all(
            (len(p) == 3 and p[0] in "12345" and (p[1:] == "xx" or p[1:].isdigit())) for p in parts
        ):
            raise UsageError(f"expect {text!r}: write 2xx, 4xx, 200 or a list such as 200,202")
        return cls(",".join(parts))

    def holds(self, status: int | None) -> bool:
        """True when ``status`` is one of the expected ones."""
        if status is None:
            return False
        code = str(status)
        return any(
            part == code or (part.endswith("xx") and part[0] == code[0])
            for part in self.text.split(",")
        )


#: The default expectation: any 2xx answer.
ANY_SUCCESS = Expectation("2xx")


class Delivery(NamedTuple):
    """One request to send, resolved before anything is sent."""

    source: str  # what a person reads: a file, "scenario.toml step 2 (…)", "log #12"
    provider: str
    event_type: str | None
    body: bytes
    expect: Expectation | None  # None: the run's --expect
    pause: float = 0.0  # seconds to wait after it (scenario steps)
    group: str = ""  # deliveries of one group go one at a time, in order (a scenario)
    kind: str = "event"  # "event", "duplicate N", or a forgery: "forged: …"
    headers: tuple[tuple[str, str], ...] = ()  # set only for forgeries, already broken


class Result(NamedTuple):
    """What the app answered to one delivery."""

    delivery: Delivery
    expect: Expectation
    attempt: Attempt

    @property
    def ok(self) -> bool:
        """The answer met the expectation."""
        return self.expect.holds(self.attempt.status)

    @property
    def reached(self) -> bool:
        """The app answered at all."""
        return self.attempt.status is not None


@dataclasses.dataclass(frozen=True)
class SendOptions:
    """How to send."""

    to: str
    secrets: Mapping[str, str]
    expect: Expectation = ANY_SUCCESS
    concurrency: int = 1
    timeout: float = 30.0
    timestamp: int | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()
    insecure: bool = False


# -- plan ---------------------------------------------------------------------------------


def plan(
    inputs: Sequence[str],
    *,
    provider: str | None = None,
    sets: Sequence[str] = (),
    unsets: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    now: float | None = None,
    rng: random.Random | None = None,
    stdin: typing.BinaryIO | None = None,
    fresh_ids: bool = False,
) -> list[Delivery]:
    """Resolve every input into deliveries, in a stable order; raise on the first bad one.

    ``fresh_ids`` gives each fixture (not scenario steps, whose ids come from templates) a
    new event id and object id."""
    environ = environ if environ is not None else {}
    clock = time.time() if now is None else now
    chance = rng or random.Random()  # noqa: S311 - ids for test events, not secrets
    deliveries: list[Delivery] = []
    for ref in inputs:
        for item in _expand(ref):
            if isinstance(item, bytes):
                fixture = _from_stdin(item, provider)
                deliveries.append(_from_fixture(fixture, "stdin", sets, unsets, fresh_ids))
            elif isinstance(item, Path) and item.suffix == ".toml":
                deliveries.extend(_from_scenario(item, environ, clock, chance, sets, unsets))
            elif isinstance(item, Path):
                fixture = fixtures.load_file(item, provider=provider)
                deliveries.append(_from_fixture(fixture, _display(item), sets, unsets, fresh_ids))
            else:
                fixture = fixtures.load(item, provider=provider)
                deliveries.append(_from_fixture(fixture, item, sets, unsets, fresh_ids))
    if not deliveries:
        raise UsageError("nothing to replay: the inputs hold no fixtures or scenarios")
    return deliveries


def _expand(ref: str) -> Iterable[str | Path | bytes]:
    """One input as files (sorted), stdin bytes, or an event name."""
    if ref == "-":
        yield sys.stdin.buffer.read()
        return
    path = Path(ref)
    if path.is_dir():
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and (p.suffix in _FIXTURE_SUFFIXES or (p.suffix == ".toml" and _is_scenario(p)))
        )
        if not found:
            raise FixtureError(f"{ref}: no fixtures (.json, .jpg) or scenarios (.toml) in it")
        yield from found
        return
    if any(c in ref for c in "*?["):
        matched = sorted(Path(p) for p in globbing.glob(ref, recursive=True) if Path(p).is_file())
        if not matched:
            raise FixtureError(f"{ref}: the pattern matches no file")
        yield from matched
        return
    if path.exists() or ref.endswith((*_FIXTURE_SUFFIXES, ".toml")) or "/" in ref:
        if not path.exists():
            raise FixtureError(f"{ref}: no such file")
        yield path
        return
    if "." not in ref and ":" not in ref:
        from muxhook import scenario

        bundled = scenario.bundled_scenarios()
        if ref in bundled:  # a bundled scenario by name: mux-direct-upload
            yield bundled[ref]
            return
    yield ref  # an event name: fixtures.load resolves it, or suggests close names


def _display(path: Path) -> str:
    """A path as a person reads it: bundled ones by their place in the bundle, others
    relative to the working directory when they are under it."""
    resolved = path.resolve()
    for base, prefix in ((fixtures.bundled_dir().resolve(), ""), (Path.cwd().resolve(), "")):
        if resolved.is_relative_to(base):
            return prefix + str(resolved.relative_to(base))
    return str(path)


def _is_scenario(path: Path) -> bool:
    """A .toml in a folder counts when it is a scenario (a pyproject.toml does not)."""
    from muxhook import scenario

    return scenario.is_scenario(path)


def _from_stdin(body: bytes, provider: str | None) -> fixtures.Fixture:
    name = provider or providers.guess(body)
    return fixtures.Fixture(name, body, providers.get(name).event_type(body))


def _from_fixture(
    fixture: fixtures.Fixture,
    source: str,
    sets: Sequence[str],
    unsets: Sequence[str],
    fresh_ids: bool = False,
) -> Delivery:
    body = fixtures.with_fresh_ids(fixture.body, fixture.provider) if fresh_ids else fixture.body
    body = fixtures.apply_overrides(body, list(sets), list(unsets), origin=source)
    module = providers.get(fixture.provider)
    return Delivery(source, fixture.provider, module.event_type(body), body, None)


def _from_scenario(
    path: Path,
    environ: Mapping[str, str],
    now: float,
    rng: random.Random,
    sets: Sequence[str],
    unsets: Sequence[str],
) -> list[Delivery]:
    from muxhook import scenario

    if not scenario.is_scenario(path):
        raise FixtureError(f"{path}: a .toml file must be a scenario with [[steps]]")
    loaded = scenario.load_scenario(path)
    steps = scenario.render(
        loaded, environ=environ, now=now, rng=rng, extra_sets=sets, extra_unsets=unsets
    )
    shown, written = _display(path), str(path)
    return [
        Delivery(
            step.source.replace(written, shown, 1),
            step.provider,
            step.event_type,
            step.body,
            Expectation.parse(step.expect) if step.expect is not None else None,
            step.pause,
            group=str(path),
        )
        for step in steps
    ]


def from_log(rows: Iterable[typing.Any]) -> list[Delivery]:
    """Deliveries from the event log's rows (``muxhook.records.StoredEvent``), oldest first."""
    ordered = sorted(rows, key=lambda row: row.id)
    return [
        Delivery(
            f"log #{row.id}",
            row.provider or providers.guess(row.body),
            row.event_type,
            row.body,
            None,
        )
        for row in ordered
    ]


def shard(deliveries: list[Delivery], index: int, count: int) -> list[Delivery]:
    """Shard ``index`` (1-based) of ``count``: whole groups, dealt round-robin, stably."""
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard {index}/{count}: write I/N with 1 ≤ I ≤ N")
    groups: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        groups.setdefault(delivery.group or delivery.source, []).append(delivery)
    mine = [g for n, g in enumerate(groups.values()) if n % count == index - 1]
    return [delivery for group in mine for delivery in group]


def with_duplicates(deliveries: list[Delivery], extra: int) -> list[Delivery]:
    """Each delivery followed by ``extra`` copies of itself (same bytes, signed afresh)."""
    if extra <= 0:
        return deliveries
    out: list[Delivery] = []
    for delivery in deliveries:
        out.append(delivery)
        out.extend(
            delivery._replace(kind=f"duplicate {n}", group=delivery.group or delivery.source)
            for n in range(1, extra + 1)
        )
    return out


def forgeries(delivery: Delivery, secret: str, now: int) -> list[Delivery]:
    """Deliberately bad signatures for one event, each of which the app must refuse (4xx)."""
    return [
        delivery._replace(
            kind=f"forged: {forged.label}",
            body=forged.body,
            expect=Expectation("4xx"),
            headers=tuple(forged.headers.items()),
            group=delivery.group or delivery.source,
        )
        for forged in forgery.forgeries(
            delivery.body, provider=delivery.provider, secret=secret, now=now
        )
    ]


# -- run ----------------------------------------------------------------------------------


async def wait_for_app(
    url: str, seconds: float, *, on_waiting: Callable[[], None] | None = None
) -> bool:
    """Poll until something accepts connections at ``url``'s host and port, or time runs out.

    ``on_waiting`` is called once, when the first try finds nothing there: the wait begins.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    deadline = time.monotonic() + seconds
    while True:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(parts.hostname or "localhost", port), 1.0
            )
        except (OSError, asyncio.TimeoutError):
            if on_waiting is not None:
                on_waiting()
                on_waiting = None
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return True


async def run(
    deliveries: list[Delivery],
    options: SendOptions,
    *,
    on_result: Callable[[Result], None],
    sender: Sender | None = None,
) -> list[Result]:
    """Sign and send every delivery; groups (scenarios) go one at a time, others in parallel.

    ``sender`` sends (an ``HttpSender`` of its own when None)."""
    from muxhook.sending import HttpSender

    results: list[Result | None] = [None] * len(deliveries)
    gate = OrderedGate(max(1, options.concurrency))
    async with contextlib.AsyncExitStack() as stack:
        if sender is None:
            sender = await stack.enter_async_context(
                HttpSender(insecure=options.insecure, connections=options.concurrency * 2)
            )

        async def send(index: int, delivery: Delivery) -> None:
            assert sender is not None
            # With --concurrency 1 every delivery shares one key: strictly in order.
            key = "all" if options.concurrency == 1 else (delivery.group or f"#{index}")
            async with gate.turn(key):
                headers = _headers(delivery, options)
                attempt = await sender.send(
                    options.to, delivery.body, headers, timeout=options.timeout
                )
                result = Result(delivery, delivery.expect or options.expect, attempt)
                results[index] = result
                on_result(result)
                if delivery.pause:
                    await asyncio.sleep(delivery.pause)

        await asyncio.gather(*(send(n, d) for n, d in enumerate(deliveries)))
    return [r for r in results if r is not None]


def _headers(delivery: Delivery, options: SendOptions) -> list[tuple[str, str]]:
    if delivery.headers:
        signed = dict(delivery.headers)
    else:
        secret = options.secrets[delivery.provider]
        signed = signing.sign(
            delivery.body, secret=secret, provider=delivery.provider, timestamp=options.timestamp
        )
    return forwardable_headers(list(signed.items()), options.extra_headers)


def junit_xml(
    results: Sequence[Result],
    *,
    name: str = "muxhook replay",
    aborted: str | None = None,
    unsent: Sequence[Delivery] = (),
) -> str:
    """JUnit XML, one test case per delivery, which CI systems display.

    An answer that did not meet the expectation is a failure; no answer at all is an
    error. ``aborted`` says why the run stopped early: an error case of its own, and
    ``unsent`` deliveries as skipped cases, so the report is complete either way. Text
    is well-formed XML 1.0 whatever the app answered (see ``_xml_text``).
    """
    failures = sum(1 for r in results if r.reached and not r.ok)
    errors = sum(1 for r in results if not r.reached) + (aborted is not None)
    tests = len(results) + len(unsent) + (aborted is not None)
    skipped = len(unsent)
    total = sum((r.attempt.latency_ms or 0) for r in results) / 1000
    counts = f'tests="{tests}" failures="{failures}" errors="{errors}"'
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name={_xml_attr(name)} {counts} time="{total:.3f}">',
        f'  <testsuite name={_xml_attr(name)} {counts} skipped="{skipped}" time="{total:.3f}">',
    ]
    if aborted is not None:
        lines += [
            f'    <testcase classname={_xml_attr(name)} name="the run" time="0.000">',
            f'      <error message={_xml_attr(aborted)} type="aborted"/>',
            "    </testcase>",
        ]
    for result in results:
        seconds = (result.attempt.latency_ms or 0) / 1000
        lines.append(_testcase_open(result.delivery, seconds))
        if not result.reached:
            message = describe_failure(result)
            lines.append(f'      <error message={_xml_attr(message)} type="no answer"/>')
        elif not result.ok:
            message = describe_failure(result)
            body = _xml_text(result.attempt.response_start.decode("utf-8", "replace"))
            lines.append(f"      <failure message={_xml_attr(message)}>{body}</failure>")
        lines.append("    </testcase>")
    for delivery in unsent:
        lines.append(_testcase_open(delivery, 0.0))
        lines.append('      <skipped message="not sent: the run stopped first"/>')
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(lines)


def _testcase_open(delivery: Delivery, seconds: float) -> str:
    case = f"{delivery.event_type or '(no type)'}"
    if delivery.kind != "event":
        case += f" [{delivery.kind}]"
    return (
        f"    <testcase classname={_xml_attr(delivery.source)} name={_xml_attr(case)} "
        f'time="{seconds:.3f}">'
    )


#: What XML 1.0 forbids in a document (§2.2 Char): C0 controls but tab, LF and CR; lone
#: surrogates (a file name read with surrogateescape); U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    # A C0 control as its Control Pictures sign (ESC → ␛, NUL → ␀); the rest as \uXXXX.
    return chr(0x2400 + code) if code < 0x20 else f"\\u{code:04x}"


def _xml_text(text: str) -> str:
    """``text`` as XML character data: escaped, and what XML forbids replaced visibly."""
    from xml.sax.saxutils import escape

    return escape(_NOT_XML.sub(_visible, text))


def _xml_attr(text: str) -> str:
    """``text`` as a quoted XML attribute value, the same way."""
    from xml.sax.saxutils import quoteattr

    return quoteattr(_NOT_XML.sub(_visible, text))


def describe_failure(result: Result) -> str:
    """One line: what was expected and what came back."""
    attempt = result.attempt
    got = str(attempt.status) if attempt.status is not None else f"no answer ({attempt.error})"
    return f"expected {result.expect.text}, got {got}"
