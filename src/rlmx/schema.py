"""Typed answers: an output schema (a Pydantic model or a JSON Schema dict), described to the model and checked
at the finish. A failed check is feedback for the model, never an exception for the caller."""

from __future__ import annotations

import ast
import contextlib
import json
import re
import sys
from typing import TYPE_CHECKING, Any, TypeGuard

from rlmx.errors import InputError
from rlmx.sandbox.frames import valid_strings

if TYPE_CHECKING:
    from pydantic import BaseModel

# jsonschema and pydantic cost ~0.3 s of imports together: loaded only when a run asks for typed output, so
# `import rlmx` and untyped runs never pay for them.


class SchemaMismatch(Exception):
    """A value did not match the schema; the message lists every problem, for the model to fix."""


class OutputSchema:
    """Wraps `RLM.completion(..., output=...)`: `Model` (a pydantic.BaseModel subclass) or a JSON Schema dict."""

    def __init__(self, spec: type[BaseModel] | dict[str, Any]) -> None:
        import jsonschema

        if _is_model_class(spec):
            self.model: type[BaseModel] | None = spec
            self.json_schema: dict[str, Any] = _model_schema(spec)
        elif isinstance(spec, dict):
            validator = jsonschema.validators.validator_for(spec)
            _refuse_non_schema(spec, validator)
            try:
                validator.check_schema(spec)
            except jsonschema.SchemaError as exc:
                raise InputError(f"output is not a valid JSON Schema: {exc.message}") from None
            self.model = None
            self.json_schema = spec
        else:
            raise InputError(
                f"output must be a pydantic.BaseModel subclass or a JSON Schema dict, not {type(spec).__name__}"
            )
        registry = _local_registry()
        _refuse_unresolved_refs(self.json_schema, registry)
        self._validator = jsonschema.validators.validator_for(self.json_schema)(self.json_schema, registry=registry)

    @property
    def fields(self) -> dict[str, Any]:
        properties = self.json_schema.get("properties")
        return properties if isinstance(properties, dict) else {}

    def describe(self) -> str:
        """The schema in words for the system prompt: each field with its type and description."""
        if not self.fields:
            return f"The answer must be a JSON value matching this JSON Schema:\n{json.dumps(self.json_schema)}"
        required = set(self.json_schema.get("required", []))
        lines = []
        for name, spec in self.fields.items():
            kind = spec.get("type") or spec.get("anyOf") or spec.get("$ref") or "any"
            note = f" - {spec['description']}" if spec.get("description") else ""
            lines.append(
                f"- {name} ({json.dumps(kind) if not isinstance(kind, str) else kind}"
                f"{', required' if name in required else ''}){note}"
            )
        return (
            "The answer has these fields:\n"
            + "\n".join(lines)
            + (f"\nFull JSON Schema: {json.dumps(self.json_schema)}")
        )

    def validate(self, value: Any) -> Any:
        """The validated answer (a model instance, or the JSON value), or SchemaMismatch with every problem. A text
        with no JSON in it that the schema refuses is told as that, not quoted whole as the wrong type."""
        kind = self.json_schema.get("type")
        parsed = value
        if isinstance(value, str):
            parsed = parse_json_reply(value, default=value, want=_WANTED.get(kind) if isinstance(kind, str) else None)
        where = _non_finite(parsed)
        if where is not None:  # Python's json reads and writes NaN; JSON has no such number (RFC 8259 section 6)
            raise SchemaMismatch(
                f"{where or '(root)'}: NaN or Infinity is no JSON number; give null where the schema allows it, or a "
                "number, or say it in a string field"
            )
        try:
            return self._checked(parsed)
        except SchemaMismatch:
            if not isinstance(value, str):
                raise
            if parsed is value:  # no JSON value was read from the text
                raise SchemaMismatch(_no_json_found(value, kind)) from None
            with contextlib.suppress(SchemaMismatch):  # a text answer that holds JSON ("users [1, 2] failed")
                return self._checked(value)
            raise

    def _checked(self, value: Any) -> Any:
        if self.model is not None:
            from pydantic import ValidationError

            try:
                return self.model.model_validate(value)
            except ValidationError as exc:
                problems = [
                    f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}{_got(e)}" for e in exc.errors()
                ]
                raise SchemaMismatch("; ".join(problems)) from None
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            problems = [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors]
            raise SchemaMismatch("; ".join(problems))
        return value

    def dump(self, value: Any) -> str:
        """The validated answer as JSON text, for Result.answer."""
        if self.model is not None and isinstance(value, self.model):
            return value.model_dump_json(by_alias=True)  # the names the schema shown to the model uses: round-trips
        return json.dumps(value, ensure_ascii=False)


