"""The CLI tests read the same slices of the real outcome data as the routing tests, and start
model servers as the configurator's tests do."""

from tests.configurator.model_server import model_servers
from tests.routing.data_fixtures import open9_slice, routing_data, trained_dir

__all__ = ["model_servers", "open9_slice", "routing_data", "trained_dir"]
