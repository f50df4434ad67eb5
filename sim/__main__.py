"""`python -m sim ...` is the same as `innosim ...` (both start here)."""

import sys


def run() -> int:
    """The command line, with Ctrl-C during start-up (while modules load) as one line too."""
    try:
        from sim.app.cli import main
    except KeyboardInterrupt:
        print("innosim: interrupted; no output written", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(run())
