"""Stellwerk: a self-hosted AI router for an organisation's own open models."""

__version__ = "0.1.0"
