"""`python -m sim ...` is the same as `innosim ...` (both start here)."""

import sys


def run() -> int:
    """The command line, with Ctrl-C during start-up (while modules load, before the command
    installs its own handlers) as one line too: nothing has been written then."""
    try:
        from sim.app import cli

        return cli.main()
    except KeyboardInterrupt:
        started = "cli" in locals() and cli.DISPATCHED
        print("innosim: interrupted" + ("" if started else "; no output written"), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(run())
