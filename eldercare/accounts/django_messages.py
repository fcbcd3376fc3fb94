"""Django 5.2 messages its own zh_Hans catalogue does not translate yet. Listed here so
makemessages extracts them into the portal's catalogue; never called."""

from django.utils.translation import ngettext


def _extract_only():  # pragma: no cover
    ngettext(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        0,
    )
