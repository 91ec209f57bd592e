"""``python -m service`` is the ``stance`` command."""

from service.cli import app

app(prog_name="stance")
