"""Typed, permissive models of Mux, FastPix and Millicast webhook events.

Real payloads drift: new event types, new fields, numbers where old docs show
strings. So every model accepts unknown fields and keeps them, and almost every
field is optional. A model validated from a body dumps back to the same dict::

    event = parse_event(body, headers)
    assert event.dump() == json.loads(body)

The envelopes (``MuxEvent``, ``FastPixEvent``, ``MillicastEvent``) keep ``data``
as the raw dict; ``typed_data()`` validates it into the model of the event's
family, or returns the dict unchanged when the family has no model.

FastPix and Millicast fields keep the provider's camelCase names instead of
aliases: the attribute is the key on the wire, and FastPix's legacy snake_case
keys (``created_at``, ``playback_ids``) can never be mistaken for the new ones.
"""

from __future__ import annotations

import datetime as dt
import json
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from muxhook import providers
from muxhook.errors import UsageError, value_kind

__all__ = [
    "Asset",
    "AssetDelivery",
    "AssetTrack",
    "CloudflareInput",
    "CloudflarePlayback",
    "CloudflareStatus",
    "CloudflareVideo",
    "DeliveredSecondsByResolution",
    "DeliveryReport",
    "DirectiveRun",
    "DirectiveRunDetails",
    "Errors",
    "FastPixData",
    "FastPixEnvironment",
    "FastPixEvent",
    "FastPixLiveStream",
    "FastPixMedia",
    "FastPixObject",
    "FastPixPlaybackId",
    "FastPixSimulcastTarget",
    "FastPixTrack",
    "FastPixWorkspace",
    "LiveStream",
    "Master",
    "Meta",
    "MillicastData",
    "MillicastEvent",
    "MillicastFeed",
    "MillicastMedia",
    "MuxAttempt",
    "MuxData",
    "MuxEnvironment",
    "MuxEvent",
    "MuxObject",
    "MuxWarning",
    "NonStandardInputReasons",
    "PlaybackId",
    "Progress",
    "ProtoTimestamp",
    "RecordingTime",
    "RobotsJob",
    "SimulcastTarget",
    "StaticRendition",
    "StaticRenditions",
    "Track",
    "Upload",
    "WebhookEvent",
    "parse_event",
]

#: A JSON number; ``int`` stays ``int`` so that a dump gives back the same value.
Number: typing.TypeAlias = int | float
#: Mux sends unix seconds as a number in webhooks; older docs show ISO strings.
Timestamp: typing.TypeAlias = int | float | str


class _Model(BaseModel):
    """Base of every model: unknown fields are accepted and kept."""

    model_config = ConfigDict(extra="allow")

    def dump(self) -> dict[str, Any]:
        """The fields that were given, as JSON values: the input dict, unchanged."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


# --- Mux: small nested objects ------------------------------------------------


class ProtoTimestamp(_Model):
    """A protobuf-style ``{seconds, nanos}`` timestamp (``recording_times[].started_at``)."""

    seconds: int | str | None = None
    nanos: int | None = None

    def to_datetime(self) -> dt.datetime:
        """The instant as an aware UTC datetime (microsecond precision)."""
        moment = dt.datetime.fromtimestamp(int(self.seconds or 0), tz=dt.timezone.utc)
        return moment + dt.timedelta(microseconds=(self.nanos or 0) // 1000)


class PlaybackId(_Model):
    """A playback id and its policy (public, signed, drm)."""

    id: str | None = None
    policy: str | None = None


class AssetTrack(_Model):
    """One track of an asset: video, audio or text."""

    id: str | None = None
    type: str | None = None
    max_width: int | None = None
    max_height: int | None = None
    max_frame_rate: Number | None = None
    max_channels: int | None = None
    max_channel_layout: str | None = None
    duration: Number | None = None
    primary: bool | None = None
    language_code: str | None = None
    text_type: str | None = None
    text_source: str | None = None
    status: str | None = None
    name: str | None = None
    closed_captions: bool | None = None
    passthrough: str | None = None


class RecordingTime(_Model):
    """A span of a live recording; ``started_at`` is usually a ``{seconds, nanos}`` object."""

    started_at: ProtoTimestamp | Timestamp | None = None
    duration: Number | None = None
    type: str | None = None


class MuxWarning(_Model):
    """The ``warning`` of ``video.asset.warning`` and ``video.live_stream.warning``."""

    type: str | None = None
    message: str | None = None


class Errors(_Model):
    """Why something failed: ``{type, messages[]}`` on assets, ``{type, message}`` on uploads."""

    type: str | None = None
    message: str | None = None
    messages: list[str] | None = None


class Meta(_Model):
    """User metadata of an asset or live stream."""

    title: str | None = None
    creator_id: str | None = None
    external_id: str | None = None


class Progress(_Model):
    """Ingest progress of an asset."""

    state: str | None = None
    progress: Number | None = None


class Master(_Model):
    """Temporary master access to an asset's source file."""

    status: str | None = None
    url: str | None = None


