"""PLACEHOLDER — being written (issue 4 pages)."""

from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("todo", status=501)


filing_list = filing_new = filing_stats = bulk_accept = filing_detail = filing_edit = _todo
filing_transition = attachment_upload = attachment_download = attachment_delete = _todo
