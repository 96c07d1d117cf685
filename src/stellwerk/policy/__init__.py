"""Policy: pure rules, importing no service. Which models may serve a request (lifecycle, consent,
compliance, classification vs hosting, department and use-case allow-lists) and whether the caller
is within its limits (the arithmetic, over counters that ``stellwerk.governance`` provides)."""
