"""One module per group of tools; each defines ``toolbox`` and is picked up automatically."""
