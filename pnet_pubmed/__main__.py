"""`python -m pnet_pubmed`: the same as the pnet-pubmed command."""

from .cli import main

main()
