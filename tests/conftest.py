pytest_plugins = ["tests.fixtures.llama"]
