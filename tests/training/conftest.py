"""The routing fixtures (outcome data, a trained artifact) are shared with the routing tests."""

from tests.routing.data_fixtures import open9_slice, routing_data, trained, trained_dir

__all__ = ["open9_slice", "routing_data", "trained", "trained_dir"]
