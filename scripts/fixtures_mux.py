"""Write ``fixtures/mux/<event type>.json``: one realistic Mux webhook body per catalog entry.

Usage (from the repository root)::

    .venv/bin/python scripts/fixtures_mux.py          # (re)write the fixtures
    .venv/bin/python scripts/fixtures_mux.py --check  # exit 1 if any file is stale

Each file is the exact body a delivery would carry: compact JSON, UTF-8, no trailing
newline. The envelope keys come in a fixed order (type, object, id, environment, data,
attempts, created_at, accessor_source, accessor, request_id). Inside ``data`` the keys
are written in reverse alphabetical order, as in the real delivery quoted in Mux's
webhook docs.

Output is deterministic: every event draws from its own ``random.Random`` seeded with
``SEED`` and the event name, so adding an event to the catalog leaves the other files
byte-for-byte unchanged. No network access.

Field names and types follow the project's Mux research notes (``specs/mux.md``,
section "data by event family") and the ``Webhook*`` types of the Mux Node SDK. Every
catalog entry must be handled by one of the builders in ``FAMILIES``; an entry that is
not stops the script.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from muxhook.providers._mux_events import EVENTS

Json = dict[str, Any]
#: A builder gets the context and the event's last part(s) (``ready``, ``summarize.completed``)
#: and returns ``(object type, object id, data)``.
Builder = Callable[["Ctx", str], tuple[str, str, Json]]

SEED = 20261120
OUT_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "mux"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
#: Events happen within three days of this moment.
EPOCH = datetime(2026, 11, 20, 9, 0, 0, tzinfo=timezone.utc)
#: One environment for every fixture, as if all came from the same Mux account.
ENVIRONMENT = {"name": "Development", "id": "k7q2xv"}
API = "https://api.mux.com"


class NoBuilder(Exception):
    """A catalog entry that no builder knows how to make."""


# --------------------------------------------------------------------------- context


@dataclass
class Ctx:
    """Randomness and the event's moment, shared by the builders of one fixture."""

    rng: random.Random
    at: datetime  # when the event happened

    @classmethod
    def for_event(cls, name: str) -> Ctx:
        rng = random.Random(f"{SEED}:{name}")  # noqa: S311 - test data, not security
        offset = timedelta(seconds=rng.randrange(3 * 86400), microseconds=rng.randrange(10**6))
        return cls(rng, EPOCH + offset)

    def mux_id(self, length: int = 44) -> str:
        """A Mux-style base62 id (assets, playback ids, uploads, live streams)."""
        return "".join(self.rng.choice(BASE62) for _ in range(length))

    def track_id(self) -> str:
        return self.mux_id(self.rng.randint(32, 40))

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def prefixed(self, prefix: str) -> str:
        """Robots ids: ``rjob_…``, ``drv_…``, ``drvrun_…``."""
        return prefix + self.mux_id(24)

    def unix(self, seconds_before: float = 0.0) -> int:
        """Unix seconds, ``seconds_before`` the event."""
        return int((self.at - timedelta(seconds=seconds_before)).timestamp())

    def pick(self, options: list[Any]) -> Any:
        return self.rng.choice(options)

    def duration(self, low: float = 20.0, high: float = 1800.0) -> float:
        return round(self.rng.uniform(low, high), 6)


def iso(moment: datetime) -> str:
    """Envelope time: ``2026-11-20T14:03:12.482913Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def mux_order(value: Any) -> Any:
    """Keys in reverse alphabetical order, recursively (how Mux serialises ``data``)."""
    if isinstance(value, dict):
        return {key: mux_order(value[key]) for key in sorted(value, reverse=True)}
    if isinstance(value, list):
        return [mux_order(item) for item in value]
    return value


def envelope(name: str, ctx: Ctx, object_type: str, object_id: str, data: Json) -> Json:
    return {
        "type": name,
        "object": {"type": object_type, "id": object_id},
        "id": ctx.uuid4(),
        "environment": dict(ENVIRONMENT),
        "data": mux_order(data),
        "attempts": [],
        "created_at": iso(ctx.at),
        "accessor_source": None,
        "accessor": None,
        "request_id": None,
    }


def expect(action: str, known: set[str], family: str) -> None:
    if action not in known:
        raise NoBuilder(f"the {family} builder does not know the action {action!r}")


# --------------------------------------------------------------------------- assets

TITLES = [
    "Onboarding walkthrough",
    "Q3 all-hands recording",
    "Product demo: new dashboard",
    "Café latte art tutorial",
    "Customer interview #14",
    "Conference keynote (full)",
]

#: (width, height, frame rate, aspect ratio, max_stored_resolution, resolution_tier)
PROFILES = [
    (1920, 1080, 29.97, "16:9", "HD", "1080p"),
    (1280, 720, 30.0, "16:9", "HD", "720p"),
    (1080, 1920, 30.0, "9:16", "HD", "1080p"),
    (3840, 2160, 23.976, "16:9", "UHD", "2160p"),
]


@dataclass
class Media:
    """What Mux learned about a source file; shared by the asset's snapshot and tracks."""

    width: int
    height: int
    frame_rate: float
    aspect_ratio: str
    stored: str
    tier: str
    duration: float

    @classmethod
    def random(cls, ctx: Ctx, duration: float | None = None) -> Media:
        width, height, fps, aspect, stored, tier = ctx.pick(PROFILES)
        return cls(width, height, fps, aspect, stored, tier, duration or ctx.duration())


