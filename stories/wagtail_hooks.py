from wagtail import hooks


@hooks.register("register_log_actions")
def register_story_log_actions(actions):
    actions.register_action(
        "storyloom.story.submit", "Story sent for approval", "Story sent for approval"
    )
    actions.register_action("storyloom.consent.record", "Consent recorded", "Consent recorded")
    actions.register_action(
        "storyloom.consent.withdraw",
        "Consent narrowed or withdrawn",
        "Consent narrowed or withdrawn",
    )
    actions.register_action("storyloom.media.view", "Recording opened", "Recording opened")
