pytest_plugins = ["tests.fixtures.llama", "tests.fixtures.gateway"]
