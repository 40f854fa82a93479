"""GeoPackage reader: one layer per source (named in the scenario when the file has several)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from gis_data.loading.errors import Problem
from gis_data.loading.sources import ReadOptions, SourceError
from gis_data.loading.sources._ogr import list_layers, read_layer_checked


def read(path: Path, label: str, options: ReadOptions) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read the configured layer (or the only layer) of a GeoPackage with its CRS."""
    layers = list_layers(path, "GeoPackage")
    layer = options.layer
    if layer is None:
        if len(layers) != 1:
            msg = f"the GeoPackage has layers {layers}: name one with layer = ..."
            raise SourceError(msg, field="layer")
        layer = layers[0]
    elif layer not in layers:
        raise SourceError(
            f"no layer {layer!r} in the GeoPackage; layers are {layers}", field="layer"
        )
    what = f"GeoPackage layer {layer!r}"
    return read_layer_checked(path, layer=layer, encoding=None, what=what, label=label)
