"""Routing: which allowed model should answer a request, and why."""
