"""The Millicast event catalog: every event type Millicast sends, with what it means."""

from muxhook.providers import catalog

EVENTS = catalog(
    [
        # Names are <type>.<event>, the event spelled exactly as sent (transcoder.ACTIVE).
        # media: recordings and live clips
        ("media.processing", "A recording or clip was requested and is being generated."),
        ("media.completed", "A recording or clip finished processing; its file can be fetched."),
        ("media.errored", "A recording or clip could not be made, e.g. its timeline had expired."),
        ("media.deleted", "A recording or clip was marked for removal."),
        # feeds: publishing
        ("feeds.started", "A publisher's feed began on a stream."),
        ("feeds.ended", "A publisher's feed on a stream stopped."),
        # transcoder
        ("transcoder.ACTIVE", "A cloud transcoder started running."),
        ("transcoder.STOPPED", "A cloud transcoder was shut down."),
        ("transcoder.DELETED", "A cloud transcoder was deleted."),
        # viewerConnection
        (
            "viewerConnection.ViewerAttempt",
            "Someone tried to watch a stream that is offline (sent at most every 10 s).",
        ),
        ("viewerConnection.FirstViewerConnection", "The first viewer joined a stream."),
        (
            "viewerConnection.NoActiveViewers",
            "A stream has had no viewers for 60 seconds since the last one left.",
        ),
        # thumbnail: binary JPEG body, no JSON envelope
        ("thumbnail", "A JPEG snapshot of a live stream (binary body; every 30 s while live)."),
    ],
    legacy=[
        # recordings: the older hooks that media replaced
        ("recordings.started", "Older recording hook: a stream recording began."),
        ("recordings.completed", "Older recording hook: a recording finished, with file details."),
        ("recordings.error", "Older recording hook: a recording failed."),
        ("recordings.deleted", "Older recording hook: a recording was deleted."),
    ],
)
