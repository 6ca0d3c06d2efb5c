"""Locust users for bench/load.py (run by it: `locust -f bench/load/locustfile.py --headless`).

The plan (a JSON file named by LOAD_PLAN, written by bench/load.py) says what to do:

- mode "pages": every user asks for one page, again and again with no pause (a closed loop
  like wrk's), as the logged-in user the page is for;
- mode "uploads": `uploaders` users each send one large story through the capture form,
  while `browsers` users go round the pages and `rangers` users play a recording and a clip
  with HTTP Range requests; the run ends once every upload has been answered.

Logins are sessions the bench made in the database, sent as cookies: the login page itself
(and its lock-out) is not what is measured. Status codes are counted per request name and
written, with Locust's figures, to the plan's `result` file when Locust stops.
"""

import itertools
import json
import os
import random
from collections import Counter, defaultdict

import gevent
from locust import FastHttpUser, HttpUser, constant, events, task
from locust.exception import StopUser

PLAN = json.loads(open(os.environ["LOAD_PLAN"]).read())  # noqa: SIM115 — read once at import
STATUSES: dict[str, Counter] = defaultdict(Counter)
ERRORS: dict[str, Counter] = defaultdict(Counter)
UPLOADS = {"answered": 0, "ok": 0}
_numbers = itertools.count()


def _headers(session: str | None, extra: dict | None = None) -> dict:
    cookies = [f"csrftoken={PLAN['csrf']}"]
    if session:
        cookies.append(f"sessionid={session}")
    return {"Cookie": "; ".join(cookies), **(extra or {})}


def _get(client, name: str, variant: dict, *, headers=None, ok=(200,)):
    with client.get(
        variant["url"],
        headers=_headers(variant.get("session"), headers),
        name=name,
        allow_redirects=False,
        catch_response=True,
    ) as response:
        STATUSES[name][str(response.status_code)] += 1
        if response.status_code not in ok:
            text = (response.text or "")[:200] if response.status_code else str(response.error)
            ERRORS[name][f"{response.status_code}: {text}"[:200]] += 1
            response.failure(f"status {response.status_code}")


if PLAN["mode"] == "pages":

    class PageUser(FastHttpUser):
        """One page, as fast as the server answers (wait_time 0, like wrk)."""

        wait_time = constant(PLAN.get("wait", 0))
        network_timeout = 120.0
        connection_timeout = 30.0

        def on_start(self):
            page = PLAN["pages"][PLAN["page"]]
            number = next(_numbers)
            self.name = PLAN["page"]
            self.variant = page["variants"][number % len(page["variants"])]

        @task
        def page(self):
            _get(self.client, self.name, self.variant)

else:
    PAGES = [(name, page["variants"]) for name, page in PLAN["pages"].items()]

    class UploadUser(HttpUser):
        """One story of `upload_bytes` through the capture form, streamed from disk."""

        fixed_count = PLAN["uploaders"]
        wait_time = constant(0)

        def on_start(self):
            self.number = next(_numbers)

        @task
        def upload(self):
            upload = PLAN["upload"]
            target = upload["targets"][self.number % len(upload["targets"])]
            headers = _headers(
                target["session"],
                {
                    "Content-Type": f"multipart/form-data; boundary={upload['boundary']}",
                    "X-CSRFToken": PLAN["csrf"],
                    "Referer": f"{self.host}{target['url']}",
                },
            )
            with (
                open(upload["body"], "rb") as body,
                self.client.post(
                    target["url"],
                    data=body,
                    headers=headers,
                    name="upload",
                    allow_redirects=False,
                    catch_response=True,
                    timeout=600,
                ) as response,
            ):
                status = response.status_code
                STATUSES["upload"][str(status)] += 1
                UPLOADS["answered"] += 1
                if status == 302 and "/status/" in response.headers.get("Location", ""):
                    UPLOADS["ok"] += 1
                else:
                    text = (response.text or "")[:300] if status else str(response.error)
                    ERRORS["upload"][f"{status}: {text}"[:300]] += 1
                    response.failure(f"status {status}")
            if UPLOADS["answered"] >= PLAN["uploaders"]:
                # From a greenlet of its own: quit() stops every user, this one included.
                gevent.spawn_later(1, self.environment.runner.quit)
            raise StopUser()

    class BrowseUser(FastHttpUser):
        """Goes round the pages of the page scenario, one after another."""

        fixed_count = PLAN["browsers"]
        wait_time = constant(PLAN.get("wait", 0))
        network_timeout = 600.0

        def on_start(self):
            self.number = next(_numbers)
            self.turn = self.number

        @task
        def browse(self):
            name, variants = PAGES[self.turn % len(PAGES)]
            self.turn += 1
            _get(self.client, name, variants[self.number % len(variants)])

    class RangeUser(FastHttpUser):
        """Plays a recording or a clip: a random part of it, with a Range header."""

        fixed_count = PLAN["rangers"]
        wait_time = constant(PLAN.get("wait", 0))
        network_timeout = 600.0

        @task
        def play(self):
            target = random.choice(PLAN["range"])
            size = target["size"]
            length = min(size, random.randint(64 * 1024, 1024 * 1024))
            first = random.randint(0, max(0, size - length))
            _get(
                self.client,
                target["name"],
                target,
                headers={"Range": f"bytes={first}-{first + length - 1}"},
                ok=(206,),
            )


@events.quitting.add_listener
def _write_results(environment, **_kwargs):
    stats = environment.stats
    out = {"entries": {}, "statuses": STATUSES, "errors": ERRORS, "uploads": UPLOADS}
    for entry in [*stats.entries.values(), stats.total]:
        out["entries"][entry.name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": round(entry.total_rps, 1),
            "p50_ms": entry.get_response_time_percentile(0.50),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "avg_ms": round(entry.avg_response_time, 1),
            "max_ms": round(entry.max_response_time or 0, 1),
        }
    with open(PLAN["result"], "w") as handle:
        json.dump(out, handle)
