"""User-facing errors: the CLI turns these into one clear message and exit code 2."""


class InputError(Exception):
    """Bad input: a file, the field path inside it, and what was expected."""

    def __init__(self, file: str | None, path: str | None, message: str):
        self.file, self.path, self.message = file, path, message
        where = ": ".join(x for x in (str(file) if file else None, path) if x)
        super().__init__(f"{where}: {message}" if where else message)
