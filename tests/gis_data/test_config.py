"""Scenario TOML errors name the file and the key; good configs resolve paths and defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from gis_data.loading.config import read_config
from gis_data.loading.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        (
            '[[municipality]]\ncode = "A"\n[[municipality.source]]\nfiel = "x.geojson"\n',
            "municipality[0].source[0].fiel",
            "unknown key",
        ),
        (
            '[[municipality]]\ncode = "A"\n[[municipality.source]]\n'
            'file = "x.geojson"\nfield = "roads"\n',
            "municipality[0].source[0].field",
            "unknown field 'roads'",
        ),
        (
            '[[municipality]]\ncode = "A"\n[[municipality.source]]\nfile = "x.dxf"\n',
            "municipality[0].source[0].format",
            "unknown format",
        ),
        ('[[municipality]]\nname = "A"\n', "municipality[0].code", "is required"),
        ('[[municipality]]\ncode = "A"\npopulation = -5\n', "municipality[0].population", ">= 0"),
        (
            '[[municipality]]\ncode = "A"\n[[municipality]]\ncode = "A"\n',
            "municipality[1].code",
            "listed twice",
        ),
        (
            '[[municipality]]\ncode = "A"\n[network]\nbuffer_m = "far"\n',
            "network.buffer_m",
            "must be a number",
        ),
        (
            '[[municipality]]\ncode = "A"\n[[depot]]\nlon = 200\nlat = 47\n',
            "depot[0].lon",
            "not a lon/lat",
        ),
        (
            '[[municipality]]\ncode = "A"\n[[municipality.source]]\n'
            'file = "x.csv"\ndefaults = { side = "left" }\n',
            "municipality[0].source[0].defaults.side",
            "must be one of",
        ),
        ("name = \n", None, "invalid TOML"),
        ('name = "empty"\n', "municipality", "no municipality"),
    ],
)
def test_config_errors_name_file_and_key(
    tmp_path: Path, text: str, key: str | None, words: str
) -> None:
    """Each bad config raises ConfigError with the file, the key path and a clear message."""
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        read_config(path)
    assert caught.value.key == key
    assert str(path) in str(caught.value)
    assert words in str(caught.value)


def test_missing_config_file(tmp_path: Path) -> None:
    """A missing TOML is a ConfigError naming it."""
    with pytest.raises(ConfigError, match="cannot read"):
        read_config(tmp_path / "absent.toml")


def test_paths_formats_and_defaults(tmp_path: Path) -> None:
    """Relative paths resolve against the TOML's folder; format comes from the extension."""
    path = _write(
        tmp_path,
        '[network]\nosm = "net.osm.pbf"\n[[municipality]]\ncode = "A"\n'
        '[[municipality.source]]\nfile = "sub/a.zip"\nlayer = "roads"\n'
        'columns = { "路線名" = "name" }\n',
    )
    config = read_config(path)
    source = config.municipalities[0].sources[0]
    assert source.file == tmp_path / "sub" / "a.zip"
    assert source.format == "shapefile_zip"
    assert source.columns == {"路線名": "name"}
    assert config.network_osm == tmp_path / "net.osm.pbf"
    assert config.network_buffer_m == 1000.0
    assert config.outside_tolerance_m == 2000.0
