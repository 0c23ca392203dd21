"""The OpenAPI document is the truth: request bodies are checked against its own schemas
(JSON Schema 2020-12 with format checks), so the server cannot drift from the contract.
This module decides whether a body is valid and why not; it never stores anything."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from sandbox.customcrm.errors import FieldError

__all__ = [
    "CONTRACT_PATH",
    "body_errors",
    "load_contract",
    "parameter_errors",
    "schema_limits",
]

CONTRACT_PATH = Path(__file__).with_name("openapi.yaml")  # a link to docs/customcrm-openapi.yaml


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (its wheels are): the contract is read
in 0.02 s instead of 0.18 s, which the first request of a fresh sandbox waited for."""


@functools.cache
def load_contract() -> dict[str, Any]:
    text = CONTRACT_PATH.read_text(encoding="utf-8")
    contract: dict[str, Any] = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - safe loaders
    return contract


@functools.cache
def _validator(schema_name: str) -> Draft202012Validator:
    root = {
        "$ref": f"#/components/schemas/{schema_name}",
        "components": load_contract()["components"],
    }
    return Draft202012Validator(root, format_checker=FormatChecker(["date"]))


def body_errors(schema_name: str, body: Any) -> list[FieldError]:
    """Every way `body` breaks schema `schema_name`, one entry per field, sorted."""
    found = {_field_error(error) for error in _validator(schema_name).iter_errors(body)}
    return sorted(found, key=lambda e: (e.field, e.message))


def schema_limits(schema_name: str) -> dict[str, Any]:
    """The `properties` of a write schema (for documentation and tests)."""
    properties: dict[str, Any] = load_contract()["components"]["schemas"][schema_name]["properties"]
    return properties


def _field_error(error: ValidationError) -> FieldError:
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - allowed)
        return FieldError(_join(path, ",".join(unknown)), "unknown field")
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else ""
        return FieldError(_join(path, missing), "is required")
    return FieldError(path or "(body)", _message(error))


def _message(error: ValidationError) -> str:
    value = error.validator_value
    messages = {
        "maxLength": "must be at most {value} characters",
        "minLength": "must be at least {value} character(s)",
        "maximum": "must be at most {value}",
        "minimum": "must be at least {value}",
        "maxProperties": "must have at most {value} entries",
        "minItems": "must have at least {value} item(s)",
        "maxItems": "must have at most {value} items",
        "format": "must be a valid {value}",
    }
    if error.validator == "enum":
        return f"must be one of {', '.join(map(str, value))}"
    if error.validator == "type":
        kinds = value if isinstance(value, list) else [value]
        return f"must be {' or '.join(kinds)}, not {json.dumps(error.instance)[:40]}"
    if error.validator == "pattern":
        return _pattern_message(error)
    template = messages.get(str(error.validator))
    return template.format(value=value) if template else str(error.message)


def _pattern_message(error: ValidationError) -> str:
    field = str(error.absolute_path[-1]) if error.absolute_path else ""
    known = {
        "email": "must be an e-mail address",
        "country": "must be an ISO 3166-1 alpha-2 code (e.g. NO)",
        "currency": "must be an ISO 4217 code (e.g. NOK)",
        "org_number": "may hold only digits, letters, spaces, dots and dashes",
    }
    return known.get(field, f"must match {error.validator_value}")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path and name else path or name or "(body)"


def parameter_errors(
    path: str, method: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> list[FieldError]:
    """How the query and headers of a request break the parameters the contract declares
    for `method path` (a path template such as `/api/v1/customers/{id}`); unknown query
    parameters are errors too, so a misspelt filter never silently widens a list."""
    declared = _parameters(path, method.lower())
    errors = [
        FieldError(f"query.{name}", "unknown query parameter")
        for name in query
        if ("query", name) not in declared
    ]
    for (place, name), schema in declared.items():
        if place == "query" and schema.get("type") == "array":
            message = _array_message(schema, _all_values(query, name))
            if message:
                errors.append(FieldError(f"{place}.{name}", message))
            continue
        raw = query.get(name) if place == "query" else headers.get(name.lower())
        if raw is not None:
            message = _parameter_message(schema, raw)
            if message:
                errors.append(FieldError(f"{place}.{name}", message))
    return sorted(errors, key=lambda e: e.field)


@functools.cache
def _parameters(path: str, method: str) -> dict[tuple[str, str], dict[str, Any]]:
    item = load_contract()["paths"][path]
    declared = {}
    for parameter in [*item.get("parameters", []), *item[method].get("parameters", [])]:
        resolved = _resolve(parameter)
        if resolved["in"] in ("query", "header"):
            declared[(resolved["in"], resolved["name"])] = resolved["schema"]
    return declared


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in node:
        return node
    target: Any = load_contract()
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return _resolve(target)


def _all_values(query: Mapping[str, str], name: str) -> list[str]:
    """Every value of a repeated query parameter (`email=a&email=b`)."""
    getlist = getattr(query, "getlist", None)
    if getlist is not None:
        return list(getlist(name))
    return [query[name]] if name in query else []


def _array_message(schema: Mapping[str, Any], values: list[str]) -> str | None:
    """Why the values of a repeated parameter do not fit its array schema, or None."""
    if not values:
        return None
    if len(values) > schema.get("maxItems", len(values)):
        return f"may be given at most {schema['maxItems']} times"
    for value in values:
        message = _parameter_message(schema.get("items", {}), value)
        if message:
            return message
    return None


def _parameter_message(schema: Mapping[str, Any], raw: str) -> str | None:
    """Why `raw` (as sent on the wire) does not fit the parameter's schema, or None."""
    value: Any = raw
    if schema.get("type") == "integer":
        if not raw.isascii() or not raw.lstrip("-").isdigit():
            return "must be an integer"
        value = int(raw)
    elif schema.get("type") == "boolean":
        if raw not in ("true", "false"):
            return "must be true or false"
        value = raw == "true"
    errors = list(_parameter_validator(json.dumps(schema, sort_keys=True)).iter_errors(value))
    return _message(errors[0]) if errors else None


@functools.cache
def _parameter_validator(schema_text: str) -> Draft202012Validator:
    """One validator per parameter schema (by its JSON text): building one costs more than
    checking a value, and a batch checks each of its items' keys."""
    return Draft202012Validator(json.loads(schema_text))
