"""Governance: model lifecycle, compliance facts, use cases, keys, consent, and their audit trail.

The pure rules live in small modules here (``lifecycle``, ``compliance``, ``keys``); what may
serve a request at request time lives in ``stellwerk.policy``.
"""
