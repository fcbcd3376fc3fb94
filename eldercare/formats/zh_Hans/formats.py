"""Input formats for Simplified Chinese: ISO first. An <input type="date"> only accepts
yyyy-mm-dd, and a form renders a date with the first input format — Django's zh_Hans default
(%Y/%m/%d) left the browser's date fields empty, so saving an edit silently blanked the date."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403
from django.conf.locale.zh_Hans.formats import DATE_INPUT_FORMATS as _DATE
from django.conf.locale.zh_Hans.formats import DATETIME_INPUT_FORMATS as _DT

DATE_INPUT_FORMATS = ["%Y-%m-%d", *[f for f in _DATE if f != "%Y-%m-%d"]]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    *[f for f in _DT if not f.startswith("%Y-%m-%d")],
]
