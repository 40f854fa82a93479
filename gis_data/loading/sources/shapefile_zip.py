"""Zipped (or plain) Shapefile reader, honouring .cpg files and Shift-JIS/cp932 attribute tables.

The attribute encoding is, in order: the scenario's ``encoding``, the ``.cpg`` file, the
dBase language driver id in the ``.dbf`` header, else UTF-8. It is always passed to the
reader explicitly, so bytes that do not decode raise a clear error naming the file instead
of silently turning into mojibake (GDAL's default for a ``.dbf`` without ``.cpg`` is Latin-1).
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

import geopandas as gpd

from gis_data.loading.errors import Problem
from gis_data.loading.sources import ReadOptions, SourceError
from gis_data.loading.sources._ogr import read_layer_checked

# dBase language driver ids that name a Japanese or Unicode code page.
_LDID_ENCODINGS = {0x13: "cp932", 0x7B: "cp932", 0x4D: "gbk", 0x57: "latin-1", 0x01: "cp437"}
_CPG_ALIASES = {"shift_jis": "cp932", "sjis": "cp932", "shift-jis": "cp932", "932": "cp932"}


def _encoding_from(cpg: bytes | None, dbf_header: bytes) -> tuple[str, str]:
    if cpg is not None:
        text = cpg.decode("ascii", errors="replace").strip()
        if text:
            return _CPG_ALIASES.get(text.lower(), text), ".cpg file"
    if len(dbf_header) > 29 and dbf_header[29] in _LDID_ENCODINGS:
        return _LDID_ENCODINGS[dbf_header[29]], ".dbf language driver id"
    return "utf-8", "default"


def _check_encoding(name: str) -> None:
    try:
        "".encode(name)
    except LookupError as exc:
        raise SourceError(f"unknown encoding {name!r}", field="encoding") from exc


def read(path: Path, label: str, options: ReadOptions) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read the Shapefile (the one named by ``layer`` when the zip holds several)."""
    if path.suffix.lower() == ".shp":
        cpg_path = path.with_suffix(".cpg")
        dbf_path = path.with_suffix(".dbf")
        cpg = cpg_path.read_bytes() if cpg_path.exists() else None
        header = dbf_path.read_bytes()[:32] if dbf_path.exists() else b""
        source = str(path)
        member = path.name
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                members = archive.namelist()
                shps = sorted(m for m in members if m.lower().endswith(".shp"))
                if not shps:
                    raise SourceError("the zip file holds no .shp file")
                if options.layer is not None:
                    chosen = [m for m in shps if PurePosixPath(m).stem == options.layer]
                    if not chosen:
                        names = [PurePosixPath(m).stem for m in shps]
                        msg = f"no shapefile {options.layer!r} in the zip; it holds {names}"
                        raise SourceError(msg, field="layer")
                    shp = chosen[0]
                elif len(shps) > 1:
                    names = [PurePosixPath(m).stem for m in shps]
                    raise SourceError(
                        f"the zip holds shapefiles {names}: name one with layer = ...",
                        field="layer",
                    )
                else:
                    shp = shps[0]
                stem = shp[:-4]
                lower = {m.lower(): m for m in members}
                cpg_name = lower.get(f"{stem}.cpg".lower())
                dbf_name = lower.get(f"{stem}.dbf".lower())
                cpg = archive.read(cpg_name) if cpg_name else None
                header = archive.read(dbf_name)[:32] if dbf_name else b""
        except zipfile.BadZipFile as exc:
            raise SourceError(f"not a readable zip file: {exc}") from exc
        source = f"/vsizip/{path}/{shp}"
        member = shp
    encoding, origin = (
        (options.encoding, "scenario") if options.encoding else _encoding_from(cpg, header)
    )
    _check_encoding(encoding)
    what = f"attribute table of {member} ({origin} encoding)"
    return read_layer_checked(source, layer=None, encoding=encoding, what=what, label=label)
