"""A stand-in for gantryd in the restart test: start a template, ask it for N shims
(every other one started with `gantry-shim start` instead, so both start paths are
covered), run a logging container in each, print the addresses as one JSON line, then
block in Wait calls until killed (the test SIGKILLs this whole process group).

    python -m tests.integration.shim.starter SHIM_ARGV0 WORKDIR RUNTIME RUNTIME_ROOT N
"""
import json
import os
import subprocess
import sys
import threading

from gantry.highlevel import shimclient

from tests.fixtures import bundle as bundles
from tests.fixtures import busybox

TICKER = "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.05; done"
EXITER = "echo bye; sleep 1; exit 7"


def main(shim, workdir, runtime, runtime_root, n):
    rootfs = busybox.cached_rootfs(workdir)
    template = shimclient.start_template(os.path.join(workdir, "tpl.sock"), executable=shim)
    t = shimclient.TemplateClient(os.path.join(workdir, "tpl.sock"))
    out = []
    for i in range(n):
        cid = "r%d" % i
        b = bundles.write_bundle(os.path.join(workdir, cid + ".b"), rootfs,
                                 bundles.default_config(["sh", "-c", EXITER if i == 0 else TICKER]))
        state, log = os.path.join(workdir, "s", cid), os.path.join(workdir, cid + ".log")
        if i % 2 == 0:
            r = t.spawn(cid, b, runtime, state, runtime_root=runtime_root, log_path=log)
            address, shim_pid = r.address, r.pid
        else:
            address = subprocess.run([shim, "start", "--id", cid, "--bundle", b, "--runtime", runtime, "--runtime-root",
                                      runtime_root, "--state-dir", state, "--log-path", log],
                                     check=True, capture_output=True, text=True).stdout.strip()
            with open(os.path.join(state, "shim.pid")) as f:
                shim_pid = int(f.read())
        c = shimclient.ShimClient(address)
        c.create()
        c.start()
        out.append({"id": cid, "address": address, "shim_pid": shim_pid, "pid": c.state().pid,
                    "state_dir": os.path.join(workdir, "s", cid), "log": os.path.join(workdir, cid + ".log")})
        threading.Thread(target=c.wait, daemon=True).start()  # like gantryd: blocked in Wait
    sys.stdout.write(json.dumps({"template_pid": template.pid, "shims": out}) + "\n")
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
