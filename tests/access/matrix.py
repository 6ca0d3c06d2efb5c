"""Who may open what: the expected answer of every route, for each viewer.

Columns (harness.VIEWERS): anonymous; reporter of project A (owns the story asked about);
reporter of project B; facilitator of A; manager of A; data steward. Routes are asked about
project A's things (tests/access/arguments.py).

Words in the table:
  200, 404, 405, ...  that status
  login               a redirect to a login page
  denied              Wagtail's "you do not have permission" redirect to the admin home
  redirect            any other redirect (e.g. back to a page with a message)
  -                   not asked (see the note)

Routes of our apps (cms, stories, transcription, themes, workshops, actions, and names
starting storyloom_) each have an entry in EXPECTED, with `post` where the route takes a
form (an empty POST: a permission check, rolled back). Wagtail's and two_factor's own
routes (no Django admin is mounted) are covered by FAMILIES: the public never gets in without
logging in, nobody gets a server error, and (checked for every route) nobody is shown the
other project's things; exceptions are in FAMILY_EXCEPTIONS. A route with neither fails
tests/access/test_matrix.py. The family routes run with the slow tests (`make test`).
"""

from dataclasses import dataclass

from tests.access.harness import VIEWERS

OUR_APPS = ("cms", "stories", "transcription", "themes", "workshops", "actions")


@dataclass(frozen=True)
class Expect:
    get: str  # one word per viewer, in VIEWERS order
    post: str | None = None  # the same for an empty POST; None: not asked
    note: str = ""
    public: bool = False  # shows what storytellers agreed to publish, to anyone

    def __post_init__(self):
        for line in (self.get, self.post):
            if line is not None and len(line.split()) != len(VIEWERS):
                raise ValueError(f"Expected {len(VIEWERS)} words, got {line!r}")

    def word(self, method: str, viewer: str) -> str:
        line = self.get if method == "GET" else self.post
        return line.split()[VIEWERS.index(viewer)]

    def allows(self, method: str, viewer: str, got: str) -> bool:
        wanted = self.word(method, viewer)
        return wanted == "-" or got == wanted


# --- Our routes -----------------------------------------------------------------------------
#                          anon  rep_a rep_b fac_a mgr_a stew

