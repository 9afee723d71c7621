"""`python -m pnet_pubmed.cli`: the same as the pnet-pubmed command."""

from .app import main

main()
