from django.dispatch import Signal

# Sent after the transaction that stored a story's recording commits, with `story_id`,
# `media_id` (None for a written story) and `wait` (run the work now, in this process, when
# True). Downstream apps (transcription) connect to it in their AppConfig.ready().
story_media_added = Signal()
