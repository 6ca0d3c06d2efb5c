from django.dispatch import Signal

# Sent when a story has a new current transcript (its segments are stored), with
# `story_id` and `transcript_id`. Downstream apps (themes) connect to it in their
# AppConfig.ready(); receivers should queue their work, not do it inline.
transcript_ready = Signal()

# Sent (on commit) when the set of ACCEPTED redactions of a story changes, with `story_id`.
# Receivers re-render what shows the story's words or sound (playable copy, clips).
redactions_changed = Signal()
