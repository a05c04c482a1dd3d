"""The KQL of ``filterExpression``, parsed and evaluated against the tenant's documents.

The subset the Retrieval API reference documents: property restrictions (``path:"…"``
prefix match, ``Author:``, ``Title:``, ``Filename:``, ``FileExtension:``, ``FileType:``,
``SiteID:``, ``SiteName:``, ``InformationProtectionLabelId:``, ``ModifiedBy:``,
``LastModifiedTime >= 2024-07-22`` and the other comparisons), free terms, ``AND``,
``OR``, ``NOT``, parentheses, and juxtaposition as ``AND``. Values may be quoted or bare;
property names are case-insensitive. ``:`` means "contains" for text and "equals" for
ids and extensions. Anything else raises ``KqlError``: the service runs such a filter
*unscoped*, and the emulator does the same but says so in a response header.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import unquote

from copilot_tools.emulator.corpus import Document

Predicate = Callable[[Document], bool]
_OPERATORS = (">=", "<=", "<>", ":", "=", "<", ">")
_STOP = set(" \t\r\n()\"") | {":", "=", "<", ">"}
#: Deeper nesting (parentheses, NOT NOT ...) is refused before Python's recursion limit is.
MAX_NESTING = 64


class KqlError(ValueError):
    """The expression is outside the subset the emulator understands."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(", ")", "word", "string", "op", "value"
    text: str


def _read_value(text: str, i: int) -> tuple[str, int]:
    while i < len(text) and text[i] in " \t":
        i += 1
    if i < len(text) and text[i] == '"':
        end = text.find('"', i + 1)
        if end < 0:
            raise KqlError("a quoted value is not closed")
        return text[i + 1 : end], end + 1
    start = i
    while i < len(text) and text[i] not in " \t\r\n()":
        i += 1
    if start == i:
        raise KqlError("a property restriction has no value")
    return text[start:i], i


def tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char))
            i += 1
        elif char == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise KqlError("a quoted phrase is not closed")
            tokens.append(_Token("string", text[i + 1 : end]))
            i = end + 1
        elif any(text.startswith(op, i) for op in _OPERATORS):
            op = next(op for op in _OPERATORS if text.startswith(op, i))
            if not tokens or tokens[-1].kind != "word":
                raise KqlError(f"{op!r} has no property name before it")
            value, i = _read_value(text, i + len(op))
            tokens += [_Token("op", op), _Token("value", value)]
        else:
            start = i
            while i < len(text) and text[i] not in _STOP:
                i += 1
            tokens.append(_Token("word", text[start:i]))
    return tokens


def _text(value: str | None) -> str:
    return (value or "").casefold()


def _date(value: str) -> date:
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise KqlError(f"{value!r} is not a date (use YYYY-MM-DD)") from None


def _compare_dates(op: str, value: str, getter: Callable[[Document], datetime | None]) -> Predicate:
    wanted = _date(value)
    checks: dict[str, Callable[[date], bool]] = {
        ":": lambda d: d == wanted, "=": lambda d: d == wanted, "<>": lambda d: d != wanted,
        ">=": lambda d: d >= wanted, "<=": lambda d: d <= wanted, ">": lambda d: d > wanted, "<": lambda d: d < wanted,
    }
    check = checks[op]

    def predicate(document: Document) -> bool:
        moment = getter(document)
        return moment is not None and check(moment.astimezone(UTC).date())

    return predicate


def _path(value: str) -> Predicate:
    prefix = unquote(value).casefold()
    return lambda d: unquote(d.web_url).casefold().startswith(prefix)


def _text_match(op: str, value: str, getter: Callable[[Document], str | None]) -> Predicate:
    wanted = _text(value).strip("*")
    if op == "=":
        return lambda d: _text(getter(d)) == wanted
    if op == "<>":
        return lambda d: _text(getter(d)) != wanted
    if op == ":":
        return lambda d: wanted in _text(getter(d))
    raise KqlError(f"{op!r} compares dates, not text")


def _exact(op: str, value: str, getter: Callable[[Document], str | None]) -> Predicate:
    wanted = _text(value).strip("{}").lstrip(".")
    if op in (":", "="):
        return lambda d: _text(getter(d)).strip("{}") == wanted
    if op == "<>":
        return lambda d: _text(getter(d)).strip("{}") != wanted
    raise KqlError(f"{op!r} compares dates, not ids")


