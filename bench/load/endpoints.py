"""The load benchmark's endpoints, shared by locustfile.py and endpoint_profile.py (which must not
import locust: it monkey-patches the process for gevent)."""

from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sheets" / "institutions_messy.xlsx"

# name -> (method, path). The pages and the API list are read by the county user (health role,
# scope: the generated county 410101); the import validation is a dry run of a real fixture by
# the demo county's civil-affairs user (the fixture's rows are in its county 370306).
ENDPOINTS = {
    "ceiling": ("GET", "/_bench/ceiling/"),
    "home": ("GET", "/"),
    "institutions": ("GET", "/institutions/?family=eldercare&status=operating"),
    "dashboard": ("GET", "/reports/"),
    "api_institutions": ("GET", "/api/v1/institutions/?page_size=20"),
    "import_dry_run": ("POST", "/api/v1/imports/"),
}
# The mixed phase: a month-end morning, imports at low weight.
MIX = {"home": 2, "institutions": 4, "dashboard": 3, "api_institutions": 4, "import_dry_run": 1}
