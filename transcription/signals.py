from django.dispatch import Signal

# Sent when a story has a new current transcript (its segments are stored), with
# `story_id` and `transcript_id`. Downstream apps (themes) connect to it in their
# AppConfig.ready(); receivers should queue their work, not do it inline.
transcript_ready = Signal()
