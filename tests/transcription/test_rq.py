"""Scale-out: with REDIS_URL set, a story's transcription goes through Redis and a real
`rqworker` (django-tasks-rq), with the real engine, and ends done with its segments."""

import pytest

from tests.test_task_backends import REDIS_URL, redis_db  # noqa: F401  (fixture)


@pytest.mark.slow
def test_a_story_is_transcribed_by_a_real_rqworker(processes, redis_db):  # noqa: F811
    run = processes(REDIS_URL=REDIS_URL)
    made = run.script("setup", "jfk.flac")  # submitting the story queues its job in Redis

    assert redis_db.llen("rq:queue:transcription") == 1
    queued = run.script("state", made["story"])
    assert queued["jobs"][0]["status"] == "queued" and queued["transcripts"] == 0

    run.manage("rqworker", "transcription", "--burst", "--job-class", "django_tasks_rq.Job")

    done = run.script("state", made["story"])
    assert done["jobs"] == [{"status": "done", "attempts": 1, "progress": 100, "error": ""}]
    assert done["transcripts"] == 1 and done["indexes"] == list(range(len(done["indexes"])))
    assert "not what your country can do for you" in done["text"].lower()  # "ask"/"asked"
    assert done["model_ids"][0].startswith("faster-whisper/tiny.en/int8")
    assert redis_db.llen("rq:queue:transcription") == 0
