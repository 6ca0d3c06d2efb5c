"""Every write to actions and their updates. Keyword-only; each change is a revision of the
action and an entry in Wagtail's audit log. A save made from a stale page (someone else
saved in between) is refused, never silently overwritten."""

import logging
from datetime import date

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from wagtail.log_actions import log

from actions import selectors
from actions.models import (
    Action,
    ActionStatus,
    ActionUpdate,
    ActionVisibility,
    ReminderSent,
    StatusNotice,
    evidence_name,
)
from cms.models import ProjectPage
from cms.roles import user_is_steward
from stories.models import private_storage
from workshops.models import Decision, Proposal

logger = logging.getLogger(__name__)

NO_CREATE_MESSAGE = "Only the project's facilitators, managers and data stewards can add actions."
NO_EDIT_MESSAGE = "Only the project's managers and data stewards can change actions."
NOTHING_SAID_MESSAGE = "Please write what happened, or change the status or the progress."

# Evidence: a document or a picture. Anything else is refused by its content, not its name.
EVIDENCE_KINDS = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
]
EVIDENCE_MAX_BYTES = 25 * 1024 * 1024

# The fields a person may change with action_edit (the project never changes).
EDITABLE = {
    "title",
    "description",
    "owner",
    "team",
    "status",
    "status_reason",
    "progress",
    "start_date",
    "due_date",
    "parent",
    "proposal",
    "themes",
    "public_summary",
    "visibility",
}


class StaleEdit(ValidationError):
    """Someone else saved the action after this person opened it."""


# --- Checks -------------------------------------------------------------------------------------


def _check_create(*, user, project) -> None:
    """`user` None is the system (a receiver, a command run by an operator)."""
    if user is not None and not selectors.can_create_actions(user=user, project=project):
        raise PermissionDenied(NO_CREATE_MESSAGE)


def _check_edit(*, user, project) -> None:
    if user is not None and not selectors.can_edit_actions(user=user, project=project):
        raise PermissionDenied(NO_EDIT_MESSAGE)


def _as_progress(value, errors: dict, name: str = "progress"):
    if value is None or value == "":
        return None
    try:
        number = int(value)
        if number != float(value):
            raise ValueError
    except (TypeError, ValueError):
        errors[name] = "Progress must be a whole number from 0 to 100."
        return None
    if not 0 <= number <= 100:
        errors[name] = "Progress must be a whole number from 0 to 100."
        return None
    return number


def _validate(action: Action, *, themes, changed: set, errors: dict) -> None:
    """Add a plain message for each thing wrong with `action` (as it would be saved)."""
    if not (action.title or "").strip():
        errors["title"] = "Please give the action a title."
    if action.start_date and action.due_date and action.due_date < action.start_date:
        errors["due_date"] = "The due date cannot be before the start date."
    if action.status.reason_required and not (action.status_reason or "").strip():
        errors["status_reason"] = (
            f"Please say why: the status “{action.status.label}” needs a reason."
        )
    if "owner" in changed and action.owner is not None:
        if not action.owner.is_active:
            errors["owner"] = (
                "This person's account has been closed. Please choose someone else to own "
                "the action."
            )
        elif not selectors.may_own(user=action.owner, project=action.project):
            errors["owner"] = "The owner must be a manager in this project, or a data steward."
    if action.parent is not None:
        if action.parent.project_id != action.project_id:
            errors["parent"] = "The bigger action must be in the same project."
        else:
            seen, step = set(), action.parent
            while step is not None and step.pk not in seen:
                if action.pk and step.pk == action.pk:
                    errors["parent"] = "An action cannot be part of itself, or of one of its parts."
                    break
                seen.add(step.pk)
                step = step.parent
    if action.proposal is not None:
        in_project = (
            ProjectPage.objects.ancestor_of(action.proposal.workshop)
            .filter(pk=action.project_id)
            .exists()
        )
        if not in_project:
            errors["proposal"] = "This proposal comes from another project's workshop."
    if themes is not None and any(t.project_id != action.project_id for t in themes):
        errors["themes"] = "Some of these themes belong to another project."
    if action.visibility == ActionVisibility.PUBLIC and not (action.public_summary or "").strip():
        errors["public_summary"] = (
            "Please write a short public summary in plain words before making the action public."
        )
    if action.visibility not in ActionVisibility.values:
        errors["visibility"] = "Please choose who can see this action."


