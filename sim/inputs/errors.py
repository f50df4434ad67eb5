"""User-facing errors: the CLI turns these into one clear message and exit code 2."""


def _one_line(text: str) -> str:
    """Control characters (a newline in a key, a stray carriage return) shown escaped, so that
    a message is always one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class InputError(Exception):
    """Bad input: a file, the field path inside it, and what was expected."""

    def __init__(self, file: str | None, path: str | None, message: str):
        self.file, self.path, self.message = file, path, message
        where = ": ".join(x for x in (str(file) if file else None, path) if x)
        text = f"{where}: {message}" if where else message
        super().__init__(_one_line(text))


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during long work, with what was written by then (for the one line the
    CLI prints)."""

    def __init__(self, written: str, cause: BaseException | None = None):
        self.written = written
        self.signal_name = getattr(cause, "signal_name", "interrupted")
        super().__init__(written)


_pending: list[str] = []  # the signals received ("interrupted", "terminated"), newest last


def on_signal(name: str) -> None:
    """Note a Ctrl-C or SIGTERM and raise it: called by the CLI's signal handlers."""
    _pending.append(name)
    raise _SIGNALLED[name]()


def raise_if_signalled() -> None:
    """Raise again a Ctrl-C or SIGTERM that some library swallowed (an `except BaseException`,
    a weak-reference callback during an import): called before a result is put in place and
    between runs, so that an interrupt is never lost and never leaves half a result."""
    if _pending:
        raise _SIGNALLED[_pending[-1]]()


def pending_signal() -> str | None:
    """The newest Ctrl-C or SIGTERM received since the command started ("interrupted",
    "terminated"), or None: an error that escapes after one is the interrupt's doing (a C
    extension's import turns a KeyboardInterrupt into "ImportError: initialization failed")."""
    return _pending[-1] if _pending else None


def clear_signals() -> None:
    _pending.clear()


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that staging folders and worker processes are
    cleaned up as for Ctrl-C."""

    signal_name = "terminated"


_SIGNALLED = {"interrupted": KeyboardInterrupt, "terminated": Terminated}
