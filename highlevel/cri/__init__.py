"""The CRI runtime.v1 gRPC services of gantryd (thin adapters over the domain modules)."""
