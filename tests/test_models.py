"""The event models: every fixture parses and round-trips, and odd bodies are tolerated."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from muxhook.errors import UsageError
from muxhook.models import (
    Asset,
    DeliveryReport,
    DirectiveRun,
    FastPixEvent,
    FastPixLiveStream,
    FastPixMedia,
    FastPixSimulcastTarget,
    LiveStream,
    MillicastEvent,
    MillicastFeed,
    MillicastMedia,
    MuxEvent,
    ProtoTimestamp,
    RobotsJob,
    SimulcastTarget,
    StaticRendition,
    Track,
    Upload,
    parse_event,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PROVIDERS = ("mux", "fastpix", "millicast")
FIXTURE_FILES = sorted(
    (provider, path) for provider in PROVIDERS for path in (FIXTURES / provider).glob("*.json")
)

# Which data model each event family has, written out independently of muxhook.models.
MUX_FAMILIES: tuple[tuple[str, type[BaseModel]], ...] = (
    ("video.asset.track.", Track),
    ("video.asset.static_rendition.", StaticRendition),
    ("video.asset.", Asset),
    ("video.upload.", Upload),
    ("video.live_stream.simulcast_target.", SimulcastTarget),
    ("video.live_stream.", LiveStream),
    ("video.delivery.high_traffic", DeliveryReport),
    ("robots.job.", RobotsJob),
    ("robots.directive_run.", DirectiveRun),
)
FASTPIX_FAMILIES: tuple[tuple[str, type[BaseModel]], ...] = (
    ("video.live_stream.simulcast_target.", FastPixSimulcastTarget),
    ("video.live_stream.", FastPixLiveStream),
    ("video.media.", FastPixMedia),
    ("video.upload.", FastPixMedia),
)
MILLICAST_FAMILIES: dict[str, type[BaseModel]] = {"media": MillicastMedia, "feeds": MillicastFeed}

ASSET_ID = "z3K6DX4yhJJ2CAe7ZcXCuWpNd501wa9axPmtROO5I5tc"


def expected_model(provider: str, event: dict[str, Any]) -> type[BaseModel] | None:
    """The data model a fixture's event should get, or None for the raw dict."""
    if provider == "millicast":
        return MILLICAST_FAMILIES.get(event["type"])
    families = MUX_FAMILIES if provider == "mux" else FASTPIX_FAMILIES
    return next((model for prefix, model in families if event["type"].startswith(prefix)), None)


def mux_body(**changes: Any) -> dict[str, Any]:
    """A small, realistic Mux ``video.asset.ready`` body, with ``changes`` applied."""
    body: dict[str, Any] = {
        "type": "video.asset.ready",
        "id": "3a56ac3d-33da-4366-855b-f592d898409d",
        "created_at": "2022-06-27T20:36:38.000000Z",
        "object": {"type": "asset", "id": ASSET_ID},
        "environment": {"name": "Development", "id": "dvlv0o"},
        "data": {"id": ASSET_ID, "status": "ready", "created_at": 1656362193},
        "attempts": [],
        "accessor": None,
        "accessor_source": None,
        "request_id": None,
    }
    body.update(changes)
    return body


