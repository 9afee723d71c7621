"""What pnet-pubmed writes for people and other tools: export formats."""