EXPECTED: dict[str, Expect] = {
    # --- cms ---------------------------------------------------------------------------------
    "wagtailadmin_login": Expect(
        "200    200    200    200    200    200",
        note="Our login page (two-step, no hint whether an account exists), shown to anyone.",
    ),
    "storyloom_sensitive_access": Expect("login  404    404    404    404    200"),
    "storyloom_sensitive_access_results": Expect("login  404    404    404    404    200"),
    "storyloom_choose_page_child": Expect(
        "login  200    200    200    200    200",
        note="Wagtail's page chooser opened at a page: 404 if the chooser's hooks hide that "
        "page (it showed another project's story or workshop title: fixed). Opened here at "
        "project A's page, which is not hidden.",
    ),
    "storyloom_page_types_usage": Expect(
        "login  404    404    404    404    200",
        note="Wagtail's page types report, stewards only: it named another project's latest "
        "story to reporters and facilitators (fixed by this matrix).",
    ),
    "storyloom_page_types_usage_results": Expect("login  404    404    404    404    200"),
    # --- stories -----------------------------------------------------------------------------
    "stories:recording": Expect(
        "login  404    404    404    404    200",
        note="The original is unredacted: once words of it are hidden, stewards only (even the "
        "reporter plays the redacted copy).",
    ),
    "stories:consent_evidence": Expect("login  200    404    404    404    200"),
    "stories:capture": Expect(
        "login  200    404    404    404    200",
        post="login  200    404    404    404    200",
        note="Reporters record in their own projects, stewards in any; an empty form is shown "
        "again with its errors.",
    ),
    "stories:resumable_uploads": Expect(
        "login  405    404    404    404    405",
        post="login  400    404    404    404    400",
        note="Resumable uploads (tus) begin here: reporters of the project and stewards, as "
        "the capture form; a POST without the tus headers is 400. GET is not part of tus.",
    ),
    "stories:resumable_upload": Expect(
        "login  405    404    404    404    405",
        post="login  405    404    404    404    405",
        note="One resumable upload (HEAD, PATCH, DELETE only). Each is its reporter's alone: "
        "tests/stories/test_resumable.py asks another reporter of the same project (404).",
    ),
    "stories:my_stories": Expect("login  200    404    200    200    200"),
    "stories:story_status": Expect("login  200    404    200    404    200"),
    "stories:consent_script_audio": Expect("login  200    200    200    200    200"),
    "storytellers:index": Expect("login  denied denied denied denied 200"),
    "storytellers:index_results": Expect("login  denied denied denied denied 200"),
    "storytellers:edit": Expect(
        "login  denied 404    404    404    200",
        post="login  denied 404    404    404    200",
        note="Stewards only. One storyteller's pages answer 404 to anyone who may not see "
        "them (storytellers_visible_to); they said 'no permission' before, which told "
        "that the storyteller existed (fixed). The reporter who recorded them is refused.",
    ),
    "storytellers:history": Expect("login  denied 404    404    404    200"),
    "storytellers:history_results": Expect("login  denied 404    404    404    200"),
    "storytellers:usage": Expect("login  denied 404    404    404    200"),
    "consent:index": Expect("login  denied denied denied denied 200"),
    "consent:index_results": Expect("login  denied denied denied denied 200"),
    "consent:inspect": Expect(
        "login  denied 404    404    404    200",
        note="As for storytellers: 404 unless consents_visible_to has it (fixed).",
    ),
    "story_listing:index": Expect(
        "login  200    200    200    denied 200",
        note="Each sees only the stories stories_visible_to gives them (checked by content).",
    ),
    "story_listing:index_results": Expect("login  200    200    200    denied 200"),
    "story_listing:choose_parent": Expect(
        "login  redirect redirect redirect 200    200",
        note="Stories are added with the capture form; the chooser leads there or nowhere.",
    ),
    "erasures:index": Expect("login  denied denied denied denied 200"),
    "erasures:index_results": Expect("login  denied denied denied denied 200"),
    "erasures:inspect": Expect(
        "login  404    404    404    404    200",
        note="A certificate answers 404 to all but stewards (it said 'no permission': fixed).",
    ),
    # The front end: a story's page is for its reporter, the project's facilitators (once
    # approved) and stewards.
    "wagtail_serve": Expect("404    200    404    200    404    200"),
    # --- transcription -----------------------------------------------------------------------
    "transcription:progress": Expect(
        "404    200    404    200    404    200",
        note="Polled as JSON: 404 rather than a login page for the public.",
    ),
    "transcription:editor": Expect("login  200    404    200    404    200"),
    "transcription:editor_segment": Expect(
        "login  405    405    405    405    405",
        post="login  400    404    404    404    400",
    ),
    "transcription:editor_history": Expect(
        "login  200    404    404    404    200",
        note="A line's changes show the unredacted words: the reporter and stewards only.",
    ),
    "transcription:editor_verify": Expect(
        "login  405    405    405    405    405",
        post="login  redirect 404    404    404    redirect",
    ),
    "transcription:editor_redact": Expect(
        "login  405    405    405    405    405",
        post="login  400    404    404    404    400",
    ),
    "transcription:clip_index": Expect("login  200    200    200    200    200"),
    "transcription:clip_create": Expect(
        "405    405    405    405    405    405",
        post="login  redirect 404    redirect 404    redirect",
        note="POST names project A's story; lines missing, so refused with a message "
        "(redirect) for those who may make clips of it, 404 for the others.",
    ),
    "transcription:clip": Expect("login  200    404    200    404    200"),
    "transcription:clip_status": Expect("login  200    404    200    404    200"),
    "transcription:clip_retry": Expect(
        "405    405    405    405    405    405",
        post="login  redirect 404    redirect 404    redirect",
    ),
    "transcription:clip_media": Expect("login  200    404    200    404    200"),
    "transcription:clip_captions": Expect("login  200    404    200    404    200"),
    "transcription:clips": Expect("login  200    404    200    200    200"),
    "transcription:story_captions": Expect("login  200    404    200    404    200"),
    "transcription_jobs:index": Expect("login  denied denied denied denied 200"),
    "transcription_jobs:index_results": Expect("login  denied denied denied denied 200"),
    "transcription_jobs:inspect": Expect("login  404    404    404    404    200"),
    "transcription_jobs:retry": Expect(
        "login  404    404    404    404    200",
        post="login  404    404    404    404    redirect",
    ),
    "name_list:index": Expect("login  200    200    denied denied 200"),
    "name_list:index_results": Expect("login  200    200    denied denied 200"),
    "name_list:add": Expect(
        "login  200    200    denied denied 200",
        post="login  200    200    denied denied 200",
    ),
    "name_list:delete": Expect(
        "login  200    404    404    404    200",
        post="login  redirect 404    404    404    redirect",
    ),
    # --- themes ------------------------------------------------------------------------------
    "themes_admin:index": Expect("login  200    200    200    200    200"),
    "themes_admin:project": Expect("login  200    404    200    200    200"),
    "themes_admin:run_start": Expect(
        "login  405    405    405    405    405",
        post="login  redirect 404    redirect redirect redirect",
        note="Managers read themes but may not run them: sent back with a message.",
    ),
    "themes_admin:run_status": Expect("login  200    404    200    200    200"),
    "themes_admin:theme": Expect("login  200    404    200    200    200"),
    "themes_admin:theme_action": Expect(
        "login  405    405    405    405    405",
        post="login  redirect 404    redirect redirect redirect",
    ),
    "themes_admin:chart": Expect("login  200    404    200    200    200"),
    # --- workshops ---------------------------------------------------------------------------
    "workshops:index": Expect("login  200    200    200    200    200"),
    "workshops:create": Expect(
        "login  redirect 404    200    redirect 200",
        post="login  redirect 404    200    redirect 200",
        note="Members who do not build packs are sent back with a message; outsiders 404.",
    ),
    "workshops:detail": Expect("login  200    404    200    200    200"),
    "workshops:draft": Expect(
        "login  redirect 404    200    redirect 200",
        post="login  redirect 404    redirect redirect redirect",
    ),
    "workshops:export": Expect("login  200    404    200    200    200"),
    "workshops:outcomes": Expect(
        "login  200    404    200    200    200",
        post="login  redirect 404    redirect redirect redirect",
    ),
    "workshops:proposal_add": Expect(
        "login  405    405    405    405    405",
        post="login  redirect 404    400    redirect 400",
    ),
    "workshops:significant_add": Expect(
        "login  405    405    405    405    405",
        post="login  redirect 404    400    redirect 400",
    ),
    "workshops:significant_remove": Expect(
        "login  405    405    405    405    405",
        post="login  redirect 404    redirect redirect redirect",
    ),
    "workshops:clip": Expect("login  200    404    200    200    200"),
    "workshops:clip_media": Expect("login  200    404    200    200    200"),
    "workshops:clip_captions": Expect("login  200    404    200    200    200"),
    "workshop_theme_chooser:choose": Expect("login  200    200    200    200    200"),
    "workshop_theme_chooser:choose_results": Expect("login  200    200    200    200    200"),
    "workshop_theme_chooser:chosen": Expect("login  404    404    200    404    200"),
    "workshop_theme_chooser:chosen_multiple": Expect("login  200    200    200    200    200"),
    "workshop_theme_chooser:create": Expect(
        "login  denied denied denied denied denied",
        post="login  denied denied denied denied denied",
        note="Choosers only choose; nothing is created through them.",
    ),
    "workshop_quote_chooser:choose": Expect("login  200    200    200    200    200"),
    "workshop_quote_chooser:choose_results": Expect("login  200    200    200    200    200"),
    "workshop_quote_chooser:chosen": Expect("login  404    404    200    404    200"),
    "workshop_quote_chooser:chosen_multiple": Expect("login  200    200    200    200    200"),
    "workshop_quote_chooser:create": Expect(
        "login  denied denied denied denied denied",
        post="login  denied denied denied denied denied",
    ),
    "workshop_clip_chooser:choose": Expect("login  200    200    200    200    200"),
    "workshop_clip_chooser:choose_results": Expect("login  200    200    200    200    200"),
    "workshop_clip_chooser:chosen": Expect("login  404    404    200    404    200"),
    "workshop_clip_chooser:chosen_multiple": Expect("login  200    200    200    200    200"),
    "workshop_clip_chooser:create": Expect(
        "login  denied denied denied denied denied",
        post="login  denied denied denied denied denied",
    ),
    # --- actions -----------------------------------------------------------------------------
    "actions:you_said_we_did": Expect(
        "200    200    200    200    200    200",
        public=True,
        note="The public page: what storytellers agreed to publish, for anyone.",
    ),
    "actions:evidence": Expect("login  404    404    200    200    200"),
    "actions_admin:detail": Expect("login  404    404    200    200    200"),
    "actions_admin:stories": Expect("login  404    404    200    200    200"),
    "actions_admin:post_update": Expect(
        "login  405    405    405    405    405",
        post="login  404    404    404    400    400",
        note="Managers and stewards post updates; facilitators read actions only.",
    ),
    "actions_admin:impact": Expect("login  200    404    200    404    200"),
    "actions_admin:report": Expect("login  404    404    200    200    200"),
    "actions_admin:report_results": Expect("login  404    404    200    200    200"),
    "wagtailsnippets_actions_action:list": Expect("login  denied denied 200    200    200"),
    "wagtailsnippets_actions_action:list_results": Expect("login  denied denied 200    200    200"),
    "wagtailsnippets_actions_action:add": Expect(
        "login  denied denied 200    200    200",
        post="login  denied denied 200    200    200",
    ),
    "wagtailsnippets_actions_action:edit": Expect(
        "login  404    404    denied 200    200",
        post="login  404    404    denied 200    200",
        note="Facilitators see the action but do not change it (Wagtail's refusal).",
    ),
    "wagtailsnippets_actions_action:delete": Expect(
        "login  404    404    denied denied 200",
        post="login  404    404    denied denied redirect",
    ),
    "wagtailsnippets_actions_action:usage": Expect("login  404    404    denied 200    200"),
    "wagtailsnippets_actions_action:history": Expect("login  404    404    200    200    200"),
    "wagtailsnippets_actions_action:history_results": Expect(
        "login  404    404    200    200    200"
    ),
    "wagtailsnippets_actions_action:revisions_revert": Expect(
        "login  404    404    denied 200    200",
        post="login  404    404    denied 200    200",
    ),
    "wagtailsnippets_actions_action:revisions_compare": Expect(
        "login  404    404    denied 200    200"
    ),
    "wagtailsnippetchoosers_actions_action:choose": Expect(
        "login  200    200    200    200    200",
        note="Lists only the viewer's actions (it listed every project's: fixed).",
    ),
    "wagtailsnippetchoosers_actions_action:choose_results": Expect(
        "login  200    200    200    200    200"
    ),
    "wagtailsnippetchoosers_actions_action:chosen": Expect(
        "login  404    404    200    200    200",
        note="It gave any admin user any action's title: fixed.",
    ),
    "wagtailsnippetchoosers_actions_action:chosen_multiple": Expect(
        "login  200    200    200    200    200"
    ),
    "wagtailsnippetchoosers_actions_action:create": Expect(
        "login  404    404    404    404    404",
        post="login  404    404    404    404    404",
        note="No creation form: an empty POST was a server error (fixed).",
    ),
    "action_statuses:index": Expect("login  denied denied denied denied 200"),
    "action_statuses:index_results": Expect("login  denied denied denied denied 200"),
    "action_statuses:add": Expect(
        "login  denied denied denied denied 200",
        post="login  denied denied denied denied 200",
    ),
    "action_statuses:edit": Expect(
        "login  denied denied denied denied 200",
        post="login  denied denied denied denied 200",
    ),
    "action_statuses:delete": Expect(
        "login  denied denied denied denied 200",
        post="login  denied denied denied denied redirect",
        note="A status in use is not deleted: a message, not a server error (fixed).",
    ),
    "action_statuses:history": Expect("login  denied denied denied denied 200"),
    "action_statuses:history_results": Expect("login  denied denied denied denied 200"),
    "action_statuses:usage": Expect("login  denied denied denied denied 200"),
}


