"""The Celery app for report_bench.py's workers: eldercare's app, plus timers.

    celery -A report_worker worker …     (PYTHONPATH=bench; started by report_bench.py)

In every worker child (worker_process_init) the functions of assessments.compute that the
tasks call — start, materialise, _reported_facts, _fingerprint, compute_slice, finish, _rank —
are wrapped to append one JSON line per call (pid, function, wall-clock start and end) to
$BENCH_REPORTS_TIMING_LOG, so the bench can tell a run's phases as the workers ran them.
With $BENCH_REPORTS_VARIANT set, that variant of bench/variants_reports.py is installed first
(functions only: the bench process creates any index). Nothing in the portal is edited.
"""

from __future__ import annotations

import json
import os
import time

from celery.signals import worker_process_init

from eldercare.celery import app  # noqa: F401  (celery -A finds it here)

NAMES = ("start", "materialise", "_reported_facts", "_fingerprint", "compute_slice", "finish", "_rank")


@worker_process_init.connect
def _install(**_kwargs):
    from assessments import compute

    variant = os.environ.get("BENCH_REPORTS_VARIANT")
    if variant:
        import variants_reports

        factories, _index = variants_reports.VARIANTS[variant]
        for name, factory in factories.items():
            setattr(compute, name, factory(getattr(compute, name)))
    path = os.environ.get("BENCH_REPORTS_TIMING_LOG")
    if not path:
        return

    def wrap(name, fn):
        def wrapper(*args, **kwargs):
            t0, c0 = time.time(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                cpu = time.process_time() - c0
                run = getattr(args[0], "pk", None) if args else None
                extra = args[1] if name == "compute_slice" and len(args) > 1 else None
                line = json.dumps(
                    {
                        "pid": os.getpid(),
                        "fn": name,
                        "run": run,
                        "arg": extra,
                        "t0": t0,
                        "t1": time.time(),
                        "cpu": cpu,
                    }
                )
                with open(path, "a") as fh:
                    fh.write(line + "\n")

        return wrapper

    for name in NAMES:
        setattr(compute, name, wrap(name, getattr(compute, name)))
