"""The registry side of a pull: auth, manifests, platforms, hosts.toml (pure) and the HTTP client."""
