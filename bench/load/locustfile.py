"""Locust user for the load benchmark (issue 8); bench/load/drive.py runs it phase by phase.

Every simulated user holds a signed-in portal session: drive.py signs in through the login form
(GET /accounts/login/, POST username + password + csrfmiddlewaretoken) before any phase, so the
PBKDF2 of each sign-in is not inside a measurement. The sessions come in through the environment
(LOAD_SESSIONS, a JSON file). No think time: each user sends its next request as soon as the
previous one is answered, so the number of users is the number of open connections.

Standalone, for a quick look (same endpoints, weighted mix, stats from locust itself):

    LOAD_SESSIONS=/tmp/eldercare_load/sessions.json LOAD_ENDPOINT=mixed \\
      .venv/bin/locust -f bench/load/locustfile.py --headless -u 16 -r 16 -t 30s \\
      --host http://127.0.0.1:8765
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from endpoints import ENDPOINTS, FIXTURE, MIX
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

_sessions: dict | None = None
_counter = itertools.count()


def sessions() -> dict:
    global _sessions
    if _sessions is None:
        _sessions = json.loads(Path(os.environ["LOAD_SESSIONS"]).read_text())
    return _sessions


def _cookie_header(s: dict) -> str:
    return f"sessionid={s['sessionid']}; csrftoken={s['csrftoken']}"


class PortalUser(FastHttpUser):
    wait_time = constant(0)
    # Set by drive.py before each phase (or from the environment when run standalone).
    endpoint = os.environ.get("LOAD_ENDPOINT", "mixed")
    # geventhttpclient: one connection per user, kept alive; generous timeouts, so a slow answer
    # is measured as slow rather than counted as an error.
    concurrency = 1
    connection_timeout = 60.0
    network_timeout = 120.0

    def on_start(self):
        n = next(_counter)
        pool = sessions()
        self.reader = pool["reader"][n % len(pool["reader"])]
        self.importer = pool["importer"][n % len(pool["importer"])]
        self.xlsx = FIXTURE.read_bytes()
        # The cookie jar is not used: each request carries its session explicitly.
        self.client.client.cookiejar = None

    @task
    def request_one(self):
        name = self.endpoint
        if name == "mixed":
            name = random.choices(list(MIX), weights=list(MIX.values()))[0]
        self.hit(name)

    def hit(self, name: str) -> None:
        method, path = ENDPOINTS[name]
        if method == "GET":
            headers = {"Cookie": _cookie_header(self.reader)}
            if name.startswith("api"):
                headers["Accept"] = "application/json"
            with self.client.get(
                path, name=name, headers=headers, allow_redirects=False, catch_response=True
            ) as resp:
                if resp.status_code != 200:
                    resp.failure(f"HTTP {resp.status_code}")
                elif name == "api_institutions" and '"results"' not in (resp.text or ""):
                    resp.failure("no results in the API answer")
            return
        self.import_dry_run(name, path)

    def import_dry_run(self, name: str, path: str) -> None:
        boundary = f"----load{random.getrandbits(64):016x}"
        parts = []
        for key, value in (("kind", "institutions"), ("dry_run", "true"), ("as_of", "2026-11-30")):
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
            )
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{FIXTURE.name}"\r\n'
                "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
            ).encode()
            + self.xlsx
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        headers = {
            "Cookie": _cookie_header(self.importer),
            "X-CSRFToken": self.importer["csrftoken"],
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Accept": "application/json",
        }
        with self.client.post(
            path, data=b"".join(parts), name=name, headers=headers, allow_redirects=False, catch_response=True
        ) as resp:
            if resp.status_code != 201:
                resp.failure(f"HTTP {resp.status_code}: {(resp.text or '')[:120]}")
                return
            status = (resp.json() or {}).get("status")
            if status not in ("validated", "invalid"):
                resp.failure(f"import status {status!r}")
