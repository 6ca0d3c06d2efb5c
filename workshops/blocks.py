"""The blocks a workshop pack is made of. Blocks hold references (a theme, a transcript
segment, a clip), never copies of anyone's words: the words are read — redacted, and only
while consent allows — each time the pack is shown or exported (workshops.pack)."""

from wagtail import blocks

from workshops.choosers import clip_chooser_viewset, quote_chooser_viewset, theme_chooser_viewset

ThemeChooserBlock = theme_chooser_viewset.get_block_class(
    name="ThemeChooserBlock", module_path="workshops.blocks"
)
QuoteChooserBlock = quote_chooser_viewset.get_block_class(
    name="QuoteChooserBlock", module_path="workshops.blocks"
)
ClipChooserBlock = clip_chooser_viewset.get_block_class(
    name="ClipChooserBlock", module_path="workshops.blocks"
)

# No images or embeds: a pack is printed and must not fetch anything.
RICH_TEXT_FEATURES = ["h2", "h3", "bold", "italic", "ol", "ul", "link"]

NOTES_HELP = "Only in the facilitator guide."


def _minutes(default: int | None) -> blocks.IntegerBlock:
    return blocks.IntegerBlock(
        required=False,
        default=default,
        min_value=0,
        max_value=480,
        help_text="How long this part takes, in minutes (shown in the facilitator guide).",
    )


def _notes() -> blocks.TextBlock:
    return blocks.TextBlock(required=False, label="Notes for the facilitator", help_text=NOTES_HELP)


class ThemeBlock(blocks.StructBlock):
    theme = ThemeChooserBlock()
    quotes = blocks.ListBlock(
        QuoteChooserBlock(),
        min_num=0,
        max_num=6,
        help_text="Leave empty to show the theme's top quotes.",
    )
    show_chart = blocks.BooleanBlock(
        required=False, default=True, label="Show who is heard (a chart)"
    )
    minutes = _minutes(20)
    notes = _notes()

    class Meta:
        icon = "tag"
        label = "Theme"


class ClipBlock(blocks.StructBlock):
    clip = ClipChooserBlock()
    minutes = _minutes(5)
    notes = _notes()

    class Meta:
        icon = "media"
        label = "Clip"


class QuoteBlock(blocks.StructBlock):
    quote = QuoteChooserBlock()
    notes = _notes()

    class Meta:
        icon = "openquote"
        label = "Quote"


DEFAULT_QUESTIONS = [
    "What stands out for you in these words?",
    "What is working well here, and what gets in the way?",
    "What one change would make the biggest difference?",
]


class PromptBlock(blocks.StructBlock):
    heading = blocks.CharBlock(required=False, default="Talk about it", max_length=200)
    questions = blocks.ListBlock(
        blocks.CharBlock(max_length=400), min_num=1, default=list(DEFAULT_QUESTIONS)
    )
    minutes = _minutes(15)
    notes = _notes()

    class Meta:
        icon = "help"
        label = "Discussion questions"


# The activity templates: what participants read, what the facilitator does, what to bring.
ACTIVITIES = {
    "what_matters": {
        "label": "What matters to you",
        "minutes": 10,
        "participant": [
            "Think of one thing about this service that really matters to you.",
            "Write it on a sticky note, in your own words.",
            "Put your note on the wall and read the others.",
        ],
        "facilitator": [
            "Hand out sticky notes and pens.",
            "Give people two quiet minutes to write.",
            "Group similar notes together and read the groups out.",
        ],
        "materials": "Sticky notes, pens, a wall or flip chart",
    },
    "good_day_bad_day": {
        "label": "Good day / bad day",
        "minutes": 20,
        "participant": [
            "In pairs, describe a good day with the service: what happened, who helped.",
            "Now describe a bad day: what went wrong, what would have helped.",
            "Share one thing from each day with the group.",
        ],
        "facilitator": [
            "Split the flip chart into 'good day' and 'bad day'.",
            "Write up what pairs share, in their words.",
            "Point out where the days match the themes in the pack.",
        ],
        "materials": "Flip chart, two colours of pen",
    },
    "dot_voting": {
        "label": "Dot voting",
        "minutes": 15,
        "participant": [
            "Read the proposed changes on the wall.",
            "You have three dots. Put them on the changes that matter most to you.",
            "You can put more than one dot on the same change.",
        ],
        "facilitator": [
            "Write each proposed change on its own sheet.",
            "Give everyone three sticky dots.",
            "Count the dots and record the votes in the outcomes.",
        ],
        "materials": "Sticky dots (three per person), one sheet per proposed change",
    },
}


class ActivityBlock(blocks.StructBlock):
    template = blocks.ChoiceBlock(
        choices=[(key, spec["label"]) for key, spec in ACTIVITIES.items()], default="what_matters"
    )
    title = blocks.CharBlock(
        required=False, max_length=200, help_text="Leave empty to use the activity's name."
    )
    instructions = blocks.TextBlock(
        required=False,
        help_text="For participants, one step a line. Leave empty to use the template's steps.",
    )
    minutes = _minutes(None)
    materials = blocks.CharBlock(
        required=False, max_length=300, help_text="Leave empty to use the template's list."
    )
    notes = _notes()

    class Meta:
        icon = "group"
        label = "Activity"


class ProposedChangeBlock(blocks.StructBlock):
    title = blocks.CharBlock(max_length=255, label="The proposed change")
    description = blocks.TextBlock(required=False)
    themes = blocks.ListBlock(ThemeChooserBlock(), min_num=1, label="Themes it answers")
    notes = _notes()

    class Meta:
        icon = "pick"
        label = "Proposed change"


class PackStreamBlock(blocks.StreamBlock):
    text = blocks.RichTextBlock(features=RICH_TEXT_FEATURES, label="Text")
    theme = ThemeBlock()
    clip = ClipBlock()
    quote = QuoteBlock()
    prompt = PromptBlock()
    activity = ActivityBlock()
    proposed_change = ProposedChangeBlock()
