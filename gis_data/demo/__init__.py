"""Demo data: Liechtenstein towns' assets in several file formats, and two scenario configs."""