# --- Families: Wagtail's, Django's and two_factor's own routes -------------------------------


@dataclass(frozen=True)
class Family:
    """Routes of a package we did not write, matched by the start of their name."""

    name: str
    prefixes: tuple[str, ...]
    anon: frozenset  # what the public may get
    note: str = ""

    def matches(self, route_name: str) -> bool:
        return route_name.startswith(self.prefixes)

    def allows(self, method: str, viewer: str, got: str) -> bool:
        if got.startswith("5"):
            return False
        if viewer == "anon":
            return got in self.anon
        return True

    def word(self, method: str, viewer: str) -> str:
        if viewer == "anon":
            return "|".join(sorted(self.anon))
        return "not 5xx"


ADMIN = Family(
    "Wagtail admin",
    (
        "wagtailadmin_",
        "wagtail_bulk_action",
        "<unnamed> admin/",
        "wagtailimages:",
        "wagtailimages_chooser:",
        "wagtaildocs:",
        "wagtaildocs_chooser:",
        "wagtailsnippets:",
        "wagtailusers_users:",
        "wagtailusers_groups:",
        "wagtailsites:",
        "wagtailforms:",
        "wagtailredirects:",
        "wagtailsettings:",
        "wagtailembeds:",
    ),
    anon=frozenset({"login"}),
    note="Behind the admin login; Wagtail's own permissions (its policy, and our hooks that "
    "keep other projects' stories and workshops out of the explorer, chooser and search).",
)
TWO_FACTOR = Family(
    "two_factor",
    ("two_factor:",),
    anon=frozenset({"200", "login", "redirect"}),
    note="django-two-factor-auth's pages: the login page is public, the rest need a login.",
)
PUBLIC = Family(
    "Public pages of Wagtail",
    (
        "wagtailcore_",
        "wagtaildocs_serve",
        "wagtaildocs_authenticate_with_password",
    ),
    anon=frozenset({"200", "302", "404", "redirect", "login"}),
    note="Wagtail's front-end helpers (document serving, page passwords): no documents or "
    "restrictions exist here; never a server error.",
)
FAMILIES = (ADMIN, TWO_FACTOR, PUBLIC)

