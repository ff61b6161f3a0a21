"""gantry-shim: one process per container that owns the container for its life.

The shim forks the OCI runtime (gantry-oci, runc or crun: a parameter), then
stays the container's parent until the container is deleted: it holds the
container's stdio, writes the CRI log itself, reaps every child (it is a
child subreaper), records the exit status in a file that outlives it, and
serves the shim task API (proto/shim.proto) on a unix socket.  Nothing about
a running container depends on gantryd being alive.

Modules, one concept each::

    cli       start / delete / call / template command lines
    detach    fork + setsid + fork, the lock that makes a second start find the first
    template  the warm, single-threaded process that forks shims on request
    warmup    run a shim's code paths in the template before it freezes
    heapfill  fill the template's free allocator slots before it forks
    tricks    the one switch and guard for warmup/heapfill (GANTRY_NO_TRICKS=1: plain path)
    daemon    one shim's life: bind, serve, clean up after Delete
    server    connections and calls over the framing of gantry.api.framing
    loop      selectors (epoll) event loop with timers
    service   the API calls, one handler each, in one dispatch table
    task      processes and their one state table
    runtime   the runtime's argv (pure builders) and the one place it runs
    warmexec  one pre-started `gantry-oci warm` per container for its next exec
              (gantry-oci only; GANTRY_NO_WARM_EXEC=1: always the plain spawn)
    reaper    SIGCHLD → waitpid(-1) for the container, its execs and orphans
    io        pipes / pty → CRI log + attached clients; stdin
    crilog    the CRI log format (pure)
    console   the pty master received over a console socket (SCM_RIGHTS)
    (the state dir layout and the exit file: gantry.api.shimstate, shared with gantryd)
    cgroup    where the container's cgroups are, stats (v1, v2, hybrid)
    oom       OOM kills (counter; live v1 events) → reason "OOMKilled"
    errors    the error kinds and their wire codes

Memory and speed: why it is built like this
-------------------------------------------
One shim runs per container, so its memory is multiplied by the number of
containers.  Measured on this project's machine (20 shims, PSS per shim,
median): containerd-shim-runc-v2 (Go) 2.9-3.7 MiB; conmon (C) 1.1 MiB.
Python prototypes:

    fresh `python -I -S`, protobuf, selectors loop             8.4 MiB   85 ms to answer
    fresh interpreter serving grpcio                          16.4 MiB  131 ms
    forked from a warm template, grpcio created after fork  5.2-6.6 MiB  18-28 ms
    forked from a warm template, selectors + framed protobuf   2.1 MiB  4.9 ms

So: (1) shims are forked from a single-threaded *template* that has already
imported everything a shim runs and moved its heap out of the collector's
reach with ``gc.freeze()``; the pages stay shared copy-on-write.  gantryd
runs gRPC threads and must not fork, so it starts the template as a child
process and asks it for shims.  (2) No grpcio in the shim, ever: it costs
~3-4 MiB per process even after fork, and after fork it is only safe if the
template never created a channel or server.  The API's protobuf messages
travel instead as length-prefixed frames (gantry.api.framing), the way
containerd's shims use ttrpc rather than gRPC.  (3) One thread, one selectors
loop: no thread stacks, and forking is safe.  ``gantry-shim start`` still
works from a fresh interpreter for standalone use; it pays the interpreter
start once per container.

What a page costs is a page written after the fork, by the shim or by the
template, so the rest is about writing less:

* the template runs a shim's code paths a dozen times before freezing
  (warmup.py: CPython 3.11 rewrites bytecode in place while it warms up),
  keeps the collector off from its first line (no freed holes), and fills the
  allocator's free slots (heapfill.py) so a shim's new objects land on pages
  of its own;
* the template's loop only accepts and forks; the forked shim reads and
  answers the Spawn request itself (template.py, detach.py);
* the runtime is run with ``posix_spawn`` and its output captured in memfds
  (runtime.py): subprocess's machinery copied ~0.4 MiB into every shim, and
  its timeout loop polled with sleeps (+30 ms per create).

Measured by ``python -m bench.shim`` (20 idle busybox containers, runc, all
peers in one run on this machine): gantry-shim forked from the template
2.78 MiB PSS per shim (2.99 with the template's own 4.2 MiB spread over the
20), containerd-shim-runc-v2 2.89 MiB, conmon 0.40 MiB; "ask for a shim" to
"container running" 30 ms median (of which the shim answers its socket
after 3.8 ms; the rest is runc create + start), ``ctr run -d`` 62 ms, conmon
+ runc start 23 ms; a fresh ``gantry-shim start`` 12 MiB and 126 ms.
Copy-on-write growth after 100 calls per shim: ~0.01 MiB.  Two later runs
(live OOM watch and the partial-line timer added; the machine busy with other
work, load ~2.2 on 2 cores): 2.82-2.84 MiB, 42-44 ms ask to running,
containerd's shim 2.89-2.92 MiB and 65-67 ms, conmon 0.39 MiB and 34-45 ms.
"""
