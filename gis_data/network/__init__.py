"""The road network and matching: graphs, assets matched to streets, CarpData adapters, GPS logs,
route exports."""
