"""Write the FastPix, Millicast and Cloudflare Stream fixtures: every catalog event's body.

    python scripts/fixtures_other.py           # (re)write fixtures/{fastpix,millicast,cloudflare}
    python scripts/fixtures_other.py --check   # exit 1 if a file on disk differs or is missing

Each JSON fixture is compact (no spaces, no trailing newline), UTF-8, and is the body that
gets signed and sent. Millicast's ``thumbnail`` hook is a small baseline JPEG, written by
the tiny encoder below. Everything comes from a seeded ``random.Random``, so two runs give
identical bytes. An event in a catalog without a builder here (or a builder without an
event) stops the script: the catalogs and the fixtures must stay one to one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import struct
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from muxhook.providers import EventType
from muxhook.providers._fastpix_events import EVENTS as FASTPIX_EVENTS
from muxhook.providers._millicast_events import EVENTS as MILLICAST_EVENTS
from muxhook.providers.cloudflare import EVENTS as CLOUDFLARE_EVENTS

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEED = 20250117

JSON = dict[str, Any]
Builder = Callable[[str], bytes]


def dump(obj: JSON) -> bytes:
    """A fixture body: compact JSON, raw UTF-8, no trailing newline."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_rng(provider: str, name: str) -> random.Random:
    """A generator of its own per event, so adding an event changes no other fixture."""
    return random.Random(f"{SEED}:{provider}:{name}")  # noqa: S311 - fixtures, not secrets


def uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hex32(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


# --------------------------------------------------------------------------- FastPix

#: The media story starts here; every event is placed at a fixed offset from it.
FP_BASE = dt.datetime(2025, 1, 17, 5, 50, 2, 114000, tzinfo=dt.timezone.utc)


def iso_ms(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_ns(moment: dt.datetime, rng: random.Random) -> str:
    """Nanosecond precision, as FastPix stamps its events."""
    nanos = moment.microsecond // 1000 * 1_000_000 + rng.randrange(1_000_000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nanos:09d}Z"


def at(seconds: float) -> dt.datetime:
    return FP_BASE + dt.timedelta(seconds=seconds)


@dataclasses.dataclass(frozen=True)
class World:
    """The ids shared by all FastPix fixtures, so they tell one consistent story."""

    workspace_id: str
    media_id: str
    playback_id: str
    video_track_id: str
    audio_track_id: str
    subtitle_track_id: str
    added_track_id: str
    failed_media_id: str
    uploaded_media_id: str
    upload_id: str
    cancelled_upload_id: str
    stream_id: str
    stream_key: str
    srt_secret: str
    live_playback_id: str
    recorded_media_id: str
    recorded_playback_id: str
    simulcast_id: str
    simulcast_key: str

    @classmethod
    def build(cls) -> World:
        rng = random.Random(SEED)  # noqa: S311 - fixtures, not secrets
        values: dict[str, str] = {}
        for field in dataclasses.fields(cls):
            if field.name in ("stream_id", "stream_key", "srt_secret"):
                values[field.name] = hex32(rng)
            elif field.name == "simulcast_key":
                values[field.name] = "-".join(
                    "".join(rng.choice("abcdefghijkmnpqrstuvwxyz0123456789") for _ in range(4))
                    for _ in range(5)
                )
            else:
                values[field.name] = uuid4(rng)
        return cls(**values)


W = World.build()
WORKSPACE = {"id": W.workspace_id, "name": "Development"}
OPEN = {"defaultPolicy": "allow", "allow": [], "deny": []}


def fastpix_envelope(
    name: str, kind: str, object_id: str, status: str, data: JSON, moment: dt.datetime
) -> bytes:
    """The current FastPix envelope, fields in the order the platform sends them."""
    rng = event_rng("fastpix", name)
    return dump(
        {
            "type": name,
            "object": {"type": kind, "id": object_id},
            "id": uuid4(rng),
            "workspace": WORKSPACE,
            "status": status,
            "data": data,
            "createdAt": iso_ns(moment, rng),
            "attempts": [],
        }
    )


def video_track(status: str = "available") -> JSON:
    return {
        "id": W.video_track_id,
        "type": "video",
        "width": 1920,
        "height": 1080,
        "frameRate": "30/1",
        "status": status,
    }


def text_track(track_id: str, kind: str, language: str, code: str, status: str) -> JSON:
    return {
        "id": track_id,
        "type": kind,
        "status": status,
        "languageName": language,
        "languageCode": code,
    }


def ready_tracks() -> list[JSON]:
    return [video_track(), text_track(W.audio_track_id, "audio", "english", "en", "available")]


def media_data(
    moment: dt.datetime,
    *,
    status: str = "Ready",
    tracks: list[JSON] | None = None,
    duration: str = "00:02:05",
    media_id: str | None = None,
    playback_id: str | None = None,
    created: dt.datetime = FP_BASE,
    metadata: JSON | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSON:
    """A FastPix Media object as it appears in ``data``."""
    playback = playback_id or W.playback_id
    data: JSON = {
        "id": media_id or W.media_id,
        "workspaceId": W.workspace_id,
        "thumbnail": f"https://images.fastpix.io/{playback}/thumbnail.png",
        "metadata": {"project": "muxhook-demo"} if metadata is None else metadata,
        "mediaQuality": "standard",
        "maxResolution": "1080p",
        "sourceResolution": "1080p",
        "status": status,
        "playbackIds": [
            {
                "id": playback,
                "accessPolicy": "public",
                "accessRestrictions": {"domains": OPEN, "userAgents": OPEN},
            }
        ],
        "tracks": ready_tracks() if tracks is None else tracks,
        "duration": duration,
        "aspectRatio": "16:9",
        "createdAt": iso_ms(created),
        "updatedAt": iso_ms(moment),
    }
    data.update(extra or {})
    return data


def media_event(seconds: float, envelope_status: str, /, **fields: Any) -> Builder:
    """An event about one media: ``object`` is the media, ``data`` the Media object.

    ``envelope_status`` is the top-level ``status``; ``fields`` go to ``media_data``.
    """

    def build(name: str) -> bytes:
        moment = at(seconds)
        data = media_data(moment, **fields)
        return fastpix_envelope(name, "media", data["id"], envelope_status, data, moment)

    return build


def upload_event(seconds: float, status: str, upload_id: str) -> Builder:
    """A direct-upload event: ``data`` is the upload, ``object`` names it by ``uploadId``."""

    def build(name: str) -> bytes:
        rng = event_rng("fastpix", name + ":url")
        data = {
            "uploadId": upload_id,
            "url": f"https://storage.googleapis.com/fastpix-uploads/{upload_id}"
            f"?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Expires=14400"
            f"&X-Goog-Signature={rng.getrandbits(256):064x}",
            "timeout": 14400,
            "corsOrigin": "*",
            "pushMediaSettings": {
                "accessPolicy": "public",
                "maxResolution": "1080p",
                "mediaQuality": "standard",
                "metadata": {"project": "muxhook-demo"},
            },
        }
        return fastpix_envelope(name, "media", upload_id, status, data, at(seconds))

    return build


def track_event(seconds: float, status: str, track_status: str | None) -> Builder:
    """A track event: the media, with the added Spanish audio track in its new state."""
    tracks = ready_tracks()
    if track_status is not None:
        tracks.append(text_track(W.added_track_id, "audio", "spanish", "es", track_status))
    return media_event(seconds, status, tracks=tracks)


def ai_event(seconds: float, result: JSON) -> Builder:
    """An in-video AI result; ``data`` names the media by ``id`` and carries the result."""

    def build(name: str) -> bytes:
        data: JSON = {"id": W.media_id, "workspaceId": W.workspace_id, **result}
        return fastpix_envelope(name, "media", W.media_id, "ready", data, at(seconds))

    return build


CHAPTERS: JSON = {
    "isChaptersGenerated": True,
    "chapters": [
        {
            "chapter": "1",
            "startTime": "00:00:00",
            "endTime": "00:00:52",
            "title": "Welcome and agenda",
            "summary": "The host introduces the speakers and what the session will cover.",
        },
        {
            "chapter": "2",
            "startTime": "00:00:52",
            "endTime": "00:01:40",
            "title": "Live demo",
            "summary": "A walk-through of uploading a video and playing it back.",
        },
        {
            "chapter": "3",
            "startTime": "00:01:40",
            "endTime": "00:02:05",
            "title": "Questions",
            "summary": "Short answers to audience questions and closing remarks.",
        },
    ],
}

NAMED_ENTITIES: JSON = {
    "isNamedEntitiesGenerated": True,
    "namedEntities": [
        {"entity": "Ada Lovelace", "category": "person", "count": 3},
        {"entity": "Zürich", "category": "location", "count": 2},
        {"entity": "FastPix", "category": "organization", "count": 5},
    ],
}

SUMMARY: JSON = {
    "isSummaryGenerated": True,
    "summaryLength": 100,
    "summary": "A short product keynote: the speakers introduce the platform, demonstrate "
    "uploading and playing a video, and answer a few questions from the audience.",
}

MODERATION: JSON = {
    "isModerationGenerated": True,
    "moderation": {
        "type": "av",
        "moderationResult": [
            {"category": "Harassment", "score": 0.02},
            {"category": "Violence", "score": 0.01},
            {"category": "Sexual", "score": 0.0},
            {"category": "Profanity", "score": 0.04},
        ],
    },
}


def live_data(status: str) -> JSON:
    """A FastPix live stream (CreateLiveStreamResponseDTO) as it appears in ``data``."""
    return {
        "streamId": W.stream_id,
        "streamKey": W.stream_key,
        "srtSecret": W.srt_secret,
        "trial": False,
        "status": status,
        "maxResolution": "1080p",
        "maxDuration": 28800,
        "createdAt": iso_ms(LIVE_BASE),
        "reconnectWindow": 60,
        "enableRecording": True,
        "enableDvrMode": False,
        "mediaPolicy": "public",
        "metadata": {"livestream_name": "muxhook-demo"},
        "lowLatency": False,
        "closedCaptions": False,
        "playbackIds": [{"id": W.live_playback_id, "accessPolicy": "public"}],
    }


#: The live story: created 05:40:11, on air 05:41, off air 05:49, deleted later.
LIVE_BASE = FP_BASE - dt.timedelta(minutes=9, seconds=51)


def live_event(seconds: float, status: str, stream_status: str) -> Builder:
    """A live-stream event: ``object`` is ``live`` with the stream id."""

    def build(name: str) -> bytes:
        moment = LIVE_BASE + dt.timedelta(seconds=seconds)
        data = live_data(stream_status)
        return fastpix_envelope(name, "live", W.stream_id, status, data, moment)

    return build


def simulcast_event(seconds: float, status: str) -> Builder:
    """A simulcast-target event: ``object`` is the live stream the target belongs to."""

    def build(name: str) -> bytes:
        moment = LIVE_BASE + dt.timedelta(seconds=seconds)
        data = {
            "simulcastId": W.simulcast_id,
            "livestreamId": W.stream_id,
            "rtmpUrl": "rtmp://a.rtmp.youtube.com/live2",
            "streamKey": W.simulcast_key,
            "metadata": {"platform": "youtube"},
        }
        return fastpix_envelope(name, "live", W.stream_id, status, data, moment)

    return build


def recorded_media(seconds: float) -> Builder:
    """``video.media.live_stream.created``: the stream's recording as a new media."""
    moment = LIVE_BASE + dt.timedelta(seconds=seconds)
    return media_event(
        (moment - FP_BASE).total_seconds(),
        "created",
        media_id=W.recorded_media_id,
        playback_id=W.recorded_playback_id,
        status="Created",
        tracks=[],
        duration="00:07:12",
        created=moment,
        metadata={"livestream_name": "muxhook-demo"},
    )


CREATED: JSON = {"status": "Created", "tracks": [], "duration": "00:00:00"}

FASTPIX: dict[str, Builder] = {
    # Media
    "video.media.created": media_event(0, "created", **CREATED),
    "video.media.upload": upload_event(-300, "waiting", W.upload_id),
    "video.upload.created": upload_event(-300, "waiting", W.upload_id),
    "video.upload.media_created": media_event(
        -240, "media_created", media_id=W.uploaded_media_id, created=at(-240), **CREATED
    ),
    "video.media.ready": media_event(132, "ready"),
    "video.media.failed": media_event(
        41,
        "failed",
        media_id=W.failed_media_id,
        status="Failed",
        tracks=[],
        duration="00:00:00",
        created=at(38),
    ),
    "video.media.updated": media_event(600, "ready", metadata={"project": "muxhook-demo-v2"}),
    "video.media.deleted": media_event(7200, "deleted"),
    "video.media.upload.cancelled": upload_event(-200, "cancelled", W.cancelled_upload_id),
    "video.media.non_standard_format.detected": media_event(
        55,
        "processing",
        status="Processing",
        tracks=[],
        extra={
            "nonStandardInputReasons": {
                "videoCodec": "prores",
                "audioCodec": "pcm_s24le",
                "unexpectedMediaFileParameters": "non-standard",
            }
        },
    ),
    "video.media.live_stream.created": recorded_media(560),
    # Transform media
    "video.media.intro.ready": media_event(900, "ready", duration="00:02:10"),
    "video.media.outro.ready": media_event(960, "ready", duration="00:02:15"),
    "video.media.expunge.ready": media_event(1020, "ready", duration="00:01:58"),
    "video.media.splicing.ready": media_event(1080, "ready", duration="00:04:30"),
    "video.media.imposeAudio.ready": media_event(1140, "ready"),
    "video.media.swapAudio.ready": media_event(1200, "ready"),
    "video.media.watermark.ready": media_event(1260, "ready"),
    "video.media.optimize_audio.ready": media_event(1320, "ready"),
    "video.media.mp4Support.ready": media_event(1380, "ready", extra={"mp4Support": "capped_4k"}),
    "video.media.subtitle.generated.ready": media_event(
        1440,
        "ready",
        tracks=[
            *ready_tracks(),
            text_track(W.subtitle_track_id, "subtitle", "english", "en", "available"),
        ],
        extra={"subtitleAvailable": True},
    ),
    "video.media.track.created": track_event(1800, "created", "preparing"),
    "video.media.track.ready": track_event(1830, "ready", "available"),
    "video.media.track.failed": track_event(1860, "failed", "errored"),
    "video.media.track.updated": track_event(1890, "updated", "available"),
    "video.media.track.deleted": track_event(1920, "deleted", None),
    "video.media.source.ready": media_event(2400, "ready", extra={"sourceAccess": True}),
    "video.media.source.deleted": media_event(2460, "deleted", extra={"sourceAccess": False}),
    # In-video AI
    "video.mediaAI.chapters.ready": ai_event(3000, CHAPTERS),
    "video.mediaAI.namedEntities.ready": ai_event(3030, NAMED_ENTITIES),
    "video.mediaAI.named-entities.ready": ai_event(3030, NAMED_ENTITIES),
    "video.mediaAI.summary.ready": ai_event(3060, SUMMARY),
    "video.mediaAI.moderation.ready": ai_event(3090, MODERATION),
    # Live streams
    "video.live_stream.created": live_event(0, "created", "idle"),
    "video.live_stream.preparing": live_event(45, "preparing", "idle"),
    "video.live_stream.connected": live_event(50, "connected", "idle"),
    "video.live_stream.recording": live_event(52, "recording", "active"),
    "video.live_stream.active": live_event(52.3, "active", "active"),
    "video.live_stream.disconnected": live_event(480, "disconnected", "active"),
    "video.live_stream.idle": live_event(540, "idle", "idle"),
    "video.live_stream.updated": live_event(900, "updated", "idle"),
    "video.live_stream.disabled": live_event(1200, "disabled", "disabled"),
    "video.live_stream.deleted": live_event(9000, "deleted", "idle"),
    # Simulcast targets
    "video.live_stream.simulcast_target.created": simulcast_event(20, "created"),
    "video.live_stream.simulcast_target.updated": simulcast_event(30, "updated"),
    "video.live_stream.simulcast_target.deleted": simulcast_event(8900, "deleted"),
}


# --------------------------------------------------------------------------- Millicast


def millicast(kind: str, event: str, timestamp: int, data: JSON) -> bytes:
    return dump({"type": kind, "event": event, "timestamp": timestamp, "data": data})


def fixed(body: JSON) -> Builder:
    """A body the docs give (verbatim unless noted)."""
    return lambda name: dump(body)


CLIP: JSON = {
    "mediaAssetId": "e0ca421e3ee748629d073b6991d4d93d",
    "tokenId": 1187282,
    "streamName": "test-record-clip",
    "streamId": "dkxfvY/test-record-clip",
    "startTime": 1725259874671,
    "metadata": {},
    "type": "clip",
    "expiration": 1733900336143,
}

FEED: JSON = {
    "feedId": "369e4a86-f937-4254-bd9f-99dc484d2bd6",
    "accountId": "ZG6NWV",
    "name": "sample_stream",
    "streamId": "ZG6NWV/sample_stream",
}

RECORDING: JSON = {
    "recordFileId": 7975,
    "tokenId": 142366,
    "streamName": "testy",
    "recordedOn": 1639296462755,
}

RECORDING_METADATA: JSON = {
    "format": "mp4",
    "sizes": {"concat": 15728640, "dash": 16252928, "thumbnails": 184320},
    "duration": 59.84,
    "tracks": [
        {
            "type": "video",
            "codec": "h264",
            "bitrate": 2000000,
            "width": 1280,
            "height": 720,
            "framerate": 30,
        },
        {"type": "audio", "codec": "opus", "bitrate": 64000, "channels": 2, "samplerate": 48000},
    ],
}


def transcoder(event: str, timestamp: int, status: str) -> Builder:
    # transcoderId is the docs' value verbatim; createdOn replaces the docs' placeholder.
    data = {
        "transcoderId": "0d09f40-2988-47aa-8ac7-dca04b971cf",
        "transcoderName": "test_webhooks",
        "cluster": "lon-1",
        "createdOn": "2024-08-29T00:03:31Z",
        "status": status,
    }
    return lambda name: millicast("transcoder", event, timestamp, data)


def viewer(event: str, timestamp: int) -> Builder:
    data = {"name": "myAwesomeStream", "accountId": "ABC123", "streamId": "ABC123/myAwesomeStream"}
    return lambda name: millicast("viewerConnection", event, timestamp, data)


MILLICAST: dict[str, Builder] = {
    "media.processing": fixed(
        {
            "type": "media",
            "event": "processing",
            "timestamp": 1725259930753,
            "data": {
                "mediaAssetId": "c6631104197a4091943775697948adbe",
                "tokenId": 1187282,
                "streamName": "test-record-clip",
                "streamId": "dkxfvY/test-record-clip",
                "startTime": 1725259930643,
                "type": "clip",
                "metadata": {},
                "expiration": 1733900336143,
            },
        }
    ),
    "media.completed": lambda name: millicast("media", "completed", 1725260343575, CLIP),
    "media.errored": fixed(
        {
            "type": "media",
            "event": "errored",
            "timestamp": 1725261092922,
            "data": {
                "mediaAssetId": "f26120d4443b474b8b1d6e1ecfcbd369",
                "tokenId": 1090418,
                "streamName": "qa_test_stream_for_live_clipping",
                "streamId": "dkxfvY/qa_test_stream_for_live_clipping",
                "startTime": 1725245888000,
                "type": "recording",
                "expiration": 1733896321029,
            },
        }
    ),
    # No documented example: the clip above, marked for removal (the notes' inferred body).
    "media.deleted": fixed(
        {
            "type": "media",
            "event": "deleted",
            "timestamp": 1733900340000,
            "data": {
                "mediaAssetId": "e0ca421e3ee748629d073b6991d4d93d",
                "tokenId": 1187282,
                "streamName": "test-record-clip",
                "streamId": "dkxfvY/test-record-clip",
                "startTime": 1725259874671,
                "type": "clip",
                "metadata": {},
                "expiration": 1733900336143,
            },
        }
    ),
    "feeds.started": lambda name: millicast(
        "feeds", "started", 1638463486489, {**FEED, "started": 1638463486359, "active": True}
    ),
    "feeds.ended": lambda name: millicast(
        "feeds", "ended", 1638463501075, {**FEED, "active": False, "ended": 1638463500963}
    ),
    "recordings.started": lambda name: millicast("recordings", "started", 1639296462907, RECORDING),
    "recordings.completed": lambda name: millicast(
        "recordings", "completed", 1639296523118, {**RECORDING, "metadata": RECORDING_METADATA}
    ),
    "recordings.error": lambda name: millicast("recordings", "error", 1639296480231, RECORDING),
    "recordings.deleted": lambda name: millicast("recordings", "deleted", 1639900800412, RECORDING),
    "transcoder.ACTIVE": transcoder("ACTIVE", 1724889842678, "Active"),
    "transcoder.STOPPED": transcoder("STOPPED", 1724893442913, "Shutdown"),
    "transcoder.DELETED": transcoder("DELETED", 1724893503377, "Deleted"),
    "viewerConnection.ViewerAttempt": viewer("ViewerAttempt", 1727442713604),
    "viewerConnection.FirstViewerConnection": viewer("FirstViewerConnection", 1727442781250),
    "viewerConnection.NoActiveViewers": viewer("NoActiveViewers", 1727443502118),
    "thumbnail": lambda name: jpeg_thumbnail(),
}


# --------------------------------------------------------------------------- Cloudflare

#: When the upload was created; processing ends a few minutes later.
CF_BASE = dt.datetime(2025, 1, 17, 6, 2, 41, 318522, tzinfo=dt.timezone.utc)
CF_CUSTOMER = "customer-m033z5x00ks6nunl"  # the subdomain Stream serves a customer's videos on


def iso_us(moment: dt.datetime) -> str:
    """Microsecond precision with a Z, as the Stream API writes times."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def cloudflare_video(name: str) -> bytes:
    """The video object Stream POSTs when processing ends: ``ready``, or ``error`` with a reason.

    Fields in the order the Stream API returns them; the error reason is spelled
    ``errorReasonCode``/``errorReasonText`` as in the docs' main example.
    """
    rng = event_rng("cloudflare", name)
    uid = hex32(rng)
    ready = name == "video.ready"
    host = f"https://{CF_CUSTOMER}.cloudflarestream.com/{uid}"
    status: JSON = {
        "state": "ready",
        "pctComplete": "100.000000",
        "errorReasonCode": "",
        "errorReasonText": "",
    }
    if not ready:
        status = {
            "state": "error",
            "pctComplete": "",
            "errorReasonCode": "ERR_MALFORMED_VIDEO",
            "errorReasonText": "The video was deemed to be corrupted or malformed.",
        }
    video: JSON = {
        "uid": uid,
        "creator": None,
        "thumbnail": f"{host}/thumbnails/thumbnail.jpg",
        "thumbnailTimestampPct": 0,
        "readyToStream": ready,
        "readyToStreamAt": iso_us(CF_BASE + dt.timedelta(seconds=172)) if ready else None,
        "status": status,
        "meta": {
            "name": "keynote-2025.mp4",
            "filename": "keynote-2025.mp4",
            "filetype": "video/mp4",
            "title": "Keynote: what we shipped in 2025 — «live»",
        },
        "created": iso_us(CF_BASE),
        "modified": iso_us(CF_BASE + dt.timedelta(seconds=173)),
        "scheduledDeletion": None,
        "size": 48_219_113 if ready else 4_096,
        "preview": f"{host}/watch",
        "allowedOrigins": [],
        "requireSignedURLs": False,
        "uploaded": iso_us(CF_BASE + dt.timedelta(seconds=2)),
        "uploadExpiry": None,
        "maxSizeBytes": None,
        "maxDurationSeconds": None,
        "duration": 118.4 if ready else -1,
        "input": {"width": 1920, "height": 1080} if ready else {"width": -1, "height": -1},
        "playback": {"hls": f"{host}/manifest/video.m3u8", "dash": f"{host}/manifest/video.mpd"},
        "watermark": None,
        "clippedFrom": None,
        "publicDetails": {"title": None, "share_link": None, "channel_link": None, "logo": None},
    }
    return dump(video)


CLOUDFLARE: dict[str, Builder] = {
    "video.ready": cloudflare_video,
    "video.error": cloudflare_video,
}


# --------------------------------------------------------------------------- JPEG

#: Standard (JPEG Annex K.3) luminance DC table: code counts per length 1..16, symbols.
DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
DC_VALUES = tuple(range(12))
#: Every block is flat, so the only AC symbol needed is end-of-block (0x00): one 1-bit code.
AC_BITS = (1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
AC_VALUES = (0x00,)
QUANT = 8  # with q=8 the quantised DC of a flat block is simply (level - 128)

#: Colour bars of 8x8 blocks, one row per brightness: a 32x18 "video frame".
BARS = ((20, 140, 200), (240, 150, 30), (130, 60, 190), (40, 170, 90))
SHADES = (1.0, 0.75, 0.45)


def huffman_codes(bits: tuple[int, ...], values: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    """Canonical Huffman codes: symbol -> (code, length)."""
    codes: dict[int, tuple[int, int]] = {}
    code, index = 0, 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[values[index]] = (code, length)
            code += 1
            index += 1
        code <<= 1
    return codes


def ycbcr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = rgb
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b

    def clamp(value: float) -> int:
        return min(255, max(0, round(value)))

    return clamp(y), clamp(cb), clamp(cr)


def segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg_thumbnail(width: int = 32, height: int = 18) -> bytes:
    """A baseline JFIF JPEG, 3 components at 1x1 sampling, every 8x8 block one flat colour."""
    cols, rows = -(-width // 8), -(-height // 8)
    dc_codes = huffman_codes(DC_BITS, DC_VALUES)
    eob = huffman_codes(AC_BITS, AC_VALUES)[0x00]
    bits: list[int] = []

    def put(code: int, length: int) -> None:
        bits.extend((code >> shift) & 1 for shift in reversed(range(length)))

    predictors = [0, 0, 0]
    for row in range(rows):
        for col in range(cols):
            shade = SHADES[row % len(SHADES)]
            colour = BARS[col % len(BARS)]
            pixel = ycbcr(
                (round(colour[0] * shade), round(colour[1] * shade), round(colour[2] * shade))
            )
            for component, level in enumerate(pixel):
                dc = (level - 128) * 8 // QUANT  # DCT DC of a flat block is 8 * (level - 128)
                diff, predictors[component] = dc - predictors[component], dc
                size = abs(diff).bit_length()
                put(*dc_codes[size])
                if size:
                    put(diff if diff > 0 else diff + (1 << size) - 1, size)
                put(*eob)
    bits.extend([1] * (-len(bits) % 8))  # pad the last byte with 1-bits
    scan = bytearray()
    for start in range(0, len(bits), 8):
        byte = int("".join(map(str, bits[start : start + 8])), 2)
        scan.append(byte)
        if byte == 0xFF:
            scan.append(0x00)  # byte stuffing

    app0 = segment(0xE0, b"JFIF\x00" + bytes([1, 1, 0]) + struct.pack(">HH", 1, 1) + b"\x00\x00")
    dqt = segment(0xDB, bytes([0x00]) + bytes([QUANT] * 64))
    components = bytes([1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0])
    sof0 = segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + components)
    dht = segment(
        0xC4,
        bytes([0x00, *DC_BITS, *DC_VALUES]) + bytes([0x10, *AC_BITS, *AC_VALUES]),
    )
    sos = segment(0xDA, bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]))
    return b"\xff\xd8" + app0 + dqt + sof0 + dht + sos + bytes(scan) + b"\xff\xd9"


# --------------------------------------------------------------------------- main


def plan(
    provider: str, events: Mapping[str, EventType], builders: Mapping[str, Builder]
) -> dict[Path, bytes]:
    """One file per catalog entry; refuse any mismatch between catalog and builders."""
    missing = [name for name in events if name not in builders]
    extra = [name for name in builders if name not in events]
    if missing or extra:
        raise SystemExit(
            f"{provider}: catalog and fixture builders disagree; "
            f"no builder for {missing or 'none'}; not in the catalog: {extra or 'none'}"
        )
    folder = FIXTURES / provider
    files: dict[Path, bytes] = {}
    for name in events:
        body = builders[name](name)
        suffix = ".jpg" if body.startswith(b"\xff\xd8") else ".json"
        files[folder / f"{name}{suffix}"] = body
    return files


def main(argv: list[str]) -> int:
    check = "--check" in argv
    files = {
        **plan("fastpix", FASTPIX_EVENTS, FASTPIX),
        **plan("millicast", MILLICAST_EVENTS, MILLICAST),
        **plan("cloudflare", CLOUDFLARE_EVENTS, CLOUDFLARE),
    }
    changed = [
        path for path, body in files.items() if not path.is_file() or path.read_bytes() != body
    ]
    if check:
        for path in changed:
            print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
        return 1 if changed else 0
    for path in changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[path])
    for provider in ("fastpix", "millicast", "cloudflare"):
        stale = sorted(
            path.name
            for path in (FIXTURES / provider).iterdir()
            if path.suffix in (".json", ".jpg") and path not in files
        )
        if stale:
            print(
                f"warning: {provider} has fixtures for no catalog event: {stale}", file=sys.stderr
            )
    print(f"{len(files)} fixtures ({len(changed)} written) under {FIXTURES.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
