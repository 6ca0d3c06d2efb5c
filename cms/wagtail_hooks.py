from wagtail import hooks


@hooks.register("register_log_actions")
def register_project_log_actions(actions):
    actions.register_action("storyloom.project.member_added", "Member added", "Member added")
    actions.register_action("storyloom.project.member_removed", "Member removed", "Member removed")
