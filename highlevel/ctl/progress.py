"""Pull progress as text, pure: per-layer bars for a terminal, one line otherwise.

Input is the document gantryd publishes while a pull runs (highlevel/cri/pull_progress.py):
``{"ref", "done", "total", "blobs": {digest: [done, total]}}``.  ``bars`` gives one line per
blob plus a total; TerminalBars redraws them in place (cursor up, erase line).
"""
from .output import human_size

BAR_WIDTH = 30


def bar(done, total, width=BAR_WIDTH):
    """``[=========>          ]``; an unknown total shows an empty bar."""
    if not total:
        return "[" + " " * width + "]"
    filled = min(width, int(width * done / total))
    if filled >= width:
        return "[" + "=" * width + "]"
    return "[" + "=" * filled + ">" + " " * (width - filled - 1) + "]"


def blob_state(done, total):
    if total and done >= total:
        return "done"
    return "waiting" if not done else "downloading"


def bars(doc, width=BAR_WIDTH):
    """The lines for one progress document: one per blob (short digest), then the total."""
    lines = []
    for digest, (done, total) in sorted(doc["blobs"].items()):
        short = digest.split(":", 1)[-1][:12]
        lines.append("%s: %-11s %s %9s/%s" % (short, blob_state(done, total), bar(done, total, width),
                                              human_size(done), human_size(total) if total else "?"))
    lines.append("%s: %s %9s/%s" % ("total".ljust(12), " " * 11 + bar(doc["done"], doc["total"], width),
                                    human_size(doc["done"]), human_size(doc["total"])))
    return lines


class TerminalBars:
    """Redraws a block of lines in place on a terminal stream."""

    def __init__(self, stream):
        self.stream = stream
        self.shown = 0

    def draw(self, lines):
        out = []
        if self.shown:
            out.append("\x1b[%dF" % self.shown)       # to the start of the block
        out.extend("\x1b[2K" + line + "\n" for line in lines)
        for _ in range(self.shown - len(lines)):        # a shorter block: blank what is left
            out.append("\x1b[2K\n")
        self.stream.write("".join(out))
        self.stream.flush()
        self.shown = max(self.shown, len(lines))
