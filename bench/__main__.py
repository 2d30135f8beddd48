"""`python -m bench`: the command line (bench/cli/)."""

import signal
import sys

# Importing the command line takes seconds (torch): a Ctrl-C or SIGTERM meanwhile ends quietly with the
# usual exit code instead of an import traceback. main() handles signals from then on.
signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(130))
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))

from bench.cli.main import main  # noqa: E402  (after the handlers, on purpose)

signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)

if __name__ == "__main__":
    sys.exit(main())
