"""`python -m localdev` (what `make dev` runs): the local server."""

from localdev.server import main

main()
