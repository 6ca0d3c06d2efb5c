"""The consent script the reporter reads (or plays) to the storyteller. A new wording gets a
new version: each consent records which version was shown."""

SCRIPT_VERSION = "2026-11-easy-read-1"

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


def script_text() -> str:
    return " ".join(SCRIPT)
