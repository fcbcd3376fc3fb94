"""The OpenAPI description documents the refusals every operation can answer with, in the shared
error shape (errors.py), so a client — and schemathesis (tests/security/test_api_schema_fuzz.py)
— finds every status code it meets in `/api/schema/`:

- 403 on every operation that needs a signed-in user (PortalPermission: no session or token, a
  role without the view's permission; the session/token authenticators answer 403, not 401);
- 404 where the path names an object (missing and out of scope alike) and on paginated lists
  (a page past the end);
- 400 where the operation takes a body or query parameters; 415 where it takes a body (sent in
  a media type it does not parse).

A view's own `extend_schema(responses=…)` for a code wins; this only fills the gaps."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema

from .errors import ErrorSerializer


class PortalAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        params = operation.get("parameters", [])
        codes = []
        if "requestBody" in operation or any(p["in"] == "query" for p in params):
            codes.append("400")
        if "requestBody" in operation:
            codes.append("415")  # a body in a media type the view does not parse
        if not getattr(self.view, "public", False):
            codes.append("403")
        if any(p["in"] == "path" or (p["in"] == "query" and p["name"] == "page") for p in params):
            codes.append("404")
        responses = operation.setdefault("responses", {})
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code)
        return operation
