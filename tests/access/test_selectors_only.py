"""Views read stories, transcripts, clips, themes, packs and actions only through selectors
that take the viewer (DESIGN.md: "selectors, always taking the viewer so permissions cannot
be forgotten"). This reads the source of every view module of our apps and fails on a
direct query (`Model.objects`, `Model._default_manager`, `get_object_or_404(Model, ...)`)
of those models that is not in the allow-list below with its reason."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("cms", "stories", "transcription", "themes", "workshops", "actions")
# View code: what answers a request.
VIEW_FILES = (
    "views.py",
    "*_views.py",
    "wagtail_hooks.py",
    "reports.py",
    "choosers.py",
    "*_admin.py",
)

# The models whose rows belong to a story or a project, and must be read with the viewer.
GUARDED = {
    "StoryPage",
    "StoryMedia",
    "Consent",
    "Storyteller",
    "Transcript",
    "Segment",
    "Redaction",
    "Clip",
    "Theme",
    "ThemeRun",
    "ThemeAssignment",
    "WorkshopPage",
    "Proposal",
    "SignificantStory",
    "Action",
    "ActionUpdate",
}

# (file, function, model): why this direct query is safe.
ALLOWED = {
    ("stories/wagtail_hooks.py", "StorytellerEditView.save_instance", "Storyteller"): (
        "the stored row of the storyteller being edited (the view got it through "
        "storytellers_visible_to), for the service to compare"
    ),
    ("stories/capture_views.py", "_stored", "StoryPage"): (
        "asks whether the story this request has just created was kept; shows nothing"
    ),
    ("stories/wagtail_hooks.py", "StoryListingView.get_base_queryset", "StoryPage"): (
        "narrowed to stories_visible_to(user) (Wagtail's listing wants a plain queryset)"
    ),
    ("stories/wagtail_hooks.py", "_hide_invisible_stories", "StoryPage"): (
        "the complement of stories_visible_to(user), to take it out of the explorer"
    ),
    ("transcription/editor_views.py", "segment_action", "Segment"): (
        "re-reads a line already fetched through editor_story_for_user, after a refusal"
    ),
    ("transcription/wagtail_hooks.py", "transcript_editor_button", "Transcript"): (
        "whether a page has a transcript, for a button; stories_visible_to is asked next"
    ),
    ("transcription/redaction_admin.py", "NameListEntryForm.__init__", "StoryPage"): (
        "the story choices of a data steward's form (every story); others get "
        "stories_visible_to(user), and none for nobody"
    ),
    ("workshops/views.py", "_outcomes_context", "Theme"): (
        "the current themes of a workshop the viewer may read (workshop_get_for_user)"
    ),
    ("workshops/views.py", "proposal_add", "Theme"): (
        "themes named in a proposal, limited to the workshop's project (read through "
        "workshop_get_for_user); the service checks them again"
    ),
    ("workshops/views.py", "significant_add", "StoryPage"): (
        "the story named in the form; significant_story_add accepts only stories quoted in "
        "this workshop's pack"
    ),
    ("workshops/views.py", "significant_remove", "SignificantStory"): (
        "only among the choices of a workshop read through workshop_get_for_user"
    ),
    ("workshops/wagtail_hooks.py", "WorkshopPageViewSet.get_view_by_name", "WorkshopPage"): (
        "is this page a workshop? (then workshop_get_for_user decides, 404 if not visible)"
    ),
    ("workshops/wagtail_hooks.py", "_hide_other_projects_workshops", "WorkshopPage"): (
        "the complement of workshops_visible_to(user), to take it out of the explorer"
    ),
    (
        "actions/wagtail_hooks.py",
        "ActionPermissionPolicy.instances_user_has_any_permission_for",
        "Action",
    ): (
        "the permission policy itself: every action for a steward's delete, else none plus "
        "those of action_projects_for_user"
    ),
    ("actions/wagtail_hooks.py", "ActionEditView.save_instance", "Action"): (
        "the stored row of the action being edited (the view got it through the guarded "
        "snippet URLs), for the service to compare"
    ),
}


def view_modules():
    for app in APPS:
        for pattern in VIEW_FILES:
            yield from sorted((ROOT / app).glob(pattern))


class _Finder(ast.NodeVisitor):
    def __init__(self):
        self.scope: list[str] = []
        self.found: list[tuple[str, str, int]] = []

    def _enter(self, node):
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _enter

    def _where(self) -> str:
        # Nested helpers (a view's inner function) count as their outermost function.
        return ".".join(self.scope[:2]) if self.scope else "<module>"

    def visit_Attribute(self, node):
        if (
            node.attr in ("objects", "_default_manager", "_base_manager")
            and isinstance(node.value, ast.Name)
            and node.value.id in GUARDED
        ):
            self.found.append((self._where(), node.value.id, node.lineno))
        self.generic_visit(node)

    def visit_Call(self, node):
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name in ("get_object_or_404", "get_list_or_404") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Name) and first.id in GUARDED:
                self.found.append((self._where(), first.id, node.lineno))
        self.generic_visit(node)


def direct_reads(path: Path) -> list[tuple[str, str, int]]:
    finder = _Finder()
    finder.visit(ast.parse(path.read_text(), filename=str(path)))
    return finder.found


def problems(modules) -> list[str]:
    found = []
    for path in modules:
        relative = path.relative_to(ROOT).as_posix()
        for scope, model, line in direct_reads(path):
            if (relative, scope, model) not in ALLOWED:
                found.append(
                    f"{relative}:{line} {scope} reads {model} directly: use a selector that "
                    "takes the viewer, or add it to ALLOWED in tests/access/test_selectors_only.py "
                    "with the reason it is safe"
                )
    return found


def test_views_read_only_through_selectors():
    modules = list(view_modules())
    assert len(modules) >= 15, modules  # the view modules of the six apps were found
    assert not (found := problems(modules)), "\n".join(found)


def test_every_allowance_is_still_needed():
    used = {
        (path.relative_to(ROOT).as_posix(), scope, model)
        for path in view_modules()
        for scope, model, _ in direct_reads(path)
    }
    assert not (stale := sorted(set(ALLOWED) - used)), stale


@pytest.mark.parametrize(
    "source",
    [
        "def gone(request, story_id):\n    return StoryPage.objects.get(pk=story_id)\n",
        "class V:\n    def get(self, request, pk):\n        return get_object_or_404(Clip, pk=pk)",
        "def f(request):\n    return list(Action._default_manager.all())\n",
    ],
)
def test_a_view_that_bypasses_the_selectors_is_caught(source, tmp_path, monkeypatch):
    module = tmp_path / "workshops" / "new_views.py"
    module.parent.mkdir()
    module.write_text(source)
    monkeypatch.setattr("tests.access.test_selectors_only.ROOT", tmp_path)
    assert problems([module]), source
