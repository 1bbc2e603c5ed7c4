"""`make bench`'s report: each figure with its baseline, ratio and target, a chart, and the
figures a partial run keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.results import RESULTS_ENV, load, record, write_report


def test_figures_are_recorded_only_under_the_runner_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    record("x", "alone", value=1, baseline=1, baseline_name="b", unit="/s")  # run by hand
    jsonl = tmp_path / "run.jsonl"
    monkeypatch.setenv(RESULTS_ENV, str(jsonl))
    met = record("intake", "pixel", value=600, baseline=1000, baseline_name="bare", unit="req/s",
                 target=">= 0.5")  # fmt: skip
    missed = record("intake", "reply", value=200, baseline=1000, baseline_name="bare",
                    unit="req/s", target=">= 0.3", note="p99 80 ms")  # fmt: skip
    latency = record("outage", "p99", value=30, baseline=40, baseline_name="up", unit="ms",
                     target="<= 1.5")  # fmt: skip
    assert (met.ratio, met.met, missed.met, latency.ratio, latency.met) == (
        0.6,
        True,
        False,
        0.75,
        True,
    )
    figures = load(jsonl)
    assert [f.name for f in figures] == ["pixel", "reply", "p99"]

    report = write_report(figures, header=["run"], failed=["workers"], out=tmp_path / "out")
    text = report.read_text()
    assert "**Failed:** workers" in text
    assert "| pixel | 600 req/s | 1,000 req/s (bare) | 0.60 | >= 0.5 | yes |" in text
    assert "| reply (p99 80 ms) | 200 req/s | 1,000 req/s (bare) | 0.20 | >= 0.3 | **no** |" in text
    svg = (tmp_path / "out" / "ratios.svg").read_text()
    assert svg.count("<rect") == 3
    assert 'fill="#c0392b"' in svg  # the missed target in red
    assert load(tmp_path / "out" / "figures.jsonl") == figures  # what a partial run keeps


def test_a_target_is_a_bound_on_the_ratio() -> None:
    with pytest.raises(ValueError, match="target"):
        record("x", "y", value=1, baseline=1, baseline_name="b", unit="", target="0.5")


def test_the_intake_baseline_is_the_mean_of_its_runs_before_and_after_the_endpoint() -> None:
    from bench.intake import Level, mean_level

    before = Level(connections=16, rps=3000, p50_ms=4, p99_ms=6, errors=0)
    after = Level(connections=16, rps=4000, p50_ms=3, p99_ms=5, errors=1)
    assert mean_level([before, after]) == Level(
        connections=16, rps=3500, p50_ms=3.5, p99_ms=5.5, errors=1
    )


def test_a_probe_deals_activity_arguments_are_made_for_another_deal() -> None:
    from datetime import UTC, datetime, timedelta

    from bench.deal_cycle import for_deal, shifted
    from workflows.contracts import DealSnapshot, SuppressRequest

    now = datetime(2026, 11, 30, 9, tzinfo=UTC)
    snapshot = DealSnapshot(7, 2, "active", "new", None, "first email", now)
    assert for_deal(snapshot, 7, 42) == DealSnapshot(
        42, 2, "active", "new", None, "first email", now
    )
    assert for_deal(7, 7, 42) == 42  # load_deal_context(deal_id)
    assert for_deal(2, 7, 42) == 2  # another number is left alone
    assert for_deal(True, 1, 42) is True
    other = SuppressRequest(deal_id=9, reason="r", detail="d")
    assert for_deal(other, 7, 42) is other
    assert shifted(now, timedelta(days=3)) == datetime(2026, 12, 3, 9, tzinfo=UTC)
    assert shifted(snapshot, timedelta(days=3)) is snapshot