def _stale_message(action_id: int) -> str:
    latest = Action.objects.filter(pk=action_id).select_related("latest_revision__user").first()
    who = ""
    if latest and latest.latest_revision and latest.latest_revision.user:
        user = latest.latest_revision.user
        name = user.get_full_name() or user.get_username()
        when = timezone.localtime(latest.latest_revision.created_at)
        who = f" ({name}, at {when:%H:%M} on {when:%d %B})"
    return (
        f"Someone else saved this action while you were working on it{who}. Your changes "
        "have not been saved, so nothing of theirs was overwritten. Please reload the page to "
        "see the latest version, then make your changes again."
    )


def default_status() -> ActionStatus:
    return ActionStatus.objects.order_by("sort_order", "pk").first()


def status_by_key(key: str) -> ActionStatus | None:
    return ActionStatus.objects.filter(key=key).first()


# --- Create and edit ------------------------------------------------------------------------------


def _store_evidence(update: ActionUpdate, evidence: File) -> str:
    """Check an evidence file by its content and keep it in private storage; returns the
    stored name (for removal if the transaction fails)."""
    size = getattr(evidence, "size", None)
    if size is None:
        evidence.seek(0, 2)
        size = evidence.tell()
    if not size:
        raise ValidationError({"evidence": "The evidence file is empty."})
    limit = int(getattr(settings, "ACTIONS_EVIDENCE_MAX_BYTES", EVIDENCE_MAX_BYTES))
    if size > limit:
        raise ValidationError(
            {"evidence": f"The evidence file is too big: the most is {limit // (1024 * 1024)} MB."}
        )
    evidence.seek(0)
    head = evidence.read(8)
    evidence.seek(0)
    kind = next((k for k in EVIDENCE_KINDS if head.startswith(k[0])), None)
    if kind is None:
        raise ValidationError(
            {"evidence": "Evidence must be a PDF document or a JPEG or PNG picture."}
        )
    _, content_type, extension = kind
    update.evidence_original_name = (getattr(evidence, "name", "") or "")[-255:]
    update.evidence_content_type = content_type
    update.evidence.save(evidence_name(extension), File(evidence), save=False)
    return update.evidence.name


def _set_themes(action: Action, themes) -> None:
    themes = list(themes)
    action.themes.set(themes)
    action.theme_refs = [selectors.theme_ref(t) for t in themes]


def _save(action: Action, *, user, log_action: str, data: dict) -> Action:
    action.updated_at = timezone.now()
    action.save()
    revision = action.save_revision(user=user, log_action=False, clean=False)
    log(instance=action, action=log_action, user=user, revision=revision, data=data)
    return action


def _status_change(action: Action, *, old_status, old_progress, progress_given) -> None:
    """Moving to a status takes its default progress (unless the person set the progress
    too) and records when the action was closed or reopened."""
    if action.status_id == old_status.pk:
        return
    if not progress_given and action.status.default_progress is not None:
        action.progress = action.status.default_progress
    action.status_changed_at = timezone.now()
    if action.status.is_closed and not old_status.is_closed:
        action.closed_on = timezone.localdate()
    elif not action.status.is_closed:
        action.closed_on = None


@transaction.atomic
def action_create(
    *,
    project: ProjectPage,
    user,
    title: str,
    description: str = "",
    owner=None,
    team: str = "",
    status: ActionStatus | None = None,
    status_reason: str = "",
    progress=None,
    start_date: date | None = None,
    due_date: date | None = None,
    parent: Action | None = None,
    proposal: Proposal | None = None,
    themes=(),
    public_summary: str = "",
    visibility: str = ActionVisibility.TEAM,
    created_by=None,
    from_proposal: bool = False,
) -> Action:
    """Add an action to a project. Progress starts at the status's default progress unless
    given. ValidationErrors name the field they are about."""
    _check_create(user=user, project=project)
    errors: dict = {}
    status = status or default_status()
    given = _as_progress(progress, errors)
    action = Action(
        project=project,
        title=(title or "").strip(),
        description=description,
        owner=owner,
        team=team,
        status=status,
        status_reason=status_reason,
        progress=given if given is not None else (status.default_progress or 0),
        start_date=start_date,
        due_date=due_date,
        parent=parent,
        proposal=proposal,
        public_summary=public_summary,
        visibility=visibility,
        created_by=created_by or user,
        created_from_proposal=from_proposal,
        status_changed_at=timezone.now(),
        closed_on=timezone.localdate() if status.is_closed else None,
    )
    themes = list(themes)
    _validate(action, themes=themes, changed={"owner"}, errors=errors)
    if errors:
        raise ValidationError(errors)
    action.theme_refs = [selectors.theme_ref(t) for t in themes]
    action.save()
    action.themes.set(themes)
    data = {"status": status.key, "progress": action.progress}
    if proposal is not None:
        data["proposal_id"] = proposal.pk
    return _save(action, user=user, log_action="wagtail.create", data=data)


