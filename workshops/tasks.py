"""Thin task wrappers: they take ids, and the code they call does the work (in workers)."""

from django.tasks import task


@task()
def demo_pack_task(workshop_id: int, attempt: int = 1) -> dict:
    """Draft the demo workshop's pack once the demo project has themes (see demo.py)."""
    from workshops.demo import demo_pack

    return demo_pack(workshop_id=workshop_id, attempt=attempt)