_TEXT_PROPERTIES: dict[str, Callable[[Document], str | None]] = {
    "author": lambda d: d.author,
    "createdby": lambda d: d.author,
    "title": lambda d: d.title,
    "label_title": lambda d: d.title,
    "filename": lambda d: d.filename,
    "sitename": lambda d: d.site,
    "modifiedby": lambda d: d.modified_by,
    "lastmodifiedby": lambda d: d.modified_by,
}
_EXACT_PROPERTIES: dict[str, Callable[[Document], str | None]] = {
    "fileextension": lambda d: d.extension,
    "filetype": lambda d: d.extension,
    "siteid": lambda d: d.site_id,
    "informationprotectionlabelid": lambda d: d.label.sensitivity_label_id if d.label else None,
    "connectionid": lambda d: d.connection_id,
}
_DATE_PROPERTIES: dict[str, Callable[[Document], datetime | None]] = {
    "lastmodifiedtime": lambda d: d.modified,
    "lastmodifieddatetime": lambda d: d.modified,
    "write": lambda d: d.modified,
    "created": lambda d: d.created,
    "createddatetime": lambda d: d.created,
}


def restriction(name: str, op: str, value: str) -> Predicate:
    key = name.casefold()
    if key in ("path", "documentlink", "weburl"):
        if op not in (":", "="):
            raise KqlError(f"path takes ':' not {op!r}")
        return _path(value)
    if key in _TEXT_PROPERTIES:
        return _text_match(op, value, _TEXT_PROPERTIES[key])
    if key in _EXACT_PROPERTIES:
        return _exact(op, value, _EXACT_PROPERTIES[key])
    if key in _DATE_PROPERTIES:
        return _compare_dates(op, value, _DATE_PROPERTIES[key])
    raise KqlError(f"the emulator does not know the property {name!r}")


def _free_term(term: str) -> Predicate:
    wanted = term.casefold()

    def predicate(document: Document) -> bool:
        if wanted in document.title.casefold():
            return True
        return any(wanted in unit.casefold() for section in document.sections for unit in section.units)

    return predicate


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.depth = 0

    def nested(self, parse: Callable[[], Predicate]) -> Predicate:
        """``parse()`` one level deeper; a KqlError past ``MAX_NESTING`` levels."""
        if self.depth >= MAX_NESTING:
            raise KqlError(f"the filter nests more than {MAX_NESTING} levels deep")
        self.depth += 1
        try:
            return parse()
        finally:
            self.depth -= 1

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def is_keyword(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text == word

    def expression(self) -> Predicate:
        parts = [self.conjunction()]
        while self.is_keyword("OR"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda d: any(p(d) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while (token := self.peek()) is not None and token.kind != ")" and not self.is_keyword("OR"):
            if self.is_keyword("AND"):
                self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else (lambda d: all(p(d) for p in parts))

    def negation(self) -> Predicate:
        if self.is_keyword("NOT"):
            self.take()
            inner = self.nested(self.negation)
            return lambda d: not inner(d)
        return self.primary()

    def primary(self) -> Predicate:
        token = self.peek()
        if token is None:
            raise KqlError("the expression ends where a condition should follow")
        self.take()
        if token.kind == "(":
            inner = self.nested(self.expression)
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise KqlError("'(' is not closed")
            self.take()
            return inner
        if token.kind == ")":
            raise KqlError("')' has no matching '('")
        if token.text in ("AND", "OR") and token.kind == "word":
            raise KqlError(f"{token.text} needs a condition before it")
        following = self.peek()
        if token.kind == "word" and following is not None and following.kind == "op":
            op = self.take().text
            return restriction(token.text, op, self.take().text)
        return _free_term(token.text)


def parse_filter(expression: str) -> Predicate:
    """A predicate over documents; raises ``KqlError`` for anything outside the subset."""
    tokens = tokenize(expression)
    if not tokens:
        raise KqlError("the filter is empty")
    parser = _Parser(tokens)
    predicate = parser.expression()
    if parser.peek() is not None:
        raise KqlError(f"unexpected {parser.peek().text!r}")  # type: ignore[union-attr]
    return predicate
