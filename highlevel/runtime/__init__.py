"""gantryd's container runtime: pods, containers, their OCI specs, shims and recovery."""
