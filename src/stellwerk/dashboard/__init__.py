"""The governance dashboard: server-rendered pages over the ledger, the catalog and governance.

``install_dashboard(app, config, environ)`` mounts it on the gateway under ``/dashboard``. Pages
are Jinja2 templates with charts drawn as inline SVG on the server: no JavaScript framework, no
CDN, no web fonts, so the dashboard works on a network with no internet at all.
"""

from stellwerk.dashboard.app import install_dashboard

__all__ = ["install_dashboard"]
