"""The ``guanxi`` console script: a quick start for the analysts' file commands.

``guanxi.cli`` imports every domain (the web app, SQLAlchemy models, jobs), which takes seconds
before any command runs. ``guanxi clv ...`` needs none of that, only DuckDB, NumPy and SciPy,
so it goes straight to its own small Typer app; everything else goes to the full command, which
registers ``clv`` as well so ``guanxi --help`` lists it.
"""

from __future__ import annotations

import sys

LIGHT_COMMANDS = ("clv",)


def main() -> None:
    """Run ``guanxi``: the light file commands directly, anything else through ``guanxi.cli``."""
    args = sys.argv[1:]
    if args and args[0] in LIGHT_COMMANDS:
        from guanxi.analytics.clv_cli import run

        run(args[1:])
        return
    from guanxi.cli import main as full

    full()


if __name__ == "__main__":
    main()
