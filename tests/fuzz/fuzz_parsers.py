"""Coverage-guided fuzzing of muxhook's parsers: only muxhook's own errors may escape.

Run it for a minute (atheris, from the ``test`` extra on Linux x86-64)::

    .venv/bin/python tests/fuzz/fuzz_parsers.py -max_total_time=60

Any libFuzzer option may follow (``-runs=N``, ``-seed=N``, ``-max_len=N``); a file
argument replays one input (``python tests/fuzz/fuzz_parsers.py crash-<sha1>``) and a
folder argument is used as the corpus. Without one, the corpus is
``$TMPDIR/muxhook-fuzz-corpus``, seeded with well-formed inputs for every target
(bundled fixtures and scenarios, real signatures), so the fuzzer starts from the
shapes muxhook is built for. Without atheris, ``tests/fuzz/test_fuzz_parsers.py``
drives the same ``one_input`` with hypothesis.

An input is a target number (its first byte), then length-prefixed fields. The
targets: each provider's ``parse_header`` and ``verify``; ``signing.verify`` with
provider detection and the mismatch diagnosis; sign-then-verify, which must pass;
``providers.detect``/``describe``/``guess``; ``models.parse_event``;
``fixtures.parse_assignment`` and ``apply_overrides``; ``scenario.load_scenario`` on
the input written to a temporary ``.toml`` file, then ``render`` when the steps name
only bundled events. A target may raise a ``MuxhookError`` (that is an answer); any
other exception is a crash, and so is a broken invariant (``Broken``). ``KNOWN``
lists the crashes already reported, each shown by a strict xfail test, so a long run
keeps looking for new ones.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from muxhook.errors import MuxhookError

__all__ = ["KNOWN", "TARGETS", "Broken", "encode", "one_input", "seeds"]

ROOT = Path(__file__).resolve().parent.parent.parent
NOW = 1_700_000_000  # the clock of every verify: inputs replay the same way on any day


class Broken(AssertionError):
    """A target returned, but what it returned breaks a promise muxhook makes."""


class Reader:
    """Fields from the fuzzer's bytes: a byte, a length-prefixed text or blob, the rest."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def byte(self) -> int:
        if self.position >= len(self.data):
            return 0
        self.position += 1
        return self.data[self.position - 1]

    def blob(self) -> bytes:
        size = self.byte() | self.byte() << 8
        piece = self.data[self.position : self.position + size]
        self.position += len(piece)
        return piece

    def text(self) -> str:
        # surrogateescape: lone surrogates, as os.environ and sys.argv hand them over
        return self.blob().decode("utf-8", "surrogateescape")

    def rest(self) -> bytes:
        piece = self.data[self.position :]
        self.position = len(self.data)
        return piece


def encode(target: str, *parts: int | bytes | str, rest: bytes | str = b"") -> bytes:
    """The input that makes ``target`` read ``parts`` then ``rest`` (for seeds and tests).

    An ``int`` is one byte (``Reader.byte``); bytes or text is a field (``Reader.blob``).
    """
    out = bytearray([list(TARGETS).index(target)])
    for part in parts:
        if isinstance(part, int):
            out.append(part)
            continue
        raw = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
        out += len(raw).to_bytes(2, "little") + raw
    out += rest.encode("utf-8", "surrogateescape") if isinstance(rest, str) else rest
    return bytes(out)


# -- targets ----------------------------------------------------------------------------------

PROVIDERS = ("mux", "fastpix", "millicast")


def _provider(reader: Reader) -> Any:
    from muxhook import providers

    return providers.get(PROVIDERS[reader.byte() % 3])


def _headers(reader: Reader, count: int) -> dict[str, str]:
    return {reader.text(): reader.text() for _ in range(count)}


def parse_header(reader: Reader) -> None:
    module = _provider(reader)
    parsed = module.parse_header(reader.text())
    if not parsed.signatures:
        raise Broken(f"{module.NAME}.parse_header returned no signature")
    if module.NAME == "mux":
        stamp = parsed.timestamp
        if stamp is None or not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 15):
            raise Broken(f"mux.parse_header accepted the timestamp {stamp!r}")


