"""Entry point: ``python -m snakepit_bridge --adapter pkg.mod:Class --listen ADDRESS``."""

from .cli import main

if __name__ == "__main__":
    main()
