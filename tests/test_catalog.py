"""Catalogs and fixtures agree one to one, and the generators would not change the fixtures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from muxhook import catalog, providers
from tests.conftest import FIXTURES, ROOT


@pytest.mark.parametrize("provider", providers.NAMES)
def test_every_catalog_event_has_one_fixture_and_every_fixture_an_event(provider: str) -> None:
    events = set(providers.get(provider).EVENTS)
    files = {p.stem for p in (FIXTURES / provider).iterdir() if p.suffix in (".json", ".jpg")}
    assert events, f"the {provider} catalog is empty"
    assert sorted(events - files) == [], "events without a fixture"
    assert sorted(files - events) == [], "fixtures without a catalog event"


@pytest.mark.parametrize(
    "path",
    sorted(p for name in providers.NAMES for p in (FIXTURES / name).iterdir()),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_each_fixture_carries_its_own_event_type(path: Path) -> None:
    module = providers.get(path.parent.name)
    body = path.read_bytes()
    assert module.event_type(body) == path.stem
    assert not body.endswith(b"\n"), "a fixture is the exact body: no trailing newline"


@pytest.mark.parametrize("provider", providers.NAMES)
def test_descriptions_are_one_line_in_our_words(provider: str) -> None:
    for event in providers.get(provider).EVENTS.values():
        assert event.description and "\n" not in event.description
        assert len(event.description) <= 200, event.name


def test_names_resolve_with_and_without_a_prefix() -> None:
    assert catalog.lookup("video.asset.ready") == (
        "mux",
        providers.get("mux").EVENTS["video.asset.ready"],
    )
    assert catalog.lookup("fastpix:video.media.ready")[0] == "fastpix"
    assert catalog.lookup("media.completed", "millicast")[0] == "millicast"
    legacy = [e for _, e in catalog.iter_events("mux") if e.legacy]
    assert {e.name for e in legacy} == {
        "video.space.created",
        "video.space.deleted",
        "video.space.active",
        "video.space.idle",
        "video.space.updated",
        "video.space.broadcast.created",
        "video.space.broadcast.idle",
        "video.space.broadcast.active",
        "video.space.broadcast.deleted",
    }


@pytest.mark.parametrize("script", ["fixtures_mux.py", "fixtures_other.py"])
def test_the_fixture_generators_report_no_drift(script: str) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