def provider_verify(reader: Reader) -> None:
    module = _provider(reader)
    secret, value = reader.text(), reader.text()
    extra = _headers(reader, reader.byte() % 3)
    skew = reader.byte() | reader.byte() << 8
    body = reader.rest()
    headers = {**extra, module.HEADER: value}
    module.verify(body, headers, secret=secret, now=NOW + skew - 32768)


def signing_verify(reader: Reader) -> None:
    from muxhook import signing

    secret = reader.text()
    forced = reader.byte() % 4
    headers = _headers(reader, 1 + reader.byte() % 3)
    body = reader.rest()
    provider = PROVIDERS[forced] if forced < 3 else None
    signing.verify(body, headers, secret=secret, provider=provider, now=NOW)


def round_trip(reader: Reader) -> None:
    """What muxhook signs, muxhook verifies: the signing secret and body as given."""
    from muxhook import signing

    name = PROVIDERS[reader.byte() % 3]
    secret = reader.text()
    stamp = int.from_bytes(bytes(reader.byte() for _ in range(6)), "little")
    body = reader.rest()
    headers = signing.sign(body, secret=secret, provider=name, timestamp=stamp)
    try:
        signing.verify(body, headers, secret=secret, provider=name, now=stamp)
    except MuxhookError as error:
        raise Broken(f"{name}: muxhook refused its own signature: {error}") from error


def describe(reader: Reader) -> None:
    from muxhook import providers

    headers = _headers(reader, reader.byte() % 4)
    body = reader.rest()
    providers.detect(headers)
    providers.guess(body)
    for name in PROVIDERS:
        module = providers.get(name)
        described = module.describe(body, headers)
        if module.event_type(body, headers) != described.event_type:
            raise Broken(f"{name}: event_type and describe disagree")


def parse_event(reader: Reader) -> None:
    from muxhook import models

    forced = reader.byte() % 4
    headers = _headers(reader, reader.byte() % 2)
    body = reader.rest()
    models.parse_event(body, headers, provider=PROVIDERS[forced] if forced < 3 else None)


