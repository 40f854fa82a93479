"""Geodata layer: asset schema, loaders, validation, CRS, road network, optimizer adapters."""
