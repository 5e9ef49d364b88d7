"""``python -m lab``: the lab's command line."""

from lab.cli import app

app(prog_name="python -m lab")