class NonStandardInputReasons(_Model):
    """Why an input was not standard, one field per property."""

    video_codec: str | None = None
    audio_codec: str | None = None
    video_gop_size: str | None = None
    video_frame_rate: Number | str | None = None
    video_resolution: str | None = None
    video_bitrate: str | None = None
    pixel_aspect_ratio: str | None = None
    video_edit_list: str | None = None
    audio_edit_list: str | None = None
    unexpected_media_file_parameters: str | None = None
    unsupported_pixel_format: str | None = None


# --- Mux: the data objects ----------------------------------------------------


class StaticRendition(_Model):
    """One static rendition (an MP4 or M4A file); ``video.asset.static_rendition.*``."""

    id: str | None = None
    asset_id: str | None = None
    name: str | None = None
    ext: str | None = None
    resolution_tier: str | None = None
    resolution: str | None = None
    width: int | None = None
    height: int | None = None
    bitrate: Number | None = None
    filesize: str | int | None = None
    status: str | None = None
    type: str | None = None
    passthrough: str | None = None


class StaticRenditions(_Model):
    """The static renditions of an asset."""

    status: str | None = None
    files: list[StaticRendition] | None = None


class Asset(_Model):
    """A video asset: the ``data`` of ``video.asset.*`` events."""

    id: str | None = None
    created_at: Timestamp | None = None
    status: str | None = None
    duration: Number | None = None
    aspect_ratio: str | None = None
    max_stored_resolution: str | None = None
    max_stored_frame_rate: Number | None = None
    resolution_tier: str | None = None
    max_resolution_tier: str | None = None
    video_quality: str | None = None
    encoding_tier: str | None = None
    playback_ids: list[PlaybackId] | None = None
    tracks: list[AssetTrack] | None = None
    mp4_support: str | None = None
    master_access: str | None = None
    master: Master | None = None
    static_renditions: StaticRenditions | None = None
    normalize_audio: bool | None = None
    passthrough: str | None = None
    meta: Meta | None = None
    upload_id: str | None = None
    live_stream_id: str | None = None
    is_live: bool | None = None
    test: bool | None = None
    ingest_type: str | None = None
    progress: Progress | None = None
    errors: Errors | None = None
    non_standard_input_reasons: NonStandardInputReasons | None = None
    recording_times: list[RecordingTime] | None = None
    source_asset_id: str | None = None
    warning: MuxWarning | None = None


class Track(AssetTrack):
    """A track on its own: the ``data`` of ``video.asset.track.*`` events."""

    asset_id: str | None = None
    error: Errors | None = None
    errors: Errors | None = None  # the Mux CLI's example events use the plural


class Upload(_Model):
    """A direct upload: the ``data`` of ``video.upload.*`` events."""

    id: str | None = None
    created_at: Timestamp | None = None
    status: str | None = None
    timeout: Number | None = None
    cors_origin: str | None = None
    new_asset_settings: dict[str, Any] | None = None
    asset_id: str | None = None
    test: bool | None = None
    url: str | None = None
    error: Errors | None = None


