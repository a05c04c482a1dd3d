"""A syntax check for the KQL of ``filterExpression``.

The Retrieval API runs an invalid filter silently *unscoped*: a typo in a path filter
returns documents from the whole tenant. So a filter is checked here before it is
sent, and a broken one is refused with a message that says where it breaks. This is a
checker, not an evaluator; it accepts the subset the reference documents: property
restrictions (``Name:value``, ``Name:"quoted value"``, ``Name>=value`` and the other
comparisons), free terms, ``AND``/``OR``/``NOT`` and parentheses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from copilot_tools._protocol import validate_text
from copilot_tools.errors import InvalidInputError

#: Longer filters are refused: the service's own limit is not documented, and a model has no
#: reason to send one this long.
MAX_FILTER_LENGTH = 4096

#: Managed properties the reference names for SharePoint and OneDrive filters.
KNOWN_PROPERTIES = frozenset(
    name.lower()
    for name in (
        "path", "Author", "Title", "Filename", "FileExtension", "FileType", "SiteID", "SiteName",
        "InformationProtectionLabelId", "ModifiedBy", "LastModifiedTime", "Created", "CreatedBy",
        "LastModifiedBy",
    )
)
#: Properties whose values are dates: a value that is not one would be ignored silently.
DATE_PROPERTIES = frozenset({"lastmodifiedtime", "created"})
_OPERATORS = (">=", "<=", "<>", ":", "=", "<", ">")
_WORD = re.compile(r"[^\s()\"]+")
_PROPERTY = re.compile(r"([A-Za-z][A-Za-z0-9_.]*)(>=|<=|<>|:|=|<|>)(.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(", ")", "op", "term"
    text: str
    position: int


def check_filter(expression: str, *, allow_any_property: bool = False) -> str:
    """Return ``expression`` unchanged, or raise ``InvalidInputError`` saying where it breaks."""
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidInputError("filter", "the filter is empty", hint="Leave it out to search everything.")
    if len(expression) > MAX_FILTER_LENGTH:
        raise InvalidInputError("filter", f"the filter is {len(expression):,} characters long; "
                                f"the limit is {MAX_FILTER_LENGTH:,}")
    validate_text("filter", expression)
    tokens = _tokenize(expression)
    depth = 0
    expect_term = True  # after an operator or '(' a condition must follow
    for token in tokens:
        if token.kind == "(":
            depth += 1
            expect_term = True
        elif token.kind == ")":
            if expect_term:
                _fail(expression, token.position, "')' closes an empty group or follows an operator")
            depth -= 1
            if depth < 0:
                _fail(expression, token.position, "')' has no matching '('")
        elif token.text == "NOT":
            expect_term = True  # "a NOT b" reads as "a AND NOT b"
        elif token.kind == "op":
            if expect_term:
                _fail(expression, token.position, f"{token.text} needs a condition before it")
            expect_term = True
        else:
            _check_term(expression, token, allow_any_property)
            expect_term = False  # two terms side by side are an implicit AND
    if depth > 0:
        _fail(expression, len(expression), "a '(' is never closed")
    if expect_term:
        last = tokens[-1]
        _fail(expression, last.position, f"the filter ends with {last.text!r}, which needs a condition after it")
    return expression


def _tokenize(expression: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    length = len(expression)
    while index < length:
        char = expression[index]
        if char.isspace():
            index += 1
        elif char in "()":
            tokens.append(_Token(char, char, index))
            index += 1
        else:
            start = index
            while index < length and not expression[index].isspace() and expression[index] not in "()":
                if expression[index] == '"':
                    end = expression.find('"', index + 1)
                    if end == -1:
                        _fail(expression, index, "this quote is never closed")
                    index = end + 1
                else:
                    index += 1
            text = expression[start:index]
            kind = "op" if text in ("AND", "OR", "NOT") else "term"
            tokens.append(_Token(kind, text, start))
    return _join_comparisons(tokens)


def _join_comparisons(tokens: list[_Token]) -> list[_Token]:
    """``LastModifiedTime >= 2024-07-22`` (spaces around the operator) is one restriction."""
    joined: list[_Token] = []
    for token in tokens:
        previous = joined[-1] if joined else None
        if (previous is not None and previous.kind == "term" and token.kind == "term"
                and (token.text in _OPERATORS or previous.text.endswith(_OPERATORS))):
            joined[-1] = _Token("term", previous.text + token.text, previous.position)
            continue
        joined.append(token)
    return joined


def _check_term(expression: str, token: _Token, allow_any_property: bool) -> None:
    match = _PROPERTY.fullmatch(token.text)
    if match is None:
        if any(op in token.text for op in _OPERATORS):
            _fail(expression, token.position, f"{token.text!r} is not a property restriction such as Author:\"Name\"")
        return  # a free-text term
    name, operator, value = match.groups()
    if value.startswith(tuple(_OPERATORS)):
        _fail(expression, token.position + len(name), f"{operator + value[:2]!r} is not a KQL operator")
    if not value or value == '""':
        _fail(expression, token.position, f"{name}{operator} has no value")
    if name.lower() in DATE_PROPERTIES and not _is_date(value.strip('"')):
        _fail(expression, token.position + len(name) + len(operator),
              f"{value!r} is not a date such as 2024-07-22 or 2024-07-22T10:00:00Z")
    if not allow_any_property and name.lower() not in KNOWN_PROPERTIES:
        _fail(
            expression, token.position,
            f"{name!r} is not a property the Retrieval API filters on "
            f"(known: path, Author, Title, Filename, FileExtension, FileType, SiteID, "
            f"InformationProtectionLabelId, ModifiedBy, LastModifiedTime, …)",
        )


def _is_date(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _fail(expression: str, position: int, problem: str) -> None:
    pointer = f"{expression}\n{' ' * position}^"
    raise InvalidInputError(
        "filter",
        f"{problem} (at character {position + 1})",
        hint=f"The service would run a broken filter unscoped, so it was not sent:\n{pointer}",
    )
