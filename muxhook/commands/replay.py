"""``muxhook replay``: saved events, freshly signed, sent to an app; expectations checked."""

from __future__ import annotations

import dataclasses
import os
import time
import typing
from pathlib import Path
from typing import Annotated, Any

from muxhook.commands.common import logged_events, run_loop, signing_secret
from muxhook.errors import EnvironmentProblem, ExitCode, MuxhookError, UsageError
from muxhook.options import (
    Db,
    FreshIds,
    Headers,
    Insecure,
    ProviderName,
    Secret,
    Sets,
    Since,
    State,
    Timestamp,
    TypeGlob,
    Unsets,
    argument,
    option,
)

if typing.TYPE_CHECKING:
    from muxhook._files import ReportFile
    from muxhook.render import Output

__all__ = ["ReplayRunOptions", "replay"]


@dataclasses.dataclass(frozen=True)
class ReplayRunOptions:
    """``muxhook replay``'s options."""

    to: Annotated[str, option("--to", help="Your app's webhook URL.", show_default=False)]
    inputs: Annotated[
        tuple[str, ...],
        argument(
            metavar="INPUT",
            help="What to send: fixture files, folders (recursive, sorted), globs, event names, "
            "scenario files (.toml), or - for stdin.",
            complete="events",
            show_default=False,
        ),
    ] = ()
    secret: Secret = None
    provider: ProviderName = None
    set_: Sets = ()
    unset: Unsets = ()
    timestamp: Timestamp = None
    expect: Annotated[
        str, option("--expect", help="Statuses that count as handled: 2xx, 4xx, 200,202.")
    ] = "2xx"
    tamper: Annotated[
        bool,
        option("--tamper", help="Also send forged signatures; the app must refuse them (4xx)."),
    ] = False
    duplicates: Annotated[
        int, option("--duplicates", help="Send each event N extra times, as platforms may.")
    ] = 0
    concurrency: Annotated[
        int, option("--concurrency", help="Requests at once (scenarios stay in order).")
    ] = 1
    timeout: Annotated[float, option("--timeout", help="Seconds per request.")] = 30.0
    wait_for_app: Annotated[
        float,
        option("--wait-for-app", metavar="SECONDS", help="Wait for the app to accept connections."),
    ] = 0.0
    shard: Annotated[
        str | None,
        option(
            "--shard",
            metavar="I/N",
            help="Send only shard I of N (split across CI jobs).",
            show_default=False,
        ),
    ] = None
    json_: Annotated[bool, option("--json", help="One JSON object per event.")] = False
    junit: Annotated[
        str | None,
        option("--junit", metavar="FILE", help="Write JUnit XML for CI.", show_default=False),
    ] = None
    header: Headers = ()
    insecure: Insecure = False
    from_log: Annotated[
        bool, option("--from-log", help="Send events from the event log (see 'muxhook log').")
    ] = False
    type_: TypeGlob = None
    status: State = None
    since: Since = None
    limit: Annotated[
        int | None,
        option("--limit", help="With --from-log: at most this many.", show_default=False),
    ] = None
    db: Db = None
    fresh_ids: FreshIds = False


