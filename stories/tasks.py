"""Thin task wrappers: they take ids, and the services do the work."""

from django.tasks import task

from stories import erasure


@task()
def erasure_run_task(request_id: int) -> dict:
    """Run one erasure. Safe to run twice: the ledger records what is done."""
    request = erasure.erasure_run(request_id=request_id)
    erasure.erasure_requeue_expired()
    if request is None:
        return {"erasure": request_id, "status": "gone"}
    return {"erasure": request.pk, "status": request.status, "steps": sorted(request.ledger)}
