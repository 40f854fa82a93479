"""A report as a list of blocks, rendered alike to HTML, Markdown and Word (.docx).

One document model keeps the formats in step: the 実施方針 (`workbench.report`) builds its
chapters once as `Block` values and every export renders the same text and tables. Images are
PNG (embedded in HTML and .docx, linked files in Markdown) or SVG (inline in HTML, linked in
Markdown). python-docx places raster pictures only: an SVG figure goes into the .docx as its
``raster`` PNG (drawn on demand, e.g. `workbench.scheme_figure`), else as its table (``header``,
``rows``), else as its text description.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any


@dataclass(frozen=True)
class Block:
    """One piece of the document.

    ``kind``: ``h`` (heading, ``level`` 1-4), ``p`` (paragraph), ``note`` (small print),
    ``ul`` (``items``), ``table`` (``header``, ``rows``, ``numeric`` columns right-aligned),
    ``image`` (``data`` PNG bytes or SVG text, ``fmt`` 'png' or 'svg', ``name`` its file name,
    ``text`` the caption, ``items`` a text description; for SVG, ``raster`` draws a PNG of it
    for Word (None when it cannot, e.g. no CJK font) and ``header``/``rows`` are its content as
    a table, Word's fallback).
    """

    kind: str
    text: str = ""
    level: int = 2
    items: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    numeric: frozenset[int] = frozenset()
    data: bytes | str = b""
    fmt: str = ""
    name: str = ""
    anchor: str = ""
    raster: Callable[[], bytes | None] | None = field(default=None, compare=False)


def h(text: str, level: int = 2, anchor: str = "") -> Block:
    """A heading."""
    return Block("h", text=text, level=level, anchor=anchor)


def p(text: str) -> Block:
    """A paragraph."""
    return Block("p", text=text)


def note(text: str) -> Block:
    """Small print."""
    return Block("note", text=text)


def ul(items: Iterable[str]) -> Block:
    """A bulleted list."""
    return Block("ul", items=tuple(items))


def table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = ()
) -> Block:
    """A table; cells become text; ``numeric`` columns are right-aligned."""
    return Block(
        "table",
        header=tuple(header),
        rows=tuple(tuple("" if c is None else str(c) for c in r) for r in rows),
        numeric=frozenset(numeric),
    )


def image(
    data: bytes | str,
    *,
    fmt: str,
    name: str,
    caption: str,
    description: Iterable[str] = (),
    raster: Callable[[], bytes | None] | None = None,
    as_table: tuple[Sequence[str], Iterable[Sequence[str]]] | None = None,
) -> Block:
    """A PNG (bytes) or SVG (text) figure; for an SVG, ``raster`` and ``as_table`` (header,
    rows) are what Word shows (see `Block`)."""
    header, rows = as_table if as_table is not None else ((), ())
    return Block(
        "image",
        data=data,
        fmt=fmt,
        name=name,
        text=caption,
        items=tuple(description),
        header=tuple(header),
        rows=tuple(tuple(r) for r in rows),
        raster=raster,
    )


@dataclass
class Document:
    """A titled list of blocks."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        """Append blocks."""
        self.blocks.extend(blocks)

    def images(self) -> list[Block]:
        """The image blocks (for writing their files beside the Markdown)."""
        return [b for b in self.blocks if b.kind == "image"]

    def plain_text(self) -> str:
        """Every visible text of the document (headings, paragraphs, lists, tables, captions,
        image descriptions), one line each: what a reader sees, for checks."""
        lines = [self.title]
        for b in self.blocks:
            lines.append(b.text)
            lines.extend(b.items)
            if b.kind == "table":
                lines.append(" ".join(b.header))
                lines.extend(" ".join(r) for r in b.rows)
        return "\n".join(line for line in lines if line)


_CSS = """
body { font-family: "Noto Sans JP", "Hiragino Sans", "Yu Gothic", sans-serif; max-width: 62em;
  margin: 2em auto; line-height: 1.6; color: #222; padding: 0 1em; }
h1 { border-bottom: 3px solid #1f4e79; font-size: 1.5em; }
h2 { border-left: 6px solid #1f4e79; padding-left: .4em; margin-top: 2em; font-size: 1.25em; }
h3 { font-size: 1.1em; } h4 { font-size: 1em; }
table { border-collapse: collapse; margin: .8em 0; } th, td { border: 1px solid #999;
  padding: .25em .6em; } th { background: #ddebf7; } td.n { text-align: right; }
.note { color: #555; font-size: .9em; } img, svg { max-width: 100%; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: .9em; }
"""


def render_html(doc: Document) -> str:
    """One self-contained HTML page (PNG embedded, SVG inline)."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="ja">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(doc.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(doc.title)}</h1>",
    ]
    for b in doc.blocks:
        if b.kind == "h":
            level = min(6, b.level)
            anchor = f' id="{escape(b.anchor)}"' if b.anchor else ""
            out.append(f"<h{level}{anchor}>{escape(b.text)}</h{level}>")
        elif b.kind == "p":
            out.append(f"<p>{escape(b.text)}</p>")
        elif b.kind == "note":
            out.append(f'<p class="note">{escape(b.text)}</p>')
        elif b.kind == "ul":
            out.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "table":
            head = "".join(f"<th>{escape(c)}</th>" for c in b.header)
            body = []
            for r in b.rows:
                cells = "".join(
                    f'<td class="n">{escape(c)}</td>' if j in b.numeric else f"<td>{escape(c)}</td>"
                    for j, c in enumerate(r)
                )
                body.append(f"<tr>{cells}</tr>")
            out.append(f"<table><tr>{head}</tr>{''.join(body)}</table>")
        elif b.kind == "image":
            if b.fmt == "svg":
                figure = str(b.data)
            else:
                data = b.data if isinstance(b.data, bytes) else b.data.encode()
                src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
                figure = f'<img src="{src}" alt="{escape(b.text)}">'
            out.append(f"<figure>{figure}<figcaption>{escape(b.text)}</figcaption></figure>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "｜").replace("\n", " ")


def render_markdown(doc: Document) -> str:
    """Markdown; images are linked by their ``name`` (written beside it by the caller)."""
    out = [f"# {doc.title}", ""]
    for b in doc.blocks:
        if b.kind == "h":
            out += ["#" * min(6, b.level) + " " + b.text, ""]
        elif b.kind in ("p", "note"):
            out += [b.text, ""]
        elif b.kind == "ul":
            out += [f"- {i}" for i in b.items] + [""]
        elif b.kind == "table":
            out.append("| " + " | ".join(_md_cell(c) for c in b.header) + " |")
            out.append(
                "|"
                + "|".join("---:" if j in b.numeric else "---" for j in range(len(b.header)))
                + "|"
            )
            out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in b.rows]
            out.append("")
        elif b.kind == "image":
            out += [f"![{b.text}]({b.name})", ""]
            if b.items:
                out += [f"- {i}" for i in b.items] + [""]
    return "\n".join(out).rstrip() + "\n"


def render_docx(doc: Document) -> bytes:
    """A Word document (python-docx): headings, paragraphs, lists, tables, PNG figures; SVG
    figures as their PNG drawing, else their table, else their description (see `Block`)."""
    from docx import Document as Docx
    from docx.shared import Cm, Pt

    word = Docx()
    style = word.styles["Normal"]
    style.font.size = Pt(10.5)
    word.add_heading(doc.title, level=0)
    for b in doc.blocks:
        if b.kind == "h":
            word.add_heading(b.text, level=min(4, b.level))
        elif b.kind == "p":
            word.add_paragraph(b.text)
        elif b.kind == "note":
            run = word.add_paragraph().add_run(b.text)
            run.font.size = Pt(9)
        elif b.kind == "ul":
            for item in b.items:
                word.add_paragraph(item, style="List Bullet")
        elif b.kind == "table":
            _docx_table(word, b.header, b.rows)
        elif b.kind == "image":
            png: bytes | None = None
            if b.fmt == "png":
                png = b.data if isinstance(b.data, bytes) else b.data.encode()
            elif b.raster is not None:
                png = b.raster()
            if png:
                word.add_picture(io.BytesIO(png), width=Cm(15))
            elif b.rows:
                _docx_table(word, b.header, b.rows)
            word.add_paragraph(b.text)
            if not png and not b.rows:
                for item in b.items:
                    word.add_paragraph(item, style="List Bullet")
    buf = io.BytesIO()
    word.save(buf)
    return buf.getvalue()


def _docx_table(word: Any, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    t = word.add_table(rows=1, cols=len(header))
    t.style = "Table Grid"
    for j, c in enumerate(header):
        t.rows[0].cells[j].text = c
    for r in rows:
        cells = t.add_row().cells
        for j, c in enumerate(r):
            cells[j].text = c
