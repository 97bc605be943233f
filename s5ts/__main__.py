"""`python -m s5ts`: the `s5ts` command line."""

from .cli import main


raise SystemExit(main())
