"""Free-text reference lists: split into entries, each entry read into its fields."""