class SimulcastTarget(_Model):
    """A simulcast target: the ``data`` of ``video.live_stream.simulcast_target.*`` events."""

    id: str | None = None
    live_stream_id: str | None = None
    status: str | None = None
    url: str | None = None
    stream_key: str | None = None
    passthrough: str | None = None
    error_severity: str | None = None


class LiveStream(_Model):
    """A live stream: the ``data`` of ``video.live_stream.*`` events."""

    id: str | None = None
    created_at: Timestamp | None = None
    status: str | None = None
    stream_key: str | None = None
    active_asset_id: str | None = None
    recent_asset_ids: list[str] | None = None
    playback_ids: list[PlaybackId] | None = None
    latency_mode: str | None = None
    reconnect_window: Number | None = None
    max_continuous_duration: Number | None = None
    new_asset_settings: dict[str, Any] | None = None
    passthrough: str | None = None
    simulcast_targets: list[SimulcastTarget] | None = None
    connected: bool | None = None
    recording: bool | None = None
    active_ingest_protocol: str | None = None
    reconnect_slate_url: str | None = None
    audio_only: bool | None = None
    test: bool | None = None
    embedded_subtitles: list[dict[str, Any]] | None = None
    generated_subtitles: list[dict[str, Any]] | None = None
    meta: Meta | None = None
    warning: MuxWarning | None = None


class DeliveredSecondsByResolution(_Model):
    """Delivered seconds split by resolution tier."""

    tier_720p: Number | None = None
    tier_1080p: Number | None = None
    tier_1440p: Number | None = None
    tier_2160p: Number | None = None
    tier_audio_only: Number | None = None


class AssetDelivery(_Model):
    """How much of one asset was delivered in a high-traffic report."""

    asset_id: str | None = None
    asset_duration: Number | None = None
    asset_state: str | None = None
    asset_resolution_tier: str | None = None
    asset_encoding_tier: str | None = None
    asset_video_quality: str | None = None
    created_at: Timestamp | None = None
    deleted_at: Timestamp | None = None
    delivered_seconds: Number | None = None
    delivered_seconds_by_resolution: DeliveredSecondsByResolution | None = None
    live_stream_id: str | None = None
    passthrough: str | None = None


class DeliveryReport(_Model):
    """A delivery report: the ``data`` of ``video.delivery.high_traffic``."""

    id: str | None = None
    threshold: Number | None = None
    timeframe: list[Number] | None = None
    data: list[AssetDelivery] | None = None


class RobotsJob(_Model):
    """An AI job: the job object of ``robots.job.<workflow>.*`` events."""

    id: str | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    status: str | None = None
    workflow: str | None = None
    units_consumed: Number | None = None
    parameters: Any = None
    outputs: Any = None
    errors: Any = None
    passthrough: str | None = None
    resources: Any = None
    directive: Any = None


class DirectiveRunDetails(_Model):
    """The ``directive_run`` object inside a directive-run event."""

    id: str | None = None
    asset_id: str | None = None
    directive_id: str | None = None
    status: str | None = None
    created_at: Timestamp | None = None
    completed_at: Timestamp | None = None


class DirectiveRun(_Model):
    """The ``data`` of ``robots.directive_run.*`` events."""

    created_at: Timestamp | None = None
    directive_run: DirectiveRunDetails | None = None
    environment_id: str | None = None
    internal_id: str | None = None


#: What ``MuxEvent.typed_data()`` can return besides the raw dict.
MuxData: typing.TypeAlias = (
    Asset
    | LiveStream
    | Upload
    | Track
    | StaticRendition
    | SimulcastTarget
    | DeliveryReport
    | RobotsJob
    | DirectiveRun
)

