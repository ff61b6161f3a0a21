"""pids controller: linux.resources.pids.limit (0 = leave alone, negative = no limit)."""


def v1(pids):
    limit = (pids or {}).get("limit") or 0
    if not limit:
        return []
    return [("pids.max", str(limit) if limit > 0 else "max")]


v2 = v1


def stats(read):
    limit = (read("pids.max") or "max").strip()
    return {"current": int(read("pids.current") or 0), "limit": 0 if limit == "max" else int(limit)}
