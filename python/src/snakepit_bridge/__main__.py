"""Entry point: ``python -m snakepit_bridge [serve] --adapter pkg.mod:Class ...`` (see cli.py)."""

from .cli import main

if __name__ == "__main__":
    main()
