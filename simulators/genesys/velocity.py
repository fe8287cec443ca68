"""The Velocity subset data actions use (reference §4 "Velocity rules"), and the JSONPath subset of translation maps.

Supported: references `$a.b`, `${a.b}`, quiet references `$!a.b` / `$!{a.b}`; method calls with reference,
string (with interpolation), number and boolean arguments: `$esc.jsonString(...)`, `$esc.url(...)`,
`$encoding.base64(...)`, and on strings `replace`, `toUpperCase`, `toLowerCase`, `trim`, `substring`, `length`.
A reference whose value is null prints its own source text (`${input.missing}` stays `${input.missing}`); a quiet
one prints nothing. Directives (`#if`, `#set`, `#foreach`) are not interpreted and print as written.
Non-string values print as JSON (`true`, `42`, `{"a":1}`).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote_plus

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


class RawJson(str):
    """A value that prints as is: translation-map results are already JSON text in success templates."""


class _NoMatch(Exception):
    """The text at this `$` is not a reference; print the `$` and move on."""


def render(template: str | None, context: dict[str, Any]) -> str:
    if not template:
        return ""
    return _Parser(template, context).render()


class _Parser:
    def __init__(self, text: str, context: dict[str, Any]) -> None:
        self.text, self.context, self.position = text, context, 0

    def render(self) -> str:
        output: list[str] = []
        while self.position < len(self.text):
            dollar = self.text.find("$", self.position)
            if dollar < 0:
                output.append(self.text[self.position :])
                break
            output.append(self.text[self.position : dollar])
            self.position = dollar
            try:
                quiet, value = self._reference()
            except _NoMatch:
                self.position = dollar + 1
                output.append("$")
                continue
            if value is None:
                output.append("" if quiet else self.text[dollar : self.position])
            else:
                output.append(to_text(value))
        return "".join(output)

    def _reference(self) -> tuple[bool, Any]:
        """Parse `$[!][{]name(.member | .method(args))*[}]` at the cursor; return (quiet, value or None)."""
        text = self.text
        self.position += 1
        quiet = text.startswith("!", self.position)
        self.position += quiet
        braced = text.startswith("{", self.position)
        self.position += braced
        name = IDENTIFIER.match(text, self.position)
        if not name:
            raise _NoMatch
        self.position = name.end()
        value: Any = self.context.get(name.group())
        while self.position < len(text) and text[self.position] == ".":
            member = IDENTIFIER.match(text, self.position + 1)
            if not member:
                break
            self.position = member.end()
            if text.startswith("(", self.position):
                arguments = self._arguments()
                value = call_method(value, member.group(), arguments)
            else:
                value = value.get(member.group()) if isinstance(value, dict) else None
        if braced:
            if not text.startswith("}", self.position):
                raise _NoMatch
            self.position += 1
        return quiet, value

    def _arguments(self) -> list[Any]:
        text, arguments = self.text, []
        self.position += 1
        while True:
            while self.position < len(text) and text[self.position] in " \t":
                self.position += 1
            if text.startswith(")", self.position):
                self.position += 1
                return arguments
            arguments.append(self._argument())
            while self.position < len(text) and text[self.position] in " \t":
                self.position += 1
            if text.startswith(",", self.position):
                self.position += 1
            elif not text.startswith(")", self.position):
                raise _NoMatch

    def _argument(self) -> Any:
        text = self.text
        if text.startswith("$", self.position):
            return self._reference()[1]
        if text[self.position : self.position + 1] in ('"', "'"):
            quote = text[self.position]
            end = text.find(quote, self.position + 1)
            if end < 0:
                raise _NoMatch
            literal = text[self.position + 1 : end]
            self.position = end + 1
            # Velocity interpolates references inside double quotes only.
            return render(literal, self.context) if quote == '"' else literal
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, self.position):
                self.position += len(word)
                return value
        number = NUMBER.match(text, self.position)
        if number:
            self.position = number.end()
            return float(number.group()) if number.group(1) else int(number.group())
        raise _NoMatch


def call_method(target: Any, method: str, arguments: list[Any]) -> Any:
    """Tool and string methods; like Velocity, a null argument or an unknown method yields null."""
    if isinstance(target, _Tool):
        return target.call(method, arguments)
    if not isinstance(target, str) or any(argument is None for argument in arguments):
        return None
    try:
        match method, arguments:
            case "replace", [old, new]:
                return target.replace(str(old), str(new))
            case "toUpperCase", []:
                return target.upper()
            case "toLowerCase", []:
                return target.lower()
            case "trim", []:
                return target.strip()
            case "length", []:
                return len(target)
            case "substring", [int() as start]:
                return target[start:]
            case "substring", [int() as start, int() as end]:
                return target[start:end]
    except (TypeError, ValueError):
        return None
    return None


class _Tool:
    def __init__(self, methods: dict[str, Any]) -> None:
        self.methods = methods

    def call(self, method: str, arguments: list[Any]) -> Any:
        function = self.methods.get(method)
        if function is None or len(arguments) != 1 or arguments[0] is None:
            return None
        return function(to_text(arguments[0]))


def _json_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


TOOLS = {
    "esc": _Tool({"jsonString": _json_string, "json": _json_string, "url": lambda value: quote_plus(value, safe="*")}),
    "encoding": _Tool({"base64": lambda value: base64.b64encode(value.encode()).decode()}),
}


def to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def context_with_tools(**values: Any) -> dict[str, Any]:
    return {**TOOLS, **values}


_PATH_TOKEN = re.compile(r"\.\.([A-Za-z_][\w-]*)|\.([A-Za-z_][\w-]*|\*)|\[\s*(\*|-?\d+|'[^']*'|\"[^\"]*\")\s*\]")


def json_path(document: Any, path: str) -> tuple[bool, Any]:
    """Evaluate a JSONPath subset: `$`, `.name`, `['name']`, `[n]`, `[*]`, `.*`, `..name`.

    Returns (found, value); a path with a wildcard or `..` returns the list of matches (found if non-empty).
    """
    path = path.strip()
    if not path.startswith("$"):
        raise ValueError(f"JSONPath must start with $: {path!r}")
    position, nodes, multiple = 1, [document], False
    while position < len(path):
        token = _PATH_TOKEN.match(path, position)
        if not token:
            raise ValueError(f"unsupported JSONPath {path!r} at {path[position:]!r}")
        position = token.end()
        descendant, member, bracket = token.groups()
        if descendant:
            multiple = True
            nodes = [found for node in nodes for found in _descendants(node, descendant)]
            continue
        selector = member if member is not None else bracket
        if selector == "*":
            multiple = True
            nodes = [child for node in nodes for child in _children(node)]
        elif selector.lstrip("-").isdigit() and bracket is not None:
            index = int(selector)
            nodes = [node[index] for node in nodes if isinstance(node, list) and -len(node) <= index < len(node)]
        else:
            key = selector.strip("'\"")
            nodes = [node[key] for node in nodes if isinstance(node, dict) and key in node]
    if multiple:
        return bool(nodes), nodes
    return (True, nodes[0]) if nodes else (False, None)


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    return list(node) if isinstance(node, list) else []


def _descendants(node: Any, key: str) -> list[Any]:
    found = [node[key]] if isinstance(node, dict) and key in node else []
    for child in _children(node):
        found.extend(_descendants(child, key))
    return found
