"""PLACEHOLDER — being written (issue 4 documents)."""

from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("todo", status=501)


document_html = document_pdf = _todo