# Family routes whose answer differs from the family's, with the reason.
FAMILY_EXCEPTIONS: dict[str, Expect] = {
    "wagtailadmin_error_test": Expect(
        "login  500    500    500    500    500",
        note="/admin/failwhale/: Wagtail's deliberate error page, to test error reporting.",
    ),
    "wagtailadmin_password_reset": Expect("200    200    200    200    200    200"),
    "wagtailadmin_password_reset_done": Expect("200    200    200    200    200    200"),
    "wagtailadmin_password_reset_confirm": Expect("200    200    200    200    200    200"),
    "wagtailadmin_password_reset_complete": Expect("200    200    200    200    200    200"),
    "wagtailadmin_sprite": Expect("200    200    200    200    200    200"),
    "wagtailadmin_javascript_catalog": Expect("200    200    200    200    200    200"),
    "wagtailadmin_choose_page_child": Expect(
        "login  200    200    200    200    200",
        note="Answered by storyloom_choose_page_child (cms/urls.py comes first).",
    ),
    "wagtailadmin_reports:page_types_usage": Expect(
        "login  404    404    404    404    200",
        note="Answered by storyloom_page_types_usage (cms/urls.py comes first).",
    ),
    "wagtailadmin_reports:page_types_usage_results": Expect(
        "login  404    404    404    404    200"
    ),
}


