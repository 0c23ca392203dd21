"""The archive query language ($filter, $select, $orderby) and its translation to SQL.

Decides what a filter means: a lark grammar parses it (never regexes over the string), and the
tree becomes a SQL condition over a provider's columns with every value a bound parameter.
Column names only ever come from the provider's own column table, so no user text reaches the
SQL except through parameters. Anything malformed raises `FilterSyntaxError` (a 400).

Semantics follow docs/en/api/search/odata (using-filters, strings, lists, datetime):
`afterTime` is "after or equal"; plain comparisons on date columns compare the date part only;
string comparisons ignore case (the SQL Server collation SuperOffice runs on does).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lark import Lark, Token
from lark import Tree as LarkTree
from lark.exceptions import LarkError

from sandbox.common.clock import format_timestamp, parse_timestamp

from .errors import FilterSyntaxError

Tree = LarkTree[Token]

__all__ = ["Column", "filter_to_sql", "parse_orderby", "parse_select"]

MAX_FILTER_LENGTH = 4000
MAX_DEPTH = 50

GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: atom (_AND atom)*
?atom: "(" or_expr ")"
     | comparison
     | call
comparison: COLUMN OPERATOR operand?
call: FUNCTION "(" COLUMN "," value ")"
    | SUBSTRINGOF "(" value "," COLUMN ")"
?operand: value
        | "(" value ("," value)* ")" -> values
value: STRING | NUMBER | BOOLEAN
FUNCTION.2: /(startswith|endswith)(?=\s*\()/i
SUBSTRINGOF.2: /substringof(?=\s*\()/i
_AND.2: /and(?![A-Za-z0-9_])/i
_OR.2: /or(?![A-Za-z0-9_])/i
BOOLEAN.2: /(true|false)(?![A-Za-z0-9_])/i
COLUMN: /[A-Za-z_][A-Za-z0-9_]*([\/.][A-Za-z_][A-Za-z0-9_:]*)*/
OPERATOR: /[A-Za-z]+|=/
STRING: /'(?:[^'\\]|\\.)*'/
NUMBER: /-?\d+(\.\d+)?/
%import common.WS
%ignore WS
"""

_PARSER = Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)


@dataclass(frozen=True)
class Column:
    """One archive column: the SQL expression that computes it and its value type."""

    sql: str
    type: str  # int | decimal | string | datetime | bool
    orderable: bool = True
    restriction: str | None = None
    """What a filter compares when it differs from what is shown (list columns show the item's
    name but restrict on its id, as `category oneOf (3)` in the docs)."""

    @property
    def where_sql(self) -> str:
        return self.restriction or self.sql


def filter_to_sql(text: str, columns: dict[str, Column]) -> tuple[str, list[Any]]:
    """A SQL condition and its bound parameters for a `$filter` value."""
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterSyntaxError(f"$filter is longer than {MAX_FILTER_LENGTH} characters")
    if not text.strip():
        return "1 = 1", []
    try:
        tree = _PARSER.parse(text)
    except LarkError as failure:
        raise FilterSyntaxError(f"Malformed $filter: {_describe(failure)}") from None
    params: list[Any] = []
    return _compile(tree, _lookup(columns), params, 0), params


def _describe(failure: LarkError) -> str:
    column = getattr(failure, "column", None)
    token = getattr(failure, "token", None)
    if isinstance(token, Token) and token.type == "$END":
        return "unexpected end of filter"
    if token is not None and str(token):
        return f"unexpected '{str(token)[:40]}' at position {column}"
    if column is not None and column != -1:
        return f"unexpected character at position {column}"
    return "unexpected end of filter"


def _lookup(columns: dict[str, Column]) -> dict[str, tuple[str, Column]]:
    return {name.lower(): (name, column) for name, column in columns.items()}


def _compile(
    node: Tree | Token, columns: dict[str, tuple[str, Column]], params: list[Any], depth: int
) -> str:
    if depth > MAX_DEPTH:
        raise FilterSyntaxError(f"$filter nests deeper than {MAX_DEPTH} levels")
    assert isinstance(node, LarkTree)
    if node.data == "or_expr":
        return _any_of(node, columns, params, depth)
    if node.data == "and_expr":
        parts = [_compile(child, columns, params, depth + 1) for child in node.children]
        return "(" + " AND ".join(parts) + ")"
    if node.data == "call":
        return _call(node, columns, params)
    return _comparison(node, columns, params)