# Root keywords that annotate or organise a schema without checking anything; with the validator's own keywords,
# the words a JSON Schema's root may use. Any other root key means the dict is no schema (a field map, OpenAI's
# {"name": ..., "schema": ...} wrapper), and jsonschema ignores unknown keywords: it would accept any answer.
_ANNOTATION_KEYWORDS = frozenset(
    {
        "$schema", "$id", "$anchor", "$dynamicAnchor", "$vocabulary", "$comment", "$defs", "definitions",
        "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
        "contentMediaType", "contentEncoding", "contentSchema", "dependencies", "additionalItems", "nullable",
    }
)  # fmt: skip

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}


_REFERENCES = frozenset({"$ref", "$defs", "definitions", "$schema", "$id"})
"""Keywords a schema may hold at its root besides those that constrain a value (`VALIDATORS`)."""


def _refuse_non_schema(spec: dict[str, Any], validator: Any) -> None:
    """InputError for a dict that is not JSON or whose root keys are no JSON Schema keywords, showing the schema
    it was likely meant to be."""
    if spec.get("type") == "json_schema" and isinstance(spec.get("json_schema"), dict):
        raise InputError(
            'output is OpenAI\'s response_format, a wrapper of a JSON Schema: pass its "json_schema"."schema" value'
        )
    strange = [
        key
        for key in spec
        if not (key in validator.VALIDATORS or key in _ANNOTATION_KEYWORDS or str(key).startswith("x-"))
    ]
    if strange and isinstance(spec.get("schema"), dict):
        raise InputError('output is not a JSON Schema but a wrapper of one: pass its "schema" value itself')
    # A schema may carry keys JSON Schema ignores (Gemini's propertyOrdering, OpenAPI's example, draft-04's id): a
    # field map is a dict with no keyword that constrains a value, or one of whose other keys names a field's type
    # ({"culprit": "string"}, {"culprit": str}).
    constrains = any(key in validator.VALIDATORS or key in _REFERENCES for key in spec)
    if strange and (not constrains or any(_names_a_type(spec[key]) for key in strange)):
        raise InputError(
            f"output is not a JSON Schema: {', '.join(map(repr, strange))} "
            f"{'is not a JSON Schema keyword' if len(strange) == 1 else 'are not JSON Schema keywords'}. "
            f"For an object with fields, write {json.dumps(_schema_for_field_map(spec))}, or pass a pydantic model"
        )
    try:
        json.dumps(spec)
    except (TypeError, ValueError) as exc:
        raise InputError(f"output is not a JSON Schema: it holds a value JSON cannot write ({exc})") from None


_SUBSCHEMA = frozenset(
    {
        "additionalItems", "additionalProperties", "contains", "else", "if", "items", "not", "propertyNames",
        "then", "unevaluatedItems", "unevaluatedProperties", "contentSchema",
    }
)  # fmt: skip
_SUBSCHEMAS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems", "items"})
_SUBSCHEMA_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)
"""JSON Schema's keywords whose value is a schema, a list of schemas, or a map of names to schemas (draft 4 to
2020-12): the places a `$ref` jsonschema follows can be. Others (`x-...`, `enum`, `const`, `examples`, a property
named `$ref` or `id` inside `properties`) hold values or names, never a schema to check."""


def _local_registry() -> Any:
    """A `referencing.Registry` that fetches nothing: jsonschema's default retrieves a remote `$ref` over HTTP
    while the model's answer is checked, from the host, with no time limit the run's budget can end."""
    from referencing import Registry
    from referencing.exceptions import NoSuchResource

    def refuse(uri: str) -> Any:
        raise NoSuchResource(uri)

    return Registry(retrieve=refuse)  # type: ignore[call-arg]  # attrs field, documented; mypy misses it


def _refuse_unresolved_refs(schema: dict[str, Any], registry: Any) -> None:
    """Raise InputError for a `$ref` (or `$dynamicRef`) of `schema` that resolves to nothing within it (a name
    missing from `$defs`, a remote URL): found at the first answer's check otherwise, after the run was paid for,
    as jsonschema's own private error. Each is resolved against the `$id` scopes around it."""
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012, specification_with

    dialect = schema.get("$schema")
    specification = specification_with(dialect, default=DRAFT202012) if isinstance(dialect, str) else DRAFT202012
    root = specification.create_resource(schema)
    resolver = registry.with_resource(root.id() or "", root).resolver(base_uri=root.id() or "")

    def walk(node: Any, resolver: Any) -> None:
        if not isinstance(node, dict):
            return
        scope = specification.id_of(node) if node is not schema else None
        if isinstance(scope, str) and scope:  # "$id" (draft 4: "id") opens a scope
            resolver = resolver.in_subresource(specification.create_resource(node))
        for keyword in ("$ref", "$dynamicRef"):
            ref = node.get(keyword)
            if not isinstance(ref, str):
                continue
            try:
                resolver.lookup(ref)
            except Unresolvable:
                raise InputError(
                    f"output schema's {keyword} {ref!r} resolves to nothing in the schema: define it under $defs in "
                    "the schema itself (rlmx fetches no schema over the network)"
                ) from None
        for key, value in node.items():
            if key in _SUBSCHEMAS and isinstance(value, list):
                for item in value:
                    walk(item, resolver)
            elif key in _SUBSCHEMA:
                walk(value, resolver)
            elif key in _SUBSCHEMA_MAPS and isinstance(value, dict):  # names -> schemas: a name is no keyword
                for item in value.values():
                    walk(item, resolver)

    walk(schema, resolver)