# Most specific prefix first: the first match picks the model.
_MUX_MODELS: tuple[tuple[str, type[MuxData]], ...] = (
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


# --- Mux: the envelope --------------------------------------------------------


class MuxObject(_Model):
    """The resource an event is about; ``type`` is free text (asset, upload, live-stream…)."""

    type: str | None = None
    id: str | None = None


class MuxEnvironment(_Model):
    """The Mux environment that sent the event."""

    name: str | None = None
    id: str | None = None


class MuxAttempt(_Model):
    """One earlier delivery attempt of the same event."""

    id: str | int | None = None
    address: str | None = None
    created_at: Timestamp | None = None
    max_attempts: int | None = None
    response_status_code: int | None = None
    response_body: str | None = None
    response_headers: dict[str, Any] | None = None
    webhook_id: str | int | None = None


class MuxEvent(_Model):
    """A Mux webhook event; ``data`` stays raw, ``typed_data()`` gives its model."""

    type: str
    id: str
    created_at: str | None = None
    object: MuxObject | None = None
    environment: MuxEnvironment | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    attempts: list[MuxAttempt] = Field(default_factory=list)
    accessor: str | None = None
    accessor_source: str | None = None
    request_id: str | None = None

    def typed_data(self) -> MuxData | dict[str, Any]:
        """``data`` validated into its family's model; the raw dict for unknown families.

        Robots events nest the job under a key named after the event
        (``{"robots.job.summarize.completed": {...}}``); that layer is unwrapped.
        """
        for prefix, model in _MUX_MODELS:
            if self.type.startswith(prefix):
                data = _unwrap_robots(self.data) if prefix.startswith("robots.") else self.data
                return _validate_data(model, data, "Mux")
        return self.data


def _unwrap_robots(data: dict[str, Any]) -> dict[str, Any]:
    """The object under the single ``robots.*`` key of ``data``, or ``data`` itself."""
    if len(data) == 1:
        ((key, inner),) = data.items()
        if key.startswith("robots.") and isinstance(inner, dict):
            return inner
    return data


# --- FastPix ------------------------------------------------------------------


class FastPixObject(_Model):
    """The resource an event is about (``media``, ``live``); legacy bodies carry ``name``."""

    type: str | None = None
    id: str | None = None
    name: str | None = None


class FastPixWorkspace(_Model):
    """The FastPix workspace that produced the event."""

    id: str | None = None
    name: str | None = None


class FastPixEnvironment(_Model):
    """The ``environment`` of the legacy envelope, before workspaces."""

    id: str | None = None
    name: str | None = None


class FastPixEvent(_Model):
    """A FastPix webhook event, in the current or the legacy envelope."""

    type: str
    id: str | None = None
    object: FastPixObject | None = None
    workspace: FastPixWorkspace | None = None
    status: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    createdAt: str | None = None
    attempts: list[Any] = Field(default_factory=list)
    # The legacy envelope, still shown on older reference pages.
    webhookId: str | None = None
    environment: FastPixEnvironment | None = None
    created_at: str | None = None
    accessor: str | None = None
    accessor_source: str | None = None

    @property
    def occurred_at(self) -> str | None:
        """When the event happened, from ``createdAt`` or the legacy ``created_at``."""
        return self.createdAt or self.created_at

    def typed_data(self) -> FastPixData | dict[str, Any]:
        """``data`` validated into its family's model; the raw dict for other families."""
        if self.type.startswith("video.live_stream.simulcast_target."):
            return _validate_data(FastPixSimulcastTarget, self.data, "FastPix")
        if self.type.startswith("video.live_stream."):
            return _validate_data(FastPixLiveStream, self.data, "FastPix")
        if self.type.startswith(("video.media.", "video.upload.")):
            return _validate_data(FastPixMedia, self.data, "FastPix")
        return self.data


class FastPixPlaybackId(_Model):
    """A FastPix playback id and its access policy."""

    id: str | None = None
    accessPolicy: str | None = None
    accessRestrictions: dict[str, Any] | None = None


class FastPixTrack(_Model):
    """One track of a FastPix media: video, audio or subtitle."""

    id: str | None = None
    type: str | None = None
    width: int | None = None
    height: int | None = None
    frameRate: str | None = None
    status: str | None = None
    languageName: str | None = None
    languageCode: str | None = None


class FastPixMedia(_Model):
    """A FastPix media (or direct upload): the ``data`` of ``video.media.*``, ``video.upload.*``."""

    id: str | None = None
    workspaceId: str | None = None
    thumbnail: str | None = None
    metadata: dict[str, Any] | None = None
    mediaQuality: str | None = None
    creatorId: str | None = None
    title: str | None = None
    maxResolution: str | None = None
    sourceResolution: str | None = None
    status: str | None = None
    mp4Support: str | bool | None = None
    sourceAccess: bool | None = None
    playbackIds: list[FastPixPlaybackId] | None = None
    tracks: list[FastPixTrack] | None = None
    generatedSubtitles: Any = None
    summary: Any = None
    chapters: Any = None
    namedEntities: Any = None
    moderation: Any = None
    isAudioOnly: bool | None = None
    subtitleAvailable: bool | None = None
    duration: str | Number | None = None  # "00:02:05"
    aspectRatio: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    # ``video.media.upload`` carries the direct-upload fields.
    uploadId: str | None = None
    url: str | None = None
    timeout: Number | None = None
    corsOrigin: str | None = None
    pushMediaSettings: dict[str, Any] | None = None


class FastPixLiveStream(_Model):
    """A FastPix live stream: the ``data`` of ``video.live_stream.*`` events."""

    streamId: str | None = None
    streamKey: str | None = None
    srtSecret: str | None = None
    trial: bool | None = None
    status: str | None = None
    maxResolution: str | None = None
    maxDuration: Number | None = None
    createdAt: str | None = None
    reconnectWindow: Number | None = None
    enableRecording: bool | None = None
    enableDvrMode: bool | None = None
    mediaPolicy: str | None = None
    metadata: dict[str, Any] | None = None
    lowLatency: bool | None = None
    closedCaptions: bool | None = None
    playbackIds: list[FastPixPlaybackId] | None = None
    srtPlaybackResponse: Any = None


class FastPixSimulcastTarget(_Model):
    """A FastPix simulcast target: ``video.live_stream.simulcast_target.*``."""

    simulcastId: str | None = None
    livestreamId: str | None = None
    rtmpUrl: str | None = None
    streamKey: str | None = None
    metadata: dict[str, Any] | None = None


#: What ``FastPixEvent.typed_data()`` can return besides the raw dict.
FastPixData: typing.TypeAlias = FastPixMedia | FastPixLiveStream | FastPixSimulcastTarget


# --- Millicast ----------------------------------------------------------------


class MillicastMedia(_Model):
    """A recording or live clip: the ``data`` of ``media`` hooks."""

    mediaAssetId: str | None = None
    type: str | None = None  # clip | recording
    tokenId: int | str | None = None
    streamName: str | None = None
    streamId: str | None = None
    channelId: str | None = None
    startTime: int | None = None
    expiration: int | None = None
    metadata: dict[str, Any] | None = None


class MillicastFeed(_Model):
    """A publishing feed: the ``data`` of ``feeds`` hooks."""

    feedId: str | None = None
    accountId: str | None = None
    name: str | None = None
    streamId: str | None = None
    active: bool | None = None
    started: int | None = None
    ended: int | None = None
    priority: int | str | None = None
    sourceId: str | None = None
    simulcastId: str | None = None


#: What ``MillicastEvent.typed_data()`` can return besides the raw dict.
MillicastData: typing.TypeAlias = MillicastMedia | MillicastFeed


class MillicastEvent(_Model):
    """A Millicast (OptiView Real-time Streaming) JSON webhook."""

    type: str
    event: str
    timestamp: int | None = None  # epoch milliseconds
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def name(self) -> str:
        """The event's full name, ``<type>.<event>`` (``media.completed``)."""
        return f"{self.type}.{self.event}"

    def typed_data(self) -> MillicastData | dict[str, Any]:
        """``data`` validated into its hook type's model; the raw dict for other types."""
        if self.type == "media":
            return _validate_data(MillicastMedia, self.data, "Millicast")
        if self.type == "feeds":
            return _validate_data(MillicastFeed, self.data, "Millicast")
        return self.data


# --- Cloudflare Stream ----------------------------------------------------------


class CloudflareStatus(_Model):
    """A video's processing state; the error reason is spelled two ways in the docs."""

    state: str | None = None  # ready | error | inprogress | queued | downloading …
    pctComplete: str | Number | None = None
    step: str | None = None
    errorReasonCode: str | None = None
    errorReasonText: str | None = None
    errReasonCode: str | None = None
    errReasonText: str | None = None

    @property
    def reason_code(self) -> str | None:
        """The error reason code, whichever spelling carried it."""
        return self.errorReasonCode or self.errReasonCode

    @property
    def reason_text(self) -> str | None:
        """The error reason text, whichever spelling carried it."""
        return self.errorReasonText or self.errReasonText


class CloudflareInput(_Model):
    """The uploaded file's dimensions."""

    width: int | None = None
    height: int | None = None


class CloudflarePlayback(_Model):
    """Manifest URLs."""

    hls: str | None = None
    dash: str | None = None


class CloudflareVideo(_Model):
    """A Cloudflare Stream notification: the video object itself (there is no envelope)."""

    uid: str
    creator: str | None = None
    thumbnail: str | None = None
    thumbnailTimestampPct: Number | None = None
    readyToStream: bool | None = None
    status: CloudflareStatus | None = None
    meta: dict[str, Any] | None = None
    labels: list[str] | None = None
    created: str | None = None
    modified: str | None = None
    size: int | None = None
    preview: str | None = None
    duration: Number | None = None
    input: CloudflareInput | None = None
    playback: CloudflarePlayback | None = None

    @property
    def type(self) -> str:
        """The event's name, from ``status.state``: ``video.ready`` or ``video.error``."""
        state = self.status.state if self.status else None
        return f"video.{state or ('ready' if self.readyToStream else 'unknown')}"

    @property
    def id(self) -> None:
        """Stream sends no event id: a notification is told apart by ``uid`` and ``modified``."""
        return None

    @property
    def data(self) -> dict[str, Any]:
        """The whole body: the video is both the envelope and the data."""
        return self.dump()

    def typed_data(self) -> CloudflareVideo:
        """The video itself (``data`` is the whole body)."""
        return self


# --- Parsing ------------------------------------------------------------------

WebhookEvent: typing.TypeAlias = MuxEvent | FastPixEvent | MillicastEvent | CloudflareVideo

_M = typing.TypeVar("_M", bound=BaseModel)


def parse_event(
    body: bytes | str | Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    *,
    provider: str | None = None,
) -> WebhookEvent:
    """Parse a webhook body into its provider's event model.

    The provider is ``provider`` when given, else the one whose signature header
    is in ``headers``, else a guess from the body's shape.

    Raises:
        UsageError: the body is not a JSON object, the provider is unknown, or
            the body does not fit the provider's envelope.
    """
    payload = _load(body)
    name = (
        provider
        or (providers.detect(headers) if headers else None)
        or providers.guess_from_fields(payload)
    )
    platform = providers.get(name)
    model: type[WebhookEvent] = platform.envelope()
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise UsageError(f"not a valid {platform.LABEL} event: {_first_error(exc)}") from None


def _load(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """The body as a dict, or a UsageError saying in one line why it is not one."""
    if isinstance(body, Mapping):
        return dict(body)
    try:
        payload = json.loads(body)
    except UnicodeDecodeError as exc:
        raise UsageError(f"body is not valid UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise UsageError("body nests too deeply to parse") from None
    if not isinstance(payload, dict):
        raise UsageError(f"body is a JSON {value_kind(payload)}, not an object")
    return payload


def _validate_data(model: type[_M], data: Mapping[str, Any], label: str) -> _M:
    """``data`` validated as ``model``; a ValidationError becomes a one-line UsageError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UsageError(
            f"not a valid {label} {model.__name__}: {_first_error(exc, 'data')}"
        ) from None


def _first_error(exc: ValidationError, root: str = "") -> str:
    """The first validation error as ``field.path: message``, on one line."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    path = ".".join([*([root] if root else []), *map(str, first["loc"])])
    message = " ".join(str(first["msg"]).split())
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path or '(body)'}: {message}{more}"