def _any_of(
    node: Tree, columns: dict[str, tuple[str, Column]], params: list[Any], depth: int
) -> str:
    """`a or b or ...`; the `contains` tests of one string column among them become a single
    `so_contains_any` (the column is read and folded once a row, not once a value): a search
    for many values of one column scans the table once, as a database would."""
    tests = [_contains_test(child, columns) for child in node.children]
    needles: dict[str, list[str]] = {}
    for test in tests:
        if test is not None:
            needles.setdefault(test[0], []).append(test[1])
    parts: list[str] = []
    merged: set[str] = set()
    for child, test in zip(node.children, tests, strict=True):
        if test is None or len(needles[test[0]]) < 2:
            parts.append(_compile(child, columns, params, depth + 1))
        elif test[0] not in merged:
            merged.add(test[0])
            params.append(json.dumps(needles[test[0]]))
            parts.append(f"so_contains_any({test[0]}, ?)")
    return "(" + " OR ".join(parts) + ")"


def _contains_test(
    node: Tree | Token, columns: dict[str, tuple[str, Column]]
) -> tuple[str, str] | None:
    """(the column's SQL, the folded text) when `node` is `<string column> contains '<text>'`."""
    if not isinstance(node, LarkTree) or node.data in ("or_expr", "and_expr", "call"):
        return None
    if len(node.children) != 3 or str(node.children[1]).lower() != "contains":
        return None
    operand = node.children[2]
    if isinstance(operand, LarkTree) and operand.data == "values":
        return None
    column = _column(node.children[0], columns)  # type: ignore[arg-type]
    if column.type != "string":
        return None
    return column.where_sql, str(_literal(operand)).casefold()


def _column(token: Token, columns: dict[str, tuple[str, Column]]) -> Column:
    found = columns.get(str(token).lower())
    if found is None:
        raise FilterSyntaxError(f"Unknown column '{token}' in $filter")
    return found[1]


def _literal(node: Tree | Token) -> Any:
    token = node.children[0] if isinstance(node, LarkTree) else node
    assert isinstance(token, Token)
    text = str(token)
    if token.type == "STRING":
        body = text[1:-1]
        out, escaped = [], False
        for char in body:
            if escaped or char != "\\":
                out.append(char)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    if token.type == "BOOLEAN":
        return text.lower() == "true"
    return float(text) if "." in text else int(text)


def _call(node: Tree, columns: dict[str, tuple[str, Column]], params: list[Any]) -> str:
    name = str(node.children[0]).lower()
    if name == "substringof":
        value, column = _literal(node.children[1]), _column(node.children[2], columns)  # type: ignore[arg-type]
        operator = "contains"
    else:
        column, value = _column(node.children[1], columns), _literal(node.children[2])  # type: ignore[arg-type]
        operator = "begins" if name == "startswith" else "ends"
    return _string_condition(column, operator, [value], params)


def _comparison(node: Tree, columns: dict[str, tuple[str, Column]], params: list[Any]) -> str:
    column = _column(node.children[0], columns)  # type: ignore[arg-type]
    operator = str(node.children[1]).lower()
    values: list[Any] = []
    if len(node.children) > 2:
        operand = node.children[2]
        items = (
            operand.children
            if isinstance(operand, LarkTree) and operand.data == "values"
            else [operand]
        )
        values = [_literal(item) for item in items]
    if column.type == "string":
        return _string_condition(column, operator, values, params)
    if column.type == "datetime":
        return _datetime_condition(column, operator, values, params)
    return _number_condition(column, operator, values, params)


NUMBER_OPERATORS = {
    "eq": "=", "=": "=", "equals": "=", "is": "=",
    "ne": "<>", "unequals": "<>", "isnot": "<>",
    "lt": "<", "less": "<", "le": "<=",
    "gt": ">", "greater": ">", "ge": ">=",
}  # fmt: skip


def _arity(operator: str, values: list[Any], wanted: int) -> None:
    if len(values) != wanted:
        raise FilterSyntaxError(f"Operator '{operator}' takes {wanted} value(s), got {len(values)}")


