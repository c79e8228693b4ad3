"""`python -m rlmx`: the `rlmx` command."""

from rlmx.cli import main

raise SystemExit(main())