def _names_a_type(value: Any) -> bool:
    """Whether a value is a field's type as a field map writes it: a JSON type's name or a Python type."""
    return isinstance(value, type) or (isinstance(value, str) and value in _JSON_TYPES.values())


def _schema_for_field_map(fields: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema {"culprit": "string"} or {"culprit": str} stands for: an object of those required fields."""

    def field_schema(kind: Any) -> Any:
        if isinstance(kind, dict):
            return kind
        if isinstance(kind, str) and kind in _JSON_TYPES.values():
            return {"type": kind}
        return {"type": _JSON_TYPES[kind]} if isinstance(kind, type) and kind in _JSON_TYPES else {}

    properties = {str(name): field_schema(kind) for name, kind in fields.items()}
    return {"type": "object", "properties": properties, "required": list(properties)}


def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of an `output=` model, or InputError saying why it has none and what to give instead:
    BaseModel itself, a model with no fields (any object would match it), one whose fields pydantic has no JSON
    Schema for (a field of an arbitrary class, allowed by `arbitrary_types_allowed`) or cannot build yet (a
    forward reference never defined)."""
    from pydantic import BaseModel, RootModel

    name = getattr(model, "__name__", repr(model))
    if model is BaseModel or model is RootModel:
        raise InputError(
            f"output is pydantic.{name} itself, which has no fields: pass a subclass that declares the answer's "
            "fields (class Answer(BaseModel): culprit: str), or a JSON Schema dict"
        )
    if not model.model_fields:
        raise InputError(
            f"output {name} has no fields, so any object would match it: declare the answer's fields on it "
            "(culprit: str), or pass a JSON Schema dict"
        )
    try:
        return model.model_json_schema()
    except Exception as exc:  # pydantic's PydanticInvalidForJsonSchema, PydanticUserError, ...
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"output {name} has no JSON Schema ({why}): give its fields types JSON can hold (str, int, float, "
            "bool, lists, dicts, nested models), or pass a JSON Schema dict"
        ) from None


def _is_model_class(spec: object) -> TypeGuard[type[BaseModel]]:
    """Whether `spec` is a pydantic.BaseModel subclass; without pydantic imported nothing can be one."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(spec, type) and issubclass(spec, pydantic.BaseModel)


_FENCED = re.compile(r"```[ \t]*([\w+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
"""A fenced block (its tag, its text), closed or cut off at the reply's end."""
_JSON_TAGS = frozenset({"", "json", "json5", "jsonc", "jsonl", "js", "javascript"})
_OPENER = re.compile(r"[{\[]")
_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
"""A JSON string with its escapes: what it holds is text, never a comma or bracket of the JSON around it."""
_TRAILING_COMMA = re.compile(_JSON_STRING + r"|,(?=\s*[}\]])", re.DOTALL)
"""A JSON string (kept as it is) or a comma before a closing } or ] (dropped): commas inside strings stay."""
_raw_decode = json.JSONDecoder().raw_decode


def _got(error: Any) -> str:
    """What pydantic was given, when short and plain: the model sees what it sent (an object's str(), say)."""
    given = error.get("input")
    if error.get("type") == "missing" or not isinstance(given, str | int | float | bool):
        return ""
    return f" (got {given[:60]!r}{'...' if len(given) > 60 else ''})" if isinstance(given, str) else f" (got {given!r})"


