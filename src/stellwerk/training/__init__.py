"""Training: the learned router made offline from outcome data (``data/routing/``, a calibration's
outcomes): reading the data, fitting the quality model, evaluating and plotting it, and judging it
on a task it never saw. Nothing here runs per request; the router the gateway decides with, and
the artifact it loads, are in ``routing``."""
