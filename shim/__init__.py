"""gantry-shim: one process per container that owns the container for its life."""