def _non_finite(value: Any, path: str = "") -> str | None:
    """The path (dotted) of the first NaN or infinite float in `value`, "" for `value` itself; None when none."""
    if isinstance(value, float):
        return None if value - value == 0 else path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(item, float | dict | list):
            found = _non_finite(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    return None


def _no_json_found(text: str, kind: Any) -> str:
    """The problem with a reply holding no JSON value the schema takes: what was looked for, and how it began; or,
    when several stand in its prose, that it is not told which is the answer."""
    what = {"object": "JSON object", "array": "JSON array"}.get(kind, "JSON value") if isinstance(kind, str) else ""
    what = what or "JSON value"
    wanted = _WANTED.get(kind) if isinstance(kind, str) else None
    several = [value for value in _values_in_prose(text) if wanted is None or isinstance(value, wanted)]
    if len(several) > 1:
        return (
            f"the reply holds {len(several)} {what}s and does not say which is the answer (an example beside it?). "
            "Answer with only the one JSON, e.g. in one ```json block"
        )
    head = " ".join(text.split())[:80]
    start = _OPENER.search(text)
    why = ""
    if start is not None:
        try:
            _raw_decode(text, start.start())
        except ValueError as exc:  # the first {...}: why it is no JSON, e.g. a missing comma or a quote
            why = f"; the JSON from character {start.start()} is broken: {exc}"
        except RecursionError:
            why = ""
    return (
        f"no {what} found in the reply{why}. It began: {head!r}. Answer with only the JSON, e.g. in one ```json block"
    )


def parse_json_reply(text: str, *, default: Any = None, want: type | None = None) -> Any:
    """The JSON value in an LM's reply, or `default` when it holds none or is ambiguous. Tried in turn: the whole
    text; the fenced blocks (```json in any case, ``` json5, untagged; other tags after those), the last that parses
    first (a corrected answer follows a wrong one); the span from the first `{` (`[`) to the last `}` (`]`); each of
    those as a Python literal ({'a': 1, 'ok': True}, as models often write one); then the complete {...} / [...]
    values standing in the prose (`_values_in_prose`), taken only when one of them is of the kind wanted (`want`:
    dict or list, from the schema's type), so neither an example before the answer nor a `[1]` in a sentence is
    read as it. A comma before } or ] (outside strings) is forgiven. Its strings, dict keys too, are valid Unicode:
    a lone surrogate (an escape like "\\ud83d", half an emoji) becomes U+FFFD (`frames.valid_strings`)."""
    blocks = [(m.group(1).lower(), m.group(2).strip()) for m in _FENCED.finditer(text)] if "```" in text else []
    sources = [body for tag, body in reversed(blocks) if tag in _JSON_TAGS]
    sources += [body for tag, body in reversed(blocks) if tag not in _JSON_TAGS]
    candidates = [text.strip(), *sources]
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = text.find(opener), text.rfind(closer)
        if 0 <= start < end:
            candidates.append(text[start : end + 1])
    for candidate in candidates:
        for attempt in (candidate, _without_trailing_commas(candidate)):
            try:
                return valid_strings(json.loads(attempt))
            except (ValueError, RecursionError):
                continue
    for candidate in candidates:
        if candidate[:1] in "{[":
            try:
                value = valid_strings(ast.literal_eval(candidate))
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            if isinstance(value, dict | list):
                return value
    for source in (*sources, text):
        found = [value for value in _values_in_prose(source) if want is None or isinstance(value, want)]
        if len(found) == 1:
            return valid_strings(found[0])
    return default


_WANTED: dict[str, type] = {"object": dict, "array": list}
"""The Python kind of a JSON value a schema's `type` asks for, where a reply's prose may hold several values."""


def _without_trailing_commas(text: str) -> str:
    """`text` less each comma that comes right before a } or ] outside a JSON string (`{"a": 1,}`)."""
    return _TRAILING_COMMA.sub(lambda m: m.group() if m.group()[0] == '"' else "", text) if "," in text else text


def _values_in_prose(text: str) -> list[Any]:
    """The complete JSON objects and arrays standing in `text` outside any bracket (trailing commas forgiven): a
    value nested in a bracket that never closes (a reply cut mid-JSON) is none. Each bracketed stretch is read at
    most twice and skipped whole when it is no JSON, so the cost is linear in the text; at most `_MAX_VALUES`."""
    values: list[Any] = []
    at = 0
    while len(values) < _MAX_VALUES:
        found = _OPENER.search(text, at)
        if found is None:
            break
        start = found.start()
        end = _stretch_end(text, start)
        stretch = text[start:end]
        for attempt in (stretch, _without_trailing_commas(stretch)):
            try:
                values.append(json.loads(attempt))
                break
            except (ValueError, RecursionError):
                continue
        at = end
    return values


_MAX_VALUES = 20
"""The most values read from one reply's prose: more than one of a kind is ambiguous anyway."""


def _stretch_end(text: str, start: int) -> int:
    """Where the bracketed stretch opening at `start` closes (just after its closing bracket, brackets inside JSON
    strings not counted), or the text's end when it never does."""
    depth = 0
    for found in _BRACKET_OR_STRING.finditer(text, start):
        token = found.group()
        if token in "{[":
            depth += 1
        elif token in "}]":
            depth -= 1
            if depth == 0:
                return found.end()
    return len(text)


_BRACKET_OR_STRING = re.compile(_JSON_STRING + r"|[{}\[\]]", re.DOTALL)
"""A JSON string (its brackets are text) or a bracket."""
