"""The dependency half of `make security` (issue 8, SECURITY.md): pip-audit over the installed
environment (.venv: the project, its dev tools and everything they pulled in), failing on any
known vulnerability, and the newest Django 5.2 patch ("Stay on the latest Django 5.2 patch").

pip-audit looks each installed release up in PyPI's per-release JSON API
(https://pypi.org/pypi/<name>/<version>/json). A release it could not look up is never counted
as clean: it is listed, and with --strict (or PIP_AUDIT_STRICT=1) it fails the run. Without
--strict a run fails on found vulnerabilities and on a Django behind its newest patch, and says
loudly when nothing could be audited — on this workplace's network PyPI's project pages answer
but its per-release JSON answers 404, so pip-audit can audit nothing here (docs/security.md).

Exit status: 0 clean (or unaudited without --strict), 1 vulnerable, behind, or unaudited with
--strict."""

from __future__ import annotations

import argparse
import json
import os
import subprocess  # nosec B404  # runs pip-audit, a fixed argument list
import sys
import urllib.request
from importlib import metadata

from packaging.version import InvalidVersion, Version

PYPI_PROJECT = "https://pypi.org/pypi/{name}/json"


def run_pip_audit() -> dict:
    cmd = [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off", "-f", "json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    if out.returncode not in (0, 1) or not out.stdout.strip():
        sys.stderr.write(out.stderr)
        raise SystemExit(f"pip-audit did not run (exit {out.returncode})")
    return json.loads(out.stdout)


def newest_patch(name: str, installed: Version) -> Version | None:
    """The newest non-yanked final release of `name` in the installed major.minor series."""
    url = PYPI_PROJECT.format(name=name)
    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310  # nosec B310  # fixed https URL
        releases = json.load(resp)["releases"]
    best = None
    for text, files in releases.items():
        try:
            v = Version(text)
        except InvalidVersion:
            continue
        if v.is_prerelease or v.release[:2] != installed.release[:2]:
            continue
        if files and all(f.get("yanked") for f in files):
            continue
        best = v if best is None or v > best else best
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", default=os.environ.get("PIP_AUDIT_STRICT") == "1")
    args = parser.parse_args()
    failed = False

    deps = run_pip_audit()["dependencies"]
    vulnerable = [d for d in deps if d.get("vulns")]
    # The project itself (installed editable) is not on PyPI: it is the code bandit reads.
    skipped = [d for d in deps if "skip_reason" in d and "editable" not in d["skip_reason"]]
    audited = len([d for d in deps if "skip_reason" not in d])
    for d in vulnerable:
        for v in d["vulns"]:
            fixes = ", ".join(v.get("fix_versions") or []) or "no fixed release"
            print(
                f"VULNERABLE {d['name']} {d['version']}: {v['id']} {' '.join(v.get('aliases', []))} (fixed in {fixes})"
            )
    if vulnerable:
        failed = True
    if skipped:
        print(f"pip-audit: {len(skipped)} of {len(deps)} installed releases could not be audited:")
        for d in skipped:
            print(f"  {d['name']}: {d['skip_reason']}")
        if audited == 0:
            print(
                "pip-audit: NOTHING WAS AUDITED — PyPI's per-release JSON API is not reachable from this "
                "machine. Run `make security PIP_AUDIT_STRICT=1` where it is."
            )
        if args.strict:
            failed = True
    print(
        f"pip-audit: {audited} releases audited, {sum(len(d['vulns']) for d in vulnerable)} known vulnerabilities"
    )

    installed = Version(metadata.version("django"))
    try:
        newest = newest_patch("django", installed)
    except (OSError, ValueError, KeyError) as exc:  # unreachable, or not the JSON expected
        print(f"Django {installed}: could not ask PyPI for the newest patch ({exc})")
        failed = failed or args.strict
    else:
        if newest is not None and installed < newest:
            print(
                f"Django {installed} is installed but {newest} is the newest {installed.major}.{installed.minor} patch: `make install`"
            )
            failed = True
        else:
            print(f"Django {installed}: the newest {installed.major}.{installed.minor} patch")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