def parse_assignment(reader: Reader) -> None:
    from muxhook import fixtures

    text = reader.text()
    path, _ = fixtures.parse_assignment(text)
    if not path or not text.startswith(path + "="):
        raise Broken(f"parse_assignment({text!r}) gave the path {path!r}")


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def apply_overrides(reader: Reader) -> None:
    from muxhook import fixtures

    choice = reader.byte()
    sets = [reader.text() for _ in range(reader.byte() % 4)]
    unsets = [reader.text() for _ in range(reader.byte() % 3)]
    if choice % 2:
        body = reader.rest()
    else:
        body = _fixture_bodies()[choice % len(_fixture_bodies())]
    out = fixtures.apply_overrides(body, sets, unsets, origin="fuzz")
    if not sets and not unsets:
        if out != body:
            raise Broken("apply_overrides changed a body it had nothing to do to")
        return
    try:
        json.loads(out, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise Broken(f"apply_overrides produced a body that is not JSON: {error}") from error


@functools.lru_cache(maxsize=1)
def _fixture_bodies() -> list[bytes]:
    return [path.read_bytes() for path in sorted((ROOT / "fixtures").glob("*/*.json"))]


def load_scenario(reader: Reader) -> None:
    from muxhook import scenario

    data = reader.rest()
    with tempfile.TemporaryDirectory(prefix="muxhook-fuzz-") as folder:
        path = Path(folder) / "fuzz.toml"
        path.write_bytes(data)
        scenario.is_scenario(path)
        loaded = scenario.load_scenario(path)
        steps = loaded.raw.get("steps") or []
        if any("file" in step for step in steps):
            return  # a step's file may name any path (a FIFO, /dev/zero): not read here
        scenario.render(loaded, environ={"ORDER_ID": "order-42"}, now=NOW, rng=random.Random(0))


TARGETS: dict[str, Callable[[Reader], None]] = {
    "parse_header": parse_header,
    "provider_verify": provider_verify,
    "signing_verify": signing_verify,
    "round_trip": round_trip,
    "describe": describe,
    "parse_event": parse_event,
    "parse_assignment": parse_assignment,
    "apply_overrides": apply_overrides,
    "load_scenario": load_scenario,
}


class Known(NamedTuple):
    """A crash already reported, with the test that shows it."""

    target: str
    error: type[BaseException]
    test: str
    says: str = ""  # a piece of the message, when the class alone is too broad

    def matches(self, target: str, error: BaseException) -> bool:
        return target == self.target and isinstance(error, self.error) and self.says in str(error)


#: Crashes reported and not fixed yet, each shown by a strict xfail test in
#: tests/fuzz/test_fuzz_parsers.py, so that long runs keep looking for new ones.
KNOWN: tuple[Known, ...] = ()  # none open: the four it found are fixed


def one_input(data: bytes, *, known: tuple[Known, ...] = KNOWN) -> None:
    """The fuzz target: run the input's target; raise on a crash or a broken promise."""
    if not data:
        return
    name = list(TARGETS)[data[0] % len(TARGETS)]
    try:
        TARGETS[name](Reader(data[1:]))
    except MuxhookError:
        pass
    except Exception as error:
        if any(entry.matches(name, error) for entry in known):
            return
        raise


# -- seeds --------------------------------------------------------------------------------------


def seeds() -> Iterator[bytes]:
    """Well-formed inputs for every target: where the fuzzer starts."""
    from muxhook import providers, signing

    secret = "fuzz-secret-0123456789"
    b64 = "ZnV6ei1zZWNyZXQtMDEyMzQ1Njc4OQ=="
    every = sorted((ROOT / "fixtures").glob("*/*.json"))
    bodies = [path.read_bytes() for path in every[:: max(1, len(every) // 8)]]
    stamp = list(NOW.to_bytes(6, "little"))
    for index, name in enumerate(PROVIDERS):
        key = secret if name == "mux" else b64
        header_name = providers.get(name).HEADER
        for body in bodies[:4]:
            header = signing.sign(body, secret=key, provider=name, timestamp=NOW)[header_name]
            yield encode("parse_header", index, header)
            yield encode("provider_verify", index, key, header, 0, 0, 128, rest=body)
            yield encode("signing_verify", key, 3, 0, header_name, header, rest=body)
            yield encode("round_trip", index, key, *stamp, rest=body)
            yield encode("describe", 1, "Content-Type", "application/json", rest=body)
            yield encode("parse_event", index, 0, rest=body)
    for text in ('data.id="x"', "data.tracks.0.max_width=1920", "data.passthrough=order-42"):
        yield encode("parse_assignment", text)
        yield encode("apply_overrides", 0, 1, text, 1, "data.id")
    for path in sorted((ROOT / "fixtures" / "scenarios").glob("*.toml")):
        yield encode("load_scenario", rest=path.read_bytes())


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds():
        (folder / hashlib.sha1(seed).hexdigest()).write_bytes(seed)  # noqa: S324 (a file name)
    return folder


# -- atheris ------------------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    """Fuzz with atheris (libFuzzer): coverage of muxhook's own code guides the mutations."""
    import importlib

    atheris: Any = importlib.import_module("atheris")
    with atheris.instrument_imports(include=["muxhook", "tomllib", "tomli"]):
        for module in (
            "muxhook.providers.mux",
            "muxhook.providers.fastpix",
            "muxhook.providers.millicast",
            "muxhook.signing",
            "muxhook.diagnose",
            "muxhook.fixtures",
            "muxhook.scenario",
            "muxhook.models",
            "tomllib" if sys.version_info >= (3, 11) else "tomli",
        ):
            importlib.import_module(module)
    args = list(argv)
    if not any(not arg.startswith("-") for arg in args[1:]):
        corpus = Path(tempfile.gettempdir()) / "muxhook-fuzz-corpus"
        args.append(str(write_corpus(corpus)))
    if not any(arg.startswith("-max_len=") for arg in args):
        args.append("-max_len=8192")
    if not any(arg.startswith("-timeout=") for arg in args):
        args.append("-timeout=30")  # one input this slow is a finding too
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