def _apply(
    *,
    action: Action,
    user,
    expected_version: int | None,
    changes: dict,
) -> tuple[Action, ActionStatus, int, list[str]]:
    """Take the edit (refusing a stale one), apply and validate the changes. Returns the
    action (not yet saved), the old status and progress, and the names of changed fields."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"These cannot be changed here: {', '.join(sorted(unknown))}")
    if expected_version is not None:
        taken = Action.objects.filter(pk=action.pk, version=expected_version).update(
            version=F("version") + 1
        )
        if not taken:
            raise StaleEdit(_stale_message(action.pk))
    else:
        Action.objects.filter(pk=action.pk).update(version=F("version") + 1)
    current = (
        Action.objects.select_for_update(of=("self",))
        .select_related("status", "owner", "project", "parent", "proposal")
        .get(pk=action.pk)
    )
    old_status, old_progress = current.status, current.progress
    errors: dict = {}
    changes = dict(changes)
    if "progress" in changes:
        changes["progress"] = _as_progress(changes["progress"], errors)
        if changes["progress"] is None:
            changes.pop("progress")
    themes = changes.pop("themes", None)
    changed = []
    for name, value in changes.items():
        if name == "status" and value is None:
            continue
        if getattr(current, name) != value:
            setattr(current, name, value)
            changed.append(name)
    if themes is not None:
        themes = list(themes)
        old_keys = {ref["key"] for ref in selectors._refs(current)}
        if {str(t.stable_key) for t in themes} != old_keys:
            changed.append("themes")
    progress_given = "progress" in changed
    _status_change(
        current, old_status=old_status, old_progress=old_progress, progress_given=progress_given
    )
    if current.progress != old_progress and "progress" not in changed:
        changed.append("progress")
    _validate(current, themes=themes, changed=set(changed), errors=errors)
    if errors:
        raise ValidationError(errors)
    if themes is not None and "themes" in changed:
        _set_themes(current, themes)
    return current, old_status, old_progress, changed


@transaction.atomic
def action_edit(*, action: Action, user, expected_version: int | None, **changes) -> Action:
    """Change an action's fields. `expected_version` is the version the person's page was
    showing: if someone else has saved since, the save is refused (StaleEdit) and nothing
    changes. A status change is also recorded as an update (and reporters are told)."""
    _check_edit(user=user, project=action.project)
    current, old_status, old_progress, changed = _apply(
        action=action, user=user, expected_version=expected_version, changes=changes
    )
    data = {"changed": sorted(changed)}
    if "status" in changed:
        data["status"] = {"from": old_status.key, "to": current.status.key}
    if "progress" in changed:
        data["progress"] = {"from": old_progress, "to": current.progress}
    _save(current, user=user, log_action="wagtail.edit", data=data)
    if current.status_id != old_status.pk:
        update = ActionUpdate.objects.create(
            action=current,
            author=user,
            text="",
            status_from=old_status,
            status_to=current.status,
            progress=current.progress,
        )
        _announce_status(update)
    return current


def action_post_update(
    *,
    action: Action,
    user,
    text: str = "",
    status: ActionStatus | None = None,
    status_reason: str | None = None,
    progress=None,
    evidence: File | None = None,
    on: date | None = None,
    expected_version: int | None = None,
) -> ActionUpdate:
    """Post news about an action: what happened, optionally a new status and progress, and
    evidence (PDF, JPEG or PNG, kept in private storage). All or nothing: if anything is
    wrong, no update, change or file is left behind."""
    _check_edit(user=user, project=action.project)
    stored: list[str] = []
    try:
        with transaction.atomic():
            update = _post_update(
                action=action,
                user=user,
                text=text,
                status=status,
                status_reason=status_reason,
                progress=progress,
                evidence=evidence,
                on=on,
                expected_version=expected_version,
                stored=stored,
            )
    except BaseException:
        for name in stored:
            private_storage().delete(name)
        raise
    return update


def _post_update(
    *, action, user, text, status, status_reason, progress, evidence, on, expected_version, stored
) -> ActionUpdate:
    errors: dict = {}
    today = timezone.localdate()
    on = on or today
    if on > today:
        errors["date"] = "The date of an update cannot be in the future."
    changes = {}
    if status is not None:
        changes["status"] = status
    if status_reason is not None:
        changes["status_reason"] = status_reason
    if progress not in (None, ""):
        checked = _as_progress(progress, errors)
        if checked is not None:
            changes["progress"] = checked
    if errors:
        raise ValidationError(errors)
    current, old_status, old_progress, changed = _apply(
        action=action, user=user, expected_version=expected_version, changes=changes
    )
    if not (text or "").strip() and not evidence and not {"status", "progress"} & set(changed):
        raise ValidationError({"text": NOTHING_SAID_MESSAGE})
    update = ActionUpdate(
        action=current,
        date=on,
        author=user,
        text=(text or "").strip(),
        status_from=old_status if current.status_id != old_status.pk else None,
        status_to=current.status if current.status_id != old_status.pk else None,
        progress=current.progress if "progress" in changed else None,
    )
    if evidence is not None:
        stored.append(_store_evidence(update, evidence))
    update.save()
    data = {"update_id": update.pk, "changed": sorted(changed), "evidence": bool(evidence)}
    if update.changes_status:
        data["status"] = {"from": old_status.key, "to": current.status.key}
    _save(current, user=user, log_action="storyloom.actions.update", data=data)
    if update.changes_status:
        _announce_status(update)
    return update


def _announce_status(update: ActionUpdate) -> None:
    from actions import tasks

    transaction.on_commit(
        lambda: tasks.notify_reporters_task.enqueue(update_id=update.pk), robust=True
    )


# --- From workshops ---------------------------------------------------------------------------


def action_create_from_proposal(*, proposal_id: int, user=None) -> Action | None:
    """The action for a proposal accepted at a workshop: one per proposal however often it
    is announced. It starts "agreed", with the proposal's themes, and no owner yet (so it is
    flagged for a manager to take on)."""
    proposal = Proposal.objects.select_related("workshop").filter(pk=proposal_id).first()
    if proposal is None or proposal.decision != Decision.ACCEPTED:
        return None
    existing = Action.objects.filter(proposal=proposal, created_from_proposal=True).first()
    if existing is not None:
        return existing
    project = ProjectPage.objects.ancestor_of(proposal.workshop).first()
    if project is None:
        return None
    description = proposal.description
    if proposal.reasons:
        description = f"{description}\n\nWhy it was accepted: {proposal.reasons}".strip()
    try:
        with transaction.atomic():
            action = action_create(
                project=project,
                user=None,
                created_by=user,
                title=proposal.title[:255],
                description=description,
                status=status_by_key("agreed") or default_status(),
                proposal=proposal,
                themes=list(proposal.themes.all()),
                start_date=proposal.workshop.date,
                from_proposal=True,
            )
    except IntegrityError:
        # Announced twice at once: the other one made it.
        return Action.objects.filter(proposal=proposal, created_from_proposal=True).first()
    log(
        instance=action,
        action="storyloom.actions.from_proposal",
        user=user,
        data={"proposal_id": proposal.pk, "workshop_id": proposal.workshop_id},
    )
    return action


# --- Notifications ----------------------------------------------------------------------------


def _site_url(path: str) -> str:
    return f"{settings.WAGTAILADMIN_BASE_URL.rstrip('/')}{path}"


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _recipients_for(action: Action) -> tuple[list, bool]:
    """The owner; or, when the owner has left (or there is none), the project's managers
    (the data stewards if it has none). The flag says the action needs a new owner."""
    owner = action.owner
    if owner is not None and owner.is_active and owner.email:
        return [owner], False
    people = selectors.owner_candidates(
        projects=ProjectPage.objects.filter(pk=action.project_id)
    ).exclude(email="")
    managers = [p for p in people if not user_is_steward(p)]
    return managers or list(people), action.needs_new_owner


def _reminder_text(action: Action, user, *, today: date, orphaned: bool) -> tuple[str, str]:
    days = (today - action.due_date).days
    late = "1 day" if days == 1 else f"{days} days"
    link = _site_url(reverse("actions_admin:detail", args=[action.pk]))
    lines = [
        f"Hello {_name(user)},",
        "",
        f"This action in {action.project.title} is {late} past its due date:",
        "",
        f"  {action.title}",
        f"  Due: {action.due_date:%d %B %Y}",
        f"  Status: {action.status.label}, {action.progress}% done",
        "",
    ]
    if orphaned:
        lines += [
            "It has no owner at the moment (the owner's account was closed, or nobody was",
            "given it). Please give it to someone.",
            "",
        ]
    lines += [
        "Please post an update, move the due date, or close it:",
        link,
        "",
        "Storyloom",
    ]
    return f"Overdue action: {action.title}"[:200], "\n".join(lines)


def overdue_reminders_send(*, today: date | None = None) -> dict:
    """E-mail the owner of each overdue action (or the project's managers, when the owner
    has left). Never sends the same reminder twice on one day, however often it runs."""
    today = today or timezone.localdate()
    sent, skipped = 0, 0
    for action in selectors.overdue_actions(today=today):
        recipients, orphaned = _recipients_for(action)
        for user in recipients:
            try:
                with transaction.atomic():
                    reminder = ReminderSent.objects.create(action=action, user=user, sent_on=today)
            except IntegrityError:
                skipped += 1
                continue
            subject, body = _reminder_text(action, user, today=today, orphaned=orphaned)
            try:
                send_mail(subject, body, None, [user.email])
            except Exception:  # noqa: BLE001 — one bad address must not stop the others
                logger.exception("Could not send the overdue reminder for action %s", action.pk)
                reminder.delete()
                continue
            log(
                instance=action,
                action="storyloom.actions.reminder",
                data={"user_id": user.pk, "days_overdue": (today - action.due_date).days},
            )
            sent += 1
    return {"date": today.isoformat(), "sent": sent, "already_sent": skipped}


def overdue_reminders_daily(today: date) -> str:
    """The daily job "action-reminders" (cms.daily)."""
    result = overdue_reminders_send(today=today)
    return f"{result['sent']} overdue reminders sent"


def _status_text(update: ActionUpdate, user) -> tuple[str, str]:
    action = update.action
    project = action.project
    lines = [
        f"Hello {_name(user)},",
        "",
        "Something has changed for an action that came from stories you recorded.",
        "",
        f"  What: {action.public_summary or action.title}",
        f"  Now: {update.status_to.public_label} ({update.status_to.label})",
    ]
    if update.status_from is not None:
        lines.append(f"  Before: {update.status_from.label}")
    lines += [
        "",
        "You can see what happened because of each of your stories, and take the news back",
        "to the storytellers, on your stories' pages:",
        _site_url(reverse("stories:my_stories", args=[project.slug])),
    ]
    if action.visibility == ActionVisibility.PUBLIC:
        lines += [
            "",
            "The public “You said, we did” page, which you can print for storytellers:",
            _site_url(reverse("actions:you_said_we_did", args=[project.slug])),
        ]
    lines += ["", "Storyloom"]
    return "News about an action from your stories", "\n".join(lines)


def status_change_notify(*, update_id: int) -> int:
    """Tell the reporters of the stories behind an action that its status changed. Each
    reporter is told once per change, however often this runs."""
    update = (
        ActionUpdate.objects.select_related(
            "action__project", "action__status", "status_from", "status_to"
        )
        .filter(pk=update_id)
        .first()
    )
    if update is None or not update.changes_status:
        return 0
    told = 0
    for reporter in selectors.reporters_of_action(update.action):
        try:
            with transaction.atomic():
                notice = StatusNotice.objects.create(update=update, user=reporter)
        except IntegrityError:
            continue
        subject, body = _status_text(update, reporter)
        try:
            send_mail(subject, body, None, [reporter.email])
        except Exception:  # noqa: BLE001
            logger.exception("Could not tell reporter %s about update %s", reporter.pk, update.pk)
            notice.delete()
            continue
        told += 1
    if told:
        log(
            instance=update.action,
            action="storyloom.actions.reporters_told",
            data={"update_id": update.pk, "reporters": told},
        )
    return told
