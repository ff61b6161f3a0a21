"""gantryctl's command line: the argparse tree, and the handler each command runs.

Only argparse is imported here; a handler's module (and grpc, protobuf, yaml,
wsproto) is imported when its command runs, so ``gantryctl --help`` and
completion stay fast.  HANDLERS maps a command to ``module:function``.
"""
import argparse

from .client import DEFAULT_ENDPOINT, default_endpoint

VERSION = "0.1.0"

EPILOG = """\
examples:
  gantryctl pull busybox                      pull with per-layer progress
  gantryctl run --rm busybox echo hello       pod + container, output, exit code
  gantryctl run -d --name web -p 8080:80 nginx
  gantryctl ps -a                             containers; pods: gantryctl pods
  gantryctl logs -f --tail 20 web             follow a container's CRI log
  gantryctl exec -it web sh                   a shell in it (streaming URL, WebSocket)
  gantryctl --endpoint unix:///run/containerd/containerd.sock images

The endpoint is --endpoint, else $GANTRY_ENDPOINT, else %s.
Every command takes -o table|json|yaml.  Errors are one line on stderr, exit status 1.
Shell completion: source <(gantryctl completion bash)
""" % DEFAULT_ENDPOINT

HANDLERS = {
    "version": "images:cmd_version", "info": "images:cmd_info", "pull": "images:cmd_pull",
    "images": "images:cmd_images", "inspecti": "images:cmd_inspecti", "rmi": "images:cmd_rmi",
    "import": "archive:cmd_import", "export": "archive:cmd_export",
    "runp": "pods:cmd_runp", "pods": "pods:cmd_pods", "inspectp": "pods:cmd_inspectp",
    "stopp": "pods:cmd_stopp", "rmp": "pods:cmd_rmp",
    "create": "containers:cmd_create", "start": "containers:cmd_start", "stop": "containers:cmd_stop",
    "rm": "containers:cmd_rm", "ps": "containers:cmd_ps", "inspect": "containers:cmd_inspect",
    "logs": "logs:cmd_logs", "exec": "attach:cmd_exec", "attach": "attach:cmd_attach",
    "port-forward": "portforward:cmd_port_forward",
    "stats": "stats:cmd_stats", "events": "events:cmd_events", "run": "run:cmd_run",
    "completion": "completion:cmd_completion", "build": "build:cmd_build",
    "tag": "imagetools:cmd_tag", "commit": "imagetools:cmd_commit", "push": "imagetools:cmd_push",
}
NO_CLIENT = {"completion", "import", "export"}


