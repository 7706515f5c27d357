"""The parser fuzz target (``fuzz_parsers.py``) run for a bounded time, and what it found.

Every run: the seeds, a short deterministic atheris run (when atheris is installed) and
a hypothesis run of the same ``one_input`` (mutated seeds and random bytes). Under
``pytest -m slow``: atheris for 60 s (or, without atheris, many more hypothesis
examples). The crashes found so far are regression tests below; ``KNOWN`` lets the
fuzzer step over them until they are fixed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from muxhook import fixtures, scenario
from muxhook.errors import FixtureError, UsageError
from tests.fuzz import fuzz_parsers as fuzz
from tests.listening import muxhook_env

HERE = Path(__file__).resolve().parent
TARGET = HERE / "fuzz_parsers.py"
HAS_ATHERIS = importlib.util.find_spec("atheris") is not None
ASSET_READY = (fuzz.ROOT / "fixtures" / "mux" / "video.asset.ready.json").read_bytes()
SEEDS = list(fuzz.seeds())


def _atheris(tmp_path: Path, *options: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run the target under atheris in its own process, with a corpus and crash folder in tmp."""
    corpus = fuzz.write_corpus(tmp_path / "corpus")
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    run = subprocess.run(
        [sys.executable, str(TARGET), *options, f"-artifact_prefix={artifacts}/", str(corpus)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=tmp_path,
        env=muxhook_env(tmp_path),
    )
    crashes = sorted(artifacts.iterdir())
    tail = run.stderr[-6000:]
    assert run.returncode == 0 and not crashes, f"atheris found a crash {crashes}:\n{tail}"
    assert "Done " in run.stderr, tail
    return run


def _mutate(seed: bytes, at: int, cut: int, insert: bytes) -> bytes:
    position = 1 + at % max(1, len(seed))
    return seed[:position] + insert + seed[position + cut :]


fuzz_inputs = st.one_of(
    st.sampled_from(SEEDS),
    st.builds(
        _mutate, st.sampled_from(SEEDS), st.integers(0, 2**16), st.integers(0, 8), st.binary()
    ),
    st.binary(max_size=300),
)


def test_every_seed_is_handled_without_any_allowance() -> None:
    for seed in SEEDS:
        fuzz.one_input(seed, known=())


def test_every_known_crash_has_its_xfail_test() -> None:
    for entry in fuzz.KNOWN:
        test = globals().get(entry.test)
        assert test is not None, entry
        marks = [m for m in getattr(test, "pytestmark", []) if m.name == "xfail"]
        assert marks and marks[0].kwargs.get("strict") is True, entry


@pytest.mark.skipif(not HAS_ATHERIS, reason="atheris is not installed (Linux x86-64 wheels only)")
def test_atheris_short_run(tmp_path: Path) -> None:
    _atheris(tmp_path, "-runs=1500", "-seed=1", "-max_total_time=20", timeout=120)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=fuzz_inputs)
def test_hypothesis_drives_the_same_target(data: bytes) -> None:
    fuzz.one_input(data)


@pytest.mark.slow
def test_fuzz_for_a_minute(tmp_path: Path) -> None:
    if HAS_ATHERIS:
        run = _atheris(tmp_path, "-max_total_time=60", timeout=300)
        print(run.stderr[-2000:])
        return

    @settings(max_examples=20_000, deadline=None, database=None)
    @given(data=fuzz_inputs)
    def drive(data: bytes) -> None:
        fuzz.one_input(data)

    drive()


def test_a_crash_is_reported_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness does fail on what it should: any exception but muxhook's own."""

    def crashing(reader: object) -> None:
        raise KeyError("a crash in muxhook")

    monkeypatch.setitem(fuzz.TARGETS, "describe", crashing)
    with pytest.raises(KeyError):
        fuzz.one_input(fuzz.encode("describe", rest=b"{}"), known=())


# -- what the fuzzer found ----------------------------------------------------------------------


def test_deeply_nested_scenario_is_a_fixture_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    nested = "[" * 600 + "1" + "]" * 600
    path.write_text(f'[[steps]]\nevent = "video.asset.ready"\nset = {{ "data.x" = {nested} }}\n')
    with pytest.raises(FixtureError):
        scenario.load_scenario(path)


def test_set_nan_gives_a_json_body() -> None:
    def strict(name: str) -> object:
        raise ValueError(f"{name} is not JSON")

    for value in ("NaN", "Infinity", "-Infinity"):
        out = fixtures.apply_overrides(ASSET_READY, [f"data.duration={value}"], [])
        json.loads(out, parse_constant=strict)


def test_set_with_a_non_utf8_byte_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        fixtures.apply_overrides(ASSET_READY, ["data.passthrough=\udcff"], [])


def test_set_deep_value_in_a_deep_body_is_a_usage_error() -> None:
    depth = 700
    nested = "[" * depth + "]" * depth
    with pytest.raises(UsageError):
        fixtures.apply_overrides(nested.encode(), [".".join(["0"] * depth) + "=" + nested], [])
