"""The CLI tests read the same slices of the real outcome data as the routing tests."""

from tests.routing.data_fixtures import open9_slice, routing_data, trained_dir

__all__ = ["open9_slice", "routing_data", "trained_dir"]
