"""The Mux event catalog: every event type Mux sends, with what it means."""

from muxhook.providers import catalog

EVENTS = catalog(
    [
        # Assets
        ("video.asset.created", "An asset was created from an input; it is not playable yet."),
        (
            "video.asset.ready",
            "The asset finished processing and can be played; save its playback IDs and publish.",
        ),
        (
            "video.asset.errored",
            "The asset could not be processed (unreadable or invalid input); see data.errors.",
        ),
        (
            "video.asset.updated",
            "Something on the asset changed (meta, passthrough, playback IDs); refresh your copy.",
        ),
        (
            "video.asset.deleted",
            "The asset was deleted and no longer plays; remove or hide it in your app.",
        ),
        (
            "video.asset.live_stream_completed",
            "A broadcast ended and its recorded asset is final; recording_times lists segments.",
        ),
        (
            "video.asset.warning",
            "A non-fatal problem hit the asset (e.g. a slate image failed); see data.warning.",
        ),
        (
            "video.asset.non_standard_input_detected",
            "The input is encoded unusually; non_standard_input_reasons says what Mux fixed up.",
        ),
        # Static renditions, older asset-wide form (mp4_support)
        (
            "video.asset.static_renditions.ready",
            "The asset's MP4 downloads (mp4_support) are all built; download links now work.",
        ),
        (
            "video.asset.static_renditions.preparing",
            "Mux started building the asset's MP4 downloads after they were requested.",
        ),
        (
            "video.asset.static_renditions.deleted",
            "The asset's MP4 downloads were removed; their download links stop working.",
        ),
        (
            "video.asset.static_renditions.errored",
            "Building the asset's MP4 downloads failed; unusual, so check the asset and ask Mux.",
        ),
        # Static renditions, one event per rendition
        (
            "video.asset.static_rendition.created",
            "One static rendition (a single MP4 or M4A file) was requested and is being made.",
        ),
        (
            "video.asset.static_rendition.ready",
            "One static rendition file is ready; its download link can be offered to viewers.",
        ),
        (
            "video.asset.static_rendition.errored",
            "One static rendition could not be generated; the other renditions are unaffected.",
        ),
        (
            "video.asset.static_rendition.deleted",
            "One static rendition file was removed from the asset.",
        ),
        (
            "video.asset.static_rendition.skipped",
            "A requested rendition was not made, typically because the source is below that size.",
        ),
        # Master access
        (
            "video.asset.master.ready",
            "A full-quality master file can be fetched from data.master.url for a limited time.",
        ),
        (
            "video.asset.master.preparing",
            "Mux is producing a downloadable master copy of the asset, e.g. for editing.",
        ),
        (
            "video.asset.master.deleted",
            "Master access ended and the file is gone; request master access again if needed.",
        ),
        (
            "video.asset.master.errored",
            "Producing the master file failed; no download URL will be available.",
        ),
        # Tracks
        (
            "video.asset.track.created",
            "A track (usually subtitles or captions) was added to the asset and is being prepared.",
        ),
        (
            "video.asset.track.ready",
            "A track finished processing and now ships with the asset's playback stream.",
        ),
        (
            "video.asset.track.errored",
            "A track failed, e.g. a subtitle file Mux could not fetch or parse; see data.error.",
        ),
        ("video.asset.track.deleted", "A track was removed from the asset."),
        # Shots
        ("video.asset.shots.created", "Shot detection was requested for the asset and is queued."),
        (
            "video.asset.shots.ready",
            "Shot detection finished; shots_manifest_url points to the shot list with previews.",
        ),
        ("video.asset.shots.skipped", "Shot detection was skipped for this asset."),
        ("video.asset.shots.errored", "Shot detection failed for the asset; see data.errors."),
        ("video.asset.shots.deleted", "The asset's shot detection results were deleted."),
        # Direct uploads
        (
            "video.upload.asset_created",
            "A direct upload finished and became an asset; link data.asset_id to your record.",
        ),
        ("video.upload.cancelled", "A direct upload was cancelled before a file arrived."),
        (
            "video.upload.created",
            "A direct upload URL was issued and is waiting for the file to be sent.",
        ),
        (
            "video.upload.errored",
            "A direct upload failed, most often because the file was not a usable video.",
        ),
        # Live streams
        (
            "video.live_stream.created",
            "A live stream was created; an encoder can now push to it with its stream key.",
        ),
        (
            "video.live_stream.connected",
            "An encoder connected to the live stream; nothing is being recorded yet.",
        ),
        (
            "video.live_stream.recording",
            "Mux got the first frames and began recording; a good time to show a 'live' badge.",
        ),
        (
            "video.live_stream.active",
            "The live stream is watchable: its playback ID now serves a working HLS stream.",
        ),
        (
            "video.live_stream.disconnected",
            "The encoder dropped; the stream stays active until its reconnect window runs out.",
        ),
        (
            "video.live_stream.idle",
            "The reconnect window passed with no encoder; the stream is idle and the show is over.",
        ),
        (
            "video.live_stream.updated",
            "A live stream setting changed, for example after its stream key was reset.",
        ),
        (
            "video.live_stream.enabled",
            "A disabled live stream was switched back on and accepts encoders again.",
        ),
        (
            "video.live_stream.disabled",
            "The live stream was switched off and refuses new encoder connections.",
        ),
        (
            "video.live_stream.deleted",
            "The live stream was deleted; its stream key and playback IDs stop working.",
        ),
        (
            "video.live_stream.warning",
            "A non-fatal live stream problem (e.g. slate image unreachable); ingest carries on.",
        ),
        # Simulcast targets
        (
            "video.live_stream.simulcast_target.created",
            "A simulcast target (restreaming to another platform) was added to a live stream.",
        ),
        (
            "video.live_stream.simulcast_target.idle",
            "The simulcast target is idle because its live stream has no encoder connected.",
        ),
        (
            "video.live_stream.simulcast_target.starting",
            "The live stream connected, so Mux is starting to push to this simulcast target.",
        ),
        (
            "video.live_stream.simulcast_target.broadcasting",
            "Mux is pushing the stream to the third-party platform; show the target as live.",
        ),
        (
            "video.live_stream.simulcast_target.errored",
            "Pushing to the simulcast target failed; Mux retries, error_severity says how bad.",
        ),
        (
            "video.live_stream.simulcast_target.deleted",
            "A simulcast target was removed from its live stream.",
        ),
        (
            "video.live_stream.simulcast_target.updated",
            "A simulcast target's settings (URL, key, passthrough) changed.",
        ),
        # Delivery
        (
            "video.delivery.high_traffic",
            "Delivery crossed a traffic threshold; data lists the assets that were watched most.",
        ),
        # Robots: ask questions
        (
            "robots.job.ask_questions.pending",
            "An ask-questions job was queued to answer your questions about an asset.",
        ),
        (
            "robots.job.ask_questions.processing",
            "The ask-questions job started watching the asset to answer its questions.",
        ),
        (
            "robots.job.ask_questions.completed",
            "The ask-questions job finished; outputs.answers has an answer and confidence each.",
        ),
        (
            "robots.job.ask_questions.errored",
            "The ask-questions job failed; errors[] says why and whether a retry may help.",
        ),
        (
            "robots.job.ask_questions.cancelled",
            "The ask-questions job was cancelled before it finished.",
        ),
        # Robots: find key moments
        (
            "robots.job.find_key_moments.pending",
            "A find-key-moments job was queued to pick highlight moments from an asset.",
        ),
        (
            "robots.job.find_key_moments.processing",
            "The find-key-moments job started scanning the asset for highlights.",
        ),
        (
            "robots.job.find_key_moments.completed",
            "The find-key-moments job finished; outputs.moments lists clips with times and scores.",
        ),
        (
            "robots.job.find_key_moments.errored",
            "The find-key-moments job failed; errors[] says why.",
        ),
        (
            "robots.job.find_key_moments.cancelled",
            "The find-key-moments job was cancelled before it finished.",
        ),
        # Robots: generate chapters
        (
            "robots.job.generate_chapters.pending",
            "A generate-chapters job was queued to split an asset into titled chapters.",
        ),
        (
            "robots.job.generate_chapters.processing",
            "The generate-chapters job started working on the asset.",
        ),
        (
            "robots.job.generate_chapters.completed",
            "The generate-chapters job finished; outputs.chapters has start times and titles.",
        ),
        (
            "robots.job.generate_chapters.errored",
            "The generate-chapters job failed; errors[] says why.",
        ),
        (
            "robots.job.generate_chapters.cancelled",
            "The generate-chapters job was cancelled before it finished.",
        ),
        # Robots: moderate
        (
            "robots.job.moderate.pending",
            "A moderation job was queued to score an asset for sexual and violent content.",
        ),
        (
            "robots.job.moderate.processing",
            "The moderation job started sampling frames from the asset.",
        ),
        (
            "robots.job.moderate.completed",
            "The moderation job finished; check outputs.exceeds_threshold before publishing.",
        ),
        ("robots.job.moderate.errored", "The moderation job failed; errors[] says why."),
        (
            "robots.job.moderate.cancelled",
            "The moderation job was cancelled before it finished.",
        ),
        # Robots: summarize
        (
            "robots.job.summarize.pending",
            "A summarize job was queued to write a title, description and tags for an asset.",
        ),
        (
            "robots.job.summarize.processing",
            "The summarize job started working on the asset.",
        ),
        (
            "robots.job.summarize.completed",
            "The summarize job finished; outputs has the title, description and tags.",
        ),
        ("robots.job.summarize.errored", "The summarize job failed; errors[] says why."),
        (
            "robots.job.summarize.cancelled",
            "The summarize job was cancelled before it finished.",
        ),
        # Robots: translate captions
        (
            "robots.job.translate_captions.pending",
            "A translate-captions job was queued to translate a caption track.",
        ),
        (
            "robots.job.translate_captions.processing",
            "The translate-captions job started translating the caption track.",
        ),
        (
            "robots.job.translate_captions.completed",
            "The translated captions are done; outputs names the new track or a temporary VTT.",
        ),
        (
            "robots.job.translate_captions.errored",
            "The translate-captions job failed; errors[] says why.",
        ),
        (
            "robots.job.translate_captions.cancelled",
            "The translate-captions job was cancelled before it finished.",
        ),
        # Robots: edit captions
        (
            "robots.job.edit_captions.pending",
            "An edit-captions job was queued to fix or censor words in a caption track.",
        ),
        (
            "robots.job.edit_captions.processing",
            "The edit-captions job started rewriting the caption track.",
        ),
        (
            "robots.job.edit_captions.completed",
            "The edited captions are done; outputs counts replacements and names the new track.",
        ),
        (
            "robots.job.edit_captions.errored",
            "The edit-captions job failed; errors[] says why.",
        ),
        (
            "robots.job.edit_captions.cancelled",
            "The edit-captions job was cancelled before it finished.",
        ),
        # Robots: find best thumbnails
        (
            "robots.job.find_best_thumbnails.pending",
            "A find-best-thumbnails job was queued to pick strong poster frames for an asset.",
        ),
        (
            "robots.job.find_best_thumbnails.processing",
            "The find-best-thumbnails job started scoring frames from the asset.",
        ),
        (
            "robots.job.find_best_thumbnails.completed",
            "Thumbnail picks are ready; outputs.best_thumbnails gives timestamps and scores.",
        ),
        (
            "robots.job.find_best_thumbnails.errored",
            "The find-best-thumbnails job failed; errors[] says why.",
        ),
        (
            "robots.job.find_best_thumbnails.cancelled",
            "The find-best-thumbnails job was cancelled before it finished.",
        ),
        # Robots: find scenes
        (
            "robots.job.find_scenes.pending",
            "A find-scenes job was queued to break an asset into described scenes.",
        ),
        (
            "robots.job.find_scenes.processing",
            "The find-scenes job started segmenting the asset.",
        ),
        (
            "robots.job.find_scenes.completed",
            "The find-scenes job finished; outputs.scenes has time ranges, titles and narration.",
        ),
        ("robots.job.find_scenes.errored", "The find-scenes job failed; errors[] says why."),
        (
            "robots.job.find_scenes.cancelled",
            "The find-scenes job was cancelled before it finished.",
        ),
        # Robots: generate engagement insights
        (
            "robots.job.generate_engagement_insights.pending",
            "An engagement-insights job was queued to explain how viewers engage with an asset.",
        ),
        (
            "robots.job.generate_engagement_insights.processing",
            "The engagement-insights job started analysing the asset.",
        ),
        (
            "robots.job.generate_engagement_insights.completed",
            "Engagement insights are ready: per-moment scores plus an overall summary and trends.",
        ),
        (
            "robots.job.generate_engagement_insights.errored",
            "The engagement-insights job failed; errors[] says why.",
        ),
        (
            "robots.job.generate_engagement_insights.cancelled",
            "The engagement-insights job was cancelled before it finished.",
        ),
        # Robots: generate premium captions
        (
            "robots.job.generate_premium_captions.pending",
            "A premium-captions job was queued to transcribe an asset into a caption track.",
        ),
        (
            "robots.job.generate_premium_captions.processing",
            "The premium-captions job started transcribing the asset.",
        ),
        (
            "robots.job.generate_premium_captions.completed",
            "Premium captions are done; outputs gives the new track id or temporary SRT links.",
        ),
        (
            "robots.job.generate_premium_captions.errored",
            "The premium-captions job failed; errors[] says why.",
        ),
        (
            "robots.job.generate_premium_captions.cancelled",
            "The premium-captions job was cancelled before it finished.",
        ),
        # Robots: translate audio
        (
            "robots.job.translate_audio.pending",
            "A translate-audio job was queued to dub an asset's audio into another language.",
        ),
        (
            "robots.job.translate_audio.processing",
            "The translate-audio job started producing the dubbed audio.",
        ),
        (
            "robots.job.translate_audio.completed",
            "The dubbed audio is done; outputs names the new audio track or a temporary file.",
        ),
        (
            "robots.job.translate_audio.errored",
            "The translate-audio job failed; errors[] says why.",
        ),
        (
            "robots.job.translate_audio.cancelled",
            "The translate-audio job was cancelled before it finished.",
        ),
        # Robots: directive runs
        (
            "robots.directive_run.created",
            "A directive started a run on an asset and will dispatch its robots workflows.",
        ),
        (
            "robots.directive_run.partial",
            "A directive run ended with only some of its workflows dispatched; see node_states.",
        ),
        (
            "robots.directive_run.completed",
            "A directive run dispatched all its workflows; node_states maps each to its job id.",
        ),
        (
            "robots.directive_run.errored",
            "A directive run failed; node_states shows which workflows could not start and why.",
        ),
    ],
    legacy=[
        # Spaces: real-time video rooms, retired (removed from the Node SDK in v9)
        ("video.space.created", "Retired Spaces: a real-time space was created."),
        ("video.space.deleted", "Retired Spaces: a space was deleted."),
        ("video.space.active", "Retired Spaces: someone joined, so the space became active."),
        ("video.space.idle", "Retired Spaces: the last participant left and the space went idle."),
        ("video.space.updated", "Retired Spaces: a space's settings changed."),
        (
            "video.space.broadcast.created",
            "Retired Spaces: a broadcast (space to live stream) was set up on a space.",
        ),
        (
            "video.space.broadcast.idle",
            "Retired Spaces: a broadcast stopped sending the space to its live stream.",
        ),
        (
            "video.space.broadcast.active",
            "Retired Spaces: a broadcast began sending the space to its live stream.",
        ),
        ("video.space.broadcast.deleted", "Retired Spaces: a broadcast was removed from a space."),
    ],
)
