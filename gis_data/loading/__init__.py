"""Reading and validating scenario files: asset schema, scenario TOML, readers, validation, CRS."""