def build_parser():
    p = argparse.ArgumentParser(prog="gantryctl", description="A CRI client for operators: gantryd, containerd, "
                                "CRI-O or any runtime.v1 endpoint.", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="store_true", help="print gantryctl's version (the runtime's: gantryctl version)")
    p.add_argument("--endpoint", "--address", dest="endpoint", default=None, metavar="ENDPOINT",
                   help="CRI socket: a path or unix:///path (default: $GANTRY_ENDPOINT or %s)" % DEFAULT_ENDPOINT)
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="seconds per CRI call (pull: at least 30 minutes; default 30)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table",
                        help="output format (default: table)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def cmd(name, help, example=None):
        return sub.add_parser(name, help=help, description=help, parents=[common],
                              epilog=("example:\n  " + example) if example else None,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    _image_commands(cmd)
    _pod_commands(cmd)
    _container_commands(cmd)
    _stream_commands(cmd)
    _run_command(cmd)
    _build_command(cmd)
    c = cmd("completion", "print a shell completion script", "source <(gantryctl completion bash)")
    c.add_argument("shell", choices=("bash",))
    return p


def _image_commands(cmd):
    cmd("version", "runtime name and versions", "gantryctl version")
    cmd("info", "runtime status, conditions, handlers and its verbose info", "gantryctl info -o yaml")
    c = cmd("pull", "pull an image (per-layer progress on a terminal)", "gantryctl pull --creds me:pw 127.0.0.1:5000/x:1")
    c.add_argument("ref", metavar="IMAGE")
    c.add_argument("--creds", metavar="USER:PASS", help="registry credentials")
    c.add_argument("--progress", action="store_true", help="progress lines on stderr even when it is not a terminal")
    c = cmd("images", "list images", "gantryctl images busybox")
    c.add_argument("ref", nargs="?", metavar="IMAGE", help="only images this reference names")
    c.add_argument("-q", "--quiet", action="store_true", help="only image ids")
    c = cmd("inspecti", "image status (verbose)", "gantryctl inspecti busybox")
    c.add_argument("ref", metavar="IMAGE")
    c = cmd("rmi", "remove images by id, tag or digest", "gantryctl rmi busybox")
    c.add_argument("refs", nargs="+", metavar="IMAGE")
    root_help = "gantryd's image store (default: asked from gantryd's Status, else /var/lib/gantry/images)"
    c = cmd("import", "import an OCI layout (directory or tar) or a docker-save tar into gantryd's store",
            "gantryctl import --base-name 127.0.0.1:5000/app ./layout   # refs named only by a tag")
    c.add_argument("source", metavar="PATH")
    c.add_argument("--base-name", metavar="NAME",
                   help="repository for layout entries whose ref annotation is only a tag (e.g. \"1.0\"); "
                        "default: the file name of PATH")
    c.add_argument("--root", metavar="DIR", help=root_help)
    c = cmd("export", "export images as an OCI layout, an oci-archive tar or a docker-save tar",
            "gantryctl export --oci-archive busybox.tar busybox")
    target = c.add_mutually_exclusive_group(required=True)
    target.add_argument("--oci", metavar="DIR", help="an OCI image layout directory")
    target.add_argument("--oci-archive", metavar="FILE", help="an OCI image layout as a tar")
    target.add_argument("--docker", metavar="FILE", help="a docker save tar")
    c.add_argument("refs", nargs="+", metavar="IMAGE")
    c.add_argument("--root", metavar="DIR", help=root_help)
    _image_tool_commands(cmd)


def _image_tool_commands(cmd):
    """gantryd's ImageTools service (not CRI): tag, commit, push."""
    c = cmd("tag", "give an image more names (gantryd only)", "gantryctl tag busybox 127.0.0.1:5000/me/box:1")
    c.add_argument("source", metavar="IMAGE")
    c.add_argument("targets", nargs="+", metavar="NAME")
    c = cmd("commit", "a container's changes as a new image (gantryd only)",
            "gantryctl commit --change 'CMD [\"sh\"]' web 127.0.0.1:5000/me/web:2")
    c.add_argument("container", metavar="CONTAINER")
    c.add_argument("name", nargs="?", metavar="NAME", help="name of the new image (default: its id only)")
    c.add_argument("-c", "--change", action="append", metavar="INSTRUCTION",
                   help="Dockerfile-style config edit: CMD, ENTRYPOINT, ENV, LABEL, EXPOSE, VOLUME, USER, "
                        "WORKDIR, STOPSIGNAL, ONBUILD (repeatable)")
    c.add_argument("-m", "--message", help="commit message (the history entry's comment)")
    c.add_argument("-a", "--author", help="author of the new layer")
    c.add_argument("--compression", choices=("gzip", "zstd", "none"), default="gzip")
    c.add_argument("--source-date-epoch", type=int, metavar="SECONDS",
                   help="clamp mtimes to it and date the image at it (reproducible commits)")
    c = cmd("push", "push an image to a registry (gantryd only)",
            "gantryctl push --tls-verify=false 127.0.0.1:5000/me/web:2")
    c.add_argument("image", metavar="IMAGE")
    c.add_argument("target", nargs="?", metavar="DESTINATION", help="push under another name")
    c.add_argument("--creds", metavar="USER:PASS", help="registry credentials")
    c.add_argument("--tls-verify", default="true", metavar="true|false",
                   help="false: skip certificate checks and allow plain HTTP (default true)")
    c.add_argument("--chunk-size", type=int, metavar="BYTES",
                   help="upload blobs larger than this in chunks of this size (default: one request per blob)")
    c.add_argument("--progress", action="store_true", help="progress lines on stderr even when it is not a terminal")


def _pod_commands(cmd):
    c = cmd("runp", "run a pod sandbox from a config file (JSON or YAML, like crictl) or flags",
            "gantryctl runp pod.yaml        gantryctl runp --name web -p 8080:80")
    c.add_argument("config", nargs="?", metavar="CONFIG", help="PodSandboxConfig as JSON or YAML ('-': stdin)")
    c.add_argument("--name", help="pod name (default: random)")
    c.add_argument("--namespace", default="default")
    c.add_argument("--hostname")
    c.add_argument("-l", "--label", action="append", default=[], metavar="K=V")
    c.add_argument("-p", "--publish", action="append", default=[], metavar="[IP:]HOST:CTR[/PROTO]")
    c.add_argument("--log-dir", metavar="DIR", help="the pod's log directory")
    c.add_argument("--runtime", metavar="HANDLER", default="", help="runtime handler")
    c = cmd("pods", "list pod sandboxes", "gantryctl pods --state ready -q")
    _filters(c, pod=False)
    c.add_argument("--namespace")
    c = cmd("inspectp", "pod sandbox status (verbose)", "gantryctl inspectp web")
    c.add_argument("pods", nargs="+", metavar="POD")
    c = cmd("stopp", "stop pod sandboxes", "gantryctl stopp web")
    c.add_argument("pods", nargs="*", metavar="POD")
    c.add_argument("-a", "--all", action="store_true", help="every pod")
    c = cmd("rmp", "remove pod sandboxes (-f: stop them first)", "gantryctl rmp -af")
    c.add_argument("pods", nargs="*", metavar="POD")
    c.add_argument("-a", "--all", action="store_true", help="every pod")
    c.add_argument("-f", "--force", action="store_true", help="stop running pods first")


def _container_commands(cmd):
    c = cmd("create", "create a container in a pod from a ContainerConfig (JSON or YAML)",
            "gantryctl create POD ctr.yaml [--pod-config pod.yaml]")
    c.add_argument("pod", metavar="POD")
    c.add_argument("config", metavar="CONFIG")
    c.add_argument("--pod-config", metavar="FILE", help="the pod's PodSandboxConfig (default: rebuilt from its status)")
    c.add_argument("--no-pull", action="store_true", help="do not pull the image when it is missing")
    for name, what in (("start", "start created containers"), ("stop", "stop running containers"),
                       ("rm", "remove containers (-f: stop them first)")):
        c = cmd(name, what, "gantryctl %s CONTAINER" % name)
        c.add_argument("containers", nargs="*", metavar="CONTAINER")
        if name == "stop":
            c.add_argument("-t", "--time", type=int, default=10, metavar="SECONDS",
                           help="seconds between SIGTERM (the image's stop signal) and SIGKILL")
        if name != "start":
            c.add_argument("-a", "--all", action="store_true", help="every container")
        if name == "rm":
            c.add_argument("-f", "--force", action="store_true", help="stop running containers first")
    c = cmd("ps", "list containers (running ones; -a: all)", "gantryctl ps -a --pod web")
    _filters(c, pod=True)
    c.add_argument("-a", "--all", action="store_true", help="also created and exited containers")
    c.add_argument("--image", help="only containers of this image")
    c = cmd("inspect", "container status (verbose)", "gantryctl inspect web")
    c.add_argument("containers", nargs="+", metavar="CONTAINER")


def _filters(c, pod):
    c.add_argument("--id", help="id or id prefix")
    c.add_argument("--name", help="regular expression on the name")
    c.add_argument("--state", help="ready/notready (pods) or created/running/exited (containers)")
    c.add_argument("-l", "--label", action="append", default=[], metavar="K=V")
    c.add_argument("-q", "--quiet", action="store_true", help="only ids")
    if pod:
        c.add_argument("-p", "--pod", help="only containers of this pod")


def _stream_commands(cmd):
    c = cmd("logs", "print a container's log (the CRI log file, rotated files included)",
            "gantryctl logs -f --tail 10 --since 5m web")
    c.add_argument("container", metavar="CONTAINER")
    c.add_argument("-f", "--follow", action="store_true", help="keep printing until the container exits")
    c.add_argument("--tail", type=int, default=-1, metavar="N", help="only the last N lines")
    c.add_argument("--since", metavar="WHEN", help="only lines since a time: 10s, 5m, 2h or RFC 3339")
    c.add_argument("-t", "--timestamps", action="store_true", help="prefix each line with its time")
    c.add_argument("-p", "--previous", action="store_true", help="(accepted for crictl habit; ignored)")
    c = cmd("exec", "run a command in a running container", "gantryctl exec -it web sh")
    c.add_argument("-i", "--interactive", action="store_true", help="keep stdin open")
    c.add_argument("-t", "--tty", action="store_true", help="a terminal")
    c.add_argument("-s", "--sync", action="store_true", help="ExecSync: output after the command ends (no streaming URL)")
    c.add_argument("--exec-timeout", type=int, default=0, metavar="SECONDS", help="with --sync: kill it after this")
    c.add_argument("container", metavar="CONTAINER")
    c.add_argument("cmd", nargs=argparse.REMAINDER, metavar="CMD")
    c = cmd("attach", "attach to a running container's stdio", "gantryctl attach -it web")
    c.add_argument("-i", "--interactive", action="store_true")
    c.add_argument("-t", "--tty", action="store_true")
    c.add_argument("container", metavar="CONTAINER")
    c = cmd("port-forward", "forward local TCP ports to a pod's ports (until Ctrl-C)",
            "gantryctl port-forward web 8080:80 :443")
    c.add_argument("pod", metavar="POD")
    c.add_argument("ports", nargs="+", metavar="[LOCAL:]REMOTE", help="LOCAL 0 or empty: any free port")
    c.add_argument("--address", default="127.0.0.1", help="local address to listen on (default 127.0.0.1)")
    c = cmd("stats", "container resource usage, live (like docker stats)", "gantryctl stats --no-stream -a")
    c.add_argument("containers", nargs="*", metavar="CONTAINER")
    c.add_argument("-a", "--all", action="store_true", help="also stopped containers")
    c.add_argument("-p", "--pod", help="only containers of this pod")
    c.add_argument("--no-stream", action="store_true", help="one sample, then exit")
    c.add_argument("-w", "--interval", type=float, default=1.0, metavar="SECONDS")
    cmd("events", "container lifecycle events as they happen (GetContainerEvents)", "gantryctl events -o json")


def _run_command(cmd):
    c = cmd("run", "docker-like run: pull if needed, a pod and a container, its output, its exit code",
            "gantryctl run --rm -e A=1 -v /srv:/data:ro busybox sh -c 'ls /data'\n"
            "  gantryctl run -it --rm busybox sh\n  gantryctl run -d --name web -p 8080:80 nginx")
    c.add_argument("-i", "--interactive", action="store_true", help="keep stdin open (streams over attach)")
    c.add_argument("-t", "--tty", action="store_true", help="a terminal")
    c.add_argument("-d", "--detach", action="store_true", help="print the container id and leave it running")
    c.add_argument("--rm", action="store_true", help="remove the container and its pod when it exits")
    c.add_argument("--name", help="container (and pod) name")
    c.add_argument("-p", "--publish", action="append", default=[], metavar="[IP:]HOST:CTR[/PROTO]")
    c.add_argument("-v", "--volume", action="append", default=[], metavar="SRC:DST[:ro]")
    c.add_argument("-e", "--env", action="append", default=[], metavar="K=V")
    c.add_argument("-u", "--user", metavar="UID[:GID]|NAME")
    c.add_argument("-w", "--workdir", metavar="DIR")
    c.add_argument("--entrypoint", metavar="CMD", help="overrides the image's entrypoint")
    c.add_argument("--runtime", default="", metavar="HANDLER", help="runtime handler (gantry-oci, runc, crun)")
    c.add_argument("-m", "--memory", metavar="BYTES", help="memory limit: 512m, 1g, 1048576")
    c.add_argument("--cpus", type=float, metavar="N", help="CPU limit, e.g. 0.5")
    c.add_argument("--privileged", action="store_true")
    c.add_argument("--log-dir", default="/var/log/gantry/pods", metavar="DIR",
                   help="where pod log directories go (default /var/log/gantry/pods)")
    c.add_argument("--pull", choices=("missing", "always", "never"), default="missing")
    c.add_argument("image", metavar="IMAGE")
    c.add_argument("cmd", nargs=argparse.REMAINDER, metavar="CMD")


def _build_command(cmd):
    c = cmd("build", "build an image from a Dockerfile (gantryd runs the steps; CONTEXT is read by gantryd)",
            "gantryctl build -t app:1 --build-arg V=2 .\n  gantryctl build -f ci/Dockerfile --target test --no-cache .")
    c.add_argument("-t", "--tag", action="append", default=[], metavar="NAME[:TAG]", help="name the image (repeatable)")
    c.add_argument("-f", "--file", metavar="DOCKERFILE", help="the Dockerfile (default: CONTEXT/Dockerfile; '-': stdin)")
    c.add_argument("--build-arg", action="append", default=[], metavar="K=V", help="set a build argument (repeatable)")
    c.add_argument("--target", metavar="STAGE", help="build up to this stage")
    c.add_argument("--platform", metavar="OS/ARCH", help="only this machine's platform can run steps")
    c.add_argument("--no-cache", action="store_true", help="run every step again")
    c.add_argument("--progress", choices=("auto", "plain", "tty"), default="auto", help="progress output on stderr")
    c.add_argument("--network", choices=("none", "host"), default="none",
                   help="RUN steps' network (default none: loopback only)")
    c.add_argument("--compression", choices=("gzip", "zstd"), default="gzip", help="layer compression")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress, only the image id")
    c.add_argument("context", metavar="CONTEXT", help="the build context directory (on gantryd's machine)")


def parse_args(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.endpoint is None:
        args.endpoint = default_endpoint()
    if args.command is None and not args.version:
        parser.error("a command is required (gantryctl --help lists them)")
    if args.command is None:
        args.command = "version"
        args.output = "table"
    return args
