"""PLACEHOLDER — the contract pages are being written (issue 5)."""

from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("todo", status=501)


contract_list = contract_new = contract_export = coverage = performance = _todo
contract_detail = contract_edit = contract_terminate = visit_add = contract_file = _todo
