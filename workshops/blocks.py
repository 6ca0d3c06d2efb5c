"""The blocks a workshop pack is made of. (Placeholder set: the workshops helper fills in
ThemeBlock, ClipBlock, QuoteBlock, PromptBlock, ActivityBlock and ProposedChangeBlock.)"""

from wagtail import blocks


class PackStreamBlock(blocks.StreamBlock):
    text = blocks.RichTextBlock()
