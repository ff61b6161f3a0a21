"""gantryd: the CRI daemon (images, pods, containers, streaming) and gantryctl."""
