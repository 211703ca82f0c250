"""Griffe extension for the docs build: the reST bits of our numpy docstrings, as Markdown.

The docstrings in ``src/`` use a few reStructuredText constructs that Sphinx users (and
``help()``) read well but Markdown does not: ``:math:`x```, ``.. math::`` blocks, ``.. [1]``
citations and the cross-reference roles ``:func:``, ``:class:``, ``:mod:``, ``:data:``,
``:attr:``, ``:meth:``, ``:exc:``. This extension rewrites them into ``$x$`` / ``$$ ... $$``
(rendered by pymdownx.arithmatex + MathJax), a list and inline code, only in the copy that
griffe hands to mkdocstrings: the source files are not touched. Loaded from mkdocs.yml
(``plugins: mkdocstrings: handlers: python: options: extensions``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_XREF_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|data|attr|meth|exc|obj):`(~?)([^`]+)`")
_MATH_DIRECTIVE = re.compile(r"^(\s*)\.\. math::\s*(.*)$")
_CITATION = re.compile(r"^(\s*)\.\. \[(\w+)\]\s+", re.MULTILINE)


def _xref(match: re.Match[str]) -> str:
    tilde, target = match.group(1), match.group(2).strip()
    if "<" in target and target.endswith(">"):  # :func:`title <target>`
        target = target.split("<", 1)[0].strip()
    if tilde:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _math_blocks(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _MATH_DIRECTIVE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        pad, first = m.group(1), m.group(2)
        body = [first.strip()] if first.strip() else []
        i += 1
        block: list[str] = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > len(pad)):
            block.append(lines[i])
            i += 1
        while block and not block[-1].strip():
            block.pop()
        body += [ln.strip() for ln in block if ln.strip()]
        if out and out[-1].strip():
            out.append("")
        out += [f"{pad}$$", *(f"{pad}{ln}" for ln in body), f"{pad}$$", ""]
        while i < len(lines) and not lines[i].strip():
            i += 1
    return "\n".join(out)


def rst_to_markdown(text: str) -> str:
    """Rewrite the reST roles and math directives of one docstring as Markdown."""
    if ".. math::" in text:
        text = _math_blocks(text)
    text = _CITATION.sub(lambda m: f"{m.group(1)}- [{m.group(2)}] ", text)
    text = _MATH_ROLE.sub(lambda m: f"${m.group(1).strip()}$", text)
    return _XREF_ROLE.sub(_xref, text)


class RstRoles(griffe.Extension):
    """Rewrite each docstring as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
