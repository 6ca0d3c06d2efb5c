"""The consent script the reporter reads (or plays) to the storyteller. A new wording gets a
new version: each consent records which version was shown."""

# -2: the easy-read words (EASY_READ) are shown and spoken beside the script.
SCRIPT_VERSION = "2026-11-easy-read-2"

SCRIPT = [
    "We would like to record your story about the service.",
    "You do not have to take part. Saying no will not change the help you get.",
    "We will not use your name. We will give you a different name.",
    "We take out names, places and anything that could show who you are.",
    "Only a small team can listen to the recording. It is kept safe on our own computer.",
    "You choose what we can do with your story. You can say yes to some things and no to others.",
    "You can change your mind at any time. Tell your reporter, and we will delete your story "
    "and everything made from it.",
]


# The same script in easy words, for storytellers who find reading hard: short sentences,
# one idea each, everyday words. It says what SCRIPT says, so both share SCRIPT_VERSION.
EASY_READ = [
    "We want to record your story.",
    "Your story is about the help you get.",
    "You do not have to say yes.",
    "If you say no, you still get the same help.",
    "We will not use your name.",
    "We will give you a new name.",
    "We take out names and places.",
    "We take out anything that could show who you are.",
    "Only a small team can hear the recording.",
    "We keep it safe on our own computer.",
    "You choose what we can do with your story.",
    "You can say yes to some things and no to others.",
    "You can change your mind at any time.",
    "Just tell your reporter.",
    "Then we delete your story and all we made from it.",
]


def script_text(*, easy: bool = False) -> str:
    return " ".join(EASY_READ if easy else SCRIPT)
