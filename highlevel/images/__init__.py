"""Images: references, registry pull, content store, unpacking, overlay snapshots, metadata."""
