"""The task backend for Redis (RQ): our jobs go to Redis, Wagtail's own upkeep stays here.

Wagtail (and django-modelsearch, its search) queue a small task on every save of a page or
snippet, to bring the reference index (the "Usage" of an object, and whether it may be
deleted) and the search index up to date. They queue it from inside the save, not once the
transaction has committed, and do not catch errors: with Redis down, every save in the admin
failed, and a worker could look for a new object before it was committed and give up on it.

Run in-process, as they are in a Wagtail site with no task queue, these tasks cost a few
queries per save and need no Redis. Storyloom's own jobs (transcription, themes, clips...)
are queued after the commit (`transaction.on_commit(..., robust=True)`) and swept up again
if Redis was down, so they still go to Redis.
"""

from django_tasks.backends.immediate import ImmediateBackend
from django_tasks_rq.backend import RQBackend as BaseRQBackend

# Tasks from these modules run in the process that queues them.
IN_PROCESS_MODULES = ("wagtail.", "modelsearch.")


class RQBackend(BaseRQBackend):
    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        # Runs the task at once; a task that fails is logged and marked failed, never
        # raised into the save that queued it.
        self.in_process = ImmediateBackend(alias, params)

    def enqueue(self, task, args, kwargs):
        if task.module_path.startswith(IN_PROCESS_MODULES):
            return self.in_process.enqueue(task, args, kwargs)
        return super().enqueue(task, args, kwargs)
