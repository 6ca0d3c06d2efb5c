"""manage.py transcribe [--story ID | --pending] [--model NAME|PATH] [--wait]"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from stories.models import StoryPage
from transcription import services
from transcription.models import JobStatus


class Command(BaseCommand):
    help = (
        "Turn stories' recordings into text (and split written stories into parts). Queues "
        "the work for the transcription workers, or with --wait does it here and now. "
        "--pending also puts back on the queue the jobs of workers that died: run it from "
        "cron (e.g. every 10 minutes) as a sweep."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--story", type=int, metavar="ID", help="The story's id.")
        which.add_argument(
            "--pending",
            action="store_true",
            help="Every story waiting for transcription that has no finished transcript.",
        )
        parser.add_argument(
            "--model",
            metavar="NAME|PATH",
            help="A model name (tiny.en, base, small) or the path to a CTranslate2 Whisper "
            "model. Default: the WHISPER_MODEL setting.",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Do the work in this process, showing progress, and stop when it is done.",
        )

    def handle(self, *args, story=None, pending=False, model=None, wait=False, **options):
        if story is not None:
            found = StoryPage.objects.filter(pk=story).first()
            if found is None:
                raise CommandError(f"There is no story with id {story}.")
            try:
                jobs = [services.job_enqueue(story=found, model=model)]
            except ValidationError as error:
                raise CommandError(f"Story {story}: {' '.join(error.messages)}") from None
        else:
            jobs = services.job_enqueue_pending(model=model)
            if not jobs:
                self.stdout.write("No stories are waiting for transcription.")
                return
        if not wait:
            for job in jobs:
                self.stdout.write(
                    f"Story {job.story_id}: {job.get_status_display().lower()} "
                    f"(job {job.pk}, model {job.model})."
                )
            return
        failed = 0
        for job in jobs:
            job = self._run(job)
            if job.status != JobStatus.DONE:
                failed += 1
        if failed:
            raise CommandError(
                f"{failed} of {len(jobs)} {'story' if len(jobs) == 1 else 'stories'} "
                "could not be transcribed (see above)."
            )

    def _run(self, job):
        if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            shown = {"percent": -10}

            def show(percent):
                if percent >= shown["percent"] + 10:
                    shown["percent"] = percent
                    self.stdout.write(f"Story {job.story_id}: {percent}%")

            job = services.job_run_until_finished(job_id=job.pk, on_progress=show)
        if job.status == JobStatus.DONE:
            segments = job.transcript.segments.count()
            self.stdout.write(
                f"Story {job.story_id}: done, {segments} "
                f"{'segment' if segments == 1 else 'segments'} (model {job.transcript.model_id})."
            )
        else:
            self.stderr.write(
                f"Story {job.story_id}: {job.get_status_display().lower()}. {job.error}"
            )
        return job
