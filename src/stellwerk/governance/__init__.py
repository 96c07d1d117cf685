"""Governance: the stateful services over the database, above ``stellwerk.policy`` (whose pure
rules they apply): what an administrator changes (``admin``: the catalog's lifecycle and consent,
keys, use cases, limits, each change audited), what a request reads (``snapshot``), the rate limit
and budget counters (``counters``, ``redis_counters``), and ``service.Governance``, which starts,
reloads and seeds them.
"""
