"""The one exception type that means "the user asked for something invalid"."""


class BenchError(Exception):
    """A user mistake (bad option, missing file, corrupt checkpoint).

    The CLI prints the message as one line and exits with status 2; everything else is a bug and
    keeps its traceback.
    """