def replay(out: Output, options: ReplayRunOptions) -> ExitCode:
    """Send saved events, freshly signed, to your app; fail when it mishandles one (for CI)."""
    from muxhook import providers
    from muxhook import replay as engine
    from muxhook.headers import parse_extra_headers
    from muxhook.render import ReplayView
    from muxhook.sending import check_url

    # Everything is checked before anything is sent.
    check_url(options.to)
    expectation = engine.Expectation.parse(options.expect)
    if options.concurrency < 1 or options.duplicates < 0 or options.timeout <= 0:
        raise UsageError("--concurrency must be ≥ 1, --duplicates ≥ 0 and --timeout > 0")
    if options.provider:
        providers.get(options.provider)
    extra = parse_extra_headers(list(options.header))
    deliveries: list[engine.Delivery] = []
    if options.inputs:
        deliveries += engine.plan(
            options.inputs,
            provider=options.provider,
            sets=list(options.set_),
            unsets=list(options.unset),
            environ=os.environ,
            fresh_ids=options.fresh_ids,
        )
    if options.from_log:
        deliveries += engine.from_log(logged_events(options))
    elif not options.inputs:
        raise UsageError(
            "nothing to replay: give fixture files, folders, event names or scenarios, "
            "or --from-log"
        )
    if options.shard:
        index, _, count = options.shard.partition("/")
        if not (index.isdigit() and count.isdigit()):
            raise UsageError(f"--shard {options.shard!r}: write I/N, e.g. --shard 2/4")
        deliveries = engine.shard(deliveries, int(index), int(count))
    secrets = {
        name: signing_secret(name, options.secret)
        for name in sorted({d.provider for d in deliveries})
    }
    deliveries = engine.with_duplicates(deliveries, options.duplicates)
    if options.tamper:
        now = int(time.time()) if options.timestamp is None else options.timestamp
        deliveries = [
            item
            for d in deliveries
            for item in (
                [d, *engine.forgeries(d, secrets[d.provider], now)] if d.kind == "event" else [d]
            )
        ]
    sending = engine.SendOptions(
        to=options.to,
        secrets=secrets,
        expect=expectation,
        concurrency=options.concurrency,
        timeout=options.timeout,
        timestamp=options.timestamp,
        extra_headers=extra,
        insecure=options.insecure,
    )
    report = _report_file(options.junit, "--junit") if options.junit else None
    view = ReplayView(
        out,
        total=len(deliveries),
        json_lines=options.json_,
        github=os.environ.get("GITHUB_ACTIONS") == "true",
    )
    done: list[engine.Result] = []  # as they come: a run cut short still reports them

    def on_result(result: engine.Result) -> None:
        done.append(result)
        view.result(result)

    async def main() -> list[engine.Result]:
        if options.wait_for_app > 0:
            await _wait_for_app(options.to, options.wait_for_app, out)
        return await engine.run(deliveries, sending, on_result=on_result)

    started = time.perf_counter()
    try:
        results = run_loop(main())
    except BaseException as error:
        # Stopped early (Ctrl-C, --wait-for-app gave up): the report still says what was
        # sent, what was not, and why, as an error case; then the error takes its course.
        answered = {id(result.delivery) for result in done}
        unsent = [d for d in deliveries if id(d) not in answered]
        view.summary(done, seconds=time.perf_counter() - started, unsent=len(unsent))
        if report is not None:
            why = _why_stopped(error, len(done), len(deliveries))
            try:
                report.write(engine.junit_xml(done, aborted=why, unsent=unsent))
            except OSError as problem:
                out.warn(
                    f"--junit {options.junit}: could not write the report ({problem.strerror})"
                )
        raise
    view.summary(results, seconds=time.perf_counter() - started)
    if report is not None:
        try:
            report.write(engine.junit_xml(results))
        except OSError as problem:
            raise EnvironmentProblem(
                f"--junit {options.junit}: cannot write it ({problem.strerror})"
            ) from None
    if any(not r.reached for r in results):
        unreachable = next(r for r in results if not r.reached)
        out.error(f"the app did not answer: {unreachable.attempt.error}")
        return ExitCode.UNREACHABLE
    if any(not r.ok for r in results):
        return ExitCode.FAILED
    _check_duplicates(results, out)
    return ExitCode.OK


async def _wait_for_app(url: str, seconds: float, out: Output) -> None:
    """--wait-for-app: one line when the wait begins (the app is not there yet), one when
    it answers; giving up is a DeliveryError."""
    from muxhook import replay as engine
    from muxhook.errors import DeliveryError

    began: list[float] = []

    def waiting() -> None:
        began.append(time.monotonic())
        out.say(f"waiting up to {seconds:g} s for {url} to answer")

    if not await engine.wait_for_app(url, seconds, on_waiting=waiting):
        raise DeliveryError(
            f"nothing accepted connections at {url} within {seconds:g} s (--wait-for-app)"
        )
    if began:
        out.say(f"{url} answered after {time.monotonic() - began[0]:.1f} s")


def _check_duplicates(results: list[Any], out: Output) -> None:
    """With --duplicates: say whether the app answered every copy the same way."""
    by_source: dict[str, set[int | None]] = {}
    for result in results:
        if result.delivery.kind == "event" or result.delivery.kind.startswith("duplicate"):
            by_source.setdefault(result.delivery.source, set()).add(result.attempt.status)
    varied = [source for source, statuses in by_source.items() if len(statuses) > 1]
    if varied:
        out.warn(f"the app answered duplicates differently for: {', '.join(varied[:5])}")


def _report_file(path: str, option: str) -> ReportFile:
    """A ``ReportFile`` at ``path``, checked now: a bad path is bad input before anything
    is sent."""
    from muxhook._files import ReportFile

    try:
        return ReportFile(Path(path))
    except OSError as error:
        raise UsageError(f"{option} {path}: cannot write it ({error.strerror})") from None


def _why_stopped(error: BaseException, sent: int, planned: int) -> str:
    """Why a replay stopped early, for its report."""
    if isinstance(error, KeyboardInterrupt):
        return f"interrupted (Ctrl-C) after {sent} of {planned} deliveries"
    if isinstance(error, MuxhookError):
        return str(error)
    return f"muxhook stopped after {sent} of {planned} deliveries: {type(error).__name__}"
