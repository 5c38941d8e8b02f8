"""drf-spectacular hook: every operation documents the JSON error shape it can return."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {}},
            "description": "Bad input: a list of messages per field.",
        },
    },
    "required": ["detail"],
}
ERRORS = {
    "400": "Bad input (unknown filter value, malformed as_of, page size, body).",
    "401": "Authentication required (writes).",
    "403": "Not allowed for your role.",
    "404": "No such object or page.",
    "413": "Request body too large (writes).",
    "429": "Too many requests; see Retry-After.",
}
READ_ONLY_ERRORS = ("400", "404", "429")
# Reads whose answer depends on who asks (editors and reviewers also see drafts): they
# keep their optional token. Every other anonymous read is documented as public.
ROLE_DEPENDENT_READS = ("/api/v1/reports/",)


def add_error_responses(result: dict, generator, request, public) -> dict:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Error", ERROR_SCHEMA)
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = READ_ONLY_ERRORS if method in ("get", "head") else tuple(ERRORS)
            for code in codes:
                operation["responses"].setdefault(
                    code,
                    {"description": ERRORS[code], "content": {"application/json": {"schema": ref}}},
                )
            if method in ("get", "head"):
                operation["responses"].setdefault("304", {"description": "Not modified (ETag)."})
    _public_reads_are_public(result)
    return result


def _public_reads_are_public(result: dict) -> None:
    """drf-spectacular lists token and cookie auth on every operation, anonymous ones
    included, so Swagger UI draws a lock on public reads; `security: []` says "none"."""
    for path, path_item in result.get("paths", {}).items():
        if path.startswith(ROLE_DEPENDENT_READS):
            continue
        for method, operation in path_item.items():
            if method in ("get", "head") and {} in operation.get("security", []):
                operation["security"] = []