def embedded_tracks(ctx: Ctx, media: Media) -> list[Json]:
    video = {
        "type": "video",
        "id": ctx.track_id(),
        "max_width": media.width,
        "max_height": media.height,
        "max_frame_rate": media.frame_rate,
        "duration": media.duration,
    }
    audio = {
        "type": "audio",
        "id": ctx.track_id(),
        "primary": True,
        "status": "ready",
        "name": "Default",
        "language_code": "en",
        "max_channels": 2,
        "duration": round(media.duration - ctx.rng.uniform(0.0, 0.05), 6),
    }
    return [video, audio]


def asset(ctx: Ctx, status: str, *, media: Media | None = None, asset_id: str = "") -> Json:
    """A full asset snapshot in ``status`` (preparing, ready or errored)."""
    quality, encoding = ctx.pick([("basic", "baseline"), ("plus", "smart")])
    data: Json = {
        "id": asset_id or ctx.mux_id(),
        "created_at": ctx.unix(ctx.rng.uniform(30, 600) if status != "preparing" else 1),
        "status": status,
        "playback_ids": [{"id": ctx.mux_id(), "policy": "public"}],
        "mp4_support": "none",
        "master_access": "none",
        "max_resolution_tier": "1080p",
        "video_quality": quality,
        "encoding_tier": encoding,
        "meta": {"title": ctx.pick(TITLES)},
        "passthrough": f"video_{ctx.rng.randint(1000, 99999)}",
    }
    if ctx.rng.random() < 0.5:
        data["ingest_type"] = "on_demand_url"
    else:
        data["ingest_type"] = "on_demand_direct_upload"
        data["upload_id"] = ctx.mux_id()
    if status == "preparing":
        data["progress"] = {"state": "ingesting", "progress": 0}
    elif status == "errored":
        data["progress"] = {"state": "errored", "progress": 0}
        data["errors"] = {
            "type": "invalid_input",
            "messages": ["The input file could not be decoded as audio or video."],
        }
    else:
        media = media or Media.random(ctx)
        data["progress"] = {"state": "completed", "progress": 100}
        data["duration"] = media.duration
        data["aspect_ratio"] = media.aspect_ratio
        data["max_stored_resolution"] = media.stored
        data["max_stored_frame_rate"] = media.frame_rate
        data["resolution_tier"] = media.tier
        data["tracks"] = embedded_tracks(ctx, media)
    return data


