"""Benchmarks: readers for the instances in ../shared/bench and the tables `make bench` prints."""
