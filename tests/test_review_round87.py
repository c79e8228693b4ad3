"""A review of round 87's own non-guided changes (audit 87 review v01, v02, v05): the output schema's `$ref` check
walked every dict of a schema, a `properties` map of field names included, so a field named `id` (draft 4-7) or
`$id` was taken for a scope and a valid schema crashed with AttributeError, a traceback through `rlmx ask
--output-schema`; an origin by its fully qualified name ('https://app.example.com.') became refused at start-up."""

from __future__ import annotations

from typing import Any

import pytest

from rlmx.errors import InputError
from rlmx.http_access import allowed_origin
from rlmx.schema import OutputSchema

DRAFT_04 = "http://json-schema.org/draft-04/schema#"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


@pytest.mark.parametrize(
    "schema",
    [
        {"$schema": DRAFT_04, "type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        {"type": "object", "properties": {"$id": {"type": "string"}, "$ref": {"type": "string"}}},
        {"type": "object", "patternProperties": {"^id$": {"type": "string"}}, "x-meta": {"$ref": "#/nowhere"}},
        {
            "$schema": DRAFT_07,
            "definitions": {"Row": {"type": "object", "properties": {"id": {"type": "integer"}}}},
            "type": "array",
            "items": [{"$ref": "#/definitions/Row"}],
        },
    ],
)
def test_a_valid_schema_with_fields_named_like_keywords_is_accepted_and_checks(schema: dict[str, Any]) -> None:
    checked = OutputSchema(schema)
    assert checked.json_schema is schema


def test_a_dangling_ref_in_a_draft_07_tuple_item_is_still_refused() -> None:
    with pytest.raises(InputError, match="resolves to nothing"):
        OutputSchema({"$schema": DRAFT_07, "type": "array", "items": [{"$ref": "#/definitions/Gone"}]})


@pytest.mark.parametrize("origin", ["https://app.example.com.", "http://localhost.:5173"])
def test_an_origin_by_its_fully_qualified_name_is_accepted(origin: str) -> None:
    assert allowed_origin(origin).endswith((".", ".:5173"))
