"""`python -m s5ts`: the `s5ts` command line."""

from ._cli import main


raise SystemExit(main())
