"""Look-ups in the container's /etc/passwd (after pivot_root) and --user parsing."""


def home_of(uid, passwd="/etc/passwd"):
    try:
        with open(passwd) as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 6 and parts[2] == str(uid):
                    return parts[5] or "/"
    except OSError:
        pass
    return "/"


def parse_user(text):
    """--user uid[:gid] -> {"uid": int, "gid": int}; names are not resolved (runc accepts numbers only)."""
    uid, _, gid = text.partition(":")
    try:
        return {"uid": int(uid), "gid": int(gid) if gid else 0}
    except ValueError:
        raise ValueError("--user %r: expected uid[:gid] as numbers" % text) from None
