pytest_plugins = [
    "tests.fixtures.llama",
    "tests.fixtures.gateway",
    "tests.fixtures.redis",
    "tests.fixtures.databases",
    "tests.fixtures.embed_router",
    "tests.fixtures.logging_state",
]