# --- Lookup ---------------------------------------------------------------------------------


def is_ours(route) -> bool:
    """Written in this project: by its name (storyloom_*, or a namespace we registered) or
    by where its view lives."""
    if route.name.startswith("storyloom_"):
        return True
    namespace = route.name.split(":", 1)[0] if ":" in route.name else None
    if namespace in OUR_NAMESPACES:
        return True
    return route.view.split(".", 1)[0] in OUR_APPS


# Namespaces registered by our apps' urls.py and wagtail_hooks.py (viewsets, choosers).
OUR_NAMESPACES = {
    "stories",
    "transcription",
    "actions",
    "actions_admin",
    "themes_admin",
    "workshops",
    "storytellers",
    "consent",
    "story_listing",
    "erasures",
    "transcription_jobs",
    "name_list",
    "workshop_theme_chooser",
    "workshop_quote_chooser",
    "workshop_clip_chooser",
    "action_statuses",
    "wagtailsnippets_actions_action",
    "wagtailsnippetchoosers_actions_action",
}


def expectation_for(route):
    """The route's entry, or its family, or None (which fails the suite)."""
    if route.name in EXPECTED:
        return EXPECTED[route.name]
    if route.name in FAMILY_EXCEPTIONS:
        return FAMILY_EXCEPTIONS[route.name]
    if is_ours(route):
        return None  # our routes need an entry of their own
    return next((family for family in FAMILIES if family.matches(route.name)), None)


def coverage_problems(routes) -> list[str]:
    """Routes without an entry or family, and entries naming no route."""
    problems = [
        f"{route.key} ({route.pattern}, view {route.view}): no entry in tests/access/matrix.py"
        + (" (a route of our apps needs its own entry in EXPECTED)" if is_ours(route) else "")
        for route in routes
        if expectation_for(route) is None
    ]
    names = {route.name for route in routes}
    problems += [
        f"{name}: in tests/access/matrix.py but no such route"
        for name in [*EXPECTED, *FAMILY_EXCEPTIONS]
        if name not in names
    ]
    return problems
