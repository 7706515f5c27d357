"""Soak: ``muxhook listen`` loses nothing and forwards nothing twice, under load.

The same code as ``python benchmarks/soak.py`` (``run_soak``): a real listener in front
of a fast local app, a paced phase then a burst, and every event accounted for in the
SQLite log, at the app (by event id) and in the ``--json`` lines. Small numbers run
every time; the full 100,000 + 10,000 runs under ``pytest -m slow``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from soak import SoakConfig, SoakResult, report, run_soak

MIB = 1024  # KiB


def check(result: SoakResult, *, rss_growth_mib: float) -> None:
    """Zero lost, zero duplicated, every event valid and delivered, memory flat."""
    print(report(result))  # shown when the test fails, and with -s
    sent = result.sent
    assert result.lost == 0
    assert result.duplicated == 0
    assert result.steady.not_200 == result.burst.not_200 == 0
    assert result.recorded == result.recorded_ids == sent
    assert result.valid == result.delivered == result.attempts == sent
    assert result.app_posts == result.app_ids == sent
    assert result.app_duplicated == result.app_foreign == 0
    assert result.json_lines == result.json_ids == sent
    assert result.flagged_duplicate == 0
    assert result.summary_received == sent
    assert result.exit_code == 0
    assert len(result.rss_samples_kib) >= 3
    assert result.rss_last_kib - result.rss_first_kib < rss_growth_mib * MIB
    assert result.rss_max_kib - result.rss_first_kib < 2 * rss_growth_mib * MIB
    # headers and body are stored as received: about twice the body, never runaway
    assert 0 < result.bytes_per_event < 4096


def test_small_soak_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    config = SoakConfig(events=2000, rate=1000.0, burst=1000, connections=16, sample_every=250)
    check(run_soak(config, scratch=tmp_path), rss_growth_mib=4)


@pytest.mark.slow
def test_full_soak_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    check(run_soak(SoakConfig(), scratch=tmp_path), rss_growth_mib=4)
