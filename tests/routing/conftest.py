"""Routing fixtures live in ``data_fixtures`` so that the CLI tests can share them."""

from tests.routing.data_fixtures import open9_slice, routing_data, trained, trained_dir

__all__ = ["open9_slice", "routing_data", "trained", "trained_dir"]
