"""The dashboard: server-rendered pages over the read side, served at ``/`` by the same app.

Pages work without JavaScript (forms with GET parameters keep ``as_of`` and ``known_at`` in the
URL); the scripts in ``static/`` only add the date sliders, keyboard moves in the matrix and the
live event list. Nothing is loaded from another host.
"""

from service.web.mount import install_dashboard

__all__ = ["install_dashboard"]