def build_asset(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    expect(action, set(ASSET_ACTIONS), "asset")
    data = ASSET_ACTIONS[action](ctx)
    return "asset", data["id"], data


def _asset_updated(ctx: Ctx) -> Json:
    data = asset(ctx, "ready")
    data["meta"] = {
        "title": ctx.pick(TITLES) + " (edited)",
        "creator_id": f"user_{ctx.rng.randint(100, 9999)}",
        "external_id": ctx.uuid4(),
    }
    return data


def _asset_live_stream_completed(ctx: Ctx) -> Json:
    slate = round(ctx.rng.uniform(4.0, 40.0), 3)
    first = round(ctx.rng.uniform(300.0, 2400.0), 6)
    second = round(ctx.rng.uniform(120.0, 1200.0), 6)
    start = ctx.unix(first + slate + second + ctx.rng.uniform(60, 300))

    def at(seconds: float) -> Json:
        return {"seconds": start + int(seconds), "nanos": ctx.rng.randrange(10**9)}

    data = asset(ctx, "ready", media=Media.random(ctx, round(first + slate + second, 6)))
    data.pop("upload_id", None)
    data.update(
        ingest_type="live_rtmp",
        is_live=False,
        live_stream_id=ctx.mux_id(),
        created_at=start - 2,
        recording_times=[
            {"started_at": at(0), "duration": first, "type": "content"},
            {"started_at": at(first), "duration": slate, "type": "slate"},
            {"started_at": at(first + slate), "duration": second, "type": "content"},
        ],
    )
    return data


def _asset_warning(ctx: Ctx) -> Json:
    return {
        "id": ctx.mux_id(),
        "status": "preparing",
        "live_stream_id": ctx.mux_id(),
        "passthrough": f"show_{ctx.rng.randint(100, 999)}",
        "warning": {
            "type": "reconnect_slate_unavailable",
            "message": "The image at reconnect_slate_url could not be downloaded; "
            "the default slate is used instead.",
        },
    }


def _asset_non_standard(ctx: Ctx) -> Json:
    data = asset(ctx, "preparing")
    data["progress"] = {"state": "transcoding", "progress": 0}
    data["non_standard_input_reasons"] = {
        "video_codec": "prores",
        "video_bitrate": "high",
        "audio_codec": "pcm_s24le",
    }
    return data


ASSET_ACTIONS: dict[str, Callable[[Ctx], Json]] = {
    "created": lambda ctx: asset(ctx, "preparing"),
    "ready": lambda ctx: asset(ctx, "ready"),
    "errored": lambda ctx: asset(ctx, "errored"),
    "updated": _asset_updated,
    "deleted": lambda ctx: asset(ctx, "ready"),
    "live_stream_completed": _asset_live_stream_completed,
    "warning": _asset_warning,
    "non_standard_input_detected": _asset_non_standard,
}


# ----------------------------------------------- asset-wide MP4s (legacy) and master


def mp4_files(ctx: Ctx, media: Media) -> list[Json]:
    """The files of ``mp4_support: standard``: low, medium and high MP4s.

    Each is scaled so its short side is 360, 480 or 720 pixels (never above the source).
    """
    files = []
    short = min(media.width, media.height)
    for name, side, bitrate in [
        ("low", 360, 800_000),
        ("medium", 480, 1_500_000),
        ("high", 720, 3_000_000),
    ]:
        scale = min(side, short) / short
        width, height = (round(size * scale / 2) * 2 for size in (media.width, media.height))
        files.append(
            {
                "name": f"{name}.mp4",
                "ext": "mp4",
                "width": width,
                "height": height,
                "bitrate": bitrate + ctx.rng.randint(-50_000, 50_000),
                "filesize": str(int(bitrate / 8 * media.duration * ctx.rng.uniform(0.9, 1.05))),
            }
        )
    return files


def build_static_renditions(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``video.asset.static_renditions.*``: the asset, with its ``static_renditions``."""
    expect(action, {"ready", "preparing", "deleted", "errored"}, "static_renditions")
    media = Media.random(ctx)
    data = asset(ctx, "ready", media=media)
    data["mp4_support"] = "none" if action == "deleted" else "standard"
    renditions: Json = {"status": "disabled" if action == "deleted" else action}
    if action == "ready":
        renditions["files"] = mp4_files(ctx, media)
    data["static_renditions"] = renditions
    return "asset", data["id"], data


def build_master(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``video.asset.master.*``: the asset, with ``master_access`` and ``master``."""
    expect(action, {"ready", "preparing", "deleted", "errored"}, "master")
    data = asset(ctx, "ready")
    if action == "deleted":
        data["master_access"] = "none"
    else:
        data["master_access"] = "temporary"
        data["master"] = {"status": action}
        if action == "ready":
            signature = ctx.mux_id(64)
            data["master"]["url"] = (
                f"https://master.mux.com/{ctx.mux_id(48)}/master.mp4"
                f"?skid=default&signature={signature}"
            )
    return "asset", data["id"], data


# --------------------------------------------------------------------------- tracks

#: (text_source, language_code, name)
SUBTITLES = [
    ("uploaded", "en", "English"),
    ("generated_vod", "en", "English (generated)"),
    ("uploaded", "es", "Español"),
    ("uploaded", "fr", "Français"),
]


def build_track(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``video.asset.track.*``: one text track of an asset."""
    statuses = {
        "created": "preparing",
        "ready": "ready",
        "errored": "errored",
        "deleted": "deleted",
    }
    expect(action, set(statuses), "track")
    source, language, name = ctx.pick(SUBTITLES)
    data: Json = {
        "id": ctx.track_id(),
        "asset_id": ctx.mux_id(),
        "type": "text",
        "text_type": "subtitles",
        "text_source": source,
        "language_code": language,
        "name": name,
        "closed_captions": source == "uploaded" and ctx.rng.random() < 0.5,
        "status": statuses[action],
    }
    if action in {"ready", "deleted"}:
        data["duration"] = ctx.duration()
    if action == "errored":
        data["error"] = {
            "type": "invalid_input",
            "messages": ["The text track file could not be parsed as WebVTT or SRT."],
        }
    if source == "uploaded":
        data["passthrough"] = f"subs-{language}"
    return "track", data["id"], data


# ------------------------------------------------------------- one static rendition

#: (name, resolution, width, height, bitrate)
RENDITIONS = [
    ("720p.mp4", "720p", 1280, 720, 2_500_000),
    ("1080p.mp4", "1080p", 1920, 1080, 5_000_000),
    ("480p.mp4", "480p", 854, 480, 1_200_000),
]


def build_static_rendition(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``video.asset.static_rendition.*``: one MP4 rendition (``filesize`` is a string)."""
    statuses = {
        "created": "preparing",
        "ready": "ready",
        "errored": "errored",
        "deleted": "ready",  # the last state it had; there is no "deleted" status
        "skipped": "skipped",
    }
    expect(action, set(statuses), "static_rendition")
    name, resolution, width, height, bitrate = ctx.pick(RENDITIONS)
    if action == "skipped":  # asked for more than the source has
        name, resolution, width, height, bitrate = "2160p.mp4", "2160p", 3840, 2160, 0
    data: Json = {
        "id": ctx.mux_id(),
        "asset_id": ctx.mux_id(),
        "name": name,
        "ext": "mp4",
        "resolution": resolution,
        "type": "standard",
        "status": statuses[action],
    }
    if action != "skipped":
        data["resolution_tier"] = "720p" if height <= 720 else "1080p"
    if action in {"ready", "deleted"}:
        seconds = ctx.duration()
        data.update(
            width=width,
            height=height,
            bitrate=bitrate + ctx.rng.randint(-100_000, 100_000),
            filesize=str(int(bitrate / 8 * seconds * ctx.rng.uniform(0.9, 1.05))),
        )
    if action == "errored":
        data["error"] = {
            "type": "rendition_failed",
            "messages": ["The rendition could not be generated from the stored source."],
        }
    return "static_rendition", data["id"], data


# --------------------------------------------------------------------------- shots


def build_shots(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``video.asset.shots.*``: data is the shot-detection result, not the asset."""
    statuses = {
        "created": "pending",
        "ready": "completed",
        "skipped": "skipped",
        "errored": "errored",
        "deleted": "deleted",
    }
    expect(action, set(statuses), "shots")
    asset_id = ctx.mux_id()
    data: Json = {"status": statuses[action]}
    if action == "ready":
        data["shots_manifest_url"] = f"https://image.mux.com/{ctx.mux_id()}/shots.json"
    if action == "errored":
        data["errors"] = {
            "type": "shot_detection_failed",
            "messages": ["Shot detection could not read the video track."],
        }
    return "asset", asset_id, data


# --------------------------------------------------------------------------- uploads


def build_upload(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``video.upload.*``: a direct upload; ``asset_id`` once the asset exists."""
    statuses = {
        "created": "waiting",
        "asset_created": "asset_created",
        "cancelled": "cancelled",
        "errored": "errored",
    }
    expect(action, set(statuses), "upload")
    upload_id = ctx.mux_id()
    data: Json = {
        "id": upload_id,
        "status": statuses[action],
        "timeout": 3600,
        "cors_origin": "https://app.example.com",
        "new_asset_settings": {"playback_policies": ["public"], "video_quality": "basic"},
        "url": (
            "https://storage.googleapis.com/video-storage-gcp-us-east1-vop1-uploads/"
            f"{ctx.mux_id(26)}?Expires={ctx.unix(-3600)}"
            f"&GoogleAccessId=uploads-gcp-us-east1-vop1%40mux-vop-uploads.iam.gserviceaccount.com"
            f"&Signature={ctx.mux_id(64)}"
        ),
    }
    if action == "asset_created":
        data["asset_id"] = ctx.mux_id()
    if action == "errored":
        data["error"] = {
            "type": "invalid_input",
            "message": "The uploaded file is not a playable audio or video file.",
        }
    return "upload", upload_id, data


# ----------------------------------------------------------------------- live streams

#: action -> (status, connected, recording, has an active asset)
LIVE_STATES = {
    "created": ("idle", False, False, False),
    "connected": ("idle", True, False, False),
    "recording": ("idle", True, True, True),
    "active": ("active", True, True, True),
    "disconnected": ("active", False, False, True),
    "idle": ("idle", False, False, False),
    "updated": ("idle", False, False, False),
    "enabled": ("idle", False, False, False),
    "disabled": ("disabled", False, False, False),
    "deleted": ("idle", False, False, False),
}


def stream_key(ctx: Ctx) -> str:
    return ctx.uuid4()


def build_live_stream(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``video.live_stream.*``: the live stream; ``warning`` has its own short shape."""
    expect(action, {*LIVE_STATES, "warning"}, "live_stream")
    stream_id = ctx.mux_id()
    if action == "warning":
        return "live_stream", stream_id, _live_warning(ctx, stream_id)
    status, connected, recording, live_asset = LIVE_STATES[action]
    recent = [ctx.mux_id() for _ in range(0 if action == "created" else ctx.rng.randint(1, 3))]
    data: Json = {
        "id": stream_id,
        "created_at": ctx.unix(ctx.rng.uniform(1, 30) if action == "created" else 86400 * 3),
        "status": status,
        "stream_key": stream_key(ctx),
        "playback_ids": [{"id": ctx.mux_id(), "policy": "public"}],
        "new_asset_settings": {"playback_policies": ["public"]},
        "latency_mode": "standard",
        "reconnect_window": 60,
        "max_continuous_duration": 43200,
        "passthrough": f"channel_{ctx.rng.randint(10, 999)}",
        "meta": {"title": "Weekly town hall"},
    }
    if recent:
        data["recent_asset_ids"] = recent
    if action != "created":
        data["connected"] = connected
        data["recording"] = recording
    if connected:
        data["active_ingest_protocol"] = "rtmp"
    if live_asset:
        data["active_asset_id"] = recent[-1]
    return "live_stream", stream_id, data


def _live_warning(ctx: Ctx, stream_id: str) -> Json:
    return {
        "id": stream_id,
        "status": "active",
        "stream_key": stream_key(ctx),
        "active_asset_id": ctx.mux_id(),
        "passthrough": f"channel_{ctx.rng.randint(10, 999)}",
        "warning": {
            "type": "reconnect_slate_unavailable",
            "message": "The image at reconnect_slate_url could not be downloaded; "
            "the default slate is used instead.",
        },
    }


# ------------------------------------------------------------------ simulcast targets

TARGETS = [
    ("rtmp://a.rtmp.youtube.com/live2", "youtube"),
    ("rtmps://live-api-s.facebook.com:443/rtmp/", "facebook"),
    ("rtmp://live.twitch.tv/app", "twitch"),
]


def build_simulcast_target(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``video.live_stream.simulcast_target.*``: one restream destination."""
    statuses = {
        "created": "idle",
        "idle": "idle",
        "starting": "starting",
        "broadcasting": "broadcasting",
        "errored": "errored",
        "deleted": "idle",
        "updated": "idle",
    }
    expect(action, set(statuses), "simulcast_target")
    url, platform = ctx.pick(TARGETS)
    data: Json = {
        "id": ctx.mux_id(),
        "live_stream_id": ctx.mux_id(),
        "status": statuses[action],
        "url": url,
        "stream_key": ctx.mux_id(20).lower(),
        "passthrough": platform,
    }
    if action == "errored":
        data["error_severity"] = "normal"
    return "simulcast_target", data["id"], data


# ------------------------------------------------------------------------- delivery


def build_delivery(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``video.delivery.high_traffic``: the busiest assets in a time window."""
    expect(action, {"high_traffic"}, "delivery")
    end = ctx.unix() // 300 * 300
    rows = []
    for index in range(ctx.rng.randint(2, 4)):
        tiers = {
            "tier_1080p": round(ctx.rng.uniform(2000, 40000), 3),
            "tier_720p": round(ctx.rng.uniform(500, 9000), 3),
            "tier_audio_only": round(ctx.rng.uniform(0, 300), 3),
        }
        row: Json = {
            "asset_id": ctx.mux_id(),
            "asset_duration": ctx.duration(60, 7200),
            "asset_state": "ready",
            "asset_resolution_tier": "1080p",
            "asset_encoding_tier": "smart",
            "asset_video_quality": "plus",
            "created_at": ctx.unix(ctx.rng.uniform(86400, 86400 * 60)),
            "delivered_seconds": round(sum(tiers.values()), 3),
            "delivered_seconds_by_resolution": tiers,
            "passthrough": f"video_{ctx.rng.randint(1000, 99999)}",
        }
        if index == 0:
            row["live_stream_id"] = ctx.mux_id()
        rows.append(row)
    data: Json = {
        "id": ctx.uuid4(),
        "threshold": 10000,
        "timeframe": [end - 3600, end],
        "data": rows,
    }
    return "delivery", data["id"], data


# --------------------------------------------------------------------------- robots


def _asset_only(ctx: Ctx, asset_id: str) -> Json:
    return {"asset_id": asset_id}


def _scope(ctx: Ctx, asset_id: str) -> Json:
    return {"asset_id": asset_id, "language_code": "en"}


def _ask_params(ctx: Ctx, asset_id: str) -> Json:
    return {
        "asset_id": asset_id,
        "questions": [
            {"question": "Does the video show a product demo?", "answer_options": ["yes", "no"]},
            {"question": "Who is the main speaker?", "free_form_reply": True},
        ],
    }


def _ask_outputs(ctx: Ctx) -> Json:
    return {
        "answers": [
            {
                "question": "Does the video show a product demo?",
                "answer": "yes",
                "confidence": 0.94,
                "reasoning": "The presenter shares a screen and clicks through the dashboard.",
                "skipped": False,
            },
            {
                "question": "Who is the main speaker?",
                "answer": "A product manager introducing the release.",
                "confidence": 0.71,
                "reasoning": "She introduces herself at the start and leads the walkthrough.",
                "skipped": False,
            },
        ]
    }


def _moments_outputs(ctx: Ctx) -> Json:
    start = ctx.rng.randint(10_000, 60_000)
    return {
        "moments": [
            {
                "title": "The big reveal",
                "start_ms": start,
                "end_ms": start + 18_500,
                "overall_score": 0.88,
                "audible_narrative": "The host announces the launch date to applause.",
                "notable_audible_concepts": ["launch date", "applause"],
                "cues": [{"start_ms": start, "end_ms": start + 4_200, "text": "So here it is."}],
            }
        ]
    }


def _chapters_outputs(ctx: Ctx) -> Json:
    return {
        "chapters": [
            {"start_time": 0, "title": "Introduction"},
            {"start_time": 74.5, "title": "Setting up the project"},
            {"start_time": 312.0, "title": "Questions and wrap-up"},
        ]
    }


def _moderate_params(ctx: Ctx, asset_id: str) -> Json:
    return {"asset_id": asset_id, "thresholds": {"sexual": 0.7, "violence": 0.8}}


def _moderate_outputs(ctx: Ctx) -> Json:
    return {
        "exceeds_threshold": False,
        "max_scores": {"sexual": 0.02, "violence": 0.11},
        "thumbnail_scores": [
            {"time": 12.0, "sexual": 0.01, "violence": 0.04},
            {"time": 96.0, "sexual": 0.02, "violence": 0.11},
        ],
    }


def _summarize_params(ctx: Ctx, asset_id: str) -> Json:
    return {"asset_id": asset_id, "tone": "professional", "tag_count": 5}


def _summarize_outputs(ctx: Ctx) -> Json:
    return {
        "title": "Setting up your first project in ten minutes",
        "description": "A quick tour of creating a project, inviting teammates and "
        "publishing a first video, with tips on naming and permissions.",
        "tags": ["tutorial", "onboarding", "projects", "teams", "publishing"],
    }


def _track_params(ctx: Ctx, asset_id: str) -> Json:
    return {"asset_id": asset_id, "track_id": ctx.track_id(), "to_language_code": "de"}


def _vtt_outputs(ctx: Ctx) -> Json:
    return {"uploaded_track_id": ctx.track_id()}


def _edit_params(ctx: Ctx, asset_id: str) -> Json:
    return {
        "asset_id": asset_id,
        "track_id": ctx.track_id(),
        "replacements": [{"find": "Mucks", "replace": "Mux", "case_sensitive": True}],
        "upload_to_mux": True,
    }


def _edit_outputs(ctx: Ctx) -> Json:
    return {"total_replacement_count": ctx.rng.randint(1, 12), "uploaded_track_id": ctx.track_id()}


def _thumbnail_outputs(ctx: Ctx) -> Json:
    return {
        "best_thumbnails": [
            {
                "timestamp_ms": ctx.rng.randint(5_000, 90_000),
                "overall": 0.91,
                "description": "Speaker smiling at the camera in front of a bright slide.",
                "alt_text": "Presenter on stage",
                "subscores": {
                    "focus": 0.95,
                    "face_or_action": 0.93,
                    "composition": 0.88,
                    "contrast_color": 0.86,
                    "brand_fit": 0.9,
                },
            }
        ]
    }


def _scenes_outputs(ctx: Ctx) -> Json:
    return {
        "scenes": [
            {
                "title": "Opening remarks",
                "start_ms": 0,
                "end_ms": 41_200,
                "shot_count": 3,
                "cues": [{"start_ms": 1_000, "end_ms": 4_800, "text": "Welcome, everyone."}],
            },
            {
                "title": "Live demo",
                "start_ms": 41_200,
                "end_ms": 198_750,
                "shot_count": 9,
                "cues": [{"start_ms": 42_000, "end_ms": 45_500, "text": "Let me show you."}],
            },
        ]
    }


def _engagement_outputs(ctx: Ctx) -> Json:
    return {
        "moment_insights": [
            {
                "start_ms": 0,
                "end_ms": 30_000,
                "engagement_score": 0.82,
                "insight": "Most viewers stay through the opening hook.",
            },
            {
                "start_ms": 240_000,
                "end_ms": 300_000,
                "engagement_score": 0.37,
                "insight": "Drop-off rises during the long settings walkthrough.",
            },
        ],
        "overall_insight": {
            "summary": "Strong start, with a dip in the middle third.",
            "trends": ["viewers skip the settings section", "replays around the demo"],
        },
    }


def _captions_outputs(ctx: Ctx) -> Json:
    return {"language_code": "en", "track_id": ctx.track_id()}


def _audio_params(ctx: Ctx, asset_id: str) -> Json:
    return {"asset_id": asset_id, "to_language_code": "es", "upload_to_mux": True}


def _audio_outputs(ctx: Ctx) -> Json:
    return {"uploaded_track_id": ctx.track_id()}


#: workflow -> (parameters builder, outputs builder); the event names use underscores,
#: the job's ``workflow`` field uses hyphens.
WORKFLOWS: dict[str, tuple[Callable[[Ctx, str], Json], Callable[[Ctx], Json]]] = {
    "ask_questions": (_ask_params, _ask_outputs),
    "find_key_moments": (_asset_only, _moments_outputs),
    "generate_chapters": (_scope, _chapters_outputs),
    "moderate": (_moderate_params, _moderate_outputs),
    "summarize": (_summarize_params, _summarize_outputs),
    "translate_captions": (_track_params, _vtt_outputs),
    "edit_captions": (_edit_params, _edit_outputs),
    "find_best_thumbnails": (_asset_only, _thumbnail_outputs),
    "find_scenes": (_scope, _scenes_outputs),
    "generate_engagement_insights": (_asset_only, _engagement_outputs),
    "generate_premium_captions": (_scope, _captions_outputs),
    "translate_audio": (_audio_params, _audio_outputs),
}
JOB_STATES = {"pending", "processing", "completed", "errored", "cancelled"}


def asset_resource(ctx: Ctx, asset_id: str) -> Json:
    return {
        "assets": [
            {
                "id": asset_id,
                "_links": {"self": {"href": f"{API}/video/v1/assets/{asset_id}"}},
                "meta": {"title": ctx.pick(TITLES)},
            }
        ]
    }


def build_robots_job(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``robots.job.<workflow>.<state>``: the job, nested under the event name."""
    workflow, _, state = action.rpartition(".")
    if workflow not in WORKFLOWS or state not in JOB_STATES:
        raise NoBuilder(f"the robots job builder does not know {action!r}")
    params, outputs = WORKFLOWS[workflow]
    asset_id = ctx.mux_id()
    created = ctx.unix(ctx.rng.uniform(5, 900) if state != "pending" else 0)
    job: Json = {
        "id": ctx.prefixed("rjob_"),
        "workflow": workflow.replace("_", "-"),
        "status": state,
        "created_at": created,
        "updated_at": ctx.unix(),
        "units_consumed": ctx.rng.randint(2, 40) if state == "completed" else 0,
        "parameters": params(ctx, asset_id),
        "passthrough": f"cms-item-{ctx.rng.randint(100, 9999)}",
        "resources": asset_resource(ctx, asset_id),
    }
    if state == "completed":
        job["outputs"] = outputs(ctx)
    if state == "errored":
        job["errors"] = [
            {
                "type": "asset_not_ready",
                "message": "The asset has no ready video or audio track to analyse.",
                "retryable": True,
            }
        ]
    return "robots_job", job["id"], {f"robots.job.{action}": job}


def build_directive_run(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``robots.directive_run.*``: a directive run and the state of each of its bindings."""
    expect(action, {"created", "partial", "completed", "errored"}, "directive_run")
    started = ctx.unix(ctx.rng.uniform(1, 120) if action == "created" else 900)

    def dispatched(reference: str, workflow: str) -> Json:
        return {
            "reference_id": reference,
            "workflow_name": workflow,
            "status": "dispatched",
            "job_id": ctx.prefixed("rjob_"),
        }

    def failed(reference: str, reason: str) -> Json:
        return {"reference_id": reference, "status": "failed", "reason": reason}

    captions = ("captions", "generate-premium-captions")
    german = ("german", "translate-captions")
    no_captions = "Its source binding 'captions' did not produce a caption track."
    if action == "created":
        nodes = [
            {
                "reference_id": captions[0],
                "workflow_name": captions[1],
                "status": "waiting_for_resources",
            },
            {
                "reference_id": german[0],
                "workflow_name": german[1],
                "status": "waiting_for_source_workflow",
                "source_workflows": [captions[0]],
            },
        ]
    elif action == "partial":
        nodes = [dispatched(*captions), failed(german[0], no_captions)]
    elif action == "completed":
        nodes = [dispatched(*captions), dispatched(*german)]
    else:
        nodes = [
            failed(captions[0], "The asset has no audio track to transcribe."),
            failed(german[0], no_captions),
        ]
    run: Json = {
        "id": ctx.prefixed("drvrun_"),
        "directive_id": ctx.prefixed("drv_"),
        "asset_id": ctx.mux_id(),
        "status": "pending" if action == "created" else action,
        "started_at": started,
        "completed_at": None if action == "created" else ctx.unix(),
        "node_states": nodes,
    }
    data: Json = {
        "created_at": ctx.unix(),
        "directive_run": run,
        "environment_id": ENVIRONMENT["id"],
        "internal_id": ctx.uuid4(),
    }
    return "directive_run", run["id"], data


# ------------------------------------------------------------- legacy: Spaces (retired)


def build_space(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``video.space.*``: a real-time space (the product is retired)."""
    expect(action, {"created", "deleted", "active", "idle", "updated"}, "space")
    data: Json = {
        "id": ctx.mux_id(),
        "created_at": iso(ctx.at - timedelta(days=2, seconds=ctx.rng.randrange(86400))),
        "status": "active" if action == "active" else "idle",
        "type": "server",
        "passthrough": f"room_{ctx.rng.randint(100, 999)}",
        "broadcasts": [],
    }
    if action == "active":
        data["active_session_id"] = ctx.mux_id()
    return "space", data["id"], data


def build_space_broadcast(ctx: Ctx, action: str) -> tuple[str, str, Json]:
    """``video.space.broadcast.*``: a space sent out to a live stream (retired)."""
    expect(action, {"created", "idle", "active", "deleted"}, "space broadcast")
    data: Json = {
        "id": ctx.mux_id(),
        "live_stream_id": ctx.mux_id(),
        "layout": ctx.pick(["gallery", "active-speaker"]),
        "resolution": "1920x1080",
        "background": "",
        "status": "active" if action == "active" else "idle",
        "passthrough": f"room_{ctx.rng.randint(100, 999)}",
    }
    return "broadcast", data["id"], data


# ----------------------------------------------------------------------- dispatching

#: Event-name prefix -> builder. The longest matching prefix wins.
FAMILIES: dict[str, Builder] = {
    "video.asset.": build_asset,
    "video.asset.static_renditions.": build_static_renditions,
    "video.asset.static_rendition.": build_static_rendition,
    "video.asset.master.": build_master,
    "video.asset.track.": build_track,
    "video.asset.shots.": build_shots,
    "video.upload.": build_upload,
    "video.live_stream.": build_live_stream,
    "video.live_stream.simulcast_target.": build_simulcast_target,
    "video.delivery.": build_delivery,
    "robots.job.": build_robots_job,
    "robots.directive_run.": build_directive_run,
    "video.space.": build_space,
    "video.space.broadcast.": build_space_broadcast,
}


def build(name: str) -> Json:
    """The full event body for event type ``name``."""
    prefixes = [prefix for prefix in FAMILIES if name.startswith(prefix)]
    if not prefixes:
        raise NoBuilder(f"no builder for event type {name!r}")
    prefix = max(prefixes, key=len)
    ctx = Ctx.for_event(name)
    object_type, object_id, data = FAMILIES[prefix](ctx, name[len(prefix) :])
    return envelope(name, ctx, object_type, object_id, data)


def body(name: str) -> bytes:
    """Compact JSON, UTF-8, no trailing newline: the bytes a delivery would carry."""
    text = json.dumps(build(name), separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)

    try:
        wanted = {f"{name}.json": body(name) for name in EVENTS}
    except NoBuilder as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    stale = [path.name for path in OUT_DIR.glob("*.json") if path.name not in wanted]
    changed = [
        file
        for file, data in wanted.items()
        if not (OUT_DIR / file).is_file() or (OUT_DIR / file).read_bytes() != data
    ]
    if args.check:
        for file in sorted(changed):
            print(f"out of date: {OUT_DIR / file}")
        for file in sorted(stale):
            print(f"not in the catalog: {OUT_DIR / file}")
        return 1 if changed or stale else 0

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for file in changed:
        (OUT_DIR / file).write_bytes(wanted[file])
    for file in stale:
        (OUT_DIR / file).unlink()
        print(f"removed {file} (not in the catalog)")
    print(f"{len(wanted)} fixtures in {OUT_DIR} ({len(changed)} written, {len(stale)} removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
