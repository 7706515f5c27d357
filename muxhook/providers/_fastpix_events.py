"""The FastPix event catalog: every event type FastPix sends, with what it means."""

from muxhook.providers import catalog

EVENTS = catalog(
    [
        # Media (video on demand)
        ("video.media.created", "A media was created from a URL (pull); it is not ready yet."),
        ("video.media.upload", "A direct-upload URL was issued (push); no file has arrived yet."),
        ("video.upload.media_created", "A file sent to a direct-upload URL became a new media."),
        ("video.media.ready", "A media finished processing and can be played."),
        ("video.media.failed", "A media could not be processed, e.g. its input URL was unusable."),
        ("video.media.updated", "A media's settings or metadata changed."),
        ("video.media.deleted", "A media was deleted and can no longer be played."),
        ("video.media.upload.cancelled", "A direct upload was cancelled before a media was made."),
        (
            "video.media.non_standard_format.detected",
            "An input is outside the recommended format; a notice only, processing goes on.",
        ),
        (
            "video.media.live_stream.created",
            "A live stream's recording became an on-demand media with its own playback id.",
        ),
        # Transform media
        ("video.media.intro.ready", "An intro clip was joined to the start of a media."),
        ("video.media.outro.ready", "An outro clip was joined to the end of a media."),
        ("video.media.expunge.ready", "The requested segments were cut out of a media."),
        ("video.media.splicing.ready", "Several clips were stitched together into one media."),
        ("video.media.imposeAudio.ready", "An extra audio track was mixed over a media's sound."),
        ("video.media.swapAudio.ready", "A media's original audio track was replaced by another."),
        ("video.media.watermark.ready", "A watermark was burned into a media."),
        ("video.media.optimize_audio.ready", "A media's audio was optimised (loudness, noise)."),
        ("video.media.mp4Support.ready", "A downloadable MP4 rendition of a media is available."),
        (
            "video.media.subtitle.generated.ready",
            "Automatically generated subtitles for a media are ready.",
        ),
        ("video.media.track.created", "A new audio or subtitle track was added to a media."),
        ("video.media.track.ready", "An added audio or subtitle track finished processing."),
        ("video.media.track.failed", "An added audio or subtitle track could not be processed."),
        ("video.media.track.updated", "One of a media's tracks was changed."),
        ("video.media.track.deleted", "One of a media's tracks was removed."),
        ("video.media.source.ready", "The original source file of a media can be downloaded."),
        ("video.media.source.deleted", "The stored source file of a media was removed."),
        # In-video AI
        ("video.mediaAI.chapters.ready", "AI chapters (start, end, title, summary) are ready."),
        (
            "video.mediaAI.namedEntities.ready",
            "AI found the people, places and organisations named in a media.",
        ),
        (
            "video.mediaAI.named-entities.ready",
            "The same named-entities result, under the hyphenated name the SDK docs use.",
        ),
        ("video.mediaAI.summary.ready", "An AI-written summary of a media was generated."),
        (
            "video.mediaAI.moderation.ready",
            "AI moderation scored a media for unsafe content (violence, adult, profanity).",
        ),
        # Live streams
        ("video.live_stream.created", "A live stream was created; encoders can push to its key."),
        ("video.live_stream.preparing", "A live stream is being set up before it goes live."),
        ("video.live_stream.connected", "An encoder connected to a live stream."),
        ("video.live_stream.recording", "A live stream's recording has started."),
        ("video.live_stream.active", "A live stream is on air and can be watched."),
        (
            "video.live_stream.disconnected",
            "The encoder dropped; the stream waits out its reconnect window.",
        ),
        ("video.live_stream.idle", "A live stream has no broadcast going on."),
        ("video.live_stream.updated", "A live stream's settings changed, or its key was reset."),
        ("video.live_stream.deleted", "A live stream was deleted."),
        ("video.live_stream.disabled", "A live stream was disabled; it takes no more broadcasts."),
        # Simulcast targets
        (
            "video.live_stream.simulcast_target.created",
            "A simulcast target (a third-party RTMP destination) was added to a live stream.",
        ),
        (
            "video.live_stream.simulcast_target.updated",
            "A live stream's simulcast target was changed.",
        ),
        (
            "video.live_stream.simulcast_target.deleted",
            "A simulcast target was removed from a live stream.",
        ),
    ],
    legacy=[
        (
            "video.upload.created",
            "Older name, from an outdated reference page, for a direct upload being created.",
        ),
    ],
)
