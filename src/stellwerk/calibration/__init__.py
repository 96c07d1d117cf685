"""Calibration: measure the organisation's own models on a bank of prompts with reference answers,
grade every answer, store the record, and refit the router with what was measured."""
