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
