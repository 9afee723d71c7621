"""Reading reference lists: tokens, the trained labeller."""
