"""Demo data: Liechtenstein municipalities' assets in several file formats, and two scenario configs."""