def _number_condition(column: Column, operator: str, values: list[Any], params: list[Any]) -> str:
    numbers = []
    for value in values:
        if isinstance(value, str):
            try:
                value = float(value) if "." in value else int(value)
            except ValueError:
                raise FilterSyntaxError(f"'{value}' is not a number") from None
        numbers.append(value)
    if operator in NUMBER_OPERATORS:
        _arity(operator, numbers, 1)
        params.append(numbers[0])
        return f"({column.where_sql}) {NUMBER_OPERATORS[operator]} ?"
    if operator in ("oneof", "in", "notoneof"):
        if not numbers:
            raise FilterSyntaxError(f"Operator '{operator}' needs at least one value")
        params.extend(numbers)
        negate = "NOT " if operator == "notoneof" else ""
        return f"({column.where_sql}) {negate}IN ({', '.join('?' * len(numbers))})"
    if operator == "between":
        _arity(operator, numbers, 2)
        params.extend(numbers)
        return f"({column.where_sql}) BETWEEN ? AND ?"
    if operator == "set":
        _arity(operator, numbers, 0)
        return f"COALESCE(({column.where_sql}), 0) <> 0"
    raise FilterSyntaxError(f"Operator '{operator}' is not valid for a {column.type} column")


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string_condition(column: Column, operator: str, values: list[Any], params: list[Any]) -> str:
    texts = [str(v).casefold() for v in values]
    folded = f"so_fold({column.where_sql})"
    simple = {"eq": "=", "is": "=", "equals": "=", "ne": "<>", "isnot": "<>", "unequals": "<>"}
    if operator in simple:
        _arity(operator, texts, 1)
        params.append(texts[0])
        if texts[0] and simple[operator] == "=":  # NULL never equals a non-empty text, and
            return f"{folded} = ?"  # the bare expression can use an expression index
        return f"COALESCE({folded}, '') {simple[operator]} ?"
    patterns = {
        "begins": "{}%",
        "notbegins": "{}%",
        "contains": "%{}%",
        "notcontains": "%{}%",
        "ends": "%{}",
    }
    if operator in patterns:
        _arity(operator, texts, 1)
        params.append(patterns[operator].format(_like(texts[0])))
        negate = "NOT " if operator.startswith("not") else ""
        return f"COALESCE({folded}, '') {negate}LIKE ? ESCAPE '\\'"
    if operator in ("in", "oneof", "notoneof"):
        if not texts:
            raise FilterSyntaxError(f"Operator '{operator}' needs at least one value")
        params.extend(texts)
        marks = ", ".join("?" * len(texts))
        if operator != "notoneof" and all(texts):
            return f"{folded} IN ({marks})"
        negate = "NOT " if operator == "notoneof" else ""
        return f"COALESCE({folded}, '') {negate}IN ({marks})"
    if operator == "between":
        _arity(operator, texts, 2)
        params.extend(texts)
        return f"COALESCE({folded}, '') BETWEEN ? AND ?"
    raise FilterSyntaxError(f"Operator '{operator}' is not valid for a string column")


def _moment(value: Any) -> str:
    try:
        return format_timestamp(parse_timestamp(str(value)))
    except ValueError:
        raise FilterSyntaxError(f"'{value}' is not a date or datetime") from None


DATE_OPERATORS = {
    "eq": "=", "date": "=", "ne": "<>", "lt": "<", "before": "<", "le": "<=",
    "gt": ">", "after": ">", "ge": ">=",
}  # fmt: skip


def _datetime_condition(column: Column, operator: str, values: list[Any], params: list[Any]) -> str:
    if operator in ("aftertime", "beforetime", "datetime"):
        _arity(operator, values, 1)
        params.append(_moment(values[0]))
        sign = {"aftertime": ">=", "beforetime": "<", "datetime": "="}[operator]
        return f"({column.where_sql}) {sign} ?"
    if operator in DATE_OPERATORS:
        _arity(operator, values, 1)
        params.append(_moment(values[0])[:10])
        return f"substr(({column.where_sql}), 1, 10) {DATE_OPERATORS[operator]} ?"
    if operator == "datebetween":
        _arity(operator, values, 2)
        params.extend(_moment(v)[:10] for v in values)
        return f"substr(({column.where_sql}), 1, 10) BETWEEN ? AND ?"
    if operator == "set":
        _arity(operator, values, 0)
        return f"({column.where_sql}) IS NOT NULL"
    raise FilterSyntaxError(f"Operator '{operator}' is not valid for a datetime column")


def parse_select(text: str | None, columns: dict[str, Column], default: list[str]) -> list[str]:
    """The column names a `$select` asks for, in their canonical spelling."""
    if not text or not text.strip():
        return default
    lookup = _lookup(columns)
    names = []
    for raw in text.split(","):
        found = lookup.get(raw.strip().lower())
        if found is None:
            raise FilterSyntaxError(f"Unknown column '{raw.strip()[:80]}' in $select")
        names.append(found[0])
    return names


def parse_orderby(text: str | None, columns: dict[str, Column]) -> list[tuple[str, bool]]:
    """(column name, ascending) pairs for an `$orderby`; `PrimaryKey` is always allowed."""
    if not text or not text.strip():
        return []
    lookup = _lookup(columns)
    order = []
    for part in text.split(","):
        words = part.split()
        if (
            not words
            or len(words) > 2
            or (len(words) == 2 and words[1].lower() not in ("asc", "desc"))
        ):
            raise FilterSyntaxError(f"Malformed $orderby part '{part.strip()[:80]}'")
        found = lookup.get(words[0].lower())
        if found is None or not found[1].orderable:
            raise FilterSyntaxError(f"Column '{words[0][:80]}' cannot be used in $orderby")
        order.append((found[0], len(words) == 1 or words[1].lower() == "asc"))
    return order
