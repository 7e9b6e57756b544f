"""A reader for the TypeScript type declarations of frontend/lib/schemas.ts, for the OpenAPI drift check.

It understands the subset that file uses, and raises `TsParseError` on anything else inside a declaration
it reads (so a new construct fails the check loudly instead of being skipped):
`export interface X [extends Y] { name[?]: type }`, `export type X = type`, `export const X = [...] as const`;
types: string, number, boolean, null, unknown, "literal", T[], A | B, { ... }, Record<K, V>, a named type,
and `(typeof CONST)[number]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""(?P<skip>\s+|//[^\n]*|/\*.*?\*/)|(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<word>[A-Za-z_$][\w$]*)"""
    r"""|(?P<num>\d+(?:\.\d+)?)|(?P<punct>=>|\?\.|\.\.\.|[{}()\[\]<>|&;:,?=.!+\-*/%`@#^~])""",
    re.S,
)
PRIMITIVES = ("string", "number", "boolean", "null", "unknown")


class TsParseError(ValueError):
    """The declaration uses TypeScript this reader does not understand."""


@dataclass(frozen=True)
class TsType:
    """One type expression. kind: a primitive name, "literal", "array", "object", "record", "ref" or "union"."""

    kind: str
    value: str | None = None  # literal value or referenced name
    items: tuple[TsType, ...] = ()  # array item / record key+value / union members
    members: dict[str, tuple[bool, TsType]] = field(default_factory=dict, hash=False)  # name -> (optional, type)


@dataclass
class TsModule:
    interfaces: dict[str, tuple[str | None, dict[str, tuple[bool, TsType]]]]  # name -> (extends, members)
    aliases: dict[str, TsType]
    consts: dict[str, tuple[str, ...]]  # `as const` string tuples

    def resolve(self, ts: TsType) -> TsType:
        """Named types replaced by what they name; interfaces flattened with their base; unions flattened."""
        if ts.kind == "ref":
            assert ts.value is not None
            if ts.value in self.aliases:
                return self.resolve(self.aliases[ts.value])
            if ts.value in self.interfaces:
                return TsType("object", members=self.members_of(ts.value))
            raise TsParseError(f"unknown type {ts.value}")
        if ts.kind == "union":
            flat: list[TsType] = []
            for member in ts.items:
                resolved = self.resolve(member)
                flat.extend(resolved.items if resolved.kind == "union" else (resolved,))
            return flat[0] if len(flat) == 1 else TsType("union", items=tuple(flat))
        return ts

    def members_of(self, name: str) -> dict[str, tuple[bool, TsType]]:
        base, members = self.interfaces[name]
        return {**(self.members_of(base) if base else {}), **members}


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens: list[str] = []
        for match in _TOKEN.finditer(source):
            if match.lastgroup != "skip":
                self.tokens.append(match.group())
        if sum(len(m.group()) for m in _TOKEN.finditer(source)) != len(source):
            raise TsParseError("unrecognised characters in the source")
        self.pos = 0
        self.consts: dict[str, tuple[str, ...]] = {}

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if expected is not None and token != expected:
            near = " ".join(self.tokens[self.pos:self.pos + 8])
            raise TsParseError(f"expected {expected!r}, got {token!r} near {near}")
        if not token:
            raise TsParseError("unexpected end of file")
        self.pos += 1
        return token

    def name(self) -> str:
        token = self.take()
        if not re.fullmatch(r"[A-Za-z_$][\w$]*", token):
            raise TsParseError(f"expected a name, got {token!r}")
        return token

    def module(self) -> TsModule:
        interfaces: dict[str, tuple[str | None, dict[str, tuple[bool, TsType]]]] = {}
        aliases: dict[str, TsType] = {}
        while self.peek():
            if self.peek() == "export" and self.peek(1) == "interface":
                self.pos += 2
                name = self.name()
                base = None
                if self.peek() == "extends":
                    self.take()
                    base = self.name()
                interfaces[name] = (base, self.object_members())
            elif self.peek() == "export" and self.peek(1) == "type":
                self.pos += 2
                name = self.name()
                self.take("=")
                aliases[name] = self.type_expr()
            elif self.peek() == "export" and self.peek(1) == "const" and self.peek(3) == "=" and self.peek(4) == "[":
                self.pos += 2
                name = self.name()
                self.pos += 2
                values = []
                while self.peek() != "]":
                    values.append(self.string())
                    if self.peek() == ",":
                        self.take()
                self.take("]")
                self.take("as")
                self.take("const")
                self.consts[name] = tuple(values)
            else:
                self.pos += 1  # code (functions, other constants): not a type declaration
        return TsModule(interfaces, aliases, self.consts)

    def string(self) -> str:
        token = self.take()
        if token[:1] not in "\"'" or len(token) < 2:
            raise TsParseError(f"expected a string literal, got {token!r}")
        return token[1:-1]

    def object_members(self) -> dict[str, tuple[bool, TsType]]:
        self.take("{")
        members: dict[str, tuple[bool, TsType]] = {}
        while self.peek() != "}":
            key = self.string() if self.peek()[:1] in "\"'" else self.name()
            optional = self.peek() == "?"
            if optional:
                self.take()
            self.take(":")
            members[key] = (optional, self.type_expr())
            if self.peek() in (";", ","):
                self.take()
        self.take("}")
        return members

    def type_expr(self) -> TsType:
        if self.peek() == "|":
            self.take()
        options = [self.postfix()]
        while self.peek() == "|":
            self.take()
            options.append(self.postfix())
        return options[0] if len(options) == 1 else TsType("union", items=tuple(options))

    def postfix(self) -> TsType:
        ts = self.primary()
        while self.peek() == "[" and self.peek(1) == "]":
            self.pos += 2
            ts = TsType("array", items=(ts,))
        return ts

    def primary(self) -> TsType:
        token = self.peek()
        if token[:1] in "\"'":
            return TsType("literal", self.string())
        if token == "{":
            return TsType("object", members=self.object_members())
        if token == "(" and self.peek(1) == "typeof":
            self.pos += 2
            const = self.name()
            for expected in (")", "[", "number", "]"):
                self.take(expected)
            if const not in self.consts:
                raise TsParseError(f"typeof {const}: not an `as const` string tuple declared before")
            return TsType("union", items=tuple(TsType("literal", v) for v in self.consts[const]))
        if token == "(":
            self.take()
            inner = self.type_expr()
            self.take(")")
            return inner
        word = self.name()
        if word in PRIMITIVES:
            return TsType(word)
        if word == "Record":
            self.take("<")
            key = self.type_expr()
            self.take(",")
            value = self.type_expr()
            self.take(">")
            return TsType("record", items=(key, value))
        if self.peek() == "<":
            raise TsParseError(f"generic type {word}<...> is not understood")
        return TsType("ref", word)


def parse_module(source: str) -> TsModule:
    return _Parser(source).module()