def dumped(model: BaseModel) -> dict[str, Any]:
    """The round-trip dump the brief asks for."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


# --- Fixture files ------------------------------------------------------------


def test_fixture_folders_are_not_empty() -> None:
    for provider in PROVIDERS:
        assert list((FIXTURES / provider).glob("*.json")), f"no fixtures in fixtures/{provider}"


@pytest.mark.parametrize(
    ("provider", "path"), FIXTURE_FILES, ids=[f"{p}/{f.name}" for p, f in FIXTURE_FILES]
)
def test_fixture_parses_round_trips_and_has_typed_data(provider: str, path: Path) -> None:
    raw = path.read_bytes()
    expected = json.loads(raw)

    event = parse_event(raw, provider=provider)

    assert dumped(event) == expected
    data = event.typed_data()
    model = expected_model(provider, expected)
    if model is None:
        assert data == event.data
    else:
        assert isinstance(data, model)
        assert dumped(data) in (event.data, *event.data.values())


# --- Mux ----------------------------------------------------------------------


def test_mux_docs_example_parses() -> None:
    # The example body of the old "Receiving events" docs page, as valid JSON.
    body = """{
      "type": "video.asset.ready",
      "request_id": null,
      "object": {"type": "asset", "id": "0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002"},
      "id": "3a56ac3d-33da-4366-855b-f592d898409d",
      "environment": {"name": "Demo pages", "id": "j0863n"},
      "data": {
        "tracks": [
          {"type": "video", "max_width": 1280, "max_height": 544, "max_frame_rate": 23.976,
           "id": "0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002", "duration": 153.361542},
          {"type": "audio", "max_channels": 2, "max_channel_layout": "stereo",
           "id": "FzB95vBizv02bYNqO5QVzNWRrVo5SnQju", "duration": 153.361497}
        ],
        "status": "ready",
        "max_stored_resolution": "SD",
        "max_stored_frame_rate": 23.976,
        "id": "0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002",
        "duration": 153.361542,
        "created_at": "2018-02-15T01:04:45.000Z",
        "aspect_ratio": "40:17"
      },
      "created_at": "2018-02-15T01:04:45.000Z",
      "accessor_source": null,
      "accessor": null
    }"""

    event = parse_event(body)

    assert isinstance(event, MuxEvent)
    assert dumped(event) == json.loads(body)
    asset = event.typed_data()
    assert isinstance(asset, Asset)
    assert asset.tracks is not None
    assert [track.type for track in asset.tracks] == ["video", "audio"]
    assert asset.tracks[1].max_channel_layout == "stereo"


def test_mux_unknown_event_type_keeps_every_field() -> None:
    body = mux_body(
        type="video.hologram.sparkled",
        object={"type": "sparkle", "id": "x1"},
        data={"whatever": [1, {"nested": True}]},
    )

    event = parse_event(body, provider="mux")

    assert dumped(event) == body
    assert event.typed_data() == {"whatever": [1, {"nested": True}]}


def test_mux_unknown_fields_are_kept_at_every_level() -> None:
    body = mux_body(brand_new={"a": 1})
    body["object"]["colour"] = "blue"
    body["data"]["tracks"] = [{"id": "t1", "type": "video", "hdr": "pq"}]
    body["data"]["new_setting"] = 7

    event = parse_event(body, provider="mux")

    assert dumped(event) == body
    assert isinstance(event, MuxEvent)
    assert event.model_extra == {"brand_new": {"a": 1}}
    asset = event.typed_data()
    assert isinstance(asset, Asset)
    assert dumped(asset) == body["data"]
    assert asset.tracks is not None
    assert asset.tracks[0].model_extra == {"hdr": "pq"}


def test_mux_dump_leaves_out_fields_that_were_not_given() -> None:
    body = {"type": "video.asset.created", "id": "evt-1", "data": {}}

    assert dumped(parse_event(body, provider="mux")) == body


@pytest.mark.parametrize("created_at", [1656362193, 1656362193.25, "2018-02-15T01:04:45.000Z"])
def test_mux_data_created_at_is_number_or_string(created_at: float | str) -> None:
    body = mux_body(data={"id": ASSET_ID, "created_at": created_at})

    asset = parse_event(body, provider="mux").typed_data()

    assert isinstance(asset, Asset)
    assert asset.created_at == created_at
    assert type(asset.created_at) is type(created_at)


def test_mux_integers_stay_integers() -> None:
    body = mux_body(data={"duration": 12, "max_stored_frame_rate": 30})

    asset = parse_event(body, provider="mux").typed_data()

    assert isinstance(asset, Asset)
    assert type(asset.duration) is int
    assert json.dumps(dumped(asset)) == json.dumps(body["data"])


def test_mux_recording_time_started_at_becomes_a_datetime() -> None:
    data = {
        "recording_times": [
            {"started_at": {"seconds": 1691711005, "nanos": 718234000}, "duration": 60.5}
        ]
    }
    body = mux_body(type="video.asset.live_stream_completed", data=data)

    asset = parse_event(body, provider="mux").typed_data()

    assert isinstance(asset, Asset)
    assert asset.recording_times is not None
    started = asset.recording_times[0].started_at
    assert isinstance(started, ProtoTimestamp)
    assert started.to_datetime() == dt.datetime(
        2023, 8, 10, 23, 43, 25, 718234, tzinfo=dt.timezone.utc
    )
    assert dumped(asset) == data


def test_proto_timestamp_accepts_seconds_as_a_string() -> None:
    stamp = ProtoTimestamp.model_validate({"seconds": "1691711005"})

    assert stamp.to_datetime() == dt.datetime(2023, 8, 10, 23, 43, 25, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("event_type", "model"),
    [
        ("video.asset.track.ready", Track),
        ("video.asset.static_rendition.ready", StaticRendition),
        ("video.asset.static_renditions.ready", Asset),
        ("video.asset.master.ready", Asset),
        ("video.upload.asset_created", Upload),
        ("video.live_stream.simulcast_target.idle", SimulcastTarget),
        ("video.live_stream.active", LiveStream),
        ("video.delivery.high_traffic", DeliveryReport),
        ("robots.directive_run.completed", DirectiveRun),
    ],
)
def test_mux_typed_data_picks_the_model_by_event_type(
    event_type: str, model: type[BaseModel]
) -> None:
    event = parse_event(mux_body(type=event_type, data={"id": "x"}), provider="mux")

    assert isinstance(event.typed_data(), model)


def test_mux_robots_job_is_unwrapped_from_the_event_name_key() -> None:
    job = {"id": "job_1", "status": "completed", "workflow": "summarize", "created_at": 1700000000}
    name = "robots.job.summarize.completed"
    body = mux_body(type=name, object={"type": "robots_job", "id": "job_1"}, data={name: job})

    event = parse_event(body, provider="mux")
    data = event.typed_data()

    assert isinstance(data, RobotsJob)
    assert data.id == "job_1"
    assert data.workflow == "summarize"
    assert dumped(data) == job
    assert dumped(event) == body


def test_mux_robots_job_is_also_accepted_at_the_top_level() -> None:
    body = mux_body(type="robots.job.moderate.errored", data={"id": "job_2", "status": "errored"})

    data = parse_event(body, provider="mux").typed_data()

    assert isinstance(data, RobotsJob)
    assert data.status == "errored"


def test_mux_directive_run_is_unwrapped_too() -> None:
    name = "robots.directive_run.completed"
    run = {"created_at": 1700000000, "directive_run": {"id": "drvrun_1", "directive_id": "drv_1"}}

    data = parse_event(mux_body(type=name, data={name: run}), provider="mux").typed_data()

    assert isinstance(data, DirectiveRun)
    assert data.directive_run is not None
    assert data.directive_run.id == "drvrun_1"


def test_mux_object_type_is_free_text() -> None:
    body = mux_body(object={"type": "live-stream", "id": "abc"})

    event = parse_event(body, provider="mux")

    assert isinstance(event, MuxEvent)
    assert event.object is not None
    assert event.object.type == "live-stream"


def test_mux_attempts_are_typed() -> None:
    attempt = {
        "id": "8e3f4f2a-1b2c-4d5e-9f00-1a2b3c4d5e6f",
        "address": "https://example.com/hooks",
        "created_at": "2022-06-27T20:36:43.000000Z",
        "max_attempts": 30,
        "response_status_code": 500,
        "response_body": "oops",
        "response_headers": {"content-type": "text/plain"},
        "webhook_id": 12345,
    }
    body = mux_body(attempts=[attempt])

    event = parse_event(body, provider="mux")

    assert isinstance(event, MuxEvent)
    assert event.attempts[0].response_status_code == 500
    assert dumped(event) == body


def test_mux_data_of_the_wrong_type_is_a_one_line_usage_error() -> None:
    event = parse_event(mux_body(data={"tracks": "not a list"}), provider="mux")

    with pytest.raises(UsageError, match=r"^not a valid Mux Asset: data\.tracks: ") as caught:
        event.typed_data()
    assert "\n" not in str(caught.value)


# --- FastPix ------------------------------------------------------------------


def fastpix_body() -> dict[str, Any]:
    """A FastPix ``video.media.ready`` body in the current envelope."""
    return {
        "type": "video.media.ready",
        "object": {"type": "media", "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"},
        "id": "e1d7c7a4-2b7e-4f0e-9a51-0c6f4d8a9b12",
        "workspace": {"id": "5ta85f64-5717-4562-b3fc-2c963f66afa6", "name": "Development"},
        "status": "ready",
        "data": {
            "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "status": "Ready",
            "playbackIds": [{"id": "6ta85f64", "accessPolicy": "public"}],
            "duration": "00:02:05",
        },
        "createdAt": "2025-01-17T05:52:14.088348957Z",
        "attempts": [],
    }


def test_fastpix_event_is_recognised_by_its_shape() -> None:
    body = fastpix_body()

    event = parse_event(json.dumps(body))

    assert isinstance(event, FastPixEvent)
    assert dumped(event) == body
    media = event.typed_data()
    assert isinstance(media, FastPixMedia)
    assert media.duration == "00:02:05"
    assert media.playbackIds is not None
    assert media.playbackIds[0].accessPolicy == "public"


def test_fastpix_legacy_envelope_is_tolerated() -> None:
    body = {
        "type": "video.live_stream.idle",
        "webhookId": "1f2e3d4c",
        "id": "35e5a3c7-dc6c-4ec4-bc39-a4daf648b014",
        "object": {"name": "live", "id": "2f6159603e66e4fa4e1a04c01942a1c0"},
        "environment": {"name": "Development", "id": "a56a1e42"},
        "created_at": "2024-03-01T10:00:00.000Z",
        "accessor_source": None,
        "accessor": None,
        "data": {"streamId": "2f6159603e66e4fa4e1a04c01942a1c0", "playback_ids": [{"id": "p"}]},
    }

    event = parse_event(body)

    assert isinstance(event, FastPixEvent)
    assert event.occurred_at == "2024-03-01T10:00:00.000Z"
    assert event.object is not None
    assert event.object.name == "live"
    assert dumped(event) == body
    stream = event.typed_data()
    assert isinstance(stream, FastPixLiveStream)
    assert dumped(stream) == body["data"]


def test_fastpix_ai_event_keeps_the_raw_data() -> None:
    body = fastpix_body() | {"type": "video.mediaAI.chapters.ready", "data": {"chapters": []}}

    event = parse_event(body, provider="fastpix")

    assert event.typed_data() == {"chapters": []}


# --- Millicast ----------------------------------------------------------------

MILLICAST_MEDIA = (
    '{"type":"media","event":"completed","timestamp":1725260343575,"data":'
    '{"mediaAssetId":"e0ca421e3ee748629d073b6991d4d93d","tokenId":1187282,'
    '"streamName":"test-record-clip","streamId":"dkxfvY/test-record-clip",'
    '"startTime":1725259874671,"metadata":{},"type":"clip","expiration":1733900336143}}'
)


def test_millicast_event_is_recognised_by_its_shape_and_named() -> None:
    event = parse_event(MILLICAST_MEDIA.encode())

    assert isinstance(event, MillicastEvent)
    assert event.name == "media.completed"
    assert event.timestamp == 1725260343575
    assert dumped(event) == json.loads(MILLICAST_MEDIA)
    media = event.typed_data()
    assert isinstance(media, MillicastMedia)
    assert media.mediaAssetId == "e0ca421e3ee748629d073b6991d4d93d"
    assert media.type == "clip"


def test_millicast_feed_data_is_typed() -> None:
    body = {
        "type": "feeds",
        "event": "ended",
        "timestamp": 1638463501075,
        "data": {"feedId": "369e4a86", "accountId": "ZG6NWV", "active": False, "ended": 1},
    }

    feed = parse_event(body, provider="millicast").typed_data()

    assert isinstance(feed, MillicastFeed)
    assert feed.active is False


def test_millicast_other_hook_types_keep_the_raw_data() -> None:
    body = {"type": "transcoder", "event": "ACTIVE", "timestamp": 1, "data": {"cluster": "lon-1"}}

    event = parse_event(body, provider="millicast")

    assert isinstance(event, MillicastEvent)
    assert event.name == "transcoder.ACTIVE"
    assert event.typed_data() == {"cluster": "lon-1"}


# --- Choosing the provider, and bad bodies ------------------------------------


def test_provider_argument_wins_over_the_body_shape() -> None:
    event = parse_event(fastpix_body() | {"id": "evt-1"}, provider="mux")

    assert isinstance(event, MuxEvent)


def test_signature_header_picks_the_provider() -> None:
    event = parse_event(json.dumps(fastpix_body()), {"Mux-Signature": "t=1,v1=00"})

    assert isinstance(event, MuxEvent)


def test_unknown_provider_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown provider 'vimeo'"):
        parse_event(mux_body(), provider="vimeo")


def test_invalid_json_is_a_one_line_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        parse_event(b'{"type": "video" "id": 1}')

    assert str(caught.value) == (
        "body is not valid JSON: Expecting ',' delimiter at line 1, column 18"
    )


def test_invalid_utf8_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^body is not valid UTF-8"):
        parse_event(b'{"type": "\xff"}')


@pytest.mark.parametrize(
    ("body", "kind"), [("[1, 2]", "array"), ('"hi"', "string"), ("3", "number"), ("null", "null")]
)
def test_non_object_body_is_a_usage_error(body: str, kind: str) -> None:
    with pytest.raises(UsageError, match=f"^body is a JSON {kind}, not an object$"):
        parse_event(body)


def test_missing_required_field_is_a_one_line_usage_error_naming_it() -> None:
    with pytest.raises(UsageError) as caught:
        parse_event({"type": "video.asset.ready"}, provider="mux")

    assert str(caught.value) == "not a valid Mux event: id: Field required"


def test_wrong_field_type_names_the_nested_field() -> None:
    body = mux_body(attempts=[{"max_attempts": "many"}])

    with pytest.raises(UsageError, match=r"^not a valid Mux event: attempts\.0\.max_attempts: "):
        parse_event(body, provider="mux")
