"""Stellwerk's benchmarks: gateway overhead against LiteLLM and the bare backend, router speed,
ledger write rate. Entry point: ``python -m benchmarks`` (``benchmarks/run.py``)."""
