"""gantry-oci: an OCI runtime with a runc-compatible command line.

Imports nothing from the rest of Gantry.  Start-up time matters (one process
per container operation), so modules import only what their command needs.
"""
